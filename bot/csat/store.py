"""Write jobs for CSAT and NPS (run in the writer thread)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from bot import events as ev
from bot.errors import ClientError
from bot.store.clock import now_iso
from bot.store.conversations import Conversation, anonymised_at


def record_asked(conn: sqlite3.Connection, conversation: Conversation, at: str) -> bool:
    """Note that the survey was shown, with who handled the chat; True the first time only."""
    cursor = conn.execute(
        "INSERT INTO csat (conversation_id, asked_at, agent_id, bot_only, escalation_reasons, "
        "language, mood) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id) DO NOTHING",
        (conversation.id, at, *_context(conversation)),
    )
    return cursor.rowcount == 1


def _context(conversation: Conversation) -> tuple[object, ...]:
    """agent_id, bot_only, escalation_reasons, language, mood of a conversation."""
    return (
        conversation.last_agent_id,
        int(conversation.escalated_at is None and conversation.last_agent_id is None),
        json.dumps(list(conversation.escalation_reasons)),
        conversation.language,
        conversation.mood.mood,
    )


def get_rating(conn: sqlite3.Connection, conversation_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT rating, comment, nps, given_at, updated_at FROM csat WHERE conversation_id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None or row["rating"] is None:
        return None
    return {
        "rating": row["rating"],
        "comment": row["comment"],
        "nps": row["nps"],
        "given_at": row["given_at"],
        "updated_at": row["updated_at"],
    }


def _refuse_if_anonymised(conn: sqlite3.Connection, conversation_id: str) -> None:
    """A conversation whose personal data was removed (bot.privacy) takes no rating: a
    shopper still connected to it must not add a comment back."""
    if anonymised_at(conn, conversation_id) is not None:
        raise ClientError("rating_window_closed")


def store_rating(
    conn: sqlite3.Connection, conversation: Conversation, rating: int, comment: str | None
) -> tuple[dict[str, Any], bool]:
    """Insert or update the conversation's one rating; return it and whether it was new."""
    _refuse_if_anonymised(conn, conversation.id)
    at = now_iso()
    previous = get_rating(conn, conversation.id)
    record_asked(conn, conversation, at)  # a rating implies the survey was shown
    conn.execute(
        "UPDATE csat SET rating = ?, comment = ?, agent_id = ?, bot_only = ?, "
        "escalation_reasons = ?, language = ?, mood = ?, given_at = COALESCE(given_at, ?), "
        "updated_at = ? WHERE conversation_id = ?",
        (rating, comment, *_context(conversation), at, at, conversation.id),
    )
    if previous is None:
        event: ev.Event = ev.CsatGiven(
            conversation_id=conversation.id,
            actor="shopper",
            created_at=at,
            rating=rating,
            has_comment=bool(comment),
        )
    else:
        event = ev.CsatUpdated(
            conversation_id=conversation.id,
            actor="shopper",
            created_at=at,
            rating=rating,
            previous=previous["rating"],
            has_comment=bool(comment),
        )
    ev.insert_events(conn, event)
    stored = get_rating(conn, conversation.id)
    assert stored is not None
    return stored, previous is None


def store_nps(conn: sqlite3.Connection, conversation: Conversation, score: int) -> None:
    _refuse_if_anonymised(conn, conversation.id)
    at = now_iso()
    record_asked(conn, conversation, at)
    conn.execute(
        "UPDATE csat SET nps = ?, updated_at = ? WHERE conversation_id = ?",
        (score, at, conversation.id),
    )
    ev.insert_events(
        conn,
        ev.NpsGiven(conversation_id=conversation.id, actor="shopper", created_at=at, score=score),
    )
