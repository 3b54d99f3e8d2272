"""Who a privacy request is about, and what it found or removed."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.validate import EMAIL

Kind = Literal["email", "conversation", "visitor"]
KINDS: tuple[Kind, ...] = ("email", "conversation", "visitor")
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
VISITOR_ID_MAX = 200  # the widget's setUser id is stored cut to 200 characters


class SelectorError(ValueError):
    """A malformed e-mail or id: the message says what is wrong (never echoes more)."""


@dataclass(frozen=True, slots=True)
class Selector:
    """One person, by the e-mail they gave, a conversation id or the shop's customer id."""

    kind: Kind
    value: str

    @classmethod
    def parse(cls, kind: str, value: object) -> Selector:
        if kind not in KINDS:
            raise SelectorError(f"expected one of {', '.join(KINDS)}, got {kind!r}")
        if not isinstance(value, str) or not value.strip():
            raise SelectorError(f"{kind}: a value is needed")
        text = value.strip()
        if kind == "email":
            if len(text) > 254 or not EMAIL.fullmatch(text):
                raise SelectorError(f"email: not an e-mail address: {_short(text)!r}")
            return cls("email", text.lower())
        if kind == "conversation":
            if not CONVERSATION_ID.fullmatch(text):
                raise SelectorError(
                    "conversation: a conversation id is 1-64 characters of "
                    f"A-Z, a-z, 0-9, '_' or '-', got {_short(text)!r}"
                )
            return cls("conversation", text)
        if len(text) > VISITOR_ID_MAX:
            raise SelectorError(f"visitor: a customer id is at most {VISITOR_ID_MAX} characters")
        return cls("visitor", text)


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(slots=True)
class Found:
    """What a request would touch (the dashboard shows it before erasing)."""

    conversations: int = 0
    open_chats: int = 0
    messages: int = 0
    tickets: int = 0
    ratings: int = 0
    comments: int = 0
    anonymised: int = 0  # conversations already without personal data

    @property
    def nothing(self) -> bool:
        return not (self.conversations or self.tickets)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Removed:
    """What an erasure or a retention purge removed."""

    conversations: int = 0  # conversations whose personal data was removed
    messages: int = 0  # messages deleted
    tickets: int = 0  # offline tickets deleted
    comments: int = 0  # CSAT comments cleared
    events: int = 0  # events whose personal properties were cleared
    closed_chats: list[str] = field(default_factory=list)  # open chats that were ended first
    ticket_ids: list[int] = field(default_factory=list)  # the offline tickets deleted
    attachment_ids: list[str] = field(default_factory=list)  # pictures (files removed after)

    @property
    def nothing(self) -> bool:
        return not (
            self.conversations
            or self.messages
            or self.tickets
            or self.comments
            or self.events
            or self.attachment_ids
        )

    def add(self, other: Removed) -> None:
        self.conversations += other.conversations
        self.messages += other.messages
        self.tickets += other.tickets
        self.comments += other.comments
        self.events += other.events
        self.closed_chats.extend(c for c in other.closed_chats if c not in self.closed_chats)
        self.ticket_ids.extend(t for t in other.ticket_ids if t not in self.ticket_ids)
        self.attachment_ids.extend(a for a in other.attachment_ids if a not in self.attachment_ids)

    def counts(self) -> dict[str, int]:
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "tickets": self.tickets,
            "comments": self.comments,
            "events": self.events,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "pictures": len(self.attachment_ids),
            "closed_chats": list(self.closed_chats),
        }
