"""Small figures the service shows live (not the reports): how fast the team answers."""

from __future__ import annotations

import sqlite3
import statistics


def first_reply_seconds(conn: sqlite3.Connection, since: str, limit: int = 500) -> float | None:
    """The median time from hand-over to the first agent reply of the chats whose first
    reply came after ``since`` (the latest ``limit`` of them); None without any."""
    rows = conn.execute(
        "SELECT (julianday(first_agent_reply_at) - julianday(escalated_at)) * 86400.0 "
        "FROM conversations WHERE first_agent_reply_at >= ? AND escalated_at IS NOT NULL "
        "ORDER BY first_agent_reply_at DESC LIMIT ?",
        (since, limit),
    ).fetchall()
    values = [max(0.0, row[0]) for row in rows if row[0] is not None]
    return statistics.median(values) if values else None
