"""The scheduler cache (`pkg/scheduler/backend/cache/cache.go`): nodes, the pods on them,
assumed pods, and the other objects plug-ins read; it hands out a Snapshot per cycle.

    informers ─▶ add_node / update_node / remove_node
                 add_pod / update_pod / remove_pod          (pods with spec.nodeName)
    scheduler ─▶ assume_pod ─▶ finish_binding ─▶ (the informer's add_pod confirms it)
                     └──────▶ forget_pod                    (the binding cycle failed)
    each cycle ─▶ snapshot()

Pod states, keyed by uid (namespace/name for a pod without one):

| state   | entered by   | left by                                                       |
|---------|--------------|---------------------------------------------------------------|
| Assumed | assume_pod   | add_pod (-> Added), forget_pod, expiry (ttl after finish_binding) |
| Added   | add_pod      | update_pod (stays Added), remove_pod                          |

`ttl` 0, upstream's value since kubernetes#106361, means an assumed pod never
expires: it stays until the informer confirms it or the binding cycle forgets it.
An event that contradicts these states (assuming a pod twice, removing a pod
never added) raises `CacheError` and changes nothing; an update or add that
merely arrives in an unexpected order (a missed event, a re-list) is applied.

Cost model. Each node has one `NodeInfo`, updated in place as pods come and go,
and each pod one `PodInfo`, built once per spec (`PodInfo.updated` reuses it
across status-only changes, and the assumed pod's PodInfo is the queue's). So a
snapshot costs nothing per node: `Snapshot.shared` over the cache's own lists,
valid for one synchronous scheduling cycle. The node list is rebuilt only when
nodes come, go or change zone, in upstream's nodeTree order (round robin over
zones, nodes of a zone in the order they were added), so that the scheduler's
round-robin start spreads filtering over zones.

A pod may be added before its node (informers are independent): it is kept on a
placeholder NodeInfo, left out of snapshots, which the node adopts when it
arrives; a removed node keeps a placeholder until its last pod is gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kybernetes.scheduler.errors import CacheError
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.types import ImageStateSummary, NodeInfo, PodInfo

Obj = Mapping[str, Any]

REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")


def zone_key(node: Obj) -> str:
    """`utilnode.GetZoneKey`: "region:\\x00:zone", or "" for a node without either label."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    region = next((labels[k] for k in REGION_LABELS if labels.get(k)), "")
    zone = next((labels[k] for k in ZONE_LABELS if labels.get(k)), "")
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"


def _name(obj: Obj) -> str:
    return (obj.get("metadata") or {}).get("name") or ""


def cache_key(pod: Obj | PodInfo) -> str:
    """The cache's key for a pod: its uid, else namespace/name."""
    if isinstance(pod, PodInfo):
        return pod.uid or pod.key
    meta = pod.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


@dataclass(slots=True)
class _PodState:
    info: PodInfo
    assumed: bool = False
    binding_finished: bool = False
    deadline: float | None = None  # monotonic seconds; set by finish_binding when ttl > 0


