"""Engagement events: one small frozen dataclass per kind of interaction.

Every event is stored as a row of the ``events`` table: conversation id, actor,
agent id, type, UTC time and a JSON object of the event's own fields. The
README lists every type (a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from bot.store import events as store
from bot.store.clock import now_iso
from bot.store.conversations import compact_json
from bot.store.db import Database

Actor = Literal["shopper", "bot", "agent", "manager", "system"]

EVENT_TYPES: dict[str, type[Event]] = {}
_BASE_FIELDS = {"conversation_id", "actor", "agent_id", "created_at"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    type: ClassVar[str] = ""
    description: ClassVar[str] = ""
    conversation_id: str | None = None
    actor: Actor = "system"
    agent_id: int | None = None
    created_at: str = field(default_factory=now_iso)

    def properties(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _own_fields(type(self))}

    def row(self) -> store.EventRow:
        return (
            self.conversation_id,
            self.actor,
            self.agent_id,
            self.type,
            self.created_at,
            compact_json(self.properties()),
        )


_OWN_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _own_fields(cls: type[Event]) -> tuple[str, ...]:
    """The event's own fields (not the row's columns), in their order."""
    names = _OWN_FIELDS.get(cls)
    if names is None:
        names = _OWN_FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in _BASE_FIELDS
        )
    return names


def insert_events(conn: sqlite3.Connection, *events: Event) -> None:
    """Store the events in the caller's transaction (a write job)."""
    store.insert_events(conn, [event.row() for event in events])


def submit(db: Database, event: Event) -> None:
    """Store the event without waiting for it (fire and forget, see ``Database.submit``)."""
    store.submit_event(db, event.row())


def _event(type_: str, description: str) -> Any:
    def wrap(cls: type[Event]) -> type[Event]:
        cls.type = type_
        cls.description = description
        EVENT_TYPES[type_] = cls
        return cls

    return wrap


# -- conversation lifecycle ------------------------------------------------


@_event("chat.started", "a shopper opened a new conversation")
@dataclass(frozen=True, kw_only=True, slots=True)
class ChatStarted(Event):
    language: str
    lang_setting: str
    page_url: str | None = None
    site: str | None = None


@_event("chat.resumed", "a shopper rejoined a conversation with its resume token")
@dataclass(frozen=True, kw_only=True, slots=True)
class ChatResumed(Event):
    status: str


@_event("chat.ended", "a conversation was closed (by shopper, agent, timeout or system)")
@dataclass(frozen=True, kw_only=True, slots=True)
class ChatEnded(Event):
    by: str
    reason: str


@_event("shopper.identified", "the shop told us who the shopper is (setUser)")
@dataclass(frozen=True, kw_only=True, slots=True)
class ShopperIdentified(Event):
    has_email: bool
    has_id: bool


@_event("widget.opened", "the shopper opened the chat panel")
@dataclass(frozen=True, kw_only=True, slots=True)
class WidgetOpened(Event):
    pass


@_event("widget.closed", "the shopper closed the chat panel")
@dataclass(frozen=True, kw_only=True, slots=True)
class WidgetClosed(Event):
    pass


# -- messages and the bot ---------------------------------------------------


@_event("message.received", "a shopper message was stored (with its mood)")
@dataclass(frozen=True, kw_only=True, slots=True)
class MessageReceived(Event):
    message_id: int
    length: int
    language: str | None
    mood: float
    mood_reasons: list[str]
    conversation_mood: float


@_event("bot.reply", "the bot answered from the knowledge base")
@dataclass(frozen=True, kw_only=True, slots=True)
class BotReplied(Event):
    message_id: int
    entry_id: str | None
    score: float
    language: str
    picked: bool = False


@_event("bot.suggested", "the bot offered 'did you mean' choices")
@dataclass(frozen=True, kw_only=True, slots=True)
class SuggestionsOffered(Event):
    message_id: int
    suggestions: list[str]
    score: float
    language: str


@_event("suggestion.picked", "the shopper clicked a 'did you mean' choice")
@dataclass(frozen=True, kw_only=True, slots=True)
class SuggestionPicked(Event):
    entry_id: str


@_event("bot.no_answer", "the bot found no answer (stored for the KB-gap report)")
@dataclass(frozen=True, kw_only=True, slots=True)
class NoAnswer(Event):
    message_id: int
    query: str
    entry_id: str | None
    score: float
    language: str


@_event("answer.feedback", "the shopper said whether an answer helped")
@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerFeedback(Event):
    message_id: int
    entry_id: str | None
    helpful: bool


# -- escalation and agents ------------------------------------------------


@_event("person.offered", "the bot offered to bring in a person")
@dataclass(frozen=True, kw_only=True, slots=True)
class PersonOffered(Event):
    reasons: list[str]


@_event("escalation.requested", "the chat was escalated to a person (with the reasons)")
@dataclass(frozen=True, kw_only=True, slots=True)
class EscalationRequested(Event):
    reasons: list[str]
    trigger: str  # shopper (asked) | policy (mood, failures)
    mood: float


@_event("chat.queued", "an escalated chat entered the agents' queue")
@dataclass(frozen=True, kw_only=True, slots=True)
class ChatQueued(Event):
    agents_online: int


@_event("agent.assigned", "a chat was given to an agent (auto, take or transfer)")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentAssigned(Event):
    by: str  # auto | take | transfer


