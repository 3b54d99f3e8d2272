"""The widget speaks the shopper's language and shows what matters, in Chromium:
Italian and Polish conversations on an English page, a phone, the server's limits,
grouped times with the agent's name and initials, "seen", the team's hours and
reply time, emoji from the OS picker, pictures."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from bot.settings import Settings

from conftest import LiveServer, make_settings
from images_data import HTML, png
from widget_harness import (  # noqa: F401  (fixtures)
    Console,
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

ITALIAN = "Buongiorno, quanto costa la spedizione in Italia?"
POLISH = "Dzień dobry, ile kosztuje dostawa do Polski?"


@pytest.fixture
def settings(tmp_path: Path, vector_cache: Path) -> Settings:
    """Closed all week but one minute (the team is never there during a test), a
    typical reply time of 5 minutes, a limit of 300 characters, small pictures."""
    return make_settings(
        tmp_path,
        vector_cache,
        office_hours="sun 00:00-00:01",
        timezone="UTC",
        reply_time=300,
        max_message_length=300,
        upload_max_bytes=100_000,
    )


async def test_an_italian_conversation_on_an_english_page(
    server: LiveServer, shop: Shop, page: Page, artifacts: Path
) -> None:
    console = Console(page)
    await load(page, shop.page(lang="en"))
    await open_chat(page)
    box = w(page, "textarea.input")
    assert await box.get_attribute("placeholder") == "Type your message…"
    await ask(page, ITALIAN)
    # the bot answers in Italian, and now the widget's own words are Italian too
    await w(page, ".root[lang=it]").wait_for(state="attached")
    assert await box.get_attribute("placeholder") == "Scrivi un messaggio…"
    assert await box.get_attribute("aria-label") == "Il tuo messaggio"
    assert await w(page, "button.link.handoff").inner_text() == "Parla con una persona"
    assert await w(page, "button.link.end").inner_text() == "Termina la chat"
    assert await w(page, ".launcher").get_attribute("aria-label") == "Apri la chat"
    assert await w(page, ".title").inner_text() == "Scrivici"
    assert "Di solito risponde in 5 min" in await w(page, ".team").inner_text()
    answer = bubbles(page, "bot").nth(1)
    await answer.wait_for()
    helpful = answer.locator(".helpful")
    if await helpful.count():
        assert "Ti è stato utile?" in await helpful.inner_text()
        assert await helpful.locator("button").all_inner_texts() == ["Sì", "No"]
    await page.screenshot(path=str(artifacts / "widget-italian-on-english-page.png"))
    # the survey in Italian, with the server's words for the scale
    await w(page, "button.link.end").click()
    await w(page, "legend").get_by_text("Come valuti questa chat?").wait_for()
    radios = w(page, ".scale input")
    assert [await r.get_attribute("aria-label") for r in await radios.all()] == [
        "Molto insoddisfatto",
        "Insoddisfatto",
        "Neutrale",
        "Soddisfatto",
        "Molto soddisfatto",
    ]
    await page.screenshot(path=str(artifacts / "widget-italian-survey.png"))
    # a reload speaks Italian at once, before the chat is even connected again
    await page.reload()
    await page.wait_for_function("window.SupportWidget !== undefined")
    await w(page, ".root[lang=it]").wait_for(state="attached")
    assert await w(page, ".launcher").get_attribute("aria-label") == "Apri la chat"
    assert console.problems() == []


async def test_a_polish_conversation_leaves_a_message_in_polish(
    server: LiveServer, shop: Shop, page: Page, artifacts: Path
) -> None:
    await load(page, shop.page(lang="en"))
    await open_chat(page)
    await ask(page, POLISH)
    await w(page, ".root[lang=pl]").wait_for(state="attached")
    await w(page, "button.link.handoff").click()  # nobody is online
    banner = w(page, ".banner")
    await banner.get_by_text("Nikt z naszego zespołu nie jest teraz dostępny.").wait_for()
    assert "Wracamy: " in await banner.inner_text()
    form = w(page, "form.leave")
    await form.wait_for()
    assert "Zostaw swój e-mail" in await form.inner_text()
    assert await form.locator("button[type=submit]").inner_text() == "Wyślij wiadomość"
    assert await form.locator("textarea").input_value() == POLISH  # what the shopper wrote
    assert await w(page, ".team").inner_text() == ""  # waiting: the banner says it
    await page.screenshot(path=str(artifacts / "widget-polish-on-english-page.png"))
    await form.locator("input[type=email]").fill("ola@example.com")
    await form.locator("button[type=submit]").click()
    await w(page, ".banner").get_by_text("Otrzymaliśmy twoją wiadomość.").wait_for()
    rows = await server.query("SELECT email FROM tickets")
    assert rows == [{"email": "ola@example.com"}]


async def test_on_a_phone_every_tap_target_is_44_px_and_the_form_fits(
    server: LiveServer, shop: Shop, browser: Browser, artifacts: Path
) -> None:
    context = await browser.new_context(
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        page = await context.new_page()
        await load(page, shop.page())
        await w(page, ".launcher").tap()
        await w(page, ".conn[data-connection=online]").wait_for()
        await ask(page, "How long does delivery take?")
        await w(page, ".helpful button").first.wait_for()
        assert (
            await w(page, "textarea.input").evaluate("(el) => getComputedStyle(el).fontSize")
            == "16px"
        )
        small = await page.evaluate("""async () => {
          const root = document.querySelector("supportbot-widget").shadowRoot;
          // measured at rest: the panel's opening animation scales it for a moment
          await Promise.all(root.getAnimations().map((animation) => animation.finished));
          return [...root.querySelectorAll("button, input:not([type=file]), textarea")]
            .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden")
            .map((el) => [el.className || el.tagName, el.getBoundingClientRect()])
            .filter(([, r]) => r.width < 44 || r.height < 44)
            .map(([name, r]) => `${name} ${Math.round(r.width)}x${Math.round(r.height)}`);
        }""")
        assert small == []
        yes = await w(page, ".helpful button").first.bounding_box()
        assert yes and yes["width"] >= 44 and yes["height"] >= 44
        await page.screenshot(path=str(artifacts / "widget-phone.png"))

        # nobody online: the leave-a-message form, every part of it within reach
        await w(page, "button.link.handoff").tap()
        form = w(page, "form.leave")
        await form.wait_for()
        panel = await w(page, ".panel").bounding_box()
        log = await w(page, ".log").bounding_box()
        assert panel == {"x": 0, "y": 0, "width": 375, "height": 667}
        assert log and log["height"] >= 70  # the transcript shrinks but stays
        for part in ("input[type=email]", "textarea", "button[type=submit]"):
            field = form.locator(part)
            await field.scroll_into_view_if_needed()
            box = await field.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= 667, part
            if part != "button[type=submit]":
                assert await field.evaluate("(el) => getComputedStyle(el).fontSize") == "16px"
        await page.screenshot(path=str(artifacts / "widget-phone-leave-message.png"))
        await form.locator("input[type=email]").tap()
        await page.keyboard.type("sam@example.com")
        await form.locator("button[type=submit]").tap()
        await w(page, ".banner").get_by_text("We've got your message.").wait_for()
    finally:
        await context.close()


async def test_the_message_limit_comes_from_the_server(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    box = w(page, "textarea.input")
    assert await box.evaluate("(el) => el.maxLength") == 300
    # a pick label or anything else longer is cut, never in the middle of an emoji
    await page.evaluate("""() => {
      const root = document.querySelector("supportbot-widget").shadowRoot;
      root.querySelector("textarea.input").maxLength = 1000;  // as if the page raced us
    }""")
    await box.fill("x" * 299 + "😀 and more")
    await box.press("Enter")
    rows = await eventually(lambda: shopper_rows(server))
    assert rows[0]["text"] == "x" * 299


async def test_times_agent_names_initials_and_seen(
    server: LiveServer, shop: Shop, page: Page, agent, artifacts: Path
) -> None:
    ada = await agent("Ada Lovelace")
    await load(page, shop.page())
    await open_chat(page)
    # the greeting shows its time under it
    greeting = bubbles(page, "bot").first
    await greeting.locator(".meta").wait_for()
    assert ":" in await greeting.locator(".meta").inner_text()
    await w(page, "button.link.handoff").click()
    cid = (await ada.wait_for("assigned"))["conversation_id"]
    await ada.call("open", {"conversation_id": cid})
    for i, text in enumerate(("Hi, I'm Ada.", "Let me look at your order.")):
        assert (await ada.call("send", {"conversation_id": cid, "id": f"a-{i}", "text": text}))[
            "ok"
        ]
    replies = bubbles(page, "agent")
    await replies.nth(1).wait_for()
    # one group: name and initials on the first, the time under the last
    assert await replies.nth(0).locator(".who").inner_text() == "Ada Lovelace"
    assert await replies.nth(0).locator(".avatar").inner_text() == "AL"
    assert await replies.nth(1).locator(".avatar").is_hidden()
    assert await replies.nth(0).locator(".meta").is_hidden()
    assert ":" in await replies.nth(1).locator(".meta").inner_text()
    # the shopper writes; once the agent has seen it, the widget says so
    await ask(page, "Order 1234, it arrived torn")
    heard = await ada.wait_for("message", lambda m: m["author"] == "shopper")
    mine = bubbles(page, "shopper").last
    await mine.locator(".meta").wait_for()
    assert "Seen" not in await mine.locator(".meta").inner_text()
    assert (await ada.call("seen", {"conversation_id": cid, "message_id": heard["id"]}))["seen"]
    await mine.locator(".meta", has_text="Seen").wait_for()
    await page.screenshot(path=str(artifacts / "widget-agent-group-seen.png"))
    # seen survives a reload
    await page.reload()
    await page.wait_for_function("window.SupportWidget !== undefined")
    await w(page, ".conn[data-connection=online]").wait_for()
    await bubbles(page, "shopper").last.locator(".meta", has_text="Seen").wait_for()


async def test_when_nobody_is_online_the_team_says_when_it_is_back(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    await w(page, ".conn[data-state=away]").wait_for()
    note = await w(page, ".team").inner_text()
    # Sunday 00:00 UTC, in the shopper's own time zone
    day = await page.evaluate("""() => {
      const next = new Date(); next.setUTCDate(next.getUTCDate() + ((7 - next.getUTCDay()) % 7 || 7));
      next.setUTCHours(0, 0, 0, 0);
      return next.toLocaleDateString("en-US", {weekday: "long"});
    }""")
    assert note.startswith(f"Back {day} ") and note.endswith(" · Typically replies in 5 min"), note


async def test_emoji_from_the_os_picker_and_composition(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    await load(page, shop.page())
    await open_chat(page)
    box = w(page, "textarea.input")
    await box.focus()
    cdp = await page.context.new_cdp_session(page)
    # an input method composing: Enter picks the candidate and must not send
    await cdp.send(
        "Input.imeSetComposition", {"text": "ね", "selectionStart": 1, "selectionEnd": 1}
    )
    await page.keyboard.press("Enter")
    await cdp.send("Input.insertText", {"text": "ね"})
    await page.wait_for_timeout(300)
    assert await shopper_rows(server) == []
    # the OS emoji picker inserts text, with skin tones and joined sequences
    await box.fill("")
    await cdp.send("Input.insertText", {"text": "parcel 📦 arrived 👍🏽👨‍👩‍👧"})
    await box.press("Enter")
    rows = await eventually(lambda: shopper_rows(server))
    assert [r["text"] for r in rows] == ["parcel 📦 arrived 👍🏽👨‍👩‍👧"]
    await bubbles(page, "shopper").filter(has_text="📦").wait_for()


async def test_pictures_are_sent_shown_and_refused_with_a_reason(
    server: LiveServer, shop: Shop, page: Page, agent, tmp_path: Path, artifacts: Path
) -> None:
    console = Console(page)
    ada = await agent("Ada")
    await load(page, shop.page())
    await open_chat(page)
    await w(page, "button.link.handoff").click()
    cid = (await ada.wait_for("assigned"))["conversation_id"]
    await ada.call("open", {"conversation_id": cid})
    photo = tmp_path / "torn-parcel.png"
    photo.write_bytes(png(120, 80, (180, 40, 30)))
    attach = w(page, "button.attach")
    assert await attach.get_attribute("aria-label") == "Send a picture"
    async with page.expect_file_chooser() as chooser:
        await attach.click()
    await (await chooser.value).set_files(str(photo))
    picture = bubbles(page, "shopper").locator("img")
    await picture.wait_for()
    await eventually(lambda: picture.evaluate("(img) => img.complete && img.naturalWidth === 120"))
    assert await picture.get_attribute("alt") == "torn-parcel.png"
    heard = await ada.wait_for("message", lambda m: m.get("attachment") is not None)
    assert heard["attachment"]["width"] == 120
    await page.screenshot(path=str(artifacts / "widget-picture.png"))

    # HTML named like a picture, and a picture over the limit: refused, with the reason
    fake = tmp_path / "photo.png"
    fake.write_bytes(HTML)
    await w(page, "input[type=file]").set_input_files(str(fake))
    await bubbles(page, "shopper").filter(has_text="Only pictures can be sent").wait_for()
    big = tmp_path / "big.png"
    big.write_bytes(png(20, 20) + bytes(200_000))
    await w(page, "input[type=file]").set_input_files(str(big))
    await bubbles(page, "shopper").filter(has_text="too large").wait_for()
    assert len(await server.query("SELECT id FROM attachments")) == 1
    refusals = ("status of 413", "status of 415")  # the browser's own lines for the refusals
    assert [p for p in console.problems() if not any(r in p for r in refusals)] == []
