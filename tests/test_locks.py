"""Coalesced broadcasts: calls during a run make one more run, slow runs pause longer;
stopping tasks that swallow a cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.locks import Coalesced, cancel_and_wait


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


def stubborn_task(name: str) -> asyncio.Task[None]:
    """As a library can do: the first CancelledError is caught and the task goes on
    to wait on something else."""
    forever = asyncio.get_running_loop().create_future()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # swallowed
        await forever

    return asyncio.create_task(stubborn(), name=name)


async def test_a_plain_await_after_cancel_waits_for_ever_on_a_swallowed_cancellation() -> None:
    task = stubborn_task("stubborn")
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), 0.3)
    await cancel_and_wait([task], grace=0.1)
    assert task.cancelled()


async def test_a_task_that_swallows_its_cancellation_is_asked_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def polite() -> None:
        await asyncio.sleep(3600)

    tasks = [stubborn_task("stubborn"), asyncio.create_task(polite(), name="polite")]
    await asyncio.sleep(0)
    started = time.monotonic()
    await cancel_and_wait(tasks, grace=0.1)
    assert time.monotonic() - started < 1.0
    assert all(task.cancelled() for task in tasks)
    assert "stubborn did not stop 0.1 s after cancellation 1 of 3" in caplog.text
    assert "waiting at stubborn (" in caplog.text  # where it waited
    assert "polite did not stop" not in caplog.text


async def test_tasks_that_never_end_are_left_behind_after_the_last_try() -> None:
    async def deaf() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(deaf())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task], grace=0.05, tries=3), 2)
    assert not task.done()
    task.get_coro().close()  # type: ignore[union-attr]
