"""The StatefulSet controller: pods with stable names, hostnames and storage
(upstream pkg/controller/statefulset, v1.32).

Identity: pod `<set>-<ordinal>` for ordinals `[start, start + replicas)`
(`spec.ordinals.start`, default 0), labelled
`statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`, with
hostname = pod name and subdomain = `spec.serviceName`. Each
volumeClaimTemplate gives the pod a PVC `<claim>-<set>-<ordinal>`, created
before the pod and kept after it (unless persistentVolumeClaimRetentionPolicy
says Delete: then the PVC gets an ownerReference to the set, or to the pod
once it is scaled away, and the garbage collector removes it).

History: every template is a ControllerRevision (`history.py`);
`status.updateRevision` is the current template's, `status.currentRevision`
the one the set converged to last. Pods carry `controller-revision-hash` =
the name of their revision.

One sync is a plan (`plan_statefulset`, pure) carried out in order until a
step fails:

- OrderedReady ("monotonic"): walk the replicas up from the lowest ordinal;
  delete a failed or succeeded pod, create a missing one, and stop at the
  first pod that was just created, is terminating, or is not Running and
  Ready (and available) - so pod N+1 is created only once pod N is Ready.
  Then remove condemned pods (ordinals beyond the range) one at a time from
  the highest, each only when all others are healthy.
- Parallel: the same without stopping (all creations and deletions at once).
- RollingUpdate: from the highest ordinal down to `partition`, delete the
  first pod not at the update revision (it comes back at the new one) and
  wait while a pod is unhealthy. OnDelete: pods change when users delete them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.client import (
    NORMAL,
    WARNING,
    is_already_exists,
    is_not_found,
    object_of,
)
from kybernetes.controllers._workloads import (
    POD_CONTROLLER_INDEX,
    PODS,
    PVCS,
    REVISIONS,
    STATEFULSETS,
    claim,
    controller_ref,
    controller_uid,
    deleting,
    labels,
    meta,
    new_controller_ref,
    owner_key,
    phase,
    pod_available,
    pod_from_template,
    pod_ready,
    recheck_owner,
    uid,
    update_status,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.history import (
    create_revision,
    find_equal,
    new_revision,
    next_revision,
    sort_revisions,
    template_of,
    update_revision_number,
)
from kybernetes.controllers.manager import register

Obj = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
_NAME = re.compile(r"^(.*)-([0-9]+)$")


# --- identity --------------------------------------------------------------------------


def parent_and_ordinal(pod: Obj) -> tuple[str, int]:
    """getParentNameAndOrdinal: ("", -1) when the name has no ordinal suffix."""
    m = _NAME.match(meta(pod).get("name") or "")
    return (m.group(1), int(m.group(2))) if m else ("", -1)


def ordinal_of(pod: Obj) -> int:
    return parent_and_ordinal(pod)[1]


def start_ordinal(sts: Obj) -> int:
    return int(((sts.get("spec") or {}).get("ordinals") or {}).get("start") or 0)


def replicas_of(sts: Obj) -> int:
    value = (sts.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def in_ordinal_range(pod: Obj, sts: Obj) -> bool:
    ordinal = ordinal_of(pod)
    return start_ordinal(sts) <= ordinal < start_ordinal(sts) + replicas_of(sts)


def is_member_of(sts: Obj, pod: Obj) -> bool:
    return parent_and_ordinal(pod)[0] == meta(sts).get("name")


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{meta(sts)['name']}-{ordinal}"


def claim_name(sts: Obj, template: Obj, ordinal: int) -> str:
    return f"{meta(template).get('name')}-{meta(sts)['name']}-{ordinal}"


def pod_revision(pod: Obj) -> str:
    return labels(pod).get(REVISION_LABEL, "")


def claims_for(sts: Obj, ordinal: int) -> dict[str, Obj]:
    """getPersistentVolumeClaims: template name -> the PVC the pod at `ordinal` uses."""
    spec = sts.get("spec") or {}
    selector_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    out: dict[str, Obj] = {}
    for template in spec.get("volumeClaimTemplates") or ():
        pvc = copy.deepcopy(template)
        pvc.pop("status", None)
        pvc_meta = pvc.setdefault("metadata", {})
        pvc_meta["name"] = claim_name(sts, template, ordinal)
        pvc_meta["namespace"] = meta(sts).get("namespace")
        pvc_meta["labels"] = {**(pvc_meta.get("labels") or {}), **selector_labels}
        pvc["apiVersion"], pvc["kind"] = "v1", "PersistentVolumeClaim"
        out[meta(template).get("name") or ""] = pvc
    return out


def update_identity(sts: Obj, pod: Obj) -> None:
    ordinal = ordinal_of(pod)
    pod_meta = pod.setdefault("metadata", {})
    pod_meta["name"] = pod_name(sts, ordinal)
    pod_meta["namespace"] = meta(sts).get("namespace")
    pod_labels = pod_meta.setdefault("labels", {})
    pod_labels[POD_NAME_LABEL] = pod_meta["name"]
    pod_labels[POD_INDEX_LABEL] = str(ordinal)


def update_storage(sts: Obj, pod: Obj) -> None:
    """Volumes named like a claim template mount that template's PVC."""
    claims = claims_for(sts, ordinal_of(pod))
    spec = pod.setdefault("spec", {})
    volumes = [{"name": name, "persistentVolumeClaim": {"claimName": meta(c)["name"]}}
               for name, c in claims.items()]
    volumes += [v for v in spec.get("volumes") or () if v.get("name") not in claims]
    spec["volumes"] = volumes


