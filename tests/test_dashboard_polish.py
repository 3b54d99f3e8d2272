"""The manager dashboard in Chromium: plurals by each language's rules, a trend chart
readable with one day of data, the wide CSV beside the long one, the "did you mean"
choices in transcripts, dates in the browser's locale, Polish and Italian pages."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from test_console_polish import upload_picture
from test_dashboard_browser import sign_in
from test_reports import seed

from bot.reports.csvout import figure_metrics
from bot.reports.model import Durations, Figures

from conftest import Client, LiveServer
from images_data import png
from widget_harness import eventually

pytestmark = pytest.mark.browser
MARCH = "since=2026-03-01&until=2026-03-31"


async def signed_in_page(browser: Browser, server: LiveServer, locale: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await sign_in(page, server.url, "meg@shop.example")
    await expect(page.locator("#headline .card").first).to_be_visible()
    return page


async def test_plurals_follow_each_languages_rules(server: LiveServer, page: Page) -> None:
    await page.goto(f"{server.url}/login")
    result = await page.evaluate("""async () => {
      const {translator} = await import("/static/common/i18n.js");
      const {TEXTS} = await import("/static/dashboard/texts.js");
      const say = (lang) => [1, 2, 5, 22, 25, 101].map((n) => translator(TEXTS, lang)("ratings", {n}));
      return {en: say("en"), it: say("it"), pl: say("pl")};
    }""")
    assert result["en"] == [
        "1 rating",
        "2 ratings",
        "5 ratings",
        "22 ratings",
        "25 ratings",
        "101 ratings",
    ]
    assert result["it"] == [
        "1 valutazione",
        "2 valutazioni",
        "5 valutazioni",
        "22 valutazioni",
        "25 valutazioni",
        "101 valutazioni",
    ]
    assert result["pl"] == ["1 ocena", "2 oceny", "5 ocen", "22 oceny", "25 ocen", "101 ocen"]


async def test_every_word_exists_in_the_three_languages(server: LiveServer, page: Page) -> None:
    await page.goto(f"{server.url}/login")
    gaps = await page.evaluate("""async () => {
      const gaps = {};
      for (const name of ["console", "dashboard"]) {
        const {TEXTS} = await import(`/static/${name}/texts.js`);
        const keys = Object.keys(TEXTS.en);
        for (const lang of ["it", "pl"]) {
          const missing = keys.filter((k) => !(k in TEXTS[lang]));
          const extra = Object.keys(TEXTS[lang]).filter((k) => !(k in TEXTS.en));
          const plurals = keys.filter((k) => typeof TEXTS[lang][k] === "object"
            && !("other" in TEXTS[lang][k]));
          if (missing.length || extra.length || plurals.length) gaps[`${name}.${lang}`] = {missing, extra, plurals};
        }
      }
      return gaps;
    }""")
    assert gaps == {}


async def test_one_day_of_data_in_english_and_the_wide_csv(
    server: LiveServer, page: Page, artifacts: Path
) -> None:
    await server.db.write(seed)
    await sign_in(page, server.url, "meg@shop.example")
    # one rating: "1 rating", "(1 chat)", never "1 ratings"
    await page.goto(f"{server.url}/dashboard?since=2026-03-09&until=2026-03-09&period=day")
    detail = page.locator("[data-figure=csat] .card-detail")
    await expect(detail).to_have_text("1 rating, 0 low")
    await expect(page.locator("#log-total")).to_have_text("1 rating")

    # one day with two ratings: a bar of its own width, with its values written on it
    await page.goto(f"{server.url}/dashboard?since=2026-03-02&until=2026-03-02&period=day")
    await expect(page.locator("[data-figure=csat] .card-detail")).to_have_text("2 ratings, 1 low")
    chart = page.locator("#trend-chart svg")
    await expect(chart.locator("rect.volume")).to_have_count(1)
    bar = await chart.locator("rect.volume").bounding_box()
    whole = await chart.bounding_box()
    assert bar and whole and bar["width"] <= whole["width"] * 56 / 640 + 1
    await expect(chart.locator("text.value")).to_have_text(["50%"])
    await expect(chart.locator("text.count")).to_have_text(["2"])
    await expect(chart.locator("text.axis").last).to_have_text("Mar 2")
    await page.locator("#trend-chart").screenshot(path=str(artifacts / "dashboard-one-day.png"))

    # the wide CSV: one row per period and agent, one column per figure
    await page.goto(f"{server.url}/dashboard?{MARCH}&period=week")
    async with page.expect_download() as info:
        await page.click("#report-wide-csv")
    download = await info.value
    assert download.suggested_filename == "supportbot-report-wide-2026-03-01-2026-03-31.csv"
    rows = list(csv.reader(io.StringIO(Path(await download.path()).read_text())))
    metrics = [
        name
        for name, _ in figure_metrics(
            Figures(
                0,
                (0, 0, 0, 0, 0),
                None,
                None,
                0,
                0,
                0,
                None,
                0,
                0,
                0,
                None,
                None,
                0,
                Durations(0, None, None),
                Durations(0, None, None),
            )
        )
    ]
    assert rows[0] == ["split", "key", "label", *metrics]
    assert len({len(row) for row in rows}) == 1
    by_split = {}
    for row in rows[1:]:
        by_split.setdefault(row[0], []).append(row)
    assert [r[1] for r in by_split["week"]] == [
        "2026-02-23",
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
    ]
    assert [r[2] for r in by_split["agent"]] == ["Ada", "Bob"]
    total = dict(zip(rows[0], by_split["total"][0], strict=True))
    assert (total["chats"], total["ratings"], total["csat_score"]) == ("7", "6", "0.5")
    # the long CSV holds the same figures
    async with page.expect_download() as info:
        await page.click("#report-csv")
    long = list(csv.reader(io.StringIO(Path(await (await info.value).path()).read_text())))
    assert ["total", "", "All", "csat_score", "0.5"] in long and len(long) > 10 * len(rows)


async def test_a_polish_dashboard_with_the_browsers_dates(
    server: LiveServer, browser: Browser, artifacts: Path
) -> None:
    await server.db.write(seed)
    page = await signed_in_page(browser, server, "pl-PL")
    await expect(page.locator("html")).to_have_attribute("lang", "pl")
    await page.goto(f"{server.url}/dashboard?{MARCH}&period=day")
    await expect(page.locator("[data-figure=csat] .card-label")).to_have_text("Wynik CSAT")
    await expect(page.locator("[data-figure=csat] .card-detail")).to_have_text("6 ocen, niskich: 2")
    await expect(page.locator("#log-total")).to_have_text("6 ocen")
    # dates as a Polish browser writes them, in the fields and in the log
    await expect(page.locator("#f-since")).to_have_value("01.03.2026")
    assert await page.locator("#f-since").get_attribute("placeholder") == "dd.mm.rrrr"
    await expect(page.locator("#log tbody tr").first.locator("td").first).to_contain_text("2026")
    await expect(page.locator("#log tbody tr").first.locator("td").first).to_contain_text("UTC")
    await page.screenshot(path=str(artifacts / "dashboard-polish.png"), full_page=True)
    await page.fill("#f-since", "09.03.2026")
    await page.fill("#f-until", "9.3.2026")
    await page.click("#filters button[type=submit]")
    await expect(page).to_have_url(
        f"{server.url}/dashboard?since=2026-03-09&until=2026-03-09&period=day"
    )
    await expect(page.locator("[data-figure=csat] .card-detail")).to_have_text(
        "1 ocena, niskich: 0"
    )
    # a date that is not one is refused before anything is asked
    await page.fill("#f-since", "31.02.2026")
    await page.click("#filters button[type=submit]")
    await expect(page.locator("#error")).to_have_text("Od: podaj datę w postaci dd.mm.rrrr")
    await page.context.close()

    # an American browser writes the month first; a British one, the day
    page = await signed_in_page(browser, server, "en-US")
    await page.goto(f"{server.url}/dashboard?{MARCH}")
    await expect(page.locator("#f-until")).to_have_value("03/31/2026")
    await page.context.close()
    page = await signed_in_page(browser, server, "en-GB")
    await page.goto(f"{server.url}/dashboard?{MARCH}")
    await expect(page.locator("#f-until")).to_have_value("31/03/2026")
    await page.context.close()


async def test_transcripts_show_the_choices_offered_and_the_one_picked_in_italian(
    server: LiveServer, browser: Browser, shopper: Callable[..., Awaitable[Client]], artifacts: Path
) -> None:
    await server.add_agent("meg@shop.example", "Meg", role="manager")
    await server.db.write(lambda c: c.execute("UPDATE agents SET locale = 'it'"))
    client = await shopper(lang="en")
    assert (await client.call("message", {"id": "q-1", "text": "parcel"}))["ok"]
    offer = await client.wait_for(
        "message",
        lambda m: (
            m["author"] == "bot" and any(q["type"] == "suggestion" for q in m["quick_replies"])
        ),
    )
    choices = [q for q in offer["quick_replies"] if q["type"] == "suggestion"]
    assert len(choices) >= 2
    pick = choices[1]
    assert (
        await client.call("message", {"id": "q-2", "text": pick["label"], "pick": pick["entry_id"]})
    )["ok"]
    sent = await upload_picture(server, client, png(64, 48))
    assert sent["ok"], sent
    assert (await client.call("end", {}))["ok"]
    await client.wait_for("csat_request")
    assert (await client.call("csat", {"rating": 4}))["ok"]

    page = await signed_in_page(browser, server, "en-US")
    await expect(page.locator("html")).to_have_attribute("lang", "it")  # the manager's choice
    await expect(page.locator("#log tbody tr")).to_have_count(1)
    await page.locator("#log tbody tr").get_by_role("button", name="Conversazione").click()
    dialog = page.locator("#transcript")
    offers = dialog.locator(".offers")
    await expect(offers).to_have_count(1)
    await expect(offers).to_contain_text("Intendevi:")
    for choice in choices:
        await expect(offers).to_contain_text(choice["label"])
    await expect(offers.locator(".picked")).to_have_text(f"{pick['label']} ✓ scelta")
    picture = dialog.locator(".picture img")
    await expect(picture).to_have_attribute("alt", "Immagine: torn.png")
    await eventually(lambda: picture.evaluate("(img) => img.complete && img.naturalWidth === 64"))
    await page.screenshot(path=str(artifacts / "dashboard-italian-transcript.png"))
    await page.context.close()
