"""When to answer outright: thresholds learnt from the knowledge base itself.

A score means different things on different knowledge bases (ten phrasings per
entry or two; close topics or far apart), so no single constant can make
"answer" right 95% of the time everywhere. Instead the KB is asked to grade
itself, by cross-validation over its own phrasings:

* the alternates are split into ``FOLDS`` folds; each fold is held out in turn,
  the matcher is built on the rest, and every held-out phrasing is matched as if
  a shopper had typed it (the main question of an entry always stays in; an
  alternate's translations, at the same position in the entry's other languages,
  are held out with it);
* in each fold some entries are also removed entirely: their phrasings play
  out-of-scope questions, which must not be answered (they weigh ``OOS_SHARE`` of
  the total, about the share of shop questions no entry covers; they are harder
  than real ones, since they sit right next to the entries that remain);
* an open-set conditional logit (:class:`OpenSetModel`) learns how to weigh each
  entry's evidence (lexical score, the closest phrasing's and the centroid's
  cosine, how much of the question the entry covers) into the probability that it
  is the entry asked about, with one more outcome, "no entry", of constant score:
  this ranks the entries and says how sure the best one is;
* the threshold on that probability is the lowest at which the held-out answers
  are still right ``TARGET_PRECISION`` of the time.

Two models are fitted: one on the lexical evidence alone (the fast path answers
when it is sure by this model) and one on lexical + semantic evidence. A
knowledge base with too few phrasings to hold any out gets a warning and the
fixed, conservative defaults of :class:`~bot.kb.matcher.MatcherConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from bot.kb.matcher import Matcher, MatcherConfig
from bot.kb.model import Entry, KnowledgeBase, LocalizedEntry
from bot.kb.semantic import SemanticIndex, kb_phrasings

FOLDS = 5
TARGET_PRECISION = 0.95
OOS_SHARE = 0.15
MAIN_SHARE = 0.7
OOS_FOLD_SPREAD = 3  # an entry is removed in one fold out of FOLDS * this (1/3 of entries overall)
MAX_QUERIES = 1500  # held-out phrasings scored at most (large KBs: a random sample)
MIN_ENTRIES = 8
MIN_HELD_OUT = 80  # alternate phrasings needed to fit a model (all languages)
# Fixed fusion of the per-entry scores (lexical score, best phrasing's and centroid's
# cosine) for a KB too small to calibrate, with its safe defaults: a clear lead and
# a phrasing close to the question, at about 95% right on the development sets.
FUSE_LEXICAL, FUSE_KNN, FUSE_CENTROID = 0.7, 0.5, 0.5
DEFAULT_FUSED_MARGIN = 0.3
DEFAULT_FUSED_COSINE = 0.7
# Fitting: starting weights (the fixed fusion, scaled), L2 penalty, largest Newton step.
LEXICAL_START = (7.0, 0.0)
FUSED_START = (7.0, 5.0, 5.0, 0.0, 0.0)
L2 = 0.001
MAX_STEP = 5.0


def fuse(lexical: np.ndarray, knn: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    return FUSE_LEXICAL * lexical + FUSE_KNN * knn + FUSE_CENTROID * centroid


def lexical_pairs(lexical: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Evidence per (question, entry) for the lexical model: score and coverage."""
    return np.stack([lexical, coverage], axis=-1)


def fused_pairs(
    lexical: np.ndarray, knn: np.ndarray, centroid: np.ndarray, coverage: np.ndarray
) -> np.ndarray:
    """Evidence per (question, entry) for the fused model."""
    return np.stack(
        [lexical, knn, centroid, coverage, np.sqrt(np.maximum(coverage, 0.0)) * knn], axis=-1
    )


@dataclass(frozen=True)
class OpenSetModel:
    """P(entry | question) = exp(w . x_entry) / (exp(none) + sum over entries), and the
    probability from which the best entry is answered outright."""

    weights: np.ndarray
    none: float
    threshold: float

    def probabilities(self, pairs: np.ndarray) -> np.ndarray:
        """``pairs``: (..., entries, features) -> (..., entries) probabilities."""
        scores = pairs @ self.weights
        top = np.maximum(scores.max(axis=-1, keepdims=True), self.none)
        exp = np.exp(scores - top)
        probabilities: np.ndarray = exp / (
            exp.sum(axis=-1, keepdims=True) + np.exp(self.none - top)
        )
        return probabilities


