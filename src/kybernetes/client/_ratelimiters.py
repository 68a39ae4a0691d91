"""Work-queue rate limiters: how long an item waits before it is retried (pure; time passed in).

client-go's workqueue/default_rate_limiters.go:

- `ItemExponentialFailureRateLimiter`: per item, base * 2^(failures) up to a cap;
  `forget(item)` resets the item (call it when the item was processed fine).
- `BucketRateLimiter`: one token bucket shared by all items: bounds the overall
  retry rate whatever the number of failing items.
- `MaxOfRateLimiter`: the longest delay of several limiters.
- `default_controller_rate_limiter()`: max of per-item 5 ms .. 1000 s and an
  overall 10 qps / burst 100 bucket, the default of every upstream controller.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from kybernetes.client._ratelimit import TokenBucket


class RateLimiter(Protocol):
    def when(self, item: Hashable, now: float) -> float:
        """Seconds `item` must wait before its next try (records one more failure)."""
        ...

    def forget(self, item: Hashable) -> None:
        """Stop tracking `item` (it succeeded)."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many times `item` has been rate-limited since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter:
    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable, now: float) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        if exp > 64:  # 2**exp overflows any sensible delay long before this
            return self.max_delay
        return min(self.max_delay, self.base_delay * (2 ** exp))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    def __init__(self, qps: float = 10.0, burst: int = 100) -> None:
        self.qps = qps
        self.burst = burst
        self._bucket: TokenBucket | None = None

    def when(self, item: Hashable, now: float) -> float:
        if self._bucket is None:
            self._bucket = TokenBucket(qps=self.qps, burst=self.burst, now=now)
        return self._bucket.reserve(now)

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable, now: float) -> float:
        return max(limiter.when(item, now) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter() -> MaxOfRateLimiter:
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0),
                            BucketRateLimiter(qps=10.0, burst=100))
