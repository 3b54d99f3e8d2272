"""The agents' socket.io namespace, ``/agent``: only signed-in agents, same origin only."""

from __future__ import annotations

import asyncio
import logging
from http.cookies import SimpleCookie
from typing import Any

from bot.agents.service import AgentService
from bot.agents.sessions import COOKIE, Session, Sessions
from bot.errors import ClientError
from bot.fanout import AGENT_NS, AGENTS_ROOM, MANAGERS_ROOM, agent_room
from bot.live import LiveState
from bot.settings import Settings
from bot.sockets import Namespace, refusal
from bot.web.origins import OriginPolicy

log = logging.getLogger(__name__)


def session_cookie(environ: dict[str, Any]) -> str | None:
    raw = environ.get("HTTP_COOKIE")
    if not raw:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(raw)
    except Exception:  # noqa: BLE001 - a malformed header is just "no cookie"
        return None
    morsel = cookies.get(COOKIE)
    return morsel.value if morsel else None


class AgentNamespace(Namespace):
    events = frozenset({
        "sync", "status", "open", "close_view", "take", "send", "note", "typing", "transfer",
        "resolve", "canned_add", "canned_delete", "ticket_done",
    })

    def __init__(self, settings: Settings, sessions: Sessions, agents: AgentService,
                 live: LiveState, origins: OriginPolicy) -> None:
        super().__init__(AGENT_NS, event_limit=settings.rate_limit_events * 3,
                         window=settings.rate_limit_window)
        self.settings = settings
        self.sessions = sessions
        self.agents = agents
        self.live = live
        self.origins = origins
        self._pending_drops: set[asyncio.Task[None]] = set()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not self.origins.same_origin(environ):
            log.info("agent connection from origin %s refused", environ.get("HTTP_ORIGIN"))
            raise refusal("forbidden", "The console is same-origin only.")
        cookie = session_cookie(environ)
        session = await self.sessions.get(cookie)
        if session is None:
            log.info("agent connection without a valid session refused")
            raise refusal("unauthorized", "Please sign in.")
        await self.save_session(sid, {"cookie": cookie})
        agent = session.agent
        await self.enter_room(sid, AGENTS_ROOM)
        await self.enter_room(sid, agent_room(agent.id))
        if agent.is_manager:
            await self.enter_room(sid, MANAGERS_ROOM)
        await self.live.agent_connected(agent.id, sid, agent.capacity)
        self.agents.router.agents_changed()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super().on_disconnect(sid, reason)
        presence = await self.live.agent_disconnected(sid)
        if presence is not None:
            self.agents.router.agents_changed()

    async def session_of(self, sid: str) -> Session:
        """Re-check the session on every event: logout or expiry ends access at once."""
        stored = await self.get_session(sid)
        session = await self.sessions.get(stored.get("cookie"))
        if session is None:
            # Refuse this event, then drop the connection once the refusal is sent.
            task = asyncio.create_task(self._drop(sid))
            self._pending_drops.add(task)
            task.add_done_callback(self._pending_drops.discard)
            raise ClientError("unauthorized")
        return session

    async def _drop(self, sid: str) -> None:
        await asyncio.sleep(0.2)
        await self.disconnect(sid)

    async def on_sync(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        session = await self.session_of(sid)
        return {**await self.agents.snapshot(session.agent), "csrf_token": session.csrf_token}

    async def on_status(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.set_status((await self.session_of(sid)).agent, data)

    async def on_open(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.open((await self.session_of(sid)).agent, sid, data)

    async def on_close_view(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await self.session_of(sid)
        return await self.agents.close_view(sid, data)

    async def on_take(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.take((await self.session_of(sid)).agent, sid, data)

    async def on_send(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.send((await self.session_of(sid)).agent, sid, data, note=False)

    async def on_note(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.send((await self.session_of(sid)).agent, sid, data, note=True)

    async def on_typing(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.typing((await self.session_of(sid)).agent, data)

    async def on_transfer(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.transfer((await self.session_of(sid)).agent, data)

    async def on_resolve(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.resolve((await self.session_of(sid)).agent, data)

    async def on_canned_add(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.add_canned((await self.session_of(sid)).agent, data)

    async def on_canned_delete(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.delete_canned((await self.session_of(sid)).agent, data)

    async def on_ticket_done(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.ticket_done((await self.session_of(sid)).agent, data)
