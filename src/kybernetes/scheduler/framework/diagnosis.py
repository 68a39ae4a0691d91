"""Why a pod did not fit: per-node statuses, the rejecting plug-ins, and FitError.

The FitError message is what `kubectl describe pod` shows in the
FailedScheduling event and the PodScheduled condition:

    0/3 nodes are available: <PreFilterMsg>. <sorted "count reason" list>. <PostFilterMsg>

When PreFilter rejected the pod, only its message is given (every node
carries the same status, counting them would repeat it). Nodes without an
explicit status count with the "absent nodes" status (e.g. nodes a
PreFilterResult ruled out).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kybernetes.scheduler.framework.status import Code, Status, new_status

if TYPE_CHECKING:
    from kybernetes.scheduler.framework.interface import NominatingInfo, PostFilterResult
    from kybernetes.scheduler.framework.snapshot import Snapshot
    from kybernetes.scheduler.framework.types import NodeInfo

NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"


class NodeToStatus:
    """Statuses of the nodes that were rejected, plus one status for all others."""

    __slots__ = ("_absent", "_statuses")

    def __init__(self, statuses: Mapping[str, Status] | None = None,
                 absent: Status | None = None) -> None:
        self._statuses: dict[str, Status] = dict(statuses or {})
        self._absent = absent or new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def get(self, node_name: str) -> Status:
        return self._statuses.get(node_name, self._absent)

    def set(self, node_name: str, status: Status) -> None:
        self._statuses[node_name] = status

    def __len__(self) -> int:
        """Explicit statuses only, as upstream's Len()."""
        return len(self._statuses)

    @property
    def absent_nodes_status(self) -> Status:
        return self._absent

    @absent_nodes_status.setter
    def absent_nodes_status(self, status: Status) -> None:
        self._absent = status

    def items(self) -> Iterator[tuple[str, Status]]:
        return iter(self._statuses.items())

    def nodes_for_status_code(self, snapshot: Snapshot, code: Code) -> list[NodeInfo]:
        """NodeInfos whose status (explicit, or the absent one) has `code`."""
        if self._absent.code == code:
            return [ni for ni in snapshot.node_infos if self.get(ni.name).code == code]
        out = []
        for name, status in self._statuses.items():
            if status.code == code and (ni := snapshot.get(name)) is not None:
                out.append(ni)
        return out


@dataclass(slots=True)
class Diagnosis:
    node_to_status: NodeToStatus = field(default_factory=NodeToStatus)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pending_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""

    def add_plugin_status(self, status: Status) -> None:
        if not status.plugin:
            return
        if status.is_rejected():
            self.unschedulable_plugins.add(status.plugin)
        if status.code == Code.PENDING:
            self.pending_plugins.add(status.plugin)


@dataclass(slots=True)
class FitError:
    """No node fits the pod: a value, not an exception (it is an expected outcome)."""

    pod: Mapping[str, Any]
    num_all_nodes: int
    diagnosis: Diagnosis
    post_filter_result: PostFilterResult | None = None
    no_nodes: bool = False

    @property
    def nominating_info(self) -> NominatingInfo | None:
        result = self.post_filter_result
        return result.nominating_info if result is not None else None

    @property
    def message(self) -> str:
        if self.no_nodes:
            return "no nodes available to schedule pods"
        return fit_error_message(self.num_all_nodes, self.diagnosis)

    def __str__(self) -> str:
        return self.message


def fit_error_message(num_all_nodes: int, diagnosis: Diagnosis) -> str:
    msg = NO_NODE_AVAILABLE_MSG.format(num_all_nodes) + ":"
    if diagnosis.pre_filter_msg:
        msg += f" {diagnosis.pre_filter_msg}."
    else:
        counts: dict[str, int] = {}
        statuses = diagnosis.node_to_status
        for _, status in statuses.items():
            for reason in status.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        absent = num_all_nodes - len(statuses)
        if absent > 0:
            for reason in statuses.absent_nodes_status.reasons:
                counts[reason] = counts.get(reason, 0) + absent
        # Go sorts the "<count> <reason>" strings themselves, so "10 x" sorts before "2 y".
        histogram = sorted(f"{count} {reason}" for reason, count in counts.items())
        if histogram:
            msg += " " + ", ".join(histogram) + "."
    if diagnosis.post_filter_msg:
        msg += " " + diagnosis.post_filter_msg
    return msg
