"""The ``events`` table: engagement events, appended one row each.

``bot.events`` defines the events; they come here as rows, so that the store
(the bottom layer) needs nothing from above it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from bot.store.db import Database

# conversation id, actor, agent id, type, UTC time, the event's own fields as JSON
EventRow = tuple[str | None, str, int | None, str, str, str]

INSERT_SQL = (
    "INSERT INTO events (conversation_id, actor, agent_id, type, created_at, properties) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def insert_events(conn: sqlite3.Connection, rows: Iterable[EventRow]) -> None:
    """Store the rows in the caller's transaction."""
    conn.executemany(INSERT_SQL, rows)


def submit_event(db: Database, row: EventRow) -> None:
    """Queue the row without waiting: the writer's next batch stores it."""
    db.submit(INSERT_SQL, row)
