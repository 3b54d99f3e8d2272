"""Types shared between the areas of the service (the seams between modules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

JSON = dict[str, Any]

Language = str  # "en" | "it" | "pl" (ISO 639-1); the KB may add more
LANGUAGES: tuple[Language, ...] = ("en", "it", "pl")
DEFAULT_LANGUAGE: Language = "en"

MatchAction = Literal["answer", "suggest", "fallback"]


class Status(StrEnum):
    """Where a conversation stands (the state machine is ``bot.store.lifecycle``)."""

    BOT = "bot"  # the bot answers
    QUEUED = "queued"  # waiting for a person
    ASSIGNED = "assigned"  # an agent owns it
    TICKET = "ticket"  # the team answers in writing (the shopper left a message or the queue)
    CLOSED = "closed"


OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.BOT, Status.QUEUED, Status.ASSIGNED, Status.TICKET}
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A "did you mean" candidate: an entry and its question in the shopper's language."""

    entry_id: str
    question: str
    score: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What the FAQ matcher made of one question.

    ``score`` is the best candidate's confidence in [0, 1]; ``entry_id`` is the best
    candidate even when the action is not "answer" (None only when there is no
    candidate at all, e.g. an empty question). ``suggestions`` is non-empty only for
    "suggest" (at most 3, best first). ``language`` is the language the matcher
    used for this question (detected, or the one it was given).
    """

    action: MatchAction
    entry_id: str | None
    score: float
    suggestions: tuple[Suggestion, ...] = ()
    language: Language = DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class MoodResult:
    """The mood detector's verdict on one message on its own.

    ``score`` in [-1, 1]: negative is unhappy, positive is content. ``reasons`` are
    short phrases an agent understands ("asks for a person", "shouting",
    "negative sentiment -0.62"). ``asks_for_person`` is set when the shopper
    explicitly asks for a human.
    """

    escalate: bool
    score: float
    reasons: tuple[str, ...] = ()
    asks_for_person: bool = False


@dataclass(frozen=True, slots=True)
class ConversationMood:
    """Per-conversation state of the escalation policy (persisted with the conversation)."""

    mood: float = 0.0  # decaying average of message scores
    messages: int = 0  # shopper messages scored so far
    failures_in_row: int = 0  # bot outcomes in a row that were not a confident answer


@dataclass(frozen=True, slots=True)
class Decision:
    """What the escalation policy advises after one turn."""

    escalate: bool = False
    offer_person: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)
