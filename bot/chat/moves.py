"""Write jobs for the moves of a conversation (run in the writer thread).

Each job makes one move of the state machine (:mod:`bot.store.lifecycle`), writes
the notice the shopper sees and the engagement events of the move, all in one
transaction; :class:`bot.chat.lifecycle.Lifecycle` runs them and tells everyone
once they are committed. A move the conversation's state no longer allows raises
:class:`bot.store.lifecycle.TransitionRefused` and changes nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from bot import events as ev
from bot.brain import Reply
from bot.csat.store import record_asked
from bot.store import conversations as convs
from bot.store import tickets
from bot.store.clock import now_iso, parse_iso
from bot.store.conversations import Conversation, Message
from bot.store.lifecycle import Move, transition
from bot.texts import say
from bot.types import Status

Notice = tuple[str, dict[str, Any]]  # a key of bot.texts and its values


@dataclass(frozen=True, slots=True)
class Escalation:
    """How to tell the shopper about an escalation decided in this turn."""

    reasons: tuple[str, ...]
    trigger: str  # shopper | policy
    notice: Reply
    agents_online: int


@dataclass(slots=True)
class Moved:
    """A committed move: the conversation before and after, and what was written."""

    before: Conversation
    after: Conversation
    notices: list[Message] = field(default_factory=list)
    ticket_id: int | None = None


def escalation_rows(
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


def escalate(
    conn: sqlite3.Connection, conversation_id: str, escalation: Escalation, at: str | None = None
) -> Moved:
    """bot (or ticket) -> queued, with the shopper's notice."""
    at = at or now_iso()
    before, after = transition(
        conn, conversation_id, Move.ESCALATE, at=at, reasons=escalation.reasons
    )
    notice = convs.insert_message(
        conn,
        conversation_id,
        "bot",
        escalation.notice.text,
        created_at=at,
        meta=escalation.notice.meta,
    )
    ev.insert_events(conn, *escalation_rows(conversation_id, at, escalation, before.mood.mood))
    if before.status == Status.TICKET:
        live = tickets.live_ticket(conn, conversation_id)
        if live is not None:  # the shopper is back and talks to a person instead
            tickets.set_ticket_status(conn, live.id, "done", at)
    return Moved(before, after, [notice])


def assign(
    conn: sqlite3.Connection, conversation_id: str, agent_id: int, by: str, name: str
) -> Moved:
    """queued -> assigned to ``agent_id`` (``by``: auto | take)."""
    at = now_iso()
    before, after = transition(conn, conversation_id, Move.ASSIGN, at=at, agent_id=agent_id)
    wait = None
    if before.queued_at:
        wait = round(parse_iso(at).timestamp() - parse_iso(before.queued_at).timestamp(), 3)
    notice = convs.insert_message(
        conn,
        conversation_id,
        "system",
        say("agent_joined", after.language, name=name),
        agent_id=agent_id,
        created_at=at,
    )
    ev.insert_events(
        conn,
        ev.AgentAssigned(
            conversation_id=conversation_id,
            actor="agent" if by == "take" else "system",
            agent_id=agent_id,
            created_at=at,
            by=by,
        ),
        ev.AgentJoined(
            conversation_id=conversation_id,
            actor="agent",
            agent_id=agent_id,
            created_at=at,
            wait_seconds=wait,
        ),
    )
    return Moved(before, after, [notice])


def requeue(conn: sqlite3.Connection, conversation_id: str, owner: int, reason: str) -> Moved:
    """assigned (to ``owner``) -> queued: the owner is gone."""
    at = now_iso()
    before, after = transition(conn, conversation_id, Move.REQUEUE, at=at, owner=owner)
    notice = convs.insert_message(
        conn, conversation_id, "system", say("requeued", after.language), created_at=at
    )
    ev.insert_events(
        conn,
        ev.AgentLeft(
            conversation_id=conversation_id,
            actor="system",
            agent_id=owner,
            created_at=at,
            reason=reason,
        ),
        ev.ChatRequeued(
            conversation_id=conversation_id,
            actor="system",
            agent_id=owner,
            created_at=at,
            reason=reason,
        ),
    )
    return Moved(before, after, [notice])


