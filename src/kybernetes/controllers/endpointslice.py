"""The EndpointSlice controller: a Service's EndpointSlices from the pods it selects.

Upstream pkg/controller/endpointslice and k8s.io/endpointslice (reconciler.go,
utils.go, util/endpointslice_tracker.go), v1.32, without topology hints.

Keys are Services. Pods enqueue the services that select them; a managed slice
that changes or goes enqueues its service (label `kubernetes.io/service-name`).
Slices carry that label, `endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io`, the service's labels (plus
`service.kubernetes.io/headless` when headless) and a controller reference to
the Service, so the garbage collector removes them with it.

A sync plans per address type of the service (its ipFamilies) and per distinct
set of ports (named target ports resolve per pod): endpoints keep their slice
where they are, changed ones are updated in place, new ones fill the fullest
slices first, up to `max_endpoints_per_slice` (100) each; a service without
endpoints keeps one empty placeholder slice. Pods on nodes the cache does not
know are left out and the sync retried (unless publishNotReadyAddresses).
Terminating pods stay listed with `ready: false, terminating: true`.

Because a create uses generateName, a sync must never run on a cache that has
not seen its own previous writes: the tracker remembers each written slice's
resourceVersion (and expected deletions) and a sync on a stale cache is retried.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.names import validate_name
from kybernetes.client import is_not_found, object_of, split_key
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.endpointutil import (
    HEADLESS_LABEL,
    canonical_ip,
    find_port,
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
NODES = ("v1", "Node")
SLICES = ("discovery.k8s.io/v1", "EndpointSlice")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100
SERVICE_INDEX = "endpointslice/service"
_RESERVED_LABELS = frozenset({SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL})


class StaleCache(Exception):
    """The slice cache has not caught up with this controller's own writes yet."""


# --- desired endpoints -------------------------------------------------------------------


def address_types(service: Obj) -> list[str]:
    """The slices' address types: the service's ipFamilies, else its ClusterIP's
    family, else (headless, never defaulted) both (getAddressTypesForService)."""
    spec = service.get("spec") or {}
    families = [f for f in spec.get("ipFamilies") or [] if f in ("IPv4", "IPv6")]
    if families:
        return sorted(set(families))
    if is_service_ip_set(service):
        return ["IPv6" if is_ipv6(spec["clusterIP"]) else "IPv4"]
    return ["IPv4", "IPv6"]


def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    spec = service.get("spec") or {}
    out = []
    for service_port in spec.get("ports") or []:
        number = find_port(pod, service_port)
        if number is None:
            continue
        port: Obj = {"name": service_port.get("name") or "", "port": number,
                     "protocol": service_port.get("protocol") or "TCP"}
        if service_port.get("appProtocol"):
            port["appProtocol"] = service_port["appProtocol"]
        out.append(port)
    return out


def pod_to_endpoint(pod: Obj, node: Obj | None, service: Obj, address_type: str) -> Obj:
    serving = is_pod_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    want_v6 = address_type == "IPv6"
    endpoint: Obj = {
        "addresses": [canonical_ip(ip) for ip in pod_ips(pod) if is_ipv6(ip) == want_v6],
        # "ready" is never true for a terminating pod, unless publishNotReadyAddresses.
        "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                       "terminating": terminating},
        "targetRef": target_ref(pod),
    }
    if (pod.get("spec") or {}).get("nodeName"):
        endpoint["nodeName"] = pod["spec"]["nodeName"]
    zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE_LABEL)
    if zone:
        endpoint["zone"] = zone
    if should_set_hostname(pod, service):
        endpoint["hostname"] = pod["spec"]["hostname"]
    return endpoint


def endpoint_hash(endpoint: Obj) -> tuple[Any, ...]:
    """What identifies an endpoint across syncs: addresses, hostname, target pod."""
    ref = endpoint.get("targetRef") or {}
    return (tuple(sorted(endpoint.get("addresses") or [])), endpoint.get("hostname", ""),
            ref.get("namespace", ""), ref.get("name", ""))


def _beyond_hash(endpoint: Obj) -> tuple[Any, ...]:
    cond = endpoint.get("conditions") or {}
    return (endpoint.get("nodeName"), endpoint.get("zone"), cond.get("ready"),
            cond.get("serving"), cond.get("terminating"), without_rv(endpoint.get("targetRef")))


def port_map_key(ports: Iterable[Obj]) -> tuple[Any, ...]:
    return tuple(sorted(tuple(sorted(p.items())) for p in ports))


# --- slices ------------------------------------------------------------------------------


