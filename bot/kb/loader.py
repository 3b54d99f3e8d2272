"""Load a knowledge base from TOML files or a CSV export, reporting every problem.

A KB path is a directory of ``*.toml`` files (one topic each), a single ``.toml``
file, or a ``.csv`` file with the columns ``id,question,answer,alternates,tags``
(``alternates`` and ``tags`` separated by ``|``) and optionally ``lang``,
``keywords`` and ``topic``. Without ``lang`` a row is English; rows sharing an id
with different languages make one entry.

Loading keeps what is valid and reports the rest as :class:`Problem` objects that
name the file and line. It fails (``kb`` is None) only when nothing valid remains.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.kb.model import Entry, KnowledgeBase, LocalizedEntry, Problem
from bot.kb.toml_lines import TomlLines
from bot.text import words

TOML_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
CSV_REQUIRED = ("id", "question", "answer")
CSV_OPTIONAL = ("alternates", "tags", "lang", "keywords", "topic")
_TOP_KEYS = {"topic", "entries"}
_ENTRY_KEYS = {"id", "tags"}
_TEXT_KEYS = {"question", "answer", "alternates", "keywords"}
_LIST_SPLIT = re.compile(r"\s*\|\s*")


class KnowledgeBaseError(Exception):
    """No valid knowledge base could be loaded; ``problems`` says why."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.problems = tuple(problems)
        details = "".join(f"\n  {p}" for p in self.problems[:20])
        super().__init__(message + details)


@dataclass(frozen=True, slots=True)
class FileResult:
    """What one file yielded: its valid entries and its problems."""

    path: Path
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A whole KB load: the knowledge base (None if nothing valid) and every problem."""

    kb: KnowledgeBase | None
    problems: tuple[Problem, ...]
    files: tuple[Path, ...]


def kb_files(path: Path) -> list[Path]:
    """The files that make up the KB at ``path`` (sorted; [] if there are none)."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.toml") if p.is_file())
    return [path] if path.is_file() else []


def load_kb(path: Path | str) -> LoadResult:
    """Load every file of the KB at ``path`` and check the entries against each other."""
    path = Path(path)
    files = kb_files(path)
    if not files:
        what = "no *.toml files in directory" if path.is_dir() else "no such file or directory"
        return LoadResult(None, (Problem(path, None, what),), ())
    return combine([parse_file(f) for f in files], source=path)


