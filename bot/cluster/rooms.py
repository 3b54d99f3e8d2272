"""python-socketio's Redis manager, with our room index and the fence on every process.

Emits go to this process's clients at once and through Redis to the others
(python-socketio's ``AsyncRedisManager``). The fence (agents who may no longer
read a chat stop getting it, ``bot.chat.lifecycle.Lifecycle.fence``) must reach
the agents' connections on every process: it travels on the same channel as the
emits, after the move's emits that came before it and before those that come
after, and each process runs it for its own connections before it reads the next
message.

Publishing is coalesced: an emit is handed to this process's clients at once and
its message put in an ordered queue, which one task sends as a pipeline of
PUBLISH commands at the next turn of the event loop. A shopper's turn emits several
messages (the shopper's message, the bot's reply, the mood card, to the chat's and
the watchers' rooms); they reach Redis in one round trip instead of one each, in the
order they were emitted (the fence keeps its place among them). The emitter does not
wait for Redis, as it did not wait for the other processes before: an emit that
Redis refuses is logged, twice tried, and dropped, as python-socketio's own
``_publish`` does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio

from bot.sockets import RoomIndex

log = logging.getLogger(__name__)

FENCE = "supportbot_fence"
PENDING_LIMIT = 10_000  # queued messages; beyond this an emitter waits for Redis


class RedisRooms(RoomIndex, socketio.AsyncRedisManager):
    connected: bool  # python-socketio's: whether its Redis client is made

    def __init__(self, url: str, channel: str = "supportbot") -> None:
        super().__init__(url, channel=channel)
        self.fenced: Callable[[str], Awaitable[None]] | None = None
        self._pending: list[str] = []
        self._sender: asyncio.Task[None] | None = None
        self.round_trips = 0  # pipelines sent (a gauge for tests and benchmarks)

    async def _publish(self, data: Any) -> None:
        """Queue the message; the sender task publishes the queue in one pipeline."""
        self._pending.append(self.json.dumps(data))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send())
        if len(self._pending) > PENDING_LIMIT:
            await asyncio.shield(self._sender)

    async def flush(self) -> None:
        """Wait until everything queued so far is published (or given up)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)

    async def _send(self) -> None:
        await asyncio.sleep(0)  # the rest of this turn's emits join the batch
        while self._pending:
            batch, self._pending = self._pending, []
            for retries_left in (1, 0):  # two attempts, as python-socketio's _publish
                try:
                    if not self.connected:
                        self._redis_connect()
                    pipe = self.redis.pipeline(transaction=False)
                    for message in batch:
                        pipe.publish(self.channel, message)
                    await pipe.execute()
                    self.round_trips += 1
                    break
                except Exception as exc:  # noqa: BLE001 - logged; Redis may come back
                    if retries_left:
                        log.error("cannot publish to redis, retrying: %s", exc)
                        self.connected = False
                    else:
                        log.error("cannot publish %d messages to redis: %s", len(batch), exc)

    async def fence(self, conversation_id: str) -> None:
        """Ask the other processes to fence their watchers of this conversation."""
        await self._publish(
            {"method": FENCE, "conversation_id": conversation_id, "host_id": self.host_id}
        )

    async def _listen(self) -> AsyncIterator[Any]:
        async for message in super()._listen():
            try:
                data = message if isinstance(message, dict) else self.json.loads(message)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("method") == FENCE:
                if data.get("host_id") != self.host_id and self.fenced is not None:
                    try:
                        await self.fenced(str(data.get("conversation_id")))
                    except Exception:
                        log.exception("fence of %s failed", data.get("conversation_id"))
                continue
            yield data
