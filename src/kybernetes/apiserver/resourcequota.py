"""The ResourceQuota admission plug-in (plugin/pkg/admission/resourcequota).

A CREATE (or, for services and claims, an UPDATE) in a namespace with ResourceQuotas is
refused with 403 when it would take a quota's usage of any resource it tracks above
`spec.hard`:

    exceeded quota: <name>, requested: <r>=<n>, used: <r>=<n>, limited: <r>=<n>

and a pod is refused when a quota tracks cpu or memory that one of its containers does
not ask for (`failed quota: <name>: must specify requests.cpu for: <containers>`).

Usage is computed from the watch cache (the objects of the resource in the namespace,
in the quota's scopes, through `kybernetes.api.quota`'s evaluators) plus what this
apiserver has admitted but the cache does not show yet. That admission is *charged*:
the check and the charge happen without yielding the event loop, so two concurrent
creates cannot both take the last unit; a charge is dropped once the cache shows the
write (or after `RESERVATION_TTL_SECONDS`, for a write that failed after admission).
Upstream instead charges `status.used` with a compare-and-swap write per request; the
resourcequota controller keeps `status` up to date here. One apiserver's charges are
invisible to another's (good enough for a single apiserver).

Differences from upstream: `spec.hard` is enforced even before the controller has
filled `status` (upstream answers "status unknown for quota" until then); no
LimitedResources configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kybernetes.api import quota
from kybernetes.api.quota import Evaluator, ResourceList
from kybernetes.api.registry import Registry
from kybernetes.apiserver.admission import AdmissionRequest, Operation, admission_forbidden
from kybernetes.apiserver.cachelister import CacheLister
from kybernetes.apiserver.watchcache import WatchCache

Obj = dict[str, Any]

RESERVATION_TTL_SECONDS = 15.0


@dataclass
class _Charge:
    """Usage admitted but not yet visible in the cache."""

    prefix: str  # the resource's storage prefix
    key: str  # the object's storage key
    old_revision: int  # 0 for a create; else the revision the update replaces
    usage: ResourceList
    obj: Obj  # for scope matching
    expires: float


def _meta(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


class ResourceQuotaAdmission:
    """Implements `ValidatingPlugin` (last in the chain, as upstream)."""

    def __init__(self, cache: WatchCache, registry: Registry, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 ttl: float = RESERVATION_TTL_SECONDS) -> None:
        self.cache = cache
        self.registry = registry
        self.quotas = CacheLister(cache, "/registry/resourcequotas/")
        self.clock, self.wall, self.ttl = clock, wall, ttl
        # namespace -> uid -> charge
        self._charges: dict[str, dict[str, _Charge]] = {}

    async def validate(self, req: AdmissionRequest) -> None:
        if req.subresource or not req.namespaced or not req.namespace or req.obj is None:
            return
        if req.operation not in (Operation.CREATE, Operation.UPDATE):
            return
        info = self.registry.get(req.group, req.version, req.resource)
        evaluator = quota.evaluator_for(req.group, req.resource)
        if info is None or not evaluator.handles(req.operation.value):
            return
        quotas = await self.quotas.list(req.namespace)
        if quotas:
            # From here on no await: check and charge are one step on the event loop.
            self._check_and_charge(req, info.key_prefix(), evaluator, quotas)

    def _check_and_charge(self, req: AdmissionRequest, prefix: str, evaluator: Evaluator,
                          quotas: list[Obj]) -> None:
        now = self.wall()
        candidates = [(q, quota.parse_list((q.get("spec") or {}).get("hard"))) for q in quotas]
        interesting = [(q, hard) for q, hard in candidates
                       if quota.matches(q, hard, evaluator, req.obj or {})]
        for q, hard in interesting:
            missing = evaluator.constraints(evaluator.matching_resources(hard), req.obj or {})
            if missing:
                raise admission_forbidden(req, f"failed quota: {q['metadata']['name']}: "
                                          f"{missing}")
        delta = self._delta(req, evaluator, now)
        if delta is None or not interesting:
            return
        objects = self._objects(prefix, req.namespace)
        pending = self._pending(req.namespace, prefix)
        for q, hard in interesting:
            self._check_one(req, q, hard, evaluator, delta, objects, pending, now)
        if not req.dry_run:
            self._charge(req, prefix, delta)

    def _delta(self, req: AdmissionRequest, evaluator: Evaluator, now: datetime
               ) -> ResourceList | None:
        """What the request adds (None: nothing)."""
        assert req.obj is not None
        delta = evaluator.usage(req.obj, now)
        bad = quota.negative(delta)
        if bad:
            raise admission_forbidden(req, "quota usage is negative for resource(s): "
                                      + ",".join(bad))
        if req.operation is Operation.UPDATE and _meta(req.old_obj).get("resourceVersion"):
            assert req.old_obj is not None
            delta = quota.subtract_non_negative(delta, evaluator.usage(req.old_obj, now))
        return None if quota.is_zero(delta) else delta

    def _check_one(self, req: AdmissionRequest, q: Obj, hard: ResourceList,
                   evaluator: Evaluator, delta: ResourceList, objects: list[Obj],
                   pending: list[_Charge], now: datetime) -> None:
        names = evaluator.matching_resources(hard)
        selectors = quota.scope_selectors(q)
        used = quota.usage_of(evaluator, objects, selectors, names, now)
        for charge in pending:
            if evaluator.matches_scopes(selectors, charge.obj):
                used = quota.add(used, quota.mask(charge.usage, names))
        requested = quota.mask(delta, names)
        new = quota.mask(quota.add(used, requested), requested)
        ok, exceeded = quota.less_than_or_equal(new, hard)
        if not ok:
            raise admission_forbidden(
                req, f"exceeded quota: {q['metadata']['name']}, "
                f"requested: {quota.pretty_print(quota.mask(requested, exceeded))}, "
                f"used: {quota.pretty_print(quota.mask(used, exceeded))}, "
                f"limited: {quota.pretty_print(quota.mask(hard, exceeded))}")

    # --- the cache and the charges --------------------------------------------------------

    def _objects(self, prefix: str, namespace: str) -> list[Obj]:
        return CacheLister(self.cache, prefix).cached(namespace)

    def _visible(self, charge: _Charge) -> bool:
        rc = self.cache.caches.get(charge.prefix)
        cached = rc.objects.get(charge.key) if rc is not None else None
        if charge.old_revision == 0:
            # Created (or refused as AlreadyExists): either way the cache now counts it.
            return cached is not None
        return cached is None or cached.revision != charge.old_revision

    def _pending(self, namespace: str, prefix: str) -> list[_Charge]:
        charges = self._charges.get(namespace) or {}
        now = self.clock()
        for uid, charge in list(charges.items()):
            if now >= charge.expires or self._visible(charge):
                del charges[uid]
        if not charges:
            self._charges.pop(namespace, None)
        return [c for c in charges.values() if c.prefix == prefix]

    def _charge(self, req: AdmissionRequest, prefix: str, delta: ResourceList) -> None:
        assert req.obj is not None
        meta = _meta(req.obj)
        uid = str(meta.get("uid") or _meta(req.old_obj).get("uid") or meta.get("name"))
        old_rv = int(_meta(req.old_obj).get("resourceVersion") or 0)
        key = prefix + f"{req.namespace}/{meta.get('name') or req.name}"
        self._charges.setdefault(req.namespace, {})[uid] = _Charge(
            prefix, key, old_rv, delta, req.obj, self.clock() + self.ttl)
