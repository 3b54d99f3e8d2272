"""Live state: who is connected, who owns which chat, the queue, agent presence.

Everything here is volatile and rebuilt from the database at start-up (see
``bot.chat.lifecycle``). The database is the record of who owns what: a move of a
conversation is committed first (``bot.store.lifecycle``) and the live state
follows it. The services use only the :class:`LiveState` interface;
:class:`MemoryLiveState` is the single-process implementation, and all methods
are coroutines so that another implementation can do I/O:
``bot.cluster.live.RedisLiveState`` keeps it in Redis for several processes
(``supportbot serve --redis``), where the per-conversation locks, the rate limits
and the leader's work are shared too (see ``bot.cluster``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from bot.store.clock import Clock


@dataclass(slots=True)
class AgentPresence:
    agent_id: int
    status: str = "away"  # online | away
    capacity: int = 3
    manager: bool = False
    sids: set[str] = field(default_factory=set)
    disconnected_at: float | None = None  # monotonic time the last connection dropped
    last_assigned: float = 0.0  # for round-robin among equally free agents

    @property
    def connected(self) -> bool:
        return bool(self.sids)

    @property
    def available(self) -> bool:
        """Takes new chats: online and connected."""
        return self.status == "online" and bool(self.sids)


class LiveState(Protocol):
    # shoppers
    async def shopper_joined(self, sid: str, conversation_id: str) -> None: ...
    async def shopper_left(self, sid: str) -> str | None: ...
    async def shopper_conversation(self, sid: str) -> str | None: ...
    async def shopper_online(self, conversation_id: str) -> bool: ...
    async def shopper_away_since(self, conversation_id: str) -> float | None: ...
    async def shopper_expected(self, conversation_id: str) -> None: ...
    async def closed(self, conversation_id: str) -> tuple[int | None, bool]:
        """The chat closed: release, dequeue and forget it in one step; returns (its
        owner, whether it was queued)."""
        ...

    # ownership: at most one agent per conversation
    async def claim(self, conversation_id: str, agent_id: int) -> bool: ...
    async def transfer(
        self, conversation_id: str, from_agent: int | None, to_agent: int
    ) -> bool: ...
    async def release(self, conversation_id: str) -> int | None: ...
    async def owner(self, conversation_id: str) -> int | None: ...
    async def owned_by(self, agent_id: int) -> set[str]: ...

    # the queue, ordered by the time each chat started waiting
    async def enqueue(self, conversation_id: str, since: float) -> None: ...
    async def dequeue(self, conversation_id: str) -> bool: ...
    async def queue(self) -> list[tuple[str, float]]: ...
    async def queue_presence(self) -> list[tuple[str, float, bool]]:
        """The queue, each chat with whether its shopper is connected."""
        ...

    async def queued(self, conversation_id: str) -> bool: ...
    async def queue_length(self) -> int: ...

    # agent presence
    async def agent_connected(
        self, agent_id: int, sid: str, capacity: int, status: str, manager: bool
    ) -> AgentPresence: ...
    async def agent_disconnected(self, sid: str) -> AgentPresence | None: ...
    async def agent_gone(self, agent_id: int) -> set[str]: ...
    async def agent_for_sid(self, sid: str) -> AgentPresence | None: ...
    async def set_agent_status(self, agent_id: int, status: str) -> None: ...
    async def agents(self) -> list[AgentPresence]: ...
    async def agent(self, agent_id: int) -> AgentPresence | None: ...
    async def mark_assigned(self, agent_id: int) -> None: ...
    async def expect_agent(self, agent_id: int) -> None: ...


class MemoryLiveState:
    """:class:`LiveState` for one process, in plain dictionaries."""

    def __init__(self, clock: Clock | None = None) -> None:
        # times of leaving (shoppers, agents), which the sweeper compares with its clock
        self._clock = clock or Clock()
        self._shopper_sids: dict[str, str] = {}  # sid -> conversation
        self._shoppers: dict[str, set[str]] = {}  # conversation -> sids
        self._away: dict[str, float] = {}  # conversation -> monotonic time its shopper left
        self._owners: dict[str, int] = {}
        self._owned: dict[int, set[str]] = {}  # agent -> conversations (index of _owners)
        self._queue: dict[str, float] = {}
        self._agents: dict[int, AgentPresence] = {}
        self._agent_sids: dict[str, int] = {}

    # -- shoppers
    async def shopper_joined(self, sid: str, conversation_id: str) -> None:
        await self.shopper_left(sid)
        self._shopper_sids[sid] = conversation_id
        self._shoppers.setdefault(conversation_id, set()).add(sid)
        self._away.pop(conversation_id, None)

    async def shopper_left(self, sid: str) -> str | None:
        conversation_id = self._shopper_sids.pop(sid, None)
        if conversation_id is not None:
            sids = self._shoppers.get(conversation_id, set())
            sids.discard(sid)
            if not sids:
                self._shoppers.pop(conversation_id, None)
                self._away[conversation_id] = self._clock.monotonic()
        return conversation_id

    async def shopper_away_since(self, conversation_id: str) -> float | None:
        """When the shopper's last connection closed (None while connected, or unknown)."""
        return None if conversation_id in self._shoppers else self._away.get(conversation_id)

    async def shopper_expected(self, conversation_id: str) -> None:
        """After a start: the shopper of this open chat is not connected yet."""
        if conversation_id not in self._shoppers:
            self._away.setdefault(conversation_id, self._clock.monotonic())

    async def closed(self, conversation_id: str) -> tuple[int | None, bool]:
        owner = await self.release(conversation_id)
        was_queued = await self.dequeue(conversation_id)
        self._away.pop(conversation_id, None)
        return owner, was_queued

    async def shopper_conversation(self, sid: str) -> str | None:
        return self._shopper_sids.get(sid)

    async def shopper_online(self, conversation_id: str) -> bool:
        return bool(self._shoppers.get(conversation_id))

    # -- ownership
    async def claim(self, conversation_id: str, agent_id: int) -> bool:
        if conversation_id in self._owners:
            return False
        self._owners[conversation_id] = agent_id
        self._owned.setdefault(agent_id, set()).add(conversation_id)
        self._queue.pop(conversation_id, None)
        return True

    async def transfer(self, conversation_id: str, from_agent: int | None, to_agent: int) -> bool:
        if self._owners.get(conversation_id) != from_agent:
            return False
        await self.release(conversation_id)
        self._owners[conversation_id] = to_agent
        self._owned.setdefault(to_agent, set()).add(conversation_id)
        return True

    async def release(self, conversation_id: str) -> int | None:
        agent_id = self._owners.pop(conversation_id, None)
        if agent_id is not None:
            owned = self._owned.get(agent_id, set())
            owned.discard(conversation_id)
            if not owned:
                self._owned.pop(agent_id, None)
        return agent_id

    async def owner(self, conversation_id: str) -> int | None:
        return self._owners.get(conversation_id)

    async def owned_by(self, agent_id: int) -> set[str]:
        return set(self._owned.get(agent_id, ()))

    # -- queue
    async def enqueue(self, conversation_id: str, since: float) -> None:
        self._queue[conversation_id] = since

    async def dequeue(self, conversation_id: str) -> bool:
        return self._queue.pop(conversation_id, None) is not None

    async def queue(self) -> list[tuple[str, float]]:
        return sorted(self._queue.items(), key=lambda item: (item[1], item[0]))

    async def queue_presence(self) -> list[tuple[str, float, bool]]:
        return [(cid, since, bool(self._shoppers.get(cid))) for cid, since in await self.queue()]

    async def queued(self, conversation_id: str) -> bool:
        return conversation_id in self._queue

    async def queue_length(self) -> int:
        return len(self._queue)

    # -- agents
    async def agent_connected(
        self, agent_id: int, sid: str, capacity: int, status: str, manager: bool
    ) -> AgentPresence:
        presence = self._agents.get(agent_id)
        if presence is None:
            presence = self._agents[agent_id] = AgentPresence(agent_id, capacity=capacity)
        presence.capacity = capacity
        presence.manager = manager
        if not presence.sids:  # the first connection brings the account's saved status
            presence.status = status
        presence.sids.add(sid)
        presence.disconnected_at = None
        self._agent_sids[sid] = agent_id
        return presence

    async def agent_disconnected(self, sid: str) -> AgentPresence | None:
        agent_id = self._agent_sids.pop(sid, None)
        if agent_id is None:
            return None
        presence = self._agents[agent_id]
        presence.sids.discard(sid)
        if not presence.sids:
            presence.disconnected_at = self._clock.monotonic()
        return presence

    async def agent_gone(self, agent_id: int) -> set[str]:
        """The agent signed out or was disabled: forget the presence; return its sids."""
        presence = self._agents.pop(agent_id, None)
        if presence is None:
            return set()
        for sid in presence.sids:
            self._agent_sids.pop(sid, None)
        return set(presence.sids)

    async def agent_for_sid(self, sid: str) -> AgentPresence | None:
        agent_id = self._agent_sids.get(sid)
        return None if agent_id is None else self._agents.get(agent_id)

    async def set_agent_status(self, agent_id: int, status: str) -> None:
        presence = self._agents.setdefault(agent_id, AgentPresence(agent_id))
        presence.status = status

    async def agents(self) -> list[AgentPresence]:
        return list(self._agents.values())

    async def agent(self, agent_id: int) -> AgentPresence | None:
        return self._agents.get(agent_id)

    async def mark_assigned(self, agent_id: int) -> None:
        presence = self._agents.get(agent_id)
        if presence is not None:
            presence.last_assigned = time.monotonic()

    async def expect_agent(self, agent_id: int) -> None:
        presence = self._agents.setdefault(agent_id, AgentPresence(agent_id))
        if not presence.sids and presence.disconnected_at is None:
            presence.disconnected_at = self._clock.monotonic()
