"""The reports' SQL: read-only, typed queries (a reader connection or the CLI's).

Each query of the report reads one index range and groups it in SQLite: rows of
the range are grouped by (day, agent, bot-only, language, escalation reasons, ...)
and come back as counts, so Python sees groups rather than rows. Only the
durations of answered escalations come back one by one, because medians need the
values. ``bot.reports.queries`` counts the rows into partials; the README
("Reports") defines every figure. ``test_report_queries_use_indexes`` checks that
the report's and the log's queries read index ranges, never whole tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from typing import Any

from bot.reports.filters import ReportFilter

# Each grouped row starts with the day and the segment of its conversations:
# (day, agent id, bot-only, language, escalation reasons as JSON).
RatingRow = tuple[str, int | None, int, str, str | None, int, int]  # rating, count
SurveyRow = tuple[str, int | None, int, str, str | None, int, int]  # answered, count
NpsRow = tuple[str, int, int]  # day, score, count
ChatRow = tuple[str, int | None, int, str, str | None, int, int]  # missed, count
EmptyRow = tuple[str, int | None, int, str, str | None, int]  # count
DurationRow = tuple[str, int | None, int, str, str | None, int, int]  # first response, resolution
QuestionRow = tuple[str, Any]  # day, the query as stored (any JSON value)
LogSqlRow = tuple[
    str,
    str,
    str | None,
    int,
    str | None,
    int | None,
    int | None,
    int,
    str,
    float | None,
    str | None,
]

BOT_ONLY_SQL = "(c.escalated_at IS NULL AND c.last_agent_id IS NULL)"
# A CSAT row ``s`` and its conversation ``c``.
CSAT_JOIN = "JOIN conversations c ON c.id = s.conversation_id"
CSAT_COLUMNS = ("rating", "comment", "nps", "asked_at", "given_at", "updated_at", "mood")

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

_FIRST_DAY_SQL = (
    "SELECT min(first) FROM ("
    "SELECT min(closed_at) AS first FROM conversations WHERE closed_at IS NOT NULL "
    "UNION ALL SELECT min(asked_at) FROM csat WHERE asked_at IS NOT NULL "
    "UNION ALL SELECT min(given_at) FROM csat WHERE given_at IS NOT NULL "
    "UNION ALL SELECT min(created_at) FROM events WHERE type = 'bot.no_answer') AS firsts"
)


# -- the filter as SQL ------------------------------------------------------------


def time_range(column: str, f: ReportFilter) -> tuple[list[str], list[Any]]:
    """``column`` within the filter's days; at least ``IS NOT NULL``."""
    parts: list[str] = []
    params: list[Any] = []
    if f.start is not None:
        parts.append(f"{column} >= ?")
        params.append(f.start)
    if f.end is not None:
        parts.append(f"{column} < ?")
        params.append(f.end)
    if not parts:
        parts.append(f"{column} IS NOT NULL")
    return parts, params


def conversation_conditions(
    f: ReportFilter, *, rating_column: str | None = None
) -> tuple[list[str], list[Any]]:
    """Conditions on the conversation ``c`` (and its CSAT row) for the filters.

    ``rating_column`` names the CSAT rating when the query already joins the
    CSAT row; otherwise the rating filter looks the row up.
    """
    parts: list[str] = []
    params: list[Any] = []
    if f.agent_id is not None:
        parts.append("c.last_agent_id = ?")
        params.append(f.agent_id)
    if f.handled == "bot":
        parts.append(BOT_ONLY_SQL)
    elif f.handled == "escalated":
        parts.append(f"NOT {BOT_ONLY_SQL}")
    if f.language is not None:
        parts.append("c.language = ?")
        params.append(f.language)
    if f.rating is not None:
        if rating_column is not None:
            parts.append(f"{rating_column} = ?")
        else:
            parts.append(
                "EXISTS (SELECT 1 FROM csat r WHERE r.conversation_id = c.id AND r.rating = ?)"
            )
        params.append(f.rating)
    return parts, params


def _where(parts: list[str]) -> str:
    return " AND ".join(parts)


def _rated(f: ReportFilter, column: str) -> tuple[list[str], list[Any]]:
    """CSAT rows ``s`` with ``column`` in the range, and their conversations filtered."""
    parts, params = time_range(column, f)
    more, more_params = conversation_conditions(f, rating_column="s.rating")
    return parts + more, params + more_params


def _closed(f: ReportFilter) -> tuple[str, list[Any]]:
    """Conversations ``c`` that ended in the range, filtered."""
    parts, params = time_range("c.closed_at", f)
    more, more_params = conversation_conditions(f)
    return _where(parts + more), params + more_params


# -- the report's grouped rows ----------------------------------------------------


def rating_groups(conn: sqlite3.Connection, f: ReportFilter) -> Iterator[RatingRow]:
    """Ratings on the day they were first given (``given_at``), by segment and rating."""
    parts, params = _rated(f, "s.given_at")
    sql = (
        f"SELECT substr(s.given_at, 1, 10), {_SEGMENT}, s.rating, count(*) "
        f"FROM csat s {CSAT_JOIN} "
        f"WHERE s.rating BETWEEN 1 AND 5 AND {_where(parts)} "
        "GROUP BY 1, 2, 3, 4, 5, 6"
    )
    return conn.execute(sql, params)


