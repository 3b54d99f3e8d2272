"""Hostile host CSS, narrow screens, keyboard and screen readers, languages."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from conftest import LiveServer
from widget_harness import (  # noqa: F401  (fixtures)
    Shop,
    ask,
    bubbles,
    load,
    open_chat,
    server_fixture,
    shop_fixture,
    w,
)

FAQ = "How long does delivery take?"


async def test_hostile_host_css_does_not_break_the_widget(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page(css=("hostile",)))
    launcher = w(page, ".launcher")
    box = await launcher.bounding_box()
    assert box and box["width"] == 58 and box["height"] == 58
    assert box["x"] + box["width"] == 1280 - 20 and box["y"] + box["height"] == 800 - 20
    await open_chat(page)
    panel = await w(page, ".panel").bounding_box()
    assert panel and panel["width"] == 380 and panel["height"] > 400
    await ask(page, FAQ)
    answer = bubbles(page, "bot").nth(1)
    await answer.wait_for()
    style = await answer.evaluate("""(el) => {
      const s = getComputedStyle(el);
      const input = el.getRootNode().querySelector("textarea");
      return {font: s.fontSize, family: s.fontFamily, style: s.fontStyle, color: s.color,
              transform: s.textTransform, spacing: s.letterSpacing, visibility: s.visibility,
              input: getComputedStyle(input).display, inputFont: getComputedStyle(input).fontSize,
              host: getComputedStyle(el.getRootNode().host).display,
              hostVisible: getComputedStyle(el.getRootNode().host).visibility};
    }""")
    assert style == {
        "font": "15px",
        "family": style["family"],
        "style": "normal",
        "color": "rgb(29, 35, 39)",
        "transform": "none",
        "spacing": "normal",
        "visibility": "visible",
        "input": "block",
        "inputFont": "16px",
        "host": "block",
        "hostVisible": "visible",
    }
    assert "Comic" not in style["family"]
    # The accent colour is ours, not the page's custom property.
    colour = await launcher.evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(11, 110, 79)"
    # And it is on top: the launcher is what a click at its centre hits.
    hit = await page.evaluate(
        """([x, y]) => {
      const el = document.elementFromPoint(x, y);
      return el && el.tagName.toLowerCase();
    }""",
        [box["x"] + 29, box["y"] + 29],
    )
    assert hit == "supportbot-widget"


async def test_full_screen_on_a_narrow_viewport(
    server: LiveServer, shop: Shop, browser: Browser
) -> None:
    context = await browser.new_context(
        viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True
    )
    try:
        page = await context.new_page()
        await load(page, shop.page())
        await w(page, ".launcher").tap()
        await w(page, ".conn[data-connection=online]").wait_for()
        panel = w(page, ".panel")
        await panel.evaluate("(el) => Promise.all(el.getAnimations().map((a) => a.finished))")
        assert await panel.bounding_box() == {"x": 0, "y": 0, "width": 375, "height": 700}
        assert await w(page, ".launcher").is_hidden()  # the panel has its own close button
        await w(page, ".close").tap()
        await w(page, ".launcher").wait_for()
    finally:
        await context.close()


async def test_keyboard_and_screen_reader_support(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    launcher = w(page, ".launcher")
    assert await launcher.get_attribute("aria-expanded") == "false"
    await launcher.focus()
    await page.keyboard.press("Enter")
    await w(page, ".conn[data-connection=online]").wait_for()
    assert await launcher.get_attribute("aria-expanded") == "true"
    dialog = page.get_by_role("dialog", name="Chat with us")
    await dialog.wait_for()
    # Focus moves into the panel's input; typing and Enter send.
    assert (
        await page.evaluate(
            "document.querySelector('supportbot-widget').shadowRoot.activeElement.className"
        )
        == "input"
    )
    await page.keyboard.type(FAQ)
    await page.keyboard.press("Enter")
    await bubbles(page, "bot").nth(1).wait_for()
    log = page.get_by_role("log")
    assert await log.get_attribute("aria-live") == "polite"
    assert "Assistant:" in await bubbles(page, "bot").nth(1).inner_text()
    # the header is a status region: nobody from the team is online in this test
    assert await page.get_by_role("status").filter(has_text="We're away").count() == 1
    # Tab reaches the answer's buttons; Escape closes and gives focus back to the launcher.
    await page.get_by_role("button", name="Yes").focus()
    await page.keyboard.press("Enter")
    await w(page, ".helpful").get_by_text("Thanks for your feedback.").wait_for()
    await page.keyboard.press("Escape")
    await w(page, ".panel").wait_for(state="hidden")
    assert await launcher.get_attribute("aria-expanded") == "false"
    assert (
        await page.evaluate(
            "document.querySelector('supportbot-widget').shadowRoot.activeElement.className"
        )
        == "launcher"
    )
    # The CSAT scale is a radio group: arrow keys move the choice.
    await page.keyboard.press("Enter")
    await w(page, "button.link.end").click()
    first = page.get_by_role("radio", name="Very dissatisfied")
    await first.focus()
    await page.keyboard.press("ArrowRight")
    assert await page.get_by_role("radio", name="Dissatisfied", exact=True).is_checked()
    assert await page.get_by_role("group", name="How would you rate this chat?").count() == 1


async def test_the_widget_follows_the_page_language(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page(lang="it"))
    assert await w(page, ".launcher").get_attribute("aria-label") == "Apri la chat"
    await open_chat(page)
    assert await w(page, ".title").inner_text() == "Scrivici"
    assert await w(page, ".conn").inner_text() == "Non siamo online"  # nobody from the team is
    assert "Ciao" in await bubbles(page, "bot").first.inner_text()
    assert await w(page, "button.link.handoff").inner_text() == "Parla con una persona"
    await w(page, "button.link.end").click()
    await w(page, "form.csat").get_by_text("Come valuti questa chat?").wait_for()
    assert await page.get_by_role("radio", name="Molto soddisfatto").count() == 1
    conversation = (await server.query("SELECT language, lang_setting FROM conversations"))[0]
    assert conversation == {"language": "it", "lang_setting": "auto"}


async def test_the_language_setting_wins_over_the_page(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page(lang="it", attrs={"lang": "pl"}))
    await open_chat(page)
    assert await w(page, ".title").inner_text() == "Napisz do nas"
    assert "Cześć" in await bubbles(page, "bot").first.inner_text()
    await w(page, "button.link.end").click()
    await w(page, "form.csat").get_by_text("Jak oceniasz tę rozmowę?").wait_for()
    assert await page.get_by_role("radio", name="Bardzo zadowolony").count() == 1
