"""Concurrency helpers: per-conversation locks, coalesced broadcasts, stopping tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

log = logging.getLogger(__name__)

STOP_GRACE = 2.0  # seconds a cancelled task gets before it is asked again
STOP_TRIES = 3


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], grace: float = STOP_GRACE, tries: int = STOP_TRIES
) -> None:
    """Cancel ``tasks`` and wait for them to end, asking again those that do not.

    A cancellation can be swallowed on its way through a library (caught, or turned
    into another error that a retry loop catches): the task goes on, waiting on
    something else, and a plain ``await task`` would keep a shutdown waiting forever.
    A task still running after ``grace`` seconds is logged with where it waits and
    cancelled again; after ``tries`` requests it is left behind.
    """
    pending = {task for task in tasks if not task.done()}
    for attempt in range(1, tries + 1):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            log.warning(
                "%s did not stop %g s after cancellation %d of %d; waiting at %s",
                task.get_name(),
                grace,
                attempt,
                tries,
                _where(task),
            )


def _where(task: asyncio.Task[Any]) -> str:
    """The innermost frames a task is suspended in (its chain of awaited coroutines)."""
    frames = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return " -> ".join(frames[-4:]) or "?"


class KeyedLocks:
    """One asyncio lock per key (a conversation), made on first use and dropped when
    nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    def __call__(self, key: str) -> AbstractAsyncContextManager[None]:
        return _Held(self, key)

    def local(self, key: str) -> AbstractAsyncContextManager[None]:
        """This process's lock on ``key`` alone, for work that moves nothing the other
        processes hold (with one process, the same lock as calling the object)."""
        return _Held(self, key)

    def __len__(self) -> int:
        return len(self._locks)


class _Held:
    """``async with`` one key's lock (a plain class: every shopper turn takes one, and a
    generator-based context manager cost several times as much)."""

    __slots__ = ("_owner", "_key", "_lock")

    def __init__(self, owner: KeyedLocks, key: str) -> None:
        self._owner, self._key = owner, key
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        owner, key = self._owner, self._key
        lock = owner._locks.get(key)
        if lock is None:
            lock = owner._locks[key] = asyncio.Lock()
        owner._users[key] = owner._users.get(key, 0) + 1
        try:
            await lock.acquire()
        except BaseException:
            self._release_user()
            raise
        self._lock = lock

    async def __aexit__(self, *exc: object) -> None:
        assert self._lock is not None
        self._lock.release()
        self._release_user()

    def _release_user(self) -> None:
        owner, key = self._owner, self._key
        owner._users[key] -= 1
        if not owner._users[key]:
            del owner._users[key]
            del owner._locks[key]


class Coalesced:
    """Run a coroutine function soon, at most once at a time.

    Calls made while it runs do not queue up: they make it run exactly once more
    when the current run ends. Used for broadcasts (the queue, the agents list)
    that many events can trigger at once; each run sends the latest state.
    With ``interval``, runs start at least that many seconds apart: the first
    change is sent at once, changes during the pause go out together after it.
    With ``duty`` as well, the pause also grows with the run: a run that took
    ``d`` seconds is followed by at least ``d * (1 - duty) / duty`` seconds of
    pause, so a broadcast whose cost grows with its content (a long queue) keeps
    to about that share of the time instead of running back to back.
    """

    def __init__(
        self,
        fn: Callable[[], Awaitable[None]],
        name: str,
        interval: float = 0.0,
        duty: float = 1.0,
    ) -> None:
        if not 0 < duty <= 1:
            raise ValueError("duty must be in (0, 1]")
        self._fn = fn
        self._name = name
        self._interval = interval
        self._stretch = (1 - duty) / duty
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        # Calls so far, and how many of them a finished run has covered; ``settled``
        # waits for the calls made before it, not for later ones or the pause.
        self._calls = 0
        self._covered = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def __call__(self) -> None:
        self._dirty = True
        self._calls += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        try:
            while self._dirty:
                self._dirty = False
                covers = self._calls  # every call made so far sees this run's state
                started = time.monotonic()
                try:
                    await self._fn()
                except Exception:
                    log.exception("%s failed", self._name)
                self._covered = covers
                self._wake(covers)
                pause = max(self._interval, (time.monotonic() - started) * self._stretch)
                if pause:
                    await asyncio.sleep(pause)
        finally:
            # Ended with every call covered, or cancelled (shutdown): nobody waits on.
            self._wake(self._calls)

    def _wake(self, covered: int) -> None:
        still = []
        for wanted, waiter in self._waiters:
            if wanted <= covered:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((wanted, waiter))
        self._waiters = still

    async def settled(self) -> None:
        """Wait until a run has covered every call made before this one (tests,
        shutdown): later calls and the pause after the run are not waited for."""
        wanted = self._calls
        if self._covered >= wanted or self._task is None or self._task.done():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((wanted, waiter))
        await waiter
