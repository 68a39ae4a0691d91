"""The scheduler's error tree.

    SchedulerError
    ├── ConfigError        a KubeSchedulerConfiguration that cannot be used
    ├── SchedulingError    a plug-in or the framework failed (Status code Error);
    │                      the pod is retried with back-off
    └── CacheError         an event the scheduler cache cannot apply (a pod assumed
                           twice, removed before it was added, ...): a bug or a missed
                           event; logged, the cache stays as it was

Expected outcomes are values, not exceptions: "no node fits" is a `FitError`
returned by `schedule_one`, a plug-in's rejection is a `Status`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kybernetes.scheduler.framework.status import Status


class SchedulerError(Exception):
    """Base of every exception the scheduler core raises."""


class ConfigError(SchedulerError, ValueError):
    """Invalid configuration; `errors` lists each problem with its field path."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


class SchedulingError(SchedulerError):
    """A scheduling cycle failed with an internal error; `status` carries the details."""

    def __init__(self, status: Status) -> None:
        self.status = status
        super().__init__(status.message or str(status.code))


class CacheError(SchedulerError):
    """The scheduler cache refused an operation that contradicts its state."""
