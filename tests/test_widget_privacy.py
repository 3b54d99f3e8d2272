"""The widget's privacy notice: off by default; with ``privacyUrl`` a short text and the
link above the first message, in the page's language, on a shop page under a strict CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from conftest import LiveServer
from widget_harness import (  # noqa: F401  (fixtures)
    Console,
    Shop,
    ask,
    bubbles,
    load,
    open_chat,
    server_fixture,
    shop_fixture,
    w,
)

pytestmark = pytest.mark.browser
POLICY = "https://casalino.example/privacy"


async def test_there_is_no_notice_unless_the_shop_asks_for_one(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    await bubbles(page, "bot").first.wait_for()
    assert await w(page, ".privacy").count() == 0


@pytest.mark.parametrize(
    ("lang", "text", "link"),
    [
        ("en", "We store this chat to help you.", "Privacy notice"),
        ("it", "Conserviamo questa chat per aiutarti.", "Informativa sulla privacy"),
        ("pl", "Zapisujemy tę rozmowę, aby ci pomóc.", "Polityka prywatności"),
    ],
)
async def test_the_notice_comes_before_the_first_message(
    server: LiveServer, shop: Shop, page: Page, artifacts: Path, lang: str, text: str, link: str
) -> None:
    console = Console(page)
    await load(page, shop.page(f"page-{lang}", lang=lang, attrs={"privacy-url": POLICY}))
    await w(page, ".launcher").click()
    notice = w(page, ".log .privacy")
    await notice.wait_for()  # shown at once, before the connection and the greeting
    assert await notice.inner_text() == f"{text} {link}"
    anchor = notice.locator("a")
    assert await anchor.get_attribute("href") == POLICY
    assert await anchor.get_attribute("target") == "_blank"
    assert await anchor.get_attribute("rel") == "noopener noreferrer"
    await w(page, ".conn[data-connection=online]").wait_for()
    await bubbles(page, "bot").first.wait_for()
    await ask(page, "ciao")
    await bubbles(page, "shopper").first.wait_for()
    first = w(page, ".log > :first-child")
    assert await first.get_attribute("class") == "privacy"
    if lang == "it":
        await page.screenshot(path=artifacts / "widget-privacy.png")
    assert console.problems() == []


async def test_the_shop_may_word_the_notice(server: LiveServer, shop: Shop, page: Page) -> None:
    own = "Your chat is kept for 90 days."
    await load(page, shop.page("own", settings={"privacyUrl": "/privacy", "privacyText": own}))
    await open_chat(page)
    notice = w(page, ".log .privacy")
    assert await notice.inner_text() == f"{own} Privacy notice"
    assert await notice.locator("a").get_attribute("href") == f"{shop.url}/privacy"


async def test_an_address_that_is_not_http_is_ignored(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    console = Console(page)
    await load(page, shop.page("bad", attrs={"privacy-url": "javascript:alert(1)"}))
    await open_chat(page)
    await bubbles(page, "bot").first.wait_for()
    assert await w(page, ".privacy").count() == 0
    assert console.problems() == [
        "warning: [supportbot] setting ignored: privacyUrl must be an http(s) address"
    ]