def _fit(
    pairs: np.ndarray,
    truth: np.ndarray,
    weight: np.ndarray,
    traffic: np.ndarray,
    start: Sequence[float],
) -> OpenSetModel:
    """Weighted maximum likelihood (damped Newton steps, L2), then the threshold."""
    q, n, f = pairs.shape
    theta = np.r_[np.asarray(start, dtype=float), 0.0]  # feature weights, then "none"
    target = np.where(truth >= 0, truth, n)
    w = weight / weight.sum()
    rows = np.arange(q)
    extra = np.zeros((q, 1, f + 1))
    extra[:, 0, f] = 1.0
    x = np.concatenate([np.concatenate([pairs, np.zeros((q, n, 1))], axis=2), extra], axis=1)
    for _ in range(60):
        s = x @ theta
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        mean = np.einsum("qn,qnf->qf", p, x)
        grad = -((x[rows, target] - mean) * w[:, None]).sum(axis=0) + L2 * theta
        hess = (
            np.einsum("q,qn,qnf,qng->fg", w, p, x, x)
            - np.einsum("q,qf,qg->fg", w, mean, mean)
            + L2 * np.eye(f + 1)
        )
        step = np.linalg.solve(hess, grad)
        size = float(np.linalg.norm(step))
        if size > MAX_STEP:
            step *= MAX_STEP / size
        theta -= step
        if size < 1e-5:
            break
    model = OpenSetModel(theta[:f], float(theta[f]), 1.0)
    prob = model.probabilities(pairs)
    best = prob.max(axis=1)
    right = (np.argmax(prob, axis=1) == truth).astype(float)
    order = np.argsort(-best, kind="stable")
    precision = np.cumsum((right * traffic)[order]) / np.cumsum(traffic[order])
    good = np.flatnonzero(precision >= TARGET_PRECISION)
    threshold = float(best[order[good.max()]]) if len(good) else 1.01
    return OpenSetModel(model.weights, model.none, max(threshold, 0.5))


@dataclass(frozen=True)
class LanguageFigures:
    """Expected outcome on questions like the KB's own held-out phrasings."""

    held_out: int
    answer_rate: float  # in-scope held-out phrasings answered outright and right
    precision: float  # outright answers that are right (out-of-scope ones included)


@dataclass(frozen=True)
class Calibration:
    """The fitted models, or None for both and a warning when the KB is too small."""

    lexical: OpenSetModel | None
    fused: OpenSetModel | None
    too_small: bool
    warning: str = ""
    # per language: figures for the lexical path alone and with the semantic path
    lexical_figures: dict[str, LanguageFigures] = field(default_factory=dict)
    fused_figures: dict[str, LanguageFigures] = field(default_factory=dict)
    held_out: int = 0
    out_of_scope: int = 0


def calibration_to_json(calibration: Calibration) -> dict[str, Any]:
    """A plain-JSON form of ``calibration`` (kept on disk beside the phrasing vectors)."""

    def model(m: OpenSetModel | None) -> dict[str, Any] | None:
        if m is None:
            return None
        return {
            "weights": m.weights.tolist(),
            "dtype": str(m.weights.dtype),
            "none": m.none,
            "threshold": m.threshold,
        }

    def figures(f: dict[str, LanguageFigures]) -> dict[str, list[float]]:
        return {lang: [v.held_out, v.answer_rate, v.precision] for lang, v in f.items()}

    return {
        "lexical": model(calibration.lexical),
        "fused": model(calibration.fused),
        "too_small": calibration.too_small,
        "warning": calibration.warning,
        "lexical_figures": figures(calibration.lexical_figures),
        "fused_figures": figures(calibration.fused_figures),
        "held_out": calibration.held_out,
        "out_of_scope": calibration.out_of_scope,
    }


