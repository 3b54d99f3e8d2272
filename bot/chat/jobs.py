"""Write jobs for conversations (run in the writer thread via ``Database.write``).

Each job changes rows and records the engagement events of the change in the same
transaction. A shopper turn commits the message, the bot's reply, the mood update,
an escalation and their events together, so after a crash a message never lacks
its reply or its events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot import events as ev
from bot.brain import Reply, Turn
from bot.csat.store import record_asked
from bot.errors import ClientError
from bot.store import conversations as convs
from bot.store.clock import now_iso
from bot.store.conversations import Conversation, Message


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
    judge: Callable[[Conversation], tuple[Turn, Escalation | None]],
) -> TurnResult:
    """Store a shopper message with the bot's turn on it.

    ``judge`` runs here, on the conversation as committed: it returns the brain's
    turn and, when the turn escalates, what the shopper is told. A resent message
    (same client id) is not judged again.
    """
    conversation = convs.get_conversation(conn, conversation_id)
    if conversation is None:
        raise ClientError("no_conversation")
    existing = convs.find_message_by_client_id(conn, conversation_id, client_id)
    if existing is not None:
        return TurnResult(existing, duplicate=True, status=conversation.status)
    if conversation.closed:
        raise ClientError("conversation_closed")
    turn, escalation = judge(conversation)

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
            event = _reply_event(conversation_id, at, stored, turn, text)
            if event is not None:  # small talk has no FAQ event
                events.append(event)
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
) -> ev.Event | None:
    match = turn.match
    if match is None and turn.picked is None:
        return None
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


def store_visitor(conn: sqlite3.Connection, conversation_id: str, values: dict[str, str]) -> None:
    convs.update_conversation(conn, conversation_id, **values)
    ev.insert_events(conn, ev.ShopperIdentified(
        conversation_id=conversation_id, actor="shopper",
        has_email=bool(values.get("visitor_email")), has_id=bool(values.get("visitor_id")),
    ))


def store_person_offer(conn: sqlite3.Connection, conversation_id: str, reply: Reply,
                       reasons: tuple[str, ...]) -> Message:
    message = convs.insert_message(conn, conversation_id, "bot", reply.text, meta=reply.meta)
    ev.insert_events(conn, ev.PersonOffered(conversation_id=conversation_id, actor="bot",
                                            reasons=list(reasons)))
    return message


def visitor_columns(user: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, column in (("name", "visitor_name"), ("email", "visitor_email"), ("id", "visitor_id")):
        value = user.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            values[column] = str(value).strip()[:200]
    return values


def create_conversation(conn: sqlite3.Connection, values: dict[str, Any], greeting: Reply) -> Conversation:
    conversation = convs.insert_conversation(conn, **values)
    convs.insert_message(conn, conversation.id, "bot", greeting.text, meta=greeting.meta,
                         created_at=conversation.created_at)
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
    return conversation


def close_conversation(
    conn: sqlite3.Connection, conversation: Conversation, by: str, reason: str, agent_id: int | None,
    text: str, ask_csat: bool,
) -> Message:
    at = now_iso()
    convs.update_conversation(
        conn, conversation.id, status="closed", closed_at=at, closed_by=by,
        close_reason=reason, agent_id=None,
    )
    message = convs.insert_message(conn, conversation.id, "system", text, created_at=at,
                                   agent_id=agent_id)
    events: list[ev.Event] = []
    if by == "agent":
        events.append(ev.ChatResolved(conversation_id=conversation.id, actor="agent",
                                      agent_id=agent_id, created_at=at))
    events.append(ev.ChatEnded(conversation_id=conversation.id, actor=actor_for(by),
                               agent_id=agent_id, created_at=at, by=by, reason=reason))
    if ask_csat and record_asked(conn, conversation, at):
        events.append(ev.CsatAsked(conversation_id=conversation.id, actor="system", created_at=at))
    ev.insert_events(conn, *events)
    return message


def actor_for(by: str) -> ev.Actor:
    return {"shopper": "shopper", "agent": "agent"}.get(by, "system")  # type: ignore[return-value]
