"""The per-conversation lock across processes.

Why a lock and not only the database's compare-and-set: every move of a
conversation is already checked against its state as committed
(``bot.store.lifecycle``), so two processes can never both move it; but each move
then updates the live state, and the live state must follow the database in
commit order (``bot.chat.lifecycle``). A lock held from before the write until
the live state is updated keeps that order across processes, as
:class:`bot.locks.KeyedLocks` does within one.

A shopper's turn that moves nothing (the bot answers, no escalation) takes only the
local lock (``local``): the database orders it against every process's moves, and
there is no live state to keep in step.

Waiters on the same process queue on a local lock first, so only one of them at a
time asks Redis (``SET NX PX``); the lock expires after ``lease`` seconds, so a
process that died holding it blocks that conversation for at most that long. It
is released only by its holder (compare-and-delete).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from bot.cluster.scripts import PREFIX, UNLOCK
from bot.locks import KeyedLocks

log = logging.getLogger(__name__)

FIRST_RETRY = 0.002  # seconds; doubles up to LAST_RETRY while another process holds it
LAST_RETRY = 0.05


class RedisKeyedLocks(KeyedLocks):
    def __init__(self, redis: Redis, lease: float) -> None:
        super().__init__()
        self.redis = redis
        self.lease_ms = max(1, int(lease * 1000))
        self._unlock = redis.register_script(UNLOCK)

    @asynccontextmanager
    async def __call__(self, key: str) -> AsyncIterator[None]:
        async with super().__call__(key):
            name = f"{PREFIX}lock:{key}"
            token = secrets.token_hex(8)
            pause = FIRST_RETRY
            while not await self.redis.set(name, token, nx=True, px=self.lease_ms):
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_RETRY)
            started = time.monotonic()
            try:
                yield
            finally:
                released = await self._unlock(keys=[name], args=[token])
                if not released:
                    log.warning(
                        "the lock of %s expired while held (%.1f s): raise SUPPORTBOT_REDIS_TTL",
                        key,
                        time.monotonic() - started,
                    )
