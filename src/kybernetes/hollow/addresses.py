"""Addresses of hollow nodes and their pods: node IPs, per-node pod CIDRs, pod IPs.

Pure and deterministic: node i always gets the same InternalIP and the same
pod CIDR, so a restarted `kyb hollow-nodes` finds its nodes as it left them.
`PodIPAllocator` hands out the addresses of one node's pod CIDR in rotation
(next-fit, as the host-local IPAM plug-in: a freed address is not reused at
once), skipping the network address, the gateway (the first host, which a
bridge CNI keeps) and the last address (IPv4 broadcast).
"""

from __future__ import annotations

import ipaddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def node_internal_ip(base: str, index: int) -> str:
    """The InternalIP of node `index`: the (index+1)-th address of `base`."""
    net = ipaddress.ip_network(base)
    if index + 1 >= net.num_addresses:
        raise ValueError(f"{base} has no address for node {index}")
    return str(net.network_address + index + 1)


def node_pod_cidr(base: str, mask: int, index: int) -> str:
    """The `index`-th /`mask` block of `base` (node IPAM's range allocator, in order)."""
    net = ipaddress.ip_network(base)
    if mask < net.prefixlen:
        raise ValueError(f"/{mask} is wider than {base}")
    if index >= 2 ** (mask - net.prefixlen):
        raise ValueError(f"{base} has no /{mask} block number {index}")
    size = 2 ** (net.max_prefixlen - mask)
    start = net.network_address + index * size
    return str(ipaddress.ip_network(f"{start}/{mask}"))


class PodIPAllocator:
    """The pod IPs of one node's CIDR, by pod uid.

    Invariant: an address is handed to at most one uid at a time; `allocate` for
    a uid that has one returns the same address (idempotent under retries).
    """

    def __init__(self, cidr: str) -> None:
        self.cidr = cidr
        self._net: IPNetwork = ipaddress.ip_network(cidr)
        self._by_uid: dict[str, str] = {}
        self._used: set[str] = set()
        self._next = 2  # network + 0, the gateway at + 1

    @property
    def capacity(self) -> int:
        return max(0, self._net.num_addresses - 3)

    def __len__(self) -> int:
        return len(self._by_uid)

    def get(self, uid: str) -> str | None:
        return self._by_uid.get(uid)

    def claim(self, uid: str, ip: str) -> bool:
        """Record an address a pod already has (seen after a restart); False if it
        is outside this CIDR or taken by another pod."""
        try:
            if ipaddress.ip_address(ip) not in self._net:
                return False
        except ValueError:
            return False
        if self._by_uid.get(uid) == ip:
            return True
        if ip in self._used:
            return False
        self.release(uid)
        self._by_uid[uid] = ip
        self._used.add(ip)
        return True

    def allocate(self, uid: str) -> str | None:
        """An address for `uid`; None when the CIDR is exhausted."""
        if uid in self._by_uid:
            return self._by_uid[uid]
        total = self._net.num_addresses
        usable = total - 3
        for step in range(usable):
            offset = 2 + (self._next - 2 + step) % usable
            ip = str(self._net.network_address + offset)
            if ip not in self._used:
                self._next = offset + 1 if offset + 1 < total - 1 else 2
                self._by_uid[uid] = ip
                self._used.add(ip)
                return ip
        return None

    def release(self, uid: str) -> None:
        ip = self._by_uid.pop(uid, None)
        if ip is not None:
            self._used.discard(ip)
