"""The namespace controller: empties a terminating namespace, then finalizes it.

Upstream pkg/controller/namespace (namespace_controller.go and
deletion/namespaced_resources_deleter.go, status_condition_utils.go), v1.32.

A namespace with a deletionTimestamp (the apiserver set it, with phase
Terminating) is queued `namespace_deletion_grace_period` seconds later (5 by
default, so that late creates are seen). Its sync:

1. re-reads the namespace; nothing to do if it is gone, not being deleted, or
   its `kubernetes` finalizer is already off;
2. discovers every namespaced resource that supports delete (built-ins and
   custom resources alike) and deletes everything of each in the namespace
   (deletecollection where supported, else one by one; propagationPolicy
   Background), then lists again to see what remains;
3. writes the namespace's deletion conditions (NamespaceDeletionDiscoveryFailure,
   NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
   NamespaceContentRemaining, NamespaceFinalizersRemaining) when they change;
4. if content remains (pods terminating gracefully, objects held by finalizers)
   it looks again after estimate/2 + 1 seconds; otherwise it removes the
   `kubernetes` finalizer with PUT namespaces/NAME/finalize, and the apiserver
   deletes the namespace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kybernetes.client import ResourceInfo, StatusError, is_conflict, is_not_found
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers.namespace")

FINALIZER = "kubernetes"
NAMESPACES = ("v1", "Namespace")
# Objects held by finalizers: look again after this many seconds (upstream's estimate).
FINALIZER_ESTIMATE_SECONDS = 15

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GV_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"

# Condition type -> (reason, message) when all is well ("False" status).
OK_CONDITIONS: dict[str, tuple[str, str]] = {
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    GV_PARSING_FAILURE: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: ("ContentDeleted",
                      "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentHasNoFinalizers",
                           "All content-preserving finalizers finished"),
}


class ContentRemaining(Exception):
    """Content is left that should go by itself within `estimate` seconds."""

    def __init__(self, estimate: int) -> None:
        super().__init__(f"some content remains in the namespace; estimate {estimate}s")
        self.estimate = estimate


# --- pure parts -------------------------------------------------------------------------


@dataclass
class ResourceResult:
    """What deleting one resource's objects in the namespace left behind."""

    estimate: int = 0
    remaining: int = 0
    finalizers: dict[str, int] = field(default_factory=dict)
    error: str = ""


def estimate_pod_termination(pods: Iterable[Obj]) -> int:
    """Seconds the namespace's pods may take to go: the longest grace period among
    pods that have not finished (estimateGracefulTerminationForPods)."""
    estimate = 0
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        if isinstance(grace, int) and grace > estimate:
            estimate = grace
    return estimate


def remaining_result(info: ResourceInfo, namespace: str, items: list[Obj],
                     estimate: int) -> ResourceResult:
    """Judge what is left after deleting (deleteAllContentForGroupVersionResource)."""
    if not items:
        return ResourceResult()
    counts: dict[str, int] = {}
    for item in items:
        for f in (item.get("metadata") or {}).get("finalizers") or []:
            counts[f] = counts.get(f, 0) + 1
    if estimate:
        return ResourceResult(estimate, len(items), counts)
    if counts:
        return ResourceResult(FINALIZER_ESTIMATE_SECONDS, len(items), counts)
    gvr = f"{{{info.group} {info.version} {info.plural}}}"
    return ResourceResult(0, len(items), {},
                          f"unexpected items still remain in namespace: {namespace} for gvr: "
                          f"{gvr}")


