"""NodeAffinity (PreFilter, Filter, PreScore, Score): spec.nodeSelector and node affinity.

Filter: the node must match the pod's nodeSelector and one of its required
nodeSelectorTerms ("node(s) didn't match Pod's node affinity/selector"), and
the profile's `addedAffinity` if configured ("node(s) didn't match
scheduler-enforced node affinity"). PreFilter narrows the nodes when every
required term pins metadata.name with In. Score: sum of the weights of the
preferred terms the node matches, normalized to 0-100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    NODE,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    Handle,
    NodeScore,
    PreFilterResult,
)
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helper import (
    OBJECT_NAME_FIELD,
    NodeSelector,
    PreferredSchedulingTerms,
    RequiredNodeAffinity,
    default_normalize_score,
)
from kybernetes.scheduler.plugins.names import NODE_AFFINITY

ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
ERR_REASON_CONFLICT = "pod affinity terms conflict"
_PRE_FILTER_KEY = "PreFilter" + NODE_AFFINITY
_PRE_SCORE_KEY = "PreScore" + NODE_AFFINITY
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


def _node_affinity(pod: PodInfo) -> Mapping[str, Any]:
    return (pod.spec.get("affinity") or {}).get("nodeAffinity") or {}


def _pinned_node_names(terms: Sequence[Mapping[str, Any]]) -> set[str] | None:
    """Node names every term restricts to via metadata.name In, or None if any term does not."""
    names: set[str] = set()
    for term in terms:
        term_names: set[str] | None = None
        for field in term.get("matchFields") or ():
            if field.get("key") == OBJECT_NAME_FIELD and field.get("operator") == "In":
                values = set(field.get("values") or ())
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None  # terms are ORed: this one allows every node
        names |= term_names
    return names


class NodeAffinity:
    """Implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions."""

    name = NODE_AFFINITY

    def __init__(self, args: Mapping[str, Any]) -> None:
        added = args.get("addedAffinity") or {}
        required = added.get(_REQUIRED)
        self.added_node_selector = NodeSelector(required) if required is not None else None
        preferred = PreferredSchedulingTerms(added.get(_PREFERRED) or ())
        self.added_preferred = preferred if preferred else None

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        required = _node_affinity(pod).get(_REQUIRED)
        if required is None and self.added_node_selector is None and (
                pod.spec.get("nodeSelector") is None):
            return None, new_status(Code.SKIP)
        state.write(_PRE_FILTER_KEY, RequiredNodeAffinity(pod))
        terms = (required or {}).get("nodeSelectorTerms") or []
        if not terms:
            return None, None
        names = _pinned_node_names(terms)
        if names is None:
            return None, None
        if not names:
            return None, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_CONFLICT)
        return PreFilterResult(frozenset(names)), None

    def pre_filter_extensions(self) -> None:
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        if self.added_node_selector is not None and not self.added_node_selector.matches(
                node_info.name, node_info.labels):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_ENFORCED)
        required = state.read(_PRE_FILTER_KEY)
        if required is None:
            required = RequiredNodeAffinity(pod)
        if not required.matches(node_info):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_POD)
        return None

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        if not nodes:
            return None
        preferred = PreferredSchedulingTerms(_node_affinity(pod).get(_PREFERRED) or ())
        if not preferred and self.added_preferred is None:
            return new_status(Code.SKIP)
        state.write(_PRE_SCORE_KEY, preferred)
        return None

    def score(self, state: CycleState, pod: PodInfo,
              node_info: NodeInfo) -> tuple[int, Status | None]:
        count = self.added_preferred.score(node_info) if self.added_preferred else 0
        preferred = state.read(_PRE_SCORE_KEY)
        if preferred is None:
            preferred = PreferredSchedulingTerms(_node_affinity(pod).get(_PREFERRED) or ())
        return count + preferred.score(node_info), None

    def score_extensions(self) -> NodeAffinity:
        return self

    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: list[NodeScore]) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, False, scores)
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD
                                                  | ActionType.UPDATE_NODE_LABEL),
                                     self._node_matches)]

    def _node_matches(self, pod: PodInfo, old: Any, new: Any) -> QueueingHint:
        if new is None:
            return QueueingHint.SKIP
        info = NodeInfo(new)
        if self.added_node_selector is not None and not self.added_node_selector.matches(
                info.name, info.labels):
            return QueueingHint.SKIP
        return QueueingHint.QUEUE if RequiredNodeAffinity(pod).matches(info) else (
            QueueingHint.SKIP)


def new(args: Mapping[str, Any] | None, handle: Handle) -> NodeAffinity:
    return NodeAffinity(args or {})
