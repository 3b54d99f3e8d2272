"""CSV for the CSAT log and the report (the dashboard's downloads and ``supportbot report``).

Numbers are written with at most four decimals (trailing zeros dropped), empty
for "no value". Free text that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from bot.reports.log import LogRow
from bot.reports.model import Figures, Report

LOG_HEADER = [
    "given_at",
    "updated_at",
    "conversation_id",
    "rating",
    "low",
    "comment",
    "nps",
    "agent_id",
    "agent",
    "handled",
    "language",
    "mood",
    "escalation_reasons",
]
REPORT_HEADER = ["split", "key", "label", "metric", "value"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def log_row(row: LogRow) -> list[str]:
    return [
        row.given_at,
        row.updated_at or "",
        row.conversation_id,
        str(row.rating),
        number(row.low),
        text(row.comment),
        number(row.nps),
        number(row.agent_id),
        text(row.agent),
        row.handled,
        row.language,
        number(row.mood),
        text("; ".join(row.escalation_reasons)),
    ]


def figure_metrics(figures: Figures) -> list[tuple[str, int | float | None]]:
    """The metrics of one slice, in the order of the CSV and the CLI's JSON."""
    return [
        ("ratings", figures.ratings),
        *((f"rating_{i + 1}", n) for i, n in enumerate(figures.distribution)),
        ("csat_score", figures.csat_score),
        ("average_rating", figures.average_rating),
        ("low_ratings", figures.low_ratings),
        ("surveys_asked", figures.surveys_asked),
        ("surveys_answered", figures.surveys_answered),
        ("response_rate", figures.response_rate),
        ("chats", figures.chats),
        ("bot_only", figures.bot_only),
        ("escalated", figures.escalated),
        ("containment_rate", figures.containment_rate),
        ("escalation_rate", figures.escalation_rate),
        ("missed", figures.missed),
        ("first_response_count", figures.first_response.count),
        ("first_response_median_s", figures.first_response.median),
        ("first_response_p90_s", figures.first_response.p90),
        ("resolution_count", figures.resolution.count),
        ("resolution_median_s", figures.resolution.median),
        ("resolution_p90_s", figures.resolution.p90),
    ]


def report_rows(report: Report) -> Iterator[list[str]]:
    """The report in long form: one row per (split, slice, metric), header first."""
    yield REPORT_HEADER
    for metric, value in figure_metrics(report.totals):
        yield ["total", "", "All", metric, number(value)]
    yield ["total", "", "All", "empty_chats", number(report.empty_chats)]
    nps = report.nps
    for metric, value in (
        ("answers", nps.answers),
        ("promoters", nps.promoters),
        ("passives", nps.passives),
        ("detractors", nps.detractors),
        ("score", nps.score),
    ):
        yield ["nps", "", "NPS", metric, number(value)]
    for split in Report.SPLITS:
        name = split.removeprefix("by_")
        if name == "period":
            name = report.period
        for segment in getattr(report, split):
            for metric, value in figure_metrics(segment.figures):
                yield [name, text(segment.key), text(segment.label), metric, number(value)]
    for rank, question in enumerate(report.unanswered, start=1):
        yield ["unanswered", str(rank), text(question.text), "count", number(question.count)]


def wide_rows(report: Report) -> Iterator[list[str]]:
    """The report for spreadsheets: one row per slice (the whole range, then each
    period, agent, handled, language and reason), one column per figure."""
    metrics = [name for name, _ in figure_metrics(report.totals)]
    yield ["split", "key", "label", *metrics]
    yield ["total", "", "All", *(number(value) for _, value in figure_metrics(report.totals))]
    for split in Report.SPLITS:
        name = split.removeprefix("by_")
        if name == "period":
            name = report.period
        for segment in getattr(report, split):
            yield [
                name,
                text(segment.key),
                text(segment.label),
                *(number(value) for _, value in figure_metrics(segment.figures)),
            ]


def csv_text(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def log_csv(rows: Iterable[LogRow], *, header: bool = True) -> str:
    lines = ([LOG_HEADER] if header else []) + [log_row(r) for r in rows]
    return csv_text(lines)