def calibration_from_json(data: dict[str, Any]) -> Calibration:
    """The inverse of :func:`calibration_to_json`; KeyError, TypeError or ValueError on
    anything else."""

    def model(m: dict[str, Any] | None) -> OpenSetModel | None:
        if m is None:
            return None
        weights = np.asarray(m["weights"], dtype=np.dtype(str(m["dtype"])))
        if weights.ndim != 1:
            raise ValueError("weights must be a vector")
        return OpenSetModel(weights, float(m["none"]), float(m["threshold"]))

    def figures(f: dict[str, list[float]]) -> dict[str, LanguageFigures]:
        return {
            str(lang): LanguageFigures(int(n), float(rate), float(precision))
            for lang, (n, rate, precision) in f.items()
        }

    return Calibration(
        model(data["lexical"]),
        model(data["fused"]),
        too_small=bool(data["too_small"]),
        warning=str(data["warning"]),
        lexical_figures=figures(data["lexical_figures"]),
        fused_figures=figures(data["fused_figures"]),
        held_out=int(data["held_out"]),
        out_of_scope=int(data["out_of_scope"]),
    )


def default_calibration(config: MatcherConfig, warning: str = "") -> Calibration:
    """No models: the cascade uses the fixed thresholds (``MatcherConfig`` for the lexical
    path, ``DEFAULT_FUSED_*`` for the fused one)."""
    return Calibration(None, None, too_small=True, warning=warning)


def _without(
    kb: KnowledgeBase,
    held: set[tuple[int, str, int]],
    removed: set[int],
) -> tuple[KnowledgeBase, list[int]]:
    """The KB minus held-out phrasings (entry, lang, position) and removed entries; an
    entry whose main question is held out is asked by its first remaining alternate."""
    entries: list[Entry] = []
    kept: list[int] = []
    for e_index, entry in enumerate(kb.entries):
        if e_index in removed:
            continue
        texts = {}
        for lang, text in entry.texts.items():
            left = [p for k, p in enumerate(text.phrasings) if (e_index, lang, k) not in held]
            texts[lang] = LocalizedEntry(left[0], text.answer, tuple(left[1:]), text.keywords)
        entries.append(Entry(entry.id, MappingProxyType(texts), entry.tags, entry.topic))
        kept.append(e_index)
    return KnowledgeBase(tuple(entries)), kept


def _held_in_fold(
    in_fold: np.ndarray,
    owners: np.ndarray,
    langs: Sequence[str],
    removed: set[int],
    sample: np.ndarray,
) -> list[int]:
    """Phrasings held out in a fold: main questions too (they are the typical way to
    ask, as alternates are the unusual ones), but never every phrasing of an entry in
    a language (the first one then stays)."""
    groups: dict[tuple[int, str], list[int]] = {}
    for i, (owner, lang) in enumerate(zip(owners.tolist(), langs, strict=True)):
        if owner not in removed:
            groups.setdefault((owner, lang), []).append(i)
    held: list[int] = []
    for members in groups.values():
        chosen = [i for i in members if in_fold[i]]
        if len(chosen) == len(members):
            chosen = chosen[1:]
        held.extend(i for i in chosen if sample[i])
    return sorted(held)


