"""Cue lexicons per language, loaded from the TOML files in ``bot/mood/lexicons``.

A lexicon file holds (all keys optional except ``language``):

``base``
    A tab-separated ``word<TAB>valence`` file next to it (valence -4..4), e.g.
    the VADER lexicon for English.
``stopwords``, ``negators``, ``contrast``, ``question_starts``, ``exclamations``, ``unflipped``, ``conditionals``
    Word lists: function words that identify the language, words that flip the
    words after them, "but"-like words that shift weight to the clause after
    them, words that open a calm question ("how", "can", "czy"), two-word
    openings that look like questions but exclaim ("what a"), and words that a
    negation does not flip when they are or follow the sentiment word
    ("couldn't be happier", "can't recommend it enough").
``conditionals``
    Words that open a hypothetical clause ("if", "unless"): sentiment in it counts less.
``[intensifiers]``
    word -> boost added to the size of the next sentiment word (negative values
    damp it: "slightly").
``[words]``
    word -> valence (-4..4), added to or overriding ``base``. A key ending in
    ``*`` matches every word starting with it ("wsciek*" for Polish inflections).
``[cues]``
    category -> list of regular expressions matched against the folded message
    (lower case, accents stripped). Categories are fixed by the detector.
``[[phrases]]``
    ``valence = -2.0`` and ``patterns = [...]``: multi-word expressions that
    count like a sentiment word of that valence ("thumbs down", "no way to").

Keys and non-ASCII characters of patterns are folded like the messages are.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from bot.mood.cues import CueSet
from bot.text import fold

CUE_CATEGORIES = (
    "person",
    "threat",
    "insult",
    "frustration",
    "unhelpful",
    "waiting",
    "failure",
    "advice",
    "impatience",
    "calm",
    "sarcasm",
    "situation",
    "request",
)

_CACHE_LIMIT = 50_000  # words remembered before the look-up cache starts afresh
_MISSING = object()
_PACKAGE = "bot.mood"
_FOLDER = "lexicons"


class LexiconError(ValueError):
    """A lexicon file is malformed (unknown cue category, bad pattern, bad value)."""


@dataclass(frozen=True)
class Lexicon:
    """Everything the detector needs to know about one language."""

    language: str
    words: Mapping[str, float] = field(default_factory=dict)
    prefixes: Mapping[str, float] = field(default_factory=dict)
    negators: frozenset[str] = frozenset()
    intensifiers: Mapping[str, float] = field(default_factory=dict)
    contrast: frozenset[str] = frozenset()
    stopwords: frozenset[str] = frozenset()
    question_starts: frozenset[str] = frozenset()
    exclamations: frozenset[str] = frozenset()
    unflipped: frozenset[str] = frozenset()
    conditionals: frozenset[str] = frozenset()
    cues: CueSet = field(default_factory=lambda: CueSet({}))
    phrases: tuple[tuple[str, float], ...] = ()  # (key in ``cues``, valence)
    categories: frozenset[str] = frozenset()  # cue categories this lexicon has
    prefix_lengths: tuple[int, ...] = ()
    # Prefix look-ups already made (words not in ``words``): a plain cache.
    _cache: dict[str, float | None] = field(default_factory=dict, compare=False, repr=False)

    def valence(self, word: str) -> float | None:
        """The word's valence, or None when the lexicon does not know it."""
        value = self.words.get(word)
        if value is not None:
            return value
        cache = self._cache
        known = cache.get(word, _MISSING)  # one look-up: another thread may clear it
        if known is not _MISSING:
            return known  # type: ignore[return-value]
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        value = cache[word] = self._prefix_valence(word)
        return value

    def _prefix_valence(self, word: str) -> float | None:
        for n in self.prefix_lengths:
            if len(word) >= n:
                value = self.prefixes.get(word[:n])
                if value is not None:
                    return value
        if "'" in word:  # Italian elisions: "un'esperienza", "l'ordine"
            return self.valence(word.rsplit("'", 1)[1])
        return None


def fold_pattern(pattern: str) -> str:
    """Fold the non-ASCII characters of a regular expression (escapes stay as they are)."""
    return "".join(fold(c) if ord(c) > 127 else c for c in pattern)


def check_patterns(patterns: object, where: str) -> list[str]:
    """Folded patterns, each checked to compile."""
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise LexiconError(f"{where}: expected a list of patterns")
    parts = [fold_pattern(p) for p in patterns]
    for part in parts:
        try:
            re.compile(part)
        except re.error as exc:
            raise LexiconError(f"{where}: bad pattern {part!r}: {exc}") from None
    return parts


