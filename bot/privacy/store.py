"""The SQL of bot.privacy: a person's conversations, removing their personal data,
reading it out for an export, and the retention purge's batches.

Plain functions taking a ``sqlite3.Connection``: the writing ones run in the writer
thread (``Database.write``) or in the command line's own transaction, the others
in the reader pool. What is removed from which column is ``bot.privacy.inventory``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bot.privacy.inventory import CONVERSATION_CLEARED, PERSONAL_EVENT_PROPERTIES
from bot.privacy.model import Found, Removed, Selector
from bot.types import Status

CHUNK = 400  # ids in one ``IN (...)`` list
ANONYMISED_TOKEN = "'anonymised:' || id"  # never a sha256 hex digest: no token resumes it
PRIVACY_EVENTS = ("privacy.erased", "retention.purged")

_SCRUB = ", ".join(f"'$.{name}', NULL" for name in PERSONAL_EVENT_PROPERTIES)
_HAS_PERSONAL = " OR ".join(
    f"json_extract(properties, '$.{name}') IS NOT NULL" for name in PERSONAL_EVENT_PROPERTIES
)
_CLEAR = ", ".join(f"{column} = NULL" for column in CONVERSATION_CLEARED)
_STILL_PERSONAL = " OR ".join(
    [f"{column} IS NOT NULL" for column in CONVERSATION_CLEARED]
    + [f"token_hash != {ANONYMISED_TOKEN}"]
)


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _column(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> set[Any]:
    return {row[0] for row in conn.execute(sql, params) if row[0] is not None}


def _conversations_with(conn: sqlite3.Connection, column: str, values: Iterable[str]) -> set[str]:
    found: set[str] = set()
    listed = sorted(values)
    for chunk in _chunks(listed):
        found |= _column(
            conn, f"SELECT id FROM conversations WHERE {column} IN ({_marks(len(chunk))})", chunk
        )
    return found


# -- who the request is about ------------------------------------------------------------


def matching_ids(conn: sqlite3.Connection, selector: Selector) -> set[str]:
    """The ids of the person's conversations (README, "Privacy", says which)."""
    value = selector.value
    if selector.kind == "conversation":
        return _column(conn, "SELECT id FROM conversations WHERE id = ?", (value,))
    if selector.kind == "email":
        # Given by the shopper (setUser, the offline form), or written in a message or a
        # rating comment; then the chats with the same shop customer id as the first.
        given = _column(
            conn,
            "SELECT id FROM conversations WHERE lower(visitor_email) = ? "
            "UNION SELECT conversation_id FROM tickets WHERE lower(email) = ?",
            (value, value),
        )
        written = _column(
            conn,
            "SELECT DISTINCT conversation_id FROM messages "
            "WHERE instr(lower(text), ?) > 0 UNION SELECT conversation_id "
            "FROM csat WHERE instr(lower(comment), ?) > 0",
            (value, value),
        )
        customers = _visitor_ids(conn, given)
        return given | written | _conversations_with(conn, "visitor_id", customers)
    # The shop's customer id, then the chats with an e-mail the customer gave in them.
    own = _column(conn, "SELECT id FROM conversations WHERE visitor_id = ?", (value,))
    emails = _emails(conn, own)
    return (
        own
        | _conversations_with(conn, "lower(visitor_email)", emails)
        | {
            cid
            for email in emails
            for cid in _column(
                conn, "SELECT conversation_id FROM tickets WHERE lower(email) = ?", (email,)
            )
        }
    )


def _visitor_ids(conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(ids)):
        found |= _column(
            conn, f"SELECT visitor_id FROM conversations WHERE id IN ({_marks(len(chunk))})", chunk
        )
    return found


def _emails(conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(ids)):
        marks = _marks(len(chunk))
        found |= _column(
            conn,
            f"SELECT lower(visitor_email) FROM conversations WHERE id IN "
            f"({marks}) UNION SELECT lower(email) FROM tickets "
            f"WHERE conversation_id IN ({marks})",
            [*chunk, *chunk],
        )
    return found


def find(conn: sqlite3.Connection, selector: Selector) -> list[tuple[str, str]]:
    """``(id, status)`` of the person's conversations, oldest first."""
    ids = sorted(matching_ids(conn, selector))
    rows: list[tuple[str, str, str]] = []
    for chunk in _chunks(ids):
        rows += conn.execute(
            f"SELECT id, status, created_at FROM conversations WHERE id IN ({_marks(len(chunk))})",
            chunk,
        ).fetchall()
    return [(cid, status) for cid, status, _ in sorted(rows, key=lambda r: (r[2], r[0]))]


def loose_tickets(conn: sqlite3.Connection, selector: Selector) -> list[int]:
    """Offline tickets with the person's e-mail that belong to no conversation."""
    if selector.kind != "email":
        return []
    return sorted(
        _column(
            conn,
            "SELECT id FROM tickets WHERE conversation_id IS NULL AND lower(email) = ?",
            (selector.value,),
        )
    )


