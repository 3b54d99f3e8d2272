"""Who the agents are and who can take a chat: names, presence, load, the agents list.

Agents' names are read once and cached (a message or a card names its agent);
presence and load come from the live state; the list every console shows
(status, load, capacity) is pushed at most every ``PUSH_INTERVAL`` seconds.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from bot.fanout import Fanout
from bot.live import AgentPresence, LiveState
from bot.locks import Coalesced
from bot.store import Database, accounts

# Pushes to every console start at least this far apart: the first change goes out
# at once, a burst of changes (busy shop) in one push.
PUSH_INTERVAL = 0.1
# A push whose cost grows with its content takes at most about this share of the time.
PUSH_DUTY = 0.1


class AgentDirectory:
    def __init__(self, db: Database, live: LiveState, fanout: Fanout) -> None:
        self.db = db
        self.live = live
        self.fanout = fanout
        self._names: dict[int, str] = {}
        self._push = Coalesced(self._send, "push-agents", PUSH_INTERVAL, PUSH_DUTY)

    async def name(self, agent_id: int | None) -> str | None:
        if agent_id is None:
            return None
        name = self._names.get(agent_id)
        if name is None:
            agent = await self.db.read(partial(accounts.get_agent, agent_id=agent_id))
            if agent is None:
                return None
            name = self._names[agent_id] = agent.name
        return name

    async def available(self) -> list[AgentPresence]:
        """Agents who take new chats: online and connected."""
        return [a for a in await self.live.agents() if a.available]

    async def load(self, agent_id: int) -> int:
        return len(await self.live.owned_by(agent_id))

    async def seats(self) -> tuple[int, int]:
        """(agents available, their free seats)."""
        online = await self.available()
        free = 0
        for agent in online:
            free += max(0, agent.capacity - await self.load(agent.agent_id))
        return len(online), free

    async def view(self) -> list[dict[str, Any]]:
        everyone = {a.id: a for a in await self.db.read(accounts.list_agents) if not a.disabled}
        out = []
        for presence in await self.live.agents():
            agent = everyone.get(presence.agent_id)
            if agent is None:
                continue
            out.append(
                {
                    "id": agent.id,
                    "name": agent.name,
                    "role": agent.role,
                    "status": presence.status if presence.connected else "offline",
                    "load": await self.load(agent.id),
                    "capacity": presence.capacity,
                }
            )
        return out

    def changed(self) -> None:
        """Soon push the agents list (status, load) to every console."""
        self._push()

    async def _send(self) -> None:
        await self.fanout.to_agents("agents", await self.view())

    async def settled(self) -> None:
        await self._push.settled()