def lexical_matrix(
    matcher: Matcher,
    texts: Sequence[str],
    langs: Sequence[str | None],
    n_entries: int,
    entry_of: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Lexical score and coverage of every entry for every text (rows), in the original
    KB's entry order (``entry_of`` maps the matcher's entries to it)."""
    scores = np.zeros((len(texts), n_entries), dtype=np.float32)
    coverage = np.zeros((len(texts), n_entries), dtype=np.float32)
    where = np.arange(n_entries) if entry_of is None else np.asarray(entry_of)
    for row, (text, lang) in enumerate(zip(texts, langs, strict=True)):
        ranked, cov = matcher.rank_with_coverage(text, lang)
        scores[row, where[ranked.entries]] = ranked.scores
        coverage[row, where[: len(cov)]] = cov
    return scores, coverage


@dataclass(frozen=True)
class HeldOut:
    """Scores of the KB's held-out phrasings, each matched against the KB without it."""

    lexical: np.ndarray  # (queries, entries)
    knn: np.ndarray | None  # (queries, entries), with a semantic index
    centroid: np.ndarray | None
    truth: np.ndarray  # the right entry, -1 for an out-of-scope question
    langs: np.ndarray
    position: np.ndarray  # 0: the entry's main question, then its alternates in order
    features: np.ndarray  # per query: coverage of its words by each entry, see below

    @property
    def in_scope(self) -> np.ndarray:
        return self.truth >= 0

    def weights(self) -> np.ndarray:
        """Every in-scope phrasing alike, and the out-of-scope ones ``OOS_SHARE`` in all
        (for fitting the model)."""
        ins = self.in_scope
        weights: np.ndarray = np.where(
            ins, (1 - OOS_SHARE) / max(ins.sum(), 1), OOS_SHARE / max((~ins).sum(), 1)
        )
        return weights

    def traffic_weights(self) -> np.ndarray:
        """Weights that make the held-out phrasings look like shoppers' questions (for the
        threshold and the figures): main questions ``MAIN_SHARE`` of the in-scope mass,
        alternates the rest, out-of-scope questions ``OOS_SHARE``."""
        ins = self.in_scope
        main, alt = ins & (self.position == 0), ins & (self.position > 0)
        share = MAIN_SHARE if main.any() and alt.any() else (1.0 if main.any() else 0.0)
        weights: np.ndarray = np.where(
            main,
            share * (1 - OOS_SHARE) / max(main.sum(), 1),
            np.where(
                alt,
                (1 - share) * (1 - OOS_SHARE) / max(alt.sum(), 1),
                OOS_SHARE / max((~ins).sum(), 1),
            ),
        )
        return weights


def hold_out(
    kb: KnowledgeBase, config: MatcherConfig, semantic: SemanticIndex | None = None, seed: int = 0
) -> HeldOut | str:
    """Cross-validate the KB on its own phrasings; a message when it is too small."""
    n = len(kb.entries)
    texts, owners, langs = kb_phrasings(kb)
    position: list[int] = []
    for entry in kb.entries:
        for text in entry.texts.values():
            position.extend(range(len(text.phrasings)))
    alternates = [i for i, k in enumerate(position) if k > 0]
    if n < MIN_ENTRIES or len(alternates) < MIN_HELD_OUT:
        return (
            f"too small to calibrate ({n} entries, {len(alternates)} alternate phrasings; "
            f"need {MIN_ENTRIES} and {MIN_HELD_OUT}): using the fixed default thresholds. "
            "Add alternate phrasings (how shoppers really ask) to every entry."
        )
    rng = np.random.default_rng(seed)
    # An alternate and its translations (same entry, same position in the other
    # languages) are held out together: a translation left in would match it across
    # languages and flatter the semantic evidence.
    slot = owners * (max(position) + 1) + np.array(position)
    fold_of = rng.integers(0, FOLDS, int(slot.max()) + 1)[slot]
    removed_in = rng.integers(0, FOLDS * OOS_FOLD_SPREAD, n)
    sample = np.ones(len(texts), dtype=bool)
    if len(texts) > MAX_QUERIES:
        sample[:] = False
        sample[rng.choice(len(texts), MAX_QUERIES, replace=False)] = True
    lex_rows, cov_rows, knn_rows, cen_rows, truth_rows, lang_rows = [], [], [], [], [], []
    pos_rows: list[int] = []
    for fold in range(FOLDS):
        removed = set(np.flatnonzero(removed_in == fold).tolist())
        if len(removed) >= n - 1:
            continue
        held_idx = _held_in_fold(fold_of == fold, owners, langs, removed, sample)
        oos_idx = [i for i in range(len(texts)) if owners[i] in removed and sample[i]]
        queries = held_idx + oos_idx
        if not queries:
            continue
        held = {(int(owners[i]), langs[i], position[i]) for i in held_idx}
        reduced, kept = _without(kb, held, removed)
        matcher = Matcher(reduced, config)
        q_texts = [texts[i] for i in queries]
        q_langs = [langs[i] for i in queries]
        lex, cov = lexical_matrix(matcher, q_texts, q_langs, n, kept)
        lex_rows.append(lex)
        cov_rows.append(cov)
        if semantic is not None:
            keep = np.ones(len(texts), dtype=bool)
            keep[held_idx] = False
            keep[np.isin(owners, list(removed))] = False
            knn, cen = semantic.entry_scores(semantic.phrasing_vectors(queries), keep)
            knn_rows.append(knn)
            cen_rows.append(cen)
        truth_rows.append(
            np.array([owners[i] if owners[i] not in removed else -1 for i in queries])
        )
        lang_rows.extend(q_langs)
        pos_rows.extend(position[i] for i in queries)
    truth = np.concatenate(truth_rows)
    if (truth >= 0).sum() < MIN_HELD_OUT:
        return "too few held-out phrasings to calibrate: using the fixed default thresholds"
    return HeldOut(
        np.concatenate(lex_rows),
        np.concatenate(knn_rows) if knn_rows else None,
        np.concatenate(cen_rows) if cen_rows else None,
        truth,
        np.array(lang_rows),
        np.array(pos_rows),
        np.concatenate(cov_rows),
    )


