"""Match a shopper's question to knowledge-base entries: answer, suggest or fall back.

A question is normalised (folding, contractions, Snowball stems, word prefixes,
stem bigrams), its words unknown to the KB are corrected with rapidfuzz or
counted as unknown, and the resulting sparse TF-IDF vector is scored against
every (entry, language) group of :mod:`bot.kb.index`:

* by default against the group's refined centroid (what the entry is about, all
  its phrasings at once, sharpened against its rivals: :mod:`bot.kb.refine`);
* optionally (``knn_weight``) also against its nearest single phrasing.

An entry's score is its best group's, scaled down by the share of the question's
information the KB does not know at all ("coverage"). The decision uses the best
score and its lead over the runner-up: a confident, clear winner is answered; a
plausible one gives "did you mean" suggestions; anything else is an honest
fallback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from bot.kb.features import FeatureConfig, Features, word_features
from bot.kb.index import Index, build_index
from bot.kb.model import KnowledgeBase
from bot.kb.stopwords import STOP_WORDS
from bot.lang import detect_language
from bot.text import NUMBER, words
from bot.types import DEFAULT_LANGUAGE, Language, MatchResult, Suggestion

MAX_QUERY_CHARS = 500  # longer questions are cut: a chat line, not an essay


@dataclass(frozen=True)
class MatcherConfig:
    """Thresholds and weights of the FAQ matcher (the defaults are the tested ones)."""

    answer_threshold: float = 0.35  # best score needed to answer outright ...
    answer_margin: float = 0.12  # ... with at least this lead over the second entry
    suggest_threshold: float = 0.2  # below this: fallback
    suggest_window: float = 0.15  # suggestions within this distance of the best
    max_suggestions: int = 3
    centroid_weight: float = 1.0
    knn_weight: float = 0.0
    # Scores are multiplied by (share of the question's information the KB knows) ** this:
    # a question made mostly of words no entry uses is not about the KB.
    coverage_power: float = 0.5
    refine_epochs: int = 3
    refine_margin: float = 0.3
    refine_step: float = 0.5
    features: FeatureConfig = field(default_factory=FeatureConfig)
    # Learn when to answer from the KB's own phrasings (bot.kb.calibrate); the three
    # thresholds above are then only the defaults for a KB too small to calibrate.
    calibrate: bool = True


@dataclass(frozen=True, slots=True)
class Ranked:
    """Entry indices best first with their scores (for diagnostics and the CLI)."""

    entries: np.ndarray
    scores: np.ndarray
    language: Language


class Matcher:
    """Built once per KB load. ``match`` may run in several threads at once: the index is
    never changed after the build, the speller's cache is a plain dict (each look-up and
    store is atomic; two threads may both compute a word, never a wrong one), and the
    Snowball stemmers are one per thread (``bot.text``)."""

    def __init__(self, kb: KnowledgeBase, config: MatcherConfig | None = None) -> None:
        self.kb = kb
        self.config = config or MatcherConfig()
        started = time.perf_counter()
        self.index: Index = build_index(
            kb,
            self.config.features,
            refine_epochs=self.config.refine_epochs,
            refine_margin=self.config.refine_margin,
            refine_step=self.config.refine_step,
        )
        self.build_seconds = time.perf_counter() - started
        self._languages = tuple(dict.fromkeys(self.index.group_lang))

    # -- features of a question ---------------------------------------------------------------

    def _query_features(self, text: str, lang: Language) -> tuple[Features, int]:
        """Features of the words the KB knows (typos corrected) and the count of
        content words it does not know."""
        speller = self.index.spellers.get(lang)
        stop = STOP_WORDS.get(lang, frozenset())
        tokens: list[str] = []
        weights: list[float] = []
        unknown = 0
        for token in words(text, lang):
            fixed = speller.correct(token) if speller is not None else None
            if fixed is not None:
                tokens.append(fixed[0])
                weights.append(fixed[1])
            elif token not in stop and token != NUMBER and len(token) > 1:
                unknown += 1
        return word_features(tokens, lang, self.config.features, weights), unknown

    def _features(self, text: str, lang: Language | None) -> tuple[Features, int, Language | None]:
        if lang is not None:
            feats, unknown = self._query_features(text, lang)
            return feats, unknown, lang
        merged: Features = {}
        fewest = 1 << 30
        for candidate in self._languages:
            feats, unknown = self._query_features(text, candidate)
            fewest = min(fewest, unknown)
            for feat, weight in feats.items():
                merged[feat] = max(weight, merged.get(feat, 0.0))
        return merged, fewest if merged or fewest < 1 << 30 else 0, None

    def _coverage(self, cols: np.ndarray, unknown: int) -> float:
        """Share of the question's IDF mass that the KB vocabulary covers."""
        if unknown == 0 or self.config.coverage_power == 0:
            return 1.0
        known = float(np.sum(self.index.idf[cols] ** 2))
        missing = unknown * float(self.index.max_idf) ** 2
        return float((known / (known + missing)) ** self.config.coverage_power)

    # -- ranking ------------------------------------------------------------------------------

    def _query(
        self,
        text: str,
        lang: Language | None,
    ) -> tuple[np.ndarray, np.ndarray, int, Language | None]:
        text = text[:MAX_QUERY_CHARS]
        if lang is None:
            lang = detect_language(text)
        feats, unknown, used = self._features(text, lang)
        cols, weights = self.index.vector(feats)
        return cols, weights, unknown, used

    def rank(self, text: str, lang: Language | None = None, limit: int | None = None) -> Ranked:
        """Entries ordered by score for ``text`` (empty when nothing matches at all);
        only the best ``limit`` when given."""
        cols, weights, unknown, used = self._query(text, lang)
        return self._rank(cols, weights, unknown, used, limit)

    def rank_with_coverage(
        self,
        text: str,
        lang: Language | None = None,
    ) -> tuple[Ranked, np.ndarray]:
        """All entries ranked, and per entry the share of the question's weight (its
        known words, less what unknown words take) that the entry's phrasings contain:
        a question whose telling word no phrasing of the entry uses is probably about
        something else ("set an alarm" against "cancel an alarm")."""
        cols, weights, unknown, used = self._query(text, lang)
        if len(cols):
            # The weight of the question's words that each entry's phrasings contain.
            squared = weights.astype(np.float64) ** 2
            coverage = self.index.entry_terms.dot(cols, squared).astype(np.float32)
            coverage *= self._coverage(cols, unknown) ** (
                1.0 / self.config.coverage_power if self.config.coverage_power else 0.0
            )
        else:
            coverage = np.zeros(len(self.index.entry_ids), dtype=np.float32)
        return self._rank(cols, weights, unknown, used, None), coverage

    def _rank(
        self,
        cols: np.ndarray,
        weights: np.ndarray,
        unknown: int,
        used: Language | None,
        limit: int | None,
    ) -> Ranked:
        index = self.index
        empty = Ranked(np.zeros(0, np.int32), np.zeros(0, np.float32), used or DEFAULT_LANGUAGE)
        if len(cols) == 0:
            return empty
        cfg = self.config
        group_score = index.centroids.dot(cols, weights)
        if cfg.centroid_weight != 1.0:
            group_score *= cfg.centroid_weight
        if cfg.knn_weight:
            phr = index.phrasings.dot(cols, weights)
            touched = np.flatnonzero(phr)
            knn = np.zeros(index.n_groups, dtype=np.float64)
            np.maximum.at(knn, index.phrasing_group[touched], phr[touched])
            group_score += cfg.knn_weight * knn
        candidates = np.flatnonzero(group_score > 0)
        if len(candidates) == 0:
            return empty
        if used is None:  # undetected language: report the best-matching group's
            used = index.group_lang[int(candidates[np.argmax(group_score[candidates])])]
        if index.one_group_per_entry:
            hit, hit_scores = index.group_entry[candidates], group_score[candidates]
        else:
            entry_score = np.zeros(len(index.entry_ids), dtype=np.float64)
            np.maximum.at(entry_score, index.group_entry[candidates], group_score[candidates])
            hit = np.flatnonzero(entry_score)
            hit_scores = entry_score[hit]
        if limit is not None and len(hit) > limit:
            top = np.argpartition(-hit_scores, limit - 1)[:limit]
            hit, hit_scores = hit[top], hit_scores[top]
        order = np.argsort(-hit_scores, kind="stable")
        scores = np.minimum(hit_scores[order] * self._coverage(cols, unknown), 1.0)
        return Ranked(hit[order], scores, used)

    # -- decision -----------------------------------------------------------------------------

    def match(self, text: str, lang: Language | None = None) -> MatchResult:
        """Answer, suggest or fall back; never raises for odd input."""
        cfg = self.config
        ranked = self.rank(
            text if isinstance(text, str) else "", lang, limit=max(cfg.max_suggestions, 2)
        )
        if len(ranked.entries) == 0:
            return MatchResult("fallback", None, 0.0, (), ranked.language)
        best = float(ranked.scores[0])
        second = float(ranked.scores[1]) if len(ranked.scores) > 1 else 0.0
        best_id = self.index.entry_ids[int(ranked.entries[0])]
        if best >= cfg.answer_threshold and best - second >= cfg.answer_margin:
            return MatchResult("answer", best_id, round(best, 4), (), ranked.language)
        if best < cfg.suggest_threshold:
            return MatchResult("fallback", best_id, round(best, 4), (), ranked.language)
        suggestions = []
        for e_index, score in zip(
            ranked.entries[: cfg.max_suggestions], ranked.scores[: cfg.max_suggestions], strict=True
        ):
            if score < cfg.suggest_threshold or score < best - cfg.suggest_window:
                break
            entry_id = self.index.entry_ids[int(e_index)]
            suggestions.append(
                Suggestion(
                    entry_id, self.kb.question(entry_id, ranked.language), round(float(score), 4)
                )
            )
        return MatchResult("suggest", best_id, round(best, 4), tuple(suggestions), ranked.language)
