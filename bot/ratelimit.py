"""Sliding-window rate limits, per connection (messages) or per key (logins)."""

from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float | None = None) -> float:
        """Count a hit; return 0 when allowed, else the seconds until one is."""
        now = time.monotonic() if now is None else now
        wait = self.wait(key, now)
        if not wait:
            self._hits.setdefault(key, deque()).append(now)
        return wait

    def wait(self, key: str, now: float | None = None) -> float:
        """Seconds until a hit would be allowed (0: now), without counting one."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            return 0.0
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return 0.0
        if len(hits) >= self.limit:
            return round(hits[0] + self.window - now, 2) or 0.01
        return 0.0

    def forget(self, key: str) -> None:
        self._hits.pop(key, None)
