"""The report's queries: each reads one index range and groups it in SQLite.

SQLite does the heavy lifting: the queries group the rows of the range by (day,
agent, bot-only, language, escalation reasons, ...) and return counts, so Python
sees groups rather than rows. Only the durations of answered escalations come
back one by one, because medians need the values. ``collect`` runs them all into
partials (see ``bot.reports.tally``). The README ("Reports") defines every figure.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from bot.reports.filters import (
    BOT_ONLY_SQL,
    CSAT_JOIN,
    ReportFilter,
    conversation_conditions,
    time_range,
)
from bot.reports.tally import Partial, Router

# Segment attributes of the conversation ``c``, in the order Router.slices takes them.
_SEGMENT = f"c.last_agent_id, {BOT_ONLY_SQL}, c.language, c.escalation_reasons"
_MS = "CAST(round((julianday({b}) - julianday({a})) * 86400000.0) AS INTEGER)"
_FIRST_RESPONSE = _MS.format(a="c.escalated_at", b="c.first_agent_reply_at")
# A chat ended by the inactivity timeout ended with its last message, not with the timeout.
_END = "CASE WHEN c.closed_by = 'timeout' THEN c.last_activity_at ELSE c.closed_at END"
_RESOLUTION = _MS.format(a="c.escalated_at", b=_END)
# Bot-only conversations in which the shopper never wrote (idx_messages_shopper answers it;
# a conversation whose transcript was deleted by bot.privacy keeps its shopper_messages).
_EMPTY = (
    f"{BOT_ONLY_SQL} AND coalesce(c.shopper_messages, 0) = 0 AND NOT EXISTS "
    "(SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.author = 'shopper')"
)


def _where(parts: list[str]) -> str:
    return " AND ".join(parts)


def ratings(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """Ratings counted on the day they were first given (``given_at``)."""
    parts, params = time_range("s.given_at", f)
    more, more_params = conversation_conditions(f, rating_column="s.rating")
    sql = (
        f"SELECT substr(s.given_at, 1, 10), {_SEGMENT}, s.rating, count(*) "
        f"FROM csat s {CSAT_JOIN} "
        f"WHERE s.rating BETWEEN 1 AND 5 AND {_where(parts + more)} "
        "GROUP BY 1, 2, 3, 4, 5, 6"
    )
    for day, agent, bot, language, reasons, rating, n in conn.execute(sql, params + more_params):
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.ratings[rating - 1] += n


def surveys(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """Surveys counted on the day they were asked (``asked_at``), and their NPS answers."""
    parts, params = time_range("s.asked_at", f)
    more, more_params = conversation_conditions(f, rating_column="s.rating")
    sql = (
        f"SELECT substr(s.asked_at, 1, 10), {_SEGMENT}, s.rating IS NOT NULL, count(*) "
        f"FROM csat s {CSAT_JOIN} "
        f"WHERE {_where(parts + more)} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    for day, agent, bot, language, reasons, answered, n in conn.execute(sql, params + more_params):
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.asked += n
            if answered:
                tally.answered += n

    join = ""
    if f.conversation_filters:
        join = f"{CSAT_JOIN} "
        parts, params = parts + more, params + more_params
    sql = (
        f"SELECT substr(s.asked_at, 1, 10), s.nps, count(*) FROM csat s {join}"
        f"WHERE s.nps IS NOT NULL AND {_where(parts)} GROUP BY 1, 2"
    )
    for day, score, n in conn.execute(sql, params):
        router.partial(day).nps[score] += n


def chats(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """Chats counted on the day they ended (``closed_at``), with their durations."""
    parts, params = time_range("c.closed_at", f)
    more, more_params = conversation_conditions(f)
    where, where_params = _where(parts + more), params + more_params
    sql = (
        f"SELECT substr(c.closed_at, 1, 10), {_SEGMENT}, "
        "c.escalated_at IS NOT NULL AND c.first_agent_reply_at IS NULL, count(*) "
        f"FROM conversations c WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    for day, agent, bot, language, reasons, missed, n in conn.execute(sql, where_params):
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.chats += n
            if bot:
                tally.bot_only += n
            if missed:
                tally.missed += n

    # Empty conversations were counted above as bot-only chats: take them out again.
    # (Counting them apart keeps the per-row subquery out of the big GROUP BY.)
    sql = (
        f"SELECT substr(c.closed_at, 1, 10), {_SEGMENT}, count(*) FROM conversations c "
        f"WHERE {where} AND {_EMPTY} GROUP BY 1, 2, 3, 4, 5"
    )
    for day, agent, bot, language, reasons, n in conn.execute(sql, where_params):
        router.partial(day).empty += n
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.chats -= n
            tally.bot_only -= n

    # Durations of the escalated chats an agent answered, one row each: collected per
    # segment first, so that each value is handed to its slices' lists in one go.
    sql = (
        f"SELECT substr(c.closed_at, 1, 10), {_SEGMENT}, {_FIRST_RESPONSE}, {_RESOLUTION} "
        f"FROM conversations c WHERE {where} AND c.escalated_at IS NOT NULL "
        "AND c.first_agent_reply_at IS NOT NULL"
    )
    durations: dict[tuple[Any, ...], tuple[list[int], list[int]]] = {}
    for day, agent, bot, language, reasons, first, resolution in conn.execute(sql, where_params):
        lists = durations.get((day, agent, bot, language, reasons))
        if lists is None:
            lists = durations[(day, agent, bot, language, reasons)] = ([], [])
        lists[0].append(first)
        lists[1].append(resolution)
    for combination, (firsts, resolutions) in durations.items():
        for tally in router.slices(*combination):
            tally.first_response.extend(firsts)
            tally.resolution.extend(resolutions)


def normalise_question(text: str) -> str:
    """Case-folded, with runs of whitespace as one space and none at the ends."""
    return " ".join(text.casefold().split())


def questions(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """``bot.no_answer`` events on the day they happened, by normalised query."""
    parts, params = time_range("e.created_at", f)
    join = ""
    if f.conversation_filters:
        more, more_params = conversation_conditions(f)
        join = "JOIN conversations c ON c.id = e.conversation_id "
        parts, params = parts + more, params + more_params
    sql = (
        f"SELECT substr(e.created_at, 1, 10), json_extract(e.properties, '$.query') "
        f"FROM events e {join}WHERE e.type = 'bot.no_answer' AND {_where(parts)}"
    )
    # Counted here rather than with GROUP BY: most questions are asked once, and
    # hashing them is cheaper than sorting them.
    raw: Counter[tuple[str, Any]] = Counter(tuple(row) for row in conn.execute(sql, params))
    for (day, query), n in raw.items():
        if isinstance(query, str) and (text := normalise_question(query)):
            router.partial(day).questions[text] += n


def collect(
    conn: sqlite3.Connection, f: ReportFilter, *, period: str = "day", by_day: bool = False
) -> dict[str | None, Partial]:
    """Run every query of the report: one partial (key None), or one per day."""
    router = Router(period, by_day=by_day)
    ratings(conn, f, router)
    surveys(conn, f, router)
    chats(conn, f, router)
    questions(conn, f, router)
    return router.partials
