"""The queue and routing of escalated chats to agents.

Escalated conversations wait in the live queue, oldest escalation first. When an
agent is online with free capacity, :meth:`Router.dispatch` assigns the oldest
waiting chat to the online agent with the most free seats (round-robin among
equals). Agents can also take a chat by hand; ``LiveState.claim`` makes sure the
first one wins. An owner who disconnects keeps the chat for a grace period, then
it goes back to the queue (see ``bot.sweeper``).

The database is the record (``conversations.status`` and ``agent_id``); the live
state is rebuilt from it at start-up by :meth:`Router.rebuild`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from functools import partial
from typing import Any

from bot import events as ev
from bot.agents import accounts
from bot.errors import ClientError
from bot.fanout import Fanout
from bot.live import AgentPresence, LiveState
from bot.locks import Coalesced
from bot.settings import Settings
from bot.store import Database
from bot.store import conversations as convs
from bot.store.clock import now_iso, parse_iso
from bot.store.conversations import Conversation, Message
from bot.texts import say

log = logging.getLogger(__name__)

AVERAGE_HANDLING_SECONDS = 240.0  # used for the expected wait until measured data exists
# Queue and agent-list pushes to every agent start at least this far apart: the
# first change goes out at once, a burst of changes (busy shop) in one push.
PUSH_INTERVAL = 0.1
# A queue push costs time in proportion to the queue (its cards are read and sent
# to every console): with hundreds waiting, pushes slow down so that they take at
# most about this share of the server's time.
PUSH_DUTY = 0.1


def _epoch(iso: str | None) -> float:
    return parse_iso(iso).timestamp() if iso else 0.0


class Router:
    def __init__(self, settings: Settings, db: Database, live: LiveState, fanout: Fanout) -> None:
        self.settings = settings
        self.db = db
        self.live = live
        self.fanout = fanout
        self._names: dict[int, str] = {}
        self._dispatching = asyncio.Lock()
        self._push_queue = Coalesced(self._send_queue, "push-queue", PUSH_INTERVAL, PUSH_DUTY)
        self._push_agents = Coalesced(self._send_agents, "push-agents", PUSH_INTERVAL, PUSH_DUTY)
        # The queued status each waiting shopper was last sent: a push tells only
        # those whose position or expected wait changed.
        self._told: dict[str, dict[str, Any]] = {}
        # Waiting chats and freed seats are matched in the background, one run at a
        # time: a hand-off or a resolve is acknowledged without waiting for it.
        self._dispatch_soon = Coalesced(self.dispatch, "dispatch")

    # -- agents ------------------------------------------------------------

    async def agent_name(self, agent_id: int | None) -> str | None:
        if agent_id is None:
            return None
        name = self._names.get(agent_id)
        if name is None:
            agent = await self.db.read(partial(accounts.get_agent, agent_id=agent_id))
            if agent is None:
                return None
            name = self._names[agent_id] = agent.name
        return name

    async def online(self) -> list[AgentPresence]:
        return [a for a in await self.live.agents() if a.status == "online" and a.connected]

    async def agents_online(self) -> int:
        return len(await self.online())

    async def load(self, agent_id: int) -> int:
        return len(await self.live.owned_by(agent_id))

    async def _capacity(self) -> tuple[int, int]:
        """(agents online, their free seats)."""
        online = await self.online()
        free = 0
        for agent in online:
            free += max(0, agent.capacity - await self.load(agent.agent_id))
        return len(online), free

    @staticmethod
    def _wait(position: int, online: int, free: int) -> float | None:
        """Expected seconds of waiting for the chat at ``position`` (1 = next)."""
        if not online:
            return None
        ahead = position - free
        if ahead <= 0:
            return 0.0
        return AVERAGE_HANDLING_SECONDS * math.ceil(ahead / online)

    async def expected_wait(self) -> float | None:
        """Seconds a chat queued now may wait; None when nobody is online."""
        online, free = await self._capacity()
        return self._wait(await self.live.queue_length() + 1, online, free)

    # -- queue -----------------------------------------------------------------

    async def rebuild(self) -> None:
        """Restore the queue and chat ownership from the database after a start."""
        conversations = await self.db.read(
            lambda conn: convs.conversations_in_status(conn, "queued", "assigned")
        )
        for conversation in conversations:
            if conversation.status == "queued":
                await self._queue_up(conversation)
            elif conversation.agent_id is not None:
                await self.live.claim(conversation.id, conversation.agent_id)
                # The owner is not connected yet: its grace period starts now.
                await self.live.expect_agent(conversation.agent_id)

    async def enqueued(self, conversation_id: str) -> None:
        conversation = await self._conversation(conversation_id)
        if conversation is None or conversation.status != "queued":
            return
        await self._queue_up(conversation)
        # Assigned in the background: the shopper hears "queued" at once and the
        # assignment follows as a status event; a busy queue never holds this up.
        self._dispatch_soon()
        self.queue_changed()

    async def _queue_up(self, conversation: Conversation) -> None:
        """Into the live queue by escalation time; the next push tells the shopper afresh."""
        await self.live.enqueue(conversation.id, _epoch(conversation.escalated_at))
        self._told.pop(conversation.id, None)

    def _queued_status(self, position: int, online: int, free: int) -> dict[str, Any]:
        wait = self._wait(position, online, free)
        return {
            "status": "queued",
            "agent": None,
            "position": position,
            "expected_wait": wait,
            "agents_online": online > 0,
            "offer_leave_message": not online or (wait or 0) >= self.settings.queue_wait_threshold,
        }

    async def status_for(self, conversation_id: str) -> dict[str, Any]:
        """What the shopper's widget shows about the hand-off."""
        conversation = await self._conversation(conversation_id)
        if conversation is None:
            raise ClientError("no_conversation")
        online, free = await self._capacity()
        queue = [c for c, _ in await self.live.queue()]
        if conversation.status == "queued" and conversation_id in queue:
            return self._queued_status(queue.index(conversation_id) + 1, online, free)
        return {
            "status": conversation.status,
            "agent": {"name": await self.agent_name(conversation.agent_id)}
            if conversation.agent_id else None,
            "position": None,
            "expected_wait": None,
            "agents_online": online > 0,
            "offer_leave_message": False,
        }

    async def tell_status(self, conversation_id: str) -> None:
        self._told.pop(conversation_id, None)  # told something else: the next push repeats
        await self.fanout.to_shopper(conversation_id, "status", await self.status_for(conversation_id))

    def queue_changed(self) -> None:
        """Soon push the queue to every console and the new position to every waiting shopper."""
        self._push_queue()

    async def _send_queue(self) -> None:
        from bot.agents.views import queue_view  # late import: views need the router

        cards = await queue_view(self)
        await self.fanout.to_agents("queue", cards)
        online, free = await self._capacity()
        told: dict[str, dict[str, Any]] = {}
        for card in cards:
            status = told[card["id"]] = self._queued_status(card["position"], online, free)
            if self._told.get(card["id"]) != status:
                await self.fanout.to_shopper(card["id"], "status", status)
        self._told = told

    async def settled(self) -> None:
        """Wait for pending assignments and broadcasts (shutdown)."""
        await self._dispatch_soon.settled()
        await self._push_queue.settled()
        await self._push_agents.settled()

    def agents_changed(self) -> None:
        """Soon push the agents list (status, load) to every console."""
        self._push_agents()

    async def agents_view(self) -> list[dict[str, Any]]:
        everyone = {a.id: a for a in await self.db.read(accounts.list_agents) if not a.disabled}
        out = []
        for presence in await self.live.agents():
            agent = everyone.get(presence.agent_id)
            if agent is None:
                continue
            out.append({
                "id": agent.id, "name": agent.name, "role": agent.role,
                "status": presence.status if presence.connected else "offline",
                "load": await self.load(agent.id), "capacity": presence.capacity,
            })
        return out

    async def _send_agents(self) -> None:
        await self.fanout.to_agents("agents", await self.agents_view())

    async def dispatch(self) -> None:
        """Assign waiting chats to online agents with free seats, oldest chat first."""
        async with self._dispatching:
            for conversation_id, _ in await self.live.queue():
                agent = await self._pick_agent()
                if agent is None:
                    return
                await self.assign(conversation_id, agent.agent_id, by="auto", announce=False)
        self.queue_changed()

    async def _pick_agent(self) -> AgentPresence | None:
        best: tuple[int, float] | None = None
        chosen = None
        for agent in await self.online():
            free = agent.capacity - await self.load(agent.agent_id)
            if free <= 0:
                continue
            key = (-free, agent.last_assigned)  # most free seats, then longest since last chat
            if best is None or key < best:
                best, chosen = key, agent
        return chosen

    async def assign(self, conversation_id: str, agent_id: int, *, by: str,
                     announce: bool = True) -> bool:
        """Give a queued chat to an agent. False when someone else got it first."""
        if not await self.live.claim(conversation_id, agent_id):
            return False
        try:
            result = await self.db.write(
                partial(_store_assignment, conversation_id=conversation_id, agent_id=agent_id,
                        by=by, name=await self.agent_name(agent_id) or "")
            )
        except Exception:
            await self.live.release(conversation_id)
            await self.live.enqueue(conversation_id, 0.0)
            raise
        if result is None:  # closed or taken meanwhile
            await self.live.release(conversation_id)
            return False
        await self.live.mark_assigned(agent_id)
        notice, conversation = result
        await self._announce(notice)
        await self.fanout.to_agent(agent_id, "assigned", {"conversation_id": conversation_id, "by": by})
        await self.tell_status(conversation_id)
        self.agents_changed()
        if announce:
            self.queue_changed()
        return True

    async def requeue(self, conversation_id: str, reason: str) -> None:
        """Send an assigned chat back to the top of the queue."""
        owner = await self.live.release(conversation_id)
        conversation = await self._conversation(conversation_id)
        if conversation is None or conversation.closed:
            return
        name = await self.agent_name(owner) if owner else None
        notice = await self.db.write(
            partial(_store_requeue, conversation=conversation, reason=reason,
                    text=say("requeued", conversation.language, name=name or ""))
        )
        await self._queue_up(conversation)
        if owner is not None:
            await self.fanout.to_agent(owner, "unassigned", {"conversation_id": conversation_id,
                                                             "reason": reason})
        await self._announce(notice)
        self.agents_changed()
        await self.dispatch()

    async def _announce(self, message: Message) -> None:
        await self.fanout.publish(message, await self.agent_name(message.agent_id))

    async def conversation_changed(self, conversation_id: str) -> None:
        """Mood or transcript changed: refresh queue cards when the chat is waiting."""
        if await self.live.queued(conversation_id):
            self.queue_changed()

    async def conversation_closed(self, conversation_id: str) -> None:
        owner = await self.live.release(conversation_id)
        was_queued = await self.live.dequeue(conversation_id)
        if owner is not None:
            await self.fanout.to_agent(owner, "closed", {"conversation_id": conversation_id})
        await self.fanout.to_watchers(conversation_id, "closed", {"conversation_id": conversation_id})
        if was_queued:
            self.queue_changed()
        if owner is not None:
            self.agents_changed()
            self._dispatch_soon()

    async def shopper_presence(self, conversation_id: str, online: bool) -> None:
        await self.fanout.to_watchers(
            conversation_id, "presence", {"conversation_id": conversation_id, "shopper_online": online}
        )

    async def _conversation(self, conversation_id: str) -> Conversation | None:
        return await self.db.read(partial(convs.get_conversation, conversation_id=conversation_id))


