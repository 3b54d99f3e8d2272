"""The one dispatcher: match waiting shoppers who are there with agents who have a free seat.

It runs whenever a chat or a seat becomes available: a chat is queued, a waiting
shopper comes back, an agent connects or goes online, a chat of an agent ends or
moves. Each run serves the queue in :meth:`QueueBoard.order`: shoppers on the
page first, oldest escalation first. Chats whose shopper left are never given a
seat; they wait for their shopper or become offline tickets. Each chat goes to
the available agent with the most free seats (round-robin among equals). Runs
are coalesced and one at a time, so a hand-off or a resolve is acknowledged
without waiting for them. With several processes it runs on the leader only
(``bot.leadership``): the others relay their requests to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.leadership import DISPATCH, Alone, Leadership
from bot.live import AgentPresence
from bot.locks import Coalesced
from bot.routing.directory import AgentDirectory
from bot.routing.queue import QueueBoard

Assign = Callable[[str, int, str], Awaitable[bool]]


class Dispatcher:
    def __init__(
        self,
        directory: AgentDirectory,
        board: QueueBoard,
        assign: Assign,
        leadership: Leadership | None = None,
    ) -> None:
        self.directory = directory
        self.board = board
        self._assign = assign
        self.leadership = leadership or Alone()
        self._soon = Coalesced(self.dispatch, "dispatch")

    def soon(self) -> None:
        """Something became available: match chats and seats now, in the background."""
        if self.leadership.leads():
            self._soon()
        else:
            self.leadership.relay(DISPATCH)

    async def dispatch(self) -> None:
        changed = False
        skipped: set[str] = set()
        while True:
            waiting = [
                cid for cid, there in await self.board.order() if there and cid not in skipped
            ]
            if not waiting:
                break
            agent = await self.pick_agent()
            if agent is None:
                break
            conversation_id = waiting[0]
            if await self._assign(conversation_id, agent.agent_id, "auto"):
                changed = True
            else:
                skipped.add(conversation_id)  # it moved meanwhile (closed, taken)
        if changed:
            self.board.changed()

    async def pick_agent(self) -> AgentPresence | None:
        """The available agent with the most free seats, then the longest since a chat."""
        best: tuple[int, float] | None = None
        chosen = None
        for agent in await self.directory.available():
            free = agent.capacity - await self.directory.load(agent.agent_id)
            if free <= 0:
                continue
            key = (-free, agent.last_assigned)
            if best is None or key < best:
                best, chosen = key, agent
        return chosen

    async def settled(self) -> None:
        await self._soon.settled()
