"""Text normalisation for matching: folding, contractions, tokens, stems.

Everything here is deterministic and cheap (no models, no downloads): Unicode
folding, per-language contraction rules, a regex tokenizer and the Snowball
stemmers of PyStemmer for English, Italian and Polish (stop words: bot.kb.stopwords).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

SNOWBALL = {"en": "english", "it": "italian", "pl": "polish"}
NUMBER = "#"

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})
# Letters that NFKD does not decompose.
_EXTRA_FOLD = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe"})
_TOKEN = re.compile(r"[^\W\d_]+|\d+")

_EN_CONTRACTIONS = (
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"'s\b"), ""),
)
# Contractions typed without the apostrophe (only unambiguous ones).
_EN_BARE = {
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "isnt": "is not",
    "arent": "are not", "wasnt": "was not", "werent": "were not", "havent": "have not",
    "hasnt": "has not", "hadnt": "had not", "cant": "can not", "cannot": "can not",
    "couldnt": "could not", "wouldnt": "would not", "shouldnt": "should not",
    "wont": "will not", "im": "i am", "ive": "i have", "youre": "you are",
    "theyre": "they are", "thats": "that is", "whats": "what is", "wheres": "where is",
    "hows": "how is", "whys": "why is", "theres": "there is", "lets": "let us",
}
_IT_ELISION = re.compile(r"\b(\w+)'")
_IT_ELIDED = {
    "dov": "dove", "c": "ci", "com": "come", "qual": "quale", "cos": "cosa",
    "po": "poco", "anch": "anche", "quest": "questo", "quell": "quello",
}


def fold(text: str) -> str:
    """Case-fold, strip accents and unify apostrophes (``"Perché"`` -> ``"perche"``)."""
    text = text.translate(_APOSTROPHES)
    if text.isascii():
        return text.lower()
    text = text.translate(_EXTRA_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _expand(text: str, lang: str) -> str:
    if lang == "en":
        if "'" in text:
            for pattern, repl in _EN_CONTRACTIONS:
                text = pattern.sub(repl, text)
        return text
    if lang == "it" and "'" in text:
        return _IT_ELISION.sub(lambda m: _IT_ELIDED.get(m.group(1), m.group(1)) + " ", text)
    return text


def words(text: str, lang: str = "en") -> list[str]:
    """Folded word tokens with contractions expanded; digit runs become ``NUMBER``."""
    out: list[str] = []
    bare = _EN_BARE if lang == "en" else {}
    for tok in _TOKEN.findall(_expand(fold(text), lang)):
        if tok.isdigit():
            out.append(NUMBER)
        elif tok in bare:
            out.extend(bare[tok].split())
        else:
            out.append(tok)
    return out


@lru_cache(maxsize=8)
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(SNOWBALL.get(lang, "english"))


def stems(tokens: Iterable[str], lang: str = "en") -> list[str]:
    return _stemmer(lang).stemWords(list(tokens))

