"""A judging worker process: the bot's whole judgement of one message, off the server.

Started by :class:`bot.judging.JudgeWorkers` as ``python -m bot.judge_worker``. It
speaks over its standard input and output, in frames of a 4-byte length and a pickle
(the server and its own child trust each other; nothing else can reach the pipes):

* in: the set-up ``(kb_path, matcher_config, model_dir, cache_dir, mood_config)``,
  then requests ``(id, text, pick, kb_version)``;
* out: the set-up's outcome (``""`` or what failed, naming the file), then replies
  ``(id, Assessment or None)``: None when the request was made with a version of the
  knowledge base this worker cannot load, or when judging raised (logged here).

Anything the libraries print goes to standard error, never into the frames.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import struct
import sys
from pathlib import Path
from typing import IO, Any

HEADER = struct.Struct("!I")

log = logging.getLogger("bot.judging.worker")


def frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def _write(out: IO[bytes], obj: Any) -> None:
    out.write(frame(obj))
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
        return Brain(knowledge, MoodDetector(mood_config)), ""
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
    inp = sys.stdin.buffer
    try:
        brain, error = _judge(_read(inp))
        _write(out, error)
        if brain is None:
            return
        knowledge = brain.knowledge
        while True:
            request_id, text, pick, version = _read(inp)
            result = None
            try:
                if knowledge.fingerprint != version:
                    knowledge.reload_if_changed()
                if knowledge.fingerprint == version:
                    result = brain.assess(text, pick)
            except Exception:
                log.exception("judging a message failed")
            _write(out, (request_id, result))
    except (EOFError, BrokenPipeError):
        return  # the server closed the pipe: it stops, or it gave up on this worker


if __name__ == "__main__":
    main()
