"""Periodic housekeeping: idle chats end, absent agents' chats go back to the queue.

Driven by the database and the live state, not by per-chat timers, so it also
covers chats from before a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from functools import partial

from bot.agents.routing import Router
from bot.chat.service import ChatService
from bot.live import LiveState
from bot.settings import Settings
from bot.store import Database
from bot.store import conversations as convs
from bot.store.clock import iso, now

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, settings: Settings, db: Database, live: LiveState, router: Router,
                 chat: ChatService) -> None:
        self.settings = settings
        self.db = db
        self.live = live
        self.router = router
        self.chat = chat

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweep failed; trying again next time")

    async def sweep(self) -> None:
        await self.end_idle_chats()
        await self.requeue_absent_agents()
        # waits grow: refresh positions, expected waits and leave-a-message offers
        if await self.live.queue_length():
            self.router.queue_changed()

    async def end_idle_chats(self) -> None:
        before = iso(now() - timedelta(seconds=self.settings.inactivity_timeout))
        idle = await self.db.read(partial(convs.idle_conversations, before=before))
        for conversation_id in idle:
            conversation = await self.chat.get(conversation_id)
            if conversation.status == "queued" and await self.live.shopper_online(conversation_id):
                continue  # still waiting on the page for a person: keep the place in the queue
            await self.chat.close(conversation_id, by="timeout", reason="inactivity")

    async def requeue_absent_agents(self) -> None:
        grace = self.settings.agent_grace_period
        moment = time.monotonic()
        for presence in await self.live.agents():
            if presence.connected or presence.disconnected_at is None:
                continue
            if moment - presence.disconnected_at < grace:
                continue
            for conversation_id in sorted(await self.live.owned_by(presence.agent_id)):
                log.info("agent %s gone for %.0f s: requeueing %s", presence.agent_id,
                         moment - presence.disconnected_at, conversation_id)
                await self.router.requeue(conversation_id, "agent disconnected")
