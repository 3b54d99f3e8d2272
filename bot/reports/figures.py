"""The report: the figures of every slice, assembled from the queries' partial results."""

from __future__ import annotations

import heapq
import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot.reports.filters import ReportFilter
from bot.reports.model import Figures, Nps, Question, Report, Segment
from bot.reports.queries import collect
from bot.reports.store import agent_names
from bot.reports.tally import TOTAL, Partial, Tally, week_of

if TYPE_CHECKING:
    from bot.reports.cache import DayCache

PERIODS = ("day", "week")
DEFAULT_TOP = 20
MAX_TOP = 500


def nps_of(scores: Counter[int]) -> Nps:
    answers = sum(scores.values())
    promoters = scores[9] + scores[10]
    detractors = sum(n for score, n in scores.items() if score <= 6)
    return Nps(
        answers=answers,
        promoters=promoters,
        passives=answers - promoters - detractors,
        detractors=detractors,
        score=100 * (promoters - detractors) / answers if answers else None,
    )


def top_questions(counts: Counter[str], top: int) -> tuple[Question, ...]:
    """Most asked first; equally often asked ones in alphabetical order."""
    ranked = heapq.nsmallest(top, counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Question(text, n) for text, n in ranked)


def periods(f: ReportFilter, period: str, seen: Iterable[str]) -> list[str]:
    """Every period from the range's first to its last (or the data's, for an open end)."""
    seen = sorted(seen)
    first = f.since.isoformat() if f.since else (seen[0] if seen else None)
    last = f.until.isoformat() if f.until else (seen[-1] if seen else None)
    if first is None or last is None or first > last:
        return seen
    if period == "week":
        first, last = week_of(first), week_of(last)
    step = timedelta(days=7 if period == "week" else 1)
    out, day, stop = [], date.fromisoformat(first), date.fromisoformat(last)
    while day <= stop:
        out.append(day.isoformat())
        day += step
    return out


def assemble(
    f: ReportFilter, period: str, top: int, partial: Partial, names: dict[int, str]
) -> Report:
    tallies = partial.tallies
    blank = Tally()
    nothing = blank.figures()

    def figures(key: tuple[str, Any]) -> Figures:
        return (tallies.get(key) or blank).figures()

    def segments(kind: str) -> list[tuple[Any, Figures]]:
        """The slices of a split that have anything in them."""
        found = [(key[1], tally.figures()) for key, tally in tallies.items() if key[0] == kind]
        return [(key, figs) for key, figs in found if figs != nothing]

    by_period = tuple(
        Segment(p, p, figures(("period", p)))
        for p in periods(f, period, (k[1] for k in tallies if k[0] == "period"))
    )
    by_agent = sorted(
        (
            Segment(str(agent), names.get(agent, f"agent #{agent}"), figs)
            for agent, figs in segments("agent")
        ),
        key=lambda s: (s.label.casefold(), int(s.key)),
    )
    by_handled = tuple(
        Segment(h, label, figures(("handled", h)))
        for h, label in (("bot", "Bot only"), ("escalated", "Escalated"))
    )
    by_language = sorted(
        (Segment(lang, lang, figs) for lang, figs in segments("language")), key=lambda s: s.key
    )
    by_reason = sorted(
        (Segment(r, r, figs) for r, figs in segments("reason")),
        key=lambda s: (-s.figures.chats, -s.figures.ratings, s.key),
    )
    return Report(
        filter=f,
        period=period,
        totals=figures(TOTAL),
        empty_chats=partial.empty,
        nps=nps_of(partial.nps),
        by_period=by_period,
        by_agent=tuple(by_agent),
        by_handled=by_handled,
        by_language=tuple(by_language),
        by_reason=tuple(by_reason),
        unanswered=top_questions(partial.questions, top),
    )


def build_report(
    conn: sqlite3.Connection,
    f: ReportFilter,
    *,
    period: str = "day",
    top: int = DEFAULT_TOP,
    cache: DayCache | None = None,
) -> Report:
    """The whole report for a filter; ``period`` is ``day`` or ``week``.

    With a ``cache`` (the server keeps one), days that can no longer change are
    read from it; the figures are the same either way.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    if cache is not None:
        partial = cache.partial(conn, f, period)
    else:
        partial = collect(conn, f, period=period).get(None) or Partial()
    return assemble(f, period, top, partial, agent_names(conn))


def unanswered_questions(
    conn: sqlite3.Connection, f: ReportFilter, top: int = DEFAULT_TOP
) -> tuple[Question, ...]:
    """The top unanswered questions alone."""
    from bot.reports.queries import questions
    from bot.reports.tally import Router

    router = Router()
    questions(conn, f, router)
    partial = router.partials.get(None) or Partial()
    return top_questions(partial.questions, top)