def transfer(
    conn: sqlite3.Connection, conversation_id: str, owner: int | None, to: int, by: int, name: str
) -> Moved:
    """assigned to ``owner`` -> assigned to ``to`` (``by``: the agent who moved it)."""
    at = now_iso()
    before, after = transition(
        conn, conversation_id, Move.TRANSFER, at=at, owner=owner, agent_id=to
    )
    notice = convs.insert_message(
        conn,
        conversation_id,
        "system",
        say("transferred", after.language, name=name),
        agent_id=to,
        created_at=at,
    )
    ev.insert_events(
        conn,
        ev.ChatTransferred(
            conversation_id=conversation_id,
            actor="agent",
            agent_id=by,
            created_at=at,
            from_agent=owner,
            to_agent=to,
        ),
        ev.AgentLeft(
            conversation_id=conversation_id,
            actor="agent",
            agent_id=owner,
            created_at=at,
            reason="transferred",
        ),
        ev.AgentAssigned(
            conversation_id=conversation_id,
            actor="agent",
            agent_id=to,
            created_at=at,
            by="transfer",
        ),
        ev.AgentJoined(conversation_id=conversation_id, actor="agent", agent_id=to, created_at=at),
    )
    return Moved(before, after, [notice])


def follow_up(
    conn: sqlite3.Connection,
    conversation_id: str,
    source: str,
    email: str | None,
    text: str | None,
    client_id: str | None = None,
) -> Moved:
    """bot or queued -> ticket: the team answers in writing.

    ``source`` is ``form`` (the shopper left an e-mail and a message: the message is
    stored in the transcript too) or ``left_queue`` (the shopper left before anyone
    was free: the ticket points at the transcript).
    """
    at = now_iso()
    before, after = transition(conn, conversation_id, Move.FOLLOW_UP, at=at)
    notices: list[Message] = []
    if source == "form" and text:
        notices.append(
            convs.insert_message(
                conn,
                conversation_id,
                "shopper",
                text,
                client_id=client_id,
                created_at=at,
                meta={"ticket": True},
            )
        )
    if email and not before.visitor_email:
        convs.set_visitor(conn, conversation_id, {"visitor_email": email})
    ticket_id = tickets.create_ticket(conn, conversation_id, email, text, source, at)
    key = "ticket" if email else "ticket_no_email"
    notices.append(
        convs.insert_message(
            conn,
            conversation_id,
            "system",
            say(key, after.language, email=email or ""),
            created_at=at,
        )
    )
    ev.insert_events(
        conn,
        ev.TicketCreated(
            conversation_id=conversation_id,
            actor="shopper" if source == "form" else "system",
            created_at=at,
            ticket_id=ticket_id,
            source=source,
        ),
    )
    return Moved(before, after, notices, ticket_id=ticket_id)


def close(
    conn: sqlite3.Connection,
    conversation_id: str,
    by: str,
    reason: str,
    agent_id: int | None,
    notice: Notice,
    ask_csat: bool,
) -> Moved:
    """Any open state -> closed; the CSAT question is recorded as asked when the
    shopper is there to see it."""
    at = now_iso()
    before, after = transition(
        conn, conversation_id, Move.CLOSE, at=at, closed_by=by, close_reason=reason
    )
    key, values = notice
    message = convs.insert_message(
        conn,
        conversation_id,
        "system",
        say(key, after.language, **values),
        created_at=at,
        agent_id=agent_id,
    )
    events: list[ev.Event] = []
    if before.status == Status.TICKET:
        live = tickets.live_ticket(conn, conversation_id)
        if live is not None and tickets.set_ticket_status(conn, live.id, "done", at, agent_id):
            events.append(
                ev.TicketDone(
                    conversation_id=conversation_id,
                    actor=actor_for(by),
                    agent_id=agent_id,
                    created_at=at,
                    ticket_id=live.id,
                )
            )
    if by == "agent":
        events.append(
            ev.ChatResolved(
                conversation_id=conversation_id, actor="agent", agent_id=agent_id, created_at=at
            )
        )
    events.append(
        ev.ChatEnded(
            conversation_id=conversation_id,
            actor=actor_for(by),
            agent_id=agent_id,
            created_at=at,
            by=by,
            reason=reason,
        )
    )
    if ask_csat and record_asked(conn, after, at):
        events.append(ev.CsatAsked(conversation_id=conversation_id, actor="system", created_at=at))
    ev.insert_events(conn, *events)
    return Moved(before, after, [message])


def actor_for(by: str) -> ev.Actor:
    return {"shopper": "shopper", "agent": "agent"}.get(by, "system")  # type: ignore[return-value]
