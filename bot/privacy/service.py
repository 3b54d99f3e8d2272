"""Erasure and export in the running server, and what it must hear of the others.

- :meth:`PrivacyService.forget` ends the person's open chats through the
  conversation's lifecycle first (the shopper and the agents are told, no rating is asked), then
  erases everything in one write job with its audit event, then refreshes the
  agents' ticket list and empties the report cache.
- :meth:`PrivacyService.export` reads everything in the reader pool and records
  that an export was made.
- :meth:`PrivacyService.watch` picks up erasures and purges that another process
  (the command line) committed to the same database: the chats it ended are
  closed in the live state (queue, owner, consoles, the shopper's widget), and
  the report cache is emptied.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from bot import events as ev
from bot.chat.lifecycle import Lifecycle
from bot.chat.uploads import remove_files
from bot.fanout import Fanout
from bot.privacy import jobs, store
from bot.privacy.model import Found, Removed, Selector
from bot.privacy.retention import Retention
from bot.reports.cache import DayCache
from bot.settings import Settings
from bot.store import Database
from bot.store.clock import now_iso
from bot.types import Status

log = logging.getLogger(__name__)


class PrivacyService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        lifecycle: Lifecycle,
        fanout: Fanout,
        cache: DayCache | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.lifecycle = lifecycle
        self.fanout = fanout
        self.cache = cache
        self.retention = Retention(settings, db, self._purged)

    async def lookup(self, selector: Selector) -> Found:
        return await self.db.read(partial(store.found, selector=selector))

    async def export(self, selector: Selector, *, agent_id: int | None) -> dict[str, Any]:
        document = await self.db.read(partial(store.export, selector=selector, at=now_iso()))
        conversations = document["conversations"]
        await self.db.write(
            lambda conn: ev.insert_events(
                conn,
                ev.PrivacyExported(
                    actor="manager",
                    agent_id=agent_id,
                    selector=selector.kind,
                    via="dashboard",
                    conversations=len(conversations),
                    messages=sum(len(c["messages"]) for c in conversations),
                ),
            )
        )
        log.info(
            "privacy: export by %s from the dashboard: %d conversations",
            selector.kind,
            len(conversations),
        )
        return document

    async def forget(self, selector: Selector, *, agent_id: int | None) -> Removed:
        ended = []
        for conversation_id, status in await self.db.read(partial(store.find, selector=selector)):
            if status == Status.CLOSED:
                continue
            if await self.lifecycle.close(
                conversation_id,
                by="system",
                reason=jobs.ERASED_REASON,
                notice=jobs.ERASED_NOTICE,
                ask_csat=False,
            ):
                ended.append(conversation_id)
        removed = await self.db.write(
            partial(
                jobs.erase, selector=selector, via="dashboard", agent_id=agent_id, ended_first=ended
            )
        )
        await asyncio.to_thread(remove_files, self.settings.uploads, removed.attachment_ids)
        for conversation_id in removed.closed_chats:
            if conversation_id not in ended:  # opened meanwhile, ended by the job itself
                await self.ended_elsewhere(conversation_id)
        await self.tickets_gone(removed.ticket_ids)
        self.clear_cache()
        log.info(
            "privacy: erasure by %s from the dashboard: %d conversations (%d ended first), "
            "%d messages, %d tickets, %d comments, %d events",
            selector.kind,
            removed.conversations,
            len(removed.closed_chats),
            removed.messages,
            removed.tickets,
            removed.comments,
            removed.events,
        )
        return removed

    async def ended_elsewhere(self, conversation_id: str) -> None:
        """A chat was ended in the database by an erasure: tell the live side."""
        await self.lifecycle.closed_elsewhere(
            conversation_id, by="system", reason=jobs.ERASED_REASON
        )

    async def tickets_gone(self, ticket_ids: list[int]) -> None:
        """Deleted offline tickets leave every console's list."""
        for ticket_id in ticket_ids:
            await self.fanout.to_agents(
                "ticket", {"id": ticket_id, "status": "done", "erased": True}
            )

    def clear_cache(self) -> None:
        if self.cache is not None:
            self.cache.clear()

    async def _purged(self, removed: Removed) -> None:
        await self.tickets_gone(removed.ticket_ids)
        self.clear_cache()

    async def watch(self) -> None:
        """Follow erasures and purges committed by other processes (the server's task)."""
        last = await self.db.read(store.last_privacy_event)
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            try:
                last = await self.catch_up(last)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following erasures failed; trying again")

    async def catch_up(self, last: int) -> int:
        """Handle the privacy events after event ``last``; return the last one seen."""
        found = await self.db.read(partial(store.privacy_events_after, after=last))
        for event_id, type_, properties in found:
            last = event_id
            if type_ != "privacy.erased" or properties.get("via") == "dashboard":
                continue  # a purge, or this server's own erasure: already handled
            for conversation_id in properties.get("closed_chats", []):
                await self.ended_elsewhere(conversation_id)
            await self.tickets_gone(
                [t for t in properties.get("ticket_ids", []) if isinstance(t, int)]
            )
        if found:
            self.clear_cache()
        return last
