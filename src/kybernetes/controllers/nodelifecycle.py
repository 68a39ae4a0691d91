"""The node lifecycle controller (pkg/controller/nodelifecycle).

Level-triggered per node (`reconcile(node_name)`, again every node_monitor_period):

1. Health. The controller keeps, per node, the local time it last saw a heartbeat:
   a new Ready condition `lastHeartbeatTime` or a newer `kube-node-lease` Lease
   `renewTime` (`observe`). When none came for node_monitor_grace_period (40 s;
   node_startup_grace_period, 60 s, for a node that never posted Ready), the Ready,
   MemoryPressure, DiskPressure and PIDPressure conditions become Unknown, reason
   NodeStatusUnknown "Kubelet stopped posting node status." (NodeStatusNeverUpdated
   for conditions never posted).
2. Taints (`desired_taints`), as the NoExecute and NoSchedule tainting passes:
   Ready False -> `node.kubernetes.io/not-ready`, Ready Unknown ->
   `node.kubernetes.io/unreachable`, each NoExecute (taint-based eviction) and
   NoSchedule; pressure conditions and `spec.unschedulable` -> their NoSchedule
   taints; Ready True removes them. Added taints carry `timeAdded`. Upstream queues
   NoExecute tainting behind a per-zone rate limiter with a full-disruption mode;
   here taints are applied at once (rate limits simplified).
3. Pods on a node whose Ready is not True get their Ready condition set False
   (`MarkPodsNotReady`), with a NodeNotReady event.

Evicting the pods of a tainted node is the taint-eviction controller's job.

Options (ctx.options): node_monitor_grace_period, node_startup_grace_period,
node_monitor_period (seconds).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from kybernetes.client import (
    WARNING,
    builtin_resource,
    by_node_name,
    is_not_found,
    meta_namespace_key,
    object_of,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

log = logging.getLogger("kybernetes.controllers.nodelifecycle")

Obj = dict[str, Any]

NODES = builtin_resource("v1", "Node")
PODS = builtin_resource("v1", "Pod")
LEASES = builtin_resource("coordination.k8s.io/v1", "Lease")
NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_NAME_INDEX = "spec.nodeName"

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# (condition type, status) -> taint key (upstream nodeConditionToTaintKeyStatusMap).
CONDITION_TAINTS: dict[tuple[str, str], str] = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
}
_NO_SCHEDULE_KEYS = frozenset(CONDITION_TAINTS.values()) | {UNSCHEDULABLE}
_NO_EXECUTE_KEYS = frozenset({NOT_READY, UNREACHABLE})
# NetworkUnavailable is owned by the network plug-in / route controller: left alone.
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")

DEFAULT_GRACE_PERIOD = 40.0
DEFAULT_STARTUP_GRACE_PERIOD = 60.0
DEFAULT_MONITOR_PERIOD = 5.0


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def condition(node: Obj, kind: str) -> Obj | None:
    for c in (node.get("status") or {}).get("conditions") or ():
        if c.get("type") == kind:
            return c
    return None


# --- health -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeHealth:
    """What the controller last saw of a node's heartbeats, and when (local clock)."""

    probe: float
    ready_heartbeat: str
    lease_renew: datetime | None


def observe(health: NodeHealth | None, node: Obj, lease: Obj | None, now: float,
            wall: datetime) -> NodeHealth:
    """The health record after looking at `node` and its Lease at local time `now`."""
    ready = condition(node, "Ready")
    heartbeat = str((ready or {}).get("lastHeartbeatTime") or "")
    renew = parse_time(((lease or {}).get("spec") or {}).get("renewTime"))
    if health is None:
        probe = now
        created = parse_time((node.get("metadata") or {}).get("creationTimestamp"))
        if ready is None and created is not None:
            # Never posted: the startup grace runs from the node's creation.
            probe = now - max(0.0, (wall - created).total_seconds())
        return NodeHealth(probe, heartbeat, renew)
    probe = health.probe
    if heartbeat != health.ready_heartbeat:
        probe = now
    if renew is not None and (health.lease_renew is None or renew > health.lease_renew):
        probe = now
    return NodeHealth(probe, heartbeat, renew or health.lease_renew)


def mark_unknown(node: Obj, stamp: str) -> list[Obj] | None:
    """The node's conditions with the monitored ones Unknown; None if nothing changes."""
    conditions = copy.deepcopy((node.get("status") or {}).get("conditions") or [])
    changed = False
    created = (node.get("metadata") or {}).get("creationTimestamp") or stamp
    for kind in MONITORED_CONDITIONS:
        cur = next((c for c in conditions if c.get("type") == kind), None)
        if cur is None:
            conditions.append({"type": kind, "status": "Unknown",
                               "reason": "NodeStatusNeverUpdated",
                               "message": "Kubelet never posted node status.",
                               "lastHeartbeatTime": created, "lastTransitionTime": stamp})
            changed = True
        elif cur.get("status") != "Unknown":
            cur.update(status="Unknown", reason="NodeStatusUnknown",
                       message="Kubelet stopped posting node status.",
                       lastTransitionTime=stamp)
            changed = True
    return conditions if changed else None


# --- taints ----------------------------------------------------------------------------------


def _wanted_taints(node: Obj) -> set[tuple[str, str]]:
    """(key, effect) of every taint this controller wants on the node now."""
    wanted: set[tuple[str, str]] = set()
    for c in (node.get("status") or {}).get("conditions") or ():
        key = CONDITION_TAINTS.get((c.get("type"), c.get("status")))
        if key is not None:
            wanted.add((key, "NoSchedule"))
            if key in _NO_EXECUTE_KEYS:
                wanted.add((key, "NoExecute"))
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.add((UNSCHEDULABLE, "NoSchedule"))
    return wanted


