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
from bot.origins import OriginPolicy
from bot.settings import Settings
from bot.sockets import Namespace, refusal

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
    events = frozenset(
        {
            "sync",
            "status",
            "open",
            "close_view",
            "take",
            "send",
            "note",
            "typing",
            "transfer",
            "resolve",
            "canned_add",
            "canned_delete",
            "ticket_reply",
            "ticket_done",
            "tickets",
            "seen",
        }
    )

    def __init__(
        self,
        settings: Settings,
        sessions: Sessions,
        agents: AgentService,
        live: LiveState,
        origins: OriginPolicy,
    ) -> None:
        super().__init__(
            AGENT_NS, event_limit=settings.rate_limit_events * 3, window=settings.rate_limit_window
        )
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
        await self.save_session(sid, {"cookie": cookie, "agent_id": session.agent.id})
        agent = session.agent
        await self.enter_room(sid, AGENTS_ROOM)
        await self.enter_room(sid, agent_room(agent.id))
        if agent.is_manager:
            await self.enter_room(sid, MANAGERS_ROOM)
        await self.agents.connected(agent, sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super().on_disconnect(sid, reason)
        await self.agents.disconnected(sid)

    async def session_of(self, sid: str) -> Session:
        """Re-check the session on every event: logout or expiry ends access at once."""
        stored = await self.get_session(sid)
        session = await self.sessions.get(stored.get("cookie"))
        if session is None:
            # Refuse this event, then drop the connection once the refusal is sent.
            await self.revoke_sids({sid}, "session ended", refused_event=True)
            raise ClientError("unauthorized")
        return session

    # -- revocation ----------------------------------------------------------------

    async def revoke_agent(self, agent_id: int, reason: str) -> None:
        """Every connection of this agent ends now; its chats go back to the queue."""
        sids = await self.agents.revoke(agent_id, reason)
        await self._drop_later(sids, delay=0.0)

    async def revoke_sids(
        self, sids: set[str], reason: str, *, refused_event: bool = False
    ) -> None:
        """These connections lost their session. Once an agent has no valid connection
        left, it leaves routing (its other connections are dropped with it)."""
        by_agent: dict[int, set[str]] = {}
        for sid in sids:
            presence = await self.live.agent_for_sid(sid)
            if presence is not None:
                by_agent.setdefault(presence.agent_id, set()).add(sid)
        for agent_id, lost in by_agent.items():
            presence = await self.live.agent(agent_id)
            if presence is None or presence.sids <= lost:
                lost |= await self.agents.revoke(agent_id, reason)
            else:
                for sid in lost:
                    await self.agents.disconnected(sid)
            sids = sids | lost
        # A refused event's ack goes out first; otherwise drop at once.
        await self._drop_later(sids, delay=0.2 if refused_event else 0.0)

    async def audit(self) -> None:
        """Drop connections whose session ended elsewhere (an account disabled from the
        command line, a session expired): one query for every agent connected to this
        process (each process audits its own)."""
        cookies: dict[str, str] = {}
        for presence in await self.live.agents():
            for sid in presence.sids:
                if not self.server.manager.is_connected(sid, AGENT_NS):
                    continue  # on another process
                stored = await self.get_session(sid)
                if stored.get("cookie"):
                    cookies[sid] = stored["cookie"]
        if not cookies:
            return
        valid = await self.sessions.valid(set(cookies.values()))
        gone = {sid for sid, cookie in cookies.items() if cookie not in valid}
        if gone:
            log.info("dropping %d agent connection(s) whose session ended", len(gone))
            await self.revoke_sids(gone, "session ended")

    async def _drop_later(self, sids: set[str], delay: float) -> None:
        if not sids:
            return

        for sid in sids:  # no more pushes from now on, whatever the delay
            for room in self.rooms(sid):
                if room != sid:
                    await self.leave_room(sid, room)

        async def drop() -> None:
            if delay:
                await asyncio.sleep(delay)
            for sid in sids:
                await self.disconnect(sid)

        task = asyncio.create_task(drop())
        self._pending_drops.add(task)
        task.add_done_callback(self._pending_drops.discard)

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

    async def on_ticket_reply(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.ticket_reply((await self.session_of(sid)).agent, data)

    async def on_ticket_done(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.ticket_done((await self.session_of(sid)).agent, data)

    async def on_seen(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.agents.seen((await self.session_of(sid)).agent, data)

    async def on_tickets(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await self.session_of(sid)
        return await self.agents.tickets_page(data)
