"""PodTopologySpread (PreFilter, Filter, PreScore, Score): spread matching pods over domains.

For a constraint with topologyKey K, a domain is a value of label K on an
eligible node (it has every constraint's key, and passes the constraint's
nodeAffinityPolicy (default Honor: the pod's required node affinity) and
nodeTaintsPolicy (default Ignore)). Domains with zero matching pods count.

Filter (whenUnsatisfiable: DoNotSchedule):
    matching pods in the node's domain + 1 if the pod matches itself
      - global minimum over domains  <=  maxSkew
  where the global minimum is 0 while there are fewer domains than minDomains.
  A node without K is UnschedulableAndUnresolvable ("... (missing required label)"),
  a too-large skew Unschedulable.

Score (whenUnsatisfiable: ScheduleAnyway): fewer matching pods in the node's
domain is better, weighted by log(#domains + 2), normalized to 0-100.

Pods without constraints get the profile's default constraints; with
defaultingType System those are hostname maxSkew 3 and zone maxSkew 5,
ScheduleAnyway, with a selector built from the Services and the controlling
ReplicaSet/StatefulSet/ReplicationController of the pod (no owner, no spreading).
Terminating pods and pods of other namespaces are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import (
    EQUALS,
    LabelSelector,
    Requirement,
    label_selector_from_dict,
)
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    NODE,
    POD,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
)
from kybernetes.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    Handle,
    NodeScore,
    PreFilterResult,
)
from kybernetes.scheduler.framework.status import Code, Status, as_status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helper import (
    LABEL_HOSTNAME,
    LABEL_ZONE,
    RequiredNodeAffinity,
    default_selector,
    find_untolerated_taint,
)
from kybernetes.scheduler.plugins.names import POD_TOPOLOGY_SPREAD

ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
HONOR = "Honor"
IGNORE = "Ignore"
SYSTEM_DEFAULT_CONSTRAINTS = (
    {"topologyKey": LABEL_HOSTNAME, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 3},
    {"topologyKey": LABEL_ZONE, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 5},
)
_PRE_FILTER_KEY = "PreFilter" + POD_TOPOLOGY_SPREAD
_PRE_SCORE_KEY = "PreScore" + POD_TOPOLOGY_SPREAD
_MAX_INT32 = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: LabelSelector
    min_domains: int = 1
    node_affinity_policy: str = HONOR
    node_taints_policy: str = IGNORE

    def includes_node(self, pod: PodInfo, node: NodeInfo, required: RequiredNodeAffinity) -> bool:
        """nodeAffinityPolicy / nodeTaintsPolicy: whether the node's domain counts."""
        if self.node_affinity_policy == HONOR and not required.matches(node):
            return False
        return not (self.node_taints_policy == HONOR
                    and find_untolerated_taint(node.taints, pod.tolerations) is not None)


def _constraints(raw: Sequence[Mapping[str, Any]], pod: PodInfo, action: str) -> list[Constraint]:
    out = []
    for c in raw:
        if c.get("whenUnsatisfiable") != action:
            continue
        selector = label_selector_from_dict(c.get("labelSelector"))
        extra = [Requirement(k, EQUALS, (pod.labels[k],)) for k in c.get("matchLabelKeys") or ()
                 if k in pod.labels]
        if extra and not selector.matches_nothing:
            selector = LabelSelector([*extra, *selector.requirements])
        min_domains = c.get("minDomains")
        out.append(Constraint(
            max_skew=int(c.get("maxSkew") or 0),
            topology_key=c.get("topologyKey") or "",
            selector=selector,
            min_domains=1 if min_domains is None else int(min_domains),
            node_affinity_policy=c.get("nodeAffinityPolicy") or HONOR,
            node_taints_policy=c.get("nodeTaintsPolicy") or IGNORE,
        ))
    return out


def _has_all_keys(labels: Mapping[str, str], constraints: Sequence[Constraint]) -> bool:
    return all(c.topology_key in labels for c in constraints)


def count_pods_match_selector(pods: Sequence[PodInfo], selector: LabelSelector,
                              namespace: str) -> int:
    if selector.empty:
        return 0
    return sum(1 for p in pods if not p.terminating and p.namespace == namespace
               and selector.matches(p.labels))


class _CriticalPaths:
    """The two smallest (domain, count) pairs of a topology key; [0] holds the minimum."""

    __slots__ = ("paths",)

    def __init__(self) -> None:
        self.paths = [["", _MAX_INT32], ["", _MAX_INT32]]

    def clone(self) -> _CriticalPaths:
        out = _CriticalPaths()
        out.paths = [list(self.paths[0]), list(self.paths[1])]
        return out

    def update(self, value: str, num: int) -> None:
        p = self.paths
        i = 0 if value == p[0][0] else 1 if value == p[1][0] else -1
        if i >= 0:
            p[i][1] = num
            if p[0][1] > p[1][1]:
                p[0], p[1] = p[1], p[0]
        elif num < p[0][1]:
            p[1] = p[0]
            p[0] = [value, num]
        elif num < p[1][1]:
            p[1] = [value, num]