class SchedulerCache:
    """Nodes and their pods, including assumed ones (see the module docstring).

    Single-threaded: every method is called from the event loop's thread, never
    while a scheduling cycle is running (cycles are synchronous).
    """

    def __init__(self, *, ttl: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._nodes: dict[str, NodeInfo] = {}  # every NodeInfo, placeholders included
        self._zone_of: dict[str, str] = {}  # real (not placeholder) node -> zone key
        self._zones: dict[str, list[str]] = {}  # zone key -> node names, in order added
        self._pods: dict[str, _PodState] = {}
        self._assumed: set[str] = set()
        self._images: dict[str, tuple[int, set[str]]] = {}  # image -> (size, node names)
        self._node_images: dict[str, set[str]] = {}
        self._dirty_images: set[str] = set()
        # Snapshot structures; None means "rebuild on the next snapshot()".
        self._list: list[NodeInfo] | None = None
        self._by_name: dict[str, NodeInfo] = {}
        self._affinity: tuple[list[NodeInfo], list[NodeInfo]] | None = None

    # --- introspection ----------------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        return len(self._zone_of)

    @property
    def num_pods(self) -> int:
        return len(self._pods)

    def node_info(self, name: str) -> NodeInfo | None:
        """The live NodeInfo of a known node (not a placeholder)."""
        return self._nodes.get(name) if name in self._zone_of else None

    def get_pod(self, pod: Obj | PodInfo) -> PodInfo | None:
        state = self._pods.get(cache_key(pod))
        return state.info if state is not None else None

    def is_assumed(self, pod: Obj | PodInfo) -> bool:
        return cache_key(pod) in self._assumed

    def dump(self) -> dict[str, Any]:
        """Nodes with their pods' keys, and the assumed pods (for logs and debugging)."""
        return {"nodes": {name: sorted(p.key for p in ni.pods)
                          for name, ni in self._nodes.items()},
                "assumed": sorted(self._pods[k].info.key for k in self._assumed)}

    # --- nodes ------------------------------------------------------------------------------

    def add_node(self, node: Obj) -> NodeInfo:
        """A node appeared (or re-appeared in a re-list); adopts a placeholder's pods."""
        name = _name(node)
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(node)
        else:
            info.set_node(node)
        self._place(name, zone_key(node))
        self._set_images(info, node)
        return info

    def update_node(self, old: Obj, new: Obj) -> NodeInfo:
        name = _name(new)
        info = self._nodes.get(name)
        if info is None or name not in self._zone_of:
            return self.add_node(new)
        info.set_node(new)
        self._place(name, zone_key(new))
        if (old.get("status") or {}).get("images") != (new.get("status") or {}).get("images"):
            self._set_images(info, new)
        return info

    def remove_node(self, node: Obj) -> None:
        name = _name(node)
        if name not in self._zone_of:
            raise CacheError(f"node {name} is not found")
        info = self._nodes[name]
        self._set_images(info, None)
        zone = self._zone_of.pop(name)
        names = self._zones[zone]
        names.remove(name)
        if not names:
            del self._zones[zone]
        self._list = None
        if info.pods:
            info.set_node({"metadata": {"name": name}})  # a placeholder until its pods go
        else:
            del self._nodes[name]

    def _place(self, name: str, zone: str) -> None:
        current = self._zone_of.get(name)
        if current == zone:
            return
        if current is not None:
            names = self._zones[current]
            names.remove(name)
            if not names:
                del self._zones[current]
        self._zone_of[name] = zone
        self._zones.setdefault(zone, []).append(name)
        self._list = None

    def _set_images(self, info: NodeInfo, node: Obj | None) -> None:
        """Track which nodes hold which image; summaries are refreshed at snapshot time."""
        wanted: dict[str, int] = {}
        for image in ((node or {}).get("status") or {}).get("images") or ():
            for image_name in image.get("names") or ():
                wanted.setdefault(image_name, int(image.get("sizeBytes") or 0))
        had = self._node_images.get(info.name, set())
        for image_name in had - wanted.keys():
            _, holders = self._images[image_name]
            holders.discard(info.name)
            if not holders:
                del self._images[image_name]
            info.image_states.pop(image_name, None)
            self._dirty_images.add(image_name)
        for image_name, size in wanted.items():
            if image_name in had:
                continue
            entry = self._images.get(image_name)
            if entry is None:
                self._images[image_name] = (size, {info.name})
            else:
                entry[1].add(info.name)
            self._dirty_images.add(image_name)
        if wanted:
            self._node_images[info.name] = set(wanted)
        else:
            self._node_images.pop(info.name, None)

    def _refresh_image_states(self) -> None:
        for image_name in self._dirty_images:
            entry = self._images.get(image_name)
            if entry is None:
                continue
            size, holders = entry
            summary = ImageStateSummary(size, len(holders))
            for node_name in holders:
                self._nodes[node_name].image_states[image_name] = summary
        self._dirty_images.clear()

    # --- pods: the scheduler's side ---------------------------------------------------------

    def assume_pod(self, info: PodInfo, node_name: str) -> PodInfo:
        """Account the pod on `node_name` before the API knows; returns the assumed PodInfo
        (the same derived data, `spec.nodeName` set). CacheError if the pod is cached."""
        key = cache_key(info)
        if key in self._pods:
            raise CacheError(f"pod {info.key}({key}) is in the cache, so can't be assumed")
        assumed = info.assumed_on(node_name)
        self._pods[key] = _PodState(assumed, assumed=True)
        self._assumed.add(key)
        self._add_to_node(assumed)
        return assumed

    def finish_binding(self, info: PodInfo) -> None:
        """The bind call returned: from now on an unconfirmed assumed pod may expire."""
        state = self._pods.get(cache_key(info))
        if state is None or not state.assumed:
            return
        state.binding_finished = True
        if self.ttl > 0:
            state.deadline = self._clock() + self.ttl

    def forget_pod(self, info: PodInfo) -> bool:
        """Undo assume_pod (the binding cycle failed). False if the pod is not cached
        (already forgotten or expired); CacheError if it is not an assumed pod there."""
        key = cache_key(info)
        state = self._pods.get(key)
        if state is None:
            return False
        if not state.assumed:
            raise CacheError(f"pod {info.key}({key}) wasn't assumed so cannot be forgotten")
        if state.info.node_name != info.node_name:
            raise CacheError(f"pod {info.key}({key}) was assumed on {info.node_name} but "
                             f"assigned to {state.info.node_name}")
        self._drop(key, state)
        return True

    def cleanup_expired(self) -> list[PodInfo]:
        """Drop assumed pods whose binding finished more than `ttl` ago (upstream: every
        second); returns them. Never does anything with ttl 0."""
        if self.ttl <= 0 or not self._assumed:
            return []
        now = self._clock()
        expired = [k for k in self._assumed
                   if (d := self._pods[k].deadline) is not None and now >= d]
        out = []
        for key in expired:
            state = self._pods[key]
            out.append(state.info)
            self._drop(key, state)
        return out

    # --- pods: the informer's side ----------------------------------------------------------

    def add_pod(self, pod: Obj) -> PodInfo:
        """A pod bound to a node appeared: confirms an assumed pod, or adds it (also after
        its assumption expired). CacheError if it is already added."""
        key = cache_key(pod)
        state = self._pods.get(key)
        if state is None:
            info = PodInfo(pod)
            self._pods[key] = _PodState(info)
            self._add_to_node(info)
            return info
        if not state.assumed:
            raise CacheError(f"pod {object_key(pod)}({key}) was already in added state")
        return self._replace(key, state, state.info.updated(pod))

    def update_pod(self, old: Obj, new: Obj) -> PodInfo:
        """A bound pod changed (status, labels, resources). A pod the cache missed or
        still holds as assumed is taken as an add (the informer's view wins)."""
        key = cache_key(new)
        state = self._pods.get(key)
        if state is None:
            return self.add_pod(new)
        return self._replace(key, state, state.info.updated(new))

    def remove_pod(self, pod: Obj) -> PodInfo:
        """A bound pod was deleted (or finished). Removed from the node the cache has it
        on; CacheError if it is not cached."""
        key = cache_key(pod)
        state = self._pods.get(key)
        if state is None:
            raise CacheError(f"pod {object_key(pod)}({key}) is not found in scheduler cache, "
                             "so cannot be removed from it")
        self._drop(key, state)
        return state.info

    # --- bookkeeping ------------------------------------------------------------------------

    def _add_to_node(self, info: PodInfo) -> None:
        node = self._nodes.get(info.node_name)
        if node is None:
            node = self._nodes[info.node_name] = NodeInfo({"metadata": {"name": info.node_name}})
        node.add_pod(info)
        if info.has_affinity:
            self._affinity = None

    def _remove_from_node(self, info: PodInfo) -> None:
        node = self._nodes.get(info.node_name)
        if node is None:
            return
        try:
            node.remove_pod(info)
        except KeyError:
            return
        if info.has_affinity:
            self._affinity = None
        if not node.pods and info.node_name not in self._zone_of:
            del self._nodes[info.node_name]

    def _replace(self, key: str, state: _PodState, info: PodInfo) -> PodInfo:
        if info is not state.info:
            self._remove_from_node(state.info)
            self._add_to_node(info)
            state.info = info
        state.assumed = False
        state.binding_finished = False
        state.deadline = None
        self._assumed.discard(key)
        return info

    def _drop(self, key: str, state: _PodState) -> None:
        self._remove_from_node(state.info)
        del self._pods[key]
        self._assumed.discard(key)

    # --- snapshot ---------------------------------------------------------------------------

    def snapshot(self, objects: ClusterObjects | None = None) -> Snapshot:
        """The cluster for one scheduling cycle (see `Snapshot.shared` for its lifetime)."""
        if self._dirty_images:
            self._refresh_image_states()
        if self._list is None:
            self._list = [self._nodes[n] for n in self._node_tree_order()]
            self._by_name = {ni.name: ni for ni in self._list}
            self._affinity = None
        if self._affinity is None:
            self._affinity = ([ni for ni in self._list if ni.pods_with_affinity],
                              [ni for ni in self._list if ni.pods_with_required_anti_affinity])
        objects = objects if objects is not None else _NO_OBJECTS
        return Snapshot.shared(self._list, self._by_name, *self._affinity,
                               namespaces=objects.namespaces, **objects.listers())

    def _node_tree_order(self) -> list[str]:
        """`nodeTree.list()`: the i-th node of every zone, for i = 0, 1, ..."""
        zones = list(self._zones.values())
        if len(zones) == 1:
            return list(zones[0])
        out: list[str] = []
        depth = max((len(z) for z in zones), default=0)
        for i in range(depth):
            out.extend(z[i] for z in zones if i < len(z))
        return out


def object_key(obj: Obj) -> str:
    """namespace/name of any object."""
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


class ClusterObjects:
    """The other kinds plug-ins read through the snapshot: namespace labels (affinity
    namespaceSelectors), Services, ReplicaSets, StatefulSets and ReplicationControllers
    (the default spreading selector) and PodDisruptionBudgets (preemption).

    Fed from informer events; a kind's list is rebuilt only after it changed.
    """

    KINDS = ("services", "replica_sets", "stateful_sets", "replication_controllers", "pdbs")

    def __init__(self) -> None:
        self.namespaces: dict[str, Mapping[str, str]] = {}
        self._objects: dict[str, dict[str, Obj]] = {kind: {} for kind in self.KINDS}
        self._lists: dict[str, list[Obj]] = {}

    def put(self, kind: str, obj: Obj) -> None:
        self._objects[kind][object_key(obj)] = obj
        self._lists.pop(kind, None)

    def delete(self, kind: str, obj: Obj) -> None:
        if self._objects[kind].pop(object_key(obj), None) is not None:
            self._lists.pop(kind, None)

    def list(self, kind: str) -> list[Obj]:
        out = self._lists.get(kind)
        if out is None:
            out = self._lists[kind] = list(self._objects[kind].values())
        return out

    def put_namespace(self, namespace: Obj) -> None:
        self.namespaces[_name(namespace)] = (namespace.get("metadata") or {}).get("labels") or {}

    def delete_namespace(self, namespace: Obj) -> None:
        self.namespaces.pop(_name(namespace), None)

    def listers(self) -> dict[str, list[Obj]]:
        return {kind: self.list(kind) for kind in self.KINDS}


_NO_OBJECTS = ClusterObjects()
