"""Offline tickets (a shopper's e-mail and message) and canned replies."""

from __future__ import annotations

import sqlite3
from typing import Any

from bot import events as ev
from bot.store.clock import now_iso


def create_ticket(conn: sqlite3.Connection, conversation_id: str | None, email: str,
                  text: str) -> int:
    at = now_iso()
    cursor = conn.execute(
        "INSERT INTO tickets (conversation_id, email, text, status, created_at) "
        "VALUES (?, ?, ?, 'open', ?)",
        (conversation_id, email, text, at),
    )
    ticket_id = int(cursor.lastrowid or 0)
    ev.insert_events(conn, ev.TicketCreated(conversation_id=conversation_id, actor="shopper",
                                            created_at=at, ticket_id=ticket_id))
    return ticket_id


def open_tickets(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, conversation_id, email, text, created_at FROM tickets "
        "WHERE status = 'open' ORDER BY created_at"
    ).fetchall()
    return [dict(row) for row in rows]


def close_ticket(conn: sqlite3.Connection, ticket_id: int, agent_id: int) -> bool:
    cursor = conn.execute(
        "UPDATE tickets SET status = 'done', done_at = ?, done_by = ? "
        "WHERE id = ? AND status = 'open'",
        (now_iso(), agent_id, ticket_id),
    )
    return cursor.rowcount == 1


def list_canned(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, shortcut, text FROM canned_replies ORDER BY shortcut")
    return [dict(row) for row in rows]


def add_canned(conn: sqlite3.Connection, shortcut: str, text: str,
               agent_id: int | None) -> dict[str, Any]:
    cursor = conn.execute(
        "INSERT INTO canned_replies (shortcut, text, created_by, created_at) VALUES (?, ?, ?, ?)",
        (shortcut, text, agent_id, now_iso()),
    )
    return {"id": cursor.lastrowid, "shortcut": shortcut, "text": text}


def delete_canned(conn: sqlite3.Connection, canned_id: int) -> bool:
    return conn.execute("DELETE FROM canned_replies WHERE id = ?", (canned_id,)).rowcount == 1
