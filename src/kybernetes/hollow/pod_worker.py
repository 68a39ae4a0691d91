"""`PodWorker`: runs `lifecycle.plan` for the pods bound to our nodes, as a controller.

One shared pod informer (field selector `spec.nodeName!=`, indexed by node
name) feeds a `WorkQueue` of pod keys; its handlers only enqueue keys of pods
on our nodes. `pod_workers` tasks reconcile: read the pod, plan, and either
wait (`add_after` until the step is due) or send the step's one status PATCH
(KILL: a PATCH and the final DELETE).

Our own writes race the watch: right after a PATCH the informer may still
hold the older pod. The worker keeps the object each write returned and plans
from whichever of it and the cached pod is newer (by resourceVersion), so a
step is never taken twice.

Pod IPs come from the node's `spec.podCIDR` through its `PodIPAllocator`;
addresses pods already have are claimed back after a restart, and released
when a pod ends or goes away. hostNetwork pods use the node's InternalIP.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kybernetes.client import (
    Client,
    DeletedFinalStateUnknown,
    Informer,
    ShutDown,
    StatusError,
    WorkQueue,
    builtin_resource,
    is_conflict,
    is_not_found,
    meta_namespace_key,
    object_of,
    split_key,
)
from kybernetes.hollow import podstatus
from kybernetes.hollow.lifecycle import TERMINAL_PHASES, Action, Timing, plan
from kybernetes.hollow.node_state import HollowNode, Stats

log = logging.getLogger("kybernetes.hollow.pods")

Obj = dict[str, Any]

PODS = builtin_resource("v1", "Pod")
NODE_INDEX = "spec.nodeName"
NO_ADDRESS_RETRY_SECONDS = 5.0


def _rv(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _uid(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _node_of(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


class PodWorker:
    """See the module docstring. `informer` must index pods under NODE_INDEX."""

    def __init__(self, client: Client, informer: Informer, nodes: dict[str, HollowNode],
                 stats: Stats, *, timing: Timing, workers: int = 8) -> None:
        self.client = client
        self.informer = informer
        self.nodes = nodes
        self.stats = stats
        self.timing = timing
        self.workers = workers
        self.clock = client.clock
        self.queue: WorkQueue[str] = WorkQueue(clock=self.clock, name="hollow-pods")
        self._written: dict[str, Obj] = {}
        informer.add_event_handler(on_add=self._on_add, on_update=self._on_update,
                                   on_delete=self._on_delete)

    # --- handlers: enqueue only --------------------------------------------------------------

    def _ours(self, pod: Obj) -> bool:
        return _node_of(pod) in self.nodes

    def _on_add(self, pod: Obj) -> None:
        if self._ours(pod):
            self.queue.add(meta_namespace_key(pod))

    def _on_update(self, old: Obj, new: Obj) -> None:
        self._on_add(new)

    def _on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = object_of(obj)
        node = self.nodes.get(_node_of(pod))
        if node is None:
            return
        self._written.pop(meta_namespace_key(pod), None)
        if node.allocator is not None:
            node.allocator.release(_uid(pod))

    def enqueue_node(self, name: str) -> None:
        """Look at every pod of node `name` again (registered, resumed, new CIDR)."""
        for key in self.informer.store.index_keys(NODE_INDEX, name):
            self.queue.add(key)

    # --- workers -----------------------------------------------------------------------------

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._worker(), name=f"hollow pod worker {i}")
                 for i in range(self.workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shutdown()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.reconcile(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.stats.errors["pod"] += 1
                if is_not_found(err):
                    self.queue.forget(key)  # gone meanwhile; its delete event follows
                else:
                    log.warning("pod step failed pod=%s error=%s", key, err)
                    self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def latest(self, key: str) -> Obj | None:
        """The newest state of the pod we know: the cache's, or our own last write's."""
        cached = self.informer.store.get(key)
        written = self._written.get(key)
        if written is None or cached is None:
            if cached is None:
                self._written.pop(key, None)
            return cached
        if _uid(written) == _uid(cached) and _rv(written) > _rv(cached):
            return written
        del self._written[key]
        return cached

    async def reconcile(self, key: str) -> None:
        pod = self.latest(key)
        if pod is None:
            return
        node = self.nodes.get(_node_of(pod))
        if node is None or node.gone or not node.registered or node.pods_frozen:
            return  # registration, resume_heartbeats() or a restart brings it back
        self._account_address(node, pod)
        now = self.clock.wall()
        step = plan(pod, now, self.timing)
        if step.action is Action.NONE:
            return
        if not step.is_due(now):
            assert step.due is not None
            self.queue.add_after(key, (step.due - now).total_seconds())
            return
        await self._take(step.action, key, pod, node)

    def _account_address(self, node: HollowNode, pod: Obj) -> None:
        if node.allocator is None:
            return
        status = pod.get("status") or {}
        if status.get("phase") in TERMINAL_PHASES:
            node.allocator.release(_uid(pod))
        elif status.get("podIP") and not (pod.get("spec") or {}).get("hostNetwork"):
            node.allocator.claim(_uid(pod), str(status["podIP"]))

    # --- steps -------------------------------------------------------------------------------

    async def _take(self, action: Action, key: str, pod: Obj, node: HollowNode) -> None:
        pod_ip = ""
        if action is Action.START:
            ip = self._address(node, pod)
            if ip is None:
                self.queue.add_after(key, NO_ADDRESS_RETRY_SECONDS)
                return
            pod_ip = ip
        patch = podstatus.patch_for(action, pod, self.clock.wall(), pod_ip=pod_ip,
                                    host_ip=node.ident.internal_ip)
        if patch is not None:
            await self._patch(key, pod, patch)
        if action in (Action.KILL, Action.DELETE):
            await self._final_delete(key, pod)

    def _address(self, node: HollowNode, pod: Obj) -> str | None:
        if (pod.get("spec") or {}).get("hostNetwork"):
            return node.ident.internal_ip
        if node.allocator is None:
            log.debug("pod=%s waits: node=%s has no spec.podCIDR yet", meta_namespace_key(pod),
                     node.name)
            return None
        ip = node.allocator.allocate(_uid(pod))
        if ip is None:
            log.warning("pod=%s waits: no free address in node=%s podCIDR=%s",
                        meta_namespace_key(pod), node.name, node.pod_cidr)
        return ip

    async def _patch(self, key: str, pod: Obj, patch: Obj) -> None:
        namespace, name = split_key(key)
        self.stats.requests["pod_status"] += 1
        updated = await self.client.patch(PODS, name, patch, namespace=namespace,
                                          patch_type="strategic", subresource="status")
        if _uid(updated) == _uid(pod):
            self._written[key] = updated

    async def _final_delete(self, key: str, pod: Obj) -> None:
        """DELETE with gracePeriodSeconds=0 and the uid as precondition (a pod of the same
        name created meanwhile is not ours to delete)."""
        namespace, name = split_key(key)
        self.stats.requests["pod_delete"] += 1
        try:
            await self.client.delete(PODS, name, namespace=namespace, grace_period_seconds=0,
                                     preconditions={"uid": _uid(pod)})
        except StatusError as err:
            if not (is_not_found(err) or is_conflict(err)):
                raise
        node = self.nodes.get(_node_of(pod))
        if node is not None and node.allocator is not None:
            node.allocator.release(_uid(pod))
