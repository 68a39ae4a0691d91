"""Status: the result of every plug-in call (`framework.Status` upstream).

A plug-in returns `None` for Success, as upstream returns a nil `*Status`; any
other outcome is a `Status` with a `Code` and zero or more reasons. The
reasons are what users read: `FitError` counts them per node to build
"0/3 nodes are available: 1 Insufficient cpu, ...".

    Code                         meaning
    ---------------------------  ---------------------------------------------------------
    SUCCESS                      the plug-in is happy (usually spelled `None`)
    ERROR                        internal error: the pod is retried with back-off
    UNSCHEDULABLE                rejected here; preemption may help
    UNSCHEDULABLE_AND_UNRESOLVABLE  rejected here; preemption cannot help on this node
    WAIT                         Permit only: hold the pod until allowed, rejected or timed out
    SKIP                         PreFilter/PreScore: skip my Filter/Score for this pod;
                                 Bind: not my pod, ask the next binder
    PENDING                      rejected until something outside the scheduler happens
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Code(enum.IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5
    PENDING = 6

    def __str__(self) -> str:
        return _CODE_NAMES[self]


_CODE_NAMES = {
    Code.SUCCESS: "Success",
    Code.ERROR: "Error",
    Code.UNSCHEDULABLE: "Unschedulable",
    Code.UNSCHEDULABLE_AND_UNRESOLVABLE: "UnschedulableAndUnresolvable",
    Code.WAIT: "Wait",
    Code.SKIP: "Skip",
    Code.PENDING: "Pending",
}
_REJECTED = frozenset({Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE, Code.PENDING})


@dataclass(frozen=True, slots=True)
class Status:
    """An outcome other than plain success; `plugin` (set by the framework) names its source."""

    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def message(self) -> str:
        """The reasons joined by ", " (`Status.Message()`)."""
        return ", ".join(self.reasons)

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_rejected(self) -> bool:
        """Unschedulable, UnschedulableAndUnresolvable or Pending."""
        return self.code in _REJECTED

    def with_plugin(self, plugin: str) -> Status:
        return Status(self.code, self.reasons, plugin)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.reasons else str(self.code)


def new_status(code: Code, *reasons: str) -> Status:
    """`framework.NewStatus`: empty reasons are dropped, as upstream drops "" messages."""
    return Status(code, tuple(r for r in reasons if r))


def as_status(error: BaseException | str) -> Status:
    """`framework.AsStatus`: an Error status carrying the error's text."""
    return Status(Code.ERROR, (str(error),))


SUCCESS = Status(Code.SUCCESS)


def is_success(status: Status | None) -> bool:
    return status is None or status.code == Code.SUCCESS


def code_of(status: Status | None) -> Code:
    return Code.SUCCESS if status is None else status.code


def message_of(status: Status | None) -> str:
    return "" if status is None else status.message
