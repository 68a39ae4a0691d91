"""NodeName (Filter): a pod with spec.nodeName fits only that node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    NODE,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import Handle
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.names import NODE_NAME

ERR_REASON = "node(s) didn't match the requested node name"


class NodeName:
    """Implements FilterPlugin and EnqueueExtensions."""

    name = NODE_NAME

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        wanted = pod.spec.get("nodeName")
        if not wanted or wanted == node_info.name:
            return None
        return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON)

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE),
                                     _named_node)]


def _named_node(pod: PodInfo, old: Any, new: Any) -> QueueingHint:
    name = ((new or {}).get("metadata") or {}).get("name")
    wanted = pod.spec.get("nodeName")
    return QueueingHint.QUEUE if not wanted or wanted == name else QueueingHint.SKIP


def new(args: Mapping[str, Any] | None, handle: Handle) -> NodeName:
    return NodeName()