def identity_matches(sts: Obj, pod: Obj) -> bool:
    parent, ordinal = parent_and_ordinal(pod)
    return (ordinal >= 0 and parent == meta(sts).get("name")
            and meta(pod).get("namespace") == meta(sts).get("namespace")
            and labels(pod).get(POD_NAME_LABEL) == meta(pod).get("name")
            and labels(pod).get(POD_INDEX_LABEL) == str(ordinal))


def storage_matches(sts: Obj, pod: Obj) -> bool:
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or ()}
    for name, pvc in claims_for(sts, ordinal_of(pod)).items():
        volume = volumes.get(name) or {}
        if (volume.get("persistentVolumeClaim") or {}).get("claimName") != meta(pvc)["name"]:
            return False
    return True


def new_pod(sts: Obj, ordinal: int, revision: str) -> Obj:
    """newStatefulSetPod at a revision (`sts` is the set with that revision applied)."""
    template = (sts.get("spec") or {}).get("template") or {}
    pod = pod_from_template(template, sts, new_controller_ref(sts, "apps/v1", "StatefulSet"))
    del pod["metadata"]["generateName"]
    pod["metadata"]["name"] = pod_name(sts, ordinal)
    update_identity(sts, pod)
    pod["spec"]["hostname"] = pod["metadata"]["name"]
    if (sts.get("spec") or {}).get("serviceName"):
        pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
    update_storage(sts, pod)
    pod["metadata"]["labels"][REVISION_LABEL] = revision
    return pod


def apply_revision(sts: Obj, revision: Obj) -> Obj:
    """ApplyRevision: the set with the revision's template."""
    out = copy.deepcopy(sts)
    out.setdefault("spec", {})["template"] = template_of(revision)
    return out


# --- pod health ------------------------------------------------------------------------


def is_created(pod: Obj) -> bool:
    return bool(phase(pod))


def running_and_ready(pod: Obj) -> bool:
    return phase(pod) == "Running" and pod_ready(pod)


def running_and_available(pod: Obj, min_ready: int, now: datetime) -> bool:
    return phase(pod) == "Running" and pod_available(pod, min_ready, now)


def is_healthy(pod: Obj) -> bool:
    return running_and_ready(pod) and not deleting(pod)


# --- claim retention -------------------------------------------------------------------


def retention(sts: Obj) -> tuple[str, str]:
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or "Retain", policy.get("whenScaled") or "Retain"


def wanted_claim_refs(pvc: Obj, sts: Obj, pod: Obj) -> list[Obj]:
    """updateClaimOwnerRefForSetAndPod: the PVC's ownerReferences under the policy
    (the set owns it when deleting the set deletes it; the pod, once scaled away,
    when scaling down deletes it)."""
    when_deleted, when_scaled = retention(sts)
    scaled_down = not in_ordinal_range(pod, sts)
    own_set = when_deleted == "Delete" and not (when_scaled == "Delete" and scaled_down)
    own_pod = when_scaled == "Delete" and scaled_down
    refs = [r for r in meta(pvc).get("ownerReferences") or ()
            if r.get("uid") not in (uid(sts), uid(pod))]
    if own_set:
        refs.append({"apiVersion": "apps/v1", "kind": "StatefulSet",
                     "name": meta(sts).get("name"), "uid": uid(sts)})
    if own_pod and uid(pod):
        refs.append({"apiVersion": "v1", "kind": "Pod", "name": meta(pod).get("name"),
                     "uid": uid(pod)})
    return refs


