"""Time, as a seam: the `Clock` protocol, the real `LoopClock` and the virtual `FakeClock`.

Everything in the client that waits or stamps a time (rate limiters, retry
back-off, work-queue delays, informer resync, leader-election leases, event
timestamps) asks a `Clock`, never `time` or `asyncio.sleep` directly, so that
tests run on virtual time: no sleeps, no flakes, no timing assertions.

`now()` is monotonic seconds (for intervals and deadlines); `wall()` is the UTC
calendar time written into objects (Lease renewTime, Event timestamps).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The source of time. Implementations must be used from one event loop."""

    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""
        ...

    def wall(self) -> datetime:
        """Current UTC time (timezone-aware)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the caller for `seconds` (<= 0: just yield)."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` once after `delay` seconds unless cancelled first."""
        ...


class LoopClock:
    """Real time: the running event loop's monotonic clock and the system's UTC time."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)


REAL_CLOCK = LoopClock()


class _Timer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Virtual time for tests. Time moves only when the test says so.

    - `await advance(seconds)` moves time forward timer by timer, firing each due
      callback (and waking each due `sleep`) at its own instant, and lets the
      event loop run in between so that woken tasks can schedule their next timer.
    - With `auto_advance=True`, `sleep(d)` itself moves time forward by `d` and
      returns at once: handy for sequential code (a client making requests in a
      row) where the test only inspects `sleeps` and `now()` afterwards.

    `sleeps` records every requested sleep, in order.
    """

    def __init__(self, start: float = 0.0, *, auto_advance: bool = False,
                 wall_start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self._now = start
        self._start = start
        self._wall_start = wall_start
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self.auto_advance = auto_advance
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return self._wall_start + timedelta(seconds=self._now - self._start)

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(self._now + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.auto_advance:
            self._now += max(0.0, seconds)
            self._fire_due()
            await asyncio.sleep(0)
            return
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            timer.cancel()

    @property
    def pending_timers(self) -> int:
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, firing timers in order at their instants."""
        target = self._now + seconds
        await settle()
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0][0] > target:
                break
            when, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            timer.callback()
            await settle()
        self._now = target
        await settle()

    def _fire_due(self) -> None:
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0][0] > self._now:
                return
            _, _, timer = heapq.heappop(self._timers)
            timer.callback()

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)


async def settle(rounds: int = 20) -> None:
    """Let ready tasks run (several loop iterations) without letting time pass."""
    for _ in range(rounds):
        await asyncio.sleep(0)
