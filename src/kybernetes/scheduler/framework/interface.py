"""The extension points: one Protocol each (`framework/interface.go`).

A plug-in is a small object with a `name` and the methods of the extension
points it implements; the framework finds them by `isinstance` against these
runtime-checkable Protocols. The order in which a pod meets them:

    queue:       PreEnqueue (gate) -> QueueSort (order)
    scheduling:  PreFilter -> Filter (per node) -> [PostFilter if no node fits]
                 -> PreScore -> Score (per node) -> NormalizeScore -> Reserve -> Permit
    binding:     (WaitOnPermit) -> PreBind -> Bind -> PostBind;  Unreserve on any failure

Conventions, as upstream:
  * a method returns `None` for Success, else a `Status`;
  * the pod is passed as a `PodInfo` (its dict is `.pod`), nodes as `NodeInfo`;
  * scheduling-cycle methods are synchronous and pure; the binding-cycle
    methods (pre_bind, bind, post_bind) are coroutines, as they talk to the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import ClusterEventWithHint
from kybernetes.scheduler.framework.status import Status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo, QueuedPodInfo

if TYPE_CHECKING:
    from kybernetes.scheduler.framework.diagnosis import NodeToStatus
    from kybernetes.scheduler.framework.snapshot import Snapshot

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0
MAX_TOTAL_SCORE = 2**63 - 1
# Permit plug-ins may not make a pod wait longer than this (seconds).
MAX_PERMIT_TIMEOUT = 15 * 60


@dataclass(frozen=True, slots=True)
class PreFilterResult:
    """Which nodes are worth filtering at all; `node_names=None` means all of them."""

    node_names: frozenset[str] | None = None

    def all_nodes(self) -> bool:
        return self.node_names is None


def merge_pre_filter_results(a: PreFilterResult | None,
                             b: PreFilterResult | None) -> PreFilterResult | None:
    """Intersection of the narrowed node sets (`PreFilterResult.Merge`)."""
    a_all = a is None or a.all_nodes()
    b_all = b is None or b.all_nodes()
    if a_all and b_all:
        return None
    if a_all:
        return PreFilterResult(b.node_names)  # type: ignore[union-attr]
    if b_all:
        return PreFilterResult(a.node_names)  # type: ignore[union-attr]
    return PreFilterResult(a.node_names & b.node_names)  # type: ignore[union-attr,operator]


MODE_NOOP = "Noop"
MODE_OVERRIDE = "Override"


@dataclass(frozen=True, slots=True)
class NominatingInfo:
    """Where the pod should be nominated; Override with "" clears a nomination."""

    nominated_node_name: str = ""
    mode: str = MODE_OVERRIDE


@dataclass(frozen=True, slots=True)
class PostFilterResult:
    """What a PostFilter (preemption) decided.

    Upstream's DefaultPreemption deletes the victims itself; here the core
    is pure, so the result carries them: the caller deletes `victims` (with a
    DisruptionTarget condition) and clears the nomination of
    `nominated_pods_to_clear` before setting the pod's nominatedNodeName.
    """

    nominating_info: NominatingInfo | None = None
    victims: tuple[Mapping[str, Any], ...] = ()
    nominated_pods_to_clear: tuple[Mapping[str, Any], ...] = ()

    @property
    def nominated_node_name(self) -> str:
        return self.nominating_info.nominated_node_name if self.nominating_info else ""


@dataclass(slots=True)
class NodeScore:
    name: str
    score: int


@dataclass(slots=True)
class NodePluginScores:
    """A node's weighted score per plug-in and their total."""

    name: str
    scores: list[tuple[str, int]] = field(default_factory=list)
    total_score: int = 0


class PodNominator(Protocol):
    """Pods nominated to nodes by preemption, which filters count as already there."""

    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]: ...


class Handle(Protocol):
    """What a plug-in may use from its framework (`framework.Handle`)."""

    @property
    def snapshot(self) -> Snapshot: ...

    @property
    def nominator(self) -> PodNominator | None: ...

    def run_filter_plugins_with_nominated_pods(
        self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None: ...

    def run_pre_filter_extension_add_pod(self, state: CycleState, pod: PodInfo,
                                         pod_to_add: PodInfo, node_info: NodeInfo
                                         ) -> Status | None: ...

    def run_pre_filter_extension_remove_pod(self, state: CycleState, pod: PodInfo,
                                            pod_to_remove: PodInfo, node_info: NodeInfo
                                            ) -> Status | None: ...


@runtime_checkable
class Plugin(Protocol):
    name: str


@runtime_checkable
class PreEnqueuePlugin(Plugin, Protocol):
    def pre_enqueue(self, pod: PodInfo) -> Status | None:
        """Gate the pod before it enters the active queue; any non-success keeps it out."""


@runtime_checkable
class QueueSortPlugin(Plugin, Protocol):
    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
        """True if `a` should be scheduled before `b`."""


class PreFilterExtensions(Protocol):
    def add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo,
                node_info: NodeInfo) -> Status | None: ...

    def remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status | None: ...


@runtime_checkable
class PreFilterPlugin(Plugin, Protocol):
    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        """Precompute for Filter; may narrow the nodes, reject the pod, or Skip its Filter."""

    def pre_filter_extensions(self) -> PreFilterExtensions | None:
        """Incremental updates of the PreFilter state (preemption, nominated pods)."""


@runtime_checkable
class FilterPlugin(Plugin, Protocol):
    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        """Success, or Unschedulable[AndUnresolvable] with the reasons the node does not fit."""


@runtime_checkable
class PostFilterPlugin(Plugin, Protocol):
    def post_filter(self, state: CycleState, pod: PodInfo, statuses: NodeToStatus
                    ) -> tuple[PostFilterResult | None, Status | None]:
        """Called when no node fits; preemption lives here."""


@runtime_checkable
class PreScorePlugin(Plugin, Protocol):
    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Precompute for Score over the feasible nodes; Skip skips this plug-in's Score."""


class ScoreExtensions(Protocol):
    def normalize_score(self, state: CycleState, pod: PodInfo,
                        scores: list[NodeScore]) -> Status | None: ...


@runtime_checkable
class ScorePlugin(Plugin, Protocol):
    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo
              ) -> tuple[int, Status | None]:
        """A raw score; after NormalizeScore it must lie in [0, 100]."""

    def score_extensions(self) -> ScoreExtensions | None: ...


@runtime_checkable
class ReservePlugin(Plugin, Protocol):
    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None: ...

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None: ...


@runtime_checkable
class PermitPlugin(Plugin, Protocol):
    def permit(self, state: CycleState, pod: PodInfo, node_name: str
               ) -> tuple[Status | None, float]:
        """Success, a rejection, or Wait with a timeout in seconds."""


@runtime_checkable
class PreBindPlugin(Plugin, Protocol):
    async def pre_bind(self, state: CycleState, pod: PodInfo, node_name: str
                       ) -> Status | None: ...


@runtime_checkable
class BindPlugin(Plugin, Protocol):
    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None:
        """Bind, or return Skip to let the next bind plug-in do it."""


@runtime_checkable
class PostBindPlugin(Plugin, Protocol):
    async def post_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> None: ...


@runtime_checkable
class EnqueueExtensions(Plugin, Protocol):
    def events_to_register(self) -> list[ClusterEventWithHint]:
        """Cluster events that may resolve this plug-in's rejections."""
