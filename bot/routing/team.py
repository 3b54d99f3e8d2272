"""What shoppers are told about the team beyond who is online: how fast it usually
answers and, with office hours, when it is back (README: ``status``)."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from typing import Any

from bot.hours import OfficeHours
from bot.settings import Settings
from bot.store import Database
from bot.store.clock import iso, now
from bot.store.stats import first_reply_seconds

MEASURE_DAYS = 14  # the typical reply time is the median first response of these days
REMEASURE = 600.0  # seconds between two measurements


class Team:
    def __init__(self, settings: Settings, db: Database, hours: OfficeHours) -> None:
        self.settings = settings
        self.db = db
        self.hours = hours
        self._measured: float | None = None
        self._measured_at: float | None = None

    async def reply_time(self) -> float | None:
        """Seconds the team typically takes to answer: the setting, or else measured."""
        if self.settings.reply_time > 0:
            return self.settings.reply_time
        if self._measured_at is None or time.monotonic() - self._measured_at > REMEASURE:
            self._measured_at = time.monotonic()
            since = iso(now() - timedelta(days=MEASURE_DAYS))
            self._measured = await self.db.read(partial(first_reply_seconds, since=since))
        return self._measured

    def hours_public(self) -> dict[str, Any] | None:
        """The office hours for the widget: ``{timezone, week: [[day, from, to], ...]}``
        (day 0 is Monday), or None without office hours."""
        if not self.hours.configured:
            return None
        return {"timezone": self.hours.zone.key, "week": self.hours.public()}

    async def fields(self) -> dict[str, Any]:
        """``reply_time`` (seconds, None when unknown), ``open_now`` (None without office
        hours) and ``next_open`` (when closed: the next opening, ISO 8601 UTC)."""
        reply = await self.reply_time()
        at = now()
        open_now = self.hours.is_open(at) if self.hours.configured else None
        reopens = self.hours.next_open(at) if open_now is False else None
        return {
            "reply_time": round(reply) if reply is not None else None,
            "open_now": open_now,
            "next_open": iso(reopens) if reopens is not None else None,
        }
