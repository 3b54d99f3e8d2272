"""Office hours: when the team is usually there, in the shop's time zone.

Written as ``SUPPORTBOT_OFFICE_HOURS`` (days and a time range, several parts
separated by commas or semicolons) with ``SUPPORTBOT_TIMEZONE``::

    mon-fri 09:00-18:00, sat 10:00-13:00

Days are ``mon tue wed thu fri sat sun`` (a range ``mon-fri`` or one day); a
range may end at ``24:00``; a day may have several ranges. Empty means no office
hours: the widget then says nothing about when the team is back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True, slots=True)
class Span:
    day: int  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # minutes after midnight, up to 1440


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class OfficeHours:
    def __init__(self, spans: tuple[Span, ...], zone: ZoneInfo) -> None:
        self.spans = tuple(sorted(spans, key=lambda s: (s.day, s.start)))
        self.zone = zone

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> OfficeHours:
        """Raises ValueError naming what is wrong."""
        try:
            zone = ZoneInfo(timezone.strip() or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r} (e.g. Europe/Rome)") from None
        spans: list[Span] = []
        for raw in re.split(r"[;,]", text.strip().lower()):
            part = raw.strip()
            if not part:
                continue
            found = _PART.match(part)
            if not found or found["first"] not in DAYS or (found["last"] or "mon") not in DAYS:
                raise ValueError(
                    f"expected days and hours like 'mon-fri 09:00-18:00', got {raw.strip()!r}"
                )
            first = DAYS.index(found["first"])
            last = DAYS.index(found["last"]) if found["last"] else first
            start, end = _minutes(found["start"]), _minutes(found["end"])
            if end <= start:
                raise ValueError(f"the hours of {raw.strip()!r} end before they start")
            day = first
            while True:  # mon-fri, and also sat-mon across the week's end
                spans.append(Span(day, start, end))
                if day == last:
                    break
                day = (day + 1) % 7
        return cls(tuple(spans), zone)

    @property
    def configured(self) -> bool:
        return bool(self.spans)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(s.day == local.weekday() and s.start <= minute < s.end for s in self.spans)

    def next_open(self, at: datetime) -> datetime | None:
        """The next opening after ``at`` (UTC), or None without office hours."""
        if not self.spans:
            return None
        local = at.astimezone(self.zone)
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            for span in self.spans:
                if span.day != day.weekday() or span.start >= 1440:
                    continue
                opening = datetime.combine(day, time(span.start // 60, span.start % 60), self.zone)
                if opening > at:
                    return opening.astimezone(UTC)
        return None

    def public(self) -> list[list[object]]:
        """The week as ``[day, "HH:MM", "HH:MM"]`` (0 = Monday), for the widget."""
        return [[s.day, _clock(s.start), _clock(s.end)] for s in self.spans]