def survey_groups(conn: sqlite3.Connection, f: ReportFilter) -> Iterator[SurveyRow]:
    """Surveys on the day they were asked (``asked_at``), by segment and whether answered."""
    parts, params = _rated(f, "s.asked_at")
    sql = (
        f"SELECT substr(s.asked_at, 1, 10), {_SEGMENT}, s.rating IS NOT NULL, count(*) "
        f"FROM csat s {CSAT_JOIN} "
        f"WHERE {_where(parts)} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    return conn.execute(sql, params)


def nps_groups(conn: sqlite3.Connection, f: ReportFilter) -> Iterator[NpsRow]:
    """NPS answers on the day their survey was asked, by score (joined to the
    conversations only when a filter needs them)."""
    parts, params = time_range("s.asked_at", f)
    join = ""
    if f.conversation_filters:
        join = f"{CSAT_JOIN} "
        parts, params = _rated(f, "s.asked_at")
    sql = (
        f"SELECT substr(s.asked_at, 1, 10), s.nps, count(*) FROM csat s {join}"
        f"WHERE s.nps IS NOT NULL AND {_where(parts)} GROUP BY 1, 2"
    )
    return conn.execute(sql, params)


def chat_groups(conn: sqlite3.Connection, f: ReportFilter) -> Iterator[ChatRow]:
    """Chats on the day they ended (``closed_at``), by segment and whether missed
    (escalated, never answered by an agent)."""
    where, params = _closed(f)
    sql = (
        f"SELECT substr(c.closed_at, 1, 10), {_SEGMENT}, "
        "c.escalated_at IS NOT NULL AND c.first_agent_reply_at IS NULL, count(*) "
        f"FROM conversations c WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    return conn.execute(sql, params)


def empty_chat_groups(conn: sqlite3.Connection, f: ReportFilter) -> Iterator[EmptyRow]:
    """The bot-only chats of :func:`chat_groups` in which the shopper never wrote.

    Counted apart, so that the per-row subquery stays out of the big GROUP BY.
    """
    where, params = _closed(f)
    sql = (
        f"SELECT substr(c.closed_at, 1, 10), {_SEGMENT}, count(*) FROM conversations c "
        f"WHERE {where} AND {_EMPTY} GROUP BY 1, 2, 3, 4, 5"
    )
    return conn.execute(sql, params)


def answered_durations(conn: sqlite3.Connection, f: ReportFilter) -> Iterator[DurationRow]:
    """First response and resolution times (ms) of the escalated chats an agent
    answered, one row per chat, on the day they ended."""
    where, params = _closed(f)
    sql = (
        f"SELECT substr(c.closed_at, 1, 10), {_SEGMENT}, {_FIRST_RESPONSE}, {_RESOLUTION} "
        f"FROM conversations c WHERE {where} AND c.escalated_at IS NOT NULL "
        "AND c.first_agent_reply_at IS NOT NULL"
    )
    return conn.execute(sql, params)


def unanswered(conn: sqlite3.Connection, f: ReportFilter) -> Iterator[QuestionRow]:
    """The day and query of every ``bot.no_answer`` event, one row each (not grouped:
    most questions are asked once, and hashing them in Python beats sorting them)."""
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
    return map(tuple, conn.execute(sql, params))


def first_day(conn: sqlite3.Connection) -> date | None:
    """The first day anything in the report is counted on (None for an empty database)."""
    first = conn.execute(_FIRST_DAY_SQL).fetchone()[0]
    return date.fromisoformat(first[:10]) if first else None


def agent_names(conn: sqlite3.Connection) -> dict[int, str]:
    return {row[0]: row[1] for row in conn.execute("SELECT id, name FROM agents")}


# -- the CSAT log and a conversation's detail -------------------------------------


def _log_conditions(f: ReportFilter) -> tuple[list[str], list[Any]]:
    parts, params = _rated(f, "s.given_at")
    return ["s.rating BETWEEN 1 AND 5", *parts], params


def log_rows(
    conn: sqlite3.Connection, f: ReportFilter, limit: int, before: tuple[str, str] | None = None
) -> Iterator[LogSqlRow]:
    """Up to ``limit`` ratings, newest first (by ``given_at``, then conversation id),
    older than ``before`` (a ``given_at`` and a conversation id) when given: the
    conversation id, ``given_at``, ``updated_at``, rating, comment, NPS, the last
    agent's id, bot-only, language, mood and escalation reasons (JSON)."""
    parts, params = _log_conditions(f)
    if before is not None:
        given_at, conversation_id = before
        parts.append("(s.given_at < ? OR (s.given_at = ? AND s.conversation_id < ?))")
        params += [given_at, given_at, conversation_id]
    sql = (
        "SELECT s.conversation_id, s.given_at, s.updated_at, s.rating, s.comment, s.nps, "
        f"c.last_agent_id, {BOT_ONLY_SQL}, c.language, s.mood, c.escalation_reasons "
        f"FROM csat s {CSAT_JOIN} "
        f"WHERE {_where(parts)} "
        "ORDER BY s.given_at DESC, s.conversation_id DESC LIMIT ?"
    )
    return conn.execute(sql, [*params, limit])


def log_total(conn: sqlite3.Connection, f: ReportFilter) -> int:
    """The number of ratings in the log, over all pages."""
    parts, params = _log_conditions(f)
    total: int = conn.execute(
        f"SELECT count(*) FROM csat s {CSAT_JOIN} WHERE {_where(parts)}",
        params,
    ).fetchone()[0]
    return total


def csat_row(conn: sqlite3.Connection, conversation_id: str) -> dict[str, Any] | None:
    """The conversation's CSAT row (:data:`CSAT_COLUMNS`), or None."""
    row = conn.execute(
        f"SELECT {', '.join(CSAT_COLUMNS)} FROM csat WHERE conversation_id = ?",
        (conversation_id,),
    ).fetchone()
    return dict(zip(CSAT_COLUMNS, row, strict=True)) if row is not None else None