def _ref_ids(refs: list[Obj]) -> set[str]:
    return {str(r.get("uid")) for r in refs}


def claim_refs_match(pvc: Obj, sts: Obj, pod: Obj) -> bool:
    return _ref_ids(meta(pvc).get("ownerReferences") or []) == _ref_ids(
        wanted_claim_refs(pvc, sts, pod))


def claim_is_stale(sts: Obj, pod: Obj, claims: dict[str, Obj]) -> bool:
    """PodClaimIsStale: with whenScaled=Delete, a PVC still owned by an earlier pod of
    the same name is about to be collected; wait for it."""
    if retention(sts)[1] == "Retain":
        return False
    for pvc in claims_for(sts, ordinal_of(pod)).values():
        existing = claims.get(meta(pvc)["name"])
        for ref in meta(existing or {}).get("ownerReferences") or ():
            if (ref.get("kind") == "Pod" and ref.get("name") == meta(pod).get("name")
                    and ref.get("uid") != uid(pod)):
                return True
    return False


# --- the plan --------------------------------------------------------------------------


@dataclass
class Step:
    """One write: "create" (PVCs, then the pod), "claims" (missing PVCs of a pod),
    "update" (identity/storage/claim owners of a pod), "claim-owners" (of a
    condemned pod's PVCs) or "delete"."""

    action: str
    pod: Obj
    why: str = ""


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    status: Obj = field(default_factory=dict)
    unhealthy: int = 0


def _status(sts: Obj, pods: list[Obj], current: str, update: str, now: datetime) -> Obj:
    min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
    counts = dict.fromkeys(("replicas", "readyReplicas", "availableReplicas",
                            "currentReplicas", "updatedReplicas"), 0)
    for pod in pods:
        created = is_created(pod)
        counts["replicas"] += created
        if running_and_ready(pod):
            counts["readyReplicas"] += 1
            counts["availableReplicas"] += running_and_available(pod, min_ready, now)
        if created and not deleting(pod):
            counts["currentReplicas"] += pod_revision(pod) == current
            counts["updatedReplicas"] += pod_revision(pod) == update
    return counts


def _slots(sts: Obj, pods: list[Obj], current_set: Obj, update_set: Obj, current: str,
           update: str) -> tuple[list[Obj], list[Obj], set[int]]:
    """Replicas by ordinal (missing ones built at the right revision), the condemned
    pods (highest ordinal first), and which replica slots are still to create."""
    start, count = start_ordinal(sts), replicas_of(sts)
    replicas: list[Obj | None] = [None] * count
    condemned = []
    for pod in pods:
        if in_ordinal_range(pod, sts):
            replicas[ordinal_of(pod) - start] = pod
        elif ordinal_of(pod) >= 0:
            condemned.append(pod)
    missing = {i for i, p in enumerate(replicas) if p is None}
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    current_count = int((sts.get("status") or {}).get("currentReplicas") or 0)
    for i in missing:
        ordinal = start + i
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        bound = partition if strategy.get("rollingUpdate") is not None else current_count
        old = rolling and ordinal < start + bound
        replicas[i] = new_pod(current_set if old else update_set, ordinal,
                              current if old else update)
    condemned.sort(key=ordinal_of, reverse=True)
    return [p for p in replicas if p is not None], condemned, missing


def plan_statefulset(sts: Obj, pods: list[Obj], *, current: Obj, update: Obj,
                     claims: dict[str, Obj], now: datetime) -> Plan:
    """updateStatefulSet as a list of steps (see the module docstring). `claims`: the
    namespace's PVCs by name. The status counts the pods as found."""
    current_set, update_set = apply_revision(sts, current), apply_revision(sts, update)
    cur_name, upd_name = meta(current)["name"], meta(update)["name"]
    replicas, condemned, missing = _slots(sts, pods, current_set, update_set, cur_name, upd_name)
    plan = Plan(status=_status(sts, replicas + condemned, cur_name, upd_name, now))
    first_unhealthy = next((p for p in replicas + condemned[::-1] if not is_healthy(p)), None)
    plan.unhealthy = sum(1 for p in replicas + condemned if not is_healthy(p))
    if deleting(sts):
        return plan
    monotonic = (sts.get("spec") or {}).get("podManagementPolicy", "OrderedReady") != "Parallel"
    min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
    for i, pod in enumerate(replicas):
        if _plan_replica(plan, sts, update_set, pod, i in missing, claims, monotonic,
                         min_ready, now) and monotonic:
            return plan
    for pod in condemned:
        if not claim_refs_match_all(update_set, pod, claims):
            plan.steps.append(Step("claim-owners", pod, "retention policy"))
    for pod in condemned:
        if _plan_condemned(plan, pod, first_unhealthy, monotonic, min_ready, now) and monotonic:
            return plan
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "OnDelete":
        return plan
    _plan_rolling_update(plan, sts, replicas, missing, upd_name)
    return plan


