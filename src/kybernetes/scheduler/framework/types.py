"""PodInfo, NodeInfo and friends: pods and nodes as the scheduler sees them.

A `PodInfo` wraps a pod dict with what every cycle would otherwise recompute:
its requests, priority, host ports and parsed (anti-)affinity terms. A
`NodeInfo` aggregates one node and the pods assigned to it: requested and
allocatable resources, used host ports, image states. Both are built once
per object version and then only read, except that preemption works on
`NodeInfo.clone()` copies and adds/removes pods there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import LabelSelector, label_selector_from_dict
from kybernetes.scheduler.framework.resources import (
    NON_ZERO_DEFAULTS,
    Resource,
    pod_requests,
)

Obj = Mapping[str, Any]

DEFAULT_BIND_ALL_HOST_IP = "0.0.0.0"


def pod_key(pod: Obj) -> str:
    """namespace/name, the queue's and the nominator's key for a pod."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def pod_priority(pod: Obj) -> int:
    """`corev1helpers.PodPriority`: spec.priority, 0 when unset."""
    priority = (pod.get("spec") or {}).get("priority")
    return priority if isinstance(priority, int) else 0


def parse_time(value: Any) -> float | None:
    """RFC 3339 timestamp -> POSIX seconds; None when absent or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A parsed PodAffinityTerm (`framework.AffinityTerm`)."""

    namespaces: frozenset[str]
    selector: LabelSelector
    topology_key: str
    namespace_selector: LabelSelector

    def matches(self, pod: PodInfo, namespace_labels: Mapping[str, str] | None) -> bool:
        """The pod is in one of the term's namespaces and its labels match the selector."""
        if pod.namespace in self.namespaces or self.namespace_selector.matches(namespace_labels):
            return self.selector.matches(pod.labels)
        return False


@dataclass(frozen=True, slots=True)
class WeightedAffinityTerm:
    term: AffinityTerm
    weight: int


def _affinity_term(namespace: str, term: Obj) -> AffinityTerm:
    names = term.get("namespaces") or []
    ns_selector = term.get("namespaceSelector")
    # Neither namespaces nor namespaceSelector: the pod's own namespace.
    namespaces = frozenset(names) if (names or ns_selector is not None) else frozenset({namespace})
    return AffinityTerm(
        namespaces=namespaces,
        selector=label_selector_from_dict(term.get("labelSelector")),
        topology_key=term.get("topologyKey") or "",
        namespace_selector=label_selector_from_dict(ns_selector),
    )


