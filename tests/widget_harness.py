"""Shared fixtures and helpers for the widget's browser tests (no tests in here).

The widget is embedded the way a shop embeds it: on a page served by a *shop*
server (another aiohttp server on 127.0.0.1, so another origin) that sends a strict
Content-Security-Policy allowing only itself and the support host. The chat server
is the real app, with the shop's origin in ``allowed_origins``. Test modules import
the fixtures ``shop`` and ``server`` (as ``shop_fixture`` and ``server_fixture``);
this ``server`` replaces conftest's, so that ``connect``/``agent`` talk to the same
server the widget uses.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Page, Request

from conftest import LiveServer, ServerFactory

SHOP = web.AppKey("shop", dict)

HOSTILE_CSS = """
* { font: italic 31px/3 "Comic Sans MS", cursive !important; color: #f0f !important;
    letter-spacing: 6px !important; text-transform: uppercase !important;
    box-sizing: content-box !important; visibility: hidden; }
html, body { visibility: visible; }
body * { display: none !important; opacity: .2 !important; position: static !important;
         z-index: -1 !important; transform: rotate(3deg) scale(.5) !important;
         width: 1px !important; height: 1px !important; overflow: hidden !important; }
div, section, button, input, textarea, form, span { all: unset !important; background: lime !important; }
supportbot-widget, html > :not(head):not(body), [class*=panel], [class*=launcher], .log, .msg {
  display: none !important; position: absolute !important; left: -9999px !important; }
