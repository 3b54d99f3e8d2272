"""The retention purge: chats that ended more than ``retention_days`` ago lose their
personal data, oldest first, in small batches through the writer.

Each batch is one write job that takes about ``TARGET_SECONDS`` of the writer's
time (the batch size follows the measured cost of the previous one), and the
purge pauses between batches so that it uses at most ``DUTY`` of the writer:
chats keep being answered while it runs.

Most of a purge's cost is I/O that would otherwise come later, in whichever commit
follows: a batch dirties two or so pages per chat in indexes keyed by random ids,
and SQLite's automatic checkpoint writes them back, with its fsyncs, inside the
commit that crosses ``AUTOCHECKPOINT`` pages, often a chat's. So while it runs,
the writer's commits do not checkpoint; the purge checkpoints on a connection of
its own every ``CHECKPOINT_EVERY`` seconds, beside the writer (at 50 messages/s
during a purge of 100,000 chats: p99 bot reply 44-234 ms before this, 23-27 ms
with it; see tests/benchmarks/bench_privacy.py). A run that removed anything is
recorded as a ``retention.purged`` event (counts only) and logged.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from bot.chat.uploads import remove_files
from bot.privacy import jobs, store
from bot.privacy.model import Removed
from bot.settings import Settings
from bot.store import Database
from bot.store.clock import iso, now
from bot.store.db import connect

log = logging.getLogger(__name__)

TARGET_SECONDS = 0.010  # writer time per batch
DUTY = 0.2  # most of the writer's time the purge takes
FIRST_BATCH = 100  # conversations
BATCH_RANGE = (10, 2000)
MIN_PAUSE = 0.005  # seconds between batches, at least
CHECKPOINT_EVERY = 2.0  # seconds between the purge's own checkpoints


def cutoff(days: int) -> str:
    """Chats that ended before this time are past a retention of ``days`` days."""
    return iso(now() - timedelta(days=days))


def next_batch(limit: int, seconds: float) -> int:
    """The batch size that should take about TARGET_SECONDS, after one of ``limit``
    took ``seconds`` (at most doubling or halving at a time)."""
    wanted = limit * TARGET_SECONDS / max(seconds, 1e-4)
    wanted = min(max(wanted, limit / 2), limit * 2)
    return int(min(max(wanted, BATCH_RANGE[0]), BATCH_RANGE[1]))


def _last_checkpoint(conn: sqlite3.Connection) -> None:
    try:
        store.checkpoint(conn)
    finally:
        conn.close()


class Retention:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        purged: Callable[[Removed], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.purged = purged  # told after a run that removed anything

    async def purge(self, days: int | None = None) -> Removed:
        """One run: everything past the retention period, batch by batch."""
        days = self.settings.retention_days if days is None else days
        if days <= 0:
            return Removed()
        before = cutoff(days)
        started = time.perf_counter()
        total = Removed()
        checkpointer = await asyncio.to_thread(connect, self.db.target)
        await self.db.write(partial(store.commits_checkpoint, pages=0))
        try:
            await self._batches(before, total, checkpointer)
        finally:
            try:
                await self.db.write(partial(store.commits_checkpoint, pages=store.AUTOCHECKPOINT))
            finally:
                await asyncio.to_thread(_last_checkpoint, checkpointer)
        elapsed = time.perf_counter() - started
        if total.nothing:
            log.debug("retention: nothing ended before %s", before)
            return total
        await self.db.write(
            partial(jobs.record_purge, days=days, before=before, removed=total, seconds=elapsed)
        )
        log.info(
            "retention: personal data of %d chats that ended before %s removed "
            "(%d messages, %d tickets, %d comments, %d events) in %.1f s",
            total.conversations,
            before,
            total.messages,
            total.tickets,
            total.comments,
            total.events,
            elapsed,
        )
        if self.purged is not None:
            await self.purged(total)
        return total

    async def _batches(self, before: str, total: Removed, checkpointer: sqlite3.Connection) -> None:
        limit = FIRST_BATCH
        checkpointed = time.perf_counter()
        while True:
            # The cost of a batch is measured around the whole write: the job, its
            # commit and the wait for its turn.
            sent = time.perf_counter()
            removed, taken = await self.db.write(
                partial(jobs.purge_batch, before=before, limit=limit)
            )
            cost = time.perf_counter() - sent
            if removed.attachment_ids:  # their rows are gone: now their files
                await asyncio.to_thread(remove_files, self.settings.uploads, removed.attachment_ids)
            total.add(removed)
            if time.perf_counter() - checkpointed >= CHECKPOINT_EVERY:
                await asyncio.to_thread(store.checkpoint, checkpointer)
                checkpointed = time.perf_counter()
            if taken < limit:
                return
            await asyncio.sleep(max(MIN_PAUSE, cost * (1 - DUTY) / DUTY))
            limit = next_batch(limit, cost)

    async def run(self) -> None:
        """Purge now, then every ``retention_interval`` seconds (the server's task)."""
        while True:
            try:
                await self.purge()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention purge failed; trying again at the next run")
            await asyncio.sleep(self.settings.retention_interval)