class PodInfo:
    """A pod plus everything the scheduler derives from it once (`framework.PodInfo`).

    `parse_error` is set (and the affinity terms left empty) when a label
    selector in the pod's affinity does not parse; InterPodAffinity rejects
    such a pod, other plug-ins ignore its terms, as upstream.
    """

    __slots__ = (
        "host_ports",
        "key",
        "labels",
        "name",
        "namespace",
        "node_name",
        "non0_cpu",
        "non0_mem",
        "non0_requests",
        "parse_error",
        "pod",
        "preferred_affinity_terms",
        "preferred_anti_affinity_terms",
        "priority",
        "requests",
        "required_affinity_terms",
        "required_anti_affinity_terms",
        "spec",
        "start_time",
        "terminating",
        "uid",
    )

    def __init__(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.pod = pod
        self.spec = spec
        self.name: str = meta.get("name") or ""
        self.namespace: str = meta.get("namespace") or ""
        self.uid: str = meta.get("uid") or ""
        self.key = f"{self.namespace}/{self.name}"
        self.labels: Mapping[str, str] = meta.get("labels") or {}
        self.terminating = meta.get("deletionTimestamp") is not None
        self.node_name: str = spec.get("nodeName") or ""
        self.priority = pod_priority(pod)
        start = parse_time((pod.get("status") or {}).get("startTime"))
        # GetPodStartTime: a pod that has not started counts as starting "now", i.e. latest.
        self.start_time = start if start is not None else float("inf")
        self.requests = Resource.from_requests(pod_requests(spec))
        # The non-zero variant differs only when some container omits cpu or memory.
        self.non0_requests = (self.requests if _requests_cpu_and_memory(spec) else
                              Resource.from_requests(pod_requests(spec,
                                                                  non_missing=NON_ZERO_DEFAULTS)))
        self.non0_cpu = self.non0_requests.milli_cpu
        self.non0_mem = self.non0_requests.memory
        self.host_ports = _host_ports(spec)
        self.parse_error: str | None = None
        self.required_affinity_terms: tuple[AffinityTerm, ...] = ()
        self.required_anti_affinity_terms: tuple[AffinityTerm, ...] = ()
        self.preferred_affinity_terms: tuple[WeightedAffinityTerm, ...] = ()
        self.preferred_anti_affinity_terms: tuple[WeightedAffinityTerm, ...] = ()
        affinity = spec.get("affinity") or {}
        if affinity.get("podAffinity") or affinity.get("podAntiAffinity"):
            try:
                self._parse_affinity(affinity)
            except StatusError as err:
                self.parse_error = err.message

    def _parse_affinity(self, affinity: Obj) -> None:
        ns = self.namespace
        pa = affinity.get("podAffinity") or {}
        paa = affinity.get("podAntiAffinity") or {}
        required = "requiredDuringSchedulingIgnoredDuringExecution"
        preferred = "preferredDuringSchedulingIgnoredDuringExecution"
        self.required_affinity_terms = tuple(_affinity_term(ns, t) for t in pa.get(required) or ())
        self.required_anti_affinity_terms = tuple(
            _affinity_term(ns, t) for t in paa.get(required) or ())
        self.preferred_affinity_terms = tuple(
            WeightedAffinityTerm(_affinity_term(ns, w.get("podAffinityTerm") or {}),
                                 int(w.get("weight") or 0))
            for w in pa.get(preferred) or ())
        self.preferred_anti_affinity_terms = tuple(
            WeightedAffinityTerm(_affinity_term(ns, w.get("podAffinityTerm") or {}),
                                 int(w.get("weight") or 0))
            for w in paa.get(preferred) or ())

    def updated(self, pod: Obj) -> PodInfo:
        """A PodInfo for a newer version of the same pod (same uid).

        Building a PodInfo costs 25-80 us; when the spec and labels are unchanged
        (status or annotation updates, the informer confirming a bind) the derived
        fields are reused and only `pod`, `terminating` and `start_time` are refreshed.
        """
        if pod is self.pod:
            return self
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        if (spec != self.spec or (meta.get("labels") or {}) != self.labels
                or (meta.get("uid") or "") != self.uid):
            return PodInfo(pod)
        out = self._copy()
        out.pod = pod
        out.spec = spec
        out.terminating = meta.get("deletionTimestamp") is not None
        start = parse_time((pod.get("status") or {}).get("startTime"))
        out.start_time = start if start is not None else float("inf")
        return out

    def assumed_on(self, node_name: str) -> PodInfo:
        """This pod as the cache assumes it: a shallow copy with `spec.nodeName` set."""
        spec = {**self.spec, "nodeName": node_name}
        out = self._copy()
        out.pod = {**self.pod, "spec": spec}
        out.spec = spec
        out.node_name = node_name
        return out

    def _copy(self) -> PodInfo:
        out = PodInfo.__new__(PodInfo)
        for slot in PodInfo.__slots__:
            setattr(out, slot, getattr(self, slot))
        return out

    @property
    def has_affinity(self) -> bool:
        """Any pod (anti-)affinity term, required or preferred (`PodsWithAffinity`)."""
        return bool(self.required_affinity_terms or self.required_anti_affinity_terms
                    or self.preferred_affinity_terms or self.preferred_anti_affinity_terms)

    @property
    def tolerations(self) -> list[Obj]:
        return self.spec.get("tolerations") or []

    def __repr__(self) -> str:
        return f"PodInfo({self.key})"


def _requests_cpu_and_memory(spec: Obj) -> bool:
    for group in ("containers", "initContainers"):
        for container in spec.get(group) or ():
            requests = (container.get("resources") or {}).get("requests") or {}
            if "cpu" not in requests or "memory" not in requests:
                return False
    return True


def as_pod_info(pod: Obj | PodInfo) -> PodInfo:
    return pod if isinstance(pod, PodInfo) else PodInfo(pod)


def _host_ports(spec: Obj) -> tuple[tuple[str, str, int], ...]:
    """(hostIP, protocol, hostPort) of every container and sidecar port with a hostPort."""
    out: list[tuple[str, str, int]] = []
    containers = list(spec.get("containers") or ())
    containers += [c for c in spec.get("initContainers") or ()
                   if c.get("restartPolicy") == "Always"]
    for container in containers:
        for port in container.get("ports") or ():
            host_port = port.get("hostPort") or 0
            if host_port > 0:
                out.append((port.get("hostIP") or DEFAULT_BIND_ALL_HOST_IP,
                            port.get("protocol") or "TCP", int(host_port)))
    return tuple(out)


class HostPortInfo:
    """Used host ports of a node: ip -> {(protocol, port)} (`framework.HostPortInfo`)."""

    __slots__ = ("_by_ip",)

    def __init__(self) -> None:
        self._by_ip: dict[str, dict[tuple[str, int], int]] = {}

    def add(self, ip: str, protocol: str, port: int) -> None:
        entries = self._by_ip.setdefault(ip or DEFAULT_BIND_ALL_HOST_IP, {})
        key = (protocol or "TCP", port)
        entries[key] = entries.get(key, 0) + 1

    def remove(self, ip: str, protocol: str, port: int) -> None:
        ip = ip or DEFAULT_BIND_ALL_HOST_IP
        entries = self._by_ip.get(ip)
        key = (protocol or "TCP", port)
        if entries is None or key not in entries:
            return
        entries[key] -= 1
        if entries[key] <= 0:
            del entries[key]
            if not entries:
                del self._by_ip[ip]

    def check_conflict(self, ip: str, protocol: str, port: int) -> bool:
        """True if (ip, protocol, port) collides; 0.0.0.0 collides with every IP."""
        if port <= 0:
            return False
        ip = ip or DEFAULT_BIND_ALL_HOST_IP
        key = (protocol or "TCP", port)
        if ip == DEFAULT_BIND_ALL_HOST_IP:
            return any(key in entries for entries in self._by_ip.values())
        for candidate in (DEFAULT_BIND_ALL_HOST_IP, ip):
            entries = self._by_ip.get(candidate)
            if entries is not None and key in entries:
                return True
        return False

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_ip.values())

    def clone(self) -> HostPortInfo:
        out = HostPortInfo()
        out._by_ip = {ip: dict(entries) for ip, entries in self._by_ip.items()}
        return out


