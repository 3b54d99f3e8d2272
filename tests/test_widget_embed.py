"""The widget embedded on a shop page from another origin, under a strict CSP.

The shop page allows scripts and connections only from itself and the support
host, no inline styles, and enforces Trusted Types; the widget must work there and
leave nothing behind in the host page but its one element and its one global.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from playwright.async_api import Page

from conftest import LiveServer
from widget_harness import (  # noqa: F401  (fixtures)
    Console,
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
    start_shop,
    w,
)

FAQ = "How long does delivery take?"


async def test_open_ask_a_faq_and_see_the_answer(
    server: LiveServer, shop: Shop, page: Page, artifacts: Path
) -> None:
    console = Console(page)
    await load(page, shop.page())
    await open_chat(page)
    await bubbles(page, "bot").first.wait_for()
    await page.screenshot(path=artifacts / "widget-open.png")

    await ask(page, FAQ)
    answer = bubbles(page, "bot").nth(1)
    await answer.wait_for()
    assert "working days" in await answer.inner_text()
    link = answer.locator("a")
    assert await link.get_attribute("href") == "https://casalino.example/delivery"
    assert await link.get_attribute("rel") == "noopener noreferrer"
    assert await link.get_attribute("target") == "_blank"
    await answer.get_by_text("Was this helpful?").wait_for()
    await page.screenshot(path=artifacts / "widget-answered.png")

    await answer.get_by_role("button", name="Yes").click()
    await answer.get_by_text("Thanks for your feedback.").wait_for()
    rows = await shopper_rows(server, FAQ)
    assert len(rows) == 1
    cid = rows[0]["conversation_id"]
    feedback = await eventually(lambda: server.events("answer.feedback", cid))
    assert json.loads(feedback[0]["properties"])["helpful"] is True
    opened = await server.events("widget.opened", cid)
    assert len(opened) == 1
    started = await server.events("chat.started", cid)
    assert json.loads(started[0]["properties"])["site"] == "test-shop"
    conversation = (await server.query("SELECT * FROM conversations WHERE id = ?", cid))[0]
    assert conversation["page_url"] == f"{shop.url}/index"
    assert conversation["page_title"] == "Test shop: index"
    assert console.problems() == []


async def test_did_you_mean_suggestions_are_buttons(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    await ask(page, "delivery")
    chips = w(page, ".log .msg.bot .chips .chip:not(.handoff)")
    await chips.first.wait_for()
    label = await chips.first.inner_text()
    await chips.first.click()
    # The shopper's turn is the question of the picked entry; the bot answers it.
    await bubbles(page, "shopper").filter(has_text=label).wait_for()
    await bubbles(page, "bot").nth(2).wait_for()
    assert await chips.first.is_hidden()  # old suggestions go away once the chat moves on
    rows = await shopper_rows(server, label)
    assert len(rows) == 1
    picked = await eventually(
        lambda: server.events("suggestion.picked", rows[0]["conversation_id"])
    )
    assert len(picked) == 1


async def test_one_frozen_global_with_validated_methods(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page(snippet_twice=True))
    assert await page.locator("supportbot-widget").count() == 1
    result = await page.evaluate("""() => {
      const errors = [];
      const expect = (fn) => { try { fn(); errors.push("no error"); } catch (e) { errors.push(e.name); } };
      expect(() => SupportWidget.on("nope", () => {}));
      expect(() => SupportWidget.on("ready", "not a function"));
      expect(() => SupportWidget.setUser("bob"));
      expect(() => SupportWidget.setUser({email: "not an address"}));
      expect(() => SupportWidget.setUser({name: 42}));
      expect(() => { "use strict"; SupportWidget.open = null; });
      return {
        errors,
        frozen: Object.isFrozen(SupportWidget),
        methods: Object.keys(SupportWidget).sort(),
        replaced: (() => { try { window.SupportWidget = {}; } catch {} return typeof window.SupportWidget.open; })(),
      };
    }""")
    assert result["errors"] == ["TypeError"] * 6
    assert result["frozen"] is True
    assert result["methods"] == ["close", "on", "open", "reset", "setUser", "toggle"]
    assert result["replaced"] == "function"


async def test_nothing_leaks_into_the_host_page(server: LiveServer, shop: Shop, page: Page) -> None:
    shop.pages["before.js"] = "window.__before = Object.getOwnPropertyNames(window);"
    await load(page, shop.page(scripts=("before",)))
    await open_chat(page)
    await ask(page, FAQ)
    await bubbles(page, "bot").nth(1).wait_for()
    leaks = await page.evaluate("""() => ({
      globals: Object.getOwnPropertyNames(window).filter((k) => !window.__before.includes(k) && k !== "__before"),
      storage: Object.keys(localStorage),
      styles: document.querySelectorAll("style").length,
      links: [...document.querySelectorAll("link")].map((l) => l.getAttribute("href")),
      adopted: document.adoptedStyleSheets.length,
      sheets: document.styleSheets.length,
      scripts: [...document.scripts].map((s) => new URL(s.src).pathname),
      elements: [...document.documentElement.children].map((e) => e.tagName.toLowerCase()),
      bodyStyle: document.body.getAttribute("style"),
      htmlStyle: document.documentElement.getAttribute("style"),
      inShadow: document.querySelector("supportbot-widget").shadowRoot.querySelectorAll("*").length,
    })""")
    assert leaks["globals"] == ["SupportWidget"]
    assert leaks["storage"] and all(k.startswith("supportbot:") for k in leaks["storage"])
    assert leaks["styles"] == 0 and leaks["links"] == [] and leaks["adopted"] == 0
    assert leaks["sheets"] == 0
    assert leaks["scripts"] == ["/before.js", "/widget.js"]  # no script tags added
    assert leaks["elements"] == ["head", "body", "supportbot-widget"]
    assert leaks["bodyStyle"] is None and leaks["htmlStyle"] is None
    assert leaks["inShadow"] > 10


async def test_public_api_methods_and_events(server: LiveServer, shop: Shop, page: Page) -> None:
    await load(page, shop.page())
    await record_events(page)
    await page.evaluate(
        "SupportWidget.setUser({name: 'Maria Rossi', email: 'maria@example.com', id: 42})"
    )
    await page.evaluate("SupportWidget.open()")
    await w(page, ".panel").wait_for(state="visible")
    await w(page, ".conn[data-connection=online]").wait_for()
    await ask(page, FAQ)
    await bubbles(page, "bot").nth(1).wait_for()
    await page.evaluate("SupportWidget.toggle()")
    await w(page, ".panel").wait_for(state="hidden")
    seen = await events(page)
    names = [name for name, _ in seen]
    assert names[:2] == ["ready", "opened"] and names[-1] == "closed"
    answers = [value for name, value in seen if name == "message"]
    assert answers and answers[-1]["author"] == "bot" and "working days" in answers[-1]["text"]
    assert set(answers[-1]) == {"id", "author", "text", "created_at", "agent"}

    rows = await shopper_rows(server, FAQ)
    cid = rows[0]["conversation_id"]
    visitor = (
        await server.query(
            "SELECT visitor_name, visitor_email, visitor_id FROM conversations WHERE id = ?", cid
        )
    )[0]
    assert visitor == {
        "visitor_name": "Maria Rossi",
        "visitor_email": "maria@example.com",
        "visitor_id": "42",
    }
    assert len(await server.events("widget.closed", cid)) == 1

    # reset() (e.g. on logout): the conversation is forgotten, the next open starts anew.
    await page.evaluate("SupportWidget.reset()")
    stored = await page.evaluate("Object.keys(localStorage)")
    assert not [k for k in stored if k in ("supportbot:token", "supportbot:open")]
    assert await bubbles(page, "shopper").count() == 0
    await page.evaluate("SupportWidget.open()")
    await w(page, ".conn[data-connection=online]").wait_for()
    await bubbles(page, "bot").first.wait_for()
    conversations = await server.query(
        "SELECT id, visitor_name FROM conversations ORDER BY created_at"
    )
    assert len(conversations) == 2 and conversations[1]["visitor_name"] is None


async def test_settings_from_data_attributes_and_the_settings_object(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    url = shop.page(
        attrs={"title": "Ignored title", "accent": "#8a3b12", "position": "left", "lang": "en"},
        settings={
            "title": "Casa Lino help",
            "lang": "pl",
            "open": True,
            "greeting": "Welcome to the test shop!",
        },
    )
    await load(page, url)
    panel = w(page, ".panel")
    await panel.wait_for(state="visible")  # open on load
    await w(page, ".conn[data-connection=online]").wait_for()
    assert await w(page, ".title").inner_text() == "Casa Lino help"  # the object wins
    assert await w(page, "textarea.input").get_attribute("placeholder") == "Napisz wiadomość…"
    launcher = await w(page, ".launcher").bounding_box()
    assert launcher and launcher["x"] < 100  # left
    colour = await w(page, ".launcher").evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(138, 59, 18)"
    first = bubbles(page, "bot").first
    await first.wait_for()
    assert (
        await first.inner_text() == "Asystent: Welcome to the test shop!"
        or "Welcome to the test shop!" in await first.inner_text()
    )
    await page.wait_for_timeout(200)
    assert await bubbles(page, "bot").count() == 1  # the server's greeting is not shown too
    conversation = (await server.query("SELECT language, lang_setting FROM conversations"))[0]
    assert conversation == {"language": "pl", "lang_setting": "pl"}


async def test_blocked_local_storage_falls_back_to_memory(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    console = Console(page)
    await load(page, shop.page(scripts=("block-storage",)))
    await open_chat(page)
    await ask(page, FAQ)
    await bubbles(page, "bot").nth(1).wait_for()
    assert len(await shopper_rows(server, FAQ)) == 1
    assert [line for line in console.problems() if "pageerror" in line] == []


async def test_a_disallowed_origin_is_refused(
    server: LiveServer, aiohttp_server, page: Page
) -> None:
    evil = await start_shop(aiohttp_server)
    evil.config["chat"] = server.url
    console = Console(page)
    await page.goto(evil.page())
    await page.wait_for_function("window.SupportWidget !== undefined")
    await page.wait_for_timeout(500)
    # The widget's modules are not served to that origin (no CORS), so nothing is mounted...
    assert await page.locator("supportbot-widget").count() == 0
    assert any("could not be loaded" in line for line in console.lines)
    # ...and the socket.io endpoint refuses it too, by polling and by WebSocket.
    refused = await page.evaluate(
        """async (url) => {
      const polling = await fetch(url + "/socket.io/?EIO=4&transport=polling", {mode: "cors"})
        .then(() => "accepted", () => "refused");
      const ws = await new Promise((resolve) => {
        const socket = new WebSocket(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket");
        socket.onopen = () => { socket.close(); resolve("accepted"); };
        socket.onerror = () => resolve("refused");
      });
      return [polling, ws];
    }""",
        server.url,
    )
    assert refused == ["refused", "refused"]
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": evil.origin}
        ) as response:
            assert response.status == 400
        async with http.get(
            f"{server.url}/widget/src/main.js", headers={"Origin": evil.origin}
        ) as response:
            assert "Access-Control-Allow-Origin" not in response.headers
    assert await server.query("SELECT id FROM conversations") == []


async def test_widget_files_carry_cors_only_for_allowed_origins(
    server: LiveServer, shop: Shop
) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/widget.js", "/widget/src/main.js", "/widget/vendor/socket.io.esm.min.js"):
            async with http.get(server.url + path, headers={"Origin": shop.origin}) as response:
                assert response.status == 200
                assert response.headers["Access-Control-Allow-Origin"] == shop.origin
                assert "javascript" in response.headers["Content-Type"]
                assert response.headers["X-Content-Type-Options"] == "nosniff"
