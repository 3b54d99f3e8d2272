"""The conversation state machine: the one place that changes ``conversations.status``.

Every move of a conversation (escalate, assign, requeue, transfer, follow up as a
ticket, close) goes through :func:`transition`, inside the write transaction of
the job that makes it. The allowed-from states (and, for moves that concern the
owner, the expected owner) are checked there, on the row as committed, so two
paths racing for the same conversation (a shopper ending the chat while the
sweeper requeues it, a transfer while an agent resolves) cannot both win: the
second one sees the first one's result and is refused with
:class:`TransitionRefused`.

::

                    escalate                 assign
        bot ───────────────────▶ queued ◀────────────▶ assigned ⟲ transfer
         │  ▲                     │  ▲       requeue       │
         │  └─ (new chat)         │  │ escalate            │
         │        follow_up       ▼  │                     │
         └─────────────────────▶ ticket                    │
                                    │                      │
        every open state ───────────┴──── close ───────────┴──▶ closed
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from bot.store.conversations import Conversation, get_conversation
from bot.types import OPEN_STATUSES, Status


class Move(StrEnum):
    ESCALATE = "escalate"
    ASSIGN = "assign"
    REQUEUE = "requeue"
    TRANSFER = "transfer"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Rule:
    allowed_from: frozenset[Status]
    to: Status | None  # None: the status stays (a transfer changes the owner only)


RULES: Final[dict[Move, Rule]] = {
    Move.ESCALATE: Rule(frozenset({Status.BOT, Status.TICKET}), Status.QUEUED),
    Move.ASSIGN: Rule(frozenset({Status.QUEUED}), Status.ASSIGNED),
    Move.REQUEUE: Rule(frozenset({Status.ASSIGNED}), Status.QUEUED),
    Move.TRANSFER: Rule(frozenset({Status.ASSIGNED}), None),
    Move.FOLLOW_UP: Rule(frozenset({Status.BOT, Status.QUEUED}), Status.TICKET),
    Move.CLOSE: Rule(OPEN_STATUSES, Status.CLOSED),
}

ANY_OWNER: Final = object()


class TransitionRefused(Exception):
    """The conversation is not in a state the move may start from (it moved meanwhile)."""

    def __init__(self, move: Move, conversation: Conversation | None) -> None:
        self.move = move
        self.conversation = conversation
        state = conversation.status if conversation else "missing"
        super().__init__(f"{move} refused: the conversation is {state}")

    @property
    def closed(self) -> bool:
        return self.conversation is not None and self.conversation.closed


def transition(
    conn: sqlite3.Connection,
    conversation_id: str,
    move: Move,
    *,
    at: str,
    owner: object = ANY_OWNER,
    agent_id: int | None = None,
    reasons: Sequence[str] = (),
    closed_by: str | None = None,
    close_reason: str | None = None,
) -> tuple[Conversation, Conversation]:
    """Make ``move`` on the conversation; return it (before, after).

    ``owner`` (requeue, transfer): the agent expected to own the chat now; a chat
    that changed hands meanwhile is refused. ``agent_id``: the new owner (assign,
    transfer). ``reasons``: escalation reasons. ``closed_by``/``close_reason``: close.
    """
    before = get_conversation(conn, conversation_id)
    rule = RULES[move]
    if before is None or before.status not in rule.allowed_from:
        raise TransitionRefused(move, before)
    if owner is not ANY_OWNER and before.agent_id != owner:
        raise TransitionRefused(move, before)
    status = rule.to or Status(before.status)
    if move is Move.ESCALATE:
        _update(
            conn,
            conversation_id,
            before.status,
            "status = ?, escalated_at = ?, queued_at = ?, escalation_reasons = ?, "
            "failures_in_row = 0, last_activity_at = ?",
            (status, at, at, _json_list(reasons), at),
            at,
        )
    elif move is Move.ASSIGN or move is Move.TRANSFER:
        if agent_id is None:
            raise ValueError(f"{move} needs the agent")
        _update(
            conn,
            conversation_id,
            before.status,
            "status = ?, agent_id = ?, last_agent_id = ?, last_activity_at = ?",
            (status, agent_id, agent_id, at),
            at,
        )
    elif move is Move.REQUEUE:
        _update(
            conn,
            conversation_id,
            before.status,
            "status = ?, agent_id = NULL, queued_at = ?, last_activity_at = ?",
            (status, at, at),
            at,
        )
    elif move is Move.FOLLOW_UP:
        _update(
            conn,
            conversation_id,
            before.status,
            "status = ?, agent_id = NULL, last_activity_at = ?",
            (status, at),
            at,
        )
    elif move is Move.CLOSE:
        _update(
            conn,
            conversation_id,
            before.status,
            "status = ?, agent_id = NULL, closed_at = ?, closed_by = ?, close_reason = ?",
            (status, at, closed_by, close_reason),
            at,
        )
    after = get_conversation(conn, conversation_id)
    assert after is not None
    return before, after


def _update(
    conn: sqlite3.Connection,
    conversation_id: str,
    expected: str,
    assignments: str,
    values: tuple[object, ...],
    at: str,
) -> None:
    cursor = conn.execute(
        f"UPDATE conversations SET {assignments}, updated_at = ? WHERE id = ? AND status = ?",
        (*values, at, conversation_id, expected),
    )
    if cursor.rowcount != 1:  # cannot happen with one writer; a second one would be a bug
        raise RuntimeError(f"conversation {conversation_id} changed under its transition")


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES
