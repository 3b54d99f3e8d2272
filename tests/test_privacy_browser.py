"""The dashboard's privacy requests in headless Chromium against the real server.

A manager finds a shopper by e-mail, downloads her data as JSON, cancels an
erasure, then confirms it; her open chat ends and no table keeps anything of hers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect
from test_dashboard_browser import sign_in

from bot.store.db import connect

from conftest import LiveServer
from privacy_scan import traces

pytestmark = pytest.mark.browser

EMAIL = "giulia.bianchi@example.it"
NAME = "Giulia Bianchi"


async def test_a_manager_exports_then_erases_a_shopper(
    server: LiveServer, shopper: Any, page: Page, artifacts: Path
) -> None:
    await server.add_agent("meg@shop.example", "Meg", "manager")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    said = ["Il mio ordine 9931 non è arrivato", "xyzzy plugh frotz, via Roma 12 Torino"]
    ended = await shopper(user={"name": NAME, "email": EMAIL})
    assert (await ended.call("message", {"id": "g1", "text": said[0]}))["ok"]
    assert (await ended.call("end", {}))["ok"]
    live = await shopper(user={"email": EMAIL})
    assert (await live.call("message", {"id": "g2", "text": said[1]}))["ok"]
    other = await shopper(user={"name": "Piotr Zieliński", "email": "piotr@example.pl"})
    assert (await other.call("message", {"id": "p1", "text": "Czy macie rozmiar 46?"}))["ok"]

    await sign_in(page, server.url, "meg@shop.example")
    await expect(page).to_have_url(f"{server.url}/dashboard")
    await expect(page.locator("#gaps")).to_contain_text("via roma")
    result = page.locator("#p-result")

    await page.fill("#p-value", "nobody@example.org")
    await page.click("#privacy button[type=submit]")
    await expect(result).to_have_text("Nothing found for e-mail nobody@example.org.")

    await page.fill("#p-value", EMAIL.upper())
    await page.click("#privacy button[type=submit]")
    await expect(result).to_contain_text(
        "Found for e-mail giulia.bianchi@example.it: 2 conversations (1 still open)"
    )

    async with page.expect_download() as info:
        await page.click("#p-export")
    download = await info.value
    assert download.suggested_filename == "supportbot-data-email.json"
    document = json.loads(Path(await download.path()).read_text(encoding="utf-8"))
    shopper_texts = [
        m["text"]
        for c in document["conversations"]
        for m in c["messages"]
        if m["author"] == "shopper"
    ]
    assert shopper_texts == said
    assert "piotr" not in json.dumps(document).lower()
    await expect(result).to_have_text(
        "Exported 2 conversations of e-mail giulia.bianchi@example.it."
    )

    dialog = page.locator("#erase-dialog")
    await page.click("#p-erase")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#erase-summary")).to_contain_text("2 conversations (1 still open)")
    await page.screenshot(path=str(artifacts / "dashboard-erase.png"))
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert await server.events("privacy.erased") == []

    await page.click("#p-erase")
    await dialog.get_by_role("button", name="Erase for good").click()
    await expect(dialog).to_be_hidden()
    await expect(result).to_contain_text(
        "Erased e-mail giulia.bianchi@example.it: 2 conversations (1 open chat ended first)"
    )
    assert (await live.wait_for("ended"))["reason"] == "personal data erased"
    # the report is read again: her unanswered question is gone from the page
    await expect(page.locator("#gaps")).not_to_contain_text("via roma")

    await server.db.flush()
    conn = connect(server.settings.db)
    assert traces(conn, [EMAIL, NAME, *said]) == []
    assert traces(conn, ["piotr@example.pl", "Czy macie rozmiar 46?"]) != []
    conn.close()
    assert errors == []
