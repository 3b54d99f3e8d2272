"""The dashboard's privacy requests: look a person up, export their data, erase it.

Managers only, and every call is a POST with the session's CSRF token and our own
origin (``check_csrf``): the e-mail or id travels in the JSON body, never in a URL
that could end up in a log. The service and its background tasks (the retention
purge, the watch for erasures made by the command line) are an
``app.cleanup_ctx`` context.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.keys import DB, LIFECYCLE, SETTINGS
from bot.privacy.model import Selector, SelectorError
from bot.privacy.service import PrivacyService
from bot.web.dashboard import REPORT_CACHE
from bot.web.pages import check_csrf, require_agent

routes = web.RouteTableDef()
PRIVACY = web.AppKey("privacy", PrivacyService)
NO_STORE = {"Cache-Control": "no-store"}


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": "invalid_request", "message": message}),
        content_type="application/json",
        headers=NO_STORE,
    )


async def _request(request: web.Request) -> tuple[Selector, int]:
    """The manager's id and the person the request is about, from ``{kind, value}``."""
    session = await require_agent(request, manager=True)
    await check_csrf(request, session)
    try:
        body: Any = await request.json()
    except ValueError:
        raise _bad_request("expected a JSON object {kind, value}") from None
    if not isinstance(body, dict):
        raise _bad_request("expected a JSON object {kind, value}")
    try:
        selector = Selector.parse(str(body.get("kind", "")), body.get("value"))
    except SelectorError as exc:
        raise _bad_request(str(exc)) from None
    return selector, session.agent.id


def _echo(selector: Selector) -> dict[str, str]:
    """The request as understood (an e-mail in lower case): the page shows this one."""
    return {"kind": selector.kind, "value": selector.value}


@routes.post("/api/privacy/lookup")
async def lookup(request: web.Request) -> web.Response:
    selector, _ = await _request(request)
    found = await request.app[PRIVACY].lookup(selector)
    return web.json_response(
        {"request": _echo(selector), "found": found.to_dict(), "nothing": found.nothing},
        headers=NO_STORE,
    )


@routes.post("/api/privacy/export")
async def export(request: web.Request) -> web.Response:
    selector, agent_id = await _request(request)
    document = await request.app[PRIVACY].export(selector, agent_id=agent_id)
    return web.json_response(
        document,
        dumps=lambda d: json.dumps(d, ensure_ascii=False, indent=1),
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="supportbot-data-{selector.kind}.json"',
        },
    )


@routes.post("/api/privacy/forget")
async def forget(request: web.Request) -> web.Response:
    selector, agent_id = await _request(request)
    removed = await request.app[PRIVACY].forget(selector, agent_id=agent_id)
    return web.json_response(
        {"request": _echo(selector), "removed": removed.to_dict(), "nothing": removed.nothing},
        headers=NO_STORE,
    )


async def _privacy(app: web.Application) -> AsyncIterator[None]:
    service = app[PRIVACY] = PrivacyService(
        app[SETTINGS], app[DB], app[LIFECYCLE], app[LIFECYCLE].fanout, app[REPORT_CACHE]
    )
    tasks = [asyncio.create_task(service.watch(), name="privacy-watch")]
    if app[SETTINGS].retention_days > 0:
        tasks.append(asyncio.create_task(service.retention.run(), name="retention"))
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def setup(app: web.Application) -> None:
    """After ``bot.web.pages.setup``: the context needs the services and the report cache."""
    app.cleanup_ctx.append(_privacy)
    app.router.add_routes(routes)
