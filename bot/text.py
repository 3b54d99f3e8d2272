"""Text handling shared by the matcher, the mood detector and language detection.

One folding (case, accents, apostrophes, dashes), two tokenisers (matching words
for the FAQ matcher; words, emoticons, emoji and punctuation runs for the mood
detector), per-language contractions and elisions, and the Snowball stemmers of
PyStemmer for English, Italian and Polish. Everything is deterministic and cheap:
no models, no downloads.

PyStemmer's stemmer objects must not be used by two threads at once (the writer,
the reload thread and the executors all judge text), so each thread gets its own.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable

import Stemmer

SNOWBALL = {"en": "english", "it": "italian", "pl": "polish"}
NUMBER = "#"

# Characters NFKD does not split into base letter + accent, and typographic marks.
_FOLD = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "`": "'",
        "\u00b4": "'",
        "\u02bc": "'",
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
    }
)


def fold(text: str) -> str:
    """Lower-case, strip accents, unify apostrophes and dashes (``"Perché"`` -> ``"perche"``)."""
    if text.isascii():  # the common case: nothing to decompose
        return text.lower().replace("`", "'")
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def strip_accents(text: str) -> str:
    """The text as typed on a keyboard without accents ("Zamówienie" -> "Zamowienie"):
    case and punctuation kept."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# -- words for matching ---------------------------------------------------------------------

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
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "cant": "can not",
    "cannot": "can not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "wont": "will not",
    "im": "i am",
    "ive": "i have",
    "youre": "you are",
    "theyre": "they are",
    "thats": "that is",
    "whats": "what is",
    "wheres": "where is",
    "hows": "how is",
    "whys": "why is",
    "theres": "there is",
    "lets": "let us",
}
_IT_ELISION = re.compile(r"\b(\w+)'")
_IT_ELIDED = {
    "dov": "dove",
    "c": "ci",
    "com": "come",
    "qual": "quale",
    "cos": "cosa",
    "po": "poco",
    "anch": "anche",
    "quest": "questo",
    "quell": "quello",
}


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


_stemmers = threading.local()


def _stemmer(lang: str) -> Stemmer.Stemmer:
    cache: dict[str, Stemmer.Stemmer] | None = getattr(_stemmers, "by_lang", None)
    if cache is None:
        cache = _stemmers.by_lang = {}
    stemmer = cache.get(lang)
    if stemmer is None:
        stemmer = cache[lang] = Stemmer.Stemmer(SNOWBALL.get(lang, "english"))
    return stemmer


def stems(tokens: Iterable[str], lang: str = "en") -> list[str]:
    """Snowball stems of folded tokens (one stemmer per thread and language)."""
    stemmed: list[str] = _stemmer(lang).stemWords(list(tokens))
    return stemmed


# -- tokens for the mood detector -------------------------------------------------------------

_LETTER_WORDS = re.compile(r"[^\W\d_]{2,}")
_ELONGATED = re.compile(r"([a-z])\1{2,}")
# Emoticons are matched before words so that ":(" or ":-D" stay whole.
_EMOTICON = r"(?:[:;=8x][-'^o]?[()\[\]dDpP/\\|@3*$]+|<3|\)\):|\(\(:)"
_EMOJI = r"[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"
MOOD_TOKEN = re.compile(rf"{_EMOTICON}(?=\s|$)|[a-z0-9]+(?:['\-][a-z0-9]+)*|[!?]+|[.,;:]+|{_EMOJI}")


def squeeze(text: str) -> str:
    """Shorten letters repeated three or more times ("sooooo" -> "soo")."""
    return _ELONGATED.sub(r"\1\1", text)


def tokenise(folded: str) -> list[str]:
    """Split folded text into words, emoticons, emoji and punctuation runs."""
    return MOOD_TOKEN.findall(folded)


def is_word(token: str) -> bool:
    return token[0].isalnum()


def shouting_ratio(text: str, min_letters: int) -> float:
    """Share of upper-case letters among the letters of words of two or more letters.

    Returns 0.0 when the text has fewer than ``min_letters`` such letters, so that
    a lone "OK" or "USA" is not shouting.
    """
    letters = "".join(_LETTER_WORDS.findall(text))
    if len(letters) < min_letters:
        return 0.0
    return sum(map(str.isupper, letters)) / len(letters)
