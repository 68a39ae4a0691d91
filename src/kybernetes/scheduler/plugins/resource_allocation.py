"""Resource scoring shared by NodeResourcesFit and NodeResourcesBalancedAllocation.

For each configured resource the scorer sees (requested-after-placing-the-pod,
allocatable). Cpu and memory requests count the scheduler's non-zero
defaults (100m, 200Mi) for containers that request nothing, unless the
scorer is told to use the plain requests (BalancedAllocation); an extended
resource the pod does not request is left out (allocatable 0).

Strategies (`noderesources/*_allocated.go`, integer maths as upstream):
  LeastAllocated            sum(w * (alloc - req) * 100 / alloc) / sum(w)
  MostAllocated             sum(w * min(req, alloc) * 100 / alloc) / sum(w)
  RequestedToCapacityRatio  a broken-line function of utilization (shape points,
                            scores 0-10 scaled to 0-100), weighted mean rounded
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE
from kybernetes.scheduler.framework.resources import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    is_scalar_resource_name,
)
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helper import go_div

Scorer = Callable[[Sequence[int], Sequence[int]], int]
ResourceSpec = tuple[str, int]  # (resource name, weight)

MAX_UTILIZATION = 100
MAX_CUSTOM_PRIORITY_SCORE = 10


def resource_specs(resources: Any) -> list[ResourceSpec]:
    return [(str(r.get("name")), int(r.get("weight") or 1)) for r in resources or ()]


class ResourceAllocationScorer:
    """Scores a node by comparing the pod's and the node's requests to its allocatable."""

    def __init__(self, name: str, scorer: Scorer, resources: list[ResourceSpec], *,
                 use_requested: bool) -> None:
        self.name = name
        self.scorer = scorer
        self.resources = resources
        self.use_requested = use_requested

    def pod_requests(self, pod: PodInfo) -> list[int]:
        source = pod.requests if self.use_requested else pod.non0_requests
        return [source.get(name) for name, _ in self.resources]

    def score(self, node_info: NodeInfo, pod_requests: Sequence[int]) -> int:
        requested = [0] * len(self.resources)
        allocatable = [0] * len(self.resources)
        for i, (name, _) in enumerate(self.resources):
            alloc, req = self._allocatable_requested(node_info, name, pod_requests[i])
            if alloc:
                allocatable[i], requested[i] = alloc, req
        return self.scorer(requested, allocatable)

    def _allocatable_requested(self, node_info: NodeInfo, name: str,
                               pod_request: int) -> tuple[int, int]:
        requested = node_info.requested if self.use_requested else node_info.non_zero_requested
        if pod_request == 0 and is_scalar_resource_name(name):
            return 0, 0
        if name == CPU:
            return node_info.allocatable.milli_cpu, requested.milli_cpu + pod_request
        if name == MEMORY:
            return node_info.allocatable.memory, requested.memory + pod_request
        if name == EPHEMERAL_STORAGE:
            return (node_info.allocatable.ephemeral_storage,
                    node_info.requested.ephemeral_storage + pod_request)
        if name in node_info.allocatable.scalar:
            return (node_info.allocatable.scalar[name],
                    node_info.requested.scalar.get(name, 0) + pod_request)
        return 0, 0


def _weighted(resources: list[ResourceSpec], per_resource: Callable[[int, int], int]) -> Scorer:
    def scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
        total = weights = 0
        for i, (_, weight) in enumerate(resources):
            if allocatable[i] == 0:
                continue
            total += per_resource(requested[i], allocatable[i]) * weight
            weights += weight
        return total // weights if weights else 0
    return scorer


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    # Pods without requests count the non-zero defaults, which may exceed capacity.
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


def least_allocated_scorer(resources: list[ResourceSpec]) -> Scorer:
    return _weighted(resources, least_requested_score)


def most_allocated_scorer(resources: list[ResourceSpec]) -> Scorer:
    return _weighted(resources, most_requested_score)


def broken_linear_function(shape: Sequence[tuple[int, int]]) -> Callable[[int], int]:
    """`helper.BuildBrokenLinearFunction` over (utilization, score) points."""
    def f(p: int) -> int:
        for i, (utilization, score) in enumerate(shape):
            if p <= utilization:
                if i == 0:
                    return shape[0][1]
                prev_u, prev_s = shape[i - 1]
                return prev_s + go_div((score - prev_s) * (p - prev_u), utilization - prev_u)
        return shape[-1][1]
    return f


def requested_to_capacity_ratio_scorer(resources: list[ResourceSpec],
                                       shape: Sequence[Mapping[str, Any]]) -> Scorer:
    scale = MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE
    points = [(int(p.get("utilization") or 0), int(p.get("score") or 0) * scale) for p in shape]
    raw = broken_linear_function(points)

    def resource_score(requested: int, capacity: int) -> int:
        if capacity == 0 or requested > capacity:
            return raw(MAX_UTILIZATION)
        return raw(requested * MAX_UTILIZATION // capacity)

    def scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
        total = weights = 0
        for i, (_, weight) in enumerate(resources):
            if allocatable[i] == 0:
                continue
            score = resource_score(requested[i], allocatable[i])
            if score > 0:
                total += score * weight
                weights += weight
        return _round_half_away(total, weights) if weights else 0
    return scorer


def _round_half_away(numerator: int, denominator: int) -> int:
    """math.Round(float64(n) / float64(d)) for non-negative values."""
    q, r = divmod(numerator, denominator)
    return q + 1 if 2 * r >= denominator else q