def slice_labels(current: Obj | None, service: Obj) -> tuple[dict[str, str], bool]:
    """The slice's labels for `service`, and whether the non-reserved ones differ
    from the slice's (setEndpointSliceLabels)."""
    current_labels = {k: v for k, v in (((current or {}).get("metadata") or {}).get("labels")
                                        or {}).items() if k not in _RESERVED_LABELS}
    labels = {k: v for k, v in (service["metadata"].get("labels") or {}).items()
              if k not in _RESERVED_LABELS}
    changed = current_labels != labels
    if not is_service_ip_set(service):
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels, changed


def owned_by(slice_: Obj, service: Obj) -> bool:
    uid = service["metadata"].get("uid")
    return any(r.get("uid") == uid and r.get("kind") == "Service" and r.get("apiVersion") == "v1"
               for r in slice_["metadata"].get("ownerReferences") or [])


def slice_prefix(service_name: str) -> str:
    prefix = f"{service_name}-"
    ok = not validate_name("discovery.k8s.io", "EndpointSlice", prefix, prefix=True)
    return prefix if ok else service_name


def new_slice(service: Obj, ports: list[Obj], address_type: str) -> Obj:
    meta = service["metadata"]
    labels, _ = slice_labels(None, service)
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": slice_prefix(meta["name"]),
                         "namespace": meta["namespace"], "labels": labels,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                              "name": meta["name"], "uid": meta.get("uid", ""),
                                              "controller": True,
                                              "blockOwnerDeletion": True}]},
            "addressType": address_type, "endpoints": [], "ports": ports}


def _is_placeholder_of(existing: Obj, placeholder: Obj) -> bool:
    """placeholderSliceCompare: namespace, labels, address type, no endpoints or ports."""
    a, b = existing["metadata"], placeholder["metadata"]
    return (a.get("namespace") == b.get("namespace")
            and (a.get("labels") or {}) == (b.get("labels") or {})
            and existing.get("addressType") == placeholder.get("addressType")
            and not existing.get("endpoints") and not existing.get("ports"))


@dataclass
class Plan:
    """The writes one sync needs; `skipped` explains pods left out (retry later)."""

    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.create += other.create
        self.update += other.update
        self.delete += other.delete
        self.skipped += other.skipped


def plan(service: Obj, pods: list[Obj], existing: list[Obj],
         node: Callable[[str], Obj | None], max_per_slice: int = MAX_ENDPOINTS_PER_SLICE
         ) -> Plan:
    """Reconciler.Reconcile as a pure function: the creates, updates and deletes that
    bring `existing` (this service's managed slices) to the desired state."""
    types = address_types(service)
    out = Plan(delete=[s for s in existing if s.get("addressType") not in types])
    for address_type in types:
        mine = [s for s in existing if s.get("addressType") == address_type]
        out.extend(_plan_address_type(service, pods, mine, address_type, node, max_per_slice))
    _creates_to_updates(service, out)
    return out


def _desired(service: Obj, pods: list[Obj], address_type: str,
             node: Callable[[str], Obj | None], skipped: list[str]
             ) -> tuple[dict[tuple[Any, ...], list[Obj]], dict[tuple[Any, ...], dict]]:
    ports_by_key: dict[tuple[Any, ...], list[Obj]] = {}
    endpoints_by_key: dict[tuple[Any, ...], dict[tuple[Any, ...], Obj]] = {}
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, True):
            continue
        ports = endpoint_ports(service, pod)  # none for a headless service without ports
        key = port_map_key(ports)
        ports_by_key.setdefault(key, ports)
        wanted = endpoints_by_key.setdefault(key, {})
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        node_obj = node(node_name)
        if node_obj is None and not publish:
            skipped.append(f"skipping Pod {pod['metadata']['name']} for Service "
                           f"{service['metadata']['namespace']}/{service['metadata']['name']}: "
                           f"Node {node_name} Not Found")
            continue
        endpoint = pod_to_endpoint(pod, node_obj, service, address_type)
        if endpoint["addresses"]:
            wanted[endpoint_hash(endpoint)] = endpoint
    return ports_by_key, endpoints_by_key


def _plan_address_type(service: Obj, pods: list[Obj], existing: list[Obj], address_type: str,
                       node: Callable[[str], Obj | None], max_per_slice: int) -> Plan:
    out = Plan()
    by_key: dict[tuple[Any, ...], list[Obj]] = {}
    for s in existing:
        if owned_by(s, service):
            by_key.setdefault(port_map_key(s.get("ports") or []), []).append(s)
        else:
            out.delete.append(s)
    ports_by_key, wanted_by_key = _desired(service, pods, address_type, node, out.skipped)
    for key, wanted in wanted_by_key.items():
        c, u, d = _plan_port_mapping(service, by_key.get(key, []), wanted, ports_by_key[key],
                                     address_type, max_per_slice)
        out.create += c
        out.update += u
        out.delete += d
    for key, slices in by_key.items():
        if key not in wanted_by_key:
            out.delete += slices
    if len(existing) == len(out.delete) and not out.create:
        placeholder = new_slice(service, [], address_type)
        if len(out.delete) == 1 and _is_placeholder_of(out.delete[0], placeholder):
            out.delete = []
        else:
            out.create.append(placeholder)
    return out


