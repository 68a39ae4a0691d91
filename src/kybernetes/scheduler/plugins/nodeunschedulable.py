"""NodeUnschedulable (Filter): no pods on a cordoned node unless they tolerate
node.kubernetes.io/unschedulable:NoSchedule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    NODE,
    UNSCHEDULABLE_POD,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import Handle
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helper import (
    NO_SCHEDULE,
    TAINT_NODE_UNSCHEDULABLE,
    tolerations_tolerate_taint,
)
from kybernetes.scheduler.plugins.names import NODE_UNSCHEDULABLE

ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
_TAINT = {"key": TAINT_NODE_UNSCHEDULABLE, "effect": NO_SCHEDULE}


class NodeUnschedulable:
    """Implements FilterPlugin and EnqueueExtensions."""

    name = NODE_UNSCHEDULABLE

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        if not node_info.unschedulable or tolerations_tolerate_taint(pod.tolerations, _TAINT):
            return None
        return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_UNSCHEDULABLE)

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT),
                                 _node_schedulable),
            ClusterEventWithHint(ClusterEvent(UNSCHEDULABLE_POD,
                                              ActionType.UPDATE_POD_TOLERATIONS)),
        ]


def _node_schedulable(pod: PodInfo, old: Any, new: Any) -> QueueingHint:
    if new is None:
        return QueueingHint.SKIP
    cordoned = bool((new.get("spec") or {}).get("unschedulable"))
    if not cordoned or tolerations_tolerate_taint(pod.tolerations, _TAINT):
        return QueueingHint.QUEUE
    return QueueingHint.SKIP


def new(args: Mapping[str, Any] | None, handle: Handle) -> NodeUnschedulable:
    return NodeUnschedulable()
