"""NodeResourcesBalancedAllocation (PreScore, Score): prefer nodes whose resources stay balanced.

Per resource the fraction requested/allocatable (after placing the pod,
capped at 1) is computed; the score is (1 - standard deviation) * 100, so a
node where cpu and memory are equally used scores highest. Plain requests
are used (no non-zero defaults), as upstream.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE, Handle
from kybernetes.scheduler.framework.status import Status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.names import NODE_RESOURCES_BALANCED_ALLOCATION
from kybernetes.scheduler.plugins.resource_allocation import (
    ResourceAllocationScorer,
    resource_specs,
)

_PRE_SCORE_KEY = "PreScore" + NODE_RESOURCES_BALANCED_ALLOCATION


def balanced_resource_scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    fractions = [min(req / alloc, 1.0) for req, alloc in zip(requested, allocatable, strict=True)
                 if alloc]
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation:
    """Implements PreScorePlugin and ScorePlugin."""

    name = NODE_RESOURCES_BALANCED_ALLOCATION

    def __init__(self, args: Mapping[str, Any]) -> None:
        resources = resource_specs(args.get("resources")
                                   or [{"name": "cpu", "weight": 1},
                                       {"name": "memory", "weight": 1}])
        self.scorer = ResourceAllocationScorer(self.name, balanced_resource_scorer, resources,
                                               use_requested=True)

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


def new(args: Mapping[str, Any] | None, handle: Handle) -> BalancedAllocation:
    return BalancedAllocation(args or {})
