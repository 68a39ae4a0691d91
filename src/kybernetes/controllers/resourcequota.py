"""The resource quota controller (pkg/controller/resourcequota): ResourceQuota status.

Level-triggered per quota (`reconcile("namespace/name")`): `status.hard` is a copy of
`spec.hard`, and `status.used` holds, for every hard resource some evaluator tracks
(`kybernetes.api.quota`), the usage of the namespace's objects in the quota's scopes:
pod counts and compute requests/limits, services and their node ports and load
balancers, claims and storage, `count/<resource>.<group>` of anything. Unused tracked
resources read 0. The status is written only when it changes.

The objects are read from informers, one per resource a quota names, created when a
quota first needs it (resolved through discovery). Changes to those objects re-enqueue
the quotas of their namespace (for updates only when the object's usage changed); every
quota is also recomputed each resource_quota_sync_period (300 s) as upstream's full
resync. The ResourceQuota admission plug-in enforces the limits at write time; this
controller only reports.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from kybernetes.api import quota
from kybernetes.client import (
    Informer,
    ResourceInfo,
    builtin_resource,
    is_not_found,
    meta_namespace_key,
    object_of,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

log = logging.getLogger("kybernetes.controllers.resourcequota")

Obj = dict[str, Any]

QUOTAS = builtin_resource("v1", "ResourceQuota")
DEFAULT_SYNC_PERIOD = 300.0
DISCOVERY_RETRY_SECONDS = 30.0  # upstream re-reads discovery every 30 s for new resources


def names_by_resource(hard: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """The hard resource names grouped by the (group, resource) whose objects use them."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name in sorted(hard):
        owner = quota.resource_of_name(name)
        if owner is not None:
            out[owner].append(name)
    return dict(out)


def compute_status(q: Obj, objects_of: dict[tuple[str, str], list[Obj]], now: datetime
                   ) -> Obj:
    """status.hard and status.used of quota `q`, given the namespace's objects of every
    resource it tracks (a resource missing from `objects_of` is not reported)."""
    hard = dict((q.get("spec") or {}).get("hard") or {})
    parsed = quota.parse_list(hard)
    selectors = quota.scope_selectors(q)
    used: quota.ResourceList = {}
    for (group, resource), names in names_by_resource(parsed).items():
        if (group, resource) not in objects_of:
            continue
        evaluator = quota.evaluator_for(group, resource)
        tracked = evaluator.matching_resources(names)
        used.update(quota.usage_of(evaluator, objects_of[(group, resource)], selectors,
                                   tracked, now))
    return {"hard": hard, "used": quota.to_strings(used)}


def same_status(old: Obj, new: Obj) -> bool:
    """Equal as amounts (the server may print a quantity differently)."""
    def amounts(rl: Any) -> dict[str, Any]:
        raw = rl or {}
        parsed = quota.parse_list(raw)
        return {k: parsed[k].value if k in parsed else raw[k] for k in raw}

    return all(amounts(old.get(k)) == amounts(new.get(k)) for k in ("hard", "used"))


class ResourceQuotaController(ReconcileController):
    name = "resourcequota"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.period = float(ctx.options.get("resource_quota_sync_period", DEFAULT_SYNC_PERIOD))
        self.quotas = ctx.informers.informer(QUOTAS)
        self.quotas.add_event_handler(**self.handlers())
        # (group, resource) -> its informer
        self._monitors: dict[tuple[str, str], Informer] = {}
        # (group, resource) not served -> when to ask discovery again (a CRD may come)
        self._unknown: dict[tuple[str, str], float] = {}

    # --- monitors ------------------------------------------------------------------------

    async def _resolve(self, group: str, resource: str) -> ResourceInfo | None:
        for info in await self.client.discovery.preferred_resources():
            if info.group == group and info.plural == resource and info.namespaced and \
                    "watch" in info.verbs:
                return info
        return None

    async def _monitor(self, group: str, resource: str) -> Informer | None:
        """The informer of a resource quotas count (started and synced), or None when
        the server does not serve it."""
        key = (group, resource)
        inf = self._monitors.get(key)
        if inf is None:
            if self.ctx.clock.now() < self._unknown.get(key, float("-inf")):
                return None
            if key in self._unknown:
                self.client.discovery.invalidate()
            info = await self._resolve(group, resource)
            if info is None:
                self._unknown[key] = self.ctx.clock.now() + DISCOVERY_RETRY_SECONDS
                return None
            self._unknown.pop(key, None)
            inf = self._monitors[key] = self._start_monitor(info)
        if not inf.has_synced():
            await inf.wait_for_sync()
        return inf

    def _start_monitor(self, info: ResourceInfo) -> Informer:
        inf = self.ctx.informers.informer(info)
        evaluator = quota.evaluator_for(info.group, info.plural)
        inf.add_event_handler(
            on_add=self._object_changed,
            on_update=lambda old, new: self._object_updated(evaluator, old, new),
            on_delete=self._object_changed)
        inf.start()
        return inf

    def _object_changed(self, obj: Any) -> None:
        namespace = (object_of(obj).get("metadata") or {}).get("namespace") or ""
        for q in self.quotas.store.list_namespace(namespace):
            self.queue.add(meta_namespace_key(q))

    def _object_updated(self, evaluator: quota.Evaluator, old: Obj, new: Obj) -> None:
        now = self.ctx.clock.wall()
        if evaluator.usage(old, now) != evaluator.usage(new, now):
            self._object_changed(new)

    # --- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        q = self.quotas.store.get(key)
        if q is None:
            return
        namespace = q["metadata"].get("namespace") or ""
        objects_of: dict[tuple[str, str], list[Obj]] = {}
        owners = names_by_resource(quota.parse_list((q.get("spec") or {}).get("hard")))
        for owner in owners:
            inf = await self._monitor(*owner)
            if inf is not None:
                objects_of[owner] = inf.store.list_namespace(namespace)
        status = compute_status(q, objects_of, self.ctx.clock.wall())
        if not same_status(q.get("status") or {}, status):
            try:
                await self.client.update(QUOTAS, {**q, "status": status}, subresource="status")
            except Exception as err:
                if not is_not_found(err):
                    raise
        unknown = len(objects_of) < len(owners)
        self.queue.add_after(key, min(self.period, DISCOVERY_RETRY_SECONDS) if unknown
                             else self.period)


register("resourcequota")(ResourceQuotaController)
