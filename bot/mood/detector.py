"""Message-level mood detector: is this shopper unhappy, or asking for a person?

The score combines three kinds of evidence, all in one additive "valence" scale
(-4 very unhappy .. +4 very happy) that is squashed into [-1, 1] at the end:

* word sentiment from the language's lexicon (VADER's lexicon for English,
  hand-made ones for Italian and Polish) with negation scope, intensifiers,
  capitalised words and "but" clauses, plus textblob's polarity for English;
* cue phrases per language (frustration, waiting-time complaints, product or
  delivery failures, warnings to others, impatient questions), each category
  with a weight from :class:`MoodConfig`;
* the shape of the message: shouting (capital letters), runs of ?/!, sarcasm
  (praise words next to a bad situation).

Some cues escalate whatever the score: asking for a person, threatening to leave
or complain, insults and profanity. Calm framing (a polite request or a plain
question) damps mild word-level negativity, so that "is there a problem with my
payment?" or "how do I cancel?" stay with the bot.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.mood.cues import token_offsets
from bot.mood.lexicon import Lexicon, load_lexicons
from bot.mood.sentiment import (
    Message,
    Vocab,
    find_cues,
    is_contrast,
    is_negator,
    lookup,
    punctuation_marks,
    word_sentiment,
)
from bot.text import fold, is_word, shouting_ratio, squeeze, tokenise
from bot.types import MoodResult

_WORD_CHAR = re.compile(r"[a-z0-9]")  # what the tokeniser's words are made of

# Cue categories that escalate on their own, and how agents read each category.
HARD_CUES = ("person", "threat", "insult")
CUE_REASONS: Mapping[str, str] = {
    "person": "asks for a person",
    "threat": "threatens to leave or complain",
    "insult": "profanity or insult",
    "frustration": "frustration",
    "unhelpful": "says the bot did not help",
    "waiting": "waiting-time complaint",
    "failure": "product or delivery problem",
    "advice": "warns others off",
    "impatience": "impatient question",
}
# Cues damped by calm framing ("can you send a replacement for the broken mug?"),
# and cues that count in full whatever the framing.
_SOFT_CUES = ("failure", "impatience")
_FIRM_CUES = ("person", "threat", "insult", "frustration", "unhelpful", "waiting", "advice", "calm")
# Any of these means the message is not calm, however polite its wording.
_AGITATED_CUES = ("frustration", "unhelpful", "insult", "threat", "sarcasm", "impatience")


@dataclass(frozen=True)
class MoodConfig:
    """Thresholds and weights of the detector (valences on VADER's -4..4 scale)."""

    languages: tuple[str, ...] = ("en", "it", "pl")
    lexicon_dir: Path | None = None  # None: the bundled lexicons
    tone: bool = True  # the tone model's second opinion, where the sentence encoder runs
    escalate_below: float = -0.25  # a score at or below this escalates
    squash_alpha: float = 15.0  # score = total / sqrt(total^2 + alpha)
    max_chars: int = 5000  # longer messages are scored on their start
    # word sentiment
    negation_scalar: float = 0.74  # a negated word keeps -0.74 of its valence
    negation_window: int = 4  # words before a sentiment word that a negator reaches
    caps_emphasis: float = 0.733  # added to the size of a CAPITALISED word
    but_before: float = 0.5  # weight of the clause before "but"
    but_after: float = 1.5  # ... and after it
    conditional_damping: float = 0.5  # words in an "if ..." clause
    calm_damping: float = 0.2  # share of word blame and failure cues kept in calm requests
    positive_weight: float = 1.0  # weight of praise against blame (< 1: negativity bias)
    use_textblob: bool = True
    textblob_weight: float = 2.0  # polarity [-1, 1] (scaled by subjectivity) -> valence
    textblob_max_words: int = 150  # its polarity is an average: the start of a long text will do
    # cues (per match; a second and third match of a category add half each)
    frustration_weight: float = -2.6
    unhelpful_weight: float = -2.6
    waiting_weight: float = -2.4
    failure_weight: float = -1.8
    advice_weight: float = -2.2
    impatience_weight: float = -0.9
    calm_weight: float = 1.5
    hard_cue_weight: float = -1.5  # threats and insults also pull the score down
    sarcasm_flip: float = 0.8  # share of praise turned into blame when sarcastic
    sarcasm_weight: float = -1.5  # an outright sarcastic phrase ("thanks for nothing")
    # message shape
    shout_ratio: float = 0.7  # share of capital letters that counts as shouting
    shout_min_letters: int = 8
    shout_weight: float = -2.0
    punctuation_weight: float = -1.0  # "??" or "?!" (impatience)
    punctuation_boost: float = 0.3  # per extra ?/! mark, amplifies the total (max 4 marks)


class MoodDetector:
    """Scores single messages. Lexicons are loaded once, here; ``analyse`` is pure."""

    def __init__(self, config: MoodConfig | None = None) -> None:
        self.config = cfg = config or MoodConfig()
        self._lexicons: dict[str, Lexicon] = load_lexicons(cfg.languages, cfg.lexicon_dir)
        self._weights: dict[str, float] = {
            "frustration": cfg.frustration_weight,
            "unhelpful": cfg.unhelpful_weight,
            "waiting": cfg.waiting_weight,
            "failure": cfg.failure_weight,
            "advice": cfg.advice_weight,
            "impatience": cfg.impatience_weight,
            "calm": cfg.calm_weight,
            "threat": cfg.hard_cue_weight,
            "insult": cfg.hard_cue_weight,
        }
        self._vocabs: dict[tuple[str, ...], Vocab] = {}  # per combination of languages
        self._polarity: Callable[[Sequence[str]], tuple[float, float]] | None = None
        if cfg.use_textblob and "en" in self._lexicons:
            self._polarity = _textblob_polarity()

    def analyse(self, text: str) -> MoodResult:
        """The mood of one message on its own; never raises on odd input."""
        cfg = self.config
        raw = " ".join(text[: cfg.max_chars].split())
        folded = squeeze(fold(raw))
        tokens = tuple(tokenise(folded))
        if _WORD_CHAR.search(folded) is None:  # no token is a word
            return self._without_words(tokens)
        ranked = self._rank_languages(tokens)
        norm = " ".join(tokens)
        offsets = token_offsets(tokens)
        found = tuple(lex.cues.find(norm, tokens, offsets) for lex in ranked)
        msg = Message(raw, tokens, norm, ranked, self._vocab(ranked), found)
        cues = find_cues(msg, cfg)
        calm = self._calm_frame(msg, cues)
        words = word_sentiment(msg, cfg)
        reasons: list[str] = []
        sarcastic = "sarcasm" in cues or (
            "situation" in cues and not calm and not any(is_contrast(t, msg.ranked) for t in tokens)
        )
        if sarcastic and words.positive > 0:  # praise next to a bad situation is blame
            soft = words.negative - words.positive * cfg.sarcasm_flip
        else:
            soft = words.negative + words.positive * cfg.positive_weight
            soft += self._textblob(msg, words.negative)
        soft += self._cue_total(cues, reasons, _SOFT_CUES)
        if calm and soft < 0:
            soft *= cfg.calm_damping
        total = soft + self._cue_total(cues, reasons, _FIRM_CUES)
        if shouting_ratio(raw, cfg.shout_min_letters) >= cfg.shout_ratio:
            total += cfg.shout_weight
            reasons.append("shouting")
        total = self._punctuation(tokens, total, reasons)
        if "sarcasm" in cues:
            total += cfg.sarcasm_weight
        if sarcastic and (words.positive > 0 or "sarcasm" in cues):
            reasons.append("sarcasm")
        score = self._squash(total)
        if words.negative < 0 and score < 0:
            reasons.append(f"negative sentiment {score:.2f}")
        return MoodResult(
            escalate=any(cues.get(c) for c in HARD_CUES) or score <= cfg.escalate_below,
            score=round(score, 4),
            reasons=tuple(reasons),
            asks_for_person=bool(cues.get("person")),
        )

    # -- parts -------------------------------------------------------------

    def _squash(self, total: float) -> float:
        return max(-1.0, min(1.0, total / math.sqrt(total * total + self.config.squash_alpha)))

    def _without_words(self, tokens: Sequence[str]) -> MoodResult:
        """Messages with no words: emoticons, emoji or bare punctuation.

        Only emoticons and emoji count ("???" alone is more often puzzlement than
        anger); runs of ?/! amplify them.
        """
        lexicons = list(self._lexicons.values())
        total = sum(n * lookup(t, lexicons) for t, n in Counter(tokens).items())
        reasons: list[str] = []
        if total:
            total = self._punctuation(tokens, total, reasons)
        score = self._squash(total)
        if score < 0 and not reasons:
            reasons.append(f"negative sentiment {score:.2f}")
        return MoodResult(
            escalate=score <= self.config.escalate_below,
            score=round(score, 4),
            reasons=tuple(reasons),
        )

    def _punctuation(self, tokens: Sequence[str], total: float, reasons: list[str]) -> float:
        """ "??" and "?!" read as impatience; "!!!" only amplifies what is already there."""
        cfg = self.config
        marks = punctuation_marks(tokens)
        if not marks:
            return total
        if any(len(t) > 1 and "?" in t for t in tokens):
            total += cfg.punctuation_weight
        if total < 0:
            reasons.append("repeated ?/!")
            return total - cfg.punctuation_boost * min(marks, 4)
        if total > 0:
            return total + cfg.punctuation_boost * min(marks, 4)
        return total

    def _textblob(self, msg: Message, negative: float) -> float:
        """textblob's polarity for English, as extra evidence.

        textblob misses most negation ("ain't good") and praises mixed complaints
        ("very cheaply made"), so its praise counts only when our lexicon found
        neither blame nor negation; its blame always counts.
        """
        if self._polarity is None or msg.ranked[0].language != "en":
            return 0.0
        polarity, subjectivity = self._polarity(msg.tokens[: self.config.textblob_max_words])
        if polarity > 0 and (negative < 0 or any(is_negator(t, msg.ranked) for t in msg.tokens)):
            return 0.0
        return self.config.textblob_weight * polarity * (0.5 + 0.5 * subjectivity)

    def _vocab(self, ranked: Sequence[Lexicon]) -> Vocab:
        key = tuple(lex.language for lex in ranked)
        vocab = self._vocabs.get(key)
        if vocab is None:  # at most a handful of combinations
            vocab = self._vocabs[key] = Vocab.merge(ranked)
        return vocab

    def _rank_languages(self, tokens: Sequence[str]) -> tuple[Lexicon, ...]:
        """Lexicons ordered by how many of the message's words are their stopwords.

        Languages with at least half as many stopword hits as the best one are kept,
        for mixed messages; when no language has any, all are kept, so that short
        messages ("fatalna obsługa") still reach their lexicon.
        """
        lexicons = list(self._lexicons.values())
        hits = [sum(map(lex.stopwords.__contains__, tokens)) for lex in lexicons]
        order = sorted(range(len(lexicons)), key=lambda i: -hits[i])  # stable: config order
        top = hits[order[0]]
        if top == 0:
            return tuple(lexicons)
        return tuple(lexicons[i] for i in order if hits[i] * 2 >= top)

    def _calm_frame(self, msg: Message, cues: Mapping[str, float]) -> bool:
        """A polite request, a plain question or a calm remark ("my mistake", "no rush"),
        with no sign of agitation."""
        if any(cues.get(c) for c in _AGITATED_CUES) or punctuation_marks(msg.tokens):
            return False
        if cues.get("request") or cues.get("calm") or msg.tokens[-1] == "?":
            return True
        lex = msg.ranked[0]
        words = [t for t in msg.tokens if is_word(t)]
        # "how do I ..." without a question mark, but not "what a mess." or "how awful!"
        return (
            bool(words)
            and words[0] in lex.question_starts
            and msg.tokens[-1] not in (".", "!")
            and " ".join(words[:2]) not in lex.exclamations
        )

    def _cue_total(
        self, cues: Mapping[str, float], reasons: list[str], categories: Sequence[str]
    ) -> float:
        """Weighted cue matches (the 2nd and 3rd match of a category add half each)."""
        total = 0.0
        for category in categories:
            n = cues.get(category, 0.0)
            if not n:
                continue
            reason = CUE_REASONS.get(category)
            if reason and reason not in reasons:
                reasons.append(reason)
            times = n if n <= 1.0 else 1.0 + 0.5 * (min(n, 3.0) - 1.0)
            total += self._weights.get(category, 0.0) * times
        return total


def _textblob_polarity() -> Callable[[Sequence[str]], tuple[float, float]]:
    """textblob's pattern-based polarity and subjectivity (offline, no NLTK data).

    It is given our tokens rather than the text, which skips textblob's own
    (slower) tokenizer; "don't" is split the way that tokenizer would.
    """
    from textblob.en import sentiment  # imported here: importing textblob takes ~0.5 s

    sentiment("good")  # loads its lexicon now rather than on the first message

    def polarity(tokens: Sequence[str]) -> tuple[float, float]:
        # Only words and "!" matter to it; other tokens would each be compared
        # with its emoticon table, which is slow.
        words: list[str] = []
        for tok in tokens:
            if tok.isalpha():
                words.append(tok)
            elif tok.endswith("n't"):
                words += (tok[:-3], "not")
            elif tok[0] == "!":
                words.append("!")
            elif "'" in tok or "-" in tok:
                words.extend(w for w in re.split(r"['-]", tok) if w.isalpha())
        p, s = sentiment(words)[:2]
        return float(p), float(s)

    return polarity
