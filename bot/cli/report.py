"""``supportbot report``: the dashboard's figures on the command line (table, CSV or JSON)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli.common import add_db_argument, check_db_path, db_label, db_path

if TYPE_CHECKING:
    from bot.reports import Durations, Figures, Report, ReportFilter

FORMATS = ("table", "csv", "wide", "json")


def add_range_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--since",
        metavar="DATE",
        help=f"first UTC day (YYYY-MM-DD) of {what}; default: the beginning",
    )
    parser.add_argument(
        "--until", metavar="DATE", help="last UTC day (YYYY-MM-DD), included; default: the end"
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="print the CSAT and chat report (the dashboard's figures)",
        description="Print the report the dashboard shows: CSAT score, response rate, "
        "ratings, containment, escalation rate, first response and resolution times, "
        "chats per agent, unanswered questions and NPS, with their splits. The README "
        '("Reports") defines every figure.',
    )
    add_range_arguments(p, "the report")
    p.add_argument("--agent", metavar="ID_OR_EMAIL", help="only chats last handled by this agent")
    p.add_argument(
        "--rating",
        type=int,
        choices=range(1, 6),
        metavar="1-5",
        help="only chats with this CSAT rating",
    )
    p.add_argument(
        "--handled", choices=("bot", "escalated"), help="only bot-only or only escalated chats"
    )
    p.add_argument("--language", metavar="CODE", help="only chats in this language, e.g. en")
    p.add_argument(
        "--by",
        choices=("day", "week"),
        default="week",
        help="split the period figures by day or by week (default week)",
    )
    p.add_argument(
        "--top",
        type=int,
        default=20,
        metavar="N",
        help="how many unanswered questions to list (default 20)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default), csv (one row per figure), wide (CSV with one row "
        "per period, agent ... and one column per figure) or json",
    )
    add_db_argument(p)
    p.set_defaults(func=run)


def open_readonly(args: argparse.Namespace) -> sqlite3.Connection:
    """The database, read-only (the server may be running)."""
    return open_store_readonly(db_path(args))


def open_store_readonly(path: Path | str) -> sqlite3.Connection:
    """A SQLite file or PostgreSQL database, read-only, refused when it needs migrating."""
    from bot.cli import CommandError
    from bot.store.db import connect
    from bot.store.migrations import pending

    check_db_path(path, must_exist=True)
    try:
        conn = connect(path, readonly=True)
        needed = pending(conn)
    except sqlite3.Error as exc:
        raise CommandError(f"{db_label(path)}: not a supportbot database ({exc})") from None
    if needed:
        conn.close()
        raise CommandError(
            f"{db_label(path)}: the database is from an older version; start "
            "`supportbot serve` on it once to bring it up to date"
        )
    return conn


def report_filter(args: argparse.Namespace, conn: sqlite3.Connection) -> ReportFilter:
    from bot.cli import CommandError
    from bot.reports import FilterError, ReportFilter

    agent = getattr(args, "agent", None)
    if agent and "@" in agent:
        from bot.store.accounts import find_agent

        found = find_agent(conn, agent)
        if found is None:
            raise CommandError(f"--agent: no agent with e-mail {agent}")
        agent = str(found[0].id)
    params = {
        "since": args.since,
        "until": args.until,
        "agent": agent,
        "rating": getattr(args, "rating", None),
        "handled": getattr(args, "handled", None),
        "language": getattr(args, "language", None),
    }
    try:
        return ReportFilter.from_params({k: v for k, v in params.items() if v is not None})
    except FilterError as exc:
        raise CommandError(f"--{exc}") from None


def run(args: argparse.Namespace) -> int:
    from bot.cli import CommandError
    from bot.reports import build_report
    from bot.reports.csvout import csv_text, report_rows, wide_rows

    if not 1 <= args.top <= 500:
        raise CommandError("--top: expected 1 to 500")
    conn = open_readonly(args)
    try:
        report = build_report(conn, report_filter(args, conn), period=args.by, top=args.top)
    finally:
        conn.close()
    out = sys.stdout
    if args.format == "json":
        json.dump(report.to_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "csv":
        out.write(csv_text(report_rows(report)))
    elif args.format == "wide":
        out.write(csv_text(wide_rows(report)))
    else:
        write_table(report, out)
    return 0


# -- the table format -------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 90:
        return f"{value:g} s"
    if value < 5400:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _durations(d: Durations) -> str:
    return f"median {_seconds(d.median)}, p90 {_seconds(d.p90)}  ({d.count} chats)"


def _avg(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _scope(f: ReportFilter) -> str:
    span = (
        f"{f.since or 'the beginning'} to {f.until or 'the end'} (UTC days)"
        if f.since or f.until
        else "all time"
    )
    narrowed = [
        f"agent {f.agent_id}" if f.agent_id else "",
        f"rating {f.rating}" if f.rating else "",
        {"bot": "bot only", "escalated": "escalated"}.get(f.handled or "", ""),
        f"language {f.language}" if f.language else "",
    ]
    return ", ".join([span, *[n for n in narrowed if n]])


def _headline(report: Report) -> list[tuple[str, str]]:
    t, nps = report.totals, report.nps
    ratings_4_5 = t.distribution[3] + t.distribution[4]
    first, resolution = t.first_response, t.resolution
    lines = [
        ("CSAT score", f"{_pct(t.csat_score)}  ({ratings_4_5} of {t.ratings} ratings were 4 or 5)"),
        ("Average rating", _avg(t.average_rating)),
        ("Ratings 1 to 5", " / ".join(str(n) for n in t.distribution)),
        (
            "Response rate",
            f"{_pct(t.response_rate)}  ({t.surveys_answered} of {t.surveys_asked} surveys answered)",
        ),
        ("Chats", f"{t.chats}  ({report.empty_chats} empty, not counted)"),
        ("Bot containment", f"{_pct(t.containment_rate)}  ({t.bot_only} ended without a person)"),
        (
            "Escalation rate",
            f"{_pct(t.escalation_rate)}  ({t.escalated} escalated, {t.missed} never answered)",
        ),
        ("First response", _durations(first)),
        ("Resolution time", _durations(resolution)),
    ]
    if nps.answers:
        counts = (
            f"{nps.answers} answers: {nps.promoters} promoters, {nps.passives} passives, "
            f"{nps.detractors} detractors"
        )
        lines.append(("NPS", f"{nps.score:.1f}  ({counts})"))
    return lines


COLUMNS: list[tuple[str, Any]] = [
    ("chats", lambda f: str(f.chats)),
    ("contained", lambda f: _pct(f.containment_rate)),
    ("escalated", lambda f: str(f.escalated)),
    ("missed", lambda f: str(f.missed)),
    ("1st resp. med", lambda f: _seconds(f.first_response.median)),
    ("p90", lambda f: _seconds(f.first_response.p90)),
    ("resol. med", lambda f: _seconds(f.resolution.median)),
    ("p90", lambda f: _seconds(f.resolution.p90)),
    ("ratings", lambda f: str(f.ratings)),
    ("CSAT", lambda f: _pct(f.csat_score)),
    ("avg", lambda f: _avg(f.average_rating)),
    ("response", lambda f: _pct(f.response_rate)),
]


def _table(title: str, rows: list[tuple[str, Figures]], out: TextIO) -> None:
    cells = [[label, *(fn(figures) for _, fn in COLUMNS)] for label, figures in rows]
    header = [title, *(name for name, _ in COLUMNS)]
    widths = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]
    for row in [header, *cells]:
        first = f"{row[0]:<{widths[0]}}"
        rest = "  ".join(f"{cell:>{w}}" for cell, w in zip(row[1:], widths[1:], strict=True))
        out.write(f"{first}  {rest}".rstrip() + "\n")


def write_table(report: Report, out: TextIO) -> None:
    out.write(f"supportbot report: {_scope(report.filter)}\n\n")
    width = max(len(name) for name, _ in _headline(report))
    out.writelines(f"{name:<{width}}  {value}\n" for name, value in _headline(report))
    splits = [
        ("agent", report.by_agent),
        ("handled", report.by_handled),
        ("language", report.by_language),
        ("escalation reason", report.by_reason),
        (report.period, report.by_period),
    ]
    for title, segments in splits:
        out.write("\n")
        if segments:
            _table(title, [(s.label, s.figures) for s in segments], out)
        else:
            out.write(f"{title}: nothing in this range\n")
    out.write("\nTop unanswered questions\n")
    if not report.unanswered:
        out.write("  none\n")
    out.writelines(f"{question.count:>7}  {question.text}\n" for question in report.unanswered)
