"""Fast matching of many cue patterns against a tokenised message.

A lexicon holds a few hundred regular expressions, grouped under keys (cue
categories, phrase groups). Searching a long message with their alternation
costs a few hundred microseconds per group, because the engine tries every
alternative at every word. Most alternatives can only start with a few known
words ("nobody", "ignor...", "stopped"), so at load time each alternative's
possible first words (or first-word prefixes) are worked out from its parsed
form, and at match time a group's regex is only tried at the tokens that can
start one of its matches. Alternatives whose start cannot be worked out
("^...", "\\d+ days") are searched the ordinary way.

Matches of one group are counted without overlaps, like ``re.findall``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

try:  # the standard library's own parser (CPython 3.11+); tests/test_dependencies.py checks it
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # another Python: every cue is searched the ordinary way
    sre_c = sre_parse = None

_BOUNDARY_BEFORE = r"(?<![\w'])"
_BOUNDARY_AFTER = r"(?![\w'])"
_MAX_FIRST_WORDS = 400  # beyond this an alternative is searched the ordinary way
# Special gates: a token that starts with a digit, the message's first token.
DIGIT = "\x00digit"
START = "\x00start"
_CACHE_LIMIT = 50_000  # tokens remembered per lexicon before the cache starts afresh


class CueSet:
    """Groups of patterns, matched together against one message."""

    def __init__(self, groups: Mapping[str, Iterable[str]]) -> None:
        self._alternatives: dict[str, list[str]] = {}
        self._gated: dict[str, re.Pattern[str]] = {}
        self._scanned: dict[str, re.Pattern[str]] = {}
        exact: dict[str, set[str]] = {}
        prefixes: dict[str, set[str]] = {}
        for key, patterns in groups.items():
            gated: list[str] = []
            scanned: list[str] = []
            for pattern in patterns:
                for alternative in split_alternatives(pattern):
                    gate = first_words(alternative)
                    if gate is None:
                        scanned.append(alternative)
                        continue
                    gated.append(alternative)
                    for prefix, is_word in gate:
                        (exact if is_word else prefixes).setdefault(prefix, set()).add(key)
            self._alternatives[key] = gated + scanned
            if gated:
                self._gated[key] = _compile(gated)
            if scanned:
                self._scanned[key] = _compile(scanned)
        self._start = tuple(sorted(prefixes.pop(START, ())))
        self._digit = tuple(sorted(prefixes.pop(DIGIT, ())))
        self._exact = {w: tuple(sorted(keys)) for w, keys in exact.items()}
        self._prefixes = {p: tuple(sorted(keys)) for p, keys in prefixes.items()}
        self._prefix_lengths = tuple(sorted({len(p) for p in prefixes}))
        self._keys_cache: dict[str, tuple[str, ...]] = {}  # token -> groups to try there

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._gated) | frozenset(self._scanned)

    def plain_pattern(self, key: str) -> re.Pattern[str]:
        """The group as one ordinary regex (what :meth:`find` must agree with)."""
        return _compile(self._alternatives[key])

    def find(
        self, norm: str, tokens: Sequence[str], offsets: Sequence[int]
    ) -> dict[str, list[int]]:
        """Token indexes where matches start, per group (non-overlapping, in order).

        ``norm`` is ``" ".join(tokens)`` and ``offsets`` where each token starts in it.
        """
        found: dict[str, list[int]] = {}
        ends: dict[str, int] = {}
        gated, cache = self._gated, self._keys_cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        for i, tok in enumerate(tokens):
            keys = cache.get(tok)
            if keys is None:
                keys = cache[tok] = self._keys_for(tok)
            if i == 0 and self._start:
                keys = keys + self._start
            if not keys:
                continue
            at = offsets[i]
            for key in keys:
                if at < ends.get(key, 0):
                    continue
                m = gated[key].match(norm, at)
                if m is not None:
                    found.setdefault(key, []).append(i)
                    ends[key] = max(m.end(), at + 1)
        for key, pattern in self._scanned.items():
            starts = [bisect_right(offsets, m.start()) - 1 for m in pattern.finditer(norm)]
            if starts:
                starts.extend(found.get(key, ()))
                found[key] = sorted(set(starts))
        return found

    def _keys_for(self, token: str) -> tuple[str, ...]:
        """The groups that have an alternative able to start at ``token``."""
        keys = self._exact.get(token, ())
        if token[0].isdigit():
            keys = keys + self._digit
        for n in self._prefix_lengths:
            if n > len(token):
                break
            more = self._prefixes.get(token[:n])
            if more:
                keys = keys + more
        return keys


def token_offsets(tokens: Sequence[str]) -> list[int]:
    """Where each token starts in ``" ".join(tokens)``."""
    offsets: list[int] = []
    at = 0
    for tok in tokens:
        offsets.append(at)
        at += len(tok) + 1
    return offsets


def split_alternatives(pattern: str) -> list[str]:
    """Split a regular expression at its top-level ``|`` (outside groups and sets)."""
    parts: list[str] = []
    depth = 0
    in_set = False
    start = 0
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_set:
            in_set = c != "]"
        elif c == "[":
            in_set = True
            if pattern[i + 1 : i + 2] == "]":  # "[]...]": a literal "]" first
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return [p for p in parts if p]


def _compile(patterns: Sequence[str]) -> re.Pattern[str]:
    body = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(f"{_BOUNDARY_BEFORE}(?:{body}){_BOUNDARY_AFTER}")


def first_words(pattern: str) -> frozenset[tuple[str, bool]] | None:
    """The words a match of ``pattern`` can start with, as ``(text, is_whole_word)``.

    ``is_whole_word`` False means the first word only starts with ``text``. None
    when that cannot be told from the parsed pattern, or there are too many.
    """
    if sre_parse is None:
        return None
    try:
        return frozenset(_walk(list(sre_parse.parse(pattern)), ""))
    except (re.error, _Unknown):
        return None


class _Unknown(Exception):
    """The start of a pattern cannot be enumerated."""


def _walk(seq: list[tuple[Any, Any]], acc: str) -> set[tuple[str, bool]]:
    """Possible first words of the items ``seq`` following the text ``acc``."""
    for i, (op, av) in enumerate(seq):
        rest = seq[i + 1 :]
        if op is sre_c.LITERAL:
            ch = chr(av)
            if ch == " ":
                return _word(acc, True)
            acc += ch
            continue
        if op is sre_c.BRANCH:
            return _union(_walk(list(branch) + rest, acc) for branch in av[1])
        if op is sre_c.SUBPATTERN:
            return _walk(list(av[3]) + rest, acc)
        if op is sre_c.IN:
            if not acc and av == [(sre_c.CATEGORY, sre_c.CATEGORY_DIGIT)]:
                return {(DIGIT, False)}
            chars = _literal_set(av)
            if chars is None:
                return _word(acc, False)
            return _union(_walk([(sre_c.LITERAL, ord(c)), *rest], acc) for c in chars)
        if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, high, item = av
            if low == 0 and high == 1:  # "x?": with and without it
                return _union([_walk(rest, acc), _walk(list(item) + rest, acc)])
            if low >= 1:  # "x+": the first repetition starts the word
                return {(text, False) for text, _ in _walk(list(item), acc)}
            return _word(acc, False)
        if op is sre_c.AT and av is sre_c.AT_BEGINNING and not acc:
            return {(START, False)}
        if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            continue  # consumes nothing; ignoring it only widens the gate
        return _word(acc, False)
    return _word(acc, True)


def _word(acc: str, whole: bool) -> set[tuple[str, bool]]:
    if not acc:
        raise _Unknown
    return {(acc, whole)}


def _union(parts: Iterable[set[tuple[str, bool]]]) -> set[tuple[str, bool]]:
    out: set[tuple[str, bool]] = set()
    for part in parts:
        out |= part
        if len(out) > _MAX_FIRST_WORDS:
            raise _Unknown
    return out


def _literal_set(items: list[tuple[Any, Any]]) -> list[str] | None:
    chars: list[str] = []
    for op, av in items:
        if op is not sre_c.LITERAL:
            return None
        chars.append(chr(av))
    return chars
