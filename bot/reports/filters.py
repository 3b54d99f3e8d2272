"""What a report covers: a date range of whole UTC days and filters on conversations.

One :class:`ReportFilter` is shared by the dashboard, the HTTP API and the CLI;
``from_params`` reads it from query-string or command-line values and raises
:class:`FilterError` with a message fit for the user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

Handled = Literal["bot", "escalated"]
HANDLED: tuple[Handled, ...] = ("bot", "escalated")
LANGUAGE = re.compile(r"[a-z]{2,3}")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LOW_RATING = 2  # ratings of 1 and 2 are "low" (highlighted in the log)


class FilterError(ValueError):
    """A date or filter value the user has to correct."""


def parse_day(value: str, name: str) -> date:
    """``YYYY-MM-DD`` as a date; a clear :class:`FilterError` otherwise."""
    text = value.strip()
    if not DATE.fullmatch(text):
        raise FilterError(f"{name}: expected a date as YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{name}: {value!r} is not a real date") from None


def day_start(day: date) -> str:
    """The first instant of a UTC day, as the database writes times."""
    return f"{day.isoformat()}T00:00:00.000Z"


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """A range of whole UTC days (both ends inclusive) and filters on conversations.

    ``agent_id``: the agent who last handled the conversation; ``rating``: its
    CSAT rating; ``handled``: ``"bot"`` (never escalated, no agent) or
    ``"escalated"``; ``language``: the conversation's language.
    """

    since: date | None = None
    until: date | None = None
    agent_id: int | None = None
    rating: int | None = None
    handled: Handled | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise FilterError(f"since ({self.since}) is after until ({self.until})")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise FilterError(f"rating: expected 1 to 5, got {self.rating}")
        if self.handled is not None and self.handled not in HANDLED:
            raise FilterError(f"handled: expected bot or escalated, got {self.handled!r}")
        if self.language is not None and not LANGUAGE.fullmatch(self.language):
            raise FilterError(f"language: expected a language code like en, got {self.language!r}")
        if self.agent_id is not None and self.agent_id < 1:
            raise FilterError(f"agent: expected an agent id, got {self.agent_id}")

    @property
    def start(self) -> str | None:
        """Lower bound for timestamps (inclusive), or None."""
        return day_start(self.since) if self.since else None

    @property
    def end(self) -> str | None:
        """Upper bound for timestamps (exclusive): the start of the day after ``until``."""
        return day_start(self.until + timedelta(days=1)) if self.until else None

    @property
    def conversation_filters(self) -> bool:
        """True when anything but the date range narrows the conversations."""
        return any(v is not None for v in (self.agent_id, self.rating, self.handled, self.language))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ReportFilter:
        """Read ``since``, ``until``, ``agent``, ``rating``, ``handled``, ``language``.

        Missing or empty values mean "no filter".
        """

        def get(name: str) -> str | None:
            value = params.get(name)
            if value is None:
                return None
            text = str(value).strip()
            return text or None

        def integer(name: str) -> int | None:
            text = get(name)
            if text is None:
                return None
            if not (text.isascii() and text.isdigit()):
                raise FilterError(f"{name}: expected a whole number, got {text!r}")
            return int(text)

        since, until = get("since"), get("until")
        handled = get("handled")
        if handled is not None and handled not in HANDLED:
            raise FilterError(f"handled: expected bot or escalated, got {handled!r}")
        language = get("language")
        return cls(
            since=parse_day(since, "since") if since else None,
            until=parse_day(until, "until") if until else None,
            agent_id=integer("agent"),
            rating=integer("rating"),
            handled=handled,
            language=language.lower() if language else None,
        )

    def to_params(self) -> dict[str, str]:
        """The inverse of :meth:`from_params` (only the filters that are set)."""
        values = {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "agent": str(self.agent_id) if self.agent_id is not None else None,
            "rating": str(self.rating) if self.rating is not None else None,
            "handled": self.handled,
            "language": self.language,
        }
        return {k: v for k, v in values.items() if v is not None}
