"""python-socketio's Redis manager, with our room index, routed emits and the fence.

Emits go to this process's clients at once and through Redis to the others
(python-socketio's ``AsyncRedisManager``). The fence (agents who may no longer
read a chat stop getting it, ``bot.chat.lifecycle.Lifecycle.fence``) must reach
the agents' connections on every process: it travels in the same stream as the
emits, after the move's emits that came before it and before those that come
after, and each process runs it for its own connections before it reads the next
message.

Routed rooms. A conversation's rooms (the shopper's tabs on ``/chat``, the agents
watching it on ``/agent``) have their members on one process or two, and most
turns have nobody anywhere but the shopper who sent them. Python-socketio would
publish every emit to every process, each of which decodes it and finds nobody to
give it to. Instead each process records in Redis, for each conversation room it
has members in, its own id (``sb:room:NAMESPACE|ROOM``, a set of processes), and
an emit to such a room is handed by a script in Redis to the processes in that
set, each on its own channel, and to no one when only this process has members.
A join is recorded before ``enter_room`` returns, so whatever is emitted after a
join (an agent opening a chat reads its messages after joining) reaches the new
member; a process's last member leaving takes its id out again. The ids of a
process that died are taken out by the leader when it reaps it
(``bot.cluster.node``), and a process records its rooms again whenever it
subscribes again (Redis may have restarted). Other rooms (all agents, one agent's
connections, the managers) and the fence go to every process as before.

Publishing is coalesced: an emit is handed to this process's clients at once and
its message put in an ordered queue, which one task sends as one pipeline at the
next turn of the event loop, the room records among them in the order they were
made. A shopper's turn emits several messages (the shopper's message, the bot's
reply, the mood card); they reach Redis in one round trip instead of one each, in
the order they were emitted, and every process receives them in that order (one
Redis connection delivers a subscriber's channels in the order published). The
emitter does not wait for Redis, as it did not wait for the other processes
before: when Redis cannot be reached the pipeline is tried twice and dropped (logged),
as python-socketio's own ``_publish`` does; a command Redis refuses is logged and not
run again (its neighbours ran), and a room record it refused is made again after
the next pipeline that works.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeGuard

import socketio

from bot.cluster.scripts import PREFIX
from bot.sockets import RoomIndex

log = logging.getLogger(__name__)

FENCE = "supportbot_fence"
PENDING_LIMIT = 10_000  # queued messages; beyond this an emitter waits for Redis
COALESCE_TURNS = 4  # turns of the event loop the sender waits at most for more emits
JOIN_TIMEOUT = 5.0  # seconds a join waits for Redis to record it, then goes on (logged)
ROUTED = ("conv:",)  # rooms whose emits go only to the processes with members in them

# KEYS: rooms' sets of processes; ARGV: this process, the channels' prefix, then one
# message per key (consecutive emits to routed rooms, in order, in one call).
ROUTE = """
for i, key in ipairs(KEYS) do
  for _, node in ipairs(redis.call('SMEMBERS', key)) do
    if node ~= ARGV[1] then redis.call('PUBLISH', ARGV[2] .. node, ARGV[2 + i]) end
  end