def _store_assignment(
    conn: Any, conversation_id: str, agent_id: int, by: str, name: str
) -> tuple[Message, Conversation] | None:
    conversation = convs.get_conversation(conn, conversation_id)
    if conversation is None or conversation.status != "queued":
        return None
    at = now_iso()
    wait = None
    if conversation.queued_at:
        wait = round(parse_iso(at).timestamp() - parse_iso(conversation.queued_at).timestamp(), 3)
    convs.update_conversation(conn, conversation_id, status="assigned", agent_id=agent_id,
                              last_agent_id=agent_id, last_activity_at=at)
    notice = convs.insert_message(conn, conversation_id, "system",
                                  say("agent_joined", conversation.language, name=name),
                                  agent_id=agent_id, created_at=at)
    ev.insert_events(
        conn,
        ev.AgentAssigned(conversation_id=conversation_id, actor="agent" if by == "take" else "system",
                         agent_id=agent_id, created_at=at, by=by),
        ev.AgentJoined(conversation_id=conversation_id, actor="agent", agent_id=agent_id,
                       created_at=at, wait_seconds=wait),
    )
    updated = convs.get_conversation(conn, conversation_id)
    assert updated is not None
    return notice, updated


def _store_requeue(conn: Any, conversation: Conversation, reason: str, text: str) -> Message:
    at = now_iso()
    convs.update_conversation(conn, conversation.id, status="queued", agent_id=None,
                              queued_at=at, last_activity_at=at)
    notice = convs.insert_message(conn, conversation.id, "system", text, created_at=at)
    ev.insert_events(
        conn,
        ev.AgentLeft(conversation_id=conversation.id, actor="system",
                     agent_id=conversation.agent_id, created_at=at, reason=reason),
        ev.ChatRequeued(conversation_id=conversation.id, actor="system",
                        agent_id=conversation.agent_id, created_at=at, reason=reason),
    )
    return notice
