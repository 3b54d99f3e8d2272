"""The shoppers' socket.io namespace, ``/chat`` (protocol in the README).

Besides the shape of each call, this is where the shoppers' limits per
conversation and per client address are counted (``bot.ratelimit.Limits``),
before the chat service does any work.
"""

from __future__ import annotations

from typing import Any

from bot import validate
from bot.chat.service import ChatService
from bot.csat.service import CsatService
from bot.errors import ClientError
from bot.fanout import SHOPPER_NS
from bot.ratelimit import Limits
from bot.remotes import address_key, client_address
from bot.settings import Settings
from bot.sockets import Namespace
from bot.types import Status


class ShopperNamespace(Namespace):
    events = frozenset(
        {
            "start",
            "message",
            "feedback",
            "handoff",
            "typing",
            "end",
            "csat",
            "nps",
            "leave_message",
            "widget",
            "identify",
        }
    )

    def __init__(
        self, settings: Settings, chat: ChatService, csat: CsatService, limits: Limits
    ) -> None:
        super().__init__(
            SHOPPER_NS, event_limit=settings.rate_limit_events, window=settings.rate_limit_window
        )
        self.chat = chat
        self.csat = csat
        self.limits = limits
        self.max_length = settings.max_message_length
        # Conversations whose offline message is being stored, one at a time (shared
        # by all connections, like the conversation locks; not per-connection data).
        self._leaving: set[str] = set()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # Origins are checked by engine.io; the conversation comes with 'start'.
        await self.save_session(sid, {"address": address_key(client_address(environ))})

    async def address(self, sid: str) -> str:
        return str((await self.get_session(sid)).get("address", ""))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super().on_disconnect(sid, reason)
        await self.chat.left(sid)

    async def on_start(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("token") is None:  # a new conversation; resuming one is not limited
            await self.limits.check((self.limits.address_conversations, await self.address(sid)))
        return await self.chat.start(sid, data)

    async def on_message(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        # Counted per conversation, not per connection: reconnecting or opening more
        # connections to the same chat does not reset it.
        conversation_id = await self.chat.conversation_of(sid)
        await self.limits.check(
            (self.limits.messages, conversation_id),
            (self.limits.address_messages, await self.address(sid)),
        )
        return await self.chat.message(sid, data)

    async def on_feedback(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.feedback(sid, data)

    async def on_handoff(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = await self.chat.conversation_of(sid)
        await self.limits.check(
            (self.limits.handoffs, conversation_id),
            (self.limits.address_handoffs, await self.address(sid)),
        )
        return await self.chat.handoff(sid)

    async def on_typing(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.typing(sid, data)

    async def on_end(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.end(sid)

    async def on_csat(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.csat.rate(sid, data)

    async def on_nps(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.csat.nps(sid, data)

    async def on_leave_message(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """One offline message per conversation: it makes the chat a ticket. A second one
        (``conflict``), one on an ended chat (``conversation_closed``) and a malformed one
        are refused before the address's allowance is counted; of several sent at once,
        all but the first are refused (the state machine would refuse them too)."""
        conversation_id = await self.chat.conversation_of(sid)
        if conversation_id in self._leaving:
            raise ClientError("conflict", "An offline message for this chat is being saved.")
        self._leaving.add(conversation_id)
        try:
            conversation = await self.chat.get(conversation_id)
            if conversation.closed:
                raise ClientError("conversation_closed")
            if conversation.status not in (Status.BOT, Status.QUEUED):
                raise ClientError("conflict", f"This chat is {conversation.status} already.")
            validate.email(data)  # a typo must not use up the address's allowance
            validate.text(data, limit=self.max_length)
            await self.limits.check((self.limits.address_tickets, await self.address(sid)))
            return await self.chat.leave_message(sid, data)
        finally:
            self._leaving.discard(conversation_id)

    async def on_widget(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.widget(sid, data)

    async def on_identify(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await self.chat.identify(sid, data)
        return {}
