"""The socket.io server and the common rules of our namespaces.

Every client event takes one JSON object and answers with an ack
``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}``. When the client did
not ask for an ack, a refusal is sent as an ``error`` event instead, so that no
refusal is ever silent. Unknown events, malformed payloads, floods and bugs are
all turned into such refusals; the connection stays up.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

import socketio

from bot import validate
from bot.errors import ClientError
from bot.ratelimit import RateLimiter
from bot.store import StorageUnavailable

log = logging.getLogger(__name__)

ACK_REQUESTED: ContextVar[bool] = ContextVar("ack_requested", default=True)
# True while an event a client sent is dispatched: "connect" and "disconnect" then
# come from the client's payload, not from the transport, and are refused.
CLIENT_EVENT: ContextVar[bool] = ContextVar("client_event", default=False)
RESERVED = frozenset({"connect", "disconnect", "connect_error"})


class RoomIndex(socketio.AsyncManager):
    """python-socketio's manager, plus an index of the rooms each client is in.

    The stock manager finds a leaving client's rooms by scanning every room of the
    namespace; with a room per conversation and per connection, each disconnect
    then costs time in proportion to the connections held. The index makes it a
    lookup, whatever the number of connections.
    """

    def __init__(self) -> None:
        super().__init__()
        self._joined: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):  # type: ignore[no-untyped-def]
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._joined.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid, namespace, room):  # type: ignore[no-untyped-def]
        super().basic_leave_room(sid, namespace, room)
        joined = self._joined.get((namespace, sid))
        if joined is not None:
            joined.discard(room)
            if not joined:
                del self._joined[(namespace, sid)]

    def basic_disconnect(self, sid, namespace, **kwargs):  # type: ignore[no-untyped-def]
        # The stock method, with the rooms taken from the index instead of a scan.
        if namespace not in self.rooms:
            return
        for room in list(self._joined.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)  # also drops the index entry
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid, namespace):  # type: ignore[no-untyped-def]
        return [room for room in self._joined.get((namespace, sid), ()) if room is not None]


class Server(socketio.AsyncServer):
    """Remembers, per event, whether the client asked for an ack."""

    async def _handle_event_internal(  # type: ignore[no-untyped-def]
        self, server, sid, eio_sid, data, namespace, id
    ):
        ACK_REQUESTED.set(id is not None)
        token = CLIENT_EVENT.set(True)
        try:
            return await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        finally:
            CLIENT_EVENT.reset(token)


class Namespace(socketio.AsyncNamespace):
    """Dispatches ``on_<event>(sid, payload)`` with the shared error handling."""

    #: events this namespace handles (each has an ``on_<name>`` coroutine)
    events: frozenset[str] = frozenset()

    def __init__(self, namespace: str, *, event_limit: int, window: float) -> None:
        super().__init__(namespace)
        self.event_limits = RateLimiter(event_limit, window)

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if event in RESERVED and not CLIENT_EVENT.get():
            return await super().trigger_event(event, *args)
        sid = args[0]
        name = event if isinstance(event, str) else repr(event)
        try:
            if name not in self.events:
                raise ClientError("unknown_event", f"Unknown event {name[:40]!r}.")
            wait = self.event_limits.hit(sid)
            if wait:
                raise ClientError("rate_limited", retry_after=wait)
            if len(args) > 2:
                raise ClientError("invalid_payload", "Send exactly one JSON object.")
            data = validate.payload(args[1] if len(args) == 2 else None)
            result = await getattr(self, f"on_{name}")(sid, data)
            return {"ok": True, **(result or {})}
        except ClientError as exc:
            return await self._refuse(sid, name, exc)
        except StorageUnavailable as exc:
            log.warning("refused %s from %s: %s", name, sid, exc)
            return await self._refuse(sid, name, ClientError("storage_unavailable"))
        except Exception:
            log.exception("error handling %s from %s", name, sid)
            return await self._refuse(sid, name, ClientError("internal_error"))

    async def _refuse(self, sid: str, event: str, error: ClientError) -> dict[str, Any]:
        if not ACK_REQUESTED.get():
            await self.emit("error", {**error.payload(), "event": event[:40]}, to=sid)
        return error.ack()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.event_limits.forget(sid)
