"""The pod garbage collector (upstream pkg/controller/podgc/gc_controller.go, v1.32).

Every `pod_gc_period` seconds (20) it looks at all pods and nodes in the cache and
force-deletes (grace period 0), after marking each still-running pod Failed
through a server-side apply of its status as field manager `PodGC`:

- terminated pods (Succeeded or Failed) beyond `terminated_pod_gc_threshold`
  (12500; 0 disables), evicted ones first, then oldest first;
- terminating pods on nodes that are not Ready and carry the
  `node.kubernetes.io/out-of-service` taint;
- orphaned pods, bound to a node that does not exist: a missing node is first
  quarantined for `pod_gc_quarantine` seconds (40), then checked against the API
  (not the cache) before its pods go, with a DisruptionTarget condition;
- terminating pods that were never scheduled.

Not a per-key reconcile but a periodic sweep, as upstream: the decisions are pure
functions of the pod and node lists; only the deletes are I/O.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from kybernetes.client import is_not_found
from kybernetes.controllers.base import ControllerContext
from kybernetes.controllers.controller_utils import created, format_time
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers.podgc")

PODS = ("v1", "Pod")
NODES = ("v1", "Node")
FIELD_MANAGER = "PodGC"
OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service"


# --- pure parts -------------------------------------------------------------------------


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminated(pod: Obj) -> bool:
    return _phase(pod) not in ("Pending", "Running", "Unknown")


def is_terminating(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def is_evicted(pod: Obj) -> bool:
    return _phase(pod) == "Failed" and (pod.get("status") or {}).get("reason") == "Evicted"


def node_name(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def deletion_order(pods: Iterable[Obj]) -> list[Obj]:
    """byEvictionAndCreationTimestamp: evicted first, then oldest, then by name."""
    return sorted(pods, key=lambda p: (not is_evicted(p), created(p), p["metadata"]["name"]))


def terminated_to_delete(pods: Iterable[Obj], threshold: int) -> list[Obj]:
    """The terminated pods beyond `threshold`, in deletion order."""
    terminated = [p for p in pods if is_terminated(p)]
    excess = len(terminated) - threshold
    return deletion_order(terminated)[:excess] if excess > 0 else []


def is_node_ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def out_of_service(node: Obj) -> bool:
    return any(t.get("key") == OUT_OF_SERVICE_TAINT
               for t in (node.get("spec") or {}).get("taints") or [])


def terminating_out_of_service(pods: Iterable[Obj], nodes: dict[str, Obj]) -> list[Obj]:
    """Terminating pods on known nodes that are not Ready and out of service."""
    out = []
    for pod in pods:
        node = nodes.get(node_name(pod)) if is_terminating(pod) else None
        if node is not None and not is_node_ready(node) and out_of_service(node):
            out.append(pod)
    return deletion_order(out)


def unscheduled_terminating(pods: Iterable[Obj]) -> list[Obj]:
    return [p for p in pods if is_terminating(p) and not node_name(p)]


class Quarantine:
    """Node names seen missing, and since when (upstream's delaying nodeQueue): a name
    is `due` once it has been missing for `seconds`; taking it resets it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.since: dict[str, float] = {}

    def observe(self, names: Iterable[str], now: float) -> None:
        for name in names:
            self.since.setdefault(name, now)

    def take_due(self, now: float) -> list[str]:
        due = sorted(n for n, t in self.since.items() if now - t >= self.seconds)
        for name in due:
            del self.since[name]
        return due


# --- the controller ---------------------------------------------------------------------


@register("podgc")
class PodGCController:
    name = "podgc"

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.threshold = int(ctx.options.get("terminated_pod_gc_threshold", 12500))
        self.period = float(ctx.options.get("pod_gc_period", 20.0))
        self.quarantine = Quarantine(float(ctx.options.get("pod_gc_quarantine", 40.0)))
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)

    async def run(self) -> None:
        while True:
            try:
                await self.gc()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("podgc: sweep failed")
            await self.ctx.clock.sleep(self.period)

    async def gc(self) -> None:
        """One sweep over the cached pods and nodes."""
        pods = self.pods.store.list()
        nodes = {n["metadata"]["name"]: n for n in self.nodes.store.list()}
        if self.threshold > 0:
            await self._delete_all(terminated_to_delete(pods, self.threshold), "terminated")
        await self._delete_all(terminating_out_of_service(pods, nodes),
                               "terminating on an out-of-service node")
        await self._gc_orphaned(pods, nodes)
        await self._delete_all(unscheduled_terminating(pods), "unscheduled and terminating")

    async def _gc_orphaned(self, pods: list[Obj], nodes: dict[str, Obj]) -> None:
        now = self.ctx.clock.now()
        self.quarantine.observe({node_name(p) for p in pods
                                 if node_name(p) and node_name(p) not in nodes}, now)
        deleted: set[str] = set()
        for name in self.quarantine.take_due(now):
            if name not in nodes and not await self._node_exists(name):
                deleted.add(name)
        condition = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                     "message": "PodGC: node no longer exists",
                     "lastTransitionTime": format_time(self.ctx.clock.wall())}
        orphans = [p for p in pods if node_name(p) in deleted]
        await self._delete_all(orphans, "orphaned (its node is gone)", condition)

    async def _node_exists(self, name: str) -> bool:
        try:
            await self.client.get(NODES, name)
            return True
        except Exception as err:
            if is_not_found(err):
                return False
            log.warning("podgc: cannot get node %s: %s", name, err)
            return True  # looked at again after another quarantine

    async def _delete_all(self, pods: list[Obj], why: str, condition: Obj | None = None
                          ) -> None:
        if pods:
            log.info("podgc: force-deleting %d pods: %s", len(pods), why)
        results = await asyncio.gather(*(self._mark_failed_and_delete(p, condition)
                                         for p in pods), return_exceptions=True)
        for pod, result in zip(pods, results, strict=True):
            if isinstance(result, Exception) and not is_not_found(result):
                log.warning("podgc: deleting pod %s/%s: %s", pod["metadata"].get("namespace"),
                            pod["metadata"]["name"], result)

    async def _mark_failed_and_delete(self, pod: Obj, condition: Obj | None) -> None:
        meta = pod["metadata"]
        if _phase(pod) not in ("Succeeded", "Failed"):
            # An orphaned pod has no kubelet to ever move it out of Running.
            status: Obj = {"phase": "Failed"}
            if condition is not None:
                status["conditions"] = [condition]
            await self.client.apply(PODS, {"apiVersion": "v1", "kind": "Pod",
                                           "metadata": {"name": meta["name"],
                                                        "namespace": meta["namespace"]},
                                           "status": status},
                                    field_manager=FIELD_MANAGER, force=True,
                                    subresource="status")
        await self.client.delete(PODS, meta["name"], namespace=meta["namespace"],
                                 grace_period_seconds=0)
