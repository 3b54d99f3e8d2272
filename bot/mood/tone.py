"""The tone model: a second opinion on messages the mood lexicons let through.

The lexicons catch what their authors thought of; an Italian or Polish complaint
in words they lack ("nikt nie raczył odpowiedzieć", "è stato un incubo") scores 0.
The tone model reads the message's sentence vector instead (USE multilingual v3,
the same vectors the FAQ matcher's slow path computes): a logistic regression
trained on English and our shop messages (``tests/benchmarks/train_mood_tone.py``
says on what), which carries to Italian and Polish through the encoder's shared
space (it reads a message's first 500 characters, as the FAQ matcher does; the
lexicons read 5,000). A message escalates when its probability of being unhappy reaches the
threshold of its language: the probability that 1% of calm shop questions and
messages in that language reach (set at training time; Polish typed without its
accents lands in a noisier part of the space and needs more).

It only adds escalations, and only for messages with words that the lexicons did
not escalate and that are not small talk; its verdict is the reason "tone of the
message". The server does not read questions the FAQ fast path is sure of (close
to one of the knowledge base's own questions, which the model learnt as calm), so
it encodes no message the slow path would not encode anyway. It needs the sentence encoder: with ``SUPPORTBOT_FAQ_SEMANTIC=off``, or
``SUPPORTBOT_MOOD_TONE=off``, mood is judged by the lexicons alone. A model file
that is missing, corrupt, or made for another encoder is not fatal: a warning
names it and mood is judged by the lexicons alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.kb.matcher import MAX_QUERY_CHARS
from bot.kb.semantic import DIM, Encoder
from bot.lang import language_lead
from bot.mood.detector import MoodDetector
from bot.smalltalk import small_talk
from bot.types import MoodResult

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).resolve().parent / "models" / "tone.npz"
REASON = "tone of the message"


class ToneModelError(RuntimeError):
    """The tone model cannot be used; the message names the file."""


@dataclass(frozen=True)
class ToneModel:
    weights: np.ndarray  # (DIM,) float32
    bias: float
    threshold: float  # probability from which a message escalates ...
    thresholds: Mapping[str, float]  # ... or, in a language it knows, from which there
    encoder_version: str  # the encoder whose vectors it was trained on

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """P(unhappy) per row of ``vectors`` (the encoder's unit vectors)."""
        logits = vectors @ self.weights + self.bias
        out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
        return out

    def apply(
        self,
        results: Sequence[MoodResult],
        vectors: np.ndarray,
        languages: Sequence[str | None],
        escalate_below: float,
    ) -> list[MoodResult]:
        """``results`` with the tone's escalations added (one vector and one detected
        language, or None, per result)."""
        out = list(results)
        for i, p in enumerate(self.probabilities(vectors)):
            cut = self.thresholds.get(languages[i] or "", self.threshold)
            if p >= cut and not out[i].escalate:
                result = out[i]
                out[i] = replace(
                    result,
                    escalate=True,
                    score=round(min(result.score, escalate_below), 4),
                    reasons=(*result.reasons, REASON),
                )
        return out


class MoodJudge:
    """Messages judged by the lexicons, then (with an encoder and a model) by the tone
    for what they let through: the command line's and the benchmarks' judge. The
    server's :class:`~bot.brain.Brain` differs in one way: with its knowledge base at
    hand it also leaves alone the questions the FAQ fast path is sure of (and shares
    the vectors with the slow path)."""

    def __init__(
        self,
        detector: MoodDetector,
        encoder: Encoder | None = None,
        tone: ToneModel | None = None,
    ) -> None:
        self.detector = detector
        self.encoder = encoder
        self.tone = tone

    def analyse_many(self, texts: Sequence[str]) -> list[MoodResult]:
        results = [self.detector.analyse(text) for text in texts]
        if self.tone is None or self.encoder is None:
            return results
        toned = [
            i
            for i, (text, result) in enumerate(zip(texts, results, strict=True))
            if needs_tone(text, result) and small_talk(text) is None
        ]
        if toned:
            vectors = self.encoder.encode([texts[i][:MAX_QUERY_CHARS] for i in toned])
            moods = self.tone.apply(
                [results[i] for i in toned],
                vectors,
                [language_lead(texts[i])[0] for i in toned],
                self.detector.config.escalate_below,
            )
            for i, mood in zip(toned, moods, strict=True):
                results[i] = mood
        return results


def needs_tone(text: str, result: MoodResult) -> bool:
    """Whether the tone model has anything to add to the lexicons' verdict on a
    message that is not small talk: one with words that they let through."""
    return not result.escalate and any(c.isalpha() for c in text)


def save_tone(path: Path, model: ToneModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez(
            fh,
            weights=np.asarray(model.weights, dtype=np.float32),
            bias=np.float64(model.bias),
            threshold=np.float64(model.threshold),
            languages=np.array(list(model.thresholds), dtype=np.str_),
            thresholds=np.array(list(model.thresholds.values()), dtype=np.float64),
            encoder_version=np.str_(model.encoder_version),
        )


def read_tone(path: Path) -> ToneModel:
    """The model in ``path``; :class:`ToneModelError` naming it when it cannot be used."""
    if not path.is_file():
        raise ToneModelError(f"mood tone model file missing: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            weights = np.asarray(data["weights"], dtype=np.float32)
            bias, threshold = float(data["bias"]), float(data["threshold"])
            codes, version_array = data["languages"], data["encoder_version"]
            cuts = [float(cut) for cut in data["thresholds"]]
    except Exception as exc:  # a damaged archive fails in many ways (zlib, zipfile, numpy)
        raise ToneModelError(f"mood tone model file corrupt: {path} ({exc})") from None
    languages = [str(code) for code in codes] if codes.dtype.kind == "U" else []
    version = str(version_array) if version_array.dtype.kind == "U" else ""
    if (
        weights.shape != (DIM,)
        or codes.ndim != 1
        or len(languages) != len(cuts)
        or len(set(languages)) != len(languages)
        or version_array.ndim != 0
        or not version
        or not (np.isfinite(weights).all() and np.isfinite(bias))
        or not all(0.0 < cut < 1.0 for cut in (threshold, *cuts))
    ):
        raise ToneModelError(f"mood tone model file corrupt: {path} (not the expected arrays)")
    return ToneModel(weights, bias, threshold, dict(zip(languages, cuts, strict=True)), version)


def load_tone(encoder_version: str, path: Path | None = None) -> tuple[ToneModel | None, str]:
    """The tone model for vectors of ``encoder_version`` (one copy per process), or
    None and a warning naming the file."""
    path = path or DEFAULT_PATH
    with _LOCK:
        model = _LOADED.get(path)
        if model is None:
            try:
                model = _LOADED[path] = read_tone(path)
            except ToneModelError as exc:
                return None, f"{exc}; judging mood with the lexicons only"
    if model.encoder_version != encoder_version:
        return None, (
            f"mood tone model {path} was made for another sentence encoder "
            f"({model.encoder_version}, not {encoder_version}); judging mood with the "
            "lexicons only"
        )
    return model, ""


_LOADED: dict[Path, ToneModel] = {}
_LOCK = threading.Lock()
