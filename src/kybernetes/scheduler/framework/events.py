"""Cluster events and queueing hints: what may make a rejected pod schedulable again.

Every Filter-type plug-in registers the events that could resolve its own
rejections (`EnqueueExtensions.EventsToRegister`), optionally with a
queueing hint that looks at the changed object and says QUEUE or SKIP. When
an event arrives, the scheduling queue moves a pod out of `unschedulablePods`
only if one of the plug-ins that rejected it registered a matching event and
its hint (if any) says QUEUE.

Resources: "Pod" matches events of assigned and of unscheduled pods;
"AssignedPod" and "UnschedulablePod" match one kind only; "*" (WildCard)
matches everything (the 5-minute UnschedulableTimeout flush and forced
activation are wildcard events).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kybernetes.scheduler.framework.types import PodInfo

POD = "Pod"
ASSIGNED_POD = "AssignedPod"
UNSCHEDULABLE_POD = "UnschedulablePod"
NODE = "Node"
WILDCARD = "*"


class ActionType(enum.IntFlag):
    ADD = 1 << 0
    DELETE = 1 << 1
    UPDATE_NODE_ALLOCATABLE = 1 << 2
    UPDATE_NODE_LABEL = 1 << 3
    UPDATE_NODE_TAINT = 1 << 4
    UPDATE_NODE_CONDITION = 1 << 5
    UPDATE_NODE_ANNOTATION = 1 << 6
    UPDATE_POD_LABEL = 1 << 7
    UPDATE_POD_SCALE_DOWN = 1 << 8
    UPDATE_POD_TOLERATIONS = 1 << 9
    UPDATE_POD_SCHEDULING_GATES_ELIMINATED = 1 << 10
    UPDATE = (UPDATE_NODE_ALLOCATABLE | UPDATE_NODE_LABEL | UPDATE_NODE_TAINT
              | UPDATE_NODE_CONDITION | UPDATE_NODE_ANNOTATION | UPDATE_POD_LABEL
              | UPDATE_POD_SCALE_DOWN | UPDATE_POD_TOLERATIONS
              | UPDATE_POD_SCHEDULING_GATES_ELIMINATED)
    ALL = ADD | DELETE | UPDATE


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    resource: str
    action: ActionType
    label: str = ""

    def is_wildcard(self) -> bool:
        return self.resource == WILDCARD and self.action == ActionType.ALL

    def matches(self, incoming: ClusterEvent) -> bool:
        """Whether this registered event covers `incoming`."""
        if self.is_wildcard():
            return True
        if not (self.action & incoming.action):
            return False
        return (self.resource == incoming.resource or self.resource == WILDCARD
                or (self.resource == POD and incoming.resource in (ASSIGNED_POD,
                                                                   UNSCHEDULABLE_POD)))


class QueueingHint(enum.Enum):
    SKIP = 0
    QUEUE = 1


# (pod being considered, old object or None, new object or None) -> hint
QueueingHintFn = Callable[[PodInfo, Any, Any], QueueingHint]


@dataclass(frozen=True, slots=True)
class ClusterEventWithHint:
    event: ClusterEvent
    hint: QueueingHintFn | None = None


EVENT_NODE_ADD = ClusterEvent(NODE, ActionType.ADD, "NodeAdd")
EVENT_NODE_DELETE = ClusterEvent(NODE, ActionType.DELETE, "NodeDelete")
EVENT_ASSIGNED_POD_ADD = ClusterEvent(ASSIGNED_POD, ActionType.ADD, "AssignedPodAdd")
EVENT_ASSIGNED_POD_DELETE = ClusterEvent(ASSIGNED_POD, ActionType.DELETE, "AssignedPodDelete")
EVENT_UNSCHEDULED_POD_UPDATE = ClusterEvent(UNSCHEDULABLE_POD, ActionType.UPDATE,
                                            "UnscheduledPodUpdate")
EVENT_UNSCHEDULABLE_TIMEOUT = ClusterEvent(WILDCARD, ActionType.ALL, "UnschedulableTimeout")
EVENT_FORCE_ACTIVATE = ClusterEvent(WILDCARD, ActionType.ALL, "ForceActivate")


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = obj or {}
    for part in path:
        cur = (cur or {}).get(part)
    return cur


def node_update_events(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ClusterEvent]:
    """The scheduling-relevant changes between two versions of a node (one event each)."""
    out: list[ClusterEvent] = []
    if bool(_get(old, "spec", "unschedulable")) != bool(_get(new, "spec", "unschedulable")):
        out.append(ClusterEvent(NODE, ActionType.UPDATE_NODE_TAINT, "NodeSpecUnschedulableChange"))
    if _get(old, "status", "allocatable") != _get(new, "status", "allocatable"):
        out.append(ClusterEvent(NODE, ActionType.UPDATE_NODE_ALLOCATABLE, "NodeAllocatableChange"))
    if (_get(old, "metadata", "labels") or {}) != (_get(new, "metadata", "labels") or {}):
        out.append(ClusterEvent(NODE, ActionType.UPDATE_NODE_LABEL, "NodeLabelChange"))
    if (_get(old, "spec", "taints") or []) != (_get(new, "spec", "taints") or []):
        out.append(ClusterEvent(NODE, ActionType.UPDATE_NODE_TAINT, "NodeTaintChange"))
    if _conditions(old) != _conditions(new):
        out.append(ClusterEvent(NODE, ActionType.UPDATE_NODE_CONDITION, "NodeConditionChange"))
    if (_get(old, "metadata", "annotations") or {}) != (_get(new, "metadata", "annotations")
                                                         or {}):
        out.append(ClusterEvent(NODE, ActionType.UPDATE_NODE_ANNOTATION,
                                "NodeAnnotationChange"))
    return out


def _conditions(node: Mapping[str, Any]) -> dict[str, Any]:
    # Heartbeat times change constantly; only type -> status matters.
    return {c.get("type"): c.get("status") for c in _get(node, "status", "conditions") or ()}


def assigned_pod_update_events(old: Mapping[str, Any],
                               new: Mapping[str, Any]) -> list[ClusterEvent]:
    """Changes of a scheduled pod that may let other pods in (labels, smaller requests)."""
    out: list[ClusterEvent] = []
    if (_get(old, "metadata", "labels") or {}) != (_get(new, "metadata", "labels") or {}):
        out.append(ClusterEvent(ASSIGNED_POD, ActionType.UPDATE_POD_LABEL, "AssignedPodUpdate"))
    before, after = PodInfo(old).requests, PodInfo(new).requests
    if (after.milli_cpu < before.milli_cpu or after.memory < before.memory
            or after.ephemeral_storage < before.ephemeral_storage
            or any(after.scalar.get(k, 0) < v for k, v in before.scalar.items())):
        out.append(ClusterEvent(ASSIGNED_POD, ActionType.UPDATE_POD_SCALE_DOWN,
                                "AssignedPodUpdate"))
    return out


def unscheduled_pod_update_events(old: Mapping[str, Any],
                                  new: Mapping[str, Any]) -> list[ClusterEvent]:
    """Changes of a pending pod itself that may resolve its own rejection."""
    out: list[ClusterEvent] = []
    if (_get(old, "metadata", "labels") or {}) != (_get(new, "metadata", "labels") or {}):
        out.append(ClusterEvent(UNSCHEDULABLE_POD, ActionType.UPDATE_POD_LABEL,
                                "UnscheduledPodUpdate"))
    if (_get(old, "spec", "tolerations") or []) != (_get(new, "spec", "tolerations") or []):
        out.append(ClusterEvent(UNSCHEDULABLE_POD, ActionType.UPDATE_POD_TOLERATIONS,
                                "UnscheduledPodUpdate"))
    if _get(old, "spec", "schedulingGates") and not _get(new, "spec", "schedulingGates"):
        out.append(ClusterEvent(UNSCHEDULABLE_POD,
                                ActionType.UPDATE_POD_SCHEDULING_GATES_ELIMINATED,
                                "UnscheduledPodUpdate"))
    return out
