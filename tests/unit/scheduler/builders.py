"""Object builders and plug-in drivers for scheduler unit tests.

    make_pod("p", cpu="100m", node="n1", labels={"app": "web"})
    make_node("n1", cpu="4", labels={ZONE: "a"}, taints=[taint("k", "v")])
    statuses = filter_nodes(plugin, pod, snapshot)        # node -> Status | None
    scores = score_nodes(plugin, pod, snapshot)           # node -> normalized score
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import NodeScore
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def container(name: str = "c", *, cpu: str | None = None, memory: str | None = None,
              image: str = "busybox", ports: Sequence[Mapping[str, Any]] = (),
              restart_policy: str | None = None, **requests: str) -> dict[str, Any]:
    reqs = {k.replace("_", "-"): v for k, v in requests.items()}
    if cpu is not None:
        reqs["cpu"] = cpu
    if memory is not None:
        reqs["memory"] = memory
    out: dict[str, Any] = {"name": name, "image": image}
    if reqs:
        out["resources"] = {"requests": reqs}
    if ports:
        out["ports"] = [dict(p) for p in ports]
    if restart_policy:
        out["restartPolicy"] = restart_policy
    return out


def make_pod(name: str = "p", *, namespace: str = "default", cpu: str | None = None,
             memory: str | None = None, node: str | None = None, priority: int | None = None,
             labels: Mapping[str, str] | None = None, containers: Sequence[Any] | None = None,
             init_containers: Sequence[Any] = (), overhead: Mapping[str, str] | None = None,
             tolerations: Sequence[Mapping[str, Any]] = (),
             node_selector: Mapping[str, str] | None = None,
             affinity: Mapping[str, Any] | None = None,
             spread: Sequence[Mapping[str, Any]] = (),
             ports: Sequence[Mapping[str, Any]] = (), gates: Sequence[str] = (),
             start_time: str | None = None, uid: str | None = None,
             scheduler_name: str | None = None, image: str = "busybox",
             nominated: str | None = None, preemption_policy: str | None = None,
             owner: Mapping[str, Any] | None = None, phase: str | None = None,
             deleting: bool = False, conditions: Sequence[Mapping[str, Any]] = (),
             **requests: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}"}
    if labels:
        meta["labels"] = dict(labels)
    if owner:
        meta["ownerReferences"] = [dict(owner, controller=True)]
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    spec: dict[str, Any] = {
        "containers": list(containers) if containers is not None else [
            container(cpu=cpu, memory=memory, image=image, ports=ports, **requests)],
    }
    for key, value in (("nodeName", node), ("priority", priority), ("overhead", overhead),
                       ("nodeSelector", node_selector), ("affinity", affinity),
                       ("schedulerName", scheduler_name),
                       ("preemptionPolicy", preemption_policy)):
        if value is not None:
            spec[key] = value
    if init_containers:
        spec["initContainers"] = list(init_containers)
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    if spread:
        spec["topologySpreadConstraints"] = [dict(c) for c in spread]
    if gates:
        spec["schedulingGates"] = [{"name": g} for g in gates]
    status: dict[str, Any] = {}
    if start_time:
        status["startTime"] = start_time
    if nominated:
        status["nominatedNodeName"] = nominated
    if phase:
        status["phase"] = phase
    if conditions:
        status["conditions"] = [dict(c) for c in conditions]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def make_node(name: str = "n1", *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
              labels: Mapping[str, str] | None = None,
              taints: Sequence[Mapping[str, Any]] = (), unschedulable: bool = False,
              images: Sequence[tuple[Sequence[str], int]] = (),
              **allocatable: str) -> dict[str, Any]:
    alloc = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    alloc.update({k.replace("_", "-"): v for k, v in allocatable.items()})
    node_labels = {HOSTNAME: name}
    node_labels.update(labels or {})
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    status: dict[str, Any] = {"allocatable": alloc, "capacity": dict(alloc)}
    if images:
        status["images"] = [{"names": list(n), "sizeBytes": size} for n, size in images]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node_labels}, "spec": spec, "status": status}


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> dict[str, str]:
    out = {"key": key, "effect": effect}
    if value:
        out["value"] = value
    return out


def toleration(key: str = "", value: str = "", effect: str = "",
               operator: str = "") -> dict[str, str]:
    out = {}
    for k, v in (("key", key), ("value", value), ("effect", effect), ("operator", operator)):
        if v:
            out[k] = v
    return out


def term(key: str, operator: str, *values: str) -> dict[str, Any]:
    """A NodeSelectorRequirement / LabelSelectorRequirement."""
    out: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


def pod_affinity_term(labels: Mapping[str, str], topology_key: str = HOSTNAME,
                      **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": dict(labels)}, "topologyKey": topology_key, **extra}


@dataclass
class FakeHandle:
    """What plug-ins need from a framework, without the framework."""

    snapshot: Snapshot = field(default_factory=Snapshot)
    nominator: Any = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    binder: Any = None


def snapshot(nodes: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]] = (),
             **kw: Any) -> Snapshot:
    return Snapshot.from_objects(nodes, pods, **kw)


def filter_nodes(plugin: Any, pod: Mapping[str, Any] | PodInfo, snap: Snapshot,
                 state: CycleState | None = None) -> dict[str, Status | None] | Status:
    """Run PreFilter (if any) then Filter on every node; a PreFilter rejection is returned."""
    info = pod if isinstance(pod, PodInfo) else PodInfo(pod)
    state = state or CycleState()
    if hasattr(plugin, "handle"):
        plugin.handle.snapshot = snap
    if hasattr(plugin, "pre_filter"):
        _, status = plugin.pre_filter(state, info, snap.node_infos)
        if status is not None and status.code == Code.SKIP:
            return {ni.name: None for ni in snap.node_infos}
        if status is not None:
            return status
    return {ni.name: plugin.filter(state, info, ni) for ni in snap.node_infos}


def score_nodes(plugin: Any, pod: Mapping[str, Any] | PodInfo, snap: Snapshot,
                nodes: Sequence[NodeInfo] | None = None) -> dict[str, int] | Status:
    """PreScore, Score and NormalizeScore over `nodes` (default: all); Skip gives {}."""
    info = pod if isinstance(pod, PodInfo) else PodInfo(pod)
    state = CycleState()
    nodes = list(nodes if nodes is not None else snap.node_infos)
    if hasattr(plugin, "handle"):
        plugin.handle.snapshot = snap
    if hasattr(plugin, "pre_score"):
        status = plugin.pre_score(state, info, nodes)
        if status is not None and status.code == Code.SKIP:
            return {}
        if status is not None:
            return status
    scores = []
    for ni in nodes:
        value, status = plugin.score(state, info, ni)
        assert status is None, status
        scores.append(NodeScore(ni.name, value))
    ext = plugin.score_extensions()
    if ext is not None:
        assert ext.normalize_score(state, info, scores) is None
    return {s.name: s.score for s in scores}


def reasons(statuses: Mapping[str, Status | None]) -> dict[str, tuple[str, ...]]:
    """node -> reasons ('' for success)."""
    return {name: (s.reasons if s is not None else ()) for name, s in statuses.items()}


def codes(statuses: Mapping[str, Status | None]) -> dict[str, Code]:
    return {name: (s.code if s is not None else Code.SUCCESS) for name, s in statuses.items()}


def default_framework(config: Any = None, *, seed: int = 0, **kw: Any) -> Any:
    """The default profile's Framework (or the first profile of `config`)."""
    from kybernetes.scheduler.config import load_config
    from kybernetes.scheduler.profiles import build_frameworks

    frameworks = build_frameworks(load_config(config), rng=random.Random(seed), **kw)
    return next(iter(frameworks.values()))


class FakeNominator:
    """node name -> nominated pods."""

    def __init__(self, **by_node: Sequence[Mapping[str, Any]]) -> None:
        self.by_node = {node: [PodInfo(p) for p in pods] for node, pods in by_node.items()}

    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]:
        return list(self.by_node.get(node_name, ()))
