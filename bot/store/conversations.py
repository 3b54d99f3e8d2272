"""Queries over conversations and messages.

Plain functions taking a ``sqlite3.Connection``: the writer thread runs the
writing ones (``Database.write``), the reader pool the others (``Database.read``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from bot.store.clock import now_iso
from bot.types import ConversationMood, Status


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    status: Status
    language: str
    lang_setting: str
    created_at: str
    updated_at: str
    last_activity_at: str | None
    closed_at: str | None
    closed_by: str | None
    close_reason: str | None
    escalated_at: str | None
    escalation_reasons: tuple[str, ...]
    queued_at: str | None
    agent_id: int | None
    last_agent_id: int | None
    first_agent_reply_at: str | None
    page_url: str | None
    page_title: str | None
    visitor_name: str | None
    visitor_email: str | None
    site: str | None
    mood: ConversationMood = field(default_factory=ConversationMood)

    @property
    def closed(self) -> bool:
        return self.status == Status.CLOSED

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Conversation:
        return cls(
            id=row["id"],
            status=Status(row["status"]),
            language=row["language"],
            lang_setting=row["lang_setting"] or "auto",
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            last_activity_at=row["last_activity_at"],
            closed_at=row["closed_at"],
            closed_by=row["closed_by"],
            close_reason=row["close_reason"],
            escalated_at=row["escalated_at"],
            escalation_reasons=tuple(json.loads(row["escalation_reasons"] or "[]")),
            queued_at=row["queued_at"],
            agent_id=row["agent_id"],
            last_agent_id=row["last_agent_id"],
            first_agent_reply_at=row["first_agent_reply_at"],
            page_url=row["page_url"],
            page_title=row["page_title"],
            visitor_name=row["visitor_name"],
            visitor_email=row["visitor_email"],
            site=row["site"],
            mood=ConversationMood(
                mood=row["mood"] or 0.0,
                messages=row["mood_messages"] or 0,
                failures_in_row=row["failures_in_row"] or 0,
            ),
        )


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conversation_id: str
    client_id: str | None
    author: str
    agent_id: int | None
    kind: str
    text: str
    created_at: str
    meta: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        return cls(
            id=row["id"],
            conversation_id=row["conversation_id"],
            client_id=row["client_id"],
            author=row["author"],
            agent_id=row["agent_id"],
            kind=row["kind"],
            text=row["text"],
            created_at=row["created_at"],
            meta=json.loads(row["meta"] or "{}"),
        )


# JSON columns (a message's meta, an event's properties): compact, text as it is. One
# encoder made once: ``json.dumps`` with options makes a new one at every call.
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# -- conversations ------------------------------------------------------------


def insert_conversation(conn: sqlite3.Connection, **values: Any) -> Conversation:
    at = values.setdefault("created_at", now_iso())
    values.setdefault("updated_at", at)
    values.setdefault("last_activity_at", at)
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO conversations ({columns}) VALUES ({marks})", tuple(values.values()))
    conversation = get_conversation(conn, values["id"])
    assert conversation is not None
    return conversation


def get_conversation(conn: sqlite3.Connection, conversation_id: str) -> Conversation | None:
    row = conn.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    return Conversation.from_row(row) if row else None


def conversation_and_resent(
    conn: sqlite3.Connection, conversation_id: str, client_id: str, author: str
) -> tuple[Conversation | None, int | None]:
    """The conversation and, when this author (not an agent) sent a message with this
    client id already, that message's id: a turn's two reads. On PostgreSQL they are
    one statement (one round trip); on SQLite two, which cost half as much as one with
    a scalar subquery (20 against 42 us of CPU on SQLite 3.40). Both use the same
    index as ``find_message_by_client_id``, which is not called here: it reads the
    whole row, where the id alone comes from the index (10 against 16 us)."""
    if isinstance(conn, sqlite3.Connection):
        conversation = get_conversation(conn, conversation_id)
        if conversation is None:
            return None, None
        found = conn.execute(
            "SELECT id FROM messages WHERE conversation_id = ? AND author = ? "
            "AND ifnull(agent_id, 0) = 0 AND client_id = ?",
            (conversation_id, author, client_id),
        ).fetchone()
        return conversation, (found[0] if found else None)
    row = conn.execute(
        "SELECT c.*, (SELECT m.id FROM messages AS m WHERE m.conversation_id = c.id "
        "AND m.author = ? AND ifnull(m.agent_id, 0) = 0 AND m.client_id = ?) AS resent_id "
        "FROM conversations AS c WHERE c.id = ?",
        (author, client_id, conversation_id),
    ).fetchone()
    if row is None:
        return None, None
    return Conversation.from_row(row), row["resent_id"]


def anonymised_at(conn: sqlite3.Connection, conversation_id: str) -> str | None:
    """When the conversation's personal data was removed (bot.privacy), or None."""
    row = conn.execute(
        "SELECT anonymised_at FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    return row[0] if row is not None else None


def find_by_token_hash(conn: sqlite3.Connection, token_hash: str) -> Conversation | None:
    row = conn.execute("SELECT * FROM conversations WHERE token_hash = ?", (token_hash,)).fetchone()
    return Conversation.from_row(row) if row else None


VISITOR_COLUMNS = ("visitor_name", "visitor_email", "visitor_id")


def set_visitor(conn: sqlite3.Connection, conversation_id: str, values: dict[str, str]) -> None:
    """Who the shopper is (``visitor_name``, ``visitor_email``, ``visitor_id``)."""
    columns = [c for c in VISITOR_COLUMNS if c in values]
    if not columns:
        return
    assignments = ", ".join(f"{c} = ?" for c in columns)
    conn.execute(
        f"UPDATE conversations SET {assignments}, updated_at = ? WHERE id = ?",
        (*(values[c] for c in columns), now_iso(), conversation_id),
    )


def record_turn(
    conn: sqlite3.Connection, conversation_id: str, at: str, language: str, mood: ConversationMood
) -> None:
    """A shopper message was judged: activity time, language and the mood state."""
    conn.execute(
        "UPDATE conversations SET last_activity_at = ?, language = ?, mood = ?, "
        "mood_messages = ?, failures_in_row = ?, updated_at = ? WHERE id = ?",
        (at, language, mood.mood, mood.messages, mood.failures_in_row, at, conversation_id),
    )


def set_mood(conn: sqlite3.Connection, conversation_id: str, mood: ConversationMood) -> None:
    conn.execute(
        "UPDATE conversations SET mood = ?, mood_messages = ?, failures_in_row = ?, "
        "updated_at = ? WHERE id = ?",
        (mood.mood, mood.messages, mood.failures_in_row, now_iso(), conversation_id),
    )


def record_agent_reply(conn: sqlite3.Connection, conversation_id: str, at: str) -> None:
    """An agent wrote to the shopper: activity time, and the first reply's time once."""
    conn.execute(
        "UPDATE conversations SET last_activity_at = ?, updated_at = ?, "
        "first_agent_reply_at = coalesce(first_agent_reply_at, ?) WHERE id = ?",
        (at, at, at, conversation_id),
    )


def conversations_in_status(conn: sqlite3.Connection, *statuses: str) -> list[Conversation]:
    marks = ", ".join("?" for _ in statuses)
    rows = conn.execute(
        f"SELECT * FROM conversations WHERE status IN ({marks}) ORDER BY queued_at, created_at",
        statuses,
    ).fetchall()
    return [Conversation.from_row(row) for row in rows]


def idle_conversations(conn: sqlite3.Connection, before: str, limit: int = 500) -> list[str]:
    """Open conversations whose last activity is older than ``before``."""
    rows = conn.execute(
        "SELECT id FROM conversations WHERE status IN ('bot', 'queued', 'assigned') "
        "AND last_activity_at < ? ORDER BY last_activity_at LIMIT ?",
        (before, limit),
    ).fetchall()
    return [row[0] for row in rows]


# -- messages -------------------------------------------------------------------


def insert_message(
    conn: sqlite3.Connection,
    conversation_id: str,
    author: str,
    text: str,
    *,
    client_id: str | None = None,
    agent_id: int | None = None,
    kind: str = "text",
    meta: dict[str, Any] | None = None,
    created_at: str | None = None,
) -> Message:
    created_at = created_at or now_iso()
    meta_json = compact_json(meta or {})
    cursor = conn.execute(
        "INSERT INTO messages (conversation_id, client_id, author, agent_id, kind, text, "
        "created_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (conversation_id, client_id, author, agent_id, kind, text, created_at, meta_json),
    )
    assert cursor.lastrowid is not None
    return Message(
        id=cursor.lastrowid,
        conversation_id=conversation_id,
        client_id=client_id,
        author=author,
        agent_id=agent_id,
        kind=kind,
        text=text,
        created_at=created_at,
        meta=meta or {},
    )


def find_message_by_client_id(
    conn: sqlite3.Connection,
    conversation_id: str,
    client_id: str,
    author: str,
    agent_id: int | None = None,
) -> Message | None:
    """A message this author (and agent) already sent with this client id: client ids are
    unique per author, so a shopper's id never finds an agent's note."""
    row = conn.execute(
        "SELECT * FROM messages WHERE conversation_id = ? AND author = ? "
        "AND ifnull(agent_id, 0) = ? AND client_id = ?",
        (conversation_id, author, agent_id or 0, client_id),
    ).fetchone()
    return Message.from_row(row) if row else None


def get_message(conn: sqlite3.Connection, message_id: int) -> Message | None:
    row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    return Message.from_row(row) if row else None


def transcript(
    conn: sqlite3.Connection, conversation_id: str, *, include_notes: bool = False
) -> list[Message]:
    sql = "SELECT * FROM messages WHERE conversation_id = ?"
    if not include_notes:
        sql += " AND kind != 'note'"
    rows = conn.execute(sql + " ORDER BY id", (conversation_id,)).fetchall()
    return [Message.from_row(row) for row in rows]


def recent_messages(conn: sqlite3.Connection, conversation_id: str, limit: int) -> list[Message]:
    """The last ``limit`` messages the shopper saw (no notes), oldest first."""
    rows = conn.execute(
        "SELECT * FROM messages WHERE conversation_id = ? AND kind != 'note' "
        "ORDER BY id DESC LIMIT ?",
        (conversation_id, limit),
    ).fetchall()
    return [Message.from_row(r) for r in reversed(rows)]


def with_recent(
    conn: sqlite3.Connection, ids: list[str], limit: int
) -> list[tuple[Conversation, list[Message]]]:
    """Conversations (those that exist, in the given order) with their last messages."""
    out = []
    for conversation_id in ids:
        conversation = get_conversation(conn, conversation_id)
        if conversation is not None:
            out.append((conversation, recent_messages(conn, conversation_id, limit)))
    return out


def question_before(conn: sqlite3.Connection, answer: Message) -> str:
    """The shopper's message a bot answer replied to ('' when there is none)."""
    row = conn.execute(
        "SELECT text FROM messages WHERE conversation_id = ? AND author = 'shopper' AND id < ? "
        "ORDER BY id DESC LIMIT 1",
        (answer.conversation_id, answer.id),
    ).fetchone()
    return row[0] if row else ""


def retried_since_escalation(conn: sqlite3.Connection, conversation: Conversation) -> bool:
    """Has the bot already had a second try ("this did not help") in this chat, since
    it last came back from a person?"""
    row = conn.execute(
        "SELECT 1 FROM messages WHERE conversation_id = ? AND author = 'bot' "
        "AND json_extract(meta, '$.retry') IS NOT NULL AND created_at >= ? LIMIT 1",
        (conversation.id, conversation.escalated_at or ""),
    ).fetchone()
    return row is not None
