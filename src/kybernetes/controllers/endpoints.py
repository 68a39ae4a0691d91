"""The Endpoints controller: a Service's Endpoints from the pods its selector matches.

Upstream pkg/controller/endpoint/endpoints_controller.go (v1.32). Keys are
Services (`namespace/name`); pods enqueue the services that select them, a
deleted Endpoints object enqueues its service, and at start every existing
Endpoints is looked at once (one without a Service is deleted).

A sync: no Service -> delete its Endpoints; ExternalName or no selector -> leave
the Endpoints alone (written by someone else, e.g. `default/kubernetes` by the
apiserver); otherwise every pod that should be listed (not terminal, has an IP
of the service's family, not terminating unless publishNotReadyAddresses)
becomes an address -- ready pods (or all, with publishNotReadyAddresses) under
`addresses`, the others under `notReadyAddresses` -- once per service port,
with named target ports resolved per pod; the subsets are then repacked (one
subset per distinct set of addresses). Labels are the service's, plus
`service.kubernetes.io/headless` for headless services; over 1000 addresses
the list is truncated and annotated `endpoints.kubernetes.io/over-capacity`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from kybernetes.client import WARNING, is_not_found, object_of, split_key
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.endpointutil import (
    HEADLESS_LABEL,
    find_port,
    is_headless,
    is_ipv6,
    is_pod_ready,
    is_service_ip_set,
    namespace_terminating,
    pod_ips,
    pods_for_service,
    selector_of,
    services_for_pod,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
    without_rv,
)
from kybernetes.controllers.manager import register

Obj = dict[str, Any]

SERVICES = ("v1", "Service")
PODS = ("v1", "Pod")
ENDPOINTS = ("v1", "Endpoints")
MAX_CAPACITY = 1000
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
_NO_PORT: tuple[tuple[str, Any], ...] = (("port", -1),)  # sentinel: a subset without ports


# --- computing the subsets ---------------------------------------------------------------


def service_family(service: Obj, pod: Obj) -> str:
    """The IP family the service's endpoints use: its ClusterIP's, else its first
    ipFamily (headless), else the pod's primary IP's."""
    spec = service.get("spec") or {}
    if is_service_ip_set(service):
        return "IPv6" if is_ipv6(spec["clusterIP"]) else "IPv4"
    if spec.get("ipFamilies"):
        return str(spec["ipFamilies"][0])
    ips = pod_ips(pod)
    return "IPv6" if ips and is_ipv6(ips[0]) else "IPv4"


def endpoint_address(service: Obj, pod: Obj) -> Obj | None:
    """podToEndpointAddressForService: the pod's IP of the service's family."""
    want_v6 = service_family(service, pod) == "IPv6"
    for ip in pod_ips(pod):
        if is_ipv6(ip) == want_v6:
            address: Obj = {"ip": ip}
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                address["nodeName"] = node
            address["targetRef"] = target_ref(pod)
            if should_set_hostname(pod, service):
                address["hostname"] = pod["spec"]["hostname"]
            return address
    return None


def endpoint_port(service_port: Obj, number: int) -> Obj:
    port: Obj = {"port": number, "protocol": service_port.get("protocol") or "TCP"}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


def compute_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The Endpoints subsets for `service` backed by `pods` (its selected pods)."""
    spec = service.get("spec") or {}
    tolerate = bool(spec.get("publishNotReadyAddresses"))
    subsets: list[Obj] = []
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, tolerate):
            continue
        address = endpoint_address(service, pod)
        if address is None:
            continue
        ready = tolerate or is_pod_ready(pod)
        field = "addresses" if ready else "notReadyAddresses"
        ports = spec.get("ports") or []
        if not ports:
            if is_headless(service):  # a headless service may have no ports
                subsets.append({field: [address]})
            continue
        for service_port in ports:
            number = find_port(pod, service_port)
            if number is not None:
                subsets.append({field: [address], "ports": [endpoint_port(service_port,
                                                                          number)]})
    return repack_subsets(subsets)