def found(conn: sqlite3.Connection, selector: Selector) -> Found:
    """What an erasure would touch (nothing is changed)."""
    conversations = find(conn, selector)
    result = Found(
        conversations=len(conversations),
        open_chats=sum(status != Status.CLOSED for _, status in conversations),
        tickets=len(loose_tickets(conn, selector)),
    )
    ids = [cid for cid, _ in conversations]
    for chunk in _chunks(ids):
        marks = _marks(len(chunk))
        result.messages += conn.execute(
            f"SELECT count(*) FROM messages WHERE conversation_id IN ({marks})", chunk
        ).fetchone()[0]
        result.tickets += conn.execute(
            f"SELECT count(*) FROM tickets WHERE conversation_id IN ({marks})", chunk
        ).fetchone()[0]
        ratings, comments = conn.execute(
            f"SELECT count(rating), count(comment) FROM csat WHERE conversation_id IN ({marks})",
            chunk,
        ).fetchone()
        result.ratings += ratings
        result.comments += comments
        result.anonymised += conn.execute(
            f"SELECT count(*) FROM conversations WHERE anonymised_at IS NOT NULL AND id IN "
            f"({marks}) AND NOT ({_STILL_PERSONAL})",
            chunk,
        ).fetchone()[0]
    return result


# -- removing ------------------------------------------------------------------------------


@contextmanager
def overwriting(conn: sqlite3.Connection) -> Iterator[None]:
    """SQLite's secure_delete while removing: the deleted text is overwritten with
    zeros in the database file instead of lingering in free space."""
    previous = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(previous)}")


def anonymise(conn: sqlite3.Connection, ids: Sequence[str], at: str) -> Removed:
    """Remove the personal data of these conversations (closed ones: see ``bot.privacy.jobs``).

    Messages, pictures (their rows here; the caller removes their files once this is
    committed: :func:`bot.chat.uploads.remove_files`), offline tickets and e-mails to
    the shopper (sent or waiting in the outbox: an erased chat's answer is never sent)
    are deleted, CSAT comments and the personal event
    properties cleared, and the conversation keeps only what the reports count on,
    with the number of messages its shopper wrote. Running it again removes nothing
    more (or whatever was added since). Call it ``with overwriting(conn)``.
    """
    removed = Removed()
    for chunk in _chunks(ids):
        marks = _marks(len(chunk))
        wrote = conn.execute(
            f"SELECT conversation_id, count(*) FROM messages WHERE author = 'shopper' "
            f"AND conversation_id IN ({marks}) GROUP BY conversation_id",
            chunk,
        ).fetchall()
        removed.messages += conn.execute(
            f"DELETE FROM messages WHERE conversation_id IN ({marks})", chunk
        ).rowcount
        removed.events += conn.execute(
            f"UPDATE events SET properties = json_replace(properties, {_SCRUB}) "
            f"WHERE conversation_id IN ({marks}) AND ({_HAS_PERSONAL})",
            chunk,
        ).rowcount
        removed.comments += conn.execute(
            f"UPDATE csat SET comment = NULL WHERE conversation_id IN ({marks}) "
            "AND comment IS NOT NULL",
            chunk,
        ).rowcount
        conn.execute(f"DELETE FROM outbox WHERE conversation_id IN ({marks})", chunk)
        removed.attachment_ids += [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM attachments WHERE conversation_id IN ({marks})", chunk
            )
        ]
        conn.execute(f"DELETE FROM attachments WHERE conversation_id IN ({marks})", chunk)
        removed.ticket_ids += [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM tickets WHERE conversation_id IN ({marks})", chunk
            )
        ]
        removed.tickets += conn.execute(
            f"DELETE FROM tickets WHERE conversation_id IN ({marks})", chunk
        ).rowcount
        conn.executemany(
            "UPDATE conversations SET shopper_messages = "
            "coalesce(shopper_messages, 0) + ? WHERE id = ?",
            [(n, cid) for cid, n in wrote],
        )
        removed.conversations += conn.execute(
            f"UPDATE conversations SET {_CLEAR}, token_hash = {ANONYMISED_TOKEN}, "
            "shopper_messages = coalesce(shopper_messages, 0), "
            "anonymised_at = coalesce(anonymised_at, ?) "
            f"WHERE id IN ({marks}) AND (anonymised_at IS NULL OR {_STILL_PERSONAL})",
            [at, *chunk],
        ).rowcount
    return removed


def delete_tickets(conn: sqlite3.Connection, ticket_ids: Sequence[int]) -> int:
    deleted = 0
    for start in range(0, len(ticket_ids), CHUNK):
        chunk = ticket_ids[start : start + CHUNK]
        conn.execute(f"DELETE FROM outbox WHERE ticket_id IN ({_marks(len(chunk))})", chunk)
        deleted += conn.execute(
            f"DELETE FROM tickets WHERE id IN ({_marks(len(chunk))})", chunk
        ).rowcount
    return deleted