class _PreFilterState:
    __slots__ = ("constraints", "critical_paths", "domains", "match_num")

    def __init__(self, constraints: list[Constraint]) -> None:
        self.constraints = constraints
        self.critical_paths: dict[str, _CriticalPaths] = {}
        self.domains: dict[str, int] = {}
        self.match_num: dict[tuple[str, str], int] = {}

    def clone(self) -> _PreFilterState:
        out = _PreFilterState(self.constraints)
        out.critical_paths = {k: v.clone() for k, v in self.critical_paths.items()}
        out.domains = self.domains  # domains do not change with AddPod/RemovePod
        out.match_num = dict(self.match_num)
        return out

    def min_match_num(self, key: str, min_domains: int) -> int | None:
        paths = self.critical_paths.get(key)
        if paths is None:
            return None
        if self.domains.get(key, 0) < min_domains:
            return 0  # fewer eligible domains than minDomains: the global minimum is 0
        return paths.paths[0][1]


class _PreScoreState:
    __slots__ = ("constraints", "counts", "ignored_nodes", "weights")

    def __init__(self, constraints: list[Constraint]) -> None:
        self.constraints = constraints
        self.ignored_nodes: set[str] = set()
        self.counts: list[dict[str, int]] = [{} for _ in constraints]
        self.weights: list[float] = []


