"""NodePorts (PreFilter, Filter): a pod's host ports must be free on the node.

A port conflicts when the protocol and port match and either side binds
0.0.0.0 (all addresses) or both bind the same IP; hostIP defaults to
0.0.0.0 and protocol to TCP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ASSIGNED_POD,
    NODE,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
)
from kybernetes.scheduler.framework.interface import Handle, PreFilterResult
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.names import NODE_PORTS

ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
_STATE_KEY = "PreFilter" + NODE_PORTS


def fits_ports(wanted: Sequence[tuple[str, str, int]], node_info: NodeInfo) -> bool:
    used = node_info.used_ports
    return not any(used.check_conflict(ip, proto, port) for ip, proto, port in wanted)


class NodePorts:
    """Implements PreFilterPlugin, FilterPlugin and EnqueueExtensions."""

    name = NODE_PORTS

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        if not pod.host_ports:
            return None, new_status(Code.SKIP)
        state.write(_STATE_KEY, pod.host_ports)
        return None, None

    def pre_filter_extensions(self) -> None:
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        wanted = state.read(_STATE_KEY)
        if wanted is None:
            wanted = pod.host_ports
        if fits_ports(wanted, node_info):
            return None
        return new_status(Code.UNSCHEDULABLE, ERR_REASON)

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(ASSIGNED_POD, ActionType.DELETE)),
            ClusterEventWithHint(ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE)),
        ]


def new(args: Mapping[str, Any] | None, handle: Handle) -> NodePorts:
    return NodePorts()
