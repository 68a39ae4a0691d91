"""`WorkQueue`: client-go's rate-limited, delaying work queue, for asyncio.

Contract (client-go util/workqueue/queue.go):

- `dirty` holds the items that need processing; `processing` the items a
  worker holds (between `get()` and `done()`); `queue` is the FIFO order.
- Invariants: an item is in `queue` iff it is in `dirty` and not in
  `processing`. So an item is queued at most once however often it is added,
  and is never handed to two workers at once: adding an item being processed
  marks it dirty, and `done()` re-queues it then.
- `add_after(item, delay)` adds it once `delay` seconds have passed; a second
  `add_after` of a waiting item keeps the earlier time.
- `add_rate_limited(item)` is `add_after(item, rate_limiter.when(item))`:
  per-item exponential back-off combined with an overall bucket by default;
  `forget(item)` clears the item's back-off once it succeeded.
- `shutdown()`: further adds are ignored, delayed items are dropped, and `get()`
  hands out what is still queued, then raises `ShutDown`.

Time (delays) comes from the injected `Clock`. Single loop; no threads.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from kybernetes.client._clock import REAL_CLOCK, Clock, TimerHandle
from kybernetes.client._ratelimiters import RateLimiter, default_controller_rate_limiter

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """`get()` on a queue that is shut down and empty: the worker should return."""


class WorkQueue(Generic[T]):
    """See the module docstring for the contract."""

    def __init__(self, *, rate_limiter: RateLimiter | None = None, clock: Clock | None = None,
                 name: str = "") -> None:
        self.name = name
        self.clock: Clock = clock or REAL_CLOCK
        self.rate_limiter: RateLimiter = rate_limiter or default_controller_rate_limiter()
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: dict[T, tuple[float, TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._drained: asyncio.Event | None = None
        self._shutting_down = False

    # --- the basic queue -----------------------------------------------------------------

    def add(self, item: T) -> None:
        """Mark `item` as needing processing (no-op if it already is, or after shutdown)."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return  # done() will queue it again
        self._queue.append(item)
        self._wake_one()

    async def get(self) -> T:
        """The next item, waiting for one; the caller must call `done(item)` after.
        Raises `ShutDown` once the queue is shut down and empty."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._wake_one()  # we were woken for an item: pass the wake-up on
                raise
            finally:
                if fut in self._getters:
                    self._getters.remove(fut)
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: T) -> None:
        """Processing of `item` is finished; if it was added meanwhile, queue it again."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()
        elif not self._processing and self._drained is not None:
            self._drained.set()

    def _wake_one(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def __len__(self) -> int:
        """Items queued and ready (not those being processed or waiting for a delay)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def is_processing(self, item: T) -> bool:
        return item in self._processing

    def shutdown(self) -> None:
        """Stop accepting items; wake every waiting `get()`."""
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)

    async def shutdown_with_drain(self) -> None:
        """`shutdown()`, then wait until every item handed out has been `done()`."""
        self.shutdown()
        if not self._processing:
            return
        self._drained = asyncio.Event()
        await self._drained.wait()

    # --- delays --------------------------------------------------------------------------

    def add_after(self, item: T, delay: float) -> None:
        """Add `item` after `delay` seconds (at once if <= 0)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self.clock.now() + delay
        waiting = self._waiting.get(item)
        if waiting is not None:
            if waiting[0] <= ready_at:
                return
            waiting[1].cancel()
        handle = self.clock.call_later(delay, lambda: self._ready(item))
        self._waiting[item] = (ready_at, handle)

    def _ready(self, item: T) -> None:
        self._waiting.pop(item, None)
        self.add(item)

    @property
    def waiting(self) -> int:
        """Items waiting for their delay to pass."""
        return len(self._waiting)

    # --- rate limiting -------------------------------------------------------------------

    def add_rate_limited(self, item: T) -> None:
        """Add `item` after its rate limiter's delay (after a failure)."""
        self.add_after(item, self.rate_limiter.when(item, self.clock.now()))

    def forget(self, item: T) -> None:
        """`item` succeeded: reset its back-off (does not remove it from the queue)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