def purge_candidates(conn: sqlite3.Connection, before: str, limit: int) -> list[str]:
    """The oldest ended conversations (ended before ``before``) that still hold personal
    data (read from idx_conversations_retention)."""
    rows = conn.execute(
        "SELECT id FROM conversations INDEXED BY idx_conversations_retention "
        "WHERE closed_at IS NOT NULL AND anonymised_at IS NULL AND closed_at < ? "
        "ORDER BY closed_at LIMIT ?",
        (before, limit),
    )
    return [row[0] for row in rows]


def old_loose_tickets(conn: sqlite3.Connection, before: str) -> list[int]:
    """Offline tickets of no conversation, created before ``before``."""
    return sorted(
        _column(
            conn,
            "SELECT id FROM tickets WHERE conversation_id IS NULL AND created_at < ?",
            (before,),
        )
    )


AUTOCHECKPOINT = 1000  # SQLite's default: a commit that leaves this many WAL pages checkpoints


def commits_checkpoint(conn: sqlite3.Connection, pages: int) -> None:
    """Whether the connection's commits copy the write-ahead log back into the file
    once it holds ``pages`` pages (0: never, someone else does it)."""
    conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}").fetchall()


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy what the write-ahead log holds back into the database file, without
    waiting for anyone (a passive checkpoint: the writer goes on meanwhile)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def is_anonymised(conn: sqlite3.Connection, conversation_id: str) -> bool:
    row = conn.execute(
        "SELECT anonymised_at FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    return row is not None and row[0] is not None


# -- export --------------------------------------------------------------------------------


def _ticket(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "conversation_id": row["conversation_id"],
        "email": row["email"],
        "text": row["text"],
        "status": row["status"],
        "created_at": row["created_at"],
        "done_at": row["done_at"],
    }


EXPORT_FORMAT = "supportbot personal data, version 1"


def export(conn: sqlite3.Connection, selector: Selector, at: str) -> dict[str, Any]:
    """Everything stored about the person: their conversations with the whole
    transcript (agents' internal notes included), ratings, tickets and engagement
    events. Agents appear by role only; nothing of other shoppers is included."""
    conversations = []
    for cid, _ in find(conn, selector):
        c = conn.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
        messages = [
            {
                "id": m["id"],
                "author": m["author"],
                "kind": m["kind"],
                "text": m["text"],
                "created_at": m["created_at"],
            }
            for m in conn.execute(
                "SELECT id, author, kind, text, created_at FROM messages "
                "WHERE conversation_id = ? ORDER BY id",
                (cid,),
            )
        ]
        rating = conn.execute(
            "SELECT rating, comment, nps, asked_at, given_at, updated_at "
            "FROM csat WHERE conversation_id = ?",
            (cid,),
        ).fetchone()
        tickets = [
            _ticket(t)
            for t in conn.execute(
                "SELECT * FROM tickets WHERE conversation_id = ? ORDER BY id", (cid,)
            )
        ]
        events = [
            {
                "type": e["type"],
                "created_at": e["created_at"],
                "actor": e["actor"],
                "properties": json.loads(e["properties"]),
            }
            for e in conn.execute(
                "SELECT type, created_at, actor, properties FROM events "
                "WHERE conversation_id = ? ORDER BY id",
                (cid,),
            )
        ]
        conversations.append(
            {
                "id": c["id"],
                "created_at": c["created_at"],
                "closed_at": c["closed_at"],
                "status": c["status"],
                "language": c["language"],
                "site": c["site"],
                "page": {"url": c["page_url"], "title": c["page_title"]},
                "visitor": {
                    "name": c["visitor_name"],
                    "email": c["visitor_email"],
                    "id": c["visitor_id"],
                },
                "personal_data_removed_at": c["anonymised_at"],
                "messages": messages,
                "rating": dict(rating) if rating is not None and rating["asked_at"] else None,
                "tickets": tickets,
                "events": events,
            }
        )
    loose = loose_tickets(conn, selector)
    tickets = (
        [
            _ticket(t)
            for t in conn.execute(
                f"SELECT * FROM tickets WHERE id IN ({_marks(len(loose))}) ORDER BY id", loose
            )
        ]
        if loose
        else []
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": at,
        "request": {"by": selector.kind, "value": selector.value},
        "conversations": conversations,
        "tickets": tickets,
    }


# -- what the server must hear about ------------------------------------------------------


# The types as literals: that is what lets SQLite use the partial index of just these
# rows (idx_events_privacy, migration 0008); they are our own constants.
_PRIVACY_TYPES = "(" + ", ".join(f"'{name}'" for name in PRIVACY_EVENTS) + ")"


def last_privacy_event(conn: sqlite3.Connection) -> int:
    row = conn.execute(f"SELECT max(id) FROM events WHERE type IN {_PRIVACY_TYPES}").fetchone()
    return int(row[0] or 0)


def privacy_events_after(
    conn: sqlite3.Connection, after: int
) -> list[tuple[int, str, dict[str, Any]]]:
    """Erasures and purges recorded after event ``after`` (by any process)."""
    rows = conn.execute(
        f"SELECT id, type, properties FROM events WHERE type IN {_PRIVACY_TYPES} AND id > ? "
        "ORDER BY id",
        (after,),
    )
    return [(row[0], row[1], json.loads(row[2])) for row in rows]
