"""Snapshot: the cluster state one scheduling cycle looks at (`internal/cache.Snapshot`).

Built from plain API objects: nodes, the pods assigned to them, and the few
other kinds plug-ins consult (namespaces for affinity namespaceSelectors;
Services, ReplicaSets, StatefulSets and ReplicationControllers for the
default topology spreading selector; PodDisruptionBudgets for preemption).
Terminal pods (Succeeded, Failed) are left out, as the scheduler's pod
informer filters them; pods bound to nodes not in the snapshot are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kybernetes.scheduler.framework.types import (
    ImageStateSummary,
    NodeInfo,
    Obj,
    PodInfo,
    as_pod_info,
)

_TERMINAL = frozenset({"Succeeded", "Failed"})


class Snapshot:
    """An immutable view of the cluster for a cycle; plug-ins read it through their handle."""

    def __init__(
        self,
        node_infos: Sequence[NodeInfo] = (),
        *,
        namespaces: Mapping[str, Mapping[str, str]] | None = None,
        services: Sequence[Obj] = (),
        replica_sets: Sequence[Obj] = (),
        stateful_sets: Sequence[Obj] = (),
        replication_controllers: Sequence[Obj] = (),
        pdbs: Sequence[Obj] = (),
    ) -> None:
        self.node_infos: list[NodeInfo] = list(node_infos)
        self._by_name = {ni.name: ni for ni in self.node_infos}
        self.have_pods_with_affinity = [ni for ni in self.node_infos if ni.pods_with_affinity]
        self.have_pods_with_required_anti_affinity = [
            ni for ni in self.node_infos if ni.pods_with_required_anti_affinity]
        self.namespaces: Mapping[str, Mapping[str, str]] = namespaces or {}
        self.services = services
        self.replica_sets = replica_sets
        self.stateful_sets = stateful_sets
        self.replication_controllers = replication_controllers
        self.pdbs = pdbs

    @classmethod
    def from_objects(
        cls,
        nodes: Iterable[Obj],
        pods: Iterable[Obj | PodInfo] = (),
        *,
        namespaces: Iterable[Obj] | Mapping[str, Mapping[str, str]] = (),
        **listers: Any,
    ) -> Snapshot:
        """Aggregate pods onto their nodes; `namespaces` are Namespace objects or name -> labels."""
        infos = [NodeInfo(node) for node in nodes]
        by_name = {ni.name: ni for ni in infos}
        for pod in pods:
            info = as_pod_info(pod)
            phase = (info.pod.get("status") or {}).get("phase")
            target = by_name.get(info.node_name) if info.node_name else None
            if target is not None and phase not in _TERMINAL:
                target.add_pod(info)
        _fill_image_states(infos)
        if not isinstance(namespaces, Mapping):
            namespaces = {
                (ns.get("metadata") or {}).get("name") or "": (ns.get("metadata") or {}).get(
                    "labels") or {}
                for ns in namespaces
            }
        return cls(infos, namespaces=namespaces, **listers)

    @classmethod
    def shared(
        cls,
        node_infos: list[NodeInfo],
        by_name: dict[str, NodeInfo],
        have_pods_with_affinity: list[NodeInfo],
        have_pods_with_required_anti_affinity: list[NodeInfo],
        *,
        namespaces: Mapping[str, Mapping[str, str]],
        **listers: Any,
    ) -> Snapshot:
        """A snapshot over the scheduler cache's own structures, without copying them.

        The cache updates NodeInfos in place, so such a snapshot is consistent only
        until the cache next changes: the scheduling cycle (synchronous, nothing
        interleaves on the event loop) is its whole lifetime. The cache replaces the
        lists rather than mutating them, so an older snapshot never sees a node
        appear or vanish.
        """
        out = cls.__new__(cls)
        out.node_infos = node_infos
        out._by_name = by_name
        out.have_pods_with_affinity = have_pods_with_affinity
        out.have_pods_with_required_anti_affinity = have_pods_with_required_anti_affinity
        out.namespaces = namespaces
        out.services = listers.get("services", ())
        out.replica_sets = listers.get("replica_sets", ())
        out.stateful_sets = listers.get("stateful_sets", ())
        out.replication_controllers = listers.get("replication_controllers", ())
        out.pdbs = listers.get("pdbs", ())
        return out

    @property
    def num_nodes(self) -> int:
        return len(self.node_infos)

    def get(self, name: str) -> NodeInfo | None:
        return self._by_name.get(name)

    def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        return self.namespaces.get(namespace) or {}

    def namespaces_matching(self, selector: Any) -> set[str]:
        """Names of the namespaces whose labels `selector` (a LabelSelector) matches."""
        return {name for name, labels in self.namespaces.items() if selector.matches(labels)}


def _fill_image_states(infos: Sequence[NodeInfo]) -> None:
    """Per image name: its size and the number of nodes holding it (cache.imageStates)."""
    sizes: dict[str, int] = {}
    holders: dict[str, int] = {}
    per_node: list[list[str]] = []
    for ni in infos:
        names: list[str] = []
        for image in (ni.node.get("status") or {}).get("images") or ():
            for name in image.get("names") or ():
                if name in names:
                    continue
                names.append(name)
                sizes[name] = int(image.get("sizeBytes") or 0)
                holders[name] = holders.get(name, 0) + 1
        per_node.append(names)
    for ni, names in zip(infos, per_node, strict=True):
        ni.image_states = {n: ImageStateSummary(sizes[n], holders[n]) for n in names}
