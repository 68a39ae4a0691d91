"""The taint-eviction controller (pkg/controller/tainteviction): NoExecute taints evict.

Level-triggered per pod (`reconcile("namespace/name")`). A pod bound to a node with
NoExecute taints is:

- deleted at once when some taint is not tolerated;
- deleted `min(tolerationSeconds)` after the controller first saw it tolerated only
  for a while (the tolerations matching the taints, one per taint; one with
  tolerationSeconds <= 0 means at once);
- left alone when the matching tolerations have no tolerationSeconds (forever), and
  a pending deletion is cancelled when the taints go or become tolerated.

Before deleting, the live pod is read again and the decision re-made against it; the
pod gets the DisruptionTarget condition (reason DeletionByTaintManager) and is deleted
with its uid as precondition. Events: TaintManagerEviction on the pod.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from kybernetes.client import (
    NORMAL,
    builtin_resource,
    by_node_name,
    is_conflict,
    is_not_found,
    meta_namespace_key,
    object_of,
    split_key,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

log = logging.getLogger("kybernetes.controllers.tainteviction")

Obj = dict[str, Any]

NODES = builtin_resource("v1", "Node")
PODS = builtin_resource("v1", "Pod")
NODE_NAME_INDEX = "spec.nodeName"

FOREVER = -1.0


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """`Toleration.ToleratesTaint`: empty effect/key match all; Exists ignores the value."""
    effect, key = toleration.get("effect") or "", toleration.get("key") or ""
    if effect and effect != taint.get("effect"):
        return False
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def no_execute_taints(node: Mapping[str, Any] | None) -> list[Obj]:
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or ()
            if t.get("effect") == "NoExecute"]


def eviction_delay(taints: Iterable[Mapping[str, Any]],
                   tolerations: Iterable[Mapping[str, Any]]) -> float | None:
    """Seconds a pod may stay: 0 = evict now, FOREVER = never, None = no NoExecute taint.

    `GetMatchingTolerations` then `getMinTolerationTime`: each taint needs a tolerating
    toleration (the first that matches); the least tolerationSeconds among those wins.
    """
    taints, tolerations = list(taints), list(tolerations)
    if not taints:
        return None
    used = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return 0.0
        used.append(match)
    seconds = [t["tolerationSeconds"] for t in used if t.get("tolerationSeconds") is not None]
    if not seconds:
        return FOREVER
    return max(0.0, float(min(seconds)))


class TaintEvictionController(ReconcileController):
    name = "taint-eviction-controller"
    workers = 4

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.recorder = ctx.recorder("taint-eviction-controller")
        self.nodes = ctx.informers.informer(NODES)
        self.pods = ctx.informers.informer(PODS, indexers={NODE_NAME_INDEX: by_node_name})
        # pod key -> local time its eviction was first scheduled
        self._scheduled: dict[str, float] = {}
        self.pods.add_event_handler(**self.handlers(self._key_of_bound_pod))
        self.nodes.add_event_handler(on_add=self._node_changed,
                                     on_update=self._node_updated,
                                     on_delete=self._node_changed)

    @staticmethod
    def _key_of_bound_pod(pod: Obj) -> str | None:
        return meta_namespace_key(pod) if (pod.get("spec") or {}).get("nodeName") else None

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if no_execute_taints(old) != no_execute_taints(new):
            self._node_changed(new)

    def _node_changed(self, node: Any) -> None:
        name = object_of(node)["metadata"]["name"]
        for key in self.pods.store.index_keys(NODE_NAME_INDEX, name):
            self.queue.add(key)

    # --- reconcile ------------------------------------------------------------------------

    def _delay_for(self, pod: Obj | None) -> float | None:
        node_name = ((pod or {}).get("spec") or {}).get("nodeName")
        if pod is None or not node_name:
            return None
        node = self.nodes.store.get(node_name)
        return eviction_delay(no_execute_taints(node), (pod.get("spec") or {}).get(
            "tolerations") or ())

    async def reconcile(self, key: str) -> None:
        pod = self.pods.store.get(key)
        delay = self._delay_for(pod)
        if delay is None or delay == FOREVER:
            self._cancel(key, pod)
            return
        assert pod is not None
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            self._scheduled.pop(key, None)
            return
        now = self.ctx.clock.now()
        due = self._scheduled.setdefault(key, now) + delay
        if due > now:
            self.queue.add_after(key, due - now)
            return
        await self._evict(key, pod)

    def _cancel(self, key: str, pod: Obj | None) -> None:
        if self._scheduled.pop(key, None) is not None and pod is not None:
            self.recorder.event(pod, NORMAL, "TaintManagerEviction",
                                f"Cancelling deletion of Pod {key}")

    async def _evict(self, key: str, cached: Obj) -> None:
        """Re-read the live pod; if it still must go, mark it and delete it."""
        namespace, name = split_key(key)
        try:
            live = await self.client.get(PODS, name, namespace=namespace)
        except Exception as err:
            if is_not_found(err):
                self._scheduled.pop(key, None)
                return
            raise
        uid = live["metadata"].get("uid")
        if uid != cached["metadata"].get("uid") or not self._overdue(key, live):
            return  # a new pod of the same name, or no longer due: the next event decides
        if live["metadata"].get("deletionTimestamp"):
            self._scheduled.pop(key, None)
            return  # already going
        self.recorder.event(live, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {key}")
        await self._add_disruption_condition(live)
        try:
            await self.client.delete(PODS, name, namespace=namespace, preconditions={"uid": uid})
        except Exception as err:
            if not (is_not_found(err) or is_conflict(err)):
                raise
        log.info("pod %s: deleted for NoExecute taints of node %s", key,
                 live["spec"].get("nodeName"))
        self._scheduled.pop(key, None)

    def _overdue(self, key: str, live: Obj) -> bool:
        delay = self._delay_for(live)
        if delay is None or delay == FOREVER:
            return False
        started = self._scheduled.get(key)
        return started is not None and started + delay <= self.ctx.clock.now()

    async def _add_disruption_condition(self, pod: Obj) -> None:
        status = copy.deepcopy(pod.get("status") or {})
        conditions = status.setdefault("conditions", [])
        if any(c.get("type") == "DisruptionTarget" and c.get("status") == "True"
               for c in conditions):
            return
        conditions[:] = [c for c in conditions if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True",
                           "reason": "DeletionByTaintManager",
                           "message": "Taint manager: deleting due to NoExecute taint",
                           "lastTransitionTime": _now_rfc3339(self.ctx.clock.wall())})
        new = {**pod, "status": status}
        try:
            await self.client.update(PODS, new, subresource="status")
        except Exception as err:
            if not is_not_found(err):
                raise


def _now_rfc3339(t: Any) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


register("taint-eviction-controller")(TaintEvictionController)