@dataclass(frozen=True, slots=True)
class ImageStateSummary:
    """An image's size and on how many nodes of the snapshot it is present."""

    size: int
    num_nodes: int


class NodeInfo:
    """A node and the pods on it, with their aggregate resource use (`framework.NodeInfo`)."""

    __slots__ = (
        "allocatable", "image_states", "labels", "name", "node", "non_zero_requested", "pods",
        "pods_with_affinity", "pods_with_required_anti_affinity", "requested", "taints",
        "unschedulable", "used_ports",
    )

    def __init__(self, node: Obj, pods: Iterable[PodInfo] = ()) -> None:
        self.node: Obj
        self.name: str
        self.labels: Mapping[str, str]
        self.taints: list[Obj]
        self.unschedulable: bool
        self.allocatable: Resource
        self.set_node(node)
        self.pods: list[PodInfo] = []
        self.pods_with_affinity: list[PodInfo] = []
        self.pods_with_required_anti_affinity: list[PodInfo] = []
        self.requested = Resource()
        self.non_zero_requested = Resource()
        self.used_ports = HostPortInfo()
        self.image_states: dict[str, ImageStateSummary] = {}
        for pod in pods:
            self.add_pod(pod)

    def set_node(self, node: Obj) -> None:
        """Point this NodeInfo at another version of its node; its pods and sums stay."""
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        self.node = node
        self.name = meta.get("name") or ""
        self.labels = meta.get("labels") or {}
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))
        self.allocatable = Resource.from_list((node.get("status") or {}).get("allocatable"))

    def add_pod(self, pod: PodInfo) -> None:
        self.pods.append(pod)
        if pod.has_affinity:
            self.pods_with_affinity.append(pod)
        if pod.required_anti_affinity_terms:
            self.pods_with_required_anti_affinity.append(pod)
        self._account(pod, 1)

    def remove_pod(self, pod: PodInfo) -> None:
        """Remove the pod with the same key (uid when both have one); KeyError if absent."""
        removed = _pop_same(self.pods, pod)
        if removed is None:
            raise KeyError(f"no corresponding pod {pod.key} in pods of node {self.name}")
        _pop_same(self.pods_with_affinity, pod)
        _pop_same(self.pods_with_required_anti_affinity, pod)
        self._account(removed, -1)

    def _account(self, pod: PodInfo, sign: int) -> None:
        self.requested.add(pod.requests, sign)
        self.non_zero_requested.milli_cpu += sign * pod.non0_cpu
        self.non_zero_requested.memory += sign * pod.non0_mem
        for ip, protocol, port in pod.host_ports:
            if sign > 0:
                self.used_ports.add(ip, protocol, port)
            else:
                self.used_ports.remove(ip, protocol, port)

    def clone(self) -> NodeInfo:
        """A copy whose pod lists and counters can change without touching this one."""
        out = NodeInfo.__new__(NodeInfo)
        out.node = self.node
        out.name = self.name
        out.labels = self.labels
        out.taints = self.taints
        out.unschedulable = self.unschedulable
        out.allocatable = self.allocatable
        out.pods = list(self.pods)
        out.pods_with_affinity = list(self.pods_with_affinity)
        out.pods_with_required_anti_affinity = list(self.pods_with_required_anti_affinity)
        out.requested = self.requested.clone()
        out.non_zero_requested = self.non_zero_requested.clone()
        out.used_ports = self.used_ports.clone()
        out.image_states = self.image_states
        return out

    def __repr__(self) -> str:
        return f"NodeInfo({self.name}, pods={len(self.pods)})"


def _same_pod(a: PodInfo, b: PodInfo) -> bool:
    if a.uid and b.uid:
        return a.uid == b.uid
    return a.key == b.key


def _pop_same(pods: list[PodInfo], pod: PodInfo) -> PodInfo | None:
    for i, existing in enumerate(pods):
        if _same_pod(existing, pod):
            return pods.pop(i)
    return None


@dataclass(slots=True)
class QueuedPodInfo:
    """A pod in the scheduling queue with its queueing bookkeeping (`framework.QueuedPodInfo`).

    `timestamp` is when the pod was last added to the queue (it orders pods of
    equal priority and starts the back-off); `attempts` counts scheduling
    attempts; `unschedulable_plugins` names the plug-ins that rejected it last
    time, which decides what cluster events may move it back to the active queue.
    """

    pod_info: PodInfo
    timestamp: float
    attempts: int = 0
    initial_attempt_timestamp: float | None = None
    unschedulable_plugins: frozenset[str] = frozenset()
    pending_plugins: frozenset[str] = frozenset()
    gated: bool = False

    @property
    def pod(self) -> Obj:
        return self.pod_info.pod

    @property
    def key(self) -> str:
        return self.pod_info.key
