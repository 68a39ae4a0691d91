"""TaintToleration (Filter, PreScore, Score): honour taints.

Filter: a NoSchedule or NoExecute taint that none of the pod's tolerations
tolerates rejects the node: "node(s) had untolerated taint {key: value}".
Score: fewer untolerated PreferNoSchedule taints is better (counts, then
normalized in reverse so the node with the most gets 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE, Handle, NodeScore
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.helper import (
    PREFER_NO_SCHEDULE,
    default_normalize_score,
    find_untolerated_taint,
    tolerations_tolerate_taint,
)
from kybernetes.scheduler.plugins.names import TAINT_TOLERATION

_PRE_SCORE_KEY = "PreScore" + TAINT_TOLERATION


def untolerated_reason(taint: Mapping[str, Any]) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key') or ''}: {taint.get('value') or ''}}}"


def count_intolerable_prefer_no_schedule(taints: Sequence[Mapping[str, Any]],
                                         tolerations: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for t in taints if t.get("effect") == PREFER_NO_SCHEDULE
               and not tolerations_tolerate_taint(tolerations, t))


class TaintToleration:
    """Implements FilterPlugin, PreScorePlugin, ScorePlugin and EnqueueExtensions."""

    name = TAINT_TOLERATION

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        taint = find_untolerated_taint(node_info.taints, pod.tolerations)
        if taint is None:
            return None
        return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, untolerated_reason(taint))

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        # An empty effect tolerates every effect, PreferNoSchedule included.
        state.write(_PRE_SCORE_KEY, [t for t in pod.tolerations
                                     if (t.get("effect") or "") in ("", PREFER_NO_SCHEDULE)])
        return None

    def score(self, state: CycleState, pod: PodInfo,
              node_info: NodeInfo) -> tuple[int, Status | None]:
        tolerations = state.read(_PRE_SCORE_KEY)
        if tolerations is None:
            tolerations = pod.tolerations
        return count_intolerable_prefer_no_schedule(node_info.taints, tolerations), None

    def score_extensions(self) -> TaintToleration:
        return self

    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: list[NodeScore]) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, True, scores)
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT),
                                 _node_tolerated),
            ClusterEventWithHint(ClusterEvent(UNSCHEDULABLE_POD,
                                              ActionType.UPDATE_POD_TOLERATIONS)),
        ]


def _node_tolerated(pod: PodInfo, old: Any, new: Any) -> QueueingHint:
    if new is None:
        return QueueingHint.SKIP
    taints = (new.get("spec") or {}).get("taints") or []
    if find_untolerated_taint(taints, pod.tolerations) is None:
        return QueueingHint.QUEUE
    return QueueingHint.SKIP


def new(args: Mapping[str, Any] | None, handle: Handle) -> TaintToleration:
    return TaintToleration()
