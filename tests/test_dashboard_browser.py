"""The manager dashboard in headless Chromium against the real server.

A manager signs in through /login, narrows the report to March and to escalated
chats, reads the figures and the charts, opens the transcript of a low-rated
chat and downloads both CSV files; an agent without the manager role gets 403.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect
from test_reports import seed

from bot.reports.csvout import LOG_HEADER

from conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser


async def sign_in(page: Page, url: str, email: str, target: str = "/dashboard") -> None:
    await page.goto(url + target)
    await expect(page).to_have_url(f"{url}/login?next={target}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


async def test_manager_filters_reads_a_low_rated_transcript_and_downloads_csv(
    server: LiveServer, page: Page, artifacts: Path
) -> None:
    await server.db.write(seed)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # (the sign-in page has no icon: the browser's /favicon.ico request is not ours to judge)
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} {msg.location['url']}")
            if msg.type == "error" and not msg.location["url"].endswith("/favicon.ico")
            else None
        ),
    )

    await sign_in(page, server.url, "meg@shop.example")
    await expect(page).to_have_url(f"{server.url}/dashboard")
    await expect(page.locator("#headline .card").first).to_be_visible()

    await page.fill("#f-since", "2026-03-01")
    await page.fill("#f-until", "2026-03-31")
    await page.click("#filters button[type=submit]")
    await expect(page.locator("[data-figure=csat] .card-value")).to_have_text("50.0%")
    await expect(page.locator("[data-figure=response] .card-value")).to_have_text("85.7%")
    await expect(page.locator("[data-figure=chats] .card-value")).to_have_text("7")
    await expect(page.locator("[data-figure=containment] .card-value")).to_have_text("42.9%")
    await expect(page.locator("[data-figure=first-response] .card-value")).to_have_text("45 s")
    await expect(page.locator("[data-figure=resolution] .card-value")).to_have_text("10 min")
    await expect(page.locator("[data-figure=nps] .card-value")).to_have_text("25.0")
    await expect(page.locator("#log tbody tr")).to_have_count(6)
    # the charts are inline SVG: 31 days on the trend, five bars for the ratings
    await expect(page.locator("#trend-chart svg circle")).to_have_count(4)
    await expect(page.locator("#distribution-chart svg rect")).to_have_count(5)
    await expect(page.locator("#gaps tbody tr").first).to_contain_text("do you ship to mars?")

    await page.select_option("#f-handled", "escalated")
    await page.select_option("#f-agent", label="Ada")
    await page.click("#filters button[type=submit]")
    await expect(page).to_have_url(
        f"{server.url}/dashboard?since=2026-03-01&until=2026-03-31&agent=1&handled=escalated"
        "&period=day"
    )
    await expect(page.locator("#log tbody tr")).to_have_count(2)
    await expect(page.locator("[data-figure=csat] .card-value")).to_have_text("0.0%")
    await expect(page.locator("#log tbody tr.low")).to_have_count(2)
    await page.click(".split-tabs [data-split=by_reason]")
    await expect(page.locator("#split-table tbody th")).to_have_text(["asks for a person"])

    low = page.locator("#log tbody tr.low", has_text="useless")
    await expect(low.locator(".rating")).to_contain_text("1 ★")
    await page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    await low.get_by_role("button", name="Transcript").click()
    dialog = page.locator("#transcript")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator(".message")).to_have_count(6)
    await expect(dialog.locator(".message.note")).to_contain_text("customer is angry")
    await expect(dialog.locator(".message.note .badge")).to_have_text("internal note")
    await expect(dialog.locator(".facts")).to_contain_text("1 ★ “useless”")
    await page.screenshot(path=str(artifacts / "dashboard-transcript.png"))
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()

    async with page.expect_download() as info:
        await page.click("#log-csv")
    download = await info.value
    assert download.suggested_filename == "supportbot-csat-2026-03-01-2026-03-31.csv"
    rows = list(csv.reader(io.StringIO(Path(await download.path()).read_text())))
    assert rows[0] == LOG_HEADER
    assert [(r[2], r[3], r[5]) for r in rows[1:]] == [("c05", "1", "useless"), ("c03", "2", "slow")]

    async with page.expect_download() as info:
        await page.click("#report-csv")
    report = list(csv.reader(io.StringIO(Path(await (await info.value).path()).read_text())))
    assert ["total", "", "All", "chats", "2"] in report
    assert errors == []


async def test_an_agent_gets_403(server: LiveServer, context: BrowserContext) -> None:
    await server.db.write(seed)
    page = await context.new_page()
    await sign_in(page, server.url, "ada@shop.example")
    await expect(page.locator("body")).to_have_text("Managers only.")
    response = await page.goto(f"{server.url}/dashboard")
    assert response is not None and response.status == 403