def new_conditions(*, discovery_error: str, results: dict[ResourceInfo, ResourceResult],
                   content_errors: list[str]) -> list[Obj]:
    """The failing conditions of one pass (namespaceConditionUpdater); types not
    listed are set to their OK form by `update_conditions`."""
    out: list[Obj] = []
    if discovery_error:
        out.append(_condition(DISCOVERY_FAILURE, "DiscoveryFailed", discovery_error))
    remaining = sorted(f"{info.plural}.{info.group} has {r.remaining} resource instances"
                       for info, r in results.items() if r.remaining)
    if remaining:
        out.append(_condition(CONTENT_REMAINING, "SomeResourcesRemain",
                              "Some resources are remaining: " + ", ".join(remaining)))
    by_finalizer: dict[str, int] = {}
    for r in results.values():
        for f, n in r.finalizers.items():
            by_finalizer[f] = by_finalizer.get(f, 0) + n
    if by_finalizer:
        text = ", ".join(sorted(f"{f} in {n} resource instances"
                                for f, n in by_finalizer.items() if n))
        out.append(_condition(FINALIZERS_REMAINING, "SomeFinalizersRemain",
                              "Some content in the namespace has finalizers remaining: "
                              + text))
    if content_errors:
        out.append(_condition(CONTENT_FAILURE, "ContentDeletionFailed",
                              f"Failed to delete all resource types, {len(content_errors)} "
                              f"remaining: {', '.join(sorted(content_errors))}"))
    return out


def _condition(ctype: str, reason: str, message: str, status: str = "True") -> Obj:
    return {"type": ctype, "status": status, "reason": reason, "message": message}


def update_conditions(conditions: list[Obj], failing: list[Obj], now: str
                      ) -> tuple[list[Obj], bool]:
    """The namespace's conditions with every deletion condition type set (failing
    ones from `failing`, the rest OK); lastTransitionTime moves only when the
    status does. Returns (conditions, changed)."""
    out = [dict(c) for c in conditions]
    changed = False
    by_type = {c["type"]: c for c in failing}
    for ctype, (reason, message) in OK_CONDITIONS.items():
        want = by_type.get(ctype) or _condition(ctype, reason, message, "False")
        old = next((c for c in out if c.get("type") == ctype), None)
        if old is None:
            out.append({**want, "lastTransitionTime": now})
            changed = True
        elif any(old.get(k) != want[k] for k in ("status", "reason", "message")):
            if old.get("status") != want["status"]:
                old["lastTransitionTime"] = now
            old.update(want)
            changed = True
    return out, changed


def finalized(ns: Obj) -> bool:
    return FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or [])


# --- the controller ---------------------------------------------------------------------