class PodTopologySpread:
    """Implements PreFilterPlugin (with extensions), FilterPlugin, PreScorePlugin,
    ScorePlugin and EnqueueExtensions."""

    name = POD_TOPOLOGY_SPREAD

    def __init__(self, args: Mapping[str, Any], handle: Handle) -> None:
        self.handle = handle
        self.system_defaulted = (args.get("defaultingType") or "System") == "System"
        self.default_constraints: Sequence[Mapping[str, Any]] = (
            SYSTEM_DEFAULT_CONSTRAINTS if self.system_defaulted
            else list(args.get("defaultConstraints") or ()))

    def _pod_constraints(self, pod: PodInfo, action: str) -> list[Constraint]:
        own = pod.spec.get("topologySpreadConstraints") or []
        if own:
            return _constraints(own, pod, action)
        constraints = _constraints(self.default_constraints, pod, action)
        if not constraints:
            return []
        snap = self.handle.snapshot
        selector = default_selector(pod, snap.services, snap.replica_sets, snap.stateful_sets,
                                    snap.replication_controllers)
        if selector.empty:
            return []
        return [Constraint(c.max_skew, c.topology_key, selector, c.min_domains,
                           c.node_affinity_policy, c.node_taints_policy) for c in constraints]

    # --- filtering --------------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        try:
            constraints = self._pod_constraints(pod, DO_NOT_SCHEDULE)
        except StatusError as err:
            return None, as_status(f"obtaining pod's hard topology spread constraints: "
                                   f"{err.message}")
        if not constraints:
            return None, new_status(Code.SKIP)
        s = _PreFilterState(constraints)
        required = RequiredNodeAffinity(pod)
        for ni in self.handle.snapshot.node_infos:
            if not _has_all_keys(ni.labels, constraints):
                continue
            per_node: dict[tuple[str, str], int] = {}
            for c in constraints:
                if c.includes_node(pod, ni, required):
                    pair = (c.topology_key, ni.labels[c.topology_key])
                    per_node[pair] = count_pods_match_selector(ni.pods, c.selector, pod.namespace)
            for pair, count in per_node.items():
                s.match_num[pair] = s.match_num.get(pair, 0) + count
        for key, _ in s.match_num:
            s.domains[key] = s.domains.get(key, 0) + 1
        for c in constraints:
            s.critical_paths[c.topology_key] = _CriticalPaths()
        for (key, value), num in s.match_num.items():
            s.critical_paths[key].update(value, num)
        state.write(_PRE_FILTER_KEY, s)
        return None, None

    def pre_filter_extensions(self) -> PodTopologySpread:
        return self

    def add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo,
                node_info: NodeInfo) -> Status | None:
        return self._update(state, pod, pod_to_add, node_info, 1)

    def remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status | None:
        return self._update(state, pod, pod_to_remove, node_info, -1)

    def _update(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo,
                delta: int) -> Status | None:
        s: _PreFilterState | None = state.read(_PRE_FILTER_KEY)
        if s is None:
            return as_status(f'reading "{_PRE_FILTER_KEY}" from cycleState: not found')
        if other.namespace != pod.namespace or not _has_all_keys(node.labels, s.constraints):
            return None
        required = RequiredNodeAffinity(pod)
        for c in s.constraints:
            if not c.selector.matches(other.labels) or not c.includes_node(pod, node, required):
                continue
            pair = (c.topology_key, node.labels[c.topology_key])
            s.match_num[pair] = s.match_num.get(pair, 0) + delta
            s.critical_paths[c.topology_key].update(pair[1], s.match_num[pair])
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        s: _PreFilterState | None = state.read(_PRE_FILTER_KEY)
        if s is None:
            return as_status(f'reading "{_PRE_FILTER_KEY}" from cycleState: not found')
        for c in s.constraints:
            value = node_info.labels.get(c.topology_key)
            if value is None:
                return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                  ERR_REASON_NODE_LABEL_NOT_MATCH)
            min_match = s.min_match_num(c.topology_key, c.min_domains)
            if min_match is None:
                continue
            self_match = 1 if c.selector.matches(pod.labels) else 0
            skew = s.match_num.get((c.topology_key, value), 0) + self_match - min_match
            if skew > c.max_skew:
                return new_status(Code.UNSCHEDULABLE, ERR_REASON_CONSTRAINTS_NOT_MATCH)
        return None

    # --- scoring ----------------------------------------------------------------------------

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        all_nodes = self.handle.snapshot.node_infos
        if not all_nodes:
            return new_status(Code.SKIP)
        try:
            constraints = self._pod_constraints(pod, SCHEDULE_ANYWAY)
        except StatusError as err:
            return as_status(f"calculating preScoreState: obtaining pod's soft topology spread "
                             f"constraints: {err.message}")
        if not constraints:
            return new_status(Code.SKIP)
        # Only non-default rules require every key: nodes without a zone still spread by host.
        require_all = bool(pod.spec.get("topologySpreadConstraints")) or not self.system_defaulted
        s = _PreScoreState(constraints)
        sizes = [0] * len(constraints)
        for ni in nodes:
            if require_all and not _has_all_keys(ni.labels, constraints):
                s.ignored_nodes.add(ni.name)
                continue
            for i, c in enumerate(constraints):
                if c.topology_key == LABEL_HOSTNAME:
                    continue  # per-node counts are computed in Score
                value = ni.labels.get(c.topology_key, "")
                if value not in s.counts[i]:
                    s.counts[i][value] = 0
                    sizes[i] += 1
        for i, c in enumerate(constraints):
            size = sizes[i]
            if c.topology_key == LABEL_HOSTNAME:
                size = len(nodes) - len(s.ignored_nodes)
            s.weights.append(math.log(size + 2))
        required = RequiredNodeAffinity(pod)
        for ni in all_nodes:
            if require_all and not _has_all_keys(ni.labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if not c.includes_node(pod, ni, required):
                    continue
                value = ni.labels.get(c.topology_key, "")
                if value in s.counts[i]:
                    s.counts[i][value] += count_pods_match_selector(ni.pods, c.selector,
                                                                    pod.namespace)
        state.write(_PRE_SCORE_KEY, s)
        return None

    def score(self, state: CycleState, pod: PodInfo,
              node_info: NodeInfo) -> tuple[int, Status | None]:
        s: _PreScoreState | None = state.read(_PRE_SCORE_KEY)
        if s is None:
            return 0, as_status(f'reading "{_PRE_SCORE_KEY}" from cycleState: not found')
        if node_info.name in s.ignored_nodes:
            return 0, None
        total = 0.0
        for i, c in enumerate(s.constraints):
            value = node_info.labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == LABEL_HOSTNAME:
                count = count_pods_match_selector(node_info.pods, c.selector, pod.namespace)
            else:
                count = s.counts[i].get(value, 0)
            total += count * s.weights[i] + (c.max_skew - 1)
        return _round(total), None

    def score_extensions(self) -> PodTopologySpread:
        return self

    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: list[NodeScore]) -> Status | None:
        s: _PreScoreState | None = state.read(_PRE_SCORE_KEY)
        if s is None:
            return None
        valid = [x.score for x in scores if x.name not in s.ignored_nodes]
        lowest = min(valid, default=0)
        highest = max(max(valid, default=0), 0)
        for x in scores:
            if x.name in s.ignored_nodes:
                x.score = 0
            elif highest == 0:
                x.score = MAX_NODE_SCORE
            else:
                x.score = MAX_NODE_SCORE * (highest + lowest - x.score) // highest
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(POD, ActionType.ADD | ActionType.DELETE
                                              | ActionType.UPDATE_POD_LABEL)),
            ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD | ActionType.DELETE
                                              | ActionType.UPDATE_NODE_LABEL
                                              | ActionType.UPDATE_NODE_TAINT)),
        ]


def _round(value: float) -> int:
    """math.Round: halves away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def new(args: Mapping[str, Any] | None, handle: Handle) -> PodTopologySpread:
    return PodTopologySpread(args or {}, handle)
