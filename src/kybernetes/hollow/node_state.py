"""`HollowNode`: what the process knows about one of its nodes (shared by the heartbeat
and pod loops, one asyncio loop, no locks)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kybernetes.hollow.addresses import PodIPAllocator
from kybernetes.hollow.nodes import NodeIdentity

Obj = dict[str, Any]


@dataclass(eq=False)
class HollowNode:
    """One simulated kubelet's memory.

    `registered`: the Node exists and carries our uid; pods are only worked on
    after that. `silenced`: heartbeats stopped by `stop_heartbeats` (a test hook);
    `pods_frozen`: its pods are left alone too (a dead kubelet). `gone`: the Node
    was deleted by someone else; as a kubelet, we do not register it again until
    the process restarts.
    """

    ident: NodeIdentity
    uid: str = ""
    registered: bool = False
    silenced: bool = False
    pods_frozen: bool = False
    gone: bool = False
    lease: Obj | None = None               # the last Lease we wrote or read
    conditions: list[Obj] | None = None    # the last conditions we reported
    reported_full: bool = False            # capacity/addresses/nodeInfo sent this run
    pod_cidr: str = ""                     # the Node's spec.podCIDR (ours or node IPAM's)
    allocator: PodIPAllocator | None = None
    forced_report_at: float | None = None  # clock.now() of the last out-of-turn report

    @property
    def name(self) -> str:
        return self.ident.name

    def set_pod_cidr(self, cidr: str) -> None:
        """Take the Node's spec.podCIDR (a changed CIDR starts a fresh allocator)."""
        if cidr and cidr != self.pod_cidr:
            self.pod_cidr = cidr
            self.allocator = PodIPAllocator(cidr)


@dataclass
class Stats:
    """Requests this process sent, by purpose (for the scale check and for logs)."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def total(self) -> int:
        return sum(self.requests.values())
