"""Service cluster IPs and node ports: allocated by the apiserver on Service writes.

Each allocation is a key in the store (`/registry/ranges/serviceips/<ip>`,
`/registry/ranges/servicenodeports/<port>`) created with create-if-absent, so
two apiservers over one store can never hand out the same value. Keys are
released when the Service goes away or stops needing them. The first address
of the range belongs to the `kubernetes` Service, as upstream.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from kybernetes.api.errors import Cause, StatusError, invalid
from kybernetes.storage.interface import KeyExistsError, NotFoundError, Store

Obj = dict[str, Any]

IP_PREFIX = "/registry/ranges/serviceips/"
PORT_PREFIX = "/registry/ranges/servicenodeports/"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
NODE_PORT_RANGE = (30000, 32767)
_PROBES = 64


def _needs_ip(spec: Obj) -> bool:
    return spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None"


def _needs_node_ports(spec: Obj) -> bool:
    if spec.get("type") == "NodePort":
        return True
    return spec.get("type") == "LoadBalancer" and spec.get(
        "allocateLoadBalancerNodePorts", True) is not False


class ServiceAllocator:
    def __init__(self, store: Store, cidr: str = DEFAULT_SERVICE_CIDR,
                 node_ports: tuple[int, int] = NODE_PORT_RANGE) -> None:
        self.store = store
        self.network = ipaddress.ip_network(cidr)
        self.node_ports = node_ports

    @property
    def kubernetes_ip(self) -> str:
        return str(self.network.network_address + 1)

    # --- what a Service write needs -----------------------------------------------------

    async def allocate(self, svc: Obj, old: Obj | None, *, dry_run: bool) -> list[str]:
        """Fill clusterIP(s) and nodePorts of `svc` in place; reserve them.

        Returns the keys newly reserved (to release if the write then fails). Values
        carried over from `old` (an update) stay reserved under the old keys.
        """
        spec = svc.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        taken: list[str] = []
        try:
            if _needs_ip(spec):
                await self._ip(svc, spec, old_spec, taken, dry_run)
            if _needs_node_ports(spec):
                await self._ports(svc, spec, old_spec, taken, dry_run)
            else:
                for port in spec.get("ports") or []:
                    if isinstance(port, dict) and spec.get("type") not in (
                            "NodePort", "LoadBalancer"):
                        port.pop("nodePort", None)
        except BaseException:
            await self.release_keys(taken)
            raise
        return taken

    async def _ip(self, svc: Obj, spec: Obj, old_spec: Obj, taken: list[str],
                  dry_run: bool) -> None:
        want = spec.get("clusterIP") or ""
        old_ip = old_spec.get("clusterIP") or ""
        if not want and old_ip and old_ip != "None":
            want = old_ip  # an update that omits it keeps it (upstream patches it in)
        if want and want == old_ip:
            ip = want
        elif want:
            try:
                addr = ipaddress.ip_address(want)
            except ValueError:
                raise _invalid(svc, "spec.clusterIPs[0]", want,
                               "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                               ) from None
            if addr not in self.network:
                raise _invalid(svc, "spec.clusterIPs[0]", want,
                               f"failed to allocate IP {want}: the provided IP ({want}) is "
                               f"not in the valid range. The range of valid IPs is "
                               f"{self.network}")
            if not dry_run and not await self._reserve(IP_PREFIX + want, svc):
                raise _invalid(svc, "spec.clusterIPs[0]", want,
                               f"failed to allocate IP {want}: provided IP is already "
                               "allocated")
            if not dry_run:
                taken.append(IP_PREFIX + want)
            ip = want
        else:
            ip = await self._random_ip(svc, taken, dry_run)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    async def _random_ip(self, svc: Obj, taken: list[str], dry_run: bool) -> str:
        net = self.network
        # Skip the network address, the kubernetes service's address and the broadcast.
        first, size = int(net.network_address) + 2, net.num_addresses - 3
        for _ in range(_PROBES):
            ip = str(ipaddress.ip_address(first + random.randrange(size)))
            if await self._try(IP_PREFIX + ip, svc, taken, dry_run):
                return ip
        used = {kv.key[len(IP_PREFIX):] for kv in (await self.store.list(IP_PREFIX)).items}
        for n in range(size):
            ip = str(ipaddress.ip_address(first + n))
            if ip not in used and await self._try(IP_PREFIX + ip, svc, taken, dry_run):
                return ip
        raise StatusError(500, "InternalError", "Internal error occurred: failed to allocate a "
                          "serviceIP: range is full")

    async def _ports(self, svc: Obj, spec: Obj, old_spec: Obj, taken: list[str],
                     dry_run: bool) -> None:
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in old_spec.get("ports") or [] if isinstance(p, dict)}
        old_set = {v for v in old_ports.values() if v}
        lo, hi = self.node_ports
        for i, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict):
                continue
            want = port.get("nodePort")
            if not want:
                want = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            if want and want in old_set:
                port["nodePort"] = want
                continue
            if want:
                if not isinstance(want, int) or not lo <= want <= hi:
                    raise _invalid(svc, f"spec.ports[{i}].nodePort", want,
                                   f"provided port is not in the valid range. The range of "
                                   f"valid ports is {lo}-{hi}")
                if not await self._try(PORT_PREFIX + str(want), svc, taken, dry_run):
                    raise _invalid(svc, f"spec.ports[{i}].nodePort", want,
                                   "provided port is already allocated")
                continue
            for _ in range(_PROBES * 4):
                candidate = random.randint(lo, hi)
                if await self._try(PORT_PREFIX + str(candidate), svc, taken, dry_run):
                    port["nodePort"] = candidate
                    break
            else:
                raise StatusError(500, "InternalError", "Internal error occurred: failed to "
                                  "allocate a nodePort: range is full")

    async def _try(self, key: str, svc: Obj, taken: list[str], dry_run: bool) -> bool:
        if key in taken:
            return False
        if dry_run:
            return await self.store.get(key) is None
        if await self._reserve(key, svc):
            taken.append(key)
            return True
        return False

    async def _reserve(self, key: str, svc: Obj) -> bool:
        meta = svc.get("metadata") or {}
        owner = f'{meta.get("namespace", "")}/{meta.get("name", "")}'.encode()
        try:
            await self.store.create(key, owner)
        except KeyExistsError:
            return False
        return True

    # --- release -----------------------------------------------------------------------

    def keys_of(self, svc: Obj) -> set[str]:
        spec = svc.get("spec") or {}
        keys = set()
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            keys.add(IP_PREFIX + ip)
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and port.get("nodePort"):
                keys.add(PORT_PREFIX + str(port["nodePort"]))
        return keys

    async def release_keys(self, keys: list[str] | set[str]) -> None:
        for key in keys:
            try:
                await self.store.delete(key)
            except NotFoundError:
                pass

    async def release_unused(self, old: Obj, new: Obj | None) -> None:
        """After a write: free what `old` held and `new` (None: deleted) no longer does."""
        await self.release_keys(self.keys_of(old) - (self.keys_of(new) if new else set()))


def _invalid(svc: Obj, field: str, value: Any, detail: str) -> StatusError:
    name = (svc.get("metadata") or {}).get("name") or ""
    return invalid("Service", name, [Cause("FieldValueInvalid",
                                           f"Invalid value: {_quote(value)}: {detail}", field)])


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)
