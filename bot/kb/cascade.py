"""The FAQ decision as a cascade: the lexical fast path when it is sure, else the semantic one.

* **Fast path** (:meth:`FaqCascade.fast`, about half a millisecond): every entry's
  lexical score and coverage of the question go through the KB's own lexical model
  (:mod:`bot.kb.calibrate`). When the best entry is as likely as the calibrated
  threshold asks, that is the answer.
* **Slow path** (:meth:`FaqCascade.slow`, a few milliseconds): the question is
  encoded by the multilingual sentence encoder, every entry gets its closest
  phrasing's and its centroid's cosine, and the fused model weighs these with the
  lexical evidence: answer, "did you mean" suggestions, or fallback.

Without a sentence encoder (``SUPPORTBOT_FAQ_SEMANTIC=off``, or a model that
failed to load) the fast path decides alone, with the lexical model's thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.kb.calibrate import (
    DEFAULT_FUSED_COSINE,
    DEFAULT_FUSED_MARGIN,
    Calibration,
    fuse,
    fused_pairs,
    lexical_pairs,
)
from bot.kb.matcher import MAX_QUERY_CHARS, Matcher, Ranked
from bot.kb.semantic import Encoder, SemanticIndex
from bot.types import Language, MatchResult, Suggestion

SUGGEST_PROBABILITY = 0.1  # entries at least this likely are suggested; none: fallback
SUGGEST_WINDOW = 0.15  # (uncalibrated KB) fused scores within this of the best are suggested


@dataclass(frozen=True, slots=True)
class FastResult:
    """The fast path's verdict; ``sure`` means no slow path is needed. ``evidence``
    (the lexical ranking and coverage) is handed to the slow path, which needs it too."""

    result: MatchResult
    sure: bool
    evidence: tuple[Ranked, np.ndarray] | None = None


class FaqCascade:
    """One KB version's matcher, calibration and (optionally) semantic index."""

    def __init__(
        self,
        matcher: Matcher,
        calibration: Calibration,
        semantic: SemanticIndex | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.matcher = matcher
        self.kb = matcher.kb
        self.calibration = calibration
        self.semantic = semantic if encoder is not None else None
        self.encoder = encoder if semantic is not None else None

    @property
    def has_slow_path(self) -> bool:
        return self.semantic is not None

    def match(self, text: str, lang: Language | None = None) -> MatchResult:
        """Fast path, then the slow one when the fast one is unsure and there is one."""
        return self.decide(text, lang)[0]

    def decide(self, text: str, lang: Language | None = None) -> tuple[MatchResult, str]:
        """:meth:`match`, and which path decided: ``"fast"`` or ``"slow"``."""
        fast = self.fast(text, lang)
        if fast.sure or not self.has_slow_path:
            return fast.result, "fast"
        return self.slow(text, lang, fast), "slow"

    # -- fast path ------------------------------------------------------------------------------

    def fast(self, text: str, lang: Language | None = None) -> FastResult:
        text = text if isinstance(text, str) else ""
        cfg = self.matcher.config
        ranked, coverage = self.matcher.rank_with_coverage(text, lang)
        if len(ranked.entries) == 0:
            return FastResult(
                MatchResult("fallback", None, 0.0, (), ranked.language),
                sure=not _has_words(text),
                evidence=(ranked, coverage),
            )
        best = float(ranked.scores[0])
        best_index = int(ranked.entries[0])
        best_id = self.matcher.index.entry_ids[best_index]
        model = self.calibration.lexical
        if model is None:  # too small to calibrate: the fixed thresholds
            second = float(ranked.scores[1]) if len(ranked.scores) > 1 else 0.0
            sure = best >= cfg.answer_threshold and best - second >= cfg.answer_margin
            confidence = best
        else:
            lexical = np.zeros(len(self.kb.entries), dtype=np.float32)
            lexical[ranked.entries] = ranked.scores
            prob = model.probabilities(lexical_pairs(lexical, coverage))
            confidence = float(prob[best_index])
            sure = confidence >= model.threshold
        if sure:
            return FastResult(
                MatchResult("answer", best_id, round(confidence, 4), (), ranked.language), sure=True
            )
        if best < cfg.suggest_threshold:
            return FastResult(
                MatchResult("fallback", best_id, round(confidence, 4), (), ranked.language),
                sure=False,
                evidence=(ranked, coverage),
            )
        return FastResult(
            self._suggest(ranked, best, confidence), sure=False, evidence=(ranked, coverage)
        )

    def _suggest(self, ranked: Ranked, best: float, confidence: float) -> MatchResult:
        cfg = self.matcher.config
        suggestions = []
        for e_index, score in zip(
            ranked.entries[: cfg.max_suggestions], ranked.scores[: cfg.max_suggestions], strict=True
        ):
            if score < cfg.suggest_threshold or score < best - cfg.suggest_window:
                break
            entry_id = self.matcher.index.entry_ids[int(e_index)]
            suggestions.append(
                Suggestion(
                    entry_id, self.kb.question(entry_id, ranked.language), round(float(score), 4)
                )
            )
        best_id = self.matcher.index.entry_ids[int(ranked.entries[0])]
        return MatchResult(
            "suggest", best_id, round(confidence, 4), tuple(suggestions), ranked.language
        )

    # -- slow path ------------------------------------------------------------------------------

    def slow(
        self, text: str, lang: Language | None = None, fast: FastResult | None = None
    ) -> MatchResult:
        """Lexical and semantic evidence together; needs the semantic index. ``fast``
        (the fast path's verdict on the same text) saves ranking it again."""
        return self.slow_many([(text, lang, fast)])[0]

    def slow_many(
        self,
        questions: Sequence[tuple[str, Language | None, FastResult | None]],
        vectors: np.ndarray | None = None,
    ) -> list[MatchResult]:
        """:meth:`slow` for several questions, encoded together: one call of the
        encoder for a batch costs a fraction of one call per question (a third of the
        CPU per question at 8), with the same vectors to float precision. ``vectors``:
        the questions' vectors (one row each, of their first :data:`MAX_QUERY_CHARS`
        characters) when the caller has them already."""
        assert self.semantic is not None and self.encoder is not None
        prepared = []
        for text, lang, fast in questions:
            text = (text if isinstance(text, str) else "")[:MAX_QUERY_CHARS]
            if fast is not None and fast.evidence is not None:
                ranked, coverage = fast.evidence
            else:
                ranked, coverage = self.matcher.rank_with_coverage(text, lang)
            prepared.append((text, ranked, coverage))
        worded = [i for i, (text, _, _) in enumerate(prepared) if _has_words(text)]
        row = {i: r for r, i in enumerate(worded)}
        if worded:
            knn, cen = self.semantic.entry_scores(
                vectors[worded]
                if vectors is not None
                else self.encoder.encode([prepared[i][0] for i in worded])
            )
        results = []
        for i, (_, ranked, coverage) in enumerate(prepared):
            if i not in row:
                results.append(MatchResult("fallback", None, 0.0, (), ranked.language))
            else:
                results.append(self._fused(ranked, coverage, knn[row[i]], cen[row[i]]))
        return results

    def _fused(
        self, ranked: Ranked, coverage: np.ndarray, knn: np.ndarray, cen: np.ndarray
    ) -> MatchResult:
        """The slow path's decision for one question from its lexical and semantic
        evidence (``knn``, ``cen``: per entry, the closest phrasing's and the
        centroid's cosine)."""
        n = len(self.kb.entries)
        language = ranked.language
        lexical = np.zeros(n, dtype=np.float32)
        lexical[ranked.entries] = ranked.scores
        model = self.calibration.fused
        if model is None:  # too small to calibrate: fixed fusion and thresholds
            scores = fuse(lexical, knn, cen)
            order = np.argsort(-scores, kind="stable")
            lead = float(scores[order[0]] - (scores[order[1]] if n > 1 else 0.0))
            sure = lead >= DEFAULT_FUSED_MARGIN and float(knn[order[0]]) >= DEFAULT_FUSED_COSINE
            confidence = min(1.0, max(0.0, lead / (2 * DEFAULT_FUSED_MARGIN)))
            if sure:
                confidence = max(confidence, 0.5)
            else:
                confidence = min(confidence, 0.49)
        else:
            scores = model.probabilities(fused_pairs(lexical, knn, cen, coverage))
            order = np.argsort(-scores, kind="stable")
            confidence = float(scores[order[0]])
            sure = confidence >= model.threshold
        best_id = self.matcher.index.entry_ids[int(order[0])]
        if sure:
            return MatchResult("answer", best_id, round(confidence, 4), (), language)
        if confidence < SUGGEST_PROBABILITY:
            return MatchResult("fallback", best_id, round(confidence, 4), (), language)
        top = float(scores[order[0]])
        suggestions = []
        for e_index in order[: self.matcher.config.max_suggestions]:
            if model is not None and scores[e_index] < SUGGEST_PROBABILITY:
                break
            if model is None and scores[e_index] < top - SUGGEST_WINDOW:
                break
            entry_id = self.matcher.index.entry_ids[int(e_index)]
            share = float(scores[e_index]) if model is not None else confidence
            suggestions.append(
                Suggestion(entry_id, self.kb.question(entry_id, language), round(share, 4))
            )
        return MatchResult("suggest", best_id, round(confidence, 4), tuple(suggestions), language)


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)