def _controlled(taint: Obj) -> bool:
    effect, key = taint.get("effect"), taint.get("key")
    return (effect == "NoSchedule" and key in _NO_SCHEDULE_KEYS) or (
        effect == "NoExecute" and key in _NO_EXECUTE_KEYS)


def desired_taints(node: Obj, stamp: str) -> list[Obj] | None:
    """The node's taints after both tainting passes; None if nothing changes.

    Taints this controller does not own are kept as they are; owned ones that no
    condition calls for are removed; missing ones are added with `timeAdded`.
    """
    taints = list((node.get("spec") or {}).get("taints") or [])
    wanted = _wanted_taints(node)
    have = {(t.get("key"), t.get("effect")) for t in taints if _controlled(t)}
    if have == wanted:
        return None
    kept = [t for t in taints if not _controlled(t) or (t.get("key"), t.get("effect")) in wanted]
    added = [{"key": k, "effect": e, "timeAdded": stamp} for k, e in sorted(wanted - have)]
    return kept + added


def pods_to_mark_not_ready(pods: list[Obj], node_name: str) -> list[Obj]:
    """Copies of the pods on `node_name` whose Ready condition must turn False, changed."""
    out = []
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != node_name:
            continue
        conds = (pod.get("status") or {}).get("conditions") or ()
        ready = next((c for c in conds if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") == "False":
            continue
        out.append(copy.deepcopy(pod))
    return out


def _set_pod_not_ready(pod: Obj, stamp: str) -> None:
    for c in pod["status"]["conditions"]:
        if c.get("type") == "Ready":
            c["status"] = "False"
            c["lastTransitionTime"] = stamp


# --- the controller -----------------------------------------------------------------------


class NodeLifecycleController(ReconcileController):
    name = "nodelifecycle"
    workers = 4

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.recorder = ctx.recorder("node-controller")
        opts = ctx.options
        self.grace = float(opts.get("node_monitor_grace_period", DEFAULT_GRACE_PERIOD))
        self.startup_grace = float(opts.get("node_startup_grace_period",
                                            DEFAULT_STARTUP_GRACE_PERIOD))
        self.period = float(opts.get("node_monitor_period", DEFAULT_MONITOR_PERIOD))
        self.nodes = ctx.informers.informer(NODES)
        self.leases = ctx.informers.informer(LEASES, namespace=NODE_LEASE_NAMESPACE)
        self.pods = ctx.informers.informer(PODS, indexers={NODE_NAME_INDEX: by_node_name})
        self._health: dict[str, NodeHealth] = {}
        self.nodes.add_event_handler(**self.handlers())
        self.leases.add_event_handler(**self.handlers(lambda lease: lease["metadata"]["name"]))
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=lambda old, new: self._pod_changed(new))

    def _pod_changed(self, pod: Obj) -> None:
        node = (object_of(pod).get("spec") or {}).get("nodeName")
        if node:
            self.queue.add(node)

    async def reconcile(self, key: str) -> None:
        node = self.nodes.store.get(key)
        if node is None:
            self._health.pop(key, None)
            return
        node = await self._monitor(key, node)
        node = await self._sync_taints(node)
        ready = condition(node, "Ready")
        if ready is not None and ready.get("status") != "True":
            await self._mark_pods_not_ready(node)
        self.queue.add_after(key, self.period)

    async def _monitor(self, name: str, node: Obj) -> Obj:
        """Update the health record; past the grace period, mark conditions Unknown."""
        clock = self.ctx.clock
        lease = self.leases.store.get(f"{NODE_LEASE_NAMESPACE}/{name}")
        health = observe(self._health.get(name), node, lease, clock.now(), clock.wall())
        self._health[name] = health
        grace = self.grace if condition(node, "Ready") is not None else self.startup_grace
        if clock.now() <= health.probe + grace:
            return node
        conditions = mark_unknown(node, rfc3339(clock.wall()))
        if conditions is None:
            return node
        was_ready = (condition(node, "Ready") or {}).get("status") == "True"
        new = copy.deepcopy(node)
        new.setdefault("status", {})["conditions"] = conditions
        new = await self.client.update(NODES, new, subresource="status")
        log.info("node %s: stopped posting status; conditions now Unknown", name)
        if was_ready:
            self.recorder.event(new, "Normal", "NodeNotReady",
                                f"Node {name} status is now: NodeNotReady")
        # Our own write is not a heartbeat.
        self._health[name] = replace(health, ready_heartbeat=str(
            (condition(new, "Ready") or {}).get("lastHeartbeatTime") or ""))
        return new

    async def _sync_taints(self, node: Obj) -> Obj:
        taints = desired_taints(node, rfc3339(self.ctx.clock.wall()))
        if taints is None:
            return node
        patch = {"metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                 "spec": {"taints": taints}}
        return await self.client.patch(NODES, node["metadata"]["name"], patch)

    async def _mark_pods_not_ready(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        stamp = rfc3339(self.ctx.clock.wall())
        for pod in pods_to_mark_not_ready(self.pods.store.by_index(NODE_NAME_INDEX, name), name):
            _set_pod_not_ready(pod, stamp)
            try:
                await self.client.update(PODS, pod, subresource="status")
            except Exception as err:
                if is_not_found(err):
                    continue
                raise
            log.info("pod %s: marked not ready (node %s)", meta_namespace_key(pod), name)
            self.recorder.event(pod, WARNING, "NodeNotReady", "Node is not ready")


register("nodelifecycle")(NodeLifecycleController)
