"""This process among the others: its heartbeat, the leader, and dead processes reaped.

Every ``ttl / 5`` seconds each process (node)

- beats: its entry in ``sb:nodes`` is pushed ``ttl`` seconds into the future;
- tries to lead: ``sb:leader`` holds the leader's node id and expires after ``ttl``
  seconds unless the leader renews it (``SET NX PX``, renewed by compare-and-set);
  when the leader dies, another process takes over within ``ttl`` seconds.

The leader runs the once-per-deployment work (``bot.leadership``): the
dispatcher, the queue's pushes and the sweeper. Other processes relay requests
for the first two on the ``sb:leader`` pub/sub channel. Pub/sub delivers at most
once, and nobody leads for a moment after a leader dies, so a new leader runs
all three at once and the leader dispatches on every beat as well.

The leader also reaps: a process whose entry has not been pushed for ``ttl``
seconds is dead, and its connections are closed in the live state (its shoppers
away, its agents disconnected, from then on: their grace periods start) and its
share of the gauges given back. A process that finds itself reaped (it stalled
for longer than ``ttl``) drops its connections, so that its clients reconnect and
are recorded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.cluster.live import Scripts
from bot.cluster.scripts import PREFIX
from bot.leadership import DISPATCH
from bot.locks import cancel_and_wait

log = logging.getLogger(__name__)

CHANNEL = PREFIX + "leader"
BEATS_PER_TTL = 5

Reaped = Callable[[list[str], list[int]], Awaitable[None]]


class Node:
    def __init__(
        self, redis: Redis, ttl: float, node_id: str | None = None, channel: str = CHANNEL
    ) -> None:
        self.redis = redis
        self.channel = channel  # pub/sub channels span Redis's databases: one per deployment
        self.id = node_id or uuid.uuid4().hex
        self.ttl = ttl
        self.ttl_ms = max(1, int(ttl * 1000))
        self.scripts = Scripts(redis)
        self._leads = False
        self._registered = False
        # Wired by the application: what the leader runs for a relayed job, when it
        # is elected, when it reaped dead processes, and what a reaped process does.
        self.jobs: dict[str, Callable[[], None]] = {}
        self.elected: Callable[[], None] = lambda: None
        self.reaped: Reaped | None = None
        self.orphaned: Callable[[], Awaitable[None]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._relays: set[asyncio.Task[None]] = set()
        self._relaying: set[str] = set()  # jobs whose publish has not started yet

    # -- bot.leadership.Leadership
    def leads(self) -> bool:
        return self._leads

    def relay(self, job: str) -> None:
        """Ask the leader to run ``job``. Requests made while one for the same job is
        being published join it (a burst of changes is one request)."""
        if job in self._relaying:
            return
        self._relaying.add(job)
        task = asyncio.create_task(self._publish(job), name=f"relay-{job}")
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def _publish(self, job: str) -> None:
        self._relaying.discard(job)  # a request from now on is published again
        try:
            await self.redis.publish(self.channel, job)
        except Exception:
            log.exception("could not relay %s to the leader", job)

    # -- lifetime
    async def start(self) -> None:
        """Register this process and take part in the election (the first beat is now)."""
        await self.tick()
        self._tasks = [
            asyncio.create_task(self._beating(), name="cluster-beat"),
            asyncio.create_task(self._listening(), name="cluster-relay"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        for task in list(self._relays):
            with contextlib.suppress(Exception):
                await task
        try:
            await self.scripts.run("RESIGN", self.id)
            await self.scripts.run("REAP", self.id)  # whatever connections are left
        except Exception:
            log.exception("could not leave the cluster cleanly (the leader will reap us)")
        self._leads = False

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / BEATS_PER_TTL)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster heartbeat failed; trying again")
                self._leads = False  # no longer sure to be the only one

    async def tick(self) -> None:
        """One beat: stay alive, lead if nobody does, reap the dead when leading."""
        alive = await self.scripts.run("BEAT", self.id, self.ttl_ms, int(self._registered))
        if not alive:
            log.warning("this process was taken for dead (stalled for %.0f s or more)", self.ttl)
            self._registered = False
            await self.scripts.run("BEAT", self.id, self.ttl_ms, 0)
            if self.orphaned is not None:
                await self.orphaned()
        self._registered = True
        led = self._leads
        result = int(await self.scripts.run("LEAD", self.id, self.ttl_ms))
        self._leads = result > 0
        if self._leads and not led:
            log.info("this process (%s) now leads", self.id[:8])
            self.elected()
        elif led and not self._leads:
            log.warning("this process (%s) no longer leads", self.id[:8])
        if self._leads:
            await self.reap()
            job = self.jobs.get(DISPATCH)
            if job is not None:
                job()  # relays may have been lost: match chats and seats anyway

    async def reap(self) -> None:
        nodes, away, agents = await self.scripts.run("REAP", "")
        if not nodes:
            return
        log.warning(
            "process(es) %s stopped beating: %d shopper(s) and %d agent connection(s) closed",
            ", ".join(n[:8] for n in nodes),
            len(away),
            len(agents),
        )
        if self.reaped is not None:
            await self.reaped([str(c) for c in away], [int(a) for a in agents])

    async def _listening(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message.get("type") != "message" or not self._leads:
                        continue
                    job = self.jobs.get(str(message.get("data")))
                    if job is not None:
                        job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leader channel lost; subscribing again")
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