def _words(values: object, where: str) -> frozenset[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise LexiconError(f"{where}: expected a list of strings")
    return frozenset(fold(v) for v in values)


def _numbers(values: object, where: str) -> dict[str, float]:
    if not isinstance(values, dict):
        raise LexiconError(f"{where}: expected a table of numbers")
    out: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise LexiconError(f"{where}.{key}: expected a number")
        out[fold(key)] = float(value)
    return out


def read_base(text: str) -> dict[str, float]:
    """Parse a ``word<TAB>valence`` file (extra columns and blank lines ignored)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0]:
            try:
                out[fold(parts[0])] = float(parts[1])
            except ValueError:
                continue
    return out


def parse_lexicon(data: Mapping[str, object], base: Mapping[str, float] | None = None) -> Lexicon:
    """Build a :class:`Lexicon` from parsed TOML (``base``: the already-read base file)."""
    language = data.get("language")
    if not isinstance(language, str) or not language:
        raise LexiconError("missing 'language'")
    words = dict(base or {})
    prefixes: dict[str, float] = {}
    for key, value in _numbers(data.get("words", {}), f"{language}.words").items():
        if key.endswith("*"):
            prefixes[key[:-1]] = value
        else:
            words[key] = value
    cues_data = data.get("cues", {})
    if not isinstance(cues_data, dict):
        raise LexiconError(f"{language}.cues: expected a table")
    groups: dict[str, list[str]] = {}
    for category, patterns in cues_data.items():
        if category not in CUE_CATEGORIES:
            raise LexiconError(f"{language}.cues: unknown category {category!r}")
        groups[category] = check_patterns(patterns, f"{language}.cues.{category}")
    phrases_data = data.get("phrases", [])
    if not isinstance(phrases_data, list):
        raise LexiconError(f"{language}.phrases: expected an array of tables")
    phrases: list[tuple[str, float]] = []
    for n, item in enumerate(phrases_data):
        where = f"{language}.phrases[{n}]"
        if not isinstance(item, dict):
            raise LexiconError(f"{where}: expected a table")
        valence = item.get("valence")
        if isinstance(valence, bool) or not isinstance(valence, int | float):
            raise LexiconError(f"{where}.valence: expected a number")
        key = f"phrases[{n}]"
        groups[key] = check_patterns(item.get("patterns"), f"{where}.patterns")
        phrases.append((key, float(valence)))
    return Lexicon(
        language=language,
        words=MappingProxyType(words),
        prefixes=MappingProxyType(prefixes),
        negators=_words(data.get("negators", []), f"{language}.negators"),
        intensifiers=MappingProxyType(
            _numbers(data.get("intensifiers", {}), f"{language}.intensifiers")
        ),
        contrast=_words(data.get("contrast", []), f"{language}.contrast"),
        stopwords=_words(data.get("stopwords", []), f"{language}.stopwords"),
        question_starts=_words(data.get("question_starts", []), f"{language}.question_starts"),
        exclamations=_words(data.get("exclamations", []), f"{language}.exclamations"),
        unflipped=_words(data.get("unflipped", []), f"{language}.unflipped"),
        conditionals=_words(data.get("conditionals", []), f"{language}.conditionals"),
        cues=CueSet(groups),
        categories=frozenset(c for c in groups if c in CUE_CATEGORIES),
        phrases=tuple(phrases),
        prefix_lengths=tuple(sorted({len(p) for p in prefixes}, reverse=True)),
    )


def load_lexicon(language: str, folder: Path | None = None) -> Lexicon:
    """Load ``<language>.toml`` from ``folder`` (default: the bundled lexicons, parsed
    once per process: a lexicon is immutable, and parsing one compiles hundreds of
    patterns; a folder's files are read again on every call, so edits show)."""
    if folder is None:
        return _bundled_lexicon(language)
    return _read_lexicon(language, folder)


@functools.cache
def _bundled_lexicon(language: str) -> Lexicon:
    return _read_lexicon(language, None)


def _read_lexicon(language: str, folder: Path | None) -> Lexicon:
    if folder is None:
        root = resources.files(_PACKAGE).joinpath(_FOLDER)
        source = root.joinpath(f"{language}.toml").read_text(encoding="utf-8")
    else:
        source = (folder / f"{language}.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{language}.toml: {exc}") from None
    base: dict[str, float] | None = None
    base_name = data.get("base")
    if base_name is not None:
        if not isinstance(base_name, str) or "/" in base_name or "\\" in base_name:
            raise LexiconError(f"{language}.base: expected a file name")
        if folder is None:
            base_text = root.joinpath(base_name).read_text(encoding="utf-8")
        else:
            base_text = (folder / base_name).read_text(encoding="utf-8")
        base = read_base(base_text)
    return parse_lexicon(data, base)


def load_lexicons(languages: Iterable[str], folder: Path | None = None) -> dict[str, Lexicon]:
    return {lang: load_lexicon(lang, folder) for lang in languages}
