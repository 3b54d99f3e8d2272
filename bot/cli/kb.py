"""``supportbot ask`` and ``supportbot kb check|export``: test and manage the FAQ.

``ask`` runs the matcher the server uses, with the same calibration and slow path,
on one question or on a file of questions (one per line; ``--json`` gives one
object per line, in order). ``kb check`` lists every problem of a knowledge base
with file and line and what to expect of it: per language, the share of questions
answered outright and how often those answers are right, from the KB's own
held-out phrasings. ``kb export`` writes it as CSV.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.kb.cascade import FaqCascade
    from bot.kb.loader import LoadResult
    from bot.kb.service import KnowledgeState

FALLBACK_TEXT = "Sorry, I don't know the answer to that. Would you like to talk to a person?"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ask = sub.add_parser(
        "ask",
        help="ask the FAQ bot a question (test a knowledge base)",
        description="Match questions against a knowledge base, exactly as the chat bot "
        "does, and show the outcome: answer, suggest (did you mean) or fallback.",
    )
    ask.add_argument("question", nargs="*", help="the question (words are joined)")
    _add_kb_argument(ask)
    ask.add_argument(
        "--batch",
        metavar="FILE",
        help="read questions from FILE, one per line ('-' for standard input)",
    )
    ask.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per question: query, action, entry_id, score, "
        "suggestions, language, path (fast or slow)",
    )
    ask.add_argument(
        "--lang",
        choices=("en", "it", "pl"),
        help="the shopper's language (default: detect per question)",
    )
    ask.set_defaults(func=run_ask)

    kb = sub.add_parser(
        "kb",
        help="check or export a knowledge base",
        description="Validate a knowledge base or export it as CSV.",
    )
    commands = kb.add_subparsers(dest="kb_command", metavar="ACTION")
    commands.required = True
    check = commands.add_parser(
        "check",
        help="list every problem with file and line (exit status 1 if any)",
        description="Validate a knowledge base (a folder of .toml files, one .toml file "
        "or a .csv file) and report every problem with its file and line.",
    )
    check.add_argument("path", type=Path, help="the knowledge base to check")
    check.add_argument(
        "--lexical",
        action="store_true",
        help="report the lexical matcher alone (no sentence encoder)",
    )
    check.set_defaults(func=run_check)
    export = commands.add_parser(
        "export",
        help="write the knowledge base as CSV",
        description="Write id,question,answer,alternates,tags,lang,keywords,topic rows, "
        "one per entry and language (alternates, tags and keywords joined by '|').",
    )
    _add_kb_argument(export)
    export.add_argument("-o", "--output", type=Path, help="CSV file to write (default stdout)")
    export.set_defaults(func=run_export)


def _add_kb_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kb",
        type=Path,
        help="knowledge base: a folder of .toml files, a .toml or a .csv file "
        "(default: the bundled demo shop FAQ, or SUPPORTBOT_KB)",
    )


def _kb_path(args: argparse.Namespace) -> Path:
    from bot.settings import settings_from_env

    return settings_from_env(kb=args.kb).kb


def _load(path: Path, *, quiet: bool = False) -> LoadResult:
    from bot.cli import CommandError
    from bot.kb.loader import load_kb

    result = load_kb(path)
    if result.kb is None:
        details = "".join(f"\n  {p}" for p in result.problems[:20])
        raise CommandError(f"no valid knowledge base at {path}{details}")
    if result.problems and not quiet:
        print(
            f"supportbot: warning: {len(result.problems)} problem(s) in {path}; "
            "run `supportbot kb check` for the list",
            file=sys.stderr,
        )
    return result


def _questions(args: argparse.Namespace) -> Iterator[str]:
    from bot.cli import CommandError

    if args.batch is None:
        if not args.question:
            raise CommandError("give a QUESTION or --batch FILE")
        yield " ".join(args.question)
        return
    if args.question:
        raise CommandError("give either a QUESTION or --batch FILE, not both")
    if args.batch == "-":
        stream: Iterable[str] = sys.stdin
    else:
        try:
            stream = Path(args.batch).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise CommandError(f"--batch {args.batch}: {exc.strerror}") from None
    for line in stream:
        yield line.rstrip("\r\n")


def _record(faq: FaqCascade, query: str, lang: str | None) -> dict[str, Any]:
    result, path = faq.decide(query, lang)
    return {
        "query": query,
        "action": result.action,
        "entry_id": result.entry_id,
        "score": result.score,
        "suggestions": [s.entry_id for s in result.suggestions],
        "language": result.language,
        "path": path,
    }


def _describe(faq: FaqCascade, query: str, lang: str | None) -> str:
    result = faq.match(query, lang)
    kb = faq.kb
    if result.action == "answer" and result.entry_id:
        answer = kb.answer(result.entry_id, result.language)
        return f"answer [{result.entry_id}] ({result.score:.2f}): {answer}"
    if result.action == "suggest":
        options = "; ".join(f"{s.question} [{s.entry_id}]" for s in result.suggestions)
        return f"suggest ({result.score:.2f}): did you mean: {options}"
    best = f" (best: {result.entry_id}, {result.score:.2f})" if result.entry_id else ""
    return f"fallback{best}: {FALLBACK_TEXT}"


def _state(loaded: LoadResult, *, semantic: bool = True) -> KnowledgeState:
    """The KB's matcher, calibration and slow path, configured as ``serve`` does
    (SUPPORTBOT_FAQ_*); the slow path runs in this process."""
    from bot.cli import CommandError
    from bot.kb.semantic import EmbeddingCache, load_encoder
    from bot.kb.service import build_state
    from bot.settings import cache_dir, matcher_config, model_dir, semantic_mode, settings_from_env

    assert loaded.kb is not None
    try:
        settings = settings_from_env()
        config = matcher_config(settings)
        mode = semantic_mode(settings) if semantic else "off"
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    encoder, warning = load_encoder(mode, model_dir(settings))
    if warning:
        print(f"supportbot: warning: {warning}", file=sys.stderr)
    cache = EmbeddingCache(cache_dir(settings, server=False)) if encoder is not None else None
    return build_state(loaded.kb, config, loaded.problems, encoder, cache)


def run_ask(args: argparse.Namespace) -> int:
    questions = _questions(args)
    first = next(questions, None)  # validate arguments before the (slower) KB build
    loaded = _load(_kb_path(args), quiet=args.json)
    faq = _state(loaded).faq
    out = sys.stdout
    if first is None:
        return 0
    for query in _chain(first, questions):
        if args.json:
            out.write(json.dumps(_record(faq, query, args.lang), ensure_ascii=False) + "\n")
        else:
            out.write(_describe(faq, query, args.lang) + "\n")
    out.flush()
    return 0


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def run_check(args: argparse.Namespace) -> int:
    from bot.kb.loader import load_kb

    result = load_kb(args.path)
    for problem in result.problems:
        print(problem)
    if result.kb is not None:
        _report_calibration(_state(result, semantic=not args.lexical))
    entries = len(result.kb) if result.kb is not None else 0
    languages = ", ".join(result.kb.languages) if result.kb is not None else "-"
    status = "OK" if not result.problems else f"{len(result.problems)} problem(s)"
    print(f"{args.path}: {len(result.files)} file(s), {entries} entries ({languages}): {status}")
    return 1 if result.problems else 0


def _report_calibration(state: KnowledgeState) -> None:
    """Expected answer rate and precision per language, from the KB's held-out phrasings."""
    calibration = state.calibration
    if calibration.too_small:
        print(f"warning: {calibration.warning}")
        return
    slow = state.faq.has_slow_path
    figures = calibration.fused_figures if slow else calibration.lexical_figures
    fast = calibration.lexical_figures
    how = "fast + slow path" if slow else "lexical only"
    lexical = calibration.lexical
    fused = calibration.fused
    assert lexical is not None
    cut = f"fast path from confidence {lexical.threshold:.2f}"
    if slow and fused is not None:
        cut += f", slow path from {fused.threshold:.2f}"
    print(
        f"calibration ({how}): {calibration.held_out} held-out phrasings, "
        f"{calibration.out_of_scope} as out-of-scope questions; answers outright: {cut}"
    )
    print("language  held-out  answered  precision  (fast path alone: answered, precision)")
    for lang, fig in figures.items():
        alone = fast.get(lang)
        extra = f"  ({alone.answer_rate:.2f}, {alone.precision:.2f})" if alone and slow else ""
        print(f"{lang:8}  {fig.held_out:8}  {fig.answer_rate:8.2f}  {fig.precision:9.2f}{extra}")


def run_export(args: argparse.Namespace) -> int:
    from bot.cli import CommandError
    from bot.kb.export import write_csv

    loaded = _load(_kb_path(args))
    assert loaded.kb is not None
    if args.output is None:
        write_csv(loaded.kb, sys.stdout)
        return 0
    try:
        with args.output.open("w", encoding="utf-8", newline="") as fh:
            rows = write_csv(loaded.kb, fh)
    except OSError as exc:
        raise CommandError(f"-o {args.output}: {exc.strerror}") from None
    print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
    return 0
