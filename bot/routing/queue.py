"""The queue as agents and waiting shoppers see it.

Escalated chats wait in the live queue. Chats whose shopper is on the page come
first (oldest escalation first), then those whose shopper left (they become
offline tickets after a grace period, see ``bot.sweeper``). Consoles get the
queue's cards; each waiting shopper gets its place and expected wait, counted
among the shoppers who are there, and only when they change. Both pushes are
throttled: with hundreds waiting they keep to about ``PUSH_DUTY`` of the time.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from bot.fanout import Fanout
from bot.leadership import QUEUE, Alone, Leadership
from bot.live import LiveState
from bot.locks import Coalesced
from bot.routing.cards import Cards
from bot.routing.directory import PUSH_DUTY, PUSH_INTERVAL, AgentDirectory
from bot.routing.team import Team
from bot.settings import Settings
from bot.store import Database
from bot.store import conversations as convs
from bot.store.conversations import Conversation
from bot.types import Status

# A fixed estimate of how long an agent takes per chat, for the expected wait.
AVERAGE_HANDLING_SECONDS = 240.0


def expected_wait(position: int, online: int, free: int) -> float | None:
    """Seconds the chat at ``position`` (1 = next) may wait; None when nobody is online."""
    if not online:
        return None
    ahead = position - free
    if ahead <= 0:
        return 0.0
    return AVERAGE_HANDLING_SECONDS * math.ceil(ahead / online)


class QueueBoard:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        live: LiveState,
        fanout: Fanout,
        directory: AgentDirectory,
        cards: Cards,
        team: Team,
        leadership: Leadership | None = None,
    ) -> None:
        self.settings = settings
        self.leadership = leadership or Alone()  # pushes run on the leader only
        self.team = team
        self.db = db
        self.live = live
        self.fanout = fanout
        self.directory = directory
        self.cards = cards
        self._push = Coalesced(self._send, "push-queue", PUSH_INTERVAL, PUSH_DUTY)
        # The status each waiting shopper was last sent: a push tells only those
        # whose place or expected wait changed.
        self._told: dict[str, dict[str, Any]] = {}
        # Chats told a move (``tell``) while a push is under way (one at a time): the
        # push must not overwrite their newer status with "queued". None: no push.
        self._moved: set[str] | None = None

    async def order(self) -> list[tuple[str, bool]]:
        """Waiting chats in the order they are served, each with "is the shopper there"."""
        present: list[tuple[str, bool]] = []
        absent: list[tuple[str, bool]] = []
        for conversation_id, _, online in await self.live.queue_presence():
            (present if online else absent).append((conversation_id, online))
        return present + absent

    async def place(self, conversation_id: str) -> int | None:
        """1 for the next live shopper to be served; None when not waiting or not there."""
        position = 0
        for waiting, online in await self.order():
            if not online:
                break
            position += 1
            if waiting == conversation_id:
                return position
        return None

    def queued_status(
        self,
        position: int | None,
        online: int,
        free: int,
        language: str | None,
        team: dict[str, Any],
    ) -> dict[str, Any]:
        wait = expected_wait(position or 1, online, free) if online else None
        return {
            "status": Status.QUEUED.value,
            "agent": None,
            "position": position,
            "expected_wait": wait,
            "agents_online": online > 0,
            "offer_leave_message": not online or (wait or 0) >= self.settings.queue_wait_threshold,
            "language": language,
            **team,
        }

    async def expected_wait(self) -> float | None:
        """Seconds a chat queued now may wait; None when nobody is online."""
        online, free = await self.directory.seats()
        live = sum(1 for _, there in await self.order() if there)
        return expected_wait(live + 1, online, free)

    async def status_for(self, conversation: Conversation | str) -> dict[str, Any]:
        """What the shopper's widget shows about the hand-off (README: ``status``)."""
        if isinstance(conversation, str):
            found = await self.db.read(
                partial(convs.get_conversation, conversation_id=conversation)
            )
            if found is None:
                return {
                    "status": Status.CLOSED.value,
                    "agent": None,
                    "position": None,
                    "expected_wait": None,
                    "agents_online": False,
                    "offer_leave_message": False,
                    "language": None,
                    **await self.team.fields(),
                }
            conversation = found
        online, free = await self.directory.seats()
        team = await self.team.fields()
        if conversation.status == Status.QUEUED:
            return self.queued_status(
                await self.place(conversation.id), online, free, conversation.language, team
            )
        agent = None
        if conversation.agent_id:
            agent = {"name": await self.directory.name(conversation.agent_id)}
        return {
            "status": conversation.status,
            "agent": agent,
            "position": None,
            "expected_wait": None,
            "agents_online": online > 0,
            "offer_leave_message": False,
            "language": conversation.language,
            **team,
        }

    async def tell(self, conversation: Conversation | str) -> None:
        """Send the shopper its status now (after a move)."""
        conversation_id = conversation if isinstance(conversation, str) else conversation.id
        if self._moved is not None:
            self._moved.add(conversation_id)
        status = await self.status_for(conversation)
        self._told.pop(conversation_id, None)  # told something else: the next push repeats
        await self.fanout.to_shopper(conversation_id, "status", status)

    def changed(self) -> None:
        """Soon push the queue to every console and the new place to every waiting shopper."""
        if self.leadership.leads():
            self._push()
        else:
            self.leadership.relay(QUEUE)

    async def _send(self) -> None:
        self._moved = set()
        try:
            await self._push_to_all(self._moved)
        finally:
            self._moved = None

    async def _push_to_all(self, moved: set[str]) -> None:
        order = await self.order()
        cards = await self.cards.cards_for([conversation_id for conversation_id, _ in order])
        for position, card in enumerate(cards, start=1):
            card["position"] = position
        await self.fanout.to_agents("queue", cards)
        online, free = await self.directory.seats()
        team = await self.team.fields()
        languages = {card["id"]: card["language"] for card in cards}
        # Still waiting after the reads above? A chat taken meanwhile (on this process:
        # ``moved``; on another one: gone from the live queue) keeps its new status.
        waiting = {conversation_id for conversation_id, _ in await self.live.queue()}
        told: dict[str, dict[str, Any]] = {}
        place = 0
        for conversation_id, there in order:
            if not there:
                continue  # nobody to tell; told afresh when the shopper is back
            place += 1
            if conversation_id in moved or conversation_id not in waiting:
                continue  # moved since this push began: told its new status already
            status = told[conversation_id] = self.queued_status(
                place, online, free, languages.get(conversation_id), team
            )
            if self._told.get(conversation_id) != status:
                await self.fanout.to_shopper(conversation_id, "status", status)
        self._told = told

    async def settled(self) -> None:
        await self._push.settled()
