"""PrioritySort (QueueSort): higher spec.priority first, then earlier queue timestamp."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.scheduler.framework.interface import Handle
from kybernetes.scheduler.framework.types import QueuedPodInfo
from kybernetes.scheduler.plugins.names import PRIORITY_SORT


class PrioritySort:
    """Implements QueueSortPlugin."""

    name = PRIORITY_SORT

    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
        p1, p2 = a.pod_info.priority, b.pod_info.priority
        return p1 > p2 or (p1 == p2 and a.timestamp < b.timestamp)


def new(args: Mapping[str, Any] | None, handle: Handle) -> PrioritySort:
    return PrioritySort()
