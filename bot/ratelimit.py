"""Rate limits and caps against floods, behind one small interface.

:class:`RateLimiter` counts hits per key in a sliding window made of a few
buckets (``window / 10`` seconds each), so a key costs a handful of integers
whatever its limit, and idle keys are dropped as the windows pass: memory stays
in proportion to the keys active in the last window, and below ``max_keys``.
:class:`Gauge` counts what a key holds at once (connections of an address).

The service's limits (README, "Security") are named :class:`Rule` s counted
through :class:`Counters`. :class:`MemoryCounters` is the one-process
implementation; ``bot.cluster.counters.RedisCounters`` counts the same rules on
Redis for a deployment of several processes (``supportbot serve --redis``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.errors import ClientError
from bot.settings import Settings

BUCKETS = 10
MAX_KEYS = 100_000


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key.

    The window is the current bucket and the nine before it, so it spans between
    0.9 and 1 times ``window``; a refused hit is told when the oldest bucket that
    keeps it over the limit leaves the window (never more than ``window``).
    """

    def __init__(
        self, limit: int, window: float, *, buckets: int = BUCKETS, max_keys: int = MAX_KEYS
    ) -> None:
        self.limit = limit
        self.window = window
        self.buckets = buckets
        self.width = window / buckets
        self.max_keys = max_keys
        # key -> [bucket number, hits] pairs, oldest first
        self._hits: dict[str, deque[list[int]]] = {}
        self._pruned = 0

    def _bucket(self, now: float | None) -> tuple[int, float]:
        now = time.monotonic() if now is None else now
        return math.floor(now / self.width), now

    def _live(self, key: str, bucket: int) -> deque[list[int]] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0][0] <= bucket - self.buckets:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def hit(self, key: str, now: float | None = None) -> float:
        """Count a hit; return 0 when allowed, else the seconds until one is (not counted)."""
        bucket, now = self._bucket(now)
        wait = self._wait(key, bucket, now)
        if wait:
            return wait
        hits = self._hits.get(key)
        if hits is None:
            self._prune(bucket)
            hits = self._hits[key] = deque()
        if hits and hits[-1][0] == bucket:
            hits[-1][1] += 1
        else:
            hits.append([bucket, 1])
        return 0.0

    def wait(self, key: str, now: float | None = None) -> float:
        """Seconds until a hit would be allowed (0: now), without counting one."""
        bucket, now = self._bucket(now)
        return self._wait(key, bucket, now)

    def _wait(self, key: str, bucket: int, now: float) -> float:
        hits = self._live(key, bucket)
        if hits is None:
            return 0.0
        over = sum(n for _, n in hits) - self.limit + 1
        if over <= 0:
            return 0.0
        for number, n in hits:  # oldest first: which bucket has to leave the window
            over -= n
            if over <= 0:
                return max(round((number + self.buckets) * self.width - now, 2), 0.01)
        return self.window  # not reached: the buckets hold every counted hit

    def undo(self, key: str) -> None:
        """Take back the latest counted hit (an attempt that turned out not to count)."""
        hits = self._hits.get(key)
        if hits:
            hits[-1][1] -= 1
            if not hits[-1][1]:
                hits.pop()
            if not hits:
                del self._hits[key]

    def forget(self, key: str) -> None:
        self._hits.pop(key, None)

    def __len__(self) -> int:
        return len(self._hits)

    def _prune(self, bucket: int) -> None:
        """Drop idle keys once a window (a sweep over all keys), and the oldest keys
        past ``max_keys`` (they start afresh if they come back)."""
        if bucket - self._pruned >= self.buckets:
            self._pruned = bucket
            for key in [
                k for k, hits in self._hits.items() if hits[-1][0] <= bucket - self.buckets
            ]:
                del self._hits[key]
        while len(self._hits) >= self.max_keys:
            del self._hits[next(iter(self._hits))]


