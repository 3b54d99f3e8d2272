"""Image attachments: rows of ``attachments`` (the files live in the uploads folder),
and what an agent has seen of a chat (``conversations.seen_message_id``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    conversation_id: str
    message_id: int | None
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    name: str
    shopper_key: str
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Attachment:
        return cls(
            id=row["id"],
            conversation_id=row["conversation_id"],
            message_id=row["message_id"],
            content_type=row["content_type"],
            size=row["size"],
            width=row["width"] or 0,
            height=row["height"] or 0,
            sha256=row["sha256"],
            name=row["name"] or "",
            shopper_key=row["shopper_key"],
            created_at=row["created_at"],
        )

    def meta(self) -> dict[str, object]:
        """What the message that carries it keeps (README: a message's ``attachment``)."""
        return {
            "id": self.id,
            "type": self.content_type,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "name": self.name,
            "key": self.shopper_key,
        }


def insert_attachment(conn: sqlite3.Connection, attachment: Attachment) -> None:
    conn.execute(
        "INSERT INTO attachments (id, conversation_id, message_id, content_type, size, width, "
        "height, sha256, name, shopper_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            attachment.id,
            attachment.conversation_id,
            attachment.message_id,
            attachment.content_type,
            attachment.size,
            attachment.width,
            attachment.height,
            attachment.sha256,
            attachment.name,
            attachment.shopper_key,
            attachment.created_at,
        ),
    )


def get_attachment(conn: sqlite3.Connection, attachment_id: str) -> Attachment | None:
    row = conn.execute("SELECT * FROM attachments WHERE id = ?", (attachment_id,)).fetchone()
    return Attachment.from_row(row) if row else None


def count_attachments(conn: sqlite3.Connection, conversation_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM attachments WHERE conversation_id = ?", (conversation_id,)
    ).fetchone()
    return int(row[0])


def delete_attachments(conn: sqlite3.Connection, conversation_id: str) -> list[str]:
    """Forget a conversation's attachments; returns their ids (their files go too)."""
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM attachments WHERE conversation_id = ?", (conversation_id,)
        )
    ]
    conn.execute("DELETE FROM attachments WHERE conversation_id = ?", (conversation_id,))
    return ids


def touch(conn: sqlite3.Connection, conversation_id: str, at: str) -> None:
    """The shopper did something: the inactivity timeout starts again."""
    conn.execute(
        "UPDATE conversations SET last_activity_at = ?, updated_at = ? WHERE id = ?",
        (at, at, conversation_id),
    )


# -- what the agent has seen ---------------------------------------------------------


def mark_seen(conn: sqlite3.Connection, conversation_id: str, message_id: int) -> int | None:
    """The chat's agent has seen the shopper's messages up to ``message_id`` (a shopper
    message of this chat). Returns the new mark, or None when it did not move forward."""
    row = conn.execute(
        "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ? AND author = 'shopper'",
        (message_id, conversation_id),
    ).fetchone()
    if row is None:
        return None
    cursor = conn.execute(
        "UPDATE conversations SET seen_message_id = ? WHERE id = ? "
        "AND (seen_message_id IS NULL OR seen_message_id < ?)",
        (message_id, conversation_id, message_id),
    )
    return message_id if cursor.rowcount else None


def seen_message_id(conn: sqlite3.Connection, conversation_id: str) -> int | None:
    row = conn.execute(
        "SELECT seen_message_id FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    return row[0] if row else None
