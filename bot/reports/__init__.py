"""Reports: CSAT, containment, response times and knowledge-base gaps.

One module serves the dashboard, the HTTP API and the CLI. Every function takes
a ``sqlite3.Connection`` (the server's reader pool, or a read-only connection in
the CLI) and returns plain dataclasses; the README ("Reports") defines every figure.
"""

from bot.reports.cache import DayCache
from bot.reports.figures import PERIODS, build_report, unanswered_questions
from bot.reports.filters import FilterError, ReportFilter, parse_day
from bot.reports.log import LogPage, LogRow, conversation_detail, csat_log, iter_csat_log
from bot.reports.model import Durations, Figures, Nps, Question, Report, Segment
from bot.reports.queries import normalise_question

__all__ = [
    "PERIODS",
    "DayCache",
    "Durations",
    "Figures",
    "FilterError",
    "LogPage",
    "LogRow",
    "Nps",
    "Question",
    "Report",
    "ReportFilter",
    "Segment",
    "build_report",
    "conversation_detail",
    "csat_log",
    "iter_csat_log",
    "normalise_question",
    "parse_day",
    "unanswered_questions",
]