class Gauge:
    """At most ``limit`` things held at once per key (e.g. connections of an address)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        held = self._held.get(key, 0)
        if held >= self.limit:
            return False
        self._held[key] = held + 1
        return True

    def release(self, key: str) -> None:
        held = self._held.get(key, 0) - 1
        if held > 0:
            self._held[key] = held
        else:
            self._held.pop(key, None)

    def held(self, key: str) -> int:
        return self._held.get(key, 0)

    def __len__(self) -> int:
        return len(self._held)


@dataclass(frozen=True, slots=True)
class Rule:
    """``limit`` hits per ``window`` seconds for each key; a gauge when ``window`` is 0."""

    name: str
    limit: int
    window: float = 0.0


class Counters(Protocol):
    """Where the service's limits are counted (shared by every process of a deployment)."""

    async def hit(self, rule: Rule, key: str) -> float:
        """Count a hit; 0 when allowed, else seconds until one is (then nothing is counted)."""
        ...

    async def undo(self, rule: Rule, key: str) -> None: ...

    async def hit_all(self, hits: Sequence[tuple[Rule, str]]) -> tuple[Rule, float] | None:
        """Count one hit on each, or on none: then the first rule that refused and the
        seconds until it allows one."""
        ...

    async def forget(self, rule: Rule, key: str) -> None:
        """Start the key afresh (a successful sign-in clears its failures)."""
        ...

    async def acquire(self, rule: Rule, key: str) -> bool:
        """Hold one of the gauge's ``limit``; False (nothing held) when all are."""
        ...

    async def release(self, rule: Rule, key: str) -> None: ...


class MemoryCounters:
    """:class:`Counters` for one process."""

    def __init__(self) -> None:
        self._windows: dict[str, RateLimiter] = {}
        self._gauges: dict[str, Gauge] = {}

    def window(self, rule: Rule) -> RateLimiter:
        limiter = self._windows.get(rule.name)
        if limiter is None:
            limiter = self._windows[rule.name] = RateLimiter(rule.limit, rule.window)
        return limiter

    def gauge(self, rule: Rule) -> Gauge:
        gauge = self._gauges.get(rule.name)
        if gauge is None:
            gauge = self._gauges[rule.name] = Gauge(rule.limit)
        return gauge

    async def hit(self, rule: Rule, key: str) -> float:
        return self.window(rule).hit(key)

    async def undo(self, rule: Rule, key: str) -> None:
        self.window(rule).undo(key)

    async def hit_all(self, hits: Sequence[tuple[Rule, str]]) -> tuple[Rule, float] | None:
        counted: list[tuple[Rule, str]] = []
        for rule, key in hits:
            wait = self.window(rule).hit(key)
            if wait:
                for done, done_key in reversed(counted):
                    self.window(done).undo(done_key)
                return rule, wait
            counted.append((rule, key))
        return None

    async def forget(self, rule: Rule, key: str) -> None:
        self.window(rule).forget(key)

    async def acquire(self, rule: Rule, key: str) -> bool:
        return self.gauge(rule).acquire(key)

    async def release(self, rule: Rule, key: str) -> None:
        self.gauge(rule).release(key)


class Limits:
    """The shoppers' limits per conversation and per client address (README, "Security").

    Per conversation they are tight (one shopper types; reconnecting or opening
    tabs does not reset them); per address they are generous, since many
    shoppers may share one address (a mobile carrier's NAT, an office).
    """

    def __init__(self, settings: Settings, counters: Counters | None = None) -> None:
        self.counters: Counters = counters or MemoryCounters()
        window, address_window = settings.rate_limit_window, settings.address_window
        self.messages = Rule("messages", settings.rate_limit_messages, window)
        self.handoffs = Rule("handoffs", settings.rate_limit_handoffs, window)
        self.address_messages = Rule("address_messages", settings.address_messages, address_window)
        self.address_conversations = Rule(
            "address_conversations", settings.address_conversations, address_window
        )
        self.address_handoffs = Rule("address_handoffs", settings.address_handoffs, address_window)
        self.address_tickets = Rule("address_tickets", settings.address_tickets, address_window)
        self.connections = Rule("address_connections", settings.address_connections)

    async def check(self, *hits: tuple[Rule, str]) -> None:
        """Count one hit on each (rule, key), or none and raise ``rate_limited``."""
        refused = await self.counters.hit_all([hit for hit in hits if hit[0].limit > 0])
        if refused is not None:  # (a limit of 0 is turned off)
            rule, wait = refused
            raise ClientError("rate_limited", retry_after=wait, limit=rule.name)
