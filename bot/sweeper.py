"""Periodic housekeeping: idle chats end, absent agents' chats go back to the queue,
chats whose shopper left the queue become offline tickets, and agents whose access
ended elsewhere are dropped.

Driven by the database and the live state, not by per-chat timers, so it also
covers chats from before a restart. With several processes every process audits
its own agents' connections and only the leader sweeps (``bot.leadership``). Every change goes through the lifecycle
(``bot.chat.lifecycle``), whose moves check the conversation's state as committed:
a chat the shopper closed meanwhile is never requeued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from bot.chat.lifecycle import Lifecycle
from bot.errors import ClientError
from bot.leadership import Alone, Leadership
from bot.live import LiveState
from bot.routing.queue import QueueBoard
from bot.settings import Settings
from bot.store import Database
from bot.store import conversations as convs
from bot.store.clock import Clock, iso, now
from bot.types import Status

log = logging.getLogger(__name__)

# How often connected agents' sessions are checked (an account disabled from the
# command line, a session that expired): at most this long after, they are dropped.
AUDIT_INTERVAL = 1.0


class Sweeper:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        live: LiveState,
        lifecycle: Lifecycle,
        board: QueueBoard,
        audit: Callable[[], Awaitable[None]],
        leadership: Leadership | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.leadership = leadership or Alone()
        self.settings = settings
        self.db = db
        self.live = live
        self.lifecycle = lifecycle
        self.board = board
        self.audit = audit
        self.clock = clock or Clock()

    async def run(self) -> None:
        every = min(AUDIT_INTERVAL, self.settings.sweep_interval)
        clock = self.clock
        last_sweep = clock.monotonic()
        while True:
            await clock.sleep(every)
            try:
                await self.audit()
                if (
                    clock.monotonic() - last_sweep >= self.settings.sweep_interval
                    and self.leadership.leads()
                ):
                    last_sweep = clock.monotonic()
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweep failed; trying again next time")

    async def sweep(self) -> None:
        await self.end_idle_chats()
        await self.requeue_absent_agents()
        await self.ticket_abandoned_chats()
        # waits grow: refresh places, expected waits and leave-a-message offers
        if await self.live.queue_length():
            self.board.changed()

    async def end_idle_chats(self) -> None:
        before = iso(now() - timedelta(seconds=self.settings.inactivity_timeout))
        idle = await self.db.read(partial(convs.idle_conversations, before=before))
        for conversation_id in idle:
            if await self.live.queued(conversation_id) and await self.live.shopper_online(
                conversation_id
            ):
                continue  # still waiting on the page for a person: keep the place in the queue
            await self.lifecycle.close(conversation_id, by="timeout", reason="inactivity")

    async def requeue_absent_agents(self) -> None:
        grace = self.settings.agent_grace_period
        moment = self.clock.monotonic()
        for presence in await self.live.agents():
            if presence.connected or presence.disconnected_at is None:
                continue
            if moment - presence.disconnected_at < grace:
                continue
            for conversation_id in sorted(await self.live.owned_by(presence.agent_id)):
                log.info(
                    "agent %s gone for %.0f s: requeueing %s",
                    presence.agent_id,
                    moment - presence.disconnected_at,
                    conversation_id,
                )
                await self.lifecycle.requeue(
                    conversation_id, presence.agent_id, "agent disconnected"
                )

    async def ticket_abandoned_chats(self) -> None:
        """A waiting shopper gone for longer than the grace period: the chat leaves the
        queue and becomes an offline ticket (never a seat for a shopper who is not there)."""
        grace = self.settings.shopper_grace_period
        moment = self.clock.monotonic()
        for conversation_id, _ in await self.live.queue():
            away = await self.live.shopper_away_since(conversation_id)
            if away is None or moment - away < grace:
                continue
            conversation = await self.lifecycle.get(conversation_id)
            if conversation.status != Status.QUEUED:
                continue
            log.info(
                "shopper of %s gone for %.0f s: it becomes an offline ticket",
                conversation_id,
                moment - away,
            )
            try:
                await self.lifecycle.follow_up(
                    conversation_id, "left_queue", email=conversation.visitor_email
                )
            except ClientError:  # it moved on meanwhile (taken, closed)
                log.debug("%s moved on before it became a ticket", conversation_id)
