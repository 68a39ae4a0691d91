"""SchedulingGates (PreEnqueue): a pod with spec.schedulingGates stays out of the active queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.scheduler.framework.events import (
    UNSCHEDULABLE_POD,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import Handle
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import PodInfo
from kybernetes.scheduler.plugins.names import SCHEDULING_GATES


class SchedulingGates:
    """Implements PreEnqueuePlugin and EnqueueExtensions."""

    name = SCHEDULING_GATES

    def pre_enqueue(self, pod: PodInfo) -> Status | None:
        gates = [g.get("name") or "" for g in pod.spec.get("schedulingGates") or ()]
        if not gates:
            return None
        # Go's %v of a []string: "[a b]".
        return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                          f"waiting for scheduling gates: [{' '.join(gates)}]")

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(
            ClusterEvent(UNSCHEDULABLE_POD, ActionType.UPDATE_POD_SCHEDULING_GATES_ELIMINATED),
            self._gates_removed)]

    @staticmethod
    def _gates_removed(pod: PodInfo, old: Any, new: Any) -> QueueingHint:
        if new is None or (new.get("metadata") or {}).get("uid") != pod.uid:
            return QueueingHint.SKIP
        gates = (new.get("spec") or {}).get("schedulingGates")
        return QueueingHint.SKIP if gates else QueueingHint.QUEUE


def new(args: Mapping[str, Any] | None, handle: Handle) -> SchedulingGates:
    return SchedulingGates()
