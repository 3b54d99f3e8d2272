"""Hand-off to a person, leave-a-message, unread badge, the CSAT and NPS questions.

Agents are real python-socketio clients on /agent (conftest's ``agent`` fixture),
talking to the same server as the widget.
"""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import Page

from conftest import LiveServer
from widget_harness import (  # noqa: F401  (fixtures)
    Shop,
    ask,
    bubbles,
    events,
    eventually,
    load,
    open_chat,
    record_events,
    server_fixture,
    shop_fixture,
    shopper_rows,
    w,
)


async def conversation_id(server: LiveServer) -> str:
    rows = await eventually(
        lambda: server.query("SELECT id FROM conversations ORDER BY created_at")
    )
    return str(rows[-1]["id"])


async def test_escalate_and_see_the_agents_reply(
    server: LiveServer, shop: Shop, page: Page, agent
) -> None:
    ada = await agent("Ada")
    await load(page, shop.page())
    await record_events(page)
    await open_chat(page)
    await w(page, "button.link.handoff").click()
    assigned = await ada.wait_for("assigned")
    cid = assigned["conversation_id"]
    assert (await ada.call("open", {"conversation_id": cid}))["ok"]
    banner = w(page, ".banner")
    await banner.get_by_text("Ada joined the chat").wait_for()
    assert await w(page, "button.link.handoff").is_hidden()  # no second hand-off

    await ada.call("typing", {"conversation_id": cid, "typing": True})
    await w(page, ".typing").get_by_text("Ada is typing…").wait_for()
    ack = await ada.call(
        "send", {"conversation_id": cid, "id": "a-1", "text": "Hi, I'm Ada. How can I help?"}
    )
    assert ack["ok"], ack
    reply = bubbles(page, "agent").filter(has_text="How can I help?")
    await reply.wait_for()
    assert await reply.locator(".who").inner_text() == "Ada"
    await w(page, ".typing").wait_for(state="hidden")
    messages = [v for n, v in await events(page) if n == "message" and v["author"] == "agent"]
    assert messages == [
        {
            "id": messages[0]["id"],
            "author": "agent",
            "text": "Hi, I'm Ada. How can I help?",
            "created_at": messages[0]["created_at"],
            "agent": {"name": "Ada"},
        }
    ]

    # The shopper answers; the agent gets it.
    await ask(page, "My duvet cover is the wrong colour")
    got = await ada.wait_for("message", lambda m: m["author"] == "shopper")
    assert got["text"] == "My duvet cover is the wrong colour"


async def test_asking_for_a_human_in_a_message_queues_the_chat(
    server: LiveServer, shop: Shop, page: Page, agent, shopper
) -> None:
    ada = await agent("Ada", capacity=1)
    other = await shopper()
    assert (await other.call("handoff", {}))["ok"]
    await ada.wait_for("assigned")  # Ada's only seat is taken: the next chat waits
    await load(page, shop.page())
    await open_chat(page)
    await ask(page, "I want to talk to a human")
    banner = w(page, ".banner")
    await banner.get_by_text("Connecting you to a person…").wait_for()
    assert "Expected wait" in await banner.inner_text() or "shortly" in await banner.inner_text()
    cid = await conversation_id(server)
    # A second agent with a free seat comes online and gets the chat.
    bea = await agent("Bea")
    assigned = await bea.wait_for("assigned")
    assert assigned["conversation_id"] == cid
    await banner.get_by_text("Bea joined the chat").wait_for()
    assert len(ada.of("assigned")) == 1


