"""Write jobs for one shopper turn: everything a message changes, in one transaction.

These functions run in the writer thread (``Database.write``). A shopper message,
the bot's reply, the mood update, an escalation and their engagement events are
committed together, so after a crash a message never lacks its reply or its events.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from bot import events as ev
from bot.brain import Reply, Turn
from bot.errors import ClientError
from bot.store import conversations as convs
from bot.store.clock import now_iso
from bot.store.conversations import Message


@dataclass(frozen=True, slots=True)
class Escalation:
    """How to tell the shopper about an escalation decided in this turn."""

    reasons: tuple[str, ...]
    trigger: str  # shopper | policy
    notice: Reply
    agents_online: int


@dataclass(slots=True)
class TurnResult:
    message: Message
    duplicate: bool = False
    replies: list[Message] = field(default_factory=list)
    escalated: bool = False
    status: str = "bot"


def store_shopper_turn(
    conn: sqlite3.Connection,
    conversation_id: str,
    client_id: str,
    text: str,
    turn: Turn,
    escalation: Escalation | None,
) -> TurnResult:
    conversation = convs.get_conversation(conn, conversation_id)
    if conversation is None:
        raise ClientError("no_conversation")
    existing = convs.find_message_by_client_id(conn, conversation_id, client_id)
    if existing is not None:
        return TurnResult(existing, duplicate=True, status=conversation.status)
    if conversation.closed:
        raise ClientError("conversation_closed")

    at = now_iso()
    message = convs.insert_message(
        conn,
        conversation_id,
        "shopper",
        text,
        client_id=client_id,
        created_at=at,
        meta={"mood": round(turn.mood.score, 3), "mood_reasons": list(turn.mood.reasons)},
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
    result = TurnResult(message, status=conversation.status)
    bot_active = conversation.status == "bot"

    if bot_active and turn.picked is not None:
        events.append(
            ev.SuggestionPicked(
                conversation_id=conversation_id, actor="shopper", created_at=at, entry_id=turn.picked
            )
        )
    if bot_active:
        for reply in turn.replies:
            stored = convs.insert_message(
                conn, conversation_id, "bot", reply.text, created_at=at, meta=reply.meta
            )
            result.replies.append(stored)
            events.append(_reply_event(conversation_id, at, stored, turn, text))
        if turn.decision.offer_person and not turn.decision.escalate:
            events.append(
                ev.PersonOffered(
                    conversation_id=conversation_id,
                    actor="bot",
                    created_at=at,
                    reasons=list(turn.decision.reasons),
                )
            )

    changes: dict[str, object] = {
        "last_activity_at": at,
        "language": turn.language,
        **convs.mood_columns(turn.state),
    }
    if bot_active and escalation is not None:
        result.replies.append(
            convs.insert_message(
                conn, conversation_id, "bot", escalation.notice.text,
                created_at=at, meta=escalation.notice.meta,
            )
        )
        events.extend(escalate_rows(conversation_id, at, escalation, turn.state.mood))
        changes.update(
            status="queued",
            escalated_at=at,
            queued_at=at,
            escalation_reasons=list(escalation.reasons),
        )
        result.escalated = True
        result.status = "queued"
    convs.update_conversation(conn, conversation_id, **changes)
    ev.insert_events(conn, *events)
    return result


def _reply_event(
    conversation_id: str, at: str, stored: Message, turn: Turn, query: str
) -> ev.Event:
    match = turn.match
    if turn.picked is not None:
        return ev.BotReplied(
            conversation_id=conversation_id, actor="bot", created_at=at, message_id=stored.id,
            entry_id=turn.picked, score=1.0, language=turn.language, picked=True,
        )
    assert match is not None
    score = round(match.score, 4)
    if match.action == "answer":
        return ev.BotReplied(
            conversation_id=conversation_id, actor="bot", created_at=at, message_id=stored.id,
            entry_id=match.entry_id, score=score, language=turn.language,
        )
    if match.action == "suggest":
        return ev.SuggestionsOffered(
            conversation_id=conversation_id, actor="bot", created_at=at, message_id=stored.id,
            suggestions=[s.entry_id for s in match.suggestions], score=score,
            language=turn.language,
        )
    return ev.NoAnswer(
        conversation_id=conversation_id, actor="bot", created_at=at, message_id=stored.id,
        query=query, entry_id=match.entry_id, score=score, language=turn.language,
    )


def escalate_rows(
    conversation_id: str, at: str, escalation: Escalation, mood: float
) -> list[ev.Event]:
    return [
        ev.EscalationRequested(
            conversation_id=conversation_id,
            actor="shopper" if escalation.trigger == "shopper" else "bot",
            created_at=at,
            reasons=list(escalation.reasons),
            trigger=escalation.trigger,
            mood=round(mood, 3),
        ),
        ev.ChatQueued(
            conversation_id=conversation_id,
            actor="system",
            created_at=at,
            agents_online=escalation.agents_online,
        ),
    ]


def store_escalation(
    conn: sqlite3.Connection, conversation_id: str, escalation: Escalation
) -> tuple[Message | None, str]:
    """Escalate outside a message (the handoff button, "not helpful" feedback)."""
    conversation = convs.get_conversation(conn, conversation_id)
    if conversation is None:
        raise ClientError("no_conversation")
    if conversation.closed:
        raise ClientError("conversation_closed")
    if conversation.status != "bot":
        return None, conversation.status  # already with a person or waiting for one
    at = now_iso()
    notice = convs.insert_message(
        conn, conversation_id, "bot", escalation.notice.text,
        created_at=at, meta=escalation.notice.meta,
    )
    convs.update_conversation(
        conn,
        conversation_id,
        status="queued",
        escalated_at=at,
        queued_at=at,
        last_activity_at=at,
        escalation_reasons=list(escalation.reasons),
        failures_in_row=0,
    )
    ev.insert_events(conn, *escalate_rows(conversation_id, at, escalation, conversation.mood.mood))
    return notice, "queued"