@_event("agent.joined", "an agent joined the conversation")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentJoined(Event):
    wait_seconds: float | None = None


@_event("agent.left", "the owning agent left the conversation")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentLeft(Event):
    reason: str


@_event("agent.message", "an agent wrote to the shopper")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentMessage(Event):
    message_id: int


@_event("agent.note", "an agent wrote an internal note")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentNote(Event):
    message_id: int


@_event("chat.transferred", "a chat moved from one agent to another")
@dataclass(frozen=True, kw_only=True, slots=True)
class ChatTransferred(Event):
    from_agent: int | None
    to_agent: int


@_event("chat.requeued", "a chat went back to the queue (owner gone past the grace period)")
@dataclass(frozen=True, kw_only=True, slots=True)
class ChatRequeued(Event):
    reason: str


@_event("chat.resolved", "an agent resolved the chat")
@dataclass(frozen=True, kw_only=True, slots=True)
class ChatResolved(Event):
    pass


@_event(
    "ticket.created",
    "a chat became an offline ticket: the shopper left an e-mail and a "
    "message (form), or left the queue before anyone was free (left_queue)",
)
@dataclass(frozen=True, kw_only=True, slots=True)
class TicketCreated(Event):
    ticket_id: int
    source: str = "form"


@_event(
    "ticket.answered",
    "an agent answered an offline ticket (in the chat, and by e-mail "
    "when there is an address and a mail server)",
)
@dataclass(frozen=True, kw_only=True, slots=True)
class TicketAnswered(Event):
    ticket_id: int
    message_id: int
    emailed: bool


@_event("ticket.done", "an agent marked an offline ticket done")
@dataclass(frozen=True, kw_only=True, slots=True)
class TicketDone(Event):
    ticket_id: int


@_event("mail.sent", "the answer to a ticket was handed to the mail server")
@dataclass(frozen=True, kw_only=True, slots=True)
class MailSent(Event):
    ticket_id: int | None
    attempts: int


@_event("mail.failed", "sending the answer to a ticket failed (retried later unless final)")
@dataclass(frozen=True, kw_only=True, slots=True)
class MailFailed(Event):
    ticket_id: int | None
    attempts: int
    final: bool
    error: str


@_event(
    "answer.retried",
    "after 'this did not help' the bot offered other answers or asked the shopper to rephrase",
)
@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerRetried(Event):
    message_id: int
    suggestions: list[str]


@_event(
    "agent.revoked",
    "an agent's access ended while connected (signed out, disabled or "
    "the session expired): the connection was dropped",
)
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentRevoked(Event):
    reason: str


@_event("agent.status", "an agent went online or away")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentStatusChanged(Event):
    status: str


@_event(
    "agent.capacity_override",
    "an agent took a chat, or was given one, past its capacity on purpose (override)",
)
@dataclass(frozen=True, kw_only=True, slots=True)
class CapacityOverridden(Event):
    action: str  # take | transfer
    target: int  # the agent whose capacity was passed
    load: int  # its chats with this one
    capacity: int


@_event("attachment.received", "a shopper sent an image")
@dataclass(frozen=True, kw_only=True, slots=True)
class AttachmentReceived(Event):
    message_id: int
    attachment_id: str
    content_type: str
    size: int


@_event("agent.login", "an agent signed in to the console")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentLoggedIn(Event):
    pass


@_event("agent.logout", "an agent signed out")
@dataclass(frozen=True, kw_only=True, slots=True)
class AgentLoggedOut(Event):
    pass


# -- satisfaction -----------------------------------------------------------


@_event("csat.asked", "the shopper was asked for a CSAT rating")
@dataclass(frozen=True, kw_only=True, slots=True)
class CsatAsked(Event):
    pass


@_event("csat.given", "the shopper rated the chat (1-5)")
@dataclass(frozen=True, kw_only=True, slots=True)
class CsatGiven(Event):
    rating: int
    has_comment: bool


@_event("csat.updated", "the shopper changed their rating within the window")
@dataclass(frozen=True, kw_only=True, slots=True)
class CsatUpdated(Event):
    rating: int
    previous: int
    has_comment: bool


@_event("nps.given", "the shopper answered the Net Promoter question (0-10)")
@dataclass(frozen=True, kw_only=True, slots=True)
class NpsGiven(Event):
    score: int


# -- privacy (audit records: counts and kinds, never the person's data) -------------


@_event("privacy.erased", "a person's data was erased on request (what was asked by, counts)")
@dataclass(frozen=True, kw_only=True, slots=True)
class PrivacyErased(Event):
    selector: str  # email | conversation | visitor (the kind, never the value)
    via: str  # cli | dashboard
    conversations: int
    messages: int
    tickets: int
    comments: int
    events: int
    closed_chats: list[str]  # chats that were still open and were ended first
    ticket_ids: list[int] = field(default_factory=list)  # offline tickets deleted


@_event("privacy.exported", "a person's data was exported on request (what was asked by, counts)")
@dataclass(frozen=True, kw_only=True, slots=True)
class PrivacyExported(Event):
    selector: str
    via: str
    conversations: int
    messages: int


@_event("retention.purged", "chats ended before the retention period lost their personal data")
@dataclass(frozen=True, kw_only=True, slots=True)
class RetentionPurged(Event):
    days: int
    before: str  # chats that ended before this time
    conversations: int
    messages: int
    tickets: int
    comments: int
    events: int
    seconds: float