def calibrate(
    kb: KnowledgeBase, config: MatcherConfig, semantic: SemanticIndex | None = None, seed: int = 0
) -> Calibration:
    """Cross-validate the KB on its own phrasings and fit both models."""
    held = hold_out(kb, config, semantic, seed)
    if isinstance(held, str):
        return default_calibration(config, held)
    weight, traffic, in_scope = held.weights(), held.traffic_weights(), held.in_scope
    pairs = lexical_pairs(held.lexical, held.features)
    lexical = _fit(pairs, held.truth, weight, traffic, LEXICAL_START)
    lexical_figures = _figures(lexical, pairs, held, traffic)
    fused, fused_figures = None, {}
    if held.knn is not None and held.centroid is not None:
        f_pairs = fused_pairs(held.lexical, held.knn, held.centroid, held.features)
        fused = _fit(f_pairs, held.truth, weight, traffic, FUSED_START)
        # The cascade: the fast path's answer where it is sure, else the slow path's.
        fast = lexical.probabilities(pairs)
        slow = fused.probabilities(f_pairs)
        sure = fast.max(axis=1) >= lexical.threshold
        best = np.where(sure[:, None], fast, slow)
        answered = sure | (slow.max(axis=1) >= fused.threshold)
        fused_figures = _tally(answered, np.argmax(best, axis=1) == held.truth, held, traffic)
    return Calibration(
        lexical,
        fused,
        False,
        "",
        lexical_figures,
        fused_figures,
        int(in_scope.sum()),
        int((~in_scope).sum()),
    )


def _figures(
    model: OpenSetModel,
    pairs: np.ndarray,
    held: HeldOut,
    weight: np.ndarray,
) -> dict[str, LanguageFigures]:
    """Per language: in-scope questions answered right, and precision (traffic-weighted)."""
    prob = model.probabilities(pairs)
    return _tally(
        prob.max(axis=1) >= model.threshold, np.argmax(prob, axis=1) == held.truth, held, weight
    )


def _tally(
    answered: np.ndarray,
    right: np.ndarray,
    held: HeldOut,
    weight: np.ndarray,
) -> dict[str, LanguageFigures]:
    langs, in_scope = held.langs, held.in_scope
    out: dict[str, LanguageFigures] = {}
    for lang in dict.fromkeys(langs.tolist()):
        mine = langs == lang
        ins = mine & in_scope
        given = mine & answered
        w_given = float(weight[given].sum())
        precision = float((weight * (right & in_scope))[given].sum()) / w_given if w_given else 1.0
        w_ins = float(weight[ins].sum())
        rate = float(weight[ins & answered & right].sum()) / w_ins if w_ins else 0.0
        out[lang] = LanguageFigures(int(ins.sum()), rate, precision)
    return out