async def test_leave_a_message_keeps_the_chat_open_until_the_team_answers(
    server: LiveServer, shop: Shop, page: Page, agent
) -> None:
    away = await agent("Ada", online=False)
    await load(page, shop.page())
    await open_chat(page)
    # Nobody from the team is online: the header says so (no green light).
    await w(page, ".conn[data-state=away]").get_by_text("We're away").wait_for()
    await ask(page, "Do you have the sage duvet cover in 200x200?")
    await bubbles(page, "bot").nth(1).wait_for()
    await w(page, "button.link.handoff").click()
    form = w(page, "form.leave")
    await form.wait_for()
    banner = w(page, ".banner")
    await banner.get_by_text("Nobody from our team is online right now.").wait_for()
    assert "wait" not in (await banner.inner_text()).lower()
    # What the shopper already wrote is carried into the form.
    text = form.get_by_label("Message")
    assert await text.input_value() == "Do you have the sage duvet cover in 200x200?"
    await form.get_by_label("Your e-mail").fill("not-an-address")
    await form.get_by_role("button", name="Send message").click()
    await form.get_by_role("alert").get_by_text("Please enter a valid e-mail address.").wait_for()
    await form.get_by_label("Your e-mail").fill("maria@example.com")
    await form.get_by_role("button", name="Send message").click()

    # The ticket is stored; the chat stays open and no survey comes yet.
    await banner.get_by_text("We've got your message.").wait_for()
    await form.wait_for(state="detached")
    tickets = await server.query("SELECT id, email, text, status FROM tickets")
    assert tickets == [
        {
            "id": tickets[0]["id"],
            "email": "maria@example.com",
            "text": "Do you have the sage duvet cover in 200x200?",
            "status": "open",
        }
    ]
    assert await w(page, "form.csat").count() == 0
    assert await w(page, "textarea.input").is_visible()
    cid = await conversation_id(server)
    assert (await server.query("SELECT status FROM conversations WHERE id = ?", cid)) == [
        {"status": "ticket"}
    ]

    # An agent answers the ticket from the console: the answer shows in the widget.
    ack = await away.call(
        "ticket_reply",
        {"id": tickets[0]["id"], "client_id": "t-1", "text": "Yes, it is back in stock on Monday."},
    )
    assert ack["ok"], ack
    await bubbles(page, "agent").filter(has_text="back in stock on Monday").wait_for()
    # Marking it done resolves the chat: now the survey comes.
    assert (await away.call("ticket_done", {"id": tickets[0]["id"]}))["ok"]
    await w(page, "form.csat").wait_for()


async def test_csat_after_the_agent_resolves_then_a_new_chat(
    server: LiveServer, shop: Shop, page: Page, agent, artifacts: Path
) -> None:
    ada = await agent("Ada")
    await load(page, shop.page())
    await open_chat(page)
    await ask(page, "I want to talk to a human")
    cid = (await ada.wait_for("assigned"))["conversation_id"]
    await ada.call("send", {"conversation_id": cid, "id": "a-1", "text": "Sorted, anything else?"})
    await bubbles(page, "agent").wait_for()
    assert (await ada.call("resolve", {"conversation_id": cid}))["ok"]

    form = w(page, "form.csat")
    await form.wait_for()
    assert await w(page, ".composer").is_hidden()
    labels = await form.locator(".scale label").all_inner_texts()
    assert [" ".join(label.split()) for label in labels] == [
        "1 Very dissatisfied",
        "2 Dissatisfied",
        "3 Neutral",
        "4 Satisfied",
        "5 Very satisfied",
    ]
    await form.get_by_label("Satisfied", exact=True).check()
    await form.get_by_label("Comment (optional)").fill("Quick and kind, thanks")
    await page.screenshot(path=artifacts / "widget-csat.png")
    await form.get_by_role("button", name="Submit").click()
    await w(page, ".ended").get_by_text("Thank you for your feedback!").wait_for()

    csat = await server.query("SELECT conversation_id, rating, comment FROM csat")
    assert csat == [{"conversation_id": cid, "rating": 4, "comment": "Quick and kind, thanks"}]

    # A new chat can start after.
    await w(page, ".ended").get_by_role("button", name="Start a new chat").click()
    await eventually(lambda: server.query("SELECT id FROM conversations WHERE id != ?", cid))
    await w(page, ".composer").wait_for()
    assert await bubbles(page, "agent").count() == 0
    await ask(page, "How long does delivery take?")
    await bubbles(page, "bot").nth(1).wait_for()
    rows = await shopper_rows(server, "How long does delivery take?")
    assert rows[0]["conversation_id"] != cid


