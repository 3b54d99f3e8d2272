"""``supportbot mood``: score shopper messages with the mood detector.

    supportbot mood "WHERE IS MY ORDER???"
    supportbot mood --json "passami un operatore"
    supportbot mood --batch messages.txt --json     # one message per line

Mood is judged as the server judges it: the lexicons, then the tone model on the
sentence vectors (unless ``SUPPORTBOT_FAQ_SEMANTIC=off`` or ``SUPPORTBOT_MOOD_TONE=off``);
having no knowledge base, it also reads the questions the server's FAQ fast path
would be sure of, which the server leaves to the lexicons.
With ``--json`` every message gives one JSON object on its own line:
``{"message", "escalate", "score", "reasons"}`` (plus ``asks_for_person``).
Without it, one readable line per message.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.mood.detector import MoodDetector
    from bot.mood.tone import MoodJudge
    from bot.settings import Settings
    from bot.types import MoodResult


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "mood",
        help="score a message's mood: unhappy, or asking for a person?",
        description="Judge single shopper messages (English, Italian, Polish) the way the "
        "bot does before answering: whether to escalate to a person, a score in [-1, 1] "
        "(negative is unhappy) and the reasons.",
    )
    p.add_argument("message", nargs="?", help="the message to score")
    p.add_argument(
        "--batch",
        type=Path,
        metavar="FILE",
        help="score every line of FILE (UTF-8, one message per line; '-' is stdin)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per message instead of a readable line",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.cli import CommandError

    if (args.message is None) == (args.batch is None):
        raise CommandError("give either a MESSAGE or --batch FILE")
    if args.batch is None:
        messages: Iterable[str] = [args.message]
    elif str(args.batch) == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        stream = (
            io.TextIOWrapper(buffer, encoding="utf-8", errors="replace")
            if buffer is not None
            else sys.stdin
        )
        messages = _lines(stream)
    else:
        if not args.batch.is_file():
            raise CommandError(f"--batch {args.batch}: no such file")
        try:
            text = args.batch.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise CommandError(f"--batch {args.batch}: {exc.strerror or exc}") from None
        messages = text.splitlines()

    from bot.mood.detector import MoodDetector  # imported here: keeps start-up fast
    from bot.settings import mood_config, settings_from_env

    try:
        settings = settings_from_env()
        detector = MoodDetector(mood_config(settings))  # as serve does
        judge = _judge(detector, settings)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    out = sys.stdout
    # From standard input, each line is answered as it comes.
    for chunk in _chunks(messages, 1 if str(args.batch) == "-" else CHUNK):
        # Undecodable bytes (lone surrogates from argv) cannot be printed: replace them.
        texts = [line.encode("utf-8", "replace").decode("utf-8") for line in chunk]
        for message, result in zip(texts, judge.analyse_many(texts), strict=True):
            out.write(_json_line(message, result) if args.json else _text_line(message, result))
            out.write("\n")
        out.flush()
    return 0


CHUNK = 64  # messages judged together (the sentence encoder is cheaper per message in a batch)


def _judge(detector: MoodDetector, settings: Settings) -> MoodJudge:
    """The lexicons, and the tone model on the sentence vectors where the server has
    them (``SUPPORTBOT_FAQ_SEMANTIC`` not off, ``SUPPORTBOT_MOOD_TONE`` on): as the
    server judges, except that with no knowledge base it reads the questions the
    server's FAQ fast path would be sure of too."""
    from bot.kb.semantic import load_encoder
    from bot.mood.tone import MoodJudge, load_tone
    from bot.settings import model_dir, semantic_mode

    if not detector.config.tone:
        return MoodJudge(detector)
    encoder, warning = load_encoder(semantic_mode(settings), model_dir(settings))
    if encoder is None:
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        return MoodJudge(detector)
    tone, warning = load_tone(encoder.version)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return MoodJudge(detector, encoder, tone)


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    rest = iter(lines)
    while chunk := list(islice(rest, size)):
        yield chunk


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        yield line.rstrip("\r\n")


def _json_line(message: str, result: MoodResult) -> str:
    return json.dumps(
        {
            "message": message,
            "escalate": result.escalate,
            "score": result.score,
            "reasons": list(result.reasons),
            "asks_for_person": result.asks_for_person,
        },
        ensure_ascii=False,
    )


def _text_line(message: str, result: MoodResult) -> str:
    verdict = "ESCALATE" if result.escalate else "ok"
    why = "; ".join(result.reasons) or "no concern"
    return f"{verdict:8} {result.score:+.2f}  {why}  | {message}"
