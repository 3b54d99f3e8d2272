"""python-socketio's Redis manager, with our room index and the fence on every process.

Emits go to this process's clients at once and through Redis to the others
(python-socketio's ``AsyncRedisManager``). The fence (agents who may no longer
read a chat stop getting it, ``bot.chat.lifecycle.Lifecycle.fence``) must reach
the agents' connections on every process: it travels on the same channel as the
emits, after the move's emits that came before it and before those that come
after, and each process runs it for its own connections before it reads the next
message.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio

from bot.sockets import RoomIndex

log = logging.getLogger(__name__)

FENCE = "supportbot_fence"


class RedisRooms(RoomIndex, socketio.AsyncRedisManager):
    def __init__(self, url: str, channel: str = "supportbot") -> None:
        super().__init__(url, channel=channel)
        self.fenced: Callable[[str], Awaitable[None]] | None = None

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
