""":class:`bot.live.LiveState` on Redis, shared by every process of a deployment.

Every change is one Lua script (``bot.cluster.scripts``), so claim, transfer and
release are compare-and-set across processes: of two processes claiming one chat
at once, exactly one gets it. Each connection is recorded with the process
(node) that holds it; when a process stops beating (``bot.cluster.node``) the
leader closes its connections here, so a process that died leaves no agent
online and no shopper connected for longer than the heartbeat's time-out.

Times come back as ages (milliseconds ago, on Redis's clock) and are turned into
this process's ``time.monotonic()``, the clock the callers compare them with.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from bot.cluster import scripts
from bot.live import AgentPresence

P = scripts.PREFIX


def _since(age_ms: Any) -> float | None:
    """A Redis age in ms as a time on this process's monotonic clock."""
    if age_ms in (None, ""):
        return None
    return time.monotonic() - int(age_ms) / 1000


def _presence(row: Any) -> AgentPresence | None:
    if not row:
        return None
    agent_id, status, capacity, manager, gone, last, *sids = row
    return AgentPresence(
        int(agent_id),
        status=status,
        capacity=int(capacity),
        manager=manager == "1",
        sids=set(sids),
        disconnected_at=_since(gone),
        last_assigned=_since(last) or 0.0,
    )


class Scripts:
    """The Lua scripts registered on one client (EVALSHA, loaded when missing)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._scripts: dict[str, Any] = {}

    async def run(self, name: str, *args: Any) -> Any:
        registered = self._scripts.get(name)
        if registered is None:
            registered = self._scripts[name] = self.redis.register_script(getattr(scripts, name))
        return await registered(args=[str(a) for a in args])


class RedisLiveState:
    """:class:`bot.live.LiveState` on Redis; ``node`` names this process."""

    def __init__(self, redis: Redis, node: str) -> None:
        self.redis = redis
        self.node = node
        self.scripts = Scripts(redis)
        # The conversations of this process's own shopper connections: a connection's
        # events are handled by the process that holds it, so that is where it is
        # asked about (every turn); kept here, it costs no round trip.
        self._mine: dict[str, str] = {}

    async def _run(self, name: str, *args: Any) -> Any:
        return await self.scripts.run(name, *args)

    # -- shoppers
    async def shopper_joined(self, sid: str, conversation_id: str) -> None:
        await self._run("SHOPPER_JOINED", sid, conversation_id, self.node)
        self._mine[sid] = conversation_id

    async def shopper_left(self, sid: str) -> str | None:
        self._mine.pop(sid, None)
        found = await self._run("SHOPPER_LEFT", sid, self.node)
        return str(found) if found else None

    async def shopper_conversation(self, sid: str) -> str | None:
        mine = self._mine.get(sid)
        if mine is not None:
            return mine
        found = await self.redis.hget(P + "shopper_sid", sid)
        return str(found) if found is not None else None

    async def shopper_online(self, conversation_id: str) -> bool:
        return bool(await self.redis.scard(P + "shoppers:" + conversation_id))

    async def shopper_away_since(self, conversation_id: str) -> float | None:
        return _since(await self._run("SHOPPER_AWAY_SINCE", conversation_id))

    async def shopper_expected(self, conversation_id: str) -> None:
        await self._run("SHOPPER_EXPECTED", conversation_id)

    async def closed(self, conversation_id: str) -> tuple[int | None, bool]:
        owner, was_queued = await self._run("CLOSED", conversation_id)
        return (int(owner) if owner else None), was_queued == 1

    # -- ownership
    async def claim(self, conversation_id: str, agent_id: int) -> bool:
        return bool(await self._run("CLAIM", conversation_id, agent_id))

    async def transfer(self, conversation_id: str, from_agent: int | None, to_agent: int) -> bool:
        expected = "" if from_agent is None else from_agent
        return bool(await self._run("TRANSFER", conversation_id, expected, to_agent))

    async def release(self, conversation_id: str) -> int | None:
        agent = await self._run("RELEASE", conversation_id)
        return int(agent) if agent else None

    async def owner(self, conversation_id: str) -> int | None:
        agent = await self.redis.hget(P + "owner", conversation_id)
        return int(agent) if agent else None

    async def owned_by(self, agent_id: int) -> set[str]:
        return {str(c) for c in await self.redis.smembers(P + f"owned:{agent_id}")}

    # -- the queue
    async def enqueue(self, conversation_id: str, since: float) -> None:
        await self.redis.zadd(P + "queue", {conversation_id: since})

    async def dequeue(self, conversation_id: str) -> bool:
        return bool(await self.redis.zrem(P + "queue", conversation_id))

    async def queue(self) -> list[tuple[str, float]]:
        items: list[Any] = await self.redis.zrange(P + "queue", 0, -1, withscores=True)
        return [(str(cid), float(score)) for cid, score in items]

    async def queue_presence(self) -> list[tuple[str, float, bool]]:
        """The queue with, for each chat, whether its shopper is connected (one trip)."""
        rows = await self._run("QUEUE_PRESENCE")
        return [(str(cid), float(score), online == 1) for cid, score, online in rows]

    async def queued(self, conversation_id: str) -> bool:
        return await self.redis.zscore(P + "queue", conversation_id) is not None

    async def queue_length(self) -> int:
        return int(await self.redis.zcard(P + "queue"))

    # -- agents
    async def agent_connected(
        self, agent_id: int, sid: str, capacity: int, status: str, manager: bool
    ) -> AgentPresence:
        row = await self._run(
            "AGENT_CONNECTED", agent_id, sid, capacity, status, int(manager), self.node
        )
        presence = _presence(row)
        assert presence is not None
        return presence

    async def agent_disconnected(self, sid: str) -> AgentPresence | None:
        return _presence(await self._run("AGENT_DISCONNECTED", sid, self.node))

    async def agent_gone(self, agent_id: int) -> set[str]:
        return set(await self._run("AGENT_GONE", agent_id))

    async def agent_for_sid(self, sid: str) -> AgentPresence | None:
        return _presence(await self._run("AGENT_FOR_SID", sid))

    async def set_agent_status(self, agent_id: int, status: str) -> None:
        await self._run("SET_AGENT_STATUS", agent_id, status)

    async def agents(self) -> list[AgentPresence]:
        rows = await self._run("AGENTS")
        return [p for p in (_presence(row) for row in rows) if p is not None]

    async def agent(self, agent_id: int) -> AgentPresence | None:
        return _presence(await self._run("AGENT", agent_id))

    async def mark_assigned(self, agent_id: int) -> None:
        await self._run("MARK_ASSIGNED", agent_id)

    async def expect_agent(self, agent_id: int) -> None:
        await self._run("EXPECT_AGENT", agent_id)
