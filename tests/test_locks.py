"""Coalesced broadcasts: calls during a run make one more run, slow runs pause longer."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.locks import Coalesced


async def test_calls_during_a_run_make_exactly_one_more_run() -> None:
    runs: list[float] = []

    async def push() -> None:
        runs.append(time.monotonic())
        await asyncio.sleep(0.02)

    coalesced = Coalesced(push, "push")
    coalesced()
    await asyncio.sleep(0.005)
    for _ in range(5):
        coalesced()
    await coalesced.settled()
    assert len(runs) == 2


async def test_a_slow_run_is_followed_by_a_pause_in_proportion_to_its_duty() -> None:
    runs: list[float] = []

    async def push() -> None:
        runs.append(time.monotonic())
        await asyncio.sleep(0.05)

    # a quarter of the time at most: 0.05 s of work, then at least 0.15 s of pause
    coalesced = Coalesced(push, "push", interval=0.01, duty=0.25)
    coalesced()
    await asyncio.sleep(0.005)
    coalesced()
    await coalesced.settled()
    assert len(runs) == 2
    assert runs[1] - runs[0] >= 0.05 + 0.15 - 0.005


def test_duty_must_be_a_share() -> None:
    async def push() -> None:
        return None

    for duty in (0, -0.5, 1.5):
        with pytest.raises(ValueError):
            Coalesced(push, "push", duty=duty)