def _address_key(address: Obj) -> tuple[str, str]:
    return (address.get("ip", ""), (address.get("targetRef") or {}).get("uid", ""))


def _port_key(port: Obj) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(port.items()))


def repack_subsets(subsets: list[Obj]) -> list[Obj]:
    """One subset per distinct set of (address, ready) pairs, with every port those
    addresses share (endpoints.RepackSubsets); not ready wins over ready. Sorted."""
    addresses: dict[tuple[str, str], Obj] = {}
    by_port: dict[tuple[tuple[str, Any], ...], dict[tuple[str, str], bool]] = {}
    for subset in subsets:
        for port in [_port_key(p) for p in subset.get("ports") or []] or [_NO_PORT]:
            ready_map = by_port.setdefault(port, {})
            for field, ready in (("addresses", True), ("notReadyAddresses", False)):
                for address in subset.get(field) or []:
                    key = _address_key(address)
                    addresses.setdefault(key, address)
                    if ready_map.get(key, True):
                        ready_map[key] = ready
    groups: dict[frozenset[tuple[tuple[str, str], bool]], list[Obj]] = {}
    for port, ready_map in by_port.items():
        ports = groups.setdefault(frozenset(ready_map.items()), [])
        if port != _NO_PORT:
            ports.append(dict(port))
    out = []
    for members, ports in groups.items():
        subset: Obj = {}
        ready = sorted((k for k, r in members if r))
        not_ready = sorted((k for k, r in members if not r))
        if ready:
            subset["addresses"] = [addresses[k] for k in ready]
        if not_ready:
            subset["notReadyAddresses"] = [addresses[k] for k in not_ready]
        if ports:
            subset["ports"] = sorted(ports, key=lambda p: (p.get("name", ""), p["port"],
                                                          p.get("protocol", "")))
        out.append(subset)
    return sorted(out, key=_subset_sort_key)


def _subset_sort_key(subset: Obj) -> tuple[Any, ...]:
    first = (subset.get("addresses") or subset.get("notReadyAddresses") or [{}])[0]
    ports = [(p.get("name", ""), p["port"]) for p in subset.get("ports") or []]
    return (_address_key(first), ports)


# --- the Endpoints object ----------------------------------------------------------------


def _count(subsets: list[Obj]) -> int:
    return sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or [])
               for s in subsets)


def truncate(subsets: list[Obj]) -> bool:
    """Cut the subsets to MAX_CAPACITY addresses in place, ready ones first, each
    subset keeping its share (truncateEndpoints). True when anything was cut."""
    total_ready = sum(len(s.get("addresses") or []) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if total_ready + total_not_ready <= MAX_CAPACITY:
        return False
    cut_ready = total_ready > MAX_CAPACITY
    limit = MAX_CAPACITY if cut_ready else MAX_CAPACITY - total_ready
    total = total_ready if cut_ready else total_not_ready
    room = limit
    field = "addresses" if cut_ready else "notReadyAddresses"
    for subset in subsets:
        share = min(math.ceil(len(subset.get(field) or []) / total * limit), room)
        subset[field] = (subset.get(field) or [])[:share]
        if cut_ready:
            subset.pop("notReadyAddresses", None)
        room -= len(subset[field])
        if not subset[field]:
            del subset[field]
    return True


def _normalized(subsets: list[Obj]) -> list[Obj]:
    out = []
    for s in subsets:
        n = {k: v for k, v in s.items() if v}
        for field in ("addresses", "notReadyAddresses"):
            if field in n:
                n[field] = [{**a, "targetRef": without_rv(a.get("targetRef"))}
                            if "targetRef" in a else a for a in n[field]]
        out.append(n)
    return out


def desired_endpoints(service: Obj, current: Obj | None, subsets: list[Obj]) -> Obj | None:
    """The Endpoints to write for `service`, or None when `current` is up to date."""
    svc_labels = dict((service["metadata"].get("labels")) or {})
    if current is not None:
        meta = current.get("metadata") or {}
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HEADLESS_LABEL}
        annotations = meta.get("annotations") or {}
        if (_normalized(current.get("subsets") or []) == _normalized(subsets)
                and labels == svc_labels and _count(subsets) <= MAX_CAPACITY
                and OVER_CAPACITY not in annotations):
            return None
        new = copy.deepcopy(current)
    else:
        new = {"apiVersion": "v1", "kind": "Endpoints",
               "metadata": {"name": service["metadata"]["name"],
                            "namespace": service["metadata"]["namespace"]}}
    new_subsets = copy.deepcopy(subsets)
    annotations = dict(new["metadata"].get("annotations") or {})
    if truncate(new_subsets):
        annotations[OVER_CAPACITY] = "truncated"
    else:
        annotations.pop(OVER_CAPACITY, None)
    new["subsets"] = new_subsets
    new["metadata"]["annotations"] = annotations
    if not annotations:
        del new["metadata"]["annotations"]
    if not is_service_ip_set(service):
        svc_labels[HEADLESS_LABEL] = ""
    new["metadata"]["labels"] = svc_labels
    return new


