"""The conversation survives reloads, other tabs, stale tokens and network loss."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page

from bot.app import Preloaded, create_app
from bot.settings import Settings

from conftest import LiveServer
from widget_harness import (  # noqa: F401  (fixtures)
    Shop,
    ask,
    bubbles,
    eventually,
    load,
    open_chat,
    server_fixture,
    shop_fixture,
    shopper_rows,
    w,
)

FAQ = "How long does delivery take?"


async def test_reload_mid_chat_shows_the_transcript(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    await ask(page, FAQ)
    await bubbles(page, "bot").nth(1).wait_for()
    before = await w(page, ".log .msg").all_inner_texts()
    token = await page.evaluate("localStorage.getItem('supportbot:token')")

    await page.reload()
    await page.wait_for_function("window.SupportWidget !== undefined")
    # The panel was open: it opens again, with the same conversation.
    await w(page, ".panel").wait_for(state="visible")
    await w(page, ".conn[data-connection=online]").wait_for()
    await bubbles(page, "bot").nth(1).wait_for()
    assert await w(page, ".log .msg").all_inner_texts() == before
    assert await page.evaluate("localStorage.getItem('supportbot:token')") == token
    conversations = await server.query("SELECT id FROM conversations")
    assert len(conversations) == 1
    assert len(await server.events("chat.resumed", conversations[0]["id"])) == 1
    # Messages go on in the same conversation.
    await ask(page, "Which countries do you ship to?")
    await bubbles(page, "bot").nth(2).wait_for()
    rows = await shopper_rows(server)
    assert [r["conversation_id"] for r in rows] == [conversations[0]["id"]] * 2


async def test_a_second_tab_joins_the_same_conversation(
    server: LiveServer, shop: Shop, context: BrowserContext, page: Page
) -> None:
    url = shop.page()
    await load(page, url)
    await open_chat(page)
    await ask(page, FAQ)
    await bubbles(page, "bot").nth(1).wait_for()

    second = await context.new_page()
    await load(second, url)
    await w(second, ".panel").wait_for(state="visible")  # the open state is shared too
    await w(second, ".conn[data-connection=online]").wait_for()
    await bubbles(second, "shopper").filter(has_text=FAQ).wait_for()
    # What one tab sends shows up in the other, once.
    await ask(second, "Which countries do you ship to?")
    await bubbles(page, "shopper").filter(has_text="Which countries").wait_for()
    await bubbles(page, "bot").nth(2).wait_for()
    await page.wait_for_timeout(300)
    assert await bubbles(page, "shopper").count() == 2
    assert await bubbles(second, "shopper").count() == 2
    assert len(await server.query("SELECT id FROM conversations")) == 1


async def test_offline_messages_are_queued_and_sent_once_on_reconnect(
    server: LiveServer, shop: Shop, context: BrowserContext, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    await ask(page, FAQ)
    await bubbles(page, "bot").nth(1).wait_for()

    await context.set_offline(True)
    await w(page, ".conn[data-connection=offline]").wait_for()
    assert await w(page, ".conn").inner_text() == "Offline, reconnecting…"
    typed = ["Do you ship to Poland?", "And to Norway?", "Thanks!"]
    for text in typed:
        await ask(page, text)
    pending = w(page, ".log .msg.shopper.pending")
    await pending.nth(2).wait_for()
    assert (
        await pending.first.locator(".note").inner_text() == "Will be sent when you're back online"
    )
    outbox = await page.evaluate("JSON.parse(localStorage.getItem('supportbot:outbox'))")
    assert [item["text"] for item in outbox] == typed
    await page.wait_for_timeout(1500)  # reconnection attempts fail meanwhile
    assert len(await shopper_rows(server)) == 1

    await context.set_offline(False)
    await w(page, ".conn[data-connection=online]").wait_for()
    await pending.first.wait_for(state="detached")
    rows = await eventually(lambda: _when_count(server, 4))
    assert [r["text"] for r in rows] == [FAQ, *typed]  # in order, each once
    assert len({r["client_id"] for r in rows}) == 4
    await page.wait_for_timeout(500)
    assert await w(page, ".log .msg.shopper .text").all_inner_texts() == [FAQ, *typed]
    assert await page.evaluate("JSON.parse(localStorage.getItem('supportbot:outbox'))") == []


async def _when_count(server: LiveServer, n: int) -> list[dict] | None:
    rows = await shopper_rows(server)
    return rows if len(rows) >= n else None


async def test_messages_typed_offline_survive_a_reload(
    server: LiveServer, shop: Shop, context: BrowserContext, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    await context.set_offline(True)
    await w(page, ".conn[data-connection=offline]").wait_for()
    await ask(page, "Do you ship to Poland?")
    await w(page, ".log .msg.shopper.pending").wait_for()
    await context.set_offline(False)
    await page.reload()  # before the queue was flushed
    await page.wait_for_function("window.SupportWidget !== undefined")
    await w(page, ".conn[data-connection=online]").wait_for()
    rows = await eventually(lambda: _when_count(server, 1))
    await page.wait_for_timeout(300)
    assert [r["text"] for r in await shopper_rows(server)] == ["Do you ship to Poland?"]
    assert len(rows) == 1
    assert await bubbles(page, "shopper").count() == 1


async def test_a_stale_token_is_dropped_and_a_new_chat_starts(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    url = shop.page()
    await page.goto(f"{shop.url}/blank")  # the shop's origin, without the widget
    stale = "A" * 43
    await page.evaluate("(t) => localStorage.setItem('supportbot:token', JSON.stringify(t))", stale)
    await load(page, url)
    await page.wait_for_timeout(300)
    # Nothing to resume and the panel is closed: no conversation is created yet.
    assert await server.query("SELECT id FROM conversations") == []
    assert await page.evaluate("localStorage.getItem('supportbot:token')") is None
    await open_chat(page)
    await bubbles(page, "bot").first.wait_for()
    token = await page.evaluate("JSON.parse(localStorage.getItem('supportbot:token'))")
    assert token and token != stale
    assert len(await server.query("SELECT id FROM conversations")) == 1


async def test_the_shared_context_refuses_what_it_could_not_put_back(
    context: BrowserContext, page: Page
) -> None:
    """Without ``own_context`` a test gets the browser context the next tests share:
    the fake clock and init scripts would stay on it, so they are refused by name."""
    with pytest.raises(RuntimeError, match="own_context"):
        await page.clock.install()
    with pytest.raises(RuntimeError, match="own_context"):
        await context.add_init_script("window.leaked = true")
    await page.goto("about:blank")
    assert await page.evaluate("typeof window.leaked") == "undefined"


@pytest.mark.slow
@pytest.mark.own_context  # page.clock is the context's, and stays installed
async def test_after_a_server_restart_it_reconnects_with_backoff(
    aiohttp_server: Any, settings: Settings, shop: Shop, page: Page, preloaded: Preloaded
) -> None:
    """The support host goes away (connections refused) for a while, then comes back.

    The page runs on Playwright's fake clock, paused while the host is down and moved
    on in small steps: the retries' gaps are measured on the page's own timers, with no
    real seconds spent waiting for them."""
    settings = settings.replace(allowed_origins=(shop.origin,))
    first = await aiohttp_server(create_app(settings, preloaded), host="127.0.0.1")
    port = first.port
    shop.config["chat"] = f"http://127.0.0.1:{port}"
    await page.clock.install()
    clock = {"ms": 0}
    attempts: list[int] = []
    page.on("websocket", lambda ws: attempts.append(clock["ms"]))
    await load(page, shop.page())
    await open_chat(page)
    await ask(page, FAQ)
    await bubbles(page, "bot").nth(1).wait_for()

    # The server goes away as if its process died: connections cut, then refused.
    assert first.runner and first.runner.server
    for handler in first.runner.server.connections:
        if handler.transport is not None:
            handler.transport.abort()
    await first.close()
    await w(page, ".conn[data-connection=offline]").wait_for()
    await page.clock.pause_at(await page.evaluate("Date.now()"))
    attempts.clear()
    await ask(page, "Do you ship to Poland?")  # typed while the host is down: queued

    async def step(ms: int) -> None:
        await page.clock.run_for(ms)
        clock["ms"] += ms
        await page.wait_for_timeout(1)  # a refused connection fails in real time

    while len(attempts) < 4:
        assert clock["ms"] < 30_000, attempts
        await step(100)
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(attempts)]
    # socket.io-client's backoff: 0.5 s doubling (the first retry waits 0.5 s, the next
    # ones 1, 2, 4 s ...) up to 10 s, each randomised by +-50 %.
    # Measured to the 0.1 s step.
    assert 0.4 < gaps[0] < 1.7, gaps
    assert 0.9 < gaps[1] < 3.3, gaps
    assert 1.9 < gaps[2] < 6.5, gaps
    assert gaps[2] > gaps[0], gaps

    second = await aiohttp_server(create_app(settings, preloaded), host="127.0.0.1", port=port)
    restarted = LiveServer(f"http://127.0.0.1:{port}", second.app, settings)
    while await w(page, ".conn[data-connection=online]").count() == 0:
        assert clock["ms"] < 60_000, attempts
        await step(500)
    await page.clock.resume()
    await bubbles(page, "bot").nth(2).wait_for()
    rows = await shopper_rows(restarted)
    assert [r["text"] for r in rows] == [FAQ, "Do you ship to Poland?"]
    assert len({r["conversation_id"] for r in rows}) == 1  # resumed, not a new chat


async def test_a_turn_with_the_bot_is_two_packets(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    """Protocol 2: typing goes nowhere while the bot has the chat, no "stopped typing"
    after a send, and the bot's reply comes in the message's ack: one frame each way."""
    frames: list[tuple[str, str]] = []

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda payload: frames.append(("out", str(payload))))
        ws.on("framereceived", lambda payload: frames.append(("in", str(payload))))

    page.on("websocket", watch)
    await load(page, shop.page())
    await open_chat(page)
    await w(page, ".log .msg.bot").first.wait_for()
    await page.wait_for_timeout(200)  # the start and its ack are done
    frames.clear()
    box = w(page, "textarea.input")
    await box.press_sequentially(FAQ, delay=5)  # input events, as a shopper types
    await box.press("Enter")
    await bubbles(page, "bot").nth(1).wait_for()
    await page.wait_for_timeout(300)
    packets = [(way, data) for way, data in frames if data not in ("2", "3")]  # not pings
    assert [way for way, _ in packets] == ["out", "in"], packets
    assert packets[0][1].startswith("42/chat,") and '"message"' in packets[0][1]
    assert packets[1][1].startswith("43/chat,") and '"replies"' in packets[1][1]
