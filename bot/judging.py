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
MAX_PENDING = 1000  # requests in flight per worker before the server judges itself


class WorkerGone(Exception):
    """A worker process exited (or never started)."""


class _Worker:
    """One worker process and the requests it has not answered yet."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.reader: asyncio.Task[None] | None = None

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

    async def read_replies(self) -> None:
        """Settle the futures of the replies as they come (the worker's reader task)."""
        while True:
            request_id, result = await self.receive()
            future = self.pending.pop(request_id, None)
            if future is not None and not future.done():
                future.set_result(result)

    def forget(self) -> None:
        """The worker is gone: its unanswered requests get None (judged elsewhere)."""
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_result(None)

    async def stop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, WorkerGone):
                await self.reader
        self.forget()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


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
        """A new worker, set up (its model and KB loaded); raises WorkerGone or RuntimeError."""
        env = dict(os.environ)
        # The worker imports this very copy of the package, installed or not.
        root = str(Path(bot.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
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
            await worker.stop()
            raise WorkerGone(f"worker process failed to start ({exc})") from exc
        except BaseException:
            await worker.stop()
            raise
        if error:
            await worker.stop()
            raise RuntimeError(error)
        worker.reader = asyncio.create_task(self._serve(worker), name="judge-worker")
        return worker

    async def _serve(self, worker: _Worker) -> None:
        try:
            await worker.read_replies()
        except WorkerGone as exc:
            if worker in self._running:
                self._running.remove(worker)
            worker.forget()
            if not self._closing:
                log.error("judging worker died (%s); starting a new one", exc)
                task = asyncio.create_task(self._replace(), name="judge-worker-restart")
                self._restarts.add(task)
                task.add_done_callback(self._restarts.discard)

    async def _replace(self) -> None:
        try:
            worker = await self._spawn()
        except (WorkerGone, RuntimeError, OSError) as exc:
            log.error("judging worker could not be restarted: %s", exc)
            return
        if self._closing:
            await worker.stop()
        else:
            self._running.append(worker)

    async def start(self) -> bool:
        """Start the workers and wait until each has loaded the model and the KB."""
        results = await asyncio.gather(
            *(self._spawn() for _ in range(self.workers)), return_exceptions=True
        )
        started = [r for r in results if isinstance(r, _Worker)]
        failed = [r for r in results if not isinstance(r, _Worker)]
        if failed:
            for worker in started:
                await worker.stop()
            for exc in failed:
                if not isinstance(exc, (WorkerGone, RuntimeError, OSError)):
                    raise exc
            self.error = str(failed[0])
            log.warning(
                "FAQ slow path unavailable: %s; answering with the lexical matcher only",
                self.error,
            )
            return False
        self._running = started
        log.info("judging in %d worker process(es)", len(started))
        return True

    async def assess(self, text: str, pick: str | None, version: str) -> Assessment | None:
        """A worker's judgement of the message, or None (no worker, busy, another KB version)."""
        if not self._running:
            return None
        worker = min(self._running, key=lambda w: len(w.pending))
        if len(worker.pending) >= MAX_PENDING:
            return None
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Assessment | None] = asyncio.get_running_loop().create_future()
        worker.pending[request_id] = future
        try:
            worker.send((request_id, text, pick, version))
        except (ConnectionError, RuntimeError):  # its pipe is closing: the reader replaces it
            worker.pending.pop(request_id, None)
            return None
        return await future

    async def close(self) -> None:
        self._closing = True
        for task in list(self._restarts):
            task.cancel()
        running, self._running = self._running, []
        await asyncio.gather(*(worker.stop() for worker in running))


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
