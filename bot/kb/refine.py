"""Sharpen group centroids against their rivals with passive-aggressive updates.

Centroids treat every word of a group the same way, whichever rival group also
uses it. A few passes of the passive-aggressive algorithm (Crammer et al. 2006)
over the KB's own phrasings move weight towards the words that tell a group from
the group it is most often confused with, starting from the plain centroids.

To stay fast on large knowledge bases the work is vectorised: one pass scores
every phrasing against every centroid (a sparse-dense product, in chunks) and
keeps each phrasing's ``RIVALS`` most confusable groups of other entries; the PA
passes then run in mini-batches over those candidates only. Deterministic (fixed seed).
"""

from __future__ import annotations

import numpy as np

# Refinement needs a dense feature x group matrix; above this many cells it is skipped.
MAX_DENSE_CELLS = 40_000_000
RIVALS = 12
BATCHES_PER_EPOCH = 64  # mini-batches per pass (at least MIN_BATCH phrasings each)
MIN_BATCH = 16
CHUNK_CELLS = 4_000_000  # gathered cells per chunk of the scoring pass
RIVAL_FEATURES = 12  # the scoring pass uses each phrasing's heaviest features only

Triplets = tuple[np.ndarray, np.ndarray, np.ndarray]


def _padded(
    indptr: np.ndarray, cols: np.ndarray, vals: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of ``rows`` (CSR) as (len(rows), longest) arrays, zero-padded,
    so that row-wise sums become one batched matrix product."""
    starts, lengths = indptr[rows], indptr[rows + 1] - indptr[rows]
    width = int(lengths.max()) if len(rows) else 0
    pos = starts[:, None] + np.arange(width)[None, :]
    mask = np.arange(width)[None, :] < lengths[:, None]
    pos = np.where(mask, pos, 0)
    return np.where(mask, cols[pos], 0), np.where(mask, vals[pos], 0.0).astype(np.float32)


def refine_centroids(
    phrasings: Triplets,
    phrasing_group: np.ndarray,
    group_entry: np.ndarray,
    centroids: Triplets,
    n_groups: int,
    n_feat: int,
    *,
    epochs: int,
    margin: float,
    step: float,
) -> Triplets:
    """Return refined centroid triplets (group, feature, weight), unnormalised."""
    if n_groups * n_feat > MAX_DENSE_CELLS or n_groups < 2:
        return centroids
    g_rows, g_cols, g_vals = centroids
    norms = np.sqrt(np.bincount(g_rows, g_vals * g_vals, minlength=n_groups))
    weights = np.zeros((n_feat, n_groups), dtype=np.float32)
    weights[g_cols, g_rows] = g_vals / np.maximum(norms[g_rows], 1e-9)

    rows, cols, vals = phrasings
    order = np.argsort(rows, kind="stable")
    cols, vals = cols[order], vals[order].astype(np.float32)
    n_phr = len(phrasing_group)
    indptr = np.zeros(n_phr + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_phr), out=indptr[1:])
    usable = np.flatnonzero(indptr[1:] > indptr[:-1])
    rivals = _rival_candidates(weights, cols, vals, indptr, usable, phrasing_group, group_entry)

    flat = weights.reshape(-1)  # a view: updates go to weights
    rng = np.random.default_rng(0)
    size = max(MIN_BATCH, -(-len(usable) // BATCHES_PER_EPOCH))
    for _ in range(epochs):
        perm = rng.permutation(len(usable))
        for start in range(0, len(perm), size):
            batch = perm[start : start + size]
            samples = usable[batch]
            c, v = _padded(indptr, cols, vals, samples)  # (b, P)
            base = c * n_groups  # flat index of (feature, group 0)
            own = phrasing_group[samples]
            cand = rivals[batch]  # (b, R)
            own_idx = base + own[:, None]
            own_score = np.einsum("bp,bp->b", v, flat[own_idx])
            rival_scores = np.einsum("bp,bpr->br", v, flat[base[:, :, None] + cand[:, None, :]])
            pick = np.argmax(rival_scores, axis=1)
            rival = cand[np.arange(len(samples)), pick]
            loss = margin - (own_score - rival_scores[np.arange(len(samples)), pick])
            sq = np.einsum("bp,bp->b", v, v)
            tau = np.where(loss > 0, np.minimum(step, loss / (2.0 * np.maximum(sq, 1e-9))), 0.0)
            delta = (tau[:, None] * v).astype(np.float32)  # zero on padding
            np.add.at(flat, own_idx.ravel(), delta.ravel())
            np.add.at(flat, (base + rival[:, None]).ravel(), -delta.ravel())
    g_cols_new, g_rows_new = np.nonzero(weights)
    return g_rows_new, g_cols_new, weights[g_cols_new, g_rows_new]


def _rival_candidates(
    weights: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    indptr: np.ndarray,
    usable: np.ndarray,
    phrasing_group: np.ndarray,
    group_entry: np.ndarray,
) -> np.ndarray:
    """For each usable phrasing, the ``RIVALS`` groups of other entries that score
    highest for it under the plain centroids: the ones it can be mistaken for."""
    n_groups = weights.shape[1]
    r = min(RIVALS, n_groups - 1)
    out = np.zeros((len(usable), r), dtype=np.int64)
    # Similar lengths together keep the padding small.
    by_length = np.argsort(indptr[usable + 1] - indptr[usable], kind="stable")
    chunk = max(1, CHUNK_CELLS // (n_groups * RIVAL_FEATURES))
    for start in range(0, len(usable), chunk):
        where = by_length[start : start + chunk]
        samples = usable[where]
        c, v = _padded(indptr, cols, vals, samples)
        if c.shape[1] > RIVAL_FEATURES:
            keep = np.argpartition(-v, RIVAL_FEATURES - 1, axis=1)[:, :RIVAL_FEATURES]
            c, v = np.take_along_axis(c, keep, 1), np.take_along_axis(v, keep, 1)
        scores = np.matmul(v[:, None, :], weights[c])[:, 0, :]
        # Never pick a group of the phrasing's own entry (its other languages) as rival.
        own_entry = group_entry[phrasing_group[samples]]
        scores[group_entry[None, :] == own_entry[:, None]] = -np.inf
        out[where] = np.argpartition(-scores, r - 1, axis=1)[:, :r]
    return out
