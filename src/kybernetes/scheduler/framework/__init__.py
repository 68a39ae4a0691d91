"""The scheduling framework: statuses, cycle state, pod/node info, plug-in interfaces, runtime.

Glossary:
  PodInfo       a pod dict plus what the scheduler derives from it once
  NodeInfo      a node, its pods and their aggregate requests, ports, images
  Snapshot      the NodeInfos (and a few listers) one scheduling cycle sees
  CycleState    per-cycle scratch space plug-ins share between extension points
  Status        a plug-in's verdict: a Code and reasons (None means Success)
  Framework     one profile's plug-ins and the code that runs them in order
  FitError      "0/N nodes are available: ..." -- why no node fits
"""

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.diagnosis import Diagnosis, FitError, NodeToStatus
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    BindPlugin,
    EnqueueExtensions,
    FilterPlugin,
    Handle,
    NodePluginScores,
    NodeScore,
    NominatingInfo,
    PermitPlugin,
    Plugin,
    PostBindPlugin,
    PostFilterPlugin,
    PostFilterResult,
    PreBindPlugin,
    PreEnqueuePlugin,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    QueueSortPlugin,
    ReservePlugin,
    ScorePlugin,
)
from kybernetes.scheduler.framework.resources import Resource, pod_requests
from kybernetes.scheduler.framework.runtime import Framework, NodeCursor, Registry, WaitingPod
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status, as_status, new_status
from kybernetes.scheduler.framework.types import (
    AffinityTerm,
    HostPortInfo,
    ImageStateSummary,
    NodeInfo,
    PodInfo,
    QueuedPodInfo,
)

__all__ = [
    "MAX_NODE_SCORE", "MIN_NODE_SCORE", "ActionType", "AffinityTerm", "BindPlugin",
    "ClusterEvent", "ClusterEventWithHint", "Code", "CycleState", "Diagnosis",
    "EnqueueExtensions", "FilterPlugin", "FitError", "Framework", "Handle", "HostPortInfo",
    "ImageStateSummary", "NodeCursor", "NodeInfo", "NodePluginScores", "NodeScore",
    "NodeToStatus", "NominatingInfo", "PermitPlugin", "Plugin", "PodInfo", "PostBindPlugin",
    "PostFilterPlugin", "PostFilterResult", "PreBindPlugin", "PreEnqueuePlugin",
    "PreFilterPlugin", "PreFilterResult", "PreScorePlugin", "QueueSortPlugin", "QueuedPodInfo",
    "QueueingHint", "Registry", "ReservePlugin", "Resource", "ScorePlugin", "Snapshot", "Status",
    "WaitingPod", "as_status", "new_status", "pod_requests",
]
