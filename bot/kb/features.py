"""Turn a phrasing or a question into weighted matching features.

Features are Snowball stems of the folded words, plus a word-prefix feature that
joins derived forms the stemmer keeps apart ("delivery"/"delivered"), plus an
optional stem-bigram feature for word order. Query words that the knowledge base
never uses are corrected to the nearest KB word (rapidfuzz, typo tolerance).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from rapidfuzz import fuzz, process

from bot.kb.stopwords import STOP_WORDS
from bot.text import NUMBER, stems

Features = dict[str, float]


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    prefix_length: int = 7  # words longer than this also give their first N letters
    prefix_weight: float = 0.5
    bigram_weight: float = 0.3
    stop_weight: float = 0.8  # weight of stop words ("the", "di", "na") relative to others
    typo_min_length: int = 4  # shorter unknown words are not corrected
    typo_cutoff: float = 80.0  # rapidfuzz ratio (0-100) needed to accept a correction


def word_features(
    tokens: Iterable[str], lang: str, config: FeatureConfig, weights: Iterable[float] | None = None
) -> Features:
    """Features of already normalised word tokens (``weights``: one per token)."""
    tokens = list(tokens)
    token_weights = list(weights) if weights is not None else [1.0] * len(tokens)
    feats: Features = {}
    get = feats.get
    stemmed = stems(tokens, lang)
    stop = STOP_WORDS.get(lang, frozenset()) if config.stop_weight != 1.0 else frozenset()
    stop_weight, size = config.stop_weight, config.prefix_length
    prefix_weight = config.prefix_weight
    for token, stem, weight in zip(tokens, stemmed, token_weights, strict=True):
        if token in stop:
            weight *= stop_weight
        feats[stem] = get(stem, 0.0) + weight
        if prefix_weight and len(token) > size and token != NUMBER:
            key = "~" + token[:size]
            feats[key] = get(key, 0.0) + prefix_weight * weight
    if config.bigram_weight:
        bigram_weight = config.bigram_weight
        for a, b in pairwise(stemmed):
            key = a + "_" + b
            feats[key] = get(key, 0.0) + bigram_weight
    return feats


class Speller:
    """Corrects unknown query words to the closest word the knowledge base uses.

    Candidates are bucketed by first letter and length so that one lookup scores
    a few dozen words, not the whole vocabulary; results are cached.
    """

    def __init__(self, vocabulary: Iterable[str], config: FeatureConfig) -> None:
        self.known = frozenset(vocabulary)
        self.config = config
        buckets: dict[tuple[str, int], list[str]] = {}
        for word in sorted(self.known):
            if len(word) >= config.typo_min_length - 1 and word.isalpha():
                buckets.setdefault((word[0], len(word)), []).append(word)
        self._buckets = buckets
        self._cache: dict[str, tuple[str, float] | None] = {}

    def correct(self, word: str) -> tuple[str, float] | None:
        """``(known_word, similarity 0-1)`` or None when nothing is close enough."""
        if word in self.known:
            return word, 1.0
        if len(word) < self.config.typo_min_length or not word.isalpha():
            return None
        if word in self._cache:
            return self._cache[word]
        # A high ratio rules out words of very different length.
        spread = max(2, len(word) // 4)
        choices = [
            w
            for n in range(len(word) - spread, len(word) + spread + 1)
            for w in self._buckets.get((word[0], n), ())
        ]
        best = process.extractOne(
            word, choices, scorer=fuzz.ratio, score_cutoff=self.config.typo_cutoff
        )
        result = (best[0], best[1] / 100.0) if best else None
        if len(self._cache) < 100_000:
            self._cache[word] = result
        return result
