"""The knowledge base in memory: entries with their text per language, and problems.

A :class:`KnowledgeBase` is immutable once built; reloading builds a new one and
swaps it in (see :mod:`bot.kb.service`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from bot.types import DEFAULT_LANGUAGE, Language


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in a knowledge-base file, with where it is (line is 1-based)."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class LocalizedEntry:
    """One entry's content in one language."""

    question: str
    answer: str
    alternates: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The main question first, then the alternate phrasings."""
        return (self.question, *self.alternates)


@dataclass(frozen=True, slots=True)
class Entry:
    """One FAQ entry: an id, language-neutral tags and its content per language."""

    id: str
    texts: Mapping[Language, LocalizedEntry]
    tags: tuple[str, ...] = ()
    topic: str = ""
    source: Path | None = None
    line: int | None = None

    @property
    def languages(self) -> tuple[Language, ...]:
        return tuple(self.texts)

    def text(self, lang: Language | None = None) -> LocalizedEntry:
        """Content in ``lang``, else English, else the first language the entry has."""
        if lang and lang in self.texts:
            return self.texts[lang]
        if DEFAULT_LANGUAGE in self.texts:
            return self.texts[DEFAULT_LANGUAGE]
        return next(iter(self.texts.values()))


@dataclass(frozen=True)
class KnowledgeBase:
    """An ordered, immutable collection of entries with lookup by id."""

    entries: tuple[Entry, ...]
    source: Path | None = None
    _by_id: Mapping[str, Entry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Entry] = {}
        for entry in self.entries:
            if entry.id in by_id:
                raise ValueError(f"duplicate entry id {entry.id!r}")
            by_id[entry.id] = entry
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))

    @classmethod
    def from_entries(cls, entries: Iterable[Entry], source: Path | None = None) -> KnowledgeBase:
        return cls(tuple(entries), source)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    @property
    def languages(self) -> tuple[Language, ...]:
        """Every language some entry has, in first-seen order."""
        seen: dict[Language, None] = {}
        for entry in self.entries:
            for lang in entry.texts:
                seen.setdefault(lang)
        return tuple(seen)

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def question(self, entry_id: str, lang: Language | None = None) -> str:
        """The entry's main question in ``lang`` (English fallback); KeyError if unknown."""
        return self._by_id[entry_id].text(lang).question

    def answer(self, entry_id: str, lang: Language | None = None) -> str:
        """The entry's answer in ``lang`` (English fallback); KeyError if unknown."""
        return self._by_id[entry_id].text(lang).answer

    def phrasing_count(self) -> int:
        return sum(len(t.phrasings) for e in self.entries for t in e.texts.values())
