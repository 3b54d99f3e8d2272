"""A cache of the report's per-day partial results, for days that can no longer change.

A day is *settled* once its end lies more than the CSAT rating window (plus a
margin) in the past. By then nothing counted on that day can change: its ratings
and surveys belong to chats that ended before it ended, whose rating window has
closed, and ended chats do not change. The report of any range is then the sum of
the settled days' cached partials and a fresh query over the days after them, and
its figures are exactly those computed without the cache (tests/test_reports.py
checks this). Durations are kept as values, so medians stay exact.

One exception, in practice never met: with a filter, an unanswered question counts
under its chat's agent, language or rating as they were when its day was cached;
a chat still open a whole rating window after the question could change them.

The cache lives in the server process (the dashboard keeps one); a restart empties
it, and so do an erasure and a retention purge (bot.privacy). Entries are per
(filters, day), least recently used ones dropped first.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

from bot.reports.filters import ReportFilter
from bot.reports.queries import collect
from bot.reports.store import first_day
from bot.reports.tally import Partial
from bot.store.clock import now

SETTLE_MARGIN = 3600.0  # seconds on top of the rating window (writes in flight, clocks)
DayKey = tuple[int | None, int | None, str | None, str | None, str]


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class DayCache:
    def __init__(
        self, settle_seconds: float, *, max_days: int = 20_000, clock: Callable[[], datetime] = now
    ) -> None:
        self.settle = timedelta(seconds=settle_seconds)
        self.max_days = max_days
        self.clock = clock
        self._days: OrderedDict[DayKey, Partial] = OrderedDict()
        self._lock = threading.Lock()  # the server's reader threads share the cache
        self._generation = 0  # counts clear(): a day read before a clear is not kept

    def __len__(self) -> int:
        return len(self._days)

    def clear(self) -> None:
        """Forget every day (after an erasure or a retention purge: cached days may hold
        the removed unanswered questions; they are computed again from the database).
        Days being read while it happens are not kept either."""
        with self._lock:
            self._days.clear()
            self._generation += 1

    def settled_through(self) -> date:
        """The last settled day."""
        return (self.clock() - self.settle).date() - timedelta(days=1)

    @staticmethod
    def _key(f: ReportFilter, day: date) -> DayKey:
        return (f.agent_id, f.rating, f.handled, f.language, day.isoformat())

    def _get(self, key: DayKey) -> Partial | None:
        with self._lock:
            found = self._days.get(key)
            if found is not None:
                self._days.move_to_end(key)
            return found

    def _put(self, key: DayKey, partial: Partial, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # read before a clear(): it may hold what was removed
            self._days[key] = partial
            self._days.move_to_end(key)
            while len(self._days) > self.max_days:
                self._days.popitem(last=False)

    def _settled(
        self, conn: sqlite3.Connection, f: ReportFilter, first: date, last: date
    ) -> list[Partial]:
        """The partials of settled days ``first`` .. ``last``, querying the missing ones
        (each run of consecutive missing days with one set of queries)."""
        generation = self._generation
        found: dict[date, Partial] = {}
        missing: list[date] = []
        for day in _days(first, last):
            partial = self._get(self._key(f, day))
            if partial is None:
                missing.append(day)
            else:
                found[day] = partial
        runs: list[list[date]] = []
        for day in missing:
            if runs and runs[-1][-1] + timedelta(days=1) == day:
                runs[-1].append(day)
            else:
                runs.append([day])
        for run in runs:
            span = dataclasses.replace(f, since=run[0], until=run[-1])
            computed = collect(conn, span, by_day=True)
            for day in run:
                partial = computed.get(day.isoformat()) or Partial()
                self._put(self._key(f, day), partial, generation)
                found[day] = partial
        return [found[day] for day in _days(first, last)]

    def partial(self, conn: sqlite3.Connection, f: ReportFilter, period: str) -> Partial:
        """The report's partial for ``f``: settled days from the cache, the rest fresh."""
        merged = Partial()
        since = f.since or first_day(conn)
        last = self.settled_through()
        if f.until is not None:
            last = min(last, f.until)
        fresh_since = f.since
        if since is not None and since <= last:
            for partial in self._settled(conn, f, since, last):
                merged.add(partial, period)
            fresh_since = last + timedelta(days=1)
        if f.until is None or fresh_since is None or fresh_since <= f.until:
            fresh = dataclasses.replace(f, since=fresh_since)
            merged.add(collect(conn, fresh).get(None) or Partial(), period)
        return merged
