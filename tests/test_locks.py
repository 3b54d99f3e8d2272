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


async def test_settled_waits_for_the_calls_before_it_not_for_later_ones() -> None:
    """Triggered again and again (a sweep pushing the queue each time), a broadcast is
    settled once a run has covered what was asked before: not when it goes quiet."""
    runs: list[int] = []

    async def push() -> None:
        runs.append(len(runs))
        await asyncio.sleep(0.01)

    coalesced = Coalesced(push, "push", interval=0.05)
    stop = asyncio.Event()

    async def keep_calling() -> None:
        while not stop.is_set():
            coalesced()
            await asyncio.sleep(0.02)  # more often than the runs can go: never quiet

    caller = asyncio.create_task(keep_calling())
    try:
        await asyncio.sleep(0.1)
        before = len(runs)
        await asyncio.wait_for(coalesced.settled(), 2)
        assert len(runs) >= before + 1  # a run that began after the call, or was under way
    finally:
        stop.set()
        await caller
    await asyncio.wait_for(coalesced.settled(), 2)
    # Never called: settled at once.
    await asyncio.wait_for(Coalesced(push, "idle").settled(), 0.1)