def parse_file(path: Path) -> FileResult:
    """Parse one TOML or CSV file; never raises for bad content."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(path, (), (Problem(path, None, f"cannot read: {exc.strerror}"),))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return FileResult(path, (), (Problem(path, line, "not valid UTF-8 text"),))
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _parse_toml(path, text)
    if suffix == ".csv":
        return _parse_csv(path, text)
    return FileResult(path, (), (Problem(path, None, "unsupported file type (.toml or .csv)"),))


def combine(results: Iterable[FileResult], source: Path | None = None) -> LoadResult:
    """Join per-file results: drop later duplicates of an id, report shared phrasings."""
    results = list(results)
    problems: list[Problem] = [p for r in results for p in r.problems]
    kept: dict[str, Entry] = {}
    for result in results:
        for entry in result.entries:
            first = kept.get(entry.id)
            if first is not None:
                problems.append(
                    Problem(
                        entry.source or result.path,
                        entry.line,
                        f"duplicate id {entry.id!r} (first at {_where(first)})",
                    )
                )
                continue
            kept[entry.id] = entry
    problems.extend(_shared_phrasings(kept.values()))
    files = tuple(r.path for r in results)
    if not kept:
        where = source if source is not None else (files[0] if files else Path("."))
        problems.append(Problem(where, None, "no valid entries"))
        return LoadResult(None, tuple(problems), files)
    return LoadResult(KnowledgeBase(tuple(kept.values()), source), tuple(problems), files)


def _where(entry: Entry) -> str:
    return f"{entry.source}:{entry.line}" if entry.line else str(entry.source)


def _shared_phrasings(entries: Iterable[Entry]) -> list[Problem]:
    seen: dict[tuple[str, str], Entry] = {}
    problems: list[Problem] = []
    for entry in entries:
        for lang, text in entry.texts.items():
            for phrasing in dict.fromkeys(" ".join(words(p, lang)) for p in text.phrasings):
                if not phrasing:
                    continue
                other = seen.setdefault((lang, phrasing), entry)
                if other is not entry:
                    problems.append(
                        Problem(
                            entry.source or Path("."),
                            entry.line,
                            f"entry {entry.id!r} ({lang}): phrasing {phrasing!r} is also in entry "
                            f"{other.id!r} ({_where(other)})",
                        )
                    )
    return problems


# -- TOML ---------------------------------------------------------------------------------------

_TOML_LINE = re.compile(r"line (\d+)")


def _parse_toml(path: Path, text: str) -> FileResult:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        return FileResult(path, (), (Problem(path, line, f"TOML syntax error: {exc}"),))
    lines = TomlLines(text)
    problems: list[Problem] = []
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(Problem(path, lines.top_key(key), f"unknown key {key!r}"))
    topic = data.get("topic", "")
    if not isinstance(topic, str):
        problems.append(Problem(path, lines.top_key("topic"), "'topic' must be a string"))
        topic = ""
    raw_entries = data.get("entries")
    if raw_entries is None:
        problems.append(Problem(path, None, "no [[entries]]"))
        return FileResult(path, (), tuple(problems))
    if not isinstance(raw_entries, list):
        problems.append(
            Problem(path, lines.top_key("entries"), "'entries' must be [[entries]] tables")
        )
        return FileResult(path, (), tuple(problems))
    entries: list[Entry] = []
    for index, raw in enumerate(raw_entries):
        entry = _toml_entry(path, lines, index, raw, topic, problems)
        if entry is not None:
            entries.append(entry)
    return FileResult(path, tuple(entries), tuple(problems))


def _toml_entry(
    path: Path, lines: TomlLines, index: int, raw: Any, topic: str, problems: list[Problem]
) -> Entry | None:
    line = lines.entry_line(index)
    if not isinstance(raw, dict):
        problems.append(Problem(path, line, "an entry must be a table"))
        return None
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not entry_id.strip():
        problems.append(Problem(path, line, "entry without an 'id' string"))
        return None
    if not TOML_ID.match(entry_id):
        problems.append(Problem(path, line, f"id {entry_id!r} must match [a-z0-9-]+"))
        return None
    tags = _str_list(raw.get("tags", []))
    if tags is None:
        problems.append(
            Problem(
                path,
                lines.entry_key(index, "tags"),
                f"entry {entry_id!r}: 'tags' must be a list of strings",
            )
        )
        tags = ()
    texts: dict[str, LocalizedEntry] = {}
    for key, value in raw.items():
        if key in _ENTRY_KEYS:
            continue
        key_line = lines.entry_key(index, key) or line
        if not LANG_CODE.match(key):
            problems.append(Problem(path, key_line, f"entry {entry_id!r}: unknown key {key!r}"))
            continue
        if not isinstance(value, dict):
            problems.append(
                Problem(
                    path, key_line, f"entry {entry_id!r}: {key!r} must be a table [entries.{key}]"
                )
            )
            continue
        text = _localized(value, _reporter(path, lines, index, entry_id, key, problems))
        if text is not None:
            texts[key] = text
    return _finish_entry(path, line, entry_id, texts, tuple(tags), topic, problems)


def _reporter(
    path: Path, lines: TomlLines, index: int, entry_id: str, lang: str, problems: list[Problem]
) -> Callable[[str, str], None]:
    def report(message: str, field: str) -> None:
        line = lines.entry_key(index, field, lang) or lines.entry_line(index)
        problems.append(Problem(path, line, f"entry {entry_id!r} ({lang}): {message}"))

    return report


def _localized(raw: Mapping[str, Any], report: Callable[[str, str], None]) -> LocalizedEntry | None:
    """Validate one language table; ``report(message, field)`` records a problem."""
    for key in raw:
        if key not in _TEXT_KEYS:
            report(f"unknown key {key!r}", key)
    fields: dict[str, Any] = {}
    ok = True
    for key in ("question", "answer"):
        value = raw.get(key)
        if not isinstance(value, str):
            report(f"'{key}' is missing" if value is None else f"'{key}' must be a string", key)
            ok = False
        elif not value.strip():
            report(f"empty {key}", key)
            ok = False
        else:
            fields[key] = value.strip()
    for key in ("alternates", "keywords"):
        items = _str_list(raw.get(key, []))
        if items is None:
            report(f"'{key}' must be a list of strings", key)
            items = ()
        elif any(not s.strip() for s in items):
            report(f"empty string in '{key}'", key)
        fields[key] = tuple(s.strip() for s in items if s.strip())
    return LocalizedEntry(**fields) if ok else None


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _finish_entry(
    path: Path,
    line: int | None,
    entry_id: str,
    texts: dict[str, LocalizedEntry],
    tags: tuple[str, ...],
    topic: str,
    problems: list[Problem],
) -> Entry | None:
    if not texts:
        problems.append(Problem(path, line, f"entry {entry_id!r}: no usable language"))
        return None
    if "en" not in texts:
        problems.append(Problem(path, line, f"entry {entry_id!r}: no English (en) text"))
    return Entry(entry_id, MappingProxyType(texts), tags, topic, path, line)


# -- CSV ----------------------------------------------------------------------------------------


def split_list(cell: str) -> tuple[str, ...]:
    """``"a | b|c"`` -> ``("a", "b", "c")``; empty parts dropped."""
    return tuple(p for p in _LIST_SPLIT.split(cell.strip()) if p)


def _parse_csv(path: Path, text: str) -> FileResult:
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return FileResult(path, (), (Problem(path, 1, f"CSV error: {exc}"),))
    if header is None:
        return FileResult(path, (), (Problem(path, None, "empty file"),))
    columns = [h.strip().lower() for h in header]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        return FileResult(path, (), (Problem(path, 1, f"missing column(s): {', '.join(missing)}"),))
    for name in columns:
        if name not in CSV_REQUIRED + CSV_OPTIONAL:
            problems.append(Problem(path, 1, f"unknown column {name!r}"))
    grouped: dict[str, dict[str, Any]] = {}
    seen: dict[tuple[str, str], int] = {}
    line = 1
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(path, start, f"CSV error: {exc}"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: (row[i] if i < len(row) else "") for i, name in enumerate(columns)}
        if len(row) > len(columns):
            problems.append(Problem(path, start, f"{len(row)} cells, header has {len(columns)}"))
        _csv_row(path, start, cells, grouped, seen, problems)
    entries = []
    for entry_id, group in grouped.items():
        entry = _finish_entry(
            path, group["line"], entry_id, group["texts"], group["tags"], group["topic"], problems
        )
        if entry is not None:
            entries.append(entry)
    return FileResult(path, tuple(entries), tuple(problems))


def _csv_row(
    path: Path,
    line: int,
    cells: dict[str, str],
    grouped: dict[str, dict[str, Any]],
    seen: dict[tuple[str, str], int],
    problems: list[Problem],
) -> None:
    entry_id = cells["id"].strip()
    if not entry_id or any(c.isspace() for c in entry_id) or not entry_id.isprintable():
        problems.append(Problem(path, line, f"invalid id {entry_id!r}"))
        return
    lang = cells.get("lang", "").strip().lower() or "en"
    if not LANG_CODE.match(lang):
        problems.append(Problem(path, line, f"entry {entry_id!r}: invalid lang {lang!r}"))
        return
    if (entry_id, lang) in seen:
        problems.append(
            Problem(
                path,
                line,
                f"duplicate id {entry_id!r} for lang {lang!r} "
                f"(first at line {seen[entry_id, lang]})",
            )
        )
        return
    seen[entry_id, lang] = line
    question, answer = cells["question"].strip(), cells["answer"].strip()
    for name, value in (("question", question), ("answer", answer)):
        if not value:
            problems.append(Problem(path, line, f"entry {entry_id!r} ({lang}): empty {name}"))
    group = grouped.setdefault(entry_id, {"line": line, "texts": {}, "tags": (), "topic": ""})
    group["tags"] = group["tags"] or split_list(cells.get("tags", "").replace(",", "|"))
    group["topic"] = group["topic"] or cells.get("topic", "").strip()
    if question and answer:
        group["texts"][lang] = LocalizedEntry(
            question,
            answer,
            split_list(cells.get("alternates", "")),
            split_list(cells.get("keywords", "")),
        )
