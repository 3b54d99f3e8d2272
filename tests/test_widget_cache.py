"""The widget's files are cached by release: a shop page's repeat view asks the
server for none of them, and a new release changes every module URL at once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page

from bot.web.assets import Assets

from conftest import ROOT, LiveServer
from widget_harness import (  # noqa: F401  (fixtures)
    Shop,
    load,
    open_chat,
    server_fixture,
    shop_fixture,
)

RELEASE = re.compile(r'var release = "([0-9a-f]{16})/";')


async def test_the_loader_names_the_release_and_its_modules_are_immutable(
    server: LiveServer, shop: Shop
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/widget.js", headers={"Origin": shop.origin}) as r:
            loader = await r.text()
            assert r.headers["Cache-Control"] == "public, max-age=300"
            assert r.headers["Access-Control-Allow-Origin"] == shop.origin
            etag = r.headers["ETag"]
        found = RELEASE.search(loader)
        assert found, loader[-400:]
        release = found.group(1)
        async with http.get(f"{server.url}/widget.js", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        for path in ("src/main.js", "src/session.js", "vendor/socket.io.esm.min.js"):
            async with http.get(
                f"{server.url}/widget/{release}/{path}", headers={"Origin": shop.origin}
            ) as r:
                assert r.status == 200
                assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
                assert r.headers["Access-Control-Allow-Origin"] == shop.origin
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert (await r.read()) == (ROOT / "widget" / path).read_bytes()
        # A page whose loader is older asks for the previous release: today's files,
        # revalidated every time, never pinned for a year under the wrong name.
        async with http.get(f"{server.url}/widget/0123456789abcdef/src/main.js") as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
        async with http.get(f"{server.url}/widget/{release}/src/nothing.js") as r:
            assert r.status == 404


async def test_the_release_changes_with_any_file(tmp_path: Path) -> None:
    root = tmp_path / "widget"
    shutil.copytree(ROOT / "widget", root)
    assets = Assets(root)
    assets.RECHECK = 0.0
    first = await assets.release()
    assert re.fullmatch(r"[0-9a-f]{16}", first) and await assets.release() == first
    (root / "src" / "ids.js").write_text((root / "src" / "ids.js").read_text() + "\n// edited\n")
    second = await assets.release()
    assert second != first
    (root / "src" / "new.js").write_text("export const x = 1;\n")
    assert await assets.release() not in (first, second)


async def watch_widget_requests(page: Page) -> dict[str, dict[str, Any]]:
    """The widget's requests from now on, as the DevTools protocol sees them (by request
    id: url, status, and whether it reached the server or the browser's cache answered)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    seen: dict[str, dict[str, Any]] = {}

    def sent(event: dict[str, Any]) -> None:
        if "/widget" in event["request"]["url"]:
            seen[event["requestId"]] = {"url": event["request"]["url"], "network": True}

    def cached(event: dict[str, Any]) -> None:
        if event["requestId"] in seen:
            seen[event["requestId"]]["network"] = False

    def received(event: dict[str, Any]) -> None:
        entry = seen.get(event["requestId"])
        if entry is not None:
            entry["status"] = event["response"]["status"]
            if event["response"].get("fromDiskCache"):
                entry["network"] = False

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.requestServedFromCache", cached)
    cdp.on("Network.responseReceived", received)
    return seen


async def test_a_repeat_page_view_asks_the_server_for_no_widget_file(
    server: LiveServer, shop: Shop, page: Page
) -> None:
    url = shop.page()
    seen = await watch_widget_requests(page)
    await load(page, url)
    await open_chat(page)  # the socket.io client too
    first = list(seen.values())
    assert len(first) >= 18 and all(e["network"] for e in first)
    assert {
        re.sub(r"/widget/[0-9a-f]{16}/", "/widget/R/", e["url"]).split("/widget", 1)[1]
        for e in first
    } >= {".js", "/R/src/main.js", "/R/vendor/socket.io.esm.min.js"}
    seen.clear()
    await load(page, url)
    await page.wait_for_function("document.querySelector('supportbot-widget')")
    repeat = list(seen.values())
    assert len(repeat) >= 18
    assert [e["url"] for e in repeat if e["network"]] == []
