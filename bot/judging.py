"""Where the bot's judgement runs in the server: never on the event loop.

:class:`Judging` owns, for the application's lifetime:

* a small thread pool for :meth:`bot.brain.Brain.assess` (language, mood, the
  FAQ match) when there are no worker processes, so neither the event loop nor the
  database writer thread does it;
* with ``SUPPORTBOT_FAQ_SEMANTIC=process`` (the default), :class:`JudgeWorkers`:
  ``SUPPORTBOT_FAQ_WORKERS`` worker processes (:mod:`bot.judge_worker`), each with
  the sentence encoder, its own copy of the knowledge base and the mood detector,
  which judge every message (the lexical fast path and, when it is unsure, the
  semantic slow path). The server process sends the text and reads the
  :class:`bot.brain.Assessment` back over pipes watched by its event loop: no
  thread of its own is woken for it. Each request carries the fingerprint of the KB
  version the server judges with; a worker on another version reloads first, and
  answers nothing if it still differs (the server then judges the message itself,
  with the lexical matcher).

Workers that cannot start (a missing or corrupt model file) are logged as a
warning naming the file, and the bot goes on with the lexical matcher alone, in
the server's threads. A worker that dies is replaced; the messages it held are
judged by the server meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bot
from bot.judge_worker import HEADER, frame
from bot.kb.matcher import MatcherConfig

if TYPE_CHECKING:
    from bot.brain import Assessment
    from bot.mood.detector import MoodConfig

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds a worker may take to load the model and the KB
STOP_TIMEOUT = 5.0  # seconds a worker may take to exit once its input is closed
JUDGE_TIMEOUT = 10.0  # seconds a message waits for a worker before the server judges it
MAX_PENDING = 1000  # requests in flight per worker before the server judges itself
FIRST_RESTART_PAUSE = 1.0  # seconds before a failed restart is tried again, doubling
LAST_RESTART_PAUSE = 60.0


class WorkerGone(Exception):
    """A worker process exited (or never started)."""


class _Worker:
    """One worker process and the requests it has not answered yet."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        # request id -> (its future, when it is given up on)
        self.pending: dict[int, tuple[asyncio.Future[Any], float]] = {}
        self.reader: asyncio.Task[None] | None = None
        self._sweep_at: asyncio.TimerHandle | None = None

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and (self.reader is None or not self.reader.done())

    async def receive(self) -> Any:
        assert self.proc.stdout is not None
        try:
            header = await self.proc.stdout.readexactly(HEADER.size)
            (size,) = HEADER.unpack(header)
            return pickle.loads(await self.proc.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise WorkerGone(f"exit code {await self.proc.wait()}") from exc

    def send(self, obj: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(frame(obj))

    def request(self, request_id: int, message: tuple[Any, ...]) -> asyncio.Future[Any]:
        """Send a request; its future gets the reply, or None after JUDGE_TIMEOUT."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        deadline = loop.time() + JUDGE_TIMEOUT
        self.pending[request_id] = (future, deadline)
        # One timer for all requests, not one each: most are answered in milliseconds,
        # and a timer made and cancelled per request cost the loop.
        if self._sweep_at is None or deadline < self._sweep_at.when():
            if self._sweep_at is not None:
                self._sweep_at.cancel()
            self._sweep_at = loop.call_at(deadline, self._sweep)
        self.send((request_id, *message))
        return future

    def _sweep(self) -> None:
        """Requests past their deadline get None (judged here instead); the timer is set
        again for the earliest deadline left. It fires about once per JUDGE_TIMEOUT
        while replies come in time, so a pass over the waiting requests costs little."""
        self._sweep_at = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        expired = [key for key, (_, deadline) in self.pending.items() if deadline <= now]
        for request_id in expired:
            future = self.pending.pop(request_id)[0]
            if not future.done():
                log.warning(
                    "a judging worker took over %.0f s; judging here instead", JUDGE_TIMEOUT
                )
                future.set_result(None)
        if self.pending:
            earliest = min(deadline for _, deadline in self.pending.values())
            self._sweep_at = loop.call_at(earliest, self._sweep)

    async def read_replies(self) -> None:
        """Settle the futures of the replies as they come (the worker's reader task)."""
        while True:
            request_id, result = await self.receive()
            waiting = self.pending.pop(request_id, None)
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result(result)

    def forget(self) -> None:
        """The worker is gone: its unanswered requests get None (judged elsewhere)."""
        pending, self.pending = self.pending, {}
        if self._sweep_at is not None:
            self._sweep_at.cancel()
            self._sweep_at = None
        for future, _ in pending.values():
            if not future.done():
                future.set_result(None)

    async def stop(self) -> None:
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        self.forget()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
        except (TimeoutError, asyncio.CancelledError):
            if self.proc.returncode is None:
                self.proc.kill()
            await self.proc.wait()
            raise


class JudgeWorkers:
    """Worker processes that judge shopper messages (the whole :meth:`Brain.assess`)."""

    def __init__(
        self,
        kb_path: Path,
        config: MatcherConfig,
        model_dir: Path | None,
        cache_dir: Path | None,
        mood: MoodConfig | None = None,
        workers: int = 1,
    ) -> None:
        self._setup = (
            str(kb_path),
            config,
            str(model_dir) if model_dir else None,
            str(cache_dir) if cache_dir else None,
            mood,
        )
        self.workers = max(1, workers)
        self._running: list[_Worker] = []
        self._next_id = 0
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()
        self.error = ""

    @property
    def available(self) -> bool:
        return bool(self._running)

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [worker.proc.pid for worker in self._running]

    async def _spawn(self) -> _Worker:
        """A new worker, set up (its model and KB loaded) but not yet in the pool;
        raises WorkerGone or RuntimeError."""
        env = dict(os.environ)
        # The worker imports this very copy of the package: ``-P`` keeps the working
        # folder out of its path, and the package's folder is added unless it is one
        # of the interpreter's own (an installed package).
        root = str(Path(bot.__file__).resolve().parent.parent)
        if root not in _site_folders():
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            "-m",
            "bot.judge_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        worker = _Worker(proc)
        try:
            worker.send(self._setup)
            error = await asyncio.wait_for(worker.receive(), START_TIMEOUT)
        except (TimeoutError, WorkerGone) as exc:
            await _stop_quietly(worker)
            raise WorkerGone(f"worker process failed to start ({exc})") from exc
        except BaseException:
            await _stop_quietly(worker)
            raise
        if error:
            await _stop_quietly(worker)
            raise RuntimeError(error)
        return worker

    def _enlist(self, worker: _Worker) -> None:
        """Into the pool, with its reader."""
        worker.reader = asyncio.create_task(self._serve(worker), name="judge-worker")
        self._running.append(worker)

    async def _serve(self, worker: _Worker) -> None:
        try:
            await worker.read_replies()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # gone, or a reply that cannot be read: replaced
            if worker in self._running:
                self._running.remove(worker)
            worker.forget()
            if worker.proc.returncode is None:
                worker.proc.kill()
            if not self._closing:
                log.error("judging worker died (%s); starting a new one", exc)
                task = asyncio.create_task(self._replace(), name="judge-worker-restart")
                self._restarts.add(task)
                task.add_done_callback(self._restarts.discard)

    async def _replace(self) -> None:
        """A new worker in the pool, tried again after 1, 2, 4 ... 60 s while it fails."""
        pause = FIRST_RESTART_PAUSE
        while not self._closing:
            try:
                worker = await self._spawn()
            except (WorkerGone, RuntimeError, OSError) as exc:
                log.error("judging worker could not be restarted (%s); again in %.0f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_RESTART_PAUSE)
                continue
            if self._closing:
                await _stop_quietly(worker)
            else:
                self._enlist(worker)
            return

    async def start(self) -> bool:
        """Start the workers and wait until each has loaded the model and the KB."""
        results = await asyncio.gather(
            *(self._spawn() for _ in range(self.workers)), return_exceptions=True
        )
        started = [r for r in results if isinstance(r, _Worker)]
        failed = [r for r in results if not isinstance(r, _Worker)]
        for worker in started:
            if worker.proc.returncode is not None:  # died while the others loaded
                failed.append(WorkerGone(f"exit code {worker.proc.returncode}"))
        if failed:
            for worker in started:
                await _stop_quietly(worker)
            for exc in failed:
                if not isinstance(exc, (WorkerGone, RuntimeError, OSError)):
                    raise exc
            self.error = str(failed[0])
            log.warning(
                "FAQ slow path unavailable: %s; answering with the lexical matcher and "
                "judging mood with the lexicons only",
                self.error,
            )
            return False
        for worker in started:
            self._enlist(worker)
        log.info("judging in %d worker process(es)", len(started))
        return True

    async def assess(self, text: str, pick: str | None, version: str) -> Assessment | None:
        """A worker's judgement of the message, or None (no worker, busy, another KB
        version, or no answer within JUDGE_TIMEOUT)."""
        running = [w for w in self._running if w.alive]
        if not running:
            return None
        worker = min(running, key=lambda w: len(w.pending))
        if len(worker.pending) >= MAX_PENDING:
            return None
        self._next_id += 1
        result: Assessment | None = await worker.request(self._next_id, (text, pick, version))
        return result

    async def close(self) -> None:
        self._closing = True
        restarts = list(self._restarts)
        for task in restarts:
            task.cancel()
        await asyncio.gather(*restarts, return_exceptions=True)
        running, self._running = self._running, []
        await asyncio.gather(*(_stop_quietly(worker) for worker in running))


async def _stop_quietly(worker: _Worker) -> None:
    with contextlib.suppress(TimeoutError):
        await worker.stop()


def _site_folders() -> set[str]:
    import site

    folders = set(site.getsitepackages())
    folders.add(site.getusersitepackages())
    return {str(Path(f).resolve()) for f in folders}


class Judging:
    """The executors of the bot's judgement (an async context manager's worth of state)."""

    def __init__(self, workers: JudgeWorkers | None = None, threads: int = 2) -> None:
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="judge")
        self.workers = workers

    async def start(self) -> None:
        if self.workers is not None and not await self.workers.start():
            self.workers = None

    async def close(self) -> None:
        if self.workers is not None:
            await self.workers.close()
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown)
