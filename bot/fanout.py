"""Who hears what: socket.io namespaces and rooms, in one place.

Shoppers live on ``/chat`` and join one room per conversation. Agents live on
``/agent``; every agent socket joins ``agents`` (queue updates) and
``agent:<id>`` (its own notices), managers also join ``managers``, and an
agent watching a conversation joins that conversation's room on ``/agent``.
Rooms go through python-socketio's client manager, so a Redis manager makes
them span processes.
"""

from __future__ import annotations

from typing import Any

import socketio
from socketio.async_pubsub_manager import AsyncPubSubManager

from bot.mood.scale import MoodScale
from bot.store.conversations import Message
from bot.wire import DEFAULT_SCALE, message_public

SHOPPER_NS = "/chat"
AGENT_NS = "/agent"
AGENTS_ROOM = "agents"
MANAGERS_ROOM = "managers"


def conversation_room(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"


class Fanout:
    def __init__(self, sio: socketio.AsyncServer, scale: MoodScale = DEFAULT_SCALE) -> None:
        self.sio = sio
        self.scale = scale  # the words for moods that agents read
        # With the in-process manager every listener is known here, so an emit to an
        # empty room (no agent watching, no other tab) can be skipped before the
        # packet is even encoded. A pub/sub manager (Redis) must always publish.
        self._local = not isinstance(sio.manager, AsyncPubSubManager)

    def _anyone(self, namespace: str, room: str, skip_sid: str | None = None) -> bool:
        if not self._local:
            return True
        return any(sid != skip_sid for sid, _ in self.sio.manager.get_participants(namespace, room))

    def watched(self, conversation_id: str) -> bool:
        """Whether an agent may have this conversation open (always, with Redis)."""
        return self._anyone(AGENT_NS, conversation_room(conversation_id))

    async def to_shopper(
        self, conversation_id: str, event: str, data: Any, *, skip_sid: str | None = None
    ) -> None:
        if not self._anyone(SHOPPER_NS, conversation_room(conversation_id), skip_sid):
            return
        await self.sio.emit(
            event,
            data,
            room=conversation_room(conversation_id),
            skip_sid=skip_sid,
            namespace=SHOPPER_NS,
        )

    async def publish(
        self, message: Message, agent_name: str | None = None, *, skip_sid: str | None = None
    ) -> None:
        """A stored message to the shopper's tabs (unless a note) and to agents watching."""
        if message.kind != "note":
            await self.to_shopper(
                message.conversation_id,
                "message",
                message_public(message, agent_name),
                skip_sid=skip_sid,
            )
        await self.to_watchers(
            message.conversation_id,
            "message",
            message_public(message, agent_name, for_agents=True, scale=self.scale),
        )

    async def to_watchers(self, conversation_id: str, event: str, data: Any) -> None:
        """Agents who have this conversation open."""
        if not self._anyone(AGENT_NS, conversation_room(conversation_id)):
            return
        await self.sio.emit(
            event, data, room=conversation_room(conversation_id), namespace=AGENT_NS
        )

    async def to_agents(self, event: str, data: Any) -> None:
        await self.sio.emit(event, data, room=AGENTS_ROOM, namespace=AGENT_NS)

    async def to_managers(self, event: str, data: Any) -> None:
        if not self._anyone(AGENT_NS, MANAGERS_ROOM):
            return
        await self.sio.emit(event, data, room=MANAGERS_ROOM, namespace=AGENT_NS)

    async def watchers(self, conversation_id: str) -> list[str]:
        """The agent connections (sids) that have this conversation open, on this process."""
        return [
            sid
            for sid, _ in self.sio.manager.get_participants(
                AGENT_NS, conversation_room(conversation_id)
            )
        ]

    async def fence_elsewhere(self, conversation_id: str) -> None:
        """With a Redis manager: the other processes fence their watchers of this chat."""
        fence = getattr(self.sio.manager, "fence", None)
        if fence is not None:
            await fence(conversation_id)

    async def to_agent(self, agent_id: int, event: str, data: Any) -> None:
        await self.sio.emit(event, data, room=agent_room(agent_id), namespace=AGENT_NS)

    async def watch(self, sid: str, conversation_id: str) -> None:
        await self.sio.enter_room(sid, conversation_room(conversation_id), namespace=AGENT_NS)

    async def unwatch(self, sid: str, conversation_id: str) -> None:
        await self.sio.leave_room(sid, conversation_room(conversation_id), namespace=AGENT_NS)

    async def join_shopper(self, sid: str, conversation_id: str) -> None:
        await self.sio.enter_room(sid, conversation_room(conversation_id), namespace=SHOPPER_NS)

    async def leave_shopper(self, sid: str, conversation_id: str) -> None:
        await self.sio.leave_room(sid, conversation_room(conversation_id), namespace=SHOPPER_NS)
