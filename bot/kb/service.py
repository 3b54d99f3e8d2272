"""The live knowledge base of a running server: load once, reload on edits.

:class:`KnowledgeService` owns the current knowledge base and its matcher. A
periodic call to :meth:`KnowledgeService.reload_if_changed` (the server does it
every ``kb_reload_interval`` seconds) notices edited, added or removed files by
their modification time and size, re-reads only what changed and swaps the new
state in with one attribute assignment, so chats in progress keep working.

A file whose new version has problems keeps its last good version (the problems
are logged with file and line); a file that never loaded cleanly contributes
whatever valid entries it has. Construction fails only when no valid knowledge
base at all is available.

Each version also gets its calibration (:mod:`bot.kb.calibrate`) and, when a
sentence encoder is given, its semantic index (:mod:`bot.kb.semantic`, vectors
from the on-disk cache where possible): all built here, off the event loop, before
the swap.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bot.kb.calibrate import (
    Calibration,
    calibrate,
    calibration_from_json,
    calibration_to_json,
    default_calibration,
)
from bot.kb.cascade import FaqCascade
from bot.kb.loader import FileResult, KnowledgeBaseError, combine, kb_files, parse_file
from bot.kb.matcher import Matcher, MatcherConfig
from bot.kb.model import KnowledgeBase, Problem
from bot.kb.semantic import (
    EmbeddingCache,
    Encoder,
    SemanticIndex,
    build_semantic_index,
    replace_file,
)

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class KnowledgeState:
    """One consistent version: the knowledge base and the matcher built from it."""

    kb: KnowledgeBase
    matcher: Matcher
    problems: tuple[Problem, ...]
    faq: FaqCascade
    fingerprint: str = ""

    @property
    def calibration(self) -> Calibration:
        return self.faq.calibration


def fingerprint(kb: KnowledgeBase) -> str:
    """A digest of everything that matching depends on (ids, phrasings, keywords, tags)."""
    h = hashlib.sha256()
    for entry in kb.entries:
        h.update(f"\x1e{entry.id}\x1f{'|'.join(entry.tags)}".encode())
        for lang, text in entry.texts.items():
            h.update(
                f"\x1d{lang}\x1f{'|'.join(text.phrasings)}\x1f{'|'.join(text.keywords)}".encode()
            )
    return h.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Built:
    """What one KB version builds: read-only once made, so shared by every state of it."""

    matcher: Matcher
    semantic: SemanticIndex | None
    calibration: Calibration


class BuildMemo:
    """KB versions already built in this process, by content fingerprint, matcher
    configuration, model and vector cache (a reload that changes nothing, or the many
    servers the tests start on one KB, reuse them). The newest ``size`` are kept."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[tuple[str, ...], Built] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: tuple[str, ...]) -> Built | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, ...], value: Built) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


BUILT = BuildMemo()

CALIBRATIONS_KEPT = 8  # newest calibration files kept in the vector cache's folder