# --- the controller ----------------------------------------------------------------------


@register("endpoint")
class EndpointsController(ReconcileController):
    name = "endpoint"
    workers = 5  # upstream --concurrent-endpoint-syncs

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.services = ctx.informers.informer(SERVICES)
        self.pods = ctx.informers.informer(PODS)
        self.endpoints = ctx.informers.informer(ENDPOINTS)
        self.services.add_event_handler(**self.handlers())
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=self._pod_updated,
                                    on_delete=lambda obj: self._pod_changed(object_of(obj)))
        self.endpoints.add_event_handler(on_delete=lambda obj: self.enqueue(object_of(obj)))

    def _pod_changed(self, pod: Obj) -> None:
        for key in services_for_pod(self._services_in(pod), pod):
            self.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return  # a resync: nothing changed
        keys = set(services_for_pod(self._services_in(new), new))
        if old["metadata"].get("labels") != new["metadata"].get("labels"):
            keys |= set(services_for_pod(self._services_in(old), old))
        for key in sorted(keys):
            self.queue.add(key)

    def _services_in(self, pod: Obj) -> list[Obj]:
        return self.services.store.list_namespace(pod["metadata"].get("namespace") or "")

    async def run(self, workers: int | None = None) -> None:
        # checkLeftoverEndpoints: Endpoints whose Service went while we were away.
        for ep in self.endpoints.store.list():
            if LEADER_ANNOTATION not in ((ep["metadata"].get("annotations")) or {}):
                self.enqueue(ep)
        await super().run(workers)

    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.store.get(key)
        if service is None:
            try:
                await self.client.delete(ENDPOINTS, name, namespace=namespace)
            except Exception as err:
                if not is_not_found(err):
                    raise
            return
        if (service.get("spec") or {}).get("type") == "ExternalName":
            return
        if selector_of(service) is None:
            return
        pods = pods_for_service(self.pods.store.list_namespace(namespace), service)
        current = self.endpoints.store.get(key)
        new = desired_endpoints(service, current, compute_subsets(service, pods))
        if new is not None:
            await self._write(service, new, create=current is None)

    async def _write(self, service: Obj, endpoints: Obj, *, create: bool) -> None:
        namespace = service["metadata"]["namespace"]
        try:
            if create:
                await self.client.create(ENDPOINTS, endpoints, namespace=namespace)
            else:
                await self.client.update(ENDPOINTS, endpoints, namespace=namespace)
        except Exception as err:
            if create and namespace_terminating(err):
                return  # every create will fail: drop the item
            reason, verb = (("FailedToCreateEndpoint", "Failed to create endpoint for service")
                            if create else ("FailedToUpdateEndpoint",
                                            "Failed to update endpoint"))
            self.recorder.event(endpoints, WARNING, reason,
                                f"{verb} {namespace}/{service['metadata']['name']}: {err}")
            raise