:root { --sb-accent: #f0f; --sb-ink: #f0f; }
button:focus, *:focus { outline: none !important; }
"""

BLOCK_STORAGE_JS = """
Object.defineProperty(window, "localStorage", {
  get() { throw new DOMException("The operation is insecure.", "SecurityError"); },
});
"""


@dataclass
class Shop:
    """A shop's web server: host pages with the embed snippet, under a strict CSP."""

    url: str
    config: dict[str, Any]
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return self.url

    def page(
        self,
        name: str = "index",
        *,
        lang: str = "en",
        attrs: dict[str, str] | None = None,
        settings: dict[str, Any] | None = None,
        css: tuple[str, ...] = (),
        scripts: tuple[str, ...] = (),
        snippet_twice: bool = False,
        body: str = "",
    ) -> str:
        """Register a host page embedding the widget; returns its URL."""
        chat = self.config["chat"]
        data = {"site": "test-shop", **(attrs or {})}
        data_attrs = " ".join(f'data-{k}="{html.escape(v, quote=True)}"' for k, v in data.items())
        head = [f'<link rel="stylesheet" href="/{name}.css">' for name in css]
        if settings is not None:
            self.pages[f"{name}-settings.js"] = (
                f"window.SupportWidgetSettings = {json.dumps(settings)};"
            )
            head.append(f'<script src="/{name}-settings.js"></script>')
        head += [f'<script src="/{script}.js"></script>' for script in scripts]
        snippet = f'<script src="{chat}/widget.js" {data_attrs} async></script>'
        self.pages[name] = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Test shop: {name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{"".join(head)}
{snippet}{snippet if snippet_twice else ""}
</head><body><h1>Test shop</h1><p><a href="#top">A link</a> <button type="button">Buy</button></p>
<div class="panel launcher msg log">host content</div>{body}</body></html>"""
        return f"{self.url}/{name}"


def _csp(chat: str) -> str:
    parts = urlsplit(chat)
    ws = f"ws://{parts.netloc}"
    return (
        f"default-src 'none'; script-src 'self' {chat}; style-src 'self'; "
        f"connect-src 'self' {chat} {ws}; img-src 'self' {chat}; base-uri 'none'; "
        "form-action 'self'; "
        "require-trusted-types-for 'script'"
    )


async def _serve(request: web.Request) -> web.Response:
    config = request.app[SHOP]
    shop: Shop = config["shop"]
    name = request.match_info["name"] or "index"
    if name == "hostile.css":
        return web.Response(text=HOSTILE_CSS, content_type="text/css")
    if name == "favicon.ico":
        return web.Response(status=204)
    if name == "block-storage.js":
        return web.Response(text=BLOCK_STORAGE_JS, content_type="application/javascript")
    if name == "blank":
        return web.Response(text="<!doctype html><title>blank</title>", content_type="text/html")
    if name not in shop.pages:
        raise web.HTTPNotFound()
    if name.endswith(".js"):
        return web.Response(text=shop.pages[name], content_type="application/javascript")
    return web.Response(
        text=shop.pages[name],
        content_type="text/html",
        headers={"Content-Security-Policy": _csp(config["chat"])},
    )


def shop_app() -> web.Application:
    app = web.Application()
    app[SHOP] = {}
    app.router.add_get("/{name:.*}", _serve)
    return app


async def start_shop(aiohttp_server: Any) -> Shop:
    app = shop_app()
    running = await aiohttp_server(app, host="127.0.0.1")
    shop = Shop(str(running.make_url("")).rstrip("/"), app[SHOP])
    app[SHOP]["shop"] = shop
    return shop


@pytest.fixture(name="shop")
async def shop_fixture(aiohttp_server: Any) -> Shop:
    return await start_shop(aiohttp_server)


@pytest.fixture(name="server")
async def server_fixture(start_server: ServerFactory, shop: Shop) -> LiveServer:
    """The chat server, accepting widget connections from the shop's origin."""
    live = await start_server(allowed_origins=(shop.origin,))
    shop.config["chat"] = live.url
    return live


# -- helpers -----------------------------------------------------------------------------


class Console:
    """The page's console messages, to assert that nothing was refused or thrown."""

    def __init__(self, page: Page) -> None:
        self.lines: list[str] = []
        page.on("console", lambda m: self.lines.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.lines.append(f"pageerror: {e}"))

    def problems(self) -> list[str]:
        return [
            line
            for line in self.lines
            if line.startswith(("error", "pageerror"))
            or "Content Security Policy" in line
            or "[supportbot]" in line
        ]


async def load(page: Page, url: str) -> None:
    """Open a host page and wait until the widget says it is ready.

    Also waits until the socket.io client the widget fetches when idle has arrived
    (or failed): aiohttp's test server cancels the handler of an aborted request, and
    a FileResponse cancelled while opening its file leaks it (a ResourceWarning, an
    error here) if the page goes away mid-fetch. Playwright's "networkidle" would do
    too, but it waits for half a second of quiet on every load.
    """
    fetched = asyncio.get_running_loop().create_future()

    def done(request: Request) -> None:
        if request.url.endswith(CLIENT) and not fetched.done():
            fetched.set_result(None)

    page.on("requestfinished", done)
    page.on("requestfailed", done)
    try:
        await page.goto(url)
        await page.wait_for_function("window.SupportWidget !== undefined")
        await page.evaluate("() => new Promise((resolve) => SupportWidget.on('ready', resolve))")
        try:
            await asyncio.wait_for(fetched, timeout=5)
        except TimeoutError:  # never asked for: wait for the network to be quiet
            await page.wait_for_load_state("networkidle")
    finally:
        page.remove_listener("requestfinished", done)
        page.remove_listener("requestfailed", done)


CLIENT = "/vendor/socket.io.esm.min.js"


W = "supportbot-widget"  # the widget's host element; Playwright's CSS pierces its shadow root


def w(page: Page, selector: str) -> Any:
    """A locator inside the widget."""
    return page.locator(f"{W} {selector}")


async def open_chat(page: Page) -> None:
    await w(page, ".launcher").click()
    await w(page, ".panel").wait_for(state="visible")
    await w(page, ".conn[data-connection=online]").wait_for()


async def ask(page: Page, text: str) -> None:
    box = w(page, "textarea.input")
    await box.fill(text)
    await box.press("Enter")


def bubbles(page: Page, author: str) -> Any:
    return w(page, f".log .msg.{author}")


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(0.05)


async def shopper_rows(server: LiveServer, text: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM messages WHERE author = 'shopper'"
    if text is not None:
        return await server.query(sql + " AND text = ? ORDER BY id", text)
    return await server.query(sql + " ORDER BY id")


async def record_events(page: Page) -> None:
    """Collect the public events in window.__events (for assertions)."""
    await page.evaluate("""() => {
      window.__events = [];
      for (const name of ["ready", "opened", "closed", "message", "unread"]) {
        SupportWidget.on(name, (value) => window.__events.push([name, value ?? null]));
      }
    }""")


async def events(page: Page) -> list[list[Any]]:
    return await page.evaluate("window.__events")