@dataclass
class _Slices:
    """One port mapping's existing slices by name, sorted by what happens to them."""

    by_name: dict[str, Obj] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    to_update: list[str] = field(default_factory=list)
    to_delete: list[str] = field(default_factory=list)


def _sort_existing(service: Obj, existing: list[Obj], wanted: dict[tuple[Any, ...], Obj]
                   ) -> _Slices:
    """Step 1: keep wanted endpoints where they are (taking them out of `wanted`),
    drop unwanted ones, and see which slices change (endpoints or labels)."""
    out = _Slices()
    for s in existing:
        name = s["metadata"]["name"]
        out.by_name[name] = s
        kept, updated = [], False
        for endpoint in s.get("endpoints") or []:
            got = wanted.pop(endpoint_hash(endpoint), None)
            if got is not None:
                kept.append(got)
                updated = updated or _beyond_hash(got) != _beyond_hash(endpoint)
        labels, labels_changed = slice_labels(s, service)
        if updated or len(kept) != len(s.get("endpoints") or []):
            if not kept:
                out.to_delete.append(name)
                continue
            out.by_name[name] = {**copy.deepcopy(s), "endpoints": kept}
        elif labels_changed:
            out.by_name[name] = copy.deepcopy(s)
        else:
            out.unchanged.append(name)
            continue
        out.by_name[name]["metadata"]["labels"] = labels
        out.to_update.append(name)
    return out


def _plan_port_mapping(service: Obj, existing: list[Obj], wanted: dict[tuple[Any, ...], Obj],
                       ports: list[Obj], address_type: str, max_per_slice: int
                       ) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """reconcileByPortMapping: keep endpoints in place, update changed ones, fill the
    fullest changed slices, then an unchanged slice that fits, then new slices."""
    wanted = dict(wanted)
    sl = _sort_existing(service, existing, wanted)
    pending = list(wanted.values())
    for name in sorted(sl.to_update, key=lambda n: -len(sl.by_name[n]["endpoints"])):
        room = max(max_per_slice - len(sl.by_name[name]["endpoints"]), 0)
        sl.by_name[name]["endpoints"] += pending[:room]
        pending = pending[room:]
    creates: list[Obj] = []
    while pending:
        fill = None
        if len(pending) < max_per_slice and sl.unchanged:
            fill = _slice_to_fill([sl.by_name[n] for n in sl.unchanged], len(pending),
                                  max_per_slice)
        if fill is None:
            fill = new_slice(service, ports, address_type)
        else:
            fill = copy.deepcopy(fill)
            sl.by_name[fill["metadata"]["name"]] = fill
        room = max_per_slice - len(fill["endpoints"])
        fill["endpoints"] = list(fill["endpoints"]) + pending[:room]
        pending = pending[room:]
        name = fill["metadata"].get("name")
        if name:
            sl.to_update.append(name)
            sl.unchanged.remove(name)
        else:
            creates.append(fill)
    return (creates, [sl.by_name[n] for n in sl.to_update],
            [sl.by_name[n] for n in sl.to_delete])


def _slice_to_fill(slices: list[Obj], count: int, max_per_slice: int) -> Obj | None:
    """The slice closest to full once `count` endpoints are added (getSliceToFill)."""
    best, best_diff = None, max_per_slice
    for s in slices:
        diff = max_per_slice - (count + len(s.get("endpoints") or []))
        if 0 <= diff < best_diff:
            best, best_diff = s, diff
            if diff == 0:
                break
    return best


def _creates_to_updates(service: Obj, out: Plan) -> None:
    """finalize: reuse slices about to be deleted for slices about to be created
    (same address type, owned by this service) instead of delete + create."""
    i = 0
    while i < len(out.delete) and out.create:
        old, new = out.delete[i], out.create[-1]
        if old.get("addressType") == new.get("addressType") and owned_by(old, service):
            reused = copy.deepcopy(new)
            reused["metadata"] = {**copy.deepcopy(old["metadata"]),
                                  "labels": new["metadata"]["labels"]}
            reused["metadata"].pop("generateName", None)
            out.create.pop()
            out.update.append(reused)
            out.delete.pop(i)
        else:
            i += 1


# --- the tracker -------------------------------------------------------------------------

_DELETED = -1


