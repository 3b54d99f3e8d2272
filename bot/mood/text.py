"""Text normalisation and tokenisation shared by the lexicons and the detector.

Everything the detector matches (lexicon keys, cue patterns, message text) goes
through :func:`fold` first, so that "Wściekły", "wsciekly" and "WŚCIEKŁY" meet,
and typographic apostrophes behave like ASCII ones.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not split into base letter + accent.
_EXTRA_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
    }
)
_COMBINING = re.compile(r"[\u0300-\u036f]")
_LETTER_WORDS = re.compile(r"[^\W\d_]{2,}")
_ELONGATED = re.compile(r"([a-z])\1{2,}")

# Emoticons are matched before words so that ":(" or ":-D" stay whole.
_EMOTICON = r"(?:[:;=8x][-'^o]?[()\[\]dDpP/\\|@3*$]+|<3|\)\):|\(\(:)"
_EMOJI = r"[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"
TOKEN = re.compile(rf"{_EMOTICON}(?=\s|$)|[a-z0-9]+(?:['\-][a-z0-9]+)*|[!?]+|[.,;:]+|{_EMOJI}")


def fold(text: str) -> str:
    """Lower-case, strip accents and normalise apostrophes and dashes."""
    if text.isascii():  # the common case: nothing to decompose
        return text.lower().replace("`", "'")
    text = unicodedata.normalize("NFKD", text.lower().translate(_EXTRA_FOLD))
    return _COMBINING.sub("", text)


def squeeze(text: str) -> str:
    """Shorten letters repeated three or more times ("sooooo" -> "soo")."""
    return _ELONGATED.sub(r"\1\1", text)


def tokenise(folded: str) -> list[str]:
    """Split folded text into words, emoticons, emoji and punctuation runs."""
    return TOKEN.findall(folded)


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
