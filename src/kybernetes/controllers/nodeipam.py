"""The node IPAM controller (pkg/controller/nodeipam, the RangeAllocator).

Every node without `spec.podCIDR` gets one pod CIDR per family of the cluster CIDR
(`--cluster-cidr`, default 10.42.0.0/16 as k3s; "a,b" for dual stack), of size
`--node-cidr-mask-size` (/24 for IPv4, /64 for IPv6), written once into
`spec.podCIDR` and `spec.podCIDRs`. A node's CIDRs are never changed afterwards.

CIDRs in use are those of the nodes in the cache plus those this controller assigned
that the cache does not show yet (one worker, so two nodes never get the same one).
As upstream's cidrset, the search for a free CIDR starts after the last one handed
out, so a CIDR freed by a deleted node is not reused at once. No CIDR left: a
CIDRNotAvailable event on the node.

Options (ctx.options): cluster_cidr, node_cidr_mask_size_ipv4, node_cidr_mask_size_ipv6.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from kybernetes.client import WARNING, builtin_resource
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

log = logging.getLogger("kybernetes.controllers.nodeipam")

Obj = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NODES = builtin_resource("v1", "Node")
DEFAULT_CLUSTER_CIDR = "10.42.0.0/16"
DEFAULT_MASK_IPV4 = 24
DEFAULT_MASK_IPV6 = 64


class CidrSet:
    """The /mask subnets of one cluster CIDR, handed out round-robin."""

    def __init__(self, cluster: Network, mask: int) -> None:
        if mask < cluster.prefixlen or mask > cluster.max_prefixlen:
            raise ValueError(f"node CIDR mask /{mask} does not fit in cluster CIDR {cluster}")
        self.cluster = cluster
        self.mask = mask
        self.size = 1 << (mask - cluster.prefixlen)
        self._next = 0

    def subnet(self, index: int) -> Network:
        step = 1 << (self.cluster.max_prefixlen - self.mask)
        base = int(self.cluster.network_address) + index * step
        return ipaddress.ip_network((base, self.mask))

    def index_of(self, cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.version != self.cluster.version or net.prefixlen != self.mask or \
                not net.subnet_of(self.cluster):  # type: ignore[arg-type]
            return None
        step = 1 << (self.cluster.max_prefixlen - self.mask)
        return (int(net.network_address) - int(self.cluster.network_address)) // step

    def allocate(self, used: Iterable[str]) -> str | None:
        """The next free subnet after the last one given, or None when all are taken."""
        taken = {i for i in (self.index_of(c) for c in used) if i is not None}
        for offset in range(self.size):
            i = (self._next + offset) % self.size
            if i not in taken:
                self._next = (i + 1) % self.size
                return str(self.subnet(i))
        return None


def cidr_sets(cluster_cidr: str, mask_v4: int = DEFAULT_MASK_IPV4,
              mask_v6: int = DEFAULT_MASK_IPV6) -> list[CidrSet]:
    out = []
    for part in (p.strip() for p in cluster_cidr.split(",") if p.strip()):
        net = ipaddress.ip_network(part, strict=False)
        out.append(CidrSet(net, mask_v4 if net.version == 4 else mask_v6))
    if not out or len({s.cluster.version for s in out}) != len(out):
        raise ValueError(f"--cluster-cidr {cluster_cidr!r}: one CIDR per IP family")
    return out


def node_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


class NodeIpamController(ReconcileController):
    name = "nodeipam"
    workers = 1  # allocation must not race with itself

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.recorder = ctx.recorder("cidrAllocator")
        opts = ctx.options
        self.sets = cidr_sets(str(opts.get("cluster_cidr") or DEFAULT_CLUSTER_CIDR),
                              int(opts.get("node_cidr_mask_size_ipv4", DEFAULT_MASK_IPV4)),
                              int(opts.get("node_cidr_mask_size_ipv6", DEFAULT_MASK_IPV6)))
        self.nodes = ctx.informers.informer(NODES)
        # node name -> (uid, CIDRs) assigned here that the cache does not show yet
        self._assigned: dict[str, tuple[str, list[str]]] = {}
        self.nodes.add_event_handler(**self.handlers())

    def _in_use(self) -> list[str]:
        used = [c for node in self.nodes.store.list() for c in node_cidrs(node)]
        return used + [c for _, cidrs in self._assigned.values() for c in cidrs]

    async def reconcile(self, key: str) -> None:
        node = self.nodes.store.get(key)
        if node is None:
            self._assigned.pop(key, None)
            return
        uid = str(node["metadata"].get("uid") or "")
        pending = self._assigned.get(key)
        if node_cidrs(node) or (pending is not None and pending[0] != uid):
            self._assigned.pop(key, None)  # seen (or a new node of the same name)
        if node_cidrs(node) or key in self._assigned:
            return
        used = self._in_use()
        cidrs = [s.allocate(used) for s in self.sets]
        if None in cidrs:
            self.recorder.event(node, WARNING, "CIDRNotAvailable",
                                f"Node {key} status is now: CIDRNotAvailable")
            return
        allocated = [c for c in cidrs if c is not None]
        self._assigned[key] = (uid, allocated)
        patch = {"spec": {"podCIDR": allocated[0], "podCIDRs": allocated}}
        try:
            await self.client.patch(NODES, key, patch)
        except BaseException:
            self._assigned.pop(key, None)
            raise
        log.info("node %s: pod CIDRs %s", key, ", ".join(allocated))


register("nodeipam")(NodeIpamController)
