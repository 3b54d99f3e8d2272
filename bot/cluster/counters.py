""":class:`bot.ratelimit.Counters` on Redis: every process counts in the same buckets.

A rate is counted like :class:`bot.ratelimit.RateLimiter` (a window of ten buckets,
one key per bucket that expires with the window, on Redis's clock); a gauge is a
hash with each process's share, so the share of a process that died is given back
when the leader reaps it (``bot.cluster.node``).
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from bot.cluster.live import Scripts
from bot.cluster.scripts import PREFIX
from bot.ratelimit import BUCKETS, Rule


def _width_ms(rule: Rule) -> int:
    return max(1, round(rule.window * 1000 / BUCKETS))


class RedisCounters:
    def __init__(self, redis: Redis, node: str) -> None:
        self.node = node
        self.scripts = Scripts(redis)

    @staticmethod
    def _key(rule: Rule, key: str) -> str:
        return f"{PREFIX}rl:{rule.name}|{key}"

    async def hit(self, rule: Rule, key: str) -> float:
        refused = await self.hit_all([(rule, key)])
        return refused[1] if refused else 0.0

    async def hit_all(self, hits: Sequence[tuple[Rule, str]]) -> tuple[Rule, float] | None:
        if not hits:
            return None
        args: list[object] = []
        for rule, key in hits:
            args += [self._key(rule, key), rule.limit, _width_ms(rule), BUCKETS]
        refused, wait = await self.scripts.run("HIT_ALL", *args)
        if not refused:
            return None
        return hits[int(refused) - 1][0], round(int(wait) / 1000, 2)

    async def undo(self, rule: Rule, key: str) -> None:
        await self.scripts.run("UNDO", self._key(rule, key), _width_ms(rule), BUCKETS)

    async def forget(self, rule: Rule, key: str) -> None:
        await self.scripts.run("FORGET", self._key(rule, key), _width_ms(rule), BUCKETS)

    async def acquire(self, rule: Rule, key: str) -> bool:
        gauge = f"{PREFIX}gauge:{rule.name}|{key}"
        return bool(await self.scripts.run("ACQUIRE", gauge, rule.limit, self.node))

    async def release(self, rule: Rule, key: str) -> None:
        await self.scripts.run("RELEASE_GAUGE", f"{PREFIX}gauge:{rule.name}|{key}", self.node)
