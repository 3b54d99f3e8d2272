"""Write jobs of a shopper's chat (run in the writer thread via ``Database.write``).

Each job changes rows and records the engagement events of the change in the same
transaction. A shopper turn commits the message, the bot's reply, the mood update,
an escalation and their events together, so after a crash a message never lacks
its reply or its events. Moves of the conversation's state are in ``bot.chat.moves``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot import events as ev
from bot.brain import Reply, Turn
from bot.chat import moves
from bot.chat.moves import Escalation, Moved
from bot.errors import ClientError
from bot.store import conversations as convs
from bot.store import tickets
from bot.store.clock import now_iso
from bot.store.conversations import Conversation, Message
from bot.types import Status

# While a chat waits for a person, a shopper message the bot cannot answer outright
# is marked so: the widget shows "a person will read this" under it.
PERSON_WILL_READ = "person"


@dataclass(slots=True)
class TurnResult:
    message: Message
    duplicate: bool = False
    replies: list[Message] = field(default_factory=list)
    escalated: Moved | None = None
    conversation: Conversation | None = None  # as committed after the turn
    ticket_reopened: bool = False
    language_changed: bool = False  # the turn changed the conversation's language


def store_shopper_turn(
    conn: sqlite3.Connection,
    conversation_id: str,
    client_id: str,
    text: str,
    judge: Callable[[Conversation], tuple[Turn, Escalation | None]],
) -> TurnResult:
    """Store a shopper message with the bot's turn on it.

    ``judge`` runs here, on the conversation as committed: it returns the brain's
    turn and, when the turn escalates, what the shopper is told. A resent message
    (same client id) is not judged again.

    The bot answers while the chat is with the bot; while it waits for a person
    (queued, or a ticket) it still answers what it knows for sure, and marks the
    other messages "a person will read this"; once an agent owns it, it is quiet.
    """
    conversation, resent = convs.conversation_and_resent(
        conn, conversation_id, client_id, "shopper"
    )
    if conversation is None:
        raise ClientError("no_conversation")
    if resent is not None:
        existing = convs.get_message(conn, resent)
        assert existing is not None  # read in the same transaction
        return TurnResult(existing, duplicate=True, conversation=conversation)
    if conversation.closed:
        raise ClientError("conversation_closed")
    turn, escalation = judge(conversation)
    status = conversation.status
    waiting = status in (Status.QUEUED, Status.TICKET)
    answered = turn.outcome == "answer" and bool(turn.replies)

    at = now_iso()
    meta: dict[str, Any] = {
        "mood": round(turn.mood.score, 3),
        "mood_reasons": list(turn.mood.reasons),
    }
    if waiting and not answered:
        meta["receipt"] = PERSON_WILL_READ
    if turn.picked is not None:
        meta["pick"] = turn.picked  # the "did you mean" choice it clicked
    message = convs.insert_message(
        conn, conversation_id, "shopper", text, client_id=client_id, created_at=at, meta=meta
    )
    events: list[ev.Event] = [
        ev.MessageReceived(
            conversation_id=conversation_id,
            actor="shopper",
            created_at=at,
            message_id=message.id,
            length=len(text),
            language=turn.detected_language,
            mood=round(turn.mood.score, 3),
            mood_reasons=list(turn.mood.reasons),
            conversation_mood=round(turn.state.mood, 3),
        )
    ]
    result = TurnResult(message)
    if status == Status.BOT or (waiting and answered):
        if turn.picked is not None:
            events.append(
                ev.SuggestionPicked(
                    conversation_id=conversation_id,
                    actor="shopper",
                    created_at=at,
                    entry_id=turn.picked,
                )
            )
        for reply in turn.replies:
            stored = convs.insert_message(
                conn, conversation_id, "bot", reply.text, created_at=at, meta=reply.meta
            )
            result.replies.append(stored)
            event = _reply_event(conversation_id, at, stored, turn, text)
            if event is not None:  # small talk has no FAQ event
                events.append(event)
    if status == Status.BOT and turn.decision.offer_person and not turn.decision.escalate:
        events.append(
            ev.PersonOffered(
                conversation_id=conversation_id,
                actor="bot",
                created_at=at,
                reasons=list(turn.decision.reasons),
            )
        )
    convs.record_turn(conn, conversation_id, at, turn.language, turn.state)
    result.language_changed = turn.language != conversation.language
    ev.insert_events(conn, *events)
    if status == Status.BOT and escalation is not None:
        result.escalated = moves.escalate(conn, conversation_id, escalation, at=at)
        result.replies.extend(result.escalated.notices)
    if status == Status.TICKET:
        live = tickets.live_ticket(conn, conversation_id)
        if live is not None and live.status == "answered":
            result.ticket_reopened = tickets.set_ticket_status(conn, live.id, "open", at)
    if result.escalated is None:
        # What record_turn changed, without reading the row again.
        result.conversation = replace(
            conversation,
            last_activity_at=at,
            updated_at=at,
            language=turn.language,
            mood=turn.state,
        )
    else:
        result.conversation = convs.get_conversation(conn, conversation_id)
    return result


def _reply_event(
    conversation_id: str, at: str, stored: Message, turn: Turn, query: str
) -> ev.Event | None:
    match = turn.match
    if match is None and turn.picked is None:
        return None
    if turn.picked is not None:
        return ev.BotReplied(
            conversation_id=conversation_id,
            actor="bot",
            created_at=at,
            message_id=stored.id,
            entry_id=turn.picked,
            score=1.0,
            language=turn.language,
            picked=True,
        )
    assert match is not None
    score = round(match.score, 4)
    if match.action == "answer":
        return ev.BotReplied(
            conversation_id=conversation_id,
            actor="bot",
            created_at=at,
            message_id=stored.id,
            entry_id=match.entry_id,
            score=score,
            language=turn.language,
        )
    if match.action == "suggest":
        return ev.SuggestionsOffered(
            conversation_id=conversation_id,
            actor="bot",
            created_at=at,
            message_id=stored.id,
            suggestions=[s.entry_id for s in match.suggestions],
            score=score,
            language=turn.language,
        )
    return ev.NoAnswer(
        conversation_id=conversation_id,
        actor="bot",
        created_at=at,
        message_id=stored.id,
        query=query,
        entry_id=match.entry_id,
        score=score,
        language=turn.language,
    )


def store_visitor(conn: sqlite3.Connection, conversation_id: str, values: dict[str, str]) -> None:
    convs.set_visitor(conn, conversation_id, values)
    ev.insert_events(
        conn,
        ev.ShopperIdentified(
            conversation_id=conversation_id,
            actor="shopper",
            has_email=bool(values.get("visitor_email")),
            has_id=bool(values.get("visitor_id")),
        ),
    )


def store_bot_reply(
    conn: sqlite3.Connection, conversation_id: str, reply: Reply, event: ev.Event | None = None
) -> Message:
    """A bot message outside a shopper turn (after "this did not help"), with its event."""
    message = convs.insert_message(conn, conversation_id, "bot", reply.text, meta=reply.meta)
    if event is not None:
        ev.insert_events(conn, event)
    return message


def visitor_columns(user: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, column in (("name", "visitor_name"), ("email", "visitor_email"), ("id", "visitor_id")):
        value = user.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            values[column] = str(value).strip()[:200]
    return values


def create_conversation(
    conn: sqlite3.Connection, values: dict[str, Any], greeting: Reply
) -> tuple[Conversation, Message]:
    """A new chat with the bot's greeting: the conversation and its first message
    (which is its whole transcript)."""
    conversation = convs.insert_conversation(conn, **values)
    message = convs.insert_message(
        conn,
        conversation.id,
        "bot",
        greeting.text,
        meta=greeting.meta,
        created_at=conversation.created_at,
    )
    ev.insert_events(
        conn,
        ev.ChatStarted(
            conversation_id=conversation.id,
            actor="shopper",
            created_at=conversation.created_at,
            language=conversation.language,
            lang_setting=conversation.lang_setting,
            page_url=conversation.page_url,
            site=conversation.site,
        ),
    )
    return conversation, message
