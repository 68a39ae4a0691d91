"""The disruption controller (pkg/controller/disruption): PodDisruptionBudget status.

Level-triggered per PDB (`reconcile("namespace/name")`), enqueued by changes to the
PDB and to the pods it selects:

- pods: those of the namespace matching `spec.selector` (none for a null selector,
  all for an empty one);
- expectedPods / desiredHealthy (`expected_and_desired`): minAvailable as an integer
  is desiredHealthy with expectedPods = the number of pods; a percentage, or
  maxUnavailable, is taken of the scale of the pods' controllers (ReplicationController,
  Deployment via its ReplicaSet, ReplicaSet, StatefulSet from the caches, anything else
  through its scale subresource), rounding up;
- currentHealthy: Ready pods not being deleted and not recorded in
  `status.disruptedPods` (evicted less than 2 minutes ago);
- disruptionsAllowed = currentHealthy - desiredHealthy (0 when negative or when no pod
  is expected); the DisruptionAllowed condition (SufficientPods / InsufficientPods);
  observedGeneration; disruptedPods entries of pods deleted or older than 2 minutes are
  dropped, and the PDB is looked at again when the next one expires.

A failure to compute the status (a pod's controller cannot be found) writes the fail-
safe status: disruptionsAllowed 0, DisruptionAllowed False with reason SyncFailed.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.client import (
    NORMAL,
    WARNING,
    NoMatchError,
    builtin_resource,
    is_not_found,
    meta_namespace_key,
    object_of,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

log = logging.getLogger("kybernetes.controllers.disruption")

Obj = dict[str, Any]

PDBS = builtin_resource("policy/v1", "PodDisruptionBudget")
PODS = builtin_resource("v1", "Pod")
REPLICATION_CONTROLLERS = builtin_resource("v1", "ReplicationController")
REPLICA_SETS = builtin_resource("apps/v1", "ReplicaSet")
DEPLOYMENTS = builtin_resource("apps/v1", "Deployment")
STATEFUL_SETS = builtin_resource("apps/v1", "StatefulSet")

DELETION_TIMEOUT = timedelta(minutes=2)
DISRUPTION_ALLOWED = "DisruptionAllowed"


class SyncError(Exception):
    """The status cannot be computed (upstream's errors that lead to failSafe)."""


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


# --- pure decisions ----------------------------------------------------------------------


def selects(pdb: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return False
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return label_selector_from_dict(selector).matches(labels)


def scaled_value(value: int | str, total: int) -> int:
    """`intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.endswith("%"):
        raise SyncError("invalid value for IntOrString: invalid type: string is not a "
                        "percentage")
    try:
        percent = int(value[:-1])
    except ValueError:
        raise SyncError(f'invalid value "{value}": strconv.Atoi: parsing "{value[:-1]}": '
                        "invalid syntax") from None
    return math.ceil(percent * total / 100)


def expected_and_desired(spec: Mapping[str, Any], n_pods: int, scale: int | None
                         ) -> tuple[int, int]:
    """(expectedPods, desiredHealthy). `scale` (the controllers' total) is needed unless
    minAvailable is an integer; pass None to have that checked."""
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if max_unavailable is not None:
        assert scale is not None
        return scale, max(0, scale - scaled_value(max_unavailable, scale))
    if isinstance(min_available, int) and not isinstance(min_available, bool):
        return n_pods, min_available
    if min_available is not None:
        assert scale is not None
        return scale, scaled_value(min_available, scale)
    return 0, 0


def needs_scale(spec: Mapping[str, Any]) -> bool:
    min_available = spec.get("minAvailable")
    return spec.get("maxUnavailable") is not None or (
        min_available is not None and not isinstance(min_available, int))


def is_ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def disrupted_pods(pods: Iterable[Mapping[str, Any]], recorded: Mapping[str, str],
                   now: datetime) -> tuple[dict[str, str], datetime | None]:
    """`buildDisruptedPodMap`: entries still pending, and when the first one expires."""
    out: dict[str, str] = {}
    recheck: datetime | None = None
    for pod in pods:
        meta = pod.get("metadata") or {}
        name = meta.get("name") or ""
        when = parse_time(recorded.get(name))
        if meta.get("deletionTimestamp") or when is None:
            continue
        expires = when + DELETION_TIMEOUT
        if expires < now:
            continue  # expected to be deleted but wasn't: counted again
        out[name] = recorded[name]
        recheck = expires if recheck is None or expires < recheck else recheck
    return out, recheck


def count_healthy(pods: Iterable[Mapping[str, Any]], disrupted: Mapping[str, str]) -> int:
    return sum(1 for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")
               and (p.get("metadata") or {}).get("name") not in disrupted and is_ready(p))


def set_condition(conditions: list[Obj], cond: Obj, now: str) -> list[Obj]:
    """`meta.SetStatusCondition`: lastTransitionTime moves only when the status does."""
    out = [dict(c) for c in conditions]
    for c in out:
        if c.get("type") == cond["type"]:
            if c.get("status") != cond["status"]:
                c["lastTransitionTime"] = now
            c.update({k: v for k, v in cond.items() if k != "lastTransitionTime"})
            return out
    out.append({**cond, "lastTransitionTime": now})
    return out


@dataclass(frozen=True)
class Budget:
    """What the controller computed for one PDB."""

    expected: int
    desired: int
    healthy: int
    disrupted: dict[str, str]

    @property
    def allowed(self) -> int:
        if self.expected <= 0:
            return 0
        return max(0, self.healthy - self.desired)


def new_status(pdb: Mapping[str, Any], budget: Budget, now: str) -> Obj:
    status = pdb.get("status") or {}
    generation = (pdb.get("metadata") or {}).get("generation") or 0
    allowed = budget.allowed
    cond = {"type": DISRUPTION_ALLOWED, "status": "True" if allowed > 0 else "False",
            "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
            "message": "", "observedGeneration": generation}
    out: Obj = {"observedGeneration": generation, "disruptionsAllowed": allowed,
                "currentHealthy": budget.healthy, "desiredHealthy": budget.desired,
                "expectedPods": budget.expected,
                "conditions": set_condition(status.get("conditions") or [], cond, now)}
    if budget.disrupted:
        out["disruptedPods"] = dict(budget.disrupted)
    return out


def fail_safe_status(pdb: Mapping[str, Any], message: str, now: str) -> Obj:
    status = copy.deepcopy(dict(pdb.get("status") or {}))
    status["disruptionsAllowed"] = 0
    cond = {"type": DISRUPTION_ALLOWED, "status": "False", "reason": "SyncFailed",
            "message": message, "observedGeneration": status.get("observedGeneration") or 0}
    status["conditions"] = set_condition(status.get("conditions") or [], cond, now)
    return status


def _same_status(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    def strip(s: Mapping[str, Any]) -> Obj:
        return {k: v for k, v in s.items() if k != "conditions" and v not in (None, {}, 0)}

    def conds(s: Mapping[str, Any]) -> list[Any]:
        return [{k: v for k, v in c.items() if k != "lastTransitionTime"}
                for c in s.get("conditions") or ()]

    return strip(old) == strip(new) and conds(old) == conds(new)


# --- the controller -----------------------------------------------------------------------


def _controller_ref(obj: Mapping[str, Any]) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


class DisruptionController(ReconcileController):
    name = "disruption"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        inf = ctx.informers
        self.pdbs = inf.informer(PDBS)
        self.pods = inf.informer(PODS)
        self.rcs = inf.informer(REPLICATION_CONTROLLERS)
        self.rss = inf.informer(REPLICA_SETS)
        self.deployments = inf.informer(DEPLOYMENTS)
        self.statefulsets = inf.informer(STATEFUL_SETS)
        self.pdbs.add_event_handler(**self.handlers())
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=lambda old, new: (self._pod_changed(old),
                                                                self._pod_changed(new)),
                                    on_delete=self._pod_changed)

    def _pod_changed(self, pod: Any) -> None:
        pod = object_of(pod)
        namespace = (pod.get("metadata") or {}).get("namespace") or ""
        for pdb in self.pdbs.store.list_namespace(namespace):
            if selects(pdb, pod):
                self.queue.add(meta_namespace_key(pdb))

    def _pods_for(self, pdb: Obj) -> list[Obj]:
        namespace = pdb["metadata"].get("namespace") or ""
        return [p for p in self.pods.store.list_namespace(namespace) if selects(pdb, p)]

    async def reconcile(self, key: str) -> None:
        pdb = self.pdbs.store.get(key)
        if pdb is None:
            return
        pods = self._pods_for(pdb)
        if not pods:
            self.recorder.event(pdb, NORMAL, "NoPods", "No matching pods found")
        now = self.ctx.clock.wall()
        try:
            budget, recheck = await self._compute(pdb, pods, now)
        except SyncError as err:
            self.recorder.event(pdb, WARNING, "CalculateExpectedPodCountFailed",
                                f"Failed to calculate the number of expected pods: {err}")
            await self._write(pdb, fail_safe_status(pdb, str(err), rfc3339(now)))
            return
        await self._write(pdb, new_status(pdb, budget, rfc3339(now)))
        if recheck is not None:
            self.queue.add_after(key, max(0.0, (recheck - now).total_seconds()))

    async def _compute(self, pdb: Obj, pods: list[Obj], now: datetime
                       ) -> tuple[Budget, datetime | None]:
        spec = pdb.get("spec") or {}
        scale = await self._expected_scale(pdb, pods) if needs_scale(spec) else None
        expected, desired = expected_and_desired(spec, len(pods), scale)
        recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
        disrupted, recheck = disrupted_pods(pods, recorded, now)
        return Budget(expected, desired, count_healthy(pods, disrupted), disrupted), recheck

    async def _write(self, pdb: Obj, status: Obj) -> None:
        if _same_status(pdb.get("status") or {}, status):
            return
        new = {**pdb, "status": status}
        try:
            await self.client.update(PDBS, new, subresource="status")
        except Exception as err:
            if not is_not_found(err):
                raise

    # --- scale of the pods' controllers ---------------------------------------------------

    async def _expected_scale(self, pdb: Obj, pods: list[Obj]) -> int:
        """`getExpectedScale`: the sum of the scales of the pods' controllers. Pods
        without a controller are reported and not counted."""
        scales: dict[str, int] = {}
        unmanaged = []
        for pod in pods:
            ref = _controller_ref(pod)
            if ref is None:
                unmanaged.append(pod["metadata"]["name"])
                continue
            if ref.get("uid") in scales:
                continue
            found = await self._scale_of(ref, pod["metadata"].get("namespace") or "")
            if found is None:
                raise SyncError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
            scales[found[0]] = found[1]
        if unmanaged:
            self.recorder.event(
                pdb, WARNING, "UnmanagedPods",
                "Pods selected by this PodDisruptionBudget (selector: "
                f"{(pdb.get('spec') or {}).get('selector')}) were found to be unmanaged. As a "
                "result, the status of the PDB cannot be calculated correctly, which may "
                "result in undefined behavior. To account for these pods please set "
                '".spec.minAvailable" field of the PDB to an integer value.')
        return sum(scales.values())

    async def _scale_of(self, ref: Obj, namespace: str) -> tuple[str, int] | None:
        """(uid, replicas) of the controller `ref` names, through the finders in
        upstream's order; None when none finds it."""
        for finder in (self._from_cache, self._from_scale_subresource):
            found = await finder(ref, namespace)
            if found is not None:
                return found
        return None

    async def _from_cache(self, ref: Obj, namespace: str) -> tuple[str, int] | None:
        kind, group = ref.get("kind"), (ref.get("apiVersion") or "").rpartition("/")[0]
        informer = {("", "ReplicationController"): self.rcs, ("apps", "ReplicaSet"): self.rss,
                    ("apps", "StatefulSet"): self.statefulsets,
                    ("apps", "Deployment"): self.deployments}.get((group, kind))
        obj = informer.store.get_by_name(namespace, ref.get("name") or "") if informer else None
        if obj is None or obj["metadata"].get("uid") != ref.get("uid"):
            return None
        owner = _controller_ref(obj)
        if kind == "ReplicaSet" and owner is not None and owner.get("kind") == "Deployment":
            # A Deployment's ReplicaSet: the Deployment's scale counts (getPodDeployment).
            return await self._from_cache(owner, namespace)
        return obj["metadata"]["uid"], int((obj.get("spec") or {}).get("replicas", 1) or 0)

    async def _from_scale_subresource(self, ref: Obj, namespace: str
                                      ) -> tuple[str, int] | None:
        try:
            info = await self.client.resolve((ref.get("apiVersion") or "", ref.get("kind") or ""))
            scale = await self.client.get(info, ref.get("name") or "", namespace=namespace,
                                          subresource="scale")
        except Exception as err:
            if is_not_found(err) or isinstance(err, NoMatchError):
                return None
            raise
        if (scale.get("metadata") or {}).get("uid") != ref.get("uid"):
            return None
        return ref["uid"], int((scale.get("spec") or {}).get("replicas") or 0)


register("disruption")(DisruptionController)
