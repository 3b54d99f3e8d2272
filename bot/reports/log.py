"""The CSAT log (one row per rating, newest first, paged by a cursor) and transcripts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from bot.mood.scale import MoodScale
from bot.reports import store
from bot.reports.filters import LOW_RATING, FilterError, ReportFilter
from bot.reports.tally import reasons_of
from bot.store import conversations as convs
from bot.wire import DEFAULT_SCALE, message_public

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_SEPARATOR = "~"


@dataclass(frozen=True, slots=True)
class LogRow:
    conversation_id: str
    given_at: str  # first rated
    updated_at: str | None  # last changed (rating, comment or NPS)
    rating: int
    comment: str | None
    nps: int | None
    agent_id: int | None  # the agent who last handled the chat
    agent: str | None
    handled: str  # bot | escalated
    language: str
    mood: float | None  # the conversation's mood when it was rated (-1 .. 1)
    escalation_reasons: tuple[str, ...]

    @property
    def low(self) -> bool:
        return self.rating <= LOW_RATING

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "escalation_reasons": list(self.escalation_reasons),
            "low": self.low,
        }


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: tuple[LogRow, ...]
    total: int  # rows matching the filter, over all pages
    next_cursor: str | None  # pass as ``cursor`` for the next (older) page

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "total": self.total,
            "next_cursor": self.next_cursor,
        }


def parse_cursor(cursor: str) -> tuple[str, str]:
    given_at, sep, conversation_id = cursor.partition(CURSOR_SEPARATOR)
    if not sep or len(given_at) != 24 or not conversation_id or len(conversation_id) > 64:
        raise FilterError("cursor: not a cursor from a previous page")
    return given_at, conversation_id


def _rows(
    conn: sqlite3.Connection, f: ReportFilter, limit: int, cursor: str | None
) -> list[LogRow]:
    before = parse_cursor(cursor) if cursor is not None else None
    names = store.agent_names(conn)
    rows = store.log_rows(conn, f, limit, before)
    return [
        LogRow(
            conversation_id=cid,
            given_at=given,
            updated_at=updated,
            rating=rating,
            comment=comment,
            nps=nps,
            agent_id=agent,
            agent=names.get(agent) if agent else None,
            handled="bot" if bot else "escalated",
            language=language,
            mood=mood,
            escalation_reasons=reasons_of(reasons),
        )
        for cid, given, updated, rating, comment, nps, agent, bot, language, mood, reasons in rows
    ]


def csat_log(
    conn: sqlite3.Connection,
    f: ReportFilter,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> LogPage:
    """One page of ratings, newest first (by ``given_at``, then conversation id)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterError(f"limit: expected 1 to {MAX_LIMIT}, got {limit}")
    rows = _rows(conn, f, limit + 1, cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    total = store.log_total(conn, f)
    last = rows[-1] if rows else None
    return LogPage(
        rows=tuple(rows),
        total=total,
        next_cursor=f"{last.given_at}{CURSOR_SEPARATOR}{last.conversation_id}"
        if more and last
        else None,
    )


def log_chunk(
    conn: sqlite3.Connection, f: ReportFilter, cursor: str | None = None, chunk: int = 1000
) -> tuple[list[LogRow], str | None]:
    """A chunk of the log and the cursor of the next one (None after the last).

    The HTTP export reads one chunk per thread-pool call, so a long export never
    holds a reader thread or the event loop for long.
    """
    rows = _rows(conn, f, chunk, cursor)
    if len(rows) < chunk:
        return rows, None
    return rows, f"{rows[-1].given_at}{CURSOR_SEPARATOR}{rows[-1].conversation_id}"


def iter_csat_log(
    conn: sqlite3.Connection, f: ReportFilter, *, chunk: int = 1000
) -> Iterator[LogRow]:
    """Every row of the log, newest first."""
    cursor: str | None = None
    while True:
        rows, cursor = log_chunk(conn, f, cursor, chunk)
        yield from rows
        if cursor is None:
            return


def conversation_detail(
    conn: sqlite3.Connection, conversation_id: str, scale: MoodScale = DEFAULT_SCALE
) -> dict[str, Any] | None:
    """A conversation for the dashboard: its facts, its rating and the whole transcript
    including agents' notes (moods labelled on ``scale``)."""
    conversation = convs.get_conversation(conn, conversation_id)
    if conversation is None:
        return None
    names = store.agent_names(conn)
    csat = store.csat_row(conn, conversation_id)
    messages = convs.transcript(conn, conversation_id, include_notes=True)
    anonymised_at = convs.anonymised_at(conn, conversation_id)
    agent_id = conversation.last_agent_id
    bot_only = conversation.escalated_at is None and agent_id is None
    return {
        "conversation": {
            "id": conversation.id,
            "status": conversation.status,
            "language": conversation.language,
            "handled": "bot" if bot_only else "escalated",
            "agent": {"id": agent_id, "name": names.get(agent_id)} if agent_id else None,
            "created_at": conversation.created_at,
            "escalated_at": conversation.escalated_at,
            "escalation_reasons": list(conversation.escalation_reasons),
            "first_agent_reply_at": conversation.first_agent_reply_at,
            "closed_at": conversation.closed_at,
            "closed_by": conversation.closed_by,
            "close_reason": conversation.close_reason,
            "mood": conversation.mood.mood,
            "mood_label": scale.label(conversation.mood.mood),
            "page": {"url": conversation.page_url, "title": conversation.page_title},
            "visitor": {"name": conversation.visitor_name, "email": conversation.visitor_email},
            # set when retention or an erasure removed the personal data (bot.privacy)
            "personal_data_removed_at": anonymised_at,
        },
        "csat": csat,
        "messages": [
            message_public(
                m, names.get(m.agent_id) if m.agent_id else None, for_agents=True, scale=scale
            )
            for m in messages
        ],
    }
