"""Counting: tallies of one slice of the report, and partial results that add up.

A :class:`Partial` holds the tallies of a stretch of days, keyed by slice:
``("total", None)``, ``("period", "2026-03-02")``, ``("agent", 3)``,
``("handled", "bot")``, ``("language", "en")``, ``("reason", "asks for a person")``.
Partials of different days add up to the partial of all of them (the per-day
cache relies on it); durations are kept as values so that medians stay exact.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from bot.reports.model import Durations, Figures, ratio

Key = tuple[str, Any]
TOTAL: Key = ("total", None)


@dataclass(slots=True)
class Tally:
    ratings: list[int] = field(default_factory=lambda: [0] * 5)  # number of 1 .. 5
    asked: int = 0
    answered: int = 0
    chats: int = 0
    bot_only: int = 0
    missed: int = 0
    first_response: list[int] = field(default_factory=list)  # milliseconds
    resolution: list[int] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for i, n in enumerate(other.ratings):
            self.ratings[i] += n
        self.asked += other.asked
        self.answered += other.answered
        self.chats += other.chats
        self.bot_only += other.bot_only
        self.missed += other.missed
        self.first_response.extend(other.first_response)
        self.resolution.extend(other.resolution)

    def figures(self) -> Figures:
        ratings = sum(self.ratings)
        escalated = self.chats - self.bot_only
        return Figures(
            ratings=ratings,
            distribution=tuple(self.ratings),  # type: ignore[arg-type]
            csat_score=ratio(self.ratings[3] + self.ratings[4], ratings),
            average_rating=ratio(sum((i + 1) * n for i, n in enumerate(self.ratings)), ratings),
            low_ratings=self.ratings[0] + self.ratings[1],
            surveys_asked=self.asked,
            surveys_answered=self.answered,
            response_rate=ratio(self.answered, self.asked),
            chats=self.chats,
            bot_only=self.bot_only,
            escalated=escalated,
            containment_rate=ratio(self.bot_only, self.chats),
            escalation_rate=ratio(escalated, self.chats),
            missed=self.missed,
            first_response=Durations.of(self.first_response),
            resolution=Durations.of(self.resolution),
        )


@lru_cache(maxsize=4096)
def week_of(day: str) -> str:
    """The Monday (``YYYY-MM-DD``) of the ISO week of a day."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


@lru_cache(maxsize=4096)
def reasons_of(raw: str | None) -> tuple[str, ...]:
    """The escalation reasons stored as a JSON list, each once, in order."""
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(str(r) for r in value))


@dataclass(slots=True)
class Partial:
    tallies: dict[Key, Tally] = field(default_factory=dict)
    empty: int = 0  # ended chats without a shopper message or a person
    nps: Counter[int] = field(default_factory=Counter)  # NPS answers by score
    questions: Counter[str] = field(default_factory=Counter)  # unanswered, normalised

    def tally(self, key: Key) -> Tally:
        found = self.tallies.get(key)
        if found is None:
            found = self.tallies[key] = Tally()
        return found

    def add(self, other: Partial, period: str = "day") -> None:
        """Add another partial; with ``period="week"`` its days go to their weeks."""
        for key, tally in other.tallies.items():
            if period == "week" and key[0] == "period":
                key = ("period", week_of(key[1]))
            self.tally(key).add(tally)
        self.empty += other.empty
        self.nps.update(other.nps)
        self.questions.update(other.questions)


class Router:
    """Hands grouped query rows to the tallies of every slice they belong to.

    With ``by_day`` every day gets a partial of its own (for the cache), else
    all rows go to one partial whose period slices are days or weeks. The
    slices of a (day, agent, bot-only, language, reasons) combination are looked
    up once: the queries return the same few combinations over and over.
    """

    def __init__(self, period: str = "day", *, by_day: bool = False) -> None:
        self.period = period
        self.by_day = by_day
        self.partials: dict[str | None, Partial] = {}
        self._slices: dict[tuple[Any, ...], tuple[Tally, ...]] = {}

    def partial(self, day: str) -> Partial:
        key = day if self.by_day else None
        found = self.partials.get(key)
        if found is None:
            found = self.partials[key] = Partial()
        return found

    def slices(
        self, day: str, agent_id: int | None, bot_only: int, language: str, reasons: str | None
    ) -> tuple[Tally, ...]:
        period = day if self.period == "day" or self.by_day else week_of(day)
        combination = (period, agent_id, bot_only, language, reasons)
        found = self._slices.get(combination)
        if found is not None:
            return found
        keys: list[Key] = [
            TOTAL,
            ("period", period),
            ("handled", "bot" if bot_only else "escalated"),
            ("language", language),
        ]
        if agent_id is not None:
            keys.append(("agent", agent_id))
        keys.extend(("reason", reason) for reason in reasons_of(reasons))
        target = self.partial(day)
        found = self._slices[combination] = tuple(target.tally(key) for key in keys)
        return found
