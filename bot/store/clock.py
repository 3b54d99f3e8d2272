"""UTC timestamps as the database stores them, and the clock that the server's
periodic tasks (the knowledge base's reload, the sweeper) wait on."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-11-27T03:17:40.123Z``: fixed width, so text order is time order."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def now_iso() -> str:
    return iso(now())


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Clock:
    """Time for the periodic tasks: the real one. Given to ``create_app``; the tests
    give one they advance by hand, so that they wait for a reload or a sweep instead of
    sleeping through its interval."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
