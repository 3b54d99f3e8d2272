"""Offline tickets and the e-mail outbox: typed queries (writer thread or reader pool).

A ticket is a conversation the team answers in writing: the shopper left an
e-mail and a message (``source = 'form'``) or left the queue before anyone was
free (``'left_queue'``). It is ``open`` until an agent answers it, ``answered``
until the shopper writes again (``open`` once more) or an agent marks it
``done``. An answer to a ticket with an e-mail also waits in ``outbox`` until the
mail server has taken it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

TICKET_STATUSES = ("open", "answered", "done")
PAGE_SIZE = 50

# The newest outbox row of each ticket: what the console shows of its e-mail.
_WITH_DELIVERY = """
SELECT t.*, o.status AS mail_status, o.attempts AS mail_attempts, o.last_error AS mail_error,
       o.next_attempt_at AS mail_next_at
FROM tickets t
LEFT JOIN outbox o ON o.id = (SELECT max(id) FROM outbox WHERE ticket_id = t.id)
"""


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    conversation_id: str | None
    email: str | None
    text: str | None
    status: str
    source: str
    created_at: str
    updated_at: str | None
    answered_at: str | None
    answered_by: int | None
    done_at: str | None
    done_by: int | None
    mail_status: str | None = None  # pending | sent | failed (None: nothing sent by e-mail)
    mail_attempts: int = 0
    mail_error: str | None = None
    mail_next_at: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Ticket:
        keys = row.keys()
        return cls(
            id=row["id"],
            conversation_id=row["conversation_id"],
            email=row["email"],
            text=row["text"],
            status=row["status"],
            source=row["source"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            answered_at=row["answered_at"],
            answered_by=row["answered_by"],
            done_at=row["done_at"],
            done_by=row["done_by"],
            mail_status=row["mail_status"] if "mail_status" in keys else None,
            mail_attempts=(row["mail_attempts"] or 0) if "mail_attempts" in keys else 0,
            mail_error=row["mail_error"] if "mail_error" in keys else None,
            mail_next_at=row["mail_next_at"] if "mail_next_at" in keys else None,
        )

    def public(self) -> dict[str, Any]:
        """The ticket as the console gets it."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "email": self.email,
            "text": self.text,
            "status": self.status,
            "source": self.source,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "answered_at": self.answered_at,
            "mail": None
            if self.mail_status is None
            else {
                "status": self.mail_status,
                "attempts": self.mail_attempts,
                "error": self.mail_error,
                "next_attempt_at": self.mail_next_at,
            },
        }


def create_ticket(
    conn: sqlite3.Connection,
    conversation_id: str,
    email: str | None,
    text: str | None,
    source: str,
    at: str,
) -> int:
    cursor = conn.execute(
        "INSERT INTO tickets (conversation_id, email, text, status, source, created_at, "
        "updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?)",
        (conversation_id, email, text, source, at, at),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def get_ticket(conn: sqlite3.Connection, ticket_id: int) -> Ticket | None:
    row = conn.execute(_WITH_DELIVERY + " WHERE t.id = ?", (ticket_id,)).fetchone()
    return Ticket.from_row(row) if row else None


def live_ticket(conn: sqlite3.Connection, conversation_id: str) -> Ticket | None:
    """The conversation's ticket that is not done yet, if any."""
    row = conn.execute(
        _WITH_DELIVERY + " WHERE t.conversation_id = ? AND t.status != 'done' "
        "ORDER BY t.id DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return Ticket.from_row(row) if row else None


def latest_ticket(conn: sqlite3.Connection, conversation_id: str) -> Ticket | None:
    """The conversation's newest ticket, whatever its status."""
    row = conn.execute(
        _WITH_DELIVERY + " WHERE t.conversation_id = ? ORDER BY t.id DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return Ticket.from_row(row) if row else None


def ticket_page(
    conn: sqlite3.Connection, after_id: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Ticket], int]:
    """Tickets not done yet, oldest first, ``limit`` at a time (those after ``after_id``),
    and how many there are in all."""
    total = conn.execute("SELECT count(*) FROM tickets WHERE status != 'done'").fetchone()[0]
    rows = conn.execute(
        _WITH_DELIVERY + " WHERE t.status != 'done' AND t.id > ? ORDER BY t.id LIMIT ?",
        (after_id or 0, limit),
    ).fetchall()
    return [Ticket.from_row(row) for row in rows], int(total)


def set_ticket_status(
    conn: sqlite3.Connection, ticket_id: int, status: str, at: str, agent_id: int | None = None
) -> bool:
    """open -> answered (an agent answered), answered -> open (the shopper wrote again),
    open/answered -> done. False when the ticket is missing or already done."""
    if status not in TICKET_STATUSES:
        raise ValueError(status)
    if status == "answered":
        sql = (
            "UPDATE tickets SET status = 'answered', answered_at = ?, answered_by = ?, "
            "updated_at = ? WHERE id = ? AND status != 'done'"
        )
        params: tuple[Any, ...] = (at, agent_id, at, ticket_id)
    elif status == "done":
        sql = (
            "UPDATE tickets SET status = 'done', done_at = ?, done_by = ?, updated_at = ? "
            "WHERE id = ? AND status != 'done'"
        )
        params = (at, agent_id, at, ticket_id)
    else:
        sql = "UPDATE tickets SET status = 'open', updated_at = ? WHERE id = ? AND status != 'done'"
        params = (at, ticket_id)
    return conn.execute(sql, params).rowcount == 1


# -- the e-mail outbox --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mail:
    id: int
    ticket_id: int | None
    conversation_id: str | None
    to_email: str
    subject: str
    body: str
    attempts: int


def queue_mail(
    conn: sqlite3.Connection,
    ticket_id: int,
    conversation_id: str,
    message_id: int,
    to_email: str,
    subject: str,
    body: str,
    at: str,
) -> int:
    cursor = conn.execute(
        "INSERT INTO outbox (ticket_id, conversation_id, message_id, to_email, subject, body, "
        "status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, "
        "?, ?)",
        (ticket_id, conversation_id, message_id, to_email, subject, body, at, at),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def due_mail(conn: sqlite3.Connection, at: str, limit: int = 20) -> list[Mail]:
    rows = conn.execute(
        "SELECT id, ticket_id, conversation_id, to_email, subject, body, attempts FROM outbox "
        "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
        (at, limit),
    ).fetchall()
    return [Mail(**dict(row)) for row in rows]


def next_mail_at(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(
        "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'"
    ).fetchone()
    return row[0] if row else None


def mail_sent(conn: sqlite3.Connection, mail_id: int, at: str) -> None:
    conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
        "last_error = NULL WHERE id = ?",
        (at, mail_id),
    )


def mail_failed(conn: sqlite3.Connection, mail_id: int, error: str, retry_at: str | None) -> None:
    """A failed attempt: try again at ``retry_at``, or give up (None)."""
    conn.execute(
        "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
        "next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
        ("pending" if retry_at else "failed", error[:500], retry_at, mail_id),
    )
