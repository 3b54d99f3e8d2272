"""Word-level sentiment of one message: lexicon valences with negation scope,
intensifiers, capitalised words, "but" clauses and "if" clauses (after VADER's
rules), multi-word phrases, and cue phrases per category.

Everything here works on a :class:`Message`: the folded tokens of the text, the
same tokens joined by single spaces (what cue patterns are matched against) and
the lexicons of the languages the message seems to be written in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.mood.lexicon import Lexicon
from bot.text import fold, tokenise

if TYPE_CHECKING:
    from bot.mood.detector import MoodConfig

# Cue categories whose matches do not count right after a negation
# ("it did not lock up" is no failure).
NEGATABLE_CUES = frozenset({"failure", "frustration", "waiting", "advice", "situation"})
_CLAUSE_BREAKS = frozenset(".,;:!?")


@dataclass(frozen=True)
class Vocab:
    """The function-word lists of several lexicons merged (first lexicon wins)."""

    negators: frozenset[str]
    contrast: frozenset[str]
    conditionals: frozenset[str]
    unflipped: frozenset[str]
    intensifiers: dict[str, float]

    @classmethod
    def merge(cls, lexicons: Sequence[Lexicon]) -> Vocab:
        intensifiers: dict[str, float] = {}
        for lex in reversed(lexicons):
            intensifiers.update(lex.intensifiers)
        return cls(
            negators=frozenset().union(*(lex.negators for lex in lexicons)),
            contrast=frozenset().union(*(lex.contrast for lex in lexicons)),
            conditionals=frozenset().union(*(lex.conditionals for lex in lexicons)),
            unflipped=frozenset().union(*(lex.unflipped for lex in lexicons)),
            intensifiers=intensifiers,
        )


@dataclass(frozen=True)
class Message:
    raw: str  # the text, whitespace collapsed
    tokens: tuple[str, ...]  # folded tokens
    norm: str  # tokens joined by single spaces
    ranked: tuple[Lexicon, ...]  # lexicons of the message's languages, best first
    vocab: Vocab  # their function words, merged
    found: tuple[dict[str, list[int]], ...]  # per lexicon: where its cue groups match


@dataclass
class WordScore:
    """Sums of the valences found in a message (VADER's -4..4 scale per word)."""

    positive: float = 0.0
    negative: float = 0.0


def word_sentiment(msg: Message, cfg: MoodConfig) -> WordScore:
    """Sum of word and phrase valences, each adjusted for its context."""
    tokens, ranked, vocab = msg.tokens, msg.ranked, msg.vocab
    caps_words = capitalised_words(msg.raw)
    breaks = [t[0] in _CLAUSE_BREAKS or t in vocab.contrast for t in tokens]
    negators = [t in vocab.negators or t.endswith("n't") for t in tokens]
    contrast_at = max((i for i, t in enumerate(tokens) if t in vocab.contrast), default=-1)
    out = WordScore()
    hypothetical = False  # inside an "if ..." clause, up to the next punctuation
    for i, tok in enumerate(tokens):
        if tok[0] in _CLAUSE_BREAKS:
            hypothetical = False
            continue
        if tok in vocab.conditionals:
            hypothetical = True
        value = lookup(tok, ranked)
        if not value:
            continue
        sign = 1.0 if value > 0 else -1.0
        if tok in caps_words:
            value += sign * cfg.caps_emphasis
        negated = False
        for dist, j in enumerate(range(i - 1, max(-1, i - 1 - cfg.negation_window), -1)):
            if breaks[j]:
                break
            boost = vocab.intensifiers.get(tokens[j])
            if boost:
                value += sign * boost * (1.0 - 0.05 * dist)
            negated = negated or negators[j]
        if negated and not (
            tok in vocab.unflipped or (i + 1 < len(tokens) and tokens[i + 1] in vocab.unflipped)
        ):
            value *= -cfg.negation_scalar
        if contrast_at >= 0:
            value *= cfg.but_before if i < contrast_at else cfg.but_after
        if hypothetical:
            value *= cfg.conditional_damping
        _add(out, value)
    for lex, found in zip(ranked, msg.found, strict=True):
        for key, valence in lex.phrases:
            for at in found.get(key, ()):
                value = valence
                if negated_at(msg, at, cfg.negation_window):
                    value *= -cfg.negation_scalar
                _add(out, value)
    return out


def find_cues(msg: Message, cfg: MoodConfig) -> dict[str, float]:
    """Matches per cue category, in the languages the message seems to be in.

    Matches of the categories a negation can cancel ("it did not lock up") also
    follow the "but" rule: one before the last "but" counts ``but_before``, one
    after it ``but_after`` (capped at one).
    """
    counts: dict[str, float] = {}
    contrast_at = max((i for i, t in enumerate(msg.tokens) if t in msg.vocab.contrast), default=-1)
    for lex, found in zip(msg.ranked, msg.found, strict=True):
        for category in lex.categories:
            starts = found.get(category)
            if not starts:
                continue
            if category in NEGATABLE_CUES:
                n = 0.0
                for at in starts:
                    if negated_at(msg, at, cfg.negation_window):
                        continue
                    if contrast_at < 0:
                        n += 1.0
                    else:
                        n += cfg.but_before if at < contrast_at else min(cfg.but_after, 1.0)
            else:
                n = float(len(starts))
            if n:
                counts[category] = max(counts.get(category, 0.0), n)
    return counts


def negated_at(msg: Message, at: int, window: int) -> bool:
    """Is there a negator in the same clause within ``window`` tokens before ``at``?"""
    vocab = msg.vocab
    for j in range(at - 1, max(-1, at - 1 - window), -1):
        tok = msg.tokens[j]
        if tok[0] in _CLAUSE_BREAKS or tok in vocab.contrast:
            return False
        if tok in vocab.negators or tok.endswith("n't"):
            return True
    return False


def lookup(token: str, ranked: Sequence[Lexicon]) -> float:
    """Valence of a token in the first lexicon that knows it (0.0 when none does)."""
    for lex in ranked:
        value = lex.valence(token)
        if value is not None:
            return value
        if token in lex.negators or token in lex.intensifiers:
            return 0.0
    if "-" in token:  # "flimsy-feeling": the strongest part, blame first
        parts = [lookup(part, ranked) for part in token.split("-") if part]
        return min(parts, key=lambda v: -abs(v) - (0.5 if v < 0 else 0.0), default=0.0)
    return 0.0


def is_negator(token: str, ranked: Sequence[Lexicon]) -> bool:
    return token.endswith("n't") or any(token in lex.negators for lex in ranked)


def is_contrast(token: str, ranked: Sequence[Lexicon]) -> bool:
    return any(token in lex.contrast for lex in ranked)


def is_punctuation(token: str) -> bool:
    return all(c in _CLAUSE_BREAKS for c in token)


def capitalised_words(raw: str) -> frozenset[str]:
    """Folded forms of words written in capitals inside a mostly lower-case message."""
    words = raw.split()
    caps = [w for w in words if len(w) > 1 and w.isupper()]
    if not caps or len(caps) * 2 > len(words):  # all-caps messages are "shouting" instead
        return frozenset()
    return frozenset(t for w in caps for t in tokenise(fold(w)))


def punctuation_marks(tokens: Sequence[str]) -> int:
    """Extra ?/! marks in runs like "??", "!!!", "?!" (0 when there are none)."""
    return sum(len(tok) - 1 for tok in tokens if len(tok) > 1 and tok[0] in "!?")


def _add(out: WordScore, value: float) -> None:
    if value > 0:
        out.positive += value
    else:
        out.negative += value
