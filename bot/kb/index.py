"""The precomputed matching index of a knowledge base, built once per KB load.

Every phrasing (main question, alternates, and one pseudo-phrasing made of the
keywords and tags) becomes a sparse TF-IDF vector. Phrasings are grouped by
(entry, language); each group also gets a centroid vector, sharpened against its
nearest rivals by a few passive-aggressive passes over the KB's own phrasings
(:mod:`bot.kb.refine`). Both matrices are stored column-wise (feature -> rows), so
scoring a question touches only the postings of its own few features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np

from bot.kb.features import FeatureConfig, Features, Speller, word_features
from bot.kb.model import KnowledgeBase
from bot.text import words


@dataclass(frozen=True, slots=True)
class Postings:
    """A sparse matrix stored by column: rows and values of column c are
    ``rows[indptr[c]:indptr[c+1]]`` and ``vals[...]``."""

    indptr: np.ndarray
    rows: np.ndarray
    vals: np.ndarray
    n_rows: int

    @classmethod
    def from_triplets(
        cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, n_cols: int
    ) -> Postings:
        order = np.argsort(cols, kind="stable")
        counts = np.bincount(cols, minlength=n_cols)
        indptr = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, rows[order].astype(np.int32), vals[order].astype(np.float32), n_rows)

    def dot(self, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``M @ q`` for a query given as its non-zero columns and weights."""
        if len(cols) == 0:
            return np.zeros(self.n_rows, dtype=np.float32)
        starts, ends = self.indptr[cols], self.indptr[cols + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.n_rows, dtype=np.float32)
        # Positions of every posting of the query's columns, without a Python loop.
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        contrib = self.vals[offsets] * np.repeat(weights.astype(np.float32), lengths)
        return np.bincount(self.rows[offsets], contrib, minlength=self.n_rows)


@dataclass(frozen=True)
class Index:
    entry_ids: tuple[str, ...]
    vocab: dict[str, int]
    idf: np.ndarray
    phrasings: Postings  # phrasing x feature, rows L2-normalised
    phrasing_group: np.ndarray  # phrasing -> group
    centroids: Postings  # group x feature
    group_entry: np.ndarray  # group -> entry index
    entry_terms: Postings  # entry x feature, 1 where some phrasing of the entry has it
    group_lang: tuple[str, ...]
    spellers: dict[str, Speller]

    @property
    def one_group_per_entry(self) -> bool:
        return len(self.group_lang) == len(self.entry_ids)

    @property
    def max_idf(self) -> float:
        """The IDF of a word seen once: what an unknown word is taken to weigh."""
        return float(self.idf.max()) if len(self.idf) else 1.0

    @property
    def n_groups(self) -> int:
        return len(self.group_lang)

    def vector(self, feats: Features) -> tuple[np.ndarray, np.ndarray]:
        """Columns and L2-normalised TF-IDF weights of a query's known features."""
        cols, vals = [], []
        for feat, tf in feats.items():
            col = self.vocab.get(feat)
            if col is not None and tf > 0:
                cols.append(col)
                vals.append(_tf(tf) * self.idf[col])
        col_arr = np.array(cols, dtype=np.int64)
        val_arr = np.array(vals, dtype=np.float32)
        norm = float(np.sqrt((val_arr * val_arr).sum())) if vals else 0.0
        return col_arr, (val_arr / norm if norm else val_arr)


def _tf(tf: float) -> float:
    return 1.0 + math.log(tf) if tf >= 1.0 else tf


def build_index(
    kb: KnowledgeBase,
    config: FeatureConfig,
    refine_epochs: int = 0,
    refine_margin: float = 0.3,
    refine_step: float = 0.5,
) -> Index:
    groups: list[tuple[int, str]] = []
    phrasing_group: list[int] = []
    phrasing_feats: list[Features] = []
    lang_words: dict[str, set[str]] = {}
    for e_index, entry in enumerate(kb.entries):
        for lang, text in entry.texts.items():
            group = len(groups)
            groups.append((e_index, lang))
            extra = " ".join((*text.keywords, *entry.tags))
            for phrasing in (*text.phrasings, *((extra,) if extra.strip() else ())):
                tokens = words(phrasing, lang)
                lang_words.setdefault(lang, set()).update(tokens)
                phrasing_group.append(group)
                phrasing_feats.append(word_features(tokens, lang, config))

    # Flatten once, then let numpy count: a Python loop over ~20 postings per
    # phrasing would dominate the load time of a large KB.
    flat = [feat for feats in phrasing_feats for feat in feats]
    vocab = {feat: col for col, feat in enumerate(dict.fromkeys(flat))}
    n_phr, n_feat = len(phrasing_feats), len(vocab)
    col_arr = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
    raw_tf = np.fromiter(
        chain.from_iterable(feats.values() for feats in phrasing_feats),
        dtype=np.float64,
        count=len(flat),
    )
    row_arr = np.repeat(np.arange(n_phr), [len(feats) for feats in phrasing_feats])
    df = np.bincount(col_arr, minlength=n_feat)
    idf = np.log((n_phr + 1) / (df + 0.5)).astype(np.float32)
    tf = np.where(raw_tf >= 1.0, 1.0 + np.log(np.maximum(raw_tf, 1.0)), raw_tf)
    val_arr = tf.astype(np.float32) * idf[col_arr]
    norms = np.sqrt(np.bincount(row_arr, val_arr * val_arr, minlength=n_phr))
    val_arr /= np.maximum(norms[row_arr], 1e-9).astype(np.float32)
    group_of = np.array(phrasing_group, dtype=np.int64)

    # Centroids: sum the phrasing vectors of each group, then normalise.
    keys = group_of[row_arr] * n_feat + col_arr
    uniq, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, val_arr).astype(np.float32)
    g_rows, g_cols = uniq // n_feat, uniq % n_feat
    if refine_epochs > 0 and len(groups) > 1:
        from bot.kb.refine import refine_centroids

        g_rows, g_cols, summed = refine_centroids(
            (row_arr, col_arr, val_arr),
            group_of,
            np.array([g[0] for g in groups]),
            (g_rows, g_cols, summed),
            len(groups),
            n_feat,
            epochs=refine_epochs,
            margin=refine_margin,
            step=refine_step,
        )
    g_norm = np.sqrt(np.bincount(g_rows, summed * summed, minlength=len(groups)))
    summed = summed / np.maximum(g_norm[g_rows], 1e-9)

    group_entry = np.array([g[0] for g in groups], dtype=np.int32)
    pairs = np.unique(group_entry[group_of[row_arr]].astype(np.int64) * n_feat + col_arr)
    entry_terms = Postings.from_triplets(
        pairs // n_feat, pairs % n_feat, np.ones(len(pairs), np.float32), len(kb.entries), n_feat
    )
    return Index(
        entry_ids=tuple(e.id for e in kb.entries),
        vocab=vocab,
        idf=idf,
        phrasings=Postings.from_triplets(row_arr, col_arr, val_arr, n_phr, n_feat),
        phrasing_group=group_of.astype(np.int32),
        centroids=Postings.from_triplets(
            g_rows, g_cols, summed.astype(np.float32), len(groups), n_feat
        ),
        group_entry=group_entry,
        entry_terms=entry_terms,
        group_lang=tuple(g[1] for g in groups),
        spellers={lang: Speller(ws, config) for lang, ws in lang_words.items()},
    )
