"""The demo shop at `/`: the widget on the server's own origin, under our own CSP."""

from __future__ import annotations

from playwright.async_api import Page

from conftest import LiveServer
from widget_harness import Console, ask, bubbles, load, open_chat, w


async def test_the_demo_shop_shows_the_widget_working(server: LiveServer, page: Page) -> None:
    console = Console(page)
    await load(page, server.url + "/")
    assert await page.title() == "Casa Lino · linen and home textiles"
    snippet = await page.locator("#snippet").inner_text()
    assert snippet == f'<script src="{server.url}/widget.js" data-site="SITE_KEY" async></script>'
    await open_chat(page)
    assert await w(page, ".title").inner_text() == "Casa Lino"
    await ask(page, "How long does delivery take?")
    await bubbles(page, "bot").nth(1).wait_for()
    assert "working days" in await bubbles(page, "bot").nth(1).inner_text()
    assert console.problems() == []


async def test_the_demo_page_follows_its_language_switch(server: LiveServer, page: Page) -> None:
    await load(page, server.url + "/?lang=it")
    await page.get_by_role("button", name="Questions? Chat with us").click()
    await w(page, ".conn[data-connection=online]").wait_for()
    assert await w(page, "textarea.input").get_attribute("placeholder") == "Scrivi un messaggio…"
    greeting = await bubbles(page, "bot").first.inner_text()
    assert "Ciao" in greeting