@register("namespace")
class NamespaceController(ReconcileController):
    name = "namespace"
    workers = 10  # upstream --concurrent-namespace-syncs

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.grace = float(ctx.options.get("namespace_deletion_grace_period", 5.0))
        self.namespaces = ctx.informers.informer(NAMESPACES, resync_period=300.0)
        self.namespaces.add_event_handler(on_add=self._enqueue,
                                          on_update=lambda _old, new: self._enqueue(new))

    def _enqueue(self, ns: Obj) -> None:
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            # Late to let HA apiservers see the deletion and late creates land.
            self.queue.add_after(ns["metadata"]["name"], self.grace)

    async def reconcile(self, key: str) -> None:
        if key not in self.namespaces.store:
            return
        try:
            await self._delete(key)
        except ContentRemaining as remaining:
            log.info("namespace %s: content remains; checking again in %ds", key,
                     remaining.estimate // 2 + 1)
            self.queue.add_after(key, remaining.estimate // 2 + 1)

    async def _delete(self, name: str) -> None:
        ns = await self._get(name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        ns = await self._retry_on_conflict(ns, self._ensure_terminating)
        if ns is None or finalized(ns):
            return
        estimate, ns = await self._delete_all_content(ns)
        if estimate > 0:
            raise ContentRemaining(estimate)
        await self._retry_on_conflict(ns, self._finalize)
        log.info("namespace %s: content deleted; finalized", name)

    # --- namespace writes ----------------------------------------------------------------

    async def _get(self, name: str) -> Obj | None:
        try:
            return await self.client.get(NAMESPACES, name)
        except Exception as err:
            if is_not_found(err):
                return None
            raise

    async def _retry_on_conflict(self, ns: Obj, fn: Callable[[Obj], Awaitable[Obj]]
                                 ) -> Obj | None:
        """`fn(ns)`, re-reading the namespace after each conflict; None once it is gone."""
        while True:
            try:
                return await fn(ns)
            except Exception as err:
                if is_not_found(err):
                    return None
                if not is_conflict(err):
                    raise
            latest = await self._get(ns["metadata"]["name"])
            if latest is None:
                return None
            if latest["metadata"].get("uid") != ns["metadata"].get("uid"):
                raise RuntimeError("namespace uid has changed across retries")
            ns = latest

    async def _ensure_terminating(self, ns: Obj) -> Obj:
        if (ns.get("status") or {}).get("phase") == "Terminating":
            return ns
        new = {**ns, "status": {**(ns.get("status") or {}), "phase": "Terminating"}}
        return await self.client.update(NAMESPACES, new, subresource="status")

    async def _finalize(self, ns: Obj) -> Obj:
        spec = ns.get("spec") or {}
        kept = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        new = {**ns, "spec": {**spec, "finalizers": kept}}
        return await self.client.update(NAMESPACES, new, subresource="finalize")

    # --- content -------------------------------------------------------------------------

    async def _delete_all_content(self, ns: Obj) -> tuple[int, Obj]:
        """Delete everything in the namespace. Returns the seconds to wait for what
        remains and the namespace as last written."""
        name = ns["metadata"]["name"]
        discovery_error = ""
        infos: list[ResourceInfo] = []
        self.client.discovery.invalidate()
        try:
            infos = [i for i in await self.client.discovery.preferred_resources()
                     if i.namespaced and "delete" in i.verbs]
        except Exception as err:
            discovery_error = str(err)
        results = dict(zip(infos, await asyncio.gather(
            *(self._delete_resource(i, name) for i in infos)), strict=True))
        content_errors = [r.error for r in results.values() if r.error]
        ns = await self._write_conditions(ns, new_conditions(
            discovery_error=discovery_error, results=results, content_errors=content_errors))
        if discovery_error or content_errors:
            raise RuntimeError("; ".join(filter(None, [discovery_error, *content_errors])))
        return max((r.estimate for r in results.values()), default=0), ns

    async def _delete_resource(self, info: ResourceInfo, namespace: str) -> ResourceResult:
        """Delete one resource's objects in the namespace and judge what is left. A
        resource that cannot be listed is deleted by collection, if at all; one the
        server does not serve after all (404, 405) is skipped, as upstream's opCache."""
        try:
            if "list" not in info.verbs:
                if "deletecollection" in info.verbs:
                    await self.client.delete_collection(info, namespace=namespace,
                                                        propagation_policy="Background")
                return ResourceResult()
            items = await self._list(info, namespace)
            if not items:
                return ResourceResult()
            estimate = estimate_pod_termination(items) if _is_pods(info) else 0
            await self._delete_items(info, namespace, items)
            return remaining_result(info, namespace, await self._list(info, namespace),
                                    estimate)
        except Exception as err:
            if isinstance(err, StatusError) and err.code in (404, 405):
                return ResourceResult()
            return ResourceResult(error=str(err))

    async def _list(self, info: ResourceInfo, namespace: str) -> list[Obj]:
        return list((await self.client.list_all(info, namespace=namespace)).get("items") or [])

    async def _delete_items(self, info: ResourceInfo, namespace: str,
                            items: list[Obj]) -> None:
        if "deletecollection" in info.verbs:
            await self.client.delete_collection(info, namespace=namespace,
                                                propagation_policy="Background")
            return
        for item in items:
            try:
                await self.client.delete(info, item["metadata"]["name"], namespace=namespace,
                                         propagation_policy="Background")
            except Exception as err:
                if not is_not_found(err):
                    raise

    async def _write_conditions(self, ns: Obj, failing: list[Obj]) -> Obj:
        """Write the deletion conditions if they changed; the namespace as stored."""
        status = ns.get("status") or {}
        now = self.ctx.clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ")
        conditions, changed = update_conditions(status.get("conditions") or [], failing, now)
        if not changed:
            return ns
        new = {**ns, "status": {**status, "conditions": conditions}}
        try:
            return await self.client.update(NAMESPACES, new, subresource="status")
        except Exception as err:  # as upstream: logged, the sync goes on
            log.warning("namespace %s: cannot update status conditions: %s",
                        ns["metadata"]["name"], err)
            return ns


def _is_pods(info: ResourceInfo) -> bool:
    return (info.group, info.plural) == ("", "pods")
