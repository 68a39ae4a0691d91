"""InterPodAffinity (PreFilter, Filter, PreScore, Score): pod affinity and anti-affinity.

Counts are kept per topology pair (topologyKey, value of that label on the
node hosting the matching pod):

  affinity       existing pods matching ALL the incoming pod's required affinity terms
  anti_affinity  existing pods matching each of the incoming pod's anti-affinity terms
  existing_anti  existing pods whose required anti-affinity terms match the incoming pod

Filter, in this order:
  * affinity: the node must carry every term's topology key, and each pair must have
    a matching pod -- unless no pod matches anywhere and the pod matches its own terms
    (the first pod of a group), then any node with the keys will do;
    else UnschedulableAndUnresolvable "node(s) didn't match pod affinity rules";
  * anti-affinity: no matching pod in the node's pair (nodes without the key pass);
    else Unschedulable "node(s) didn't match pod anti-affinity rules";
  * existing pods' anti-affinity: else Unschedulable
    "node(s) didn't satisfy existing pods anti-affinity rules".

Score: per topology pair, + weight of the incoming pod's preferred affinity terms
matched by existing pods, - weight for anti-affinity, + hardPodAffinityWeight for
existing pods' required affinity terms matching the incoming pod, +/- the weights
of existing pods' preferred terms matching it; min-max normalized to 0-100.
namespaceSelector of the incoming pod's terms is resolved against the snapshot's
namespaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kybernetes.api.selectors import NOTHING
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
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status, as_status, new_status
from kybernetes.scheduler.framework.types import (
    AffinityTerm,
    NodeInfo,
    PodInfo,
    WeightedAffinityTerm,
)
from kybernetes.scheduler.plugins.names import INTER_POD_AFFINITY

ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
_PRE_FILTER_KEY = "PreFilter" + INTER_POD_AFFINITY
_PRE_SCORE_KEY = "PreScore" + INTER_POD_AFFINITY

Pair = tuple[str, str]
Counts = dict[Pair, int]


def _bump(counts: Counts, labels: Mapping[str, str], key: str, value: int) -> None:
    if key in labels:
        pair = (key, labels[key])
        n = counts.get(pair, 0) + value
        if n:
            counts[pair] = n
        else:
            counts.pop(pair, None)


def matches_all(terms: Sequence[AffinityTerm], pod: PodInfo) -> bool:
    return bool(terms) and all(t.matches(pod, None) for t in terms)


def _merge_namespaces(term: AffinityTerm, snapshot: Snapshot) -> AffinityTerm:
    """Resolve a non-empty namespaceSelector into namespace names (an empty one means all)."""
    if term.namespace_selector.empty:
        return term
    names = snapshot.namespaces_matching(term.namespace_selector)
    return AffinityTerm(term.namespaces | names, term.selector, term.topology_key, NOTHING)


class _PreFilterState:
    __slots__ = (
        "affinity",
        "affinity_terms",
        "anti_affinity",
        "anti_affinity_terms",
        "existing_anti",
        "namespace_labels",
        "pod",
    )

    def __init__(self, pod: PodInfo, affinity_terms: tuple[AffinityTerm, ...],
                 anti_affinity_terms: tuple[AffinityTerm, ...],
                 namespace_labels: Mapping[str, str]) -> None:
        self.pod = pod
        self.affinity_terms = affinity_terms
        self.anti_affinity_terms = anti_affinity_terms
        self.namespace_labels = namespace_labels
        self.existing_anti: Counts = {}
        self.affinity: Counts = {}
        self.anti_affinity: Counts = {}

    def clone(self) -> _PreFilterState:
        out = _PreFilterState(self.pod, self.affinity_terms, self.anti_affinity_terms,
                              self.namespace_labels)
        out.existing_anti = dict(self.existing_anti)
        out.affinity = dict(self.affinity)
        out.anti_affinity = dict(self.anti_affinity)
        return out

    def update_with_pod(self, other: PodInfo, node: NodeInfo, multiplier: int) -> None:
        labels = node.labels
        for term in other.required_anti_affinity_terms:
            if term.matches(self.pod, self.namespace_labels):
                _bump(self.existing_anti, labels, term.topology_key, multiplier)
        if matches_all(self.affinity_terms, other):
            for term in self.affinity_terms:
                _bump(self.affinity, labels, term.topology_key, multiplier)
        for term in self.anti_affinity_terms:
            if term.matches(other, None):
                _bump(self.anti_affinity, labels, term.topology_key, multiplier)


class InterPodAffinity:
    """Implements PreFilterPlugin (with extensions), FilterPlugin, PreScorePlugin,
    ScorePlugin and EnqueueExtensions."""

    name = INTER_POD_AFFINITY

    def __init__(self, args: Mapping[str, Any], handle: Handle) -> None:
        self.handle = handle
        weight = args.get("hardPodAffinityWeight")
        self.hard_pod_affinity_weight = 1 if weight is None else int(weight)
        self.ignore_preferred_of_existing = bool(args.get("ignorePreferredTermsOfExistingPods"))

    # --- filtering --------------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        if pod.parse_error is not None:
            return None, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                    f"parsing pod: {pod.parse_error}")
        snapshot = self.handle.snapshot
        s = _PreFilterState(
            pod,
            tuple(_merge_namespaces(t, snapshot) for t in pod.required_affinity_terms),
            tuple(_merge_namespaces(t, snapshot) for t in pod.required_anti_affinity_terms),
            snapshot.namespace_labels(pod.namespace))
        for ni in snapshot.have_pods_with_required_anti_affinity:
            for existing in ni.pods_with_required_anti_affinity:
                for term in existing.required_anti_affinity_terms:
                    if term.matches(pod, s.namespace_labels):
                        _bump(s.existing_anti, ni.labels, term.topology_key, 1)
        if s.affinity_terms or s.anti_affinity_terms:
            for ni in snapshot.node_infos:
                for existing in ni.pods:
                    if matches_all(s.affinity_terms, existing):
                        for term in s.affinity_terms:
                            _bump(s.affinity, ni.labels, term.topology_key, 1)
                    for term in s.anti_affinity_terms:
                        if term.matches(existing, None):
                            _bump(s.anti_affinity, ni.labels, term.topology_key, 1)
        if not s.existing_anti and not s.affinity_terms and not s.anti_affinity_terms:
            return None, new_status(Code.SKIP)
        state.write(_PRE_FILTER_KEY, s)
        return None, None

    def pre_filter_extensions(self) -> InterPodAffinity:
        return self

    def add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo,
                node_info: NodeInfo) -> Status | None:
        s = state.read(_PRE_FILTER_KEY)
        if s is None:
            return as_status(f'reading "{_PRE_FILTER_KEY}" from cycleState: not found')
        s.update_with_pod(pod_to_add, node_info, 1)
        return None

    def remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status | None:
        s = state.read(_PRE_FILTER_KEY)
        if s is None:
            return as_status(f'reading "{_PRE_FILTER_KEY}" from cycleState: not found')
        s.update_with_pod(pod_to_remove, node_info, -1)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        s: _PreFilterState | None = state.read(_PRE_FILTER_KEY)
        if s is None:
            return as_status(f'reading "{_PRE_FILTER_KEY}" from cycleState: not found')
        labels = node_info.labels
        if not _satisfies_affinity(s, labels):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_AFFINITY)
        for term in s.anti_affinity_terms:
            value = labels.get(term.topology_key)
            if value is not None and s.anti_affinity.get((term.topology_key, value), 0) > 0:
                return new_status(Code.UNSCHEDULABLE, ERR_REASON_ANTI_AFFINITY)
        if s.existing_anti and any(s.existing_anti.get(pair, 0) > 0 for pair in labels.items()):
            return new_status(Code.UNSCHEDULABLE, ERR_REASON_EXISTING_ANTI_AFFINITY)
        return None

    # --- scoring ----------------------------------------------------------------------------

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        if not nodes:
            return new_status(Code.SKIP)
        if pod.parse_error is not None:
            return as_status(f"failed to parse pod: {pod.parse_error}")
        has_constraints = bool(pod.preferred_affinity_terms or pod.preferred_anti_affinity_terms)
        if self.ignore_preferred_of_existing and not has_constraints:
            return new_status(Code.SKIP)
        snapshot = self.handle.snapshot
        preferred = tuple(WeightedAffinityTerm(_merge_namespaces(w.term, snapshot), w.weight)
                          for w in pod.preferred_affinity_terms)
        preferred_anti = tuple(WeightedAffinityTerm(_merge_namespaces(w.term, snapshot),
                                                    w.weight)
                               for w in pod.preferred_anti_affinity_terms)
        ns_labels = snapshot.namespace_labels(pod.namespace)
        scores: dict[str, dict[str, int]] = {}
        all_nodes = snapshot.node_infos if has_constraints else snapshot.have_pods_with_affinity
        for ni in all_nodes:
            if not ni.labels:
                continue
            existing_pods = ni.pods if has_constraints else ni.pods_with_affinity
            for existing in existing_pods:
                self._process_existing(scores, ni.labels, pod, existing, ns_labels, preferred,
                                       preferred_anti)
        if not any(scores.values()):
            return new_status(Code.SKIP)
        state.write(_PRE_SCORE_KEY, scores)
        return None

    def _process_existing(self, scores: dict[str, dict[str, int]], labels: Mapping[str, str],
                          pod: PodInfo, existing: PodInfo, ns_labels: Mapping[str, str],
                          preferred: Sequence[WeightedAffinityTerm],
                          preferred_anti: Sequence[WeightedAffinityTerm]) -> None:
        def add(term: AffinityTerm, weight: int, target: PodInfo,
                target_ns_labels: Mapping[str, str] | None) -> None:
            value = labels.get(term.topology_key)
            if value is not None and term.matches(target, target_ns_labels):
                by_value = scores.setdefault(term.topology_key, {})
                by_value[value] = by_value.get(value, 0) + weight

        for w in preferred:
            add(w.term, w.weight, existing, None)
        for w in preferred_anti:
            add(w.term, -w.weight, existing, None)
        if self.hard_pod_affinity_weight > 0:
            for term in existing.required_affinity_terms:
                add(term, self.hard_pod_affinity_weight, pod, ns_labels)
        for w in existing.preferred_affinity_terms:
            add(w.term, w.weight, pod, ns_labels)
        for w in existing.preferred_anti_affinity_terms:
            add(w.term, -w.weight, pod, ns_labels)

    def score(self, state: CycleState, pod: PodInfo,
              node_info: NodeInfo) -> tuple[int, Status | None]:
        scores: dict[str, dict[str, int]] | None = state.read(_PRE_SCORE_KEY)
        if scores is None:
            return 0, as_status(f'reading "{_PRE_SCORE_KEY}" from cycleState: not found')
        labels = node_info.labels
        total = 0
        for key, by_value in scores.items():
            value = labels.get(key)
            if value is not None:
                total += by_value.get(value, 0)
        return total, None

    def score_extensions(self) -> InterPodAffinity:
        return self

    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: list[NodeScore]) -> Status | None:
        if not state.read(_PRE_SCORE_KEY) or not scores:
            return None
        lowest = min(s.score for s in scores)
        highest = max(s.score for s in scores)
        spread = highest - lowest
        for s in scores:
            s.score = int(MAX_NODE_SCORE * ((s.score - lowest) / spread)) if spread > 0 else 0
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(POD, ActionType.ADD | ActionType.DELETE
                                              | ActionType.UPDATE_POD_LABEL)),
            ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD
                                              | ActionType.UPDATE_NODE_LABEL)),
        ]


def _satisfies_affinity(s: _PreFilterState, labels: Mapping[str, str]) -> bool:
    pods_exist = True
    for term in s.affinity_terms:
        value = labels.get(term.topology_key)
        if value is None:
            return False  # every topology label must exist on the node
        if s.affinity.get((term.topology_key, value), 0) <= 0:
            pods_exist = False
    if pods_exist:
        return True
    # The first pod of a group with affinity to itself may go anywhere with the labels.
    return not s.affinity and matches_all(s.affinity_terms, s.pod)


def new(args: Mapping[str, Any] | None, handle: Handle) -> InterPodAffinity:
    return InterPodAffinity(args or {}, handle)
