"""The socket.io server and the common rules of our namespaces.

Every client event takes one JSON object and answers with an ack
``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}``. When the client did
not ask for an ack, a refusal is sent as an ``error`` event instead, so that no
refusal is ever silent. Unknown events, malformed payloads, floods and bugs are
all turned into such refusals; the connection stays up.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import Any

import socketio
from engineio import json as engineio_json
from socketio import packet

from bot import validate
from bot.errors import MESSAGES, ClientError
from bot.ratelimit import Gauge, Limits, RateLimiter
from bot.remotes import address_key, client_address, client_scheme
from bot.store import StorageUnavailable

log = logging.getLogger(__name__)

ACK_REQUESTED: ContextVar[bool] = ContextVar("ack_requested", default=True)
# True while an event a client sent is dispatched: "connect" and "disconnect" then
# come from the client's payload, not from the transport, and are refused.
CLIENT_EVENT: ContextVar[bool] = ContextVar("client_event", default=False)
RESERVED = frozenset({"connect", "disconnect", "connect_error"})
# Connections over an address's limit that are still let in, this many at a time, to
# be told why (connect_error ``too_many_connections``) and closed; past these,
# engine.io refuses the handshake itself (HTTP 401), so a client that never asks for
# a namespace cannot hold more than the limit plus these.
TURN_AWAY_AT_ONCE = 10
TURN_AWAY_AFTER = 2.0  # seconds a turned-away connection may stay open at most


def refusal(code: str, message: str | None = None) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connection: the client's ``connect_error`` has ``message`` and
    ``data: {code, message}``."""
    message = message or MESSAGES.get(code, code)
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})


class Unreadable:
    """Stands for a packet payload that is not JSON, or nested too deeply to read."""

    def __repr__(self) -> str:
        return "<unreadable>"


UNREADABLE = Unreadable()


class _PacketJson:
    """engine.io's JSON, except that a payload that cannot be read becomes an event
    named :data:`UNREADABLE` (refused with an ack) instead of an exception that would
    leave the client without an answer (json's RecursionError at ~1,000 levels)."""

    dumps = staticmethod(engineio_json.dumps)

    @staticmethod
    def loads(text: str, **kwargs: Any) -> Any:
        try:
            return engineio_json.loads(text, **kwargs)
        except (ValueError, RecursionError):
            return [UNREADABLE]


class Packet(packet.Packet):
    json = _PacketJson
    # Nothing this server sends carries bytes (images go over HTTP), so an outgoing
    # packet is not searched for them: python-socketio walks every list and dict of
    # every packet for bytes otherwise (a tenth of the event loop's time at 200
    # messages/s). Packets from clients are read as before, binary ones included.
    uses_binary_events = False


class RoomIndex(socketio.AsyncManager):
    """python-socketio's manager, plus an index of the rooms each client is in.

    The stock manager finds a leaving client's rooms by scanning every room of the
    namespace; with a room per conversation and per connection, each disconnect
    then costs time in proportion to the connections held. The index makes it a
    lookup, whatever the number of connections. ``bot.cluster.rooms`` puts it in
    front of python-socketio's Redis manager for several processes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
    """Remembers, per event, whether the client asked for an ack; gives engine.io's
    environ the client's real address and scheme; holds connections per address to
    ``limits.connections``; answers unreadable packets."""

    def __init__(self, *, limits: Limits | None = None, **kwargs: Any) -> None:
        super().__init__(serializer=Packet, **kwargs)
        self.limits = limits
        self._held: dict[str, str] = {}  # engine.io sid -> address key it counts under
        self._turning_away: dict[str, tuple[str, asyncio.TimerHandle]] = {}
        self._turn_away = Gauge(TURN_AWAY_AT_ONCE)
        self._closing: set[asyncio.Task[None]] = set()
        self._refusals_logged = RateLimiter(1, 60.0)

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        address = client_address(environ)
        environ["REMOTE_ADDR"] = address
        environ["wsgi.url_scheme"] = client_scheme(environ)
        limits = self.limits
        if limits is not None and limits.connections.limit > 0:
            key = address_key(address)
            if await limits.counters.acquire(limits.connections, key):
                self._held[eio_sid] = key
            elif self._turn_away.acquire(key):
                timer = asyncio.get_running_loop().call_later(
                    TURN_AWAY_AFTER, self._close_soon, eio_sid
                )
                self._turning_away[eio_sid] = (key, timer)
                self._log_refusal(key, limits.connections.limit)
            else:
                self._log_refusal(key, limits.connections.limit)
                return {"code": "too_many_connections", "message": MESSAGES["too_many_connections"]}
        return await super()._handle_eio_connect(eio_sid, environ)

    def _close_soon(self, eio_sid: str) -> None:
        """A turned-away connection that did not ask for a namespace in time."""
        task = asyncio.ensure_future(self.eio.disconnect(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _log_refusal(self, key: str, limit: int) -> None:
        if not self._refusals_logged.hit(key):  # once a minute per address
            log.warning("connections from %s refused: %d held, the limit", key, limit)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        if eio_sid in self._turning_away:
            error = refusal("too_many_connections")
            await self._send_packet(
                eio_sid,
                self.packet_class(
                    packet.CONNECT_ERROR, data=error.error_args, namespace=namespace or "/"
                ),
            )
            await self.eio.disconnect(eio_sid)
            return
        await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            key = self._held.pop(eio_sid, None)
            if key is not None and self.limits is not None:
                await self.limits.counters.release(self.limits.connections, key)
            turned = self._turning_away.pop(eio_sid, None)
            if turned is not None:
                turned[1].cancel()
                self._turn_away.release(turned[0])

    async def _handle_event(  # type: ignore[no-untyped-def]
        self, eio_sid, namespace, id, data
    ):
        # A client may send any JSON as the event: it must be [name, *arguments].
        if not isinstance(data, list) or not data:
            data = [UNREADABLE]
        return await super()._handle_event(eio_sid, namespace, id, data)

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
        if isinstance(event, str) and event in RESERVED and not CLIENT_EVENT.get():
            return await super().trigger_event(event, *args)
        sid = args[0]
        name = event if isinstance(event, str) else "<not a name>"
        try:
            if event is UNREADABLE:
                raise ClientError(
                    "invalid_payload", "The packet is not JSON, or is nested too deeply."
                )
            if not isinstance(event, str):
                raise ClientError("unknown_event", "An event name is a string.")
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
