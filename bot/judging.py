"""Where the bot's judgement runs in the server: never on the event loop.

:class:`Judging` owns, for the application's lifetime:

* a small thread pool for :meth:`bot.brain.Brain.assess` (language, mood, the
  lexical fast path: about a millisecond of CPU per message), so neither the event
  loop nor the database writer thread does it;
* with ``SUPPORTBOT_FAQ_SEMANTIC=process`` (the default), a :class:`SlowPath`:
  ``SUPPORTBOT_FAQ_WORKERS`` worker processes, each with the sentence encoder and
  its own copy of the knowledge base, for the questions the fast path is not sure
  of. Each request carries the fingerprint of the KB version the server judged
  with; a worker on another version reloads first, and answers nothing (the fast
  path's verdict stands) if it still differs.

A slow path that cannot start (a missing or corrupt model file) is logged as a
warning naming the file, and the bot goes on with the lexical matcher alone.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from bot.kb.matcher import MatcherConfig
from bot.types import Language, MatchResult

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds a worker may take to load the model and the KB


class SlowPath:
    """Worker processes that run the FAQ cascade's semantic slow path."""

    def __init__(
        self,
        kb_path: Path,
        config: MatcherConfig,
        model_dir: Path | None,
        cache_dir: Path | None,
        workers: int = 1,
    ) -> None:
        self._args = (
            str(kb_path),
            config,
            str(model_dir) if model_dir else None,
            str(cache_dir) if cache_dir else None,
        )
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self.error = ""

    @property
    def available(self) -> bool:
        return self._pool is not None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server has threads (writer, executors) by now.
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=self._args,
        )

    async def start(self) -> bool:
        """Start the workers and wait until one has loaded the model and the KB."""
        loop = asyncio.get_running_loop()
        pool = self._new_pool()
        try:
            error = await asyncio.wait_for(loop.run_in_executor(pool, _probe), START_TIMEOUT)
        except (TimeoutError, BrokenProcessPool, OSError) as exc:
            error = f"worker process failed to start ({exc!r})"
        if error:
            self.error = error
            log.warning(
                "FAQ slow path unavailable: %s; answering with the lexical matcher only", error
            )
            await loop.run_in_executor(None, pool.shutdown)
            return False
        self._pool = pool
        log.info("FAQ slow path ready in %d worker process(es)", self.workers)
        return True

    async def match(self, text: str, lang: Language | None, version: str) -> MatchResult | None:
        """The slow path's verdict, or None (unavailable, busy restarting, other KB version)."""
        pool = self._pool
        if pool is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, _slow_match, text, lang, version)
        except BrokenProcessPool:
            log.error("FAQ slow path worker died; starting new workers")
            if self._pool is pool:
                self._pool = self._new_pool()
            return None

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: pool.shutdown(wait=True, cancel_futures=True)
            )


class Judging:
    """The executors of the bot's judgement (an async context manager's worth of state)."""

    def __init__(self, slow_path: SlowPath | None = None, threads: int = 2) -> None:
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="judge")
        self.slow_path = slow_path

    async def start(self) -> None:
        if self.slow_path is not None and not await self.slow_path.start():
            self.slow_path = None

    async def close(self) -> None:
        if self.slow_path is not None:
            await self.slow_path.close()
        await asyncio.get_running_loop().run_in_executor(None, self.executor.shutdown)


# -- in the worker processes -------------------------------------------------------------------

_SERVICE = None
_ERROR = ""


def _init_worker(
    kb_path: str, config: MatcherConfig, model_dir: str | None, cache_dir: str | None
) -> None:
    global _SERVICE, _ERROR
    from threadpoolctl import threadpool_limits

    # Ctrl-C in a terminal reaches the whole process group: the server stops its
    # workers itself (a KeyboardInterrupt here only printed a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from bot.kb.semantic import EmbeddingCache, load_encoder
    from bot.kb.service import KnowledgeService

    threadpool_limits(1)  # one BLAS thread: a message is a small matrix product
    encoder, warning = load_encoder("process", Path(model_dir) if model_dir else None)
    if encoder is None:
        _ERROR = warning
        return
    try:
        cache = EmbeddingCache(Path(cache_dir)) if cache_dir else None
        _SERVICE = KnowledgeService(kb_path, config, encoder, cache)
    except Exception as exc:  # any failure is reported by _probe
        _ERROR = f"knowledge base in the worker: {exc}"


def _probe() -> str:
    return _ERROR


def _slow_match(text: str, lang: Language | None, version: str) -> MatchResult | None:
    service = _SERVICE
    if service is None:
        return None
    if service.fingerprint != version:
        service.reload_if_changed()
        if service.fingerprint != version:
            return None
    faq = service.state.faq
    return faq.slow(text, lang) if faq.has_slow_path else None