def claim_refs_match_all(sts: Obj, pod: Obj, claims: dict[str, Obj]) -> bool:
    for pvc in claims_for(sts, ordinal_of(pod)).values():
        existing = claims.get(meta(pvc)["name"])
        if existing is not None and not claim_refs_match(existing, sts, pod):
            return False
    return True


def _plan_replica(plan: Plan, sts: Obj, update_set: Obj, pod: Obj, missing: bool,
                  claims: dict[str, Obj], monotonic: bool, min_ready: int, now: datetime
                  ) -> bool:
    """processReplica; True means "stop here" (in monotonic mode)."""
    if phase(pod) in ("Failed", "Succeeded"):
        if not deleting(pod):
            plan.steps.append(Step("delete", pod, f"pod is {phase(pod)}"))
        return True
    if missing:
        if claim_is_stale(sts, pod, claims):
            return True
        plan.steps.append(Step("create", pod))
        if monotonic:
            return True
    if phase(pod) == "Pending" and any(meta(c)["name"] not in claims for c in claims_for(
            sts, ordinal_of(pod)).values()):
        plan.steps.append(Step("claims", pod))
    if monotonic and (deleting(pod) or not running_and_ready(pod)
                      or not running_and_available(pod, min_ready, now)):
        return True
    if missing:
        return False
    if not (identity_matches(sts, pod) and storage_matches(sts, pod)
            and claim_refs_match_all(update_set, pod, claims)):
        plan.steps.append(Step("update", pod))
    return False


def _plan_condemned(plan: Plan, pod: Obj, first_unhealthy: Obj | None, monotonic: bool,
                    min_ready: int, now: datetime) -> bool:
    """processCondemned; True means "stop here"."""
    if deleting(pod):
        return monotonic
    if monotonic and pod is not first_unhealthy and (
            not running_and_ready(pod) or not running_and_available(pod, min_ready, now)):
        return True
    plan.steps.append(Step("delete", pod, "scale down"))
    return True


def _plan_rolling_update(plan: Plan, sts: Obj, replicas: list[Obj], missing: set[int],
                         update: str) -> None:
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    start = start_ordinal(sts)
    for i in range(len(replicas) - 1, -1, -1):
        if start + i < partition:
            break
        pod = replicas[i]
        if i in missing:
            return  # just planned: wait for it
        if pod_revision(pod) != update and not deleting(pod):
            plan.steps.append(Step("delete", pod, "update"))
            plan.status["currentReplicas"] -= 1
            return
        if not is_healthy(pod):
            return


