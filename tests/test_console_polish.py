"""The agent console in Chromium: its own language (Italian here), visitors with a
friendly name, page and language, the mood's word from the server, the shopper's
rating as it arrives, capacity as an explicit choice, "seen", pictures and the
"did you mean" choice a shopper picked."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect
from test_console_browser import PageErrors, conversation_of, sign_in

from bot.routing.visitors import alias

from conftest import Client, LiveServer
from images_data import png
from widget_harness import eventually

pytestmark = pytest.mark.browser
Shopper = Callable[..., Awaitable[Client]]


async def upload_picture(server: LiveServer, client: Client, data: bytes) -> dict:
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("token", client.start["token"])  # type: ignore[attr-defined]
    form.add_field("id", "pic-1")
    form.add_field("file", data, filename="torn.png", content_type="image/png")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/uploads", data=form) as response:
            return await response.json()


async def test_a_console_in_italian_with_what_matters_on_the_chat(
    server: LiveServer, page: Page, shopper: Shopper, artifacts: Path
) -> None:
    errors = PageErrors(page)
    await server.add_agent("ada@shop.example", "Ada")
    await sign_in(page, server, "ada@shop.example")
    # the agent picks Italian: it is kept with the account and the page reloads in it
    await page.select_option("#locale", "it")
    await expect(page.locator("html")).to_have_attribute("lang", "it")
    await expect(page.locator("#conn-state")).to_have_text("Connesso")
    assert (await server.query("SELECT locale FROM agents"))[0]["locale"] == "it"
    await expect(page.locator("#queue-heading")).to_contain_text("Coda")
    await expect(page.locator("#mine-heading")).to_contain_text("Le mie chat")
    status = page.get_by_role("button", name=re.compile(r"^Stato: "))
    await expect(status).to_have_accessible_name("Stato: Assente")
    await status.click()
    await expect(status).to_have_accessible_name("Stato: Online")

    # an unnamed shopper on a product page: a friendly name, the page and the language
    client = await shopper(
        lang="it", page={"url": "https://shop.example/lenzuola", "title": "Lenzuola di lino"}
    )
    cid = conversation_of(client)
    assert (
        await client.call(
            "message", {"id": "s-1", "text": "Il pacco è arrivato rotto, sono furioso!"}
        )
    )["ok"]
    assert (await client.call("handoff", {}))["ok"]
    item = page.locator("#mine-list .item")
    await expect(item).to_contain_text(alias(cid))
    await expect(item.locator(".item-page")).to_have_text("Lenzuola di lino")
    await expect(item.locator(".lang")).to_have_text("IT")
    panel = page.locator(f"#panel-{cid}")
    await expect(panel.locator(".chat-title")).to_have_text(alias(cid))
    info = panel.locator(".card-info")
    await expect(info).to_contain_text("Italiano (it)")
    # the mood's word is the server's label, in the console's language
    label = (await server.query("SELECT mood FROM conversations WHERE id = ?", cid))[0]["mood"]
    assert label < -0.2
    await expect(info.locator(".mood .mood-label")).to_have_text(
        re.compile(r"^(Molto scontento|Scontento) \([+\u2212]\d\.\d\d\)$")
    )
    await expect(panel.get_by_role("button", name="Risolvi")).to_be_visible()
    # what the agent has seen, the shopper hears of
    seen = await client.wait_for("seen")
    assert seen["agent"] == {"name": "Ada"}
    # a picture the shopper sends shows in the transcript
    ack = await upload_picture(server, client, png(90, 60, (30, 90, 160)))
    assert ack["ok"], ack
    picture = panel.locator(".msg-image img")
    await expect(picture).to_have_count(1)
    await eventually(lambda: picture.evaluate("(img) => img.naturalWidth === 90"))
    await page.screenshot(path=str(artifacts / "console-italian.png"))

    # the rating shows on the chat as soon as the shopper gives it
    await panel.get_by_role("button", name="Risolvi").click()
    await client.wait_for("csat_request")
    assert (await client.call("csat", {"rating": 2, "comment": "lento"}))["ok"]
    await expect(info.locator(".rating")).to_have_text(
        "\u2605\u2605\u2606\u2606\u2606 2/5 \u201clento\u201d"
    )
    await expect(info).to_contain_text("Valutazione")
    await page.screenshot(path=str(artifacts / "console-italian-rating.png"))
    assert errors.errors == []


async def test_taking_past_capacity_is_an_explicit_logged_choice(
    server: LiveServer, page: Page, shopper: Shopper
) -> None:
    await server.add_agent("bea@shop.example", "Bea", capacity=1)
    await sign_in(page, server, "bea@shop.example")
    first = await shopper(lang="en", user={"name": "First Shopper"})
    second = await shopper(lang="en", user={"name": "Second Shopper"})
    for client in (first, second):
        assert (await client.call("handoff", {}))["ok"]
    queue = page.locator("#queue-list .item")
    await expect(queue).to_have_count(2)
    await (
        queue.filter(has_text="First Shopper")
        .get_by_role("button", name="Take chat with First Shopper")
        .click()
    )
    await expect(page.locator("#mine-list .item")).to_have_count(1)
    take = (
        page.locator("#queue-list .item")
        .filter(has_text="Second Shopper")
        .get_by_role("button", name="Take chat with Second Shopper")
    )
    await take.click()
    await expect(page.locator("#toast")).to_have_text(
        "You have 1 of 1 chats. Click again to take it anyway."
    )
    assert await server.events("agent.capacity_override") == []
    anyway = (
        page.locator("#queue-list .item")
        .filter(has_text="Second Shopper")
        .get_by_role("button", name="Take chat with Second Shopper anyway, past your capacity")
    )
    await expect(anyway).to_have_text("Take anyway")
    await anyway.click()
    await expect(page.locator("#mine-list .item")).to_have_count(2)
    logged = await server.events("agent.capacity_override", conversation_of(second))
    assert [json.loads(e["properties"])["action"] for e in logged] == ["take"]


async def test_the_choice_a_shopper_picked_is_marked(
    server: LiveServer, page: Page, shopper: Shopper
) -> None:
    await server.add_agent("meg@shop.example", "Meg", role="manager")
    await sign_in(page, server, "meg@shop.example")
    client = await shopper(lang="en")
    ack = await client.call("message", {"id": "q-1", "text": "parcel"})
    assert ack["ok"]
    offer = await client.wait_for(
        "message",
        lambda m: (
            m["author"] == "bot" and any(q["type"] == "suggestion" for q in m["quick_replies"])
        ),
    )
    choice = next(q for q in offer["quick_replies"] if q["type"] == "suggestion")
    assert (
        await client.call(
            "message", {"id": "q-2", "text": choice["label"], "pick": choice["entry_id"]}
        )
    )["ok"]
    assert (await client.call("handoff", {}))["ok"]
    item = page.locator("#queue-list .item").first
    await item.locator(".item-open").click()
    offers = page.locator(f"#panel-{conversation_of(client)} .msg-offers")
    await expect(offers.first).to_contain_text("Offered:")
    await expect(offers.locator(".picked")).to_have_text(f"{choice['label']} \u2713 (picked)")
