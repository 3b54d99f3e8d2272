"""Train the mood detector's tone model (bot/mood/models/tone.npz).

The tone model is a logistic regression on the sentence encoder's 512-dimensional
vectors (USE multilingual v3, the FAQ matcher's slow path): the probability that a
message is an unhappy one. Trained on English data, it carries to Italian and
Polish through the encoder's shared space. The lexicons stay the first judge; the
tone model only adds escalations for messages they let through
(see bot/mood/tone.py).

Training data (none of it is shipped, only the 517 numbers learnt from it):

* GoEmotions (Demszky et al., 2020; CC BY 4.0): 43,410 English Reddit comments;
  "unhappy" = labelled anger, annoyance, disapproval or disgust; all other
  comments count as not unhappy. Pass its ``train.tsv`` (text, label ids, id; the
  original 28 labels) as the argument.
* Our own shop messages, each weighing ``SHOP_WEIGHT`` comments: the mood
  detector's batches 1-3, ``tests/data/mood_shop/{en,it,pl}{,_fresh,_unseen}.csv``
  (450), and ``tests/data/mood_train/{en,it,pl}.csv`` (295, written for this
  model, most in English). The held-out batches (``*_heldout.csv``,
  ``*_batch5.csv``, ``*_batch6.csv``) are never used.
* Calm questions: every phrasing of the bundled knowledge base and of
  ``tests/data/kb_bikes`` (about 2,000, in three languages), each weighing
  ``CALM_WEIGHT``: shop questions about problems ("my parcel arrived damaged")
  must not read as unhappy.

Each language's threshold is the probability that 1% of its calm questions and calm
shop messages reach (the language as detected at run time); a message in no known
language gets the threshold of all of them together. Usage (the encoder with two threads;
about 35 s):

    .venv/bin/python tests/benchmarks/train_mood_tone.py PATH/TO/goemotions/train.tsv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.kb.loader import load_kb
from bot.kb.semantic import Encoder, kb_phrasings
from bot.lang import language_lead
from bot.mood.tone import DEFAULT_PATH, ToneModel, save_tone
from bot.text import strip_accents

# GoEmotions' 28 labels, in the order of its label ids.
GOEMOTIONS = (
    "admiration amusement anger annoyance approval caring confusion curiosity desire "
    "disappointment disapproval disgust embarrassment excitement fear gratitude grief joy "
    "love nervousness optimism pride realization relief remorse sadness surprise neutral"
).split()
UNHAPPY = ("anger", "annoyance", "disapproval", "disgust")
SHOP_WEIGHT = 20.0
CALM_WEIGHT = 3.0
CALM_QUANTILE = 0.99
L2 = 1e-3
LANGS = ("en", "it", "pl")
DATA = ROOT / "tests" / "data"
SHOP_SETS = [
    *(
        DATA / "mood_shop" / f"{lang}{batch}.csv"
        for lang in LANGS
        for batch in ("", "_fresh", "_unseen")
    ),
    *(DATA / "mood_train" / f"{lang}.csv" for lang in LANGS),
]
CALM_KBS = [ROOT / "knowledge_base", ROOT / "tests" / "data" / "kb_bikes" / "faq.csv"]


def goemotions(path: Path) -> tuple[list[str], np.ndarray]:
    unhappy = {GOEMOTIONS.index(name) for name in UNHAPPY}
    texts, labels = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            ids = {int(i) for i in parts[1].split(",") if i.strip()}
            texts.append(parts[0])
            labels.append(1.0 if ids & unhappy else 0.0)
    return texts, np.array(labels)


def shop_messages() -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for path in SHOP_SETS:
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                texts.append(row["message"])
                labels.append(1.0 if row["label"] == "escalate" else 0.0)
    return texts, np.array(labels)


def calm_questions() -> list[str]:
    texts: list[str] = []
    for path in CALM_KBS:
        kb = load_kb(path).kb
        assert kb is not None, path
        texts.extend(kb_phrasings(kb)[0])
    return texts


def with_unaccented(texts: list[str], labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The texts, and again typed without accents where that differs ("zamówienie" and
    "zamowienie" land apart in the encoder's space, and shoppers type both)."""
    extra = [(strip_accents(t), i) for i, t in enumerate(texts) if strip_accents(t) != t]
    out = texts + [t for t, _ in extra]
    if not len(labels):
        return out, labels
    return out, np.concatenate([labels, labels[[i for _, i in extra]]])


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted logistic regression (Newton steps, L2 on the weights); the bias last."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    theta = np.zeros(xb.shape[1])
    total = weight.sum()
    penalty = np.full(xb.shape[1], L2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(xb @ theta)))
        grad = xb.T @ ((p - y) * weight) / total + penalty * theta
        hess = (xb * (p * (1 - p) * weight)[:, None]).T @ xb / total + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-7:
            break
    return theta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("goemotions", type=Path, help="GoEmotions train.tsv (original labels)")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args()
    started = time.perf_counter()
    encoder = Encoder(threads=2)

    def encode(texts: list[str]) -> np.ndarray:
        return np.concatenate([encoder.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])

    go_texts, go_y = goemotions(args.goemotions)
    shop_texts, shop_y = with_unaccented(*shop_messages())
    calm = with_unaccented(calm_questions(), np.zeros(0))[0]
    x = np.vstack([encode(go_texts), encode(shop_texts), encode(calm)])
    y = np.concatenate([go_y, shop_y, np.zeros(len(calm))])
    weight = np.concatenate(
        [
            np.ones(len(go_texts)),
            np.full(len(shop_texts), SHOP_WEIGHT),
            np.full(len(calm), CALM_WEIGHT),
        ]
    )
    theta = fit(x, y, weight)
    p = 1.0 / (1.0 + np.exp(-(x @ theta[:-1] + theta[-1])))
    calm_rows = np.r_[np.zeros(len(go_texts), bool), shop_y == 0, np.ones(len(calm), bool)]
    detected = np.array(
        [""] * len(go_texts) + [language_lead(t)[0] or "" for t in shop_texts + calm]
    )
    thresholds = {
        lang: float(np.quantile(p[calm_rows & (detected == lang)], CALM_QUANTILE)) for lang in LANGS
    }
    model = ToneModel(
        theta[:-1].astype(np.float32),
        float(theta[-1]),
        float(np.quantile(p[calm_rows], CALM_QUANTILE)),
        thresholds,
        encoder.version,
    )
    save_tone(args.out, model)
    cuts = ", ".join(f"{lang} {cut:.3f}" for lang, cut in thresholds.items())
    print(
        f"{len(go_texts)} GoEmotions comments ({go_y.mean():.1%} unhappy), {len(shop_texts)} shop "
        f"messages, {len(calm)} calm questions; thresholds {cuts}, any other "
        f"{model.threshold:.3f}; {time.perf_counter() - started:.0f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