async def test_the_shopper_can_end_the_chat_and_rate_it(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    await ask(page, "How long does delivery take?")
    await bubbles(page, "bot").nth(1).wait_for()
    await w(page, "button.link.end").click()
    form = w(page, "form.csat")
    await form.wait_for()
    submit = form.get_by_role("button", name="Submit")
    assert await submit.is_disabled()  # a rating first
    await form.get_by_label("Very satisfied").check()
    await submit.click()
    await w(page, ".ended").get_by_text("Thank you for your feedback!").wait_for()
    assert await w(page, "form.nps").count() == 0  # not enabled on this server
    assert await server.query("SELECT rating, comment FROM csat") == [
        {"rating": 5, "comment": None}
    ]


async def test_the_net_promoter_question_follows_the_csat_when_enabled(
    start_server, shop: Shop, page: Page, artifacts: Path
) -> None:
    server = await start_server(allowed_origins=(shop.origin,), nps_enabled=True)
    shop.config["chat"] = server.url
    await load(page, shop.page())
    await open_chat(page)

    async def end_and_rate(rating: str) -> None:
        await ask(page, "How long does delivery take?")
        await bubbles(page, "bot").nth(1).wait_for()
        await w(page, "button.link.end").click()
        csat = w(page, "form.csat")
        await csat.get_by_label(rating, exact=True).check()
        await csat.get_by_role("button", name="Submit").click()
        await w(page, "form.nps").wait_for()

    await end_and_rate("Satisfied")
    nps = w(page, "form.nps")
    assert (
        await nps.locator("legend").inner_text()
        == "How likely are you to recommend us to a friend?"
    )
    assert await nps.locator(".scale label").all_inner_texts() == [str(n) for n in range(11)]
    assert " ".join((await nps.locator(".ends").inner_text()).split()) == "Not likely Very likely"
    submit = nps.get_by_role("button", name="Submit")
    assert await submit.is_disabled()
    await nps.get_by_label("9", exact=True).check()
    await page.screenshot(path=artifacts / "widget-nps.png")
    await submit.click()
    await w(page, ".ended").get_by_text("Thank you for your feedback!").wait_for()
    assert await server.query("SELECT rating, nps FROM csat") == [{"rating": 4, "nps": 9}]
    nps_events = await server.query("SELECT properties FROM events WHERE type = 'nps.given'")
    assert [json.loads(row["properties"])["score"] for row in nps_events] == [9]

    # Skipping it ends the survey with the rating alone.
    await w(page, ".ended").get_by_role("button", name="Start a new chat").click()
    await w(page, ".composer").wait_for()
    await end_and_rate("Very satisfied")
    await w(page, "form.nps").get_by_role("button", name="Skip").click()
    await w(page, ".ended").get_by_text("Thank you for your feedback!").wait_for()
    rows = await server.query("SELECT rating, nps FROM csat ORDER BY asked_at")
    assert rows == [{"rating": 4, "nps": 9}, {"rating": 5, "nps": None}]


async def test_unread_badge_while_the_panel_is_closed(
    server: LiveServer, shop: Shop, page: Page, agent
) -> None:
    ada = await agent("Ada")
    await load(page, shop.page())
    await record_events(page)
    await open_chat(page)
    await ask(page, "I want to talk to a human")
    cid = (await ada.wait_for("assigned"))["conversation_id"]
    await w(page, ".banner").get_by_text("Ada joined the chat").wait_for()
    await w(page, ".close").click()
    await w(page, ".panel").wait_for(state="hidden")

    for n in (1, 2):
        await ada.call("send", {"conversation_id": cid, "id": f"a-{n}", "text": f"Message {n}"})
    badge = w(page, ".badge")
    await badge.get_by_text("2").wait_for()
    assert await w(page, ".launcher").get_attribute("aria-label") == "Open chat, 2 unread"
    assert [v for n, v in await events(page) if n == "unread"][-1] == 2

    await w(page, ".launcher").click()
    await badge.wait_for(state="hidden")
    assert [v for n, v in await events(page) if n == "unread"][-1] == 0
    assert await w(page, ".launcher").get_attribute("aria-label") == "Open chat"
    # Seen stays seen after a reload.
    await page.evaluate("SupportWidget.close()")
    await page.reload()
    await page.wait_for_function("window.SupportWidget !== undefined")
    await w(page, ".conn[data-connection=online]").wait_for(state="attached")
    await page.wait_for_timeout(300)
    assert await badge.is_hidden()