def complete_rolling_update(sts: Obj, status: Obj) -> None:
    """completeRollingUpdate: once every pod is updated and ready, current = update."""
    strategy = ((sts.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "RollingUpdate" and status["updatedReplicas"] == status["replicas"] == status[
            "readyReplicas"]:
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]


# --- the controller --------------------------------------------------------------------


@register("statefulset")
class StatefulSetController(ReconcileController):
    name = "statefulset"
    workers = 5  # upstream's --concurrent-statefulset-syncs default

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.pods = ctx.informers.informer(PODS, indexers={POD_CONTROLLER_INDEX: controller_uid})
        self.sets = ctx.informers.informer(STATEFULSETS)
        self.revisions = ctx.informers.informer(REVISIONS)
        self.claims = ctx.informers.informer(PVCS)
        self.sets.add_event_handler(**self.handlers())
        self.revisions.add_event_handler(**self.handlers(lambda r: owner_key(r, "StatefulSet")))
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=lambda old, new: self._pod_updated(old, new),
                                    on_delete=lambda o: self._pod_changed(object_of(o)))
        self.claims.add_event_handler(on_delete=lambda o: self._claim_deleted(object_of(o)))

    def _now(self) -> datetime:
        return self.ctx.clock.wall()

    # --- handlers ----------------------------------------------------------------------------

    def _pod_changed(self, pod: Obj) -> None:
        key = owner_key(pod, "StatefulSet")
        if key is not None:
            self.queue.add(key)
        elif controller_ref(pod) is None:
            for sts in self._selecting(pod):
                self.enqueue(sts)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return
        if controller_ref(old) != controller_ref(new):
            self._pod_changed(old)
        self._pod_changed(new)

    def _claim_deleted(self, pvc: Obj) -> None:
        # A stale claim may have blocked a pod's re-creation.
        for sts in self.sets.store.list_namespace(meta(pvc).get("namespace") or ""):
            self.enqueue(sts)

    def _selecting(self, pod: Obj) -> list[Obj]:
        out = []
        for sts in self.sets.store.list_namespace(meta(pod).get("namespace") or ""):
            try:
                selector = label_selector_from_dict((sts.get("spec") or {}).get("selector"))
            except Exception:
                continue
            if selector.matches(labels(pod)) and is_member_of(sts, pod):
                out.append(sts)
        return out

    # --- reconcile ---------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        shared = self.sets.store.get(key)
        if shared is None:
            return
        sts = copy.deepcopy(shared)
        selector = label_selector_from_dict((sts.get("spec") or {}).get("selector"))
        ns = meta(sts).get("namespace") or ""
        ref = new_controller_ref(sts, "apps/v1", "StatefulSet")
        can_adopt = recheck_owner(self.client, STATEFULSETS, sts)
        pods = await claim(self.client, PODS, sts, ref, selector,
                           [p for p in self.pods.store.list_namespace(ns) if is_member_of(sts, p)],
                           can_adopt=can_adopt)
        revisions = sort_revisions(await claim(
            self.client, REVISIONS, sts, ref, selector, self.revisions.store.list_namespace(ns),
            can_adopt=can_adopt))
        current, update, collisions = await self._revisions(sts, revisions)
        claims = {meta(c)["name"]: c for c in self.claims.store.list_namespace(ns)}
        plan = plan_statefulset(sts, pods, current=current, update=update, claims=claims,
                                now=self._now())
        error = await self._execute(sts, apply_revision(sts, update), plan, claims)
        status = {**plan.status, "observedGeneration": meta(sts).get("generation"),
                  "currentRevision": meta(current)["name"], "updateRevision": meta(update)["name"],
                  "collisionCount": collisions}
        await self._write_status(sts, status)
        await self._truncate_history(sts, pods, revisions, current, update)
        if error is not None:
            raise error
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and status["availableReplicas"] != replicas_of(sts):
            self.enqueue_after(sts, min_ready)

    async def _revisions(self, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """getStatefulSetRevisions: (current, update, collision count)."""
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        update = new_revision(sts, api_version="apps/v1", kind="StatefulSet",
                              revision=next_revision(revisions), collision_count=collisions)
        equal = find_equal(revisions, update)
        if equal and revisions and meta(equal[-1])["name"] == meta(revisions[-1])["name"]:
            update = revisions[-1]  # unchanged template
        elif equal:  # a roll back: the old revision becomes the newest
            update = await update_revision_number(self.client, equal[-1], update["revision"])
        else:
            update, collisions = await create_revision(self.client, update,
                                                       collision_count=collisions)
        wanted = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if meta(r)["name"] == wanted), update)
        return current, update, collisions

    async def _execute(self, sts: Obj, update_set: Obj, plan: Plan, claims: dict[str, Obj]
                       ) -> Exception | None:
        """Carry out the steps in order; the first failure ends the sync."""
        for step in plan.steps:
            try:
                await self._do(sts, update_set, step, claims)
            except Exception as err:
                if is_not_found(err) and step.action == "delete":
                    continue
                return err
        return None

    async def _do(self, sts: Obj, update_set: Obj, step: Step, claims: dict[str, Obj]) -> None:
        pod = step.pod
        if step.action == "create":
            await self._create_claims(sts, pod, claims)
            await self._record(sts, pod, "create",
                               self.client.create(PODS, pod, namespace=meta(sts).get("namespace")))
        elif step.action == "claims":
            await self._create_claims(sts, pod, claims)
        elif step.action == "delete":
            await self._record(sts, pod, "delete", self.client.delete(
                PODS, meta(pod)["name"], namespace=meta(pod).get("namespace"),
                preconditions={"uid": uid(pod)}))
        elif step.action == "update":
            await self._update_pod(sts, update_set, pod, claims)
        elif step.action == "claim-owners":
            await self._fix_claim_owners(update_set, pod, claims)

    async def _record(self, sts: Obj, pod: Obj, verb: str, call: Any) -> None:
        name, set_name = meta(pod).get("name"), meta(sts).get("name")
        try:
            await call
        except Exception as err:
            self.recorder.event(sts, WARNING, f"Failed{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} failed error: "
                                f"{getattr(err, 'message', err)}")
            raise
        self.recorder.event(sts, NORMAL, f"Successful{verb.title()}",
                            f"{verb} Pod {name} in StatefulSet {set_name} successful")

    async def _create_claims(self, sts: Obj, pod: Obj, claims: dict[str, Obj]) -> None:
        """createPersistentVolumeClaims: each missing PVC, owned as the policy says."""
        for pvc in claims_for(sts, ordinal_of(pod)).values():
            name = meta(pvc)["name"]
            existing = claims.get(name)
            if existing is not None:
                if deleting(existing):
                    raise RuntimeError(f"pvc {name} is being deleted")
                continue
            pvc["metadata"]["ownerReferences"] = wanted_claim_refs(pvc, sts, pod)
            if not pvc["metadata"]["ownerReferences"]:
                del pvc["metadata"]["ownerReferences"]
            await self._create_claim(sts, pod, pvc)

    async def _create_claim(self, sts: Obj, pod: Obj, pvc: Obj) -> None:
        what = (f"Claim {meta(pvc)['name']} Pod {meta(pod).get('name')} in StatefulSet "
                f"{meta(sts).get('name')}")
        try:
            await self.client.create(PVCS, pvc, namespace=meta(sts).get("namespace"))
        except Exception as err:
            if is_already_exists(err):
                return
            self.recorder.event(sts, WARNING, "FailedCreate",
                                f"create {what} failed error: {getattr(err, 'message', err)}")
            raise
        self.recorder.event(sts, NORMAL, "SuccessfulCreate", f"create {what} success")

    async def _update_pod(self, sts: Obj, update_set: Obj, pod: Obj, claims: dict[str, Obj]
                          ) -> None:
        """UpdateStatefulPod: restore identity and storage, then the claims' owners."""
        fresh = copy.deepcopy(pod)
        if not identity_matches(sts, fresh):
            update_identity(sts, fresh)
        if not storage_matches(sts, fresh):
            update_storage(sts, fresh)
            await self._create_claims(sts, fresh, claims)
        await self._fix_claim_owners(update_set, pod, claims)
        if fresh != pod:
            await self._record(sts, fresh, "update", self.client.update(PODS, fresh))

    async def _fix_claim_owners(self, sts: Obj, pod: Obj, claims: dict[str, Obj]) -> None:
        for pvc in claims_for(sts, ordinal_of(pod)).values():
            existing = claims.get(meta(pvc)["name"])
            if existing is None or claim_refs_match(existing, sts, pod):
                continue
            body = copy.deepcopy(existing)
            body["metadata"]["ownerReferences"] = wanted_claim_refs(existing, sts, pod)
            await self.client.update(PVCS, body)

    async def _write_status(self, sts: Obj, status: Obj) -> None:
        complete_rolling_update(sts, status)
        old = sts.get("status") or {}
        wanted = {**old, **status}
        for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not wanted.get(key):
                wanted.pop(key, None)
        if wanted != old:
            await update_status(self.client, STATEFULSETS, sts, wanted)

    async def _truncate_history(self, sts: Obj, pods: list[Obj], revisions: list[Obj],
                                current: Obj, update: Obj) -> None:
        """Delete the oldest revisions no pod uses beyond revisionHistoryLimit."""
        live = {meta(current)["name"], meta(update)["name"]} | {pod_revision(p) for p in pods}
        history = [r for r in revisions if meta(r)["name"] not in live]
        limit = int((sts.get("spec") or {}).get("revisionHistoryLimit", 10))
        for rev in history[: max(0, len(history) - limit)]:
            try:
                await self.client.delete(REVISIONS, meta(rev)["name"],
                                         namespace=meta(rev).get("namespace"))
            except Exception as err:
                if not is_not_found(err):
                    raise


__all__ = ["Plan", "StatefulSetController", "Step", "claims_for", "complete_rolling_update",
           "new_pod", "plan_statefulset", "wanted_claim_refs"]
