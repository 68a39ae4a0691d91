"""WorkQueue on virtual time: dedup, never twice at once, delays, back-off, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from kybernetes.client import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
)
from kybernetes.client._clock import settle

from .support import run


def test_adds_are_deduplicated_in_fifo_order() -> None:
    async def scenario() -> list[str]:
        queue: WorkQueue[str] = WorkQueue(clock=FakeClock())
        for item in ("a", "b", "a", "c", "b"):
            queue.add(item)
        assert len(queue) == 3
        return [await queue.get() for _ in range(3)]

    assert run(scenario()) == ["a", "b", "c"]


def test_an_item_is_never_handed_out_twice_at_once() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue(clock=FakeClock())
        queue.add("a")
        assert await queue.get() == "a"
        queue.add("a")  # changed while being processed: dirty, not queued
        assert len(queue) == 0 and queue.is_processing("a")
        second = asyncio.create_task(queue.get())
        await settle()
        assert not second.done()
        queue.done("a")  # now it is queued again
        assert await second == "a"
        queue.done("a")
        assert len(queue) == 0

    run(scenario())


def test_waiting_getters_each_get_one_item() -> None:
    async def scenario() -> set[str]:
        queue: WorkQueue[str] = WorkQueue(clock=FakeClock())
        getters = [asyncio.create_task(queue.get()) for _ in range(3)]
        await settle()
        for item in ("x", "y", "z"):
            queue.add(item)
        return set(await asyncio.gather(*getters))

    assert run(scenario()) == {"x", "y", "z"}


def test_cancelled_getter_passes_its_wake_up_on() -> None:
    async def scenario() -> str:
        queue: WorkQueue[str] = WorkQueue(clock=FakeClock())
        first = asyncio.create_task(queue.get())
        second = asyncio.create_task(queue.get())
        await settle()
        queue.add("a")  # wakes `first`...
        first.cancel()  # ...which is cancelled before it runs
        return await second

    assert run(scenario()) == "a"


def test_add_after_waits_and_keeps_the_earliest_time() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        queue: WorkQueue[str] = WorkQueue(clock=clock)
        queue.add_after("a", 10)
        queue.add_after("a", 5)  # earlier: wins
        queue.add_after("a", 20)  # later: ignored
        queue.add_after("b", 0)  # now
        assert (len(queue), queue.waiting) == (1, 1)
        await clock.advance(4.9)
        assert len(queue) == 1
        await clock.advance(0.1)
        assert len(queue) == 2 and queue.waiting == 0
        assert [await queue.get(), await queue.get()] == ["b", "a"]
        await clock.advance(100)
        assert len(queue) == 0  # the superseded timers did nothing

    run(scenario())


def test_per_item_backoff_doubles_from_5ms_to_1000s() -> None:
    limiter = ItemExponentialFailureRateLimiter(0.005, 1000)
    delays = [limiter.when("a", 0.0) for _ in range(20)]
    assert delays[:4] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert delays[-1] == 1000
    assert limiter.num_requeues("a") == 20
    limiter.forget("a")
    assert (limiter.num_requeues("a"), limiter.when("a", 0.0)) == (0, 0.005)
    assert limiter.when("b", 0.0) == 0.005  # items are independent


def test_overall_bucket_limits_many_failing_items() -> None:
    limiter = MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000),
                               BucketRateLimiter(qps=10, burst=2))
    delays = [limiter.when(f"item-{i}", 0.0) for i in range(4)]
    # Each item fails for the first time (5 ms), but the shared bucket is empty after two.
    assert delays == pytest.approx([0.005, 0.005, 0.1, 0.2])


def test_add_rate_limited_and_forget_on_the_queue() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        queue: WorkQueue[str] = WorkQueue(clock=clock,
                                          rate_limiter=default_controller_rate_limiter())
        for expected_wait in (0.005, 0.01, 0.02):
            queue.add_rate_limited("a")
            await clock.advance(expected_wait - 0.001)
            assert len(queue) == 0
            await clock.advance(0.001)
            assert len(queue) == 1
            queue.done(await queue.get())
        assert queue.num_requeues("a") == 3
        queue.forget("a")
        assert queue.num_requeues("a") == 0

    run(scenario())


def test_shutdown_hands_out_what_is_queued_then_raises() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        queue: WorkQueue[str] = WorkQueue(clock=clock)
        queue.add("a")
        queue.add_after("later", 1)
        queue.shutdown()
        queue.add("b")  # ignored
        assert await queue.get() == "a"
        with pytest.raises(ShutDown):
            await queue.get()
        await clock.advance(2)
        assert len(queue) == 0 and clock.pending_timers == 0

    run(scenario())


def test_shutdown_wakes_blocked_getters() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue(clock=FakeClock())
        getter = asyncio.create_task(queue.get())
        await settle()
        queue.shutdown()
        with pytest.raises(ShutDown):
            await getter

    run(scenario())


def test_shutdown_with_drain_waits_for_items_in_flight() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue(clock=FakeClock())
        queue.add("a")
        item = await queue.get()
        drain = asyncio.create_task(queue.shutdown_with_drain())
        await settle()
        assert not drain.done()
        queue.done(item)
        await drain

    run(scenario())