end
return 1
"""

# Queued operations, sent in order.
_PUBLISH, _ROUTE, _JOIN, _LEAVE = range(4)


def routed(room: Any) -> TypeGuard[str]:
    return isinstance(room, str) and room.startswith(ROUTED)


def entry_of(namespace: str | None, room: str) -> str:
    """How a routed room is named in Redis: NAMESPACE|ROOM."""
    return f"{namespace or '/'}|{room}"


def room_key(entry: str) -> str:
    """The set of processes with members in a room; ``entry`` is NAMESPACE|ROOM."""
    return f"{PREFIX}room:{entry}"


def node_rooms_key(node: str) -> str:
    """The routed rooms a process has members in (for the reaper)."""
    return f"{PREFIX}node_rooms:{node}"


class RedisRooms(RoomIndex, socketio.AsyncRedisManager):
    connected: bool  # python-socketio's: whether its Redis client is made

    def __init__(self, url: str, channel: str = "supportbot", host_id: str | None = None) -> None:
        super().__init__(url, channel=channel)
        if host_id is not None:
            self.host_id = host_id  # the node id, so the reaper finds its rooms
        self.fenced: Callable[[str], Awaitable[None]] | None = None
        self._pending: list[tuple[Any, ...]] = []
        self._sender: asyncio.Task[None] | None = None
        # Routed rooms with members here -> done once Redis has recorded it (or refused).
        self._registered: dict[str, asyncio.Future[None]] = {}
        self._unrecorded: list[tuple[Any, ...]] = []  # joins and leaves Redis refused
        self.round_trips = 0  # pipelines sent (a gauge for tests and benchmarks)

    @property
    def node_channel(self) -> str:
        return f"{self.channel}:node:{self.host_id}"

    # -- the room records
    async def enter_room(self, sid, namespace, room, eio_sid=None):  # type: ignore[no-untyped-def]
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        registered = self._registered.get(entry_of(namespace, room))
        if registered is not None:  # recorded (or on its way): emits after this reach us
            try:
                await asyncio.wait_for(asyncio.shield(registered), JOIN_TIMEOUT)
            except TimeoutError:
                log.warning("redis did not record room %s within %.0f s", room, JOIN_TIMEOUT)

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):  # type: ignore[no-untyped-def]
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if routed(room):
            entry = entry_of(namespace, room)
            if entry not in self._registered:
                self._registered[entry] = asyncio.get_running_loop().create_future()
                self._queue((_JOIN, entry, self._registered[entry]))

    def basic_leave_room(self, sid, namespace, room):  # type: ignore[no-untyped-def]
        super().basic_leave_room(sid, namespace, room)
        if routed(room) and room not in self.rooms.get(namespace, {}):
            entry = entry_of(namespace, room)
            if self._registered.pop(entry, None) is not None:
                self._queue((_LEAVE, entry))

    def _register_all(self) -> None:
        """Record every routed room with members here again (after subscribing)."""
        self._unrecorded = [op for op in self._unrecorded if op[0] == _LEAVE]
        for entry in list(self._registered):
            future = asyncio.get_running_loop().create_future()
            self._registered[entry] = future
            self._queue((_JOIN, entry, future))

    # -- publishing
    async def _publish(self, data: Any) -> None:
        """Queue the message; the sender task publishes the queue in one pipeline."""
        message = self.json.dumps(data)
        room = data.get("room") if data.get("method") == "emit" else None
        if routed(room):
            self._queue((_ROUTE, room_key(entry_of(data.get("namespace"), room)), message))
        else:
            self._queue((_PUBLISH, message))
        if len(self._pending) > PENDING_LIMIT and self._sender is not None:
            await asyncio.shield(self._sender)

    def _queue(self, op: tuple[Any, ...]) -> None:
        self._pending.append(op)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send())

    async def flush(self) -> None:
        """Wait until everything queued so far is published (or given up)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)

    async def _send(self) -> None:
        # The rest of this turn's emits join the batch: one turn of the event loop,
        # and a few more while emits keep coming (a chat's end emits four, each
        # after the last one's local packets).
        size = -1
        for _ in range(COALESCE_TURNS):
            if len(self._pending) == size:
                break
            size = len(self._pending)
            await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = self._pending, []
            failed = await self._execute(batch)
            for op in batch:
                if op[0] == _JOIN and op[2] is not None and not op[2].done():
                    op[2].set_result(None)  # the join goes on; a failed record is retried
            if failed:
                self._unrecorded += [op for op in failed if op[0] in (_JOIN, _LEAVE)]
            elif self._unrecorded:
                # Redis works again: the records it refused, if they still hold.
                retry, self._unrecorded = self._unrecorded, []
                for op in retry:
                    if (op[0] == _JOIN) == (op[1] in self._registered):
                        self._pending.append((op[0], op[1], None))

    async def _execute(self, batch: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Send the batch as one pipeline; the operations not done (those Redis
        refused; all of them when it could not be reached). A refused command does not
        make the others run twice: only a lost connection is tried again, as
        python-socketio's ``_publish`` does."""
        for retries_left in (1, 0):
            try:
                if not self.connected:
                    self._redis_connect()
                pipe, owners = self._pipeline(batch)
                results = await pipe.execute(raise_on_error=False)
                self.round_trips += 1
            except Exception as exc:  # noqa: BLE001 - logged; Redis may come back
                if retries_left:
                    log.error("cannot publish to redis, retrying: %s", exc)
                    self.connected = False
                    continue
                log.error("cannot publish %d messages to redis: %s", len(batch), exc)
                return batch
            refused = sorted(
                {
                    i
                    for result, ops in zip(results, owners, strict=True)
                    if isinstance(result, Exception)
                    for i in ops
                }
            )
            if refused:
                errors = {str(r) for r in results if isinstance(r, Exception)}
                log.error(
                    "redis refused %d of %d queued operations: %s",
                    len(refused),
                    len(batch),
                    "; ".join(sorted(errors)),
                )
            return [batch[i] for i in refused]
        return batch

    def _pipeline(self, batch: list[tuple[Any, ...]]) -> tuple[Any, list[list[int]]]:
        """The pipeline, and for each of its commands the operations it carries."""
        pipe = self.redis.pipeline(transaction=False)
        owners: list[list[int]] = []
        prefix = f"{self.channel}:node:"
        routes: list[int] = []
        for index, op in enumerate(batch):
            kind = op[0]
            if kind == _ROUTE:
                routes.append(index)
                if index + 1 < len(batch) and batch[index + 1][0] == _ROUTE:
                    continue
                keys = [batch[r][1] for r in routes]
                messages = [batch[r][2] for r in routes]
                pipe.eval(ROUTE, len(keys), *keys, self.host_id, prefix, *messages)
                owners.append(routes)
                routes = []
            elif kind == _PUBLISH:
                pipe.publish(self.channel, op[1])
                owners.append([index])
            elif kind == _JOIN:
                pipe.sadd(room_key(op[1]), self.host_id)
                pipe.sadd(node_rooms_key(self.host_id), op[1])
                owners += [[index], [index]]
            else:
                pipe.srem(room_key(op[1]), self.host_id)
                pipe.srem(node_rooms_key(self.host_id), op[1])
                owners += [[index], [index]]
        return pipe, owners

    async def fence(self, conversation_id: str) -> None:
        """Ask the other processes to fence their watchers of this conversation."""
        await self._publish(
            {"method": FENCE, "conversation_id": conversation_id, "host_id": self.host_id}
        )

    # -- listening
    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """python-socketio's, on the shared channel and this process's own."""
        retry_sleep = 1
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel, self.node_channel)
                retry_sleep = 1
                self._register_all()
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # noqa: BLE001 - logged; Redis may come back
                log.error("cannot receive from redis, retrying in %d s: %s", retry_sleep, exc)
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 60)

    async def _listen(self) -> AsyncIterator[Any]:
        channels = {self.channel.encode(), self.node_channel.encode()}
        async for message in self._redis_listen_with_retries():
            if message.get("type") != "message" or message.get("channel") not in channels:
                continue
            try:
                data = self.json.loads(message["data"])
            except (KeyError, ValueError):
                continue
            if isinstance(data, dict) and data.get("method") == FENCE:
                if data.get("host_id") != self.host_id and self.fenced is not None:
                    try:
                        await self.fenced(str(data.get("conversation_id")))
                    except Exception:
                        log.exception("fence of %s failed", data.get("conversation_id"))
                continue
            yield data