def _rv(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


class SliceTracker:
    """What this controller last wrote per service: slice uid -> resourceVersion, or
    _DELETED (EndpointSliceTracker, on resourceVersions: this apiserver's are the
    store's revision, so "newer" is "larger")."""

    def __init__(self) -> None:
        self.by_service: dict[str, dict[str, int]] = {}

    def wrote(self, service_key: str, slice_: Obj) -> None:
        self.by_service.setdefault(service_key, {})[slice_["metadata"]["uid"]] = _rv(slice_)

    def expect_deletion(self, service_key: str, slice_: Obj) -> None:
        self.by_service.setdefault(service_key, {})[slice_["metadata"]["uid"]] = _DELETED

    def deleted(self, service_key: str, slice_: Obj) -> None:
        self.by_service.get(service_key, {}).pop(slice_["metadata"].get("uid"), None)

    def forget(self, service_key: str) -> None:
        self.by_service.pop(service_key, None)

    def stale(self, service_key: str, cached: list[Obj]) -> bool:
        written = self.by_service.get(service_key)
        if not written:
            return False
        seen = {s["metadata"].get("uid"): _rv(s) for s in cached}
        for uid, rv in written.items():
            if rv == _DELETED:
                if uid in seen:
                    return True
            elif uid not in seen or seen[uid] < rv:
                return True
        return False


# --- the controller ----------------------------------------------------------------------


def _service_key_of_slice(slice_: Obj) -> list[str]:
    name = (slice_["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{slice_['metadata'].get('namespace', '')}/{name}"] if name else []


@register("endpointslice")
class EndpointSliceController(ReconcileController):
    name = "endpointslice"
    workers = 5  # upstream --concurrent-service-endpoint-syncs

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.max_per_slice = int(ctx.options.get("max_endpoints_per_slice",
                                                 MAX_ENDPOINTS_PER_SLICE))
        self.tracker = SliceTracker()
        self.services = ctx.informers.informer(SERVICES)
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        self.slices = ctx.informers.informer(
            SLICES, label_selector=f"{MANAGED_BY_LABEL}={CONTROLLER_NAME}",
            indexers={SERVICE_INDEX: _service_key_of_slice})
        self.services.add_event_handler(**self.handlers())
        self.pods.add_event_handler(on_add=self._pod_changed, on_update=self._pod_updated,
                                    on_delete=lambda obj: self._pod_changed(object_of(obj)))
        self.slices.add_event_handler(**self.handlers(self._slice_service_key))
        self.slices.add_event_handler(on_delete=self._slice_deleted)

    def _slice_service_key(self, slice_: Obj) -> str | None:
        keys = _service_key_of_slice(slice_)
        return keys[0] if keys else None

    def _slice_deleted(self, obj: Any) -> None:
        slice_ = object_of(obj)
        for key in _service_key_of_slice(slice_):
            self.tracker.deleted(key, slice_)

    def _pod_changed(self, pod: Obj) -> None:
        for key in services_for_pod(self._services_in(pod), pod):
            self.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        keys = set(services_for_pod(self._services_in(new), new))
        if old["metadata"].get("labels") != new["metadata"].get("labels"):
            keys |= set(services_for_pod(self._services_in(old), old))
        for key in sorted(keys):
            self.queue.add(key)

    def _services_in(self, pod: Obj) -> list[Obj]:
        return self.services.store.list_namespace(pod["metadata"].get("namespace") or "")

    async def reconcile(self, key: str) -> None:
        namespace, _ = split_key(key)
        service = self.services.store.get(key)
        if service is None:
            self.tracker.forget(key)  # its slices go with it (garbage collector)
            return
        if (service.get("spec") or {}).get("type") == "ExternalName":
            return
        if selector_of(service) is None:
            return
        existing = self.slices.store.by_index(SERVICE_INDEX, key)
        if self.tracker.stale(key, existing):
            raise StaleCache(f"endpointslice cache for service {key} is out of date")
        pods = pods_for_service(self.pods.store.list_namespace(namespace), service)
        out = plan(service, pods, existing, self.nodes.store.get, self.max_per_slice)
        await self._execute(key, service, out)
        if out.skipped:
            raise RuntimeError("; ".join(out.skipped))

    async def _execute(self, key: str, service: Obj, out: Plan) -> None:
        namespace = service["metadata"]["namespace"]
        # No new slices for a service being deleted: the collector is removing them.
        if not service["metadata"].get("deletionTimestamp"):
            for s in out.create:
                try:
                    self.tracker.wrote(key, await self.client.create(SLICES, s,
                                                                     namespace=namespace))
                except Exception as err:
                    if namespace_terminating(err):
                        return
                    raise
        for s in out.update:
            self.tracker.wrote(key, await self.client.update(SLICES, s, namespace=namespace))
        for s in out.delete:
            try:
                await self.client.delete(SLICES, s["metadata"]["name"], namespace=namespace)
            except Exception as err:
                if not is_not_found(err):
                    raise
            self.tracker.expect_deletion(key, s)