@functools.cache
def _code_version() -> str:
    """A digest of the code a calibration depends on (the matcher, its features, the
    calibration itself, the text handling): a stored calibration is used only by the
    code that made it."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for path in [*sorted(here.glob("*.py")), here.parent / "text.py", here.parent / "lang.py"]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _stored_calibration(folder: Path, key: str) -> Calibration | None:
    path = folder / f"calibration-{key}.json"
    try:
        with path.open(encoding="utf-8") as fh:
            return calibration_from_json(json.load(fh))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("stored calibration %s unreadable (%s); calibrating again", path, exc)
        return None


def _store_calibration(folder: Path, key: str, calibration: Calibration) -> None:
    def write(fh: BinaryIO) -> None:
        fh.write(json.dumps(calibration_to_json(calibration)).encode())

    target = folder / f"calibration-{key}.json"
    try:
        replace_file(target, write, "calibration-*.json", CALIBRATIONS_KEPT)
    except OSError as exc:
        log.warning("cannot store the calibration in %s (%s)", folder, exc)


def _calibration(
    kb: KnowledgeBase,
    config: MatcherConfig,
    semantic: SemanticIndex | None,
    key: tuple[str, ...],
    cache: EmbeddingCache | None,
) -> Calibration:
    """The KB version's calibration: from the vector cache's folder when this code made
    it for the same content, configuration and model before, else made now (and stored)."""
    if not config.calibrate:
        return default_calibration(config)
    folder = cache.folder if cache is not None else None
    name = hashlib.sha256("\x1f".join([*key[:3], _code_version()]).encode()).hexdigest()[:24]
    if folder is not None:
        stored = _stored_calibration(folder, name)
        if stored is not None:
            return stored
    calibration = calibrate(kb, config, semantic)
    if folder is not None:
        _store_calibration(folder, name, calibration)
    return calibration


def build_state(
    kb: KnowledgeBase,
    config: MatcherConfig,
    problems: tuple[Problem, ...] = (),
    encoder: Encoder | None = None,
    cache: EmbeddingCache | None = None,
) -> KnowledgeState:
    """Matcher, semantic index (with an encoder) and calibration of one KB version."""
    started = time.perf_counter()
    digest = fingerprint(kb)
    key = (
        digest,
        repr(config),
        encoder.version if encoder is not None else "-",
        str(cache.folder) if cache is not None else "-",
    )
    built = BUILT.get(key)
    if built is None:
        matcher = Matcher(kb, config)
        semantic = build_semantic_index(kb, encoder, cache) if encoder is not None else None
        calibration = _calibration(kb, config, semantic, key, cache)
        built = Built(matcher, semantic, calibration)
        BUILT.put(key, built)
    if built.calibration.warning:
        log.warning("knowledge base: %s", built.calibration.warning)
    log.debug(
        "knowledge base state built in %.2f s (%s phrasings encoded)",
        time.perf_counter() - started,
        built.semantic.encoded if built.semantic else "no",
    )
    cascade = FaqCascade(built.matcher, built.calibration, built.semantic, encoder)
    return KnowledgeState(kb, built.matcher, problems, cascade, digest)


class KnowledgeService:
    def __init__(
        self,
        path: Path | str,
        config: MatcherConfig | None = None,
        encoder: Encoder | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.path = Path(path)
        self.config = config or MatcherConfig()
        self.encoder = encoder
        self.cache = cache
        # Per file: the (mtime_ns, size) last seen and the version in use.
        self._files: dict[Path, tuple[tuple[int, int], FileResult]] = {}
        self._signature: Signature = self._current_signature()
        state, problems = self._load(self._signature)
        if state is None:
            raise KnowledgeBaseError(f"no valid knowledge base at {self.path}", problems)
        self._state = state

    # Readers take one reference; a reload replaces it whole.
    @property
    def state(self) -> KnowledgeState:
        return self._state

    @property
    def kb(self) -> KnowledgeBase:
        return self._state.kb

    @property
    def matcher(self) -> Matcher:
        return self._state.matcher

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self._state.problems

    @property
    def fingerprint(self) -> str:
        return self._state.fingerprint

    def _current_signature(self) -> Signature:
        sig = []
        for path in kb_files(self.path):
            try:
                st = path.stat()
            except OSError:
                continue
            sig.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(sig)

    def reload_if_changed(self) -> bool:
        """Reload if any file changed; True when a new version was swapped in."""
        signature = self._current_signature()
        if signature == self._signature:
            return False
        self._signature = signature
        before = {path: result for path, (_, result) in self._files.items()}
        state, _ = self._load(signature, unless_same=before)
        if state is self._state:
            return False  # only broken edits: every file kept its last good version
        if state is None:
            log.warning(
                "knowledge base at %s: no valid entries after the edit; keeping the "
                "last good version",
                self.path,
            )
            return False
        self._state = state
        log.info("knowledge base reloaded from %s: %d entries", self.path, len(state.kb))
        if gc.get_freeze_count():
            # The serving process and the judging workers freeze what start-up built,
            # the first KB version included: let the collector see it again, so that
            # a version no longer used is freed even if it holds reference cycles.
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        return True

    def _load(
        self,
        signature: Signature,
        unless_same: dict[Path, FileResult] | None = None,
    ) -> tuple[KnowledgeState | None, tuple[Problem, ...]]:
        """Build a new state from ``signature``; with ``unless_same``, return the current
        state when every file would contribute exactly what it does now."""
        files: dict[Path, tuple[tuple[int, int], FileResult]] = {}
        for name, mtime, size in signature:
            path, stat = Path(name), (mtime, size)
            cached = self._files.get(path)
            if cached is not None and cached[0] == stat:
                files[path] = cached
                continue
            result = parse_file(path)
            if result.problems and cached is not None and cached[1].entries:
                for problem in result.problems:
                    log.warning("knowledge base: %s (keeping the last good version)", problem)
                files[path] = (stat, cached[1])
                continue
            for problem in result.problems:
                log.warning("knowledge base: %s", problem)
            files[path] = (stat, result)
        self._files = files
        if (
            unless_same is not None
            and unless_same.keys() == files.keys()
            and all(unless_same[path] is result for path, (_, result) in files.items())
        ):
            return self._state, self._state.problems
        if not files:
            return None, (Problem(self.path, None, "no knowledge-base files found"),)
        loaded = combine((result for _, result in files.values()), source=self.path)
        file_problems = {p for _, result in files.values() for p in result.problems}
        for problem in loaded.problems:
            if problem not in file_problems:  # across files: duplicate ids, shared phrasings
                log.warning("knowledge base: %s", problem)
        if loaded.kb is None:
            return None, loaded.problems
        state = build_state(loaded.kb, self.config, loaded.problems, self.encoder, self.cache)
        return state, loaded.problems
