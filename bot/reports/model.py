"""The report as plain frozen dataclasses, and the statistics behind its figures.

Rates are fractions in [0, 1] (``None`` when there is nothing to divide by);
durations are seconds with millisecond precision. ``to_dict`` gives the JSON
the HTTP API returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.reports.filters import ReportFilter


def median_ms(ordered: list[int]) -> float | None:
    """The middle of sorted values; the mean of the two middle ones for an even count."""
    if not ordered:
        return None
    n = len(ordered)
    middle = n // 2
    if n % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def p90_ms(ordered: list[int]) -> float | None:
    """Nearest-rank 90th percentile of sorted values: the one at 1-based rank ceil(0.9 n)."""
    if not ordered:
        return None
    rank = (9 * len(ordered) + 9) // 10  # ceil(9n / 10) in integers
    return float(ordered[rank - 1])


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class Durations:
    """How many durations there were, their median and 90th percentile, in seconds."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values_ms: list[int]) -> Durations:
        ordered = sorted(values_ms)
        median, p90 = median_ms(ordered), p90_ms(ordered)
        return cls(
            count=len(values_ms),
            median=median / 1000 if median is not None else None,
            p90=p90 / 1000 if p90 is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Figures:
    """Every figure of one slice of the report (the whole range, a day, an agent ...)."""

    # CSAT: ratings first given in the range
    ratings: int
    distribution: tuple[int, int, int, int, int]  # number of 1, 2, 3, 4, 5 ratings
    csat_score: float | None  # share of 4 and 5
    average_rating: float | None
    low_ratings: int  # 1 and 2
    # surveys asked in the range
    surveys_asked: int
    surveys_answered: int
    response_rate: float | None
    # chats that ended in the range
    chats: int
    bot_only: int
    escalated: int
    containment_rate: float | None
    escalation_rate: float | None
    missed: int  # escalated chats that ended without an agent message
    first_response: Durations
    resolution: Durations

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["distribution"] = {str(i + 1): n for i, n in enumerate(self.distribution)}
        return data


@dataclass(frozen=True, slots=True)
class Segment:
    """One row of a split: ``key`` identifies it (a date, an agent id ...), ``label`` names it."""

    key: str
    label: str
    figures: Figures

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **self.figures.to_dict()}


@dataclass(frozen=True, slots=True)
class Nps:
    """Net Promoter Score: 100 x (promoters - detractors) / answers, in -100..100."""

    answers: int
    promoters: int  # 9 and 10
    passives: int  # 7 and 8
    detractors: int  # 0 to 6
    score: float | None


@dataclass(frozen=True, slots=True)
class Question:
    """A question the bot could not answer (normalised text) and how often it was asked."""

    text: str
    count: int


@dataclass(frozen=True, slots=True)
class Report:
    filter: ReportFilter
    period: str  # day | week
    totals: Figures
    empty_chats: int  # ended without a shopper message or escalation; in no other figure
    nps: Nps
    by_period: tuple[Segment, ...]
    by_agent: tuple[Segment, ...]
    by_handled: tuple[Segment, ...]
    by_language: tuple[Segment, ...]
    by_reason: tuple[Segment, ...]
    unanswered: tuple[Question, ...]

    SPLITS = ("by_period", "by_agent", "by_handled", "by_language", "by_reason")

    def to_dict(self) -> dict[str, Any]:
        return {
            "filter": self.filter.to_params(),
            "period": self.period,
            "totals": self.totals.to_dict(),
            "empty_chats": self.empty_chats,
            "nps": asdict(self.nps),
            **{name: [s.to_dict() for s in getattr(self, name)] for name in self.SPLITS},
            "unanswered": [asdict(q) for q in self.unanswered],
        }
