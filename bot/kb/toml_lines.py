"""Find the line of a key in TOML text (tomllib gives values, not positions).

The KB format is regular enough for a line scanner: ``[[entries]]`` headers open
entries, ``[entries.xx]`` headers open language tables, keys sit at the start of
a line. Anything unusual (inline tables) just yields no line.
"""

from __future__ import annotations

import re

_ENTRY = re.compile(r"^\s*\[\[\s*entries\s*\]\]")
_HEADER = re.compile(r"^\s*\[")
_SUBTABLE = re.compile(r"""^\s*\[\s*entries\s*\.\s*["']?([A-Za-z0-9_-]+)["']?\s*\]""")


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")


class TomlLines:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.entry_starts = [i for i, line in enumerate(self.lines) if _ENTRY.match(line)]

    def _find(self, pattern: re.Pattern[str], start: int, end: int, stop_at_header: bool) -> int:
        for i in range(start, min(end, len(self.lines))):
            if stop_at_header and i > start and _HEADER.match(self.lines[i]):
                break
            if pattern.match(self.lines[i]):
                return i
        return -1

    def _span(self, index: int) -> tuple[int, int] | None:
        if index >= len(self.entry_starts):
            return None
        start = self.entry_starts[index]
        end = (
            self.entry_starts[index + 1] if index + 1 < len(self.entry_starts) else len(self.lines)
        )
        return start, end

    def top_key(self, key: str) -> int | None:
        end = self.entry_starts[0] if self.entry_starts else len(self.lines)
        found = self._find(_key_pattern(key), 0, end, stop_at_header=False)
        return found + 1 if found >= 0 else None

    def entry_line(self, index: int) -> int | None:
        """The line of the entry's ``id =`` (else of its ``[[entries]]`` header)."""
        span = self._span(index)
        if span is None:
            return None
        found = self._find(_key_pattern("id"), span[0], span[1], stop_at_header=True)
        return (found if found >= 0 else span[0]) + 1

    def entry_key(self, index: int, key: str | None, lang: str | None = None) -> int | None:
        """The line of ``key`` in the entry (in its ``[entries.lang]`` table if ``lang``).

        With ``key`` None (or for a language table itself) the table header's line.
        """
        span = self._span(index)
        if span is None:
            return None
        start, end = span
        if lang is None and key is not None and not self._is_subtable(start, end, key):
            found = self._find(_key_pattern(key), start, end, stop_at_header=True)
            return found + 1 if found >= 0 else None
        table = lang if lang is not None else key
        header = -1
        for i in range(start, end):
            match = _SUBTABLE.match(self.lines[i])
            if match and match.group(1) == table:
                header = i
                break
        if header < 0:
            return None
        if key is None or lang is None:
            return header + 1
        found = self._find(_key_pattern(key), header, end, stop_at_header=True)
        return (found if found >= 0 else header) + 1

    def _is_subtable(self, start: int, end: int, name: str) -> bool:
        return any(
            (m := _SUBTABLE.match(self.lines[i])) and m.group(1) == name for i in range(start, end)
        )
