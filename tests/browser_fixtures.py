"""Playwright fixtures: Debian's headless Chromium, never a downloaded browser."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Page,
    Request,
    ViewportSize,
    async_playwright,
)

CHROMIUM = os.environ.get("SUPPORTBOT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the whole run; each test gets a fresh context (cookies, storage)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


# What a test could change on the shared context that a reset cannot take back:
# these refuse, naming the marker that gives the test a context of its own.
PERMANENT = (
    "add_init_script",
    "expose_binding",
    "expose_function",
    "route_web_socket",
    "set_default_navigation_timeout",
    "set_default_timeout",
    "set_extra_http_headers",
    "set_geolocation",
)
CLOCK = ("install", "pause_at", "set_fixed_time", "set_system_time")  # page.clock is the context's


def _refuse(name: str) -> Callable[..., NoReturn]:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(
            f"{name} would stay on the browser context the next tests share: "
            "mark this test @pytest.mark.own_context"
        )

    return refuse


class SharedContext:
    """The browser context the tests of one process take turns in.

    A fresh context per test costs Chromium about 1.3-1.5 s of CPU for the test's
    first page (a storage partition, a window, a renderer process started and torn
    down); here a page left open keeps a renderer process alive for every test's
    pages, and a page costs 0.5-0.6 s. Between tests everything a test can change is
    put back: its pages closed, cookies, permissions, offline mode and routes cleared,
    and the storage and HTTP cache of every origin it reached emptied. What cannot be
    put back (init scripts, the fake clock, ...: ``PERMANENT``, ``CLOCK``) is refused;
    a test that needs it is marked ``own_context``.
    """

    def __init__(self, context: BrowserContext, keeper: Page, cdp: CDPSession) -> None:
        self.context = context
        self.keeper = keeper
        self.cdp = cdp
        self.origins: set[str] = set()
        context.on("request", self._seen)
        for name in PERMANENT:
            setattr(context, name, _refuse(f"context.{name}"))
        for name in CLOCK:
            setattr(context.clock, name, _refuse(f"clock.{name}"))

    @classmethod
    async def open(cls, browser: Browser) -> SharedContext:
        context = await browser.new_context(viewport=VIEWPORT)
        keeper = await context.new_page()
        return cls(context, keeper, await context.new_cdp_session(keeper))

    def _seen(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https"):
            self.origins.add(f"{parts.scheme}://{parts.netloc}")

    async def reset(self) -> None:
        for page in self.context.pages:
            if page is not self.keeper:
                await page.close()
        await self.context.clear_cookies()
        await self.context.clear_permissions()
        await self.context.set_offline(False)
        await self.context.unroute_all(behavior="ignoreErrors")
        for origin in sorted(self.origins):
            await self.cdp.send(
                "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
            )
        self.origins.clear()
        await self.cdp.send("Network.clearBrowserCache")


@pytest.fixture(scope="session")
async def shared_context() -> AsyncIterator[list[SharedContext | None]]:
    """The process's shared context, opened by the first test that needs it (in a
    list: a context whose reset failed is dropped, and the next test opens another)."""
    holder: list[SharedContext | None] = [None]
    yield holder
    if holder[0] is not None:
        await holder[0].context.close()


@pytest.fixture
async def context(
    request: pytest.FixtureRequest, browser: Browser, shared_context: list[SharedContext | None]
) -> AsyncIterator[BrowserContext]:
    """A context with nothing of earlier tests in it: the shared one, put back after
    the test, or one of its own for a test marked ``own_context``."""
    if request.node.get_closest_marker("own_context"):
        context = await browser.new_context(viewport=VIEWPORT)
        yield context
        await context.close()
        return
    shared = shared_context[0]
    if shared is None:
        shared = shared_context[0] = await SharedContext.open(browser)
    yield shared.context
    try:
        await shared.reset()
    except Exception:
        # a crashed renderer or a closed context: the next test opens a new one
        logging.getLogger(__name__).warning("browser context not reset", exc_info=True)
        shared_context[0] = None
        with contextlib.suppress(Exception):
            await shared.context.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def artifacts() -> Path:
    """Where tests drop screenshots (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
