"""Pure rate-limiting cores: a token bucket and an exponential back-off, time passed in.

`TokenBucket` is golang.org/x/time/rate's limiter as client-go uses it: `qps`
tokens per second refill a bucket of `burst`. `reserve(now)` always takes a
token, possibly going into debt, and returns how long the caller must wait
before acting (the `Reserve().Delay()` idiom: callers queue up fairly, each
behind the debt of those before). `try_take(now)` takes a token only if one is
available now (event spam filters drop instead of waiting).

`Backoff` is the doubling delay with a cap used for request retries and for
informer reconnects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


class TokenBucket:
    """Token bucket; `qps <= 0` means unlimited (every reservation is free)."""

    __slots__ = ("_last", "_tokens", "burst", "qps")

    def __init__(self, *, qps: float, burst: int, now: float = 0.0) -> None:
        if qps > 0 and burst < 1:
            raise ValueError(f"burst must be at least 1 when qps > 0 (got {burst})")
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last = now

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
            self._last = now

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before using it (0 = at once)."""
        if self.qps <= 0:
            return 0.0
        self._refill(now)
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.qps

    def try_take(self, now: float) -> bool:
        """Take one token if one is available now."""
        if self.qps <= 0:
            return True
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def tokens(self, now: float) -> float:
        """Tokens available at `now` (negative: debt of earlier reservations)."""
        self._refill(now)
        return self._tokens


@dataclass(kw_only=True)
class Backoff:
    """Doubling delays from `initial` up to `cap` seconds; `reset()` starts over.

    `jitter` adds up to that fraction of the delay at random, so that many
    clients cut off together (an apiserver restart) do not come back in step.
    """

    initial: float
    cap: float
    factor: float = 2.0
    jitter: float = 0.0
    _next: float = 0.0

    def next(self) -> float:
        base = self._next or self.initial
        self._next = min(self.cap, base * self.factor)
        if self.jitter:
            return min(self.cap, base * (1.0 + self.jitter * random.random()))
        return base

    def reset(self) -> None:
        self._next = 0.0
