"""Canned replies: the shortcuts agents type in the console (typed queries)."""

from __future__ import annotations

import sqlite3
from typing import Any

from bot.store.clock import now_iso


def list_canned(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, shortcut, text FROM canned_replies ORDER BY shortcut")
    return [dict(row) for row in rows]


def add_canned(
    conn: sqlite3.Connection, shortcut: str, text: str, agent_id: int | None
) -> dict[str, Any]:
    cursor = conn.execute(
        "INSERT INTO canned_replies (shortcut, text, created_by, created_at) VALUES (?, ?, ?, ?)",
        (shortcut, text, agent_id, now_iso()),
    )
    return {"id": cursor.lastrowid, "shortcut": shortcut, "text": text}


def delete_canned(conn: sqlite3.Connection, canned_id: int) -> bool:
    return conn.execute("DELETE FROM canned_replies WHERE id = ?", (canned_id,)).rowcount == 1
