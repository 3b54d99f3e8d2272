"""The shoppers' socket.io namespace, ``/chat`` (protocol in the README)."""

from __future__ import annotations

from typing import Any

from bot.chat.service import ChatService
from bot.csat.service import CsatService
from bot.fanout import SHOPPER_NS
from bot.settings import Settings
from bot.sockets import Namespace


class ShopperNamespace(Namespace):
    events = frozenset({
        "start", "message", "feedback", "handoff", "typing", "end", "csat", "nps",
        "leave_message", "widget", "identify",
    })

    def __init__(self, settings: Settings, chat: ChatService, csat: CsatService) -> None:
        super().__init__(SHOPPER_NS, event_limit=settings.rate_limit_events,
                         window=settings.rate_limit_window)
        self.chat = chat
        self.csat = csat

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        return None  # origins are checked by engine.io; the conversation comes with 'start'

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super().on_disconnect(sid, reason)
        await self.chat.left(sid)

    async def on_start(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.start(sid, data)

    async def on_message(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.message(sid, data)

    async def on_feedback(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.feedback(sid, data)

    async def on_handoff(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
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
        return await self.chat.leave_message(sid, data)

    async def on_widget(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.chat.widget(sid, data)

    async def on_identify(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await self.chat.identify(sid, data)
        return {}
