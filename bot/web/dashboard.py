"""The manager dashboard: its page, the report API and the CSV downloads.

Managers only: signed-out browsers are sent to the sign-in page, the API answers
401 to signed-out callers and 403 to agents without the manager role. Every
read runs in the database's reader pool (``Database.read``), never on the event
loop; the CSAT log's CSV is streamed a chunk per read. The app keeps a cache of
settled days (``bot.reports.cache``), filled for the unfiltered report in the
background at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from aiohttp import web

from bot.keys import DB, SETTINGS
from bot.mood.scale import MoodScale
from bot.reports import (
    PERIODS,
    DayCache,
    FilterError,
    ReportFilter,
    build_report,
    conversation_detail,
)
from bot.reports.cache import SETTLE_MARGIN
from bot.reports.csvout import LOG_HEADER, csv_text, log_row, report_rows, wide_rows
from bot.reports.figures import DEFAULT_TOP, MAX_TOP
from bot.reports.log import DEFAULT_LIMIT, MAX_LIMIT, csat_log, log_chunk
from bot.settings import policy_config
from bot.store.accounts import agent_options
from bot.types import LANGUAGES
from bot.web.pages import choose_locale, page, require_agent

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
REPORT_CACHE = web.AppKey("report_cache", DayCache)
REPORT_WARMUP = web.AppKey("report_warmup", asyncio.Task)
NO_STORE = {"Cache-Control": "no-store"}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=NO_STORE)


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": "invalid_filter", "message": message}),
        content_type="application/json",
        headers=NO_STORE,
    )


def _number(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise _bad_request(f"{name}: expected a whole number, got {raw!r}")
    value = int(raw)
    if not 1 <= value <= high:
        raise _bad_request(f"{name}: expected 1 to {high}, got {value}")
    return value


def _filter(request: web.Request) -> ReportFilter:
    try:
        return ReportFilter.from_params(request.query)
    except FilterError as exc:
        raise _bad_request(str(exc)) from None


def _period(request: web.Request) -> str:
    period = request.query.get("period", "").strip() or "day"
    if period not in PERIODS:
        raise _bad_request(f"period: expected day or week, got {period!r}")
    return period


def _filename(kind: str, f: ReportFilter) -> str:
    if f.since is None and f.until is None:
        span = "all"
    else:
        span = f"{f.since or 'start'}-{f.until or 'now'}"
    return f"supportbot-{kind}-{span}.csv"


def _csv_headers(kind: str, f: ReportFilter) -> dict[str, str]:
    # Set here: the security middleware cannot add headers to a streamed response.
    return {
        **NO_STORE,
        "Content-Type": "text/csv; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'attachment; filename="{_filename(kind, f)}"',
    }


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    session = await require_agent(request, manager=True)
    return await page(
        request,
        "dashboard/index.html",
        csrf=session.csrf_token,
        agent=session.agent.name,
        locale=choose_locale(request, session.agent),
    )


@routes.get("/api/report")
async def api_report(request: web.Request) -> web.Response:
    await require_agent(request, manager=True)
    f, period = _filter(request), _period(request)
    top = _number(request, "top", DEFAULT_TOP, MAX_TOP)
    cache = request.app[REPORT_CACHE]

    def read(conn: sqlite3.Connection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        report = build_report(conn, f, period=period, top=top, cache=cache)
        return report.to_dict(), agent_options(conn)

    report, agents = await request.app[DB].read(read)
    languages = sorted({*LANGUAGES, *(s["key"] for s in report["by_language"])})
    return _json(
        {
            "report": report,
            "options": {
                "agents": agents,
                "languages": languages,
                "nps_enabled": request.app[SETTINGS].nps_enabled,
            },
        }
    )


@routes.get("/api/csat")
async def api_csat(request: web.Request) -> web.Response:
    await require_agent(request, manager=True)
    f = _filter(request)
    limit = _number(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    cursor = request.query.get("cursor") or None
    try:
        result = await request.app[DB].read(partial(csat_log, f=f, limit=limit, cursor=cursor))
    except FilterError as exc:
        raise _bad_request(str(exc)) from None
    scale = MoodScale.for_threshold(policy_config(request.app[SETTINGS]).mood_threshold)
    page = result.to_dict()
    for row in page["rows"]:
        row["mood_label"] = scale.label(row["mood"])
    return _json(page)


@routes.get("/api/conversations/{conversation_id}")
async def api_conversation(request: web.Request) -> web.Response:
    await require_agent(request, manager=True)
    conversation_id = request.match_info["conversation_id"]
    detail = None
    if len(conversation_id) <= 64:
        scale = MoodScale.for_threshold(policy_config(request.app[SETTINGS]).mood_threshold)
        detail = await request.app[DB].read(
            partial(conversation_detail, conversation_id=conversation_id, scale=scale)
        )
    if detail is None:
        return _json({"error": "not_found", "message": "No such conversation."}, status=404)
    return _json(detail)


@routes.get("/api/report.csv")
async def api_report_csv(request: web.Request) -> web.Response:
    await require_agent(request, manager=True)
    f, period = _filter(request), _period(request)
    top = _number(request, "top", DEFAULT_TOP, MAX_TOP)
    cache = request.app[REPORT_CACHE]
    text = await request.app[DB].read(
        lambda conn: csv_text(
            report_rows(build_report(conn, f, period=period, top=top, cache=cache))
        )
    )
    return web.Response(text=text, headers=_csv_headers("report", f))


@routes.get("/api/report-wide.csv")
async def api_report_wide_csv(request: web.Request) -> web.Response:
    """The report with one row per period, agent ... and one column per figure."""
    await require_agent(request, manager=True)
    f, period = _filter(request), _period(request)
    cache = request.app[REPORT_CACHE]
    text = await request.app[DB].read(
        lambda conn: csv_text(wide_rows(build_report(conn, f, period=period, cache=cache)))
    )
    return web.Response(text=text, headers=_csv_headers("report-wide", f))


@routes.get("/api/csat.csv")
async def api_csat_csv(request: web.Request) -> web.StreamResponse:
    await require_agent(request, manager=True)
    f = _filter(request)
    db = request.app[DB]
    rows, cursor = await db.read(partial(log_chunk, f=f))
    response = web.StreamResponse(headers=_csv_headers("csat", f))
    await response.prepare(request)
    await response.write(csv_text([LOG_HEADER, *map(log_row, rows)]).encode())
    while cursor is not None:
        rows, cursor = await db.read(partial(log_chunk, f=f, cursor=cursor))
        await response.write(csv_text(map(log_row, rows)).encode())
    await response.write_eof()
    return response


async def _warm_up(app: web.Application) -> AsyncIterator[None]:
    """Fill the day cache for the unfiltered report in the background after start-up,
    so that the first dashboard view does not pay for the whole history."""
    db, cache = app[DB], app[REPORT_CACHE]

    async def warm() -> None:
        try:
            await db.read(partial(cache.partial, f=ReportFilter(), period="day"))
        except Exception:  # a report is not worth a failed start-up
            log.exception("warming up the report cache failed")

    task = app[REPORT_WARMUP] = asyncio.create_task(warm(), name="report-warm-up")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    # Settled days (older than the rating window) are computed once per filter.
    app[REPORT_CACHE] = DayCache(app[SETTINGS].csat_window + SETTLE_MARGIN)
    app.cleanup_ctx.append(_warm_up)
    app.router.add_routes(routes)
