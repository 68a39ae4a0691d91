"""NodeResourcesFit (PreFilter, Filter, PreScore, Score): does the node have room for the pod?

Filter: the pod's requests (see `pod_requests`: init containers count by
the max rule, sidecars add up, overhead is added) must fit into allocatable
minus what the node's pods request; a pod also needs a free pod slot. The
reasons are upstream's: "Too many pods", "Insufficient cpu", "Insufficient
memory", "Insufficient ephemeral-storage", "Insufficient <extended>".
Ignored extended resources (by name or by domain group) are not checked.
Rejections are Unschedulable, also for a request larger than the node's whole
allocatable, as in v1.32 (v1.34's kubernetes#131345 makes that case
UnschedulableAndUnresolvable; `m.unresolvable` keeps the distinction).

Score: one of LeastAllocated (default), MostAllocated or
RequestedToCapacityRatio over the configured resources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.scheduler.errors import ConfigError
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ASSIGNED_POD,
    NODE,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import Handle, PreFilterResult
from kybernetes.scheduler.framework.resources import Resource, is_extended_resource_name
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.names import NODE_RESOURCES_FIT
from kybernetes.scheduler.plugins.resource_allocation import (
    ResourceAllocationScorer,
    least_allocated_scorer,
    most_allocated_scorer,
    requested_to_capacity_ratio_scorer,
    resource_specs,
)

_PRE_FILTER_KEY = "PreFilter" + NODE_RESOURCES_FIT
_PRE_SCORE_KEY = "PreScore" + NODE_RESOURCES_FIT


@dataclass(frozen=True, slots=True)
class InsufficientResource:
    resource_name: str
    reason: str
    requested: int
    used: int
    capacity: int
    unresolvable: bool = False


def fits_request(request: Resource, node_info: NodeInfo, ignored: frozenset[str] = frozenset(),
                 ignored_groups: frozenset[str] = frozenset()) -> list[InsufficientResource]:
    """Every resource the node lacks for `request` (empty: the pod fits)."""
    out: list[InsufficientResource] = []
    alloc, used = node_info.allocatable, node_info.requested
    if len(node_info.pods) + 1 > alloc.allowed_pod_number:
        out.append(InsufficientResource("pods", "Too many pods", 1, len(node_info.pods),
                                        alloc.allowed_pod_number))
    if request.is_zero():
        return out
    for name, want, have, taken in (
            ("cpu", request.milli_cpu, alloc.milli_cpu, used.milli_cpu),
            ("memory", request.memory, alloc.memory, used.memory),
            ("ephemeral-storage", request.ephemeral_storage, alloc.ephemeral_storage,
             used.ephemeral_storage)):
        if want > 0 and want > have - taken:
            out.append(InsufficientResource(name, f"Insufficient {name}", want, taken, have,
                                            want > have))
    for name in sorted(request.scalar):
        want = request.scalar[name]
        if want == 0:
            continue
        if is_extended_resource_name(name) and (
                name in ignored or name.split("/", 1)[0] in ignored_groups):
            continue
        have, taken = alloc.scalar.get(name, 0), used.scalar.get(name, 0)
        if want > have - taken:
            out.append(InsufficientResource(name, f"Insufficient {name}", want, taken, have,
                                            want > have))
    return out


def fits(pod: PodInfo, node_info: NodeInfo) -> list[InsufficientResource]:
    return fits_request(pod.requests, node_info)


def _scorer(args: Mapping[str, Any]) -> ResourceAllocationScorer:
    strategy = args.get("scoringStrategy") or {}
    kind = strategy.get("type") or "LeastAllocated"
    resources = resource_specs(strategy.get("resources")
                               or [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}])
    if kind == "LeastAllocated":
        fn = least_allocated_scorer(resources)
    elif kind == "MostAllocated":
        fn = most_allocated_scorer(resources)
    elif kind == "RequestedToCapacityRatio":
        shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape") or []
        if not shape:
            raise ConfigError(["scoringStrategy.requestedToCapacityRatio.shape: Required value"])
        fn = requested_to_capacity_ratio_scorer(resources, shape)
    else:
        raise ConfigError([f"scoring strategy {kind} is not supported"])
    return ResourceAllocationScorer(kind, fn, resources, use_requested=False)


class Fit:
    """Implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions."""

    name = NODE_RESOURCES_FIT

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.ignored = frozenset(args.get("ignoredResources") or ())
        self.ignored_groups = frozenset(args.get("ignoredResourceGroups") or ())
        self.scorer = _scorer(args)

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        state.write(_PRE_FILTER_KEY, pod.requests)
        return None, None

    def pre_filter_extensions(self) -> None:
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        request = state.read(_PRE_FILTER_KEY)
        if request is None:
            return new_status(Code.ERROR, f'error reading "{_PRE_FILTER_KEY}" from cycleState: '
                                          "not found")
        missing = fits_request(request, node_info, self.ignored, self.ignored_groups)
        if not missing:
            return None
        return new_status(Code.UNSCHEDULABLE, *(m.reason for m in missing))

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        state.write(_PRE_SCORE_KEY, self.scorer.pod_requests(pod))
        return None

    def score(self, state: CycleState, pod: PodInfo,
              node_info: NodeInfo) -> tuple[int, Status | None]:
        requests = state.read(_PRE_SCORE_KEY)
        if requests is None:
            requests = self.scorer.pod_requests(pod)
        return self.scorer.score(node_info, requests), None

    def score_extensions(self) -> None:
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(ASSIGNED_POD, ActionType.DELETE
                                              | ActionType.UPDATE_POD_SCALE_DOWN)),
            ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD
                                              | ActionType.UPDATE_NODE_ALLOCATABLE),
                                 _node_may_fit),
        ]


def _node_may_fit(pod: PodInfo, old: Any, new: Any) -> QueueingHint:
    """Queue if the pod fits the (empty) new node and, on update, allocatable grew."""
    if new is None or fits(pod, NodeInfo(new)):
        return QueueingHint.SKIP
    if old is None:
        return QueueingHint.QUEUE
    before, after = NodeInfo(old).allocatable, NodeInfo(new).allocatable
    request = pod.requests
    grew = after.allowed_pod_number > before.allowed_pod_number or any(
        want > 0 and after.get(name) > before.get(name)
        for name, want in (("cpu", request.milli_cpu), ("memory", request.memory),
                           ("ephemeral-storage", request.ephemeral_storage),
                           *request.scalar.items()))
    return QueueingHint.QUEUE if grew else QueueingHint.SKIP


def new(args: Mapping[str, Any] | None, handle: Handle) -> Fit:
    return Fit(args or {})
