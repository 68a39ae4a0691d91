"""Informer events -> the scheduler's cache and queue (`pkg/scheduler/eventhandlers.go`).

    pods (all namespaces, not Succeeded/Failed)
      assigned (spec.nodeName set)     -> cache add/update/remove, queue AssignedPod* events
      unassigned, one of our profiles  -> queue add/update/delete (not while terminating)
      unassigned -> assigned           -> the bind confirmed: cache add, queue delete
    nodes                              -> cache, queue Node* events
    namespaces, services, replicasets, statefulsets, replicationcontrollers,
    poddisruptionbudgets               -> ClusterObjects (what plug-ins read)
    priorityclasses                    -> resolving priority (below)

Every handler ends with `scheduler.wake()`. Handlers run inline on the informers'
tasks, never during a scheduling cycle (which is synchronous).

Priority: upstream's Priority admission plug-in writes `spec.priority` (and
`spec.preemptionPolicy`) from the pod's PriorityClass when the pod is created, and
the scheduler reads only `spec.priority`. Where the API server did not (no such
admission), the handlers resolve it here from the PriorityClass informer, the
global default class, or the two built-in system classes, so that priority and
preemption still work; a pod with `spec.priority` is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kybernetes.client import (
    DeletedFinalStateUnknown,
    Informer,
    SharedInformerFactory,
    object_of,
)
from kybernetes.scheduler.errors import CacheError
from kybernetes.scheduler.framework.events import EVENT_ASSIGNED_POD_DELETE
from kybernetes.scheduler.framework.types import QueuedPodInfo, pod_priority
from kybernetes.scheduler.scheduler import Scheduler

log = logging.getLogger("kybernetes.scheduler")

Obj = Mapping[str, Any]

# The informer of the scheduler's pods leaves finished pods out (upstream's newPodInformer).
POD_FIELD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000,
                           "system-cluster-critical": 2000000000}
_TERMINAL = frozenset({"Succeeded", "Failed"})

# (informer resource, ClusterObjects kind)
_LISTED = (
    (("v1", "Service"), "services"),
    (("apps/v1", "ReplicaSet"), "replica_sets"),
    (("apps/v1", "StatefulSet"), "stateful_sets"),
    (("v1", "ReplicationController"), "replication_controllers"),
    (("policy/v1", "PodDisruptionBudget"), "pdbs"),
)


def assigned(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def terminating(pod: Obj) -> bool:
    return (pod.get("metadata") or {}).get("deletionTimestamp") is not None


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _nominated(pod: Obj) -> str:
    return (pod.get("status") or {}).get("nominatedNodeName") or ""


def _priority_at_most(priority: int) -> Callable[[QueuedPodInfo], bool]:
    return lambda qpi: qpi.pod_info.priority <= priority


class EventHandlers:
    """The informer handlers of one `Scheduler` (see the module docstring)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.priority_classes: dict[str, Obj] = {}
        self.pods: Informer | None = None

    # --- wiring ---------------------------------------------------------------------------

    async def start(self, factory: SharedInformerFactory) -> None:
        """Start the informers and wait for them: first the objects pods are resolved and
        scheduled against, then nodes and pods, so that no pod is handled with its
        PriorityClass or its namespace still unknown. Points `scheduler.pod_lookup` at the
        pod informer's store."""
        classes = factory.informer(("scheduling.k8s.io/v1", "PriorityClass"))
        classes.add_event_handler(on_add=self._put_class,
                                  on_update=lambda old, new: self._put_class(new),
                                  on_delete=self._delete_class)
        objects = self.scheduler.objects
        namespaces = factory.informer(("v1", "Namespace"))
        namespaces.add_event_handler(on_add=objects.put_namespace,
                                     on_update=lambda old, new: objects.put_namespace(new),
                                     on_delete=lambda o: objects.delete_namespace(object_of(o)))
        for resource, kind in _LISTED:
            inf = factory.informer(resource)
            inf.add_event_handler(on_add=self._put_object(kind),
                                  on_update=lambda old, new, k=kind: objects.put(k, new),
                                  on_delete=lambda o, k=kind: objects.delete(k, object_of(o)))
        factory.start()
        await factory.wait_for_sync()
        nodes = factory.informer(("v1", "Node"))
        nodes.add_event_handler(on_add=self.on_node_add, on_update=self.on_node_update,
                                on_delete=self.on_node_delete)
        self.pods = factory.informer(("v1", "Pod"), field_selector=POD_FIELD_SELECTOR)
        self.pods.add_event_handler(on_add=self.on_pod_add, on_update=self.on_pod_update,
                                    on_delete=self.on_pod_delete)
        self.scheduler.pod_lookup = self.lookup_pod
        factory.start()
        await factory.wait_for_sync()

    def _put_object(self, kind: str) -> Callable[[Obj], None]:
        return lambda obj: self.scheduler.objects.put(kind, obj)

    def lookup_pod(self, key: str) -> Obj | None:
        """The informer's current copy of pod `namespace/name`, priority resolved."""
        pod = self.pods.store.get(key) if self.pods is not None else None
        return self.resolve_priority(pod) if pod is not None else None

    # --- priority -------------------------------------------------------------------------

    def _put_class(self, pc: Obj) -> None:
        self.priority_classes[(pc.get("metadata") or {}).get("name") or ""] = pc

    def _delete_class(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        self.priority_classes.pop((object_of(obj).get("metadata") or {}).get("name") or "", None)

    def resolve_priority(self, pod: Obj) -> Obj:
        """The pod with spec.priority filled in where admission left it unset (see the
        module docstring); the same object when there is nothing to fill."""
        spec = pod.get("spec") or {}
        if isinstance(spec.get("priority"), int):
            return pod
        name = spec.get("priorityClassName") or ""
        pc = self.priority_classes.get(name) if name else self._global_default()
        if pc is not None:
            value = pc.get("value")
        elif name in SYSTEM_PRIORITY_CLASSES:
            value = SYSTEM_PRIORITY_CLASSES[name]
        else:
            return pod
        new_spec = {**spec, "priority": int(value or 0)}
        if pc is not None and pc.get("preemptionPolicy") and not spec.get("preemptionPolicy"):
            new_spec["preemptionPolicy"] = pc["preemptionPolicy"]
        return {**pod, "spec": new_spec}

    def _global_default(self) -> Obj | None:
        defaults = [pc for pc in self.priority_classes.values() if pc.get("globalDefault")]
        return min(defaults, key=lambda pc: int(pc.get("value") or 0)) if defaults else None

    # --- nodes ----------------------------------------------------------------------------

    def on_node_add(self, node: Obj) -> None:
        self.scheduler.cache.add_node(node)
        self.scheduler.queue.on_node_add(node)
        self.scheduler.wake()

    def on_node_update(self, old: Obj, new: Obj) -> None:
        self.scheduler.cache.update_node(old, new)
        self.scheduler.queue.on_node_update(old, new)
        self.scheduler.wake()

    def on_node_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        node = object_of(obj)
        self.scheduler.queue.on_node_delete(node)
        try:
            self.scheduler.cache.remove_node(node)
        except CacheError as err:
            log.error("Scheduler cache RemoveNode failed err=%r", str(err))
        self.scheduler.wake()

    # --- pods -----------------------------------------------------------------------------

    def responsible(self, pod: Obj) -> bool:
        """One of our profiles schedules this pod (`responsibleForPod`)."""
        return self.scheduler.framework_for(pod) is not None

    def on_pod_add(self, pod: Obj) -> None:
        pod = self.resolve_priority(pod)
        if (pod.get("status") or {}).get("phase") in _TERMINAL:
            return
        if assigned(pod):
            self._add_assigned(pod)
        elif self.responsible(pod) and not terminating(pod):
            self.scheduler.queue.add(pod)
        self.scheduler.wake()

    def on_pod_update(self, old: Obj, new: Obj) -> None:
        old, new = self.resolve_priority(old), self.resolve_priority(new)
        if (new.get("status") or {}).get("phase") in _TERMINAL:
            self.on_pod_delete(old)  # finished: no longer holds resources
            return
        if assigned(old):
            self._update_assigned(old, new)
        elif assigned(new):
            # The binding (ours, or somebody else's) reached the informer.
            self._add_assigned(new)
            if self.responsible(old):
                self.scheduler.queue.delete(old)
        elif self.responsible(old):
            self._update_unscheduled(old, new)
        self.scheduler.wake()

    def on_pod_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = self.resolve_priority(object_of(obj))
        if isinstance(obj, DeletedFinalStateUnknown):
            # The last state seen may be stale: clean up on both sides.
            cache = self.scheduler.cache
            if cache.get_pod(pod) is not None and not cache.is_assumed(pod):
                self._delete_assigned(pod)
            if self.responsible(pod):
                self._delete_unscheduled(pod)
        elif assigned(pod):
            self._delete_assigned(pod)
        elif self.responsible(pod):
            self._delete_unscheduled(pod)
        self.scheduler.wake()

    def _add_assigned(self, pod: Obj) -> None:
        try:
            self.scheduler.cache.add_pod(pod)
        except CacheError as err:
            log.error("Scheduler cache AddPod failed err=%r", str(err))
        self.scheduler.queue.on_assigned_pod_add(pod)

    def _update_assigned(self, old: Obj, new: Obj) -> None:
        self.scheduler.cache.update_pod(old, new)
        self.scheduler.queue.on_assigned_pod_update(old, new)

    def _delete_assigned(self, pod: Obj) -> None:
        try:
            self.scheduler.cache.remove_pod(pod)
        except CacheError as err:
            log.error("Scheduler cache RemovePod failed err=%r", str(err))
        self.scheduler.queue.on_assigned_pod_delete(pod)

    def _update_unscheduled(self, old: Obj, new: Obj) -> None:
        queue = self.scheduler.queue
        if _rv(old) and _rv(old) == _rv(new):
            return  # a resync: identical objects (kubernetes#96071)
        if self.scheduler.cache.is_assumed(new):
            if terminating(new) and not terminating(old):
                self._assumed_pod_deleted(new)
            return
        if terminating(new):
            queue.delete(new)
            return
        queue.update(old, new)
        if _nominated(old) and _nominated(old) != _nominated(new):
            # Lower- or equal-priority pods counted it on the old node: they may fit now.
            queue.move_all_to_active_or_backoff(EVENT_ASSIGNED_POD_DELETE, old, None,
                                                _priority_at_most(pod_priority(old)))

    def _delete_unscheduled(self, pod: Obj) -> None:
        self.scheduler.queue.on_unscheduled_pod_delete(pod)
        if self.scheduler.cache.is_assumed(pod):
            self._assumed_pod_deleted(pod)
        elif _nominated(pod):
            self.scheduler.queue.move_all_to_active_or_backoff(
                EVENT_ASSIGNED_POD_DELETE, pod, None, _priority_at_most(pod_priority(pod)))

    def _assumed_pod_deleted(self, pod: Obj) -> None:
        """An assumed pod is going away while it is being bound: a pod waiting at Permit
        is rejected (its binding cycle then cleans up), otherwise the cache forgets it
        now so its resources are free for others at once."""
        sched = self.scheduler
        assumed = sched.cache.get_pod(pod)
        if assumed is None:
            return
        fw = sched.framework_for(assumed)
        waiting = fw.get_waiting_pod(assumed.uid or assumed.key) if fw is not None else None
        if waiting is not None:
            waiting.reject("", "removed")
        else:
            try:
                sched.cache.forget_pod(assumed)
            except CacheError as err:
                log.error("Scheduler cache ForgetPod failed err=%r", str(err))
        sched.queue.move_all_to_active_or_backoff(EVENT_ASSIGNED_POD_DELETE, assumed.pod, None)
