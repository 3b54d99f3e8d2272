"""A judging worker process: the bot's whole judgement of one message, off the server.

Started by :class:`bot.judging.JudgeWorkers` as ``python -m bot.judge_worker``. It
speaks over its standard input and output, in frames of a 4-byte length and a pickle
(the server and its own child trust each other; nothing else can reach the pipes):

* in: the set-up ``(kb_path, matcher_config, model_dir, cache_dir, mood_config)``,
  then requests ``(id, text, pick, kb_version)``;
* out: the set-up's outcome (``""`` or what failed, naming the file), then replies
  ``(id, Assessment or None)``: None when the request was made with a version of the
  knowledge base this worker cannot load, or when judging raised (logged here).

Requests that have arrived while the worker judged are judged together (up to
:data:`MAX_BATCH`): the sentence encoder costs much less per question in a batch
(a third at 8 questions), so a busy worker keeps up with more, while a lone
message is judged at once, as before.

Anything the libraries print goes to standard error, never into the frames.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import select
import signal
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

HEADER = struct.Struct("!I")
MAX_BATCH = 16  # requests judged together at most

log = logging.getLogger("bot.judging.worker")


def frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class _Frames:
    """Frames read from a file descriptor: wait for one, then take those already there."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()

    def _take(self, limit: int) -> list[Any]:
        frames: list[Any] = []
        while len(frames) < limit and len(self.buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self.buffer)
            end = HEADER.size + size
            if len(self.buffer) < end:
                break
            frames.append(pickle.loads(self.buffer[HEADER.size : end]))
            del self.buffer[:end]
        return frames

    def _fill(self) -> None:
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            raise EOFError
        self.buffer += chunk

    def _ready(self) -> bool:
        try:
            return bool(select.select([self.fd], [], [], 0)[0])
        except (OSError, ValueError):  # no select on this kind of file: one at a time
            return False

    def next(self, limit: int = 1) -> list[Any]:
        """At least one frame (waiting for it), and up to ``limit`` of those that came."""
        frames = self._take(limit)
        while not frames:
            self._fill()
            frames = self._take(limit)
        while len(frames) < limit and self._ready():
            try:
                self._fill()
            except EOFError:
                break  # the next call reports it
            frames += self._take(limit - len(frames))
        return frames


def _send(out: IO[bytes], frames: Sequence[Any]) -> None:
    out.write(b"".join(frame(obj) for obj in frames))
    out.flush()


def _judge(setup: tuple[Any, ...]) -> tuple[Any, str]:
    """The judge of this process (a Brain with the sentence encoder), or what failed."""
    from threadpoolctl import threadpool_limits

    from bot.brain import Brain
    from bot.kb.semantic import EmbeddingCache, load_encoder
    from bot.kb.service import KnowledgeService
    from bot.mood.detector import MoodDetector

    kb_path, config, model_dir, cache_dir, mood_config = setup
    threadpool_limits(1)  # one BLAS thread: a message is a small matrix product
    encoder, warning = load_encoder("process", Path(model_dir) if model_dir else None)
    if encoder is None:
        return None, warning
    try:
        cache = EmbeddingCache(Path(cache_dir)) if cache_dir else None
        knowledge = KnowledgeService(kb_path, config, encoder, cache)
        brain = Brain(knowledge, MoodDetector(mood_config))
        brain.prepare()  # a broken tone model file is logged at start, not at a message
        return brain, ""
    except Exception as exc:  # reported to the server, which goes on without workers
        return None, f"knowledge base in the worker: {exc}"


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server stops its
    # workers itself (closing their input).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to standard error, not into a frame
    sys.stdout = sys.stderr
    frames = _Frames(sys.stdin.fileno())
    try:
        brain, error = _judge(frames.next()[0])
        _send(out, [error])
        if brain is None:
            return
        # The model and the knowledge base (about 64,000 objects) are kept for good:
        # out of the cycle collector's sight, a full pass no longer walks them (it
        # took 40-65 ms, and every message waiting for this worker waited as long).
        gc.collect()
        gc.freeze()
        while True:
            _send(out, _judge_batch(brain, frames.next(MAX_BATCH)))
    except (EOFError, BrokenPipeError):
        return  # the server closed the pipe: it stops, or it gave up on this worker


def _judge_batch(brain: Any, requests: list[Any]) -> list[tuple[int, Any]]:
    """``(id, Assessment or None)`` for each ``(id, text, pick, kb_version)``."""
    knowledge = brain.knowledge
    results: dict[int, Any] = {}
    if any(version != knowledge.fingerprint for *_, version in requests):
        try:
            knowledge.reload_if_changed()
        except Exception:
            log.exception("reloading the knowledge base failed")
    todo = [r for r in requests if r[3] == knowledge.fingerprint]
    try:
        judged = brain.assess_many([(text, pick) for _, text, pick, _ in todo])
        results = {request_id: a for (request_id, *_), a in zip(todo, judged, strict=True)}
    except Exception:
        log.exception("judging %d messages failed; judging them one by one", len(todo))
        for request_id, text, pick, _ in todo:
            try:
                results[request_id] = brain.assess(text, pick)
            except Exception:
                log.exception("judging a message failed")
    return [(request_id, results.get(request_id)) for request_id, *_ in requests]


if __name__ == "__main__":
    main()
