"""Raw rows of a table, streamed for ``supportbot export`` (typed queries).

Only the two tables the command offers, with a fixed list of columns each; the
date range filters on one time column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

CHUNK = 2000

# table -> (columns, the time column the date range applies to, order, JSON columns)
SOURCES: dict[str, tuple[tuple[str, ...], str, str, tuple[str, ...]]] = {
    "events": (
        ("id", "created_at", "type", "conversation_id", "actor", "agent_id", "properties"),
        "created_at",
        "id",
        ("properties",),
    ),
    "csat": (
        (
            "conversation_id",
            "asked_at",
            "given_at",
            "updated_at",
            "rating",
            "comment",
            "nps",
            "agent_id",
            "bot_only",
            "language",
            "mood",
            "escalation_reasons",
        ),
        "asked_at",
        "asked_at, conversation_id",
        ("escalation_reasons",),
    ),
}


def _where(column: str, start: str | None, end: str | None) -> tuple[str, list[str]]:
    parts, params = [], []
    if start:
        parts.append(f"{column} >= ?")
        params.append(start)
    if end:
        parts.append(f"{column} < ?")
        params.append(end)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def rows(
    conn: sqlite3.Connection, what: str, start: str | None, end: str | None
) -> tuple[int, Iterator[list[tuple[Any, ...]]]]:
    """How many rows there are, and the rows in chunks."""
    columns, time_column, order, _ = SOURCES[what]
    where, params = _where(time_column, start, end)
    total = conn.execute(f"SELECT count(*) FROM {what}{where}", params).fetchone()[0]

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        cursor = conn.execute(
            f"SELECT {', '.join(columns)} FROM {what}{where} ORDER BY {order}", params
        )
        while chunk := cursor.fetchmany(CHUNK):
            yield [tuple(row) for row in chunk]

    return total, chunks()
