"""The report's queries counted into partials (see ``bot.reports.tally``).

``bot.reports.store`` runs the queries; here their grouped rows go to the tallies
of every slice they belong to. ``collect`` runs them all. The README ("Reports")
defines every figure.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from bot.reports import store
from bot.reports.filters import ReportFilter
from bot.reports.tally import Partial, Router


def ratings(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """Ratings counted on the day they were first given (``given_at``)."""
    for day, agent, bot, language, reasons, rating, n in store.rating_groups(conn, f):
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.ratings[rating - 1] += n


def surveys(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """Surveys counted on the day they were asked (``asked_at``), and their NPS answers."""
    for day, agent, bot, language, reasons, answered, n in store.survey_groups(conn, f):
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.asked += n
            if answered:
                tally.answered += n
    for day, score, n in store.nps_groups(conn, f):
        router.partial(day).nps[score] += n


def chats(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """Chats counted on the day they ended (``closed_at``), with their durations."""
    for day, agent, bot, language, reasons, missed, n in store.chat_groups(conn, f):
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.chats += n
            if bot:
                tally.bot_only += n
            if missed:
                tally.missed += n

    # Empty conversations were counted above as bot-only chats: take them out again.
    for day, agent, bot, language, reasons, n in store.empty_chat_groups(conn, f):
        router.partial(day).empty += n
        for tally in router.slices(day, agent, bot, language, reasons):
            tally.chats -= n
            tally.bot_only -= n

    # Durations of the escalated chats an agent answered, one row each: collected per
    # segment first, so that each value is handed to its slices' lists in one go.
    durations: dict[tuple[Any, ...], tuple[list[int], list[int]]] = {}
    for day, agent, bot, language, reasons, first, resolution in store.answered_durations(conn, f):
        lists = durations.get((day, agent, bot, language, reasons))
        if lists is None:
            lists = durations[(day, agent, bot, language, reasons)] = ([], [])
        lists[0].append(first)
        lists[1].append(resolution)
    for combination, (firsts, resolutions) in durations.items():
        for tally in router.slices(*combination):
            tally.first_response.extend(firsts)
            tally.resolution.extend(resolutions)


def normalise_question(text: str) -> str:
    """Case-folded, with runs of whitespace as one space and none at the ends."""
    return " ".join(text.casefold().split())


def questions(conn: sqlite3.Connection, f: ReportFilter, router: Router) -> None:
    """``bot.no_answer`` events on the day they happened, by normalised query."""
    raw: Counter[tuple[str, Any]] = Counter(store.unanswered(conn, f))
    for (day, query), n in raw.items():
        if isinstance(query, str) and (text := normalise_question(query)):
            router.partial(day).questions[text] += n


def collect(
    conn: sqlite3.Connection, f: ReportFilter, *, period: str = "day", by_day: bool = False
) -> dict[str | None, Partial]:
    """Run every query of the report: one partial (key None), or one per day."""
    router = Router(period, by_day=by_day)
    ratings(conn, f, router)
    surveys(conn, f, router)
    chats(conn, f, router)
    questions(conn, f, router)
    return router.partials
