"""The Deployment controller (upstream pkg/controller/deployment).

A Deployment owns ReplicaSets, one per pod template it has had; it rolls out a
template by moving replicas from the old RSs to the new one and writes status
that `kubectl rollout status` reads. The math is in `deployment_util`; this
module reads caches and writes through the API.

One sync of `namespace/name`, in upstream's order of precedence:

| state of the Deployment                | what the sync does                             |
|----------------------------------------|------------------------------------------------|
| gone                                   | nothing                                        |
| selector selects everything            | warn (SelectingAll); only observe generation   |
| being deleted                          | status only                                    |
| spec.paused                            | proportional scaling, history cleanup, status  |
| rollback annotation (deprecated API)   | put the old RS's template back into the spec  |
| desired-replicas of an active RS is    | proportional scaling across active RSs         |
| not spec.replicas (a scaling event)    |                                                |
| otherwise                              | rollout: Recreate or RollingUpdate             |

Before any of that, ReplicaSets are claimed through ControllerRef (adopt
matching orphans, release mismatches), and the Progressing condition is set to
DeploymentPaused/DeploymentResumed on pause and resume (so a resumed rollout is
not judged against time spent paused).

Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
availableReplicas, unavailableReplicas, collisionCount and the conditions
Available (MinimumReplicasAvailable) and Progressing (NewReplicaSetCreated,
FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
ProgressDeadlineExceeded, ...). A rollout that has not progressed is looked at
again when its progress deadline passes. Events on the Deployment:
ScalingReplicaSet, and the rollback ones.

`kubectl rollout undo` and `rollout restart` edit spec.template themselves;
to this controller they are template changes like any other.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.client import (
    NORMAL,
    WARNING,
    DeletedFinalStateUnknown,
    StatusError,
    builtin_resource,
    is_already_exists,
    is_not_found,
    object_of,
)
from kybernetes.controllers import deployment_util as du
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.controller_ref_manager import ControllerRefManager
from kybernetes.controllers.controller_utils import (
    compute_hash,
    controller_ref_of,
    deep_copy,
    uid_of,
)
from kybernetes.controllers.manager import register
from kybernetes.controllers.replicaset import (
    NAMESPACE_TERMINATING_CAUSE,
    error_text,
    has_status_cause,
)

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers.deployment")

DEPLOYMENTS = builtin_resource("apps/v1", "Deployment")
REPLICA_SETS = builtin_resource("apps/v1", "ReplicaSet")
PODS = builtin_resource("v1", "Pod")

replicas, spec, status = du.replicas, du.spec, du.status


def _name(obj: Obj) -> str:
    return str(obj["metadata"].get("name", ""))


def _namespace(obj: Obj) -> str:
    return str(obj["metadata"].get("namespace", ""))


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _selects_everything(d: Obj) -> bool:
    selector = spec(d).get("selector") or {}
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def _replace(rss: list[Obj], updated: Obj) -> None:
    """Put the server's copy of an RS we wrote into this sync's list of RSs."""
    for i, rs in enumerate(rss):
        if uid_of(rs) == uid_of(updated):
            rss[i] = updated


@register("deployment")
class DeploymentController(ReconcileController):
    """Rolls Deployments out over their ReplicaSets."""

    name = "deployment"
    workers = 5

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.d_informer = ctx.informers.informer(DEPLOYMENTS)
        self.rs_informer = ctx.informers.informer(REPLICA_SETS)
        self.pod_informer = ctx.informers.informer(PODS)
        self.d_informer.add_event_handler(**self.handlers())
        self.rs_informer.add_event_handler(on_add=self._rs_added, on_update=self._rs_updated,
                                           on_delete=self._rs_deleted)
        self.pod_informer.add_event_handler(on_delete=self._pod_deleted)

    def _now(self) -> datetime:
        return self.ctx.clock.wall()

    # --- handlers: find the Deployment(s) concerned, enqueue -----------------------------

    def _resolve(self, namespace: str, ref: Obj) -> Obj | None:
        if ref.get("kind") != "Deployment":
            return None
        d = self.d_informer.store.get_by_name(namespace, ref.get("name") or "")
        return d if d is not None and uid_of(d) == ref.get("uid") else None

    def _deployments_for_rs(self, rs: Obj) -> list[Obj]:
        """Deployments whose selector matches an orphan RS (candidates to adopt it)."""
        if not _labels(rs):
            return []
        out = []
        for d in self.d_informer.store.list_namespace(_namespace(rs)):
            try:
                selector = label_selector_from_dict(spec(d).get("selector"))
            except StatusError:
                continue
            if not selector.empty and selector.matches(_labels(rs)):
                out.append(d)
        return out

    def _rs_added(self, rs: Obj) -> None:
        if rs["metadata"].get("deletionTimestamp"):
            self._rs_deleted(rs)
            return
        ref = controller_ref_of(rs)
        if ref is not None:
            if (d := self._resolve(_namespace(rs), ref)) is not None:
                self.enqueue(d)
            return
        for d in self._deployments_for_rs(rs):
            self.enqueue(d)

    def _rs_updated(self, old: Obj, cur: Obj) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return
        cur_ref, old_ref = controller_ref_of(cur), controller_ref_of(old)
        if cur_ref != old_ref and old_ref is not None:
            if (d := self._resolve(_namespace(old), old_ref)) is not None:
                self.enqueue(d)
        if cur_ref is not None:
            if (d := self._resolve(_namespace(cur), cur_ref)) is not None:
                self.enqueue(d)
            return
        if _labels(cur) != _labels(old) or cur_ref != old_ref:
            for d in self._deployments_for_rs(cur):
                self.enqueue(d)

    def _rs_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        rs = object_of(obj)
        ref = controller_ref_of(rs)
        if ref is not None and (d := self._resolve(_namespace(rs), ref)) is not None:
            self.enqueue(d)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        """A Recreate rollout waits for the old pods to be gone: look again."""
        pod = object_of(obj)
        ref = controller_ref_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.rs_informer.store.get_by_name(_namespace(pod), ref.get("name") or "")
        if rs is None or uid_of(rs) != ref.get("uid"):
            return
        rs_ref = controller_ref_of(rs)
        d = self._resolve(_namespace(rs), rs_ref) if rs_ref is not None else None
        if d is not None and (spec(d).get("strategy") or {}).get("type") == du.RECREATE:
            self.enqueue(d)

    # --- the sync ------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        try:
            await self._sync_deployment(key)
        except StatusError as err:
            if has_status_cause(err, NAMESPACE_TERMINATING_CAUSE):
                return  # the namespace is going away: nothing more to do
            raise

    async def _sync_deployment(self, key: str) -> None:
        cached = self.d_informer.store.get(key)
        if cached is None:
            return
        d = deep_copy(cached)
        d.setdefault("status", {})
        if _selects_everything(d):
            await self._selecting_all(d)
            return
        rs_list = await self._claim_replica_sets(d)
        if d["metadata"].get("deletionTimestamp"):
            await self._sync_status_only(d, rs_list)
            return
        await self._check_paused_conditions(d)
        if spec(d).get("paused"):
            await self._sync(d, rs_list)
        elif du.rollback_to(d) is not None:
            await self._rollback(d, rs_list)
        elif await self._is_scaling_event(d, rs_list):
            await self._sync(d, rs_list)
        else:
            await self._rollout(d, rs_list)

    async def _rollout(self, d: Obj, rs_list: list[Obj]) -> None:
        strategy = (spec(d).get("strategy") or {}).get("type")
        if strategy == du.RECREATE:
            # Pods by RS: a Recreate rollout waits for every old pod to be gone.
            pod_map = du.pods_by_rs(self._pods_of(d), rs_list)
            await self._rollout_recreate(d, rs_list, pod_map)
        elif strategy == du.ROLLING_UPDATE:
            await self._rollout_rolling(d, rs_list)
        else:
            raise ValueError(f"unexpected deployment strategy type: {strategy}")

    async def _selecting_all(self, d: Obj) -> None:
        self.recorder.event(d, WARNING, "SelectingAll",
                            "This deployment is selecting all pods. A non-empty selector "
                            "is required.")
        generation = int(d["metadata"].get("generation") or 0)
        if int(status(d).get("observedGeneration") or 0) < generation:
            d["status"]["observedGeneration"] = generation
            try:
                await self._update_status(d)
            except StatusError as err:
                log.debug("deployment %s: status update failed: %s", _name(d), err)

    def _pods_of(self, d: Obj) -> list[Obj]:
        selector = label_selector_from_dict(spec(d).get("selector"))
        return [p for p in self.pod_informer.store.list_namespace(_namespace(d))
                if selector.matches(_labels(p))]

    async def _claim_replica_sets(self, d: Obj) -> list[Obj]:
        """The RSs this Deployment controls, after adopting and releasing."""
        ns, name = _namespace(d), _name(d)

        async def fresh() -> Obj:
            return await self.client.get(DEPLOYMENTS, name, namespace=ns)

        manager = ControllerRefManager(
            self.client, owner=d, api_version="apps/v1", kind="Deployment",
            resource=REPLICA_SETS, selector=label_selector_from_dict(spec(d).get("selector")),
            get_fresh=fresh)
        return await manager.claim(self.rs_informer.store.list_namespace(ns))

    async def _update_status(self, d: Obj) -> Obj:
        """PUT d's status (and, as upstream's status strategy allows, its annotations);
        d keeps the new resourceVersion so the sync can write again."""
        updated = await self.client.update(DEPLOYMENTS, d, subresource="status")
        d["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]
        return updated

    # --- ReplicaSets: the new one, the old ones ------------------------------------------

    async def _get_all(self, d: Obj, rs_list: list[Obj], create: bool
                       ) -> tuple[Obj | None, list[Obj]]:
        """(new RS, all old RSs), with the new RS's and d's revision brought up to date;
        the new RS is created when missing if `create`."""
        _, all_old = du.find_old_rss(d, rs_list)
        new_rs = await self._get_new_rs(d, rs_list, all_old, create)
        return new_rs, all_old

    async def _get_new_rs(self, d: Obj, rs_list: list[Obj], old_rss: list[Obj], create: bool
                          ) -> Obj | None:
        existing = du.find_new_rs(d, rs_list)
        new_revision = str(du.max_revision(old_rss) + 1)
        if existing is not None:
            return await self._sync_new_rs(d, existing, new_revision, rs_list)
        if not create:
            return None
        return await self._create_new_rs(d, old_rss, new_revision)

    async def _sync_new_rs(self, d: Obj, existing: Obj, new_revision: str, rs_list: list[Obj]
                           ) -> Obj:
        """Bring the existing new RS's annotations and minReadySeconds in line, then d's
        revision (one write per sync: the next sync sees the RS's new state)."""
        rs = deep_copy(existing)
        annotations_changed = du.set_new_rs_annotations(d, rs, new_revision, True)
        min_ready = int(spec(d).get("minReadySeconds") or 0)
        if annotations_changed or int(spec(rs).get("minReadySeconds") or 0) != min_ready:
            rs["spec"]["minReadySeconds"] = min_ready
            updated = await self.client.update(REPLICA_SETS, rs)
            _replace(rs_list, updated)
            return updated
        needs_update = du.set_deployment_revision(d, du.annotations(rs).get(du.REVISION, ""))
        if du.has_progress_deadline(d) and du.get_condition(d["status"], du.PROGRESSING) is None:
            # Progress was not tracked before: start counting from now.
            du.set_condition(d["status"], du.new_condition(
                du.PROGRESSING, "True", du.FOUND_NEW_RS,
                f'Found new replica set "{_name(rs)}"', self._now()))
            needs_update = True
        if needs_update:
            await self._update_status(d)
        return rs

    async def _create_new_rs(self, d: Obj, old_rss: list[Obj], new_revision: str) -> Obj:
        pod_hash = compute_hash(spec(d).get("template") or {}, status(d).get("collisionCount"))
        rs = du.new_replica_set(d, pod_hash)
        count = du.new_rs_new_replicas(d, [*old_rss, rs], rs)
        rs["spec"]["replicas"] = count
        du.set_new_rs_annotations(d, rs, new_revision, False)
        try:
            created = await self.client.create(REPLICA_SETS, rs, namespace=_namespace(d))
            already = False
        except StatusError as err:
            if is_already_exists(err):
                created, already = await self._existing_new_rs(d, rs, err), True
            elif has_status_cause(err, NAMESPACE_TERMINATING_CAUSE):
                raise
            else:
                await self._failed_rs_create(d, rs, err)
                raise
        if not already and count > 0:
            self.recorder.event(d, NORMAL, "ScalingReplicaSet",
                                f"Scaled up replica set {_name(created)} from 0 to {count}")
        needs_update = du.set_deployment_revision(d, new_revision)
        if not already and du.has_progress_deadline(d):
            du.set_condition(d["status"], du.new_condition(
                du.PROGRESSING, "True", du.NEW_REPLICA_SET,
                f'Created new replica set "{_name(created)}"', self._now()))
            needs_update = True
        if needs_update:
            await self._update_status(d)
        return created

    async def _existing_new_rs(self, d: Obj, rs: Obj, err: StatusError) -> Obj:
        """The RS of that name exists: ours (a stale cache) or a hash collision, which
        bumps status.collisionCount so that the next sync tries another name."""
        existing = self.rs_informer.store.get_by_name(_namespace(d), _name(rs))
        if existing is None:
            raise err
        ref = controller_ref_of(existing)
        if ref is not None and ref.get("uid") == uid_of(d) and du.equal_ignore_hash(
                spec(d).get("template") or {}, spec(existing).get("template") or {}):
            return existing
        d["status"]["collisionCount"] = int(status(d).get("collisionCount") or 0) + 1
        try:
            await self._update_status(d)
            log.info("deployment %s/%s: hash collision, collisionCount now %d",
                     _namespace(d), _name(d), d["status"]["collisionCount"])
        except StatusError as update_err:
            log.debug("deployment %s: status update failed: %s", _name(d), update_err)
        raise err

    async def _failed_rs_create(self, d: Obj, rs: Obj, err: StatusError) -> None:
        msg = f'Failed to create new replica set "{_name(rs)}": {error_text(err)}'
        if du.has_progress_deadline(d):
            du.set_condition(d["status"], du.new_condition(
                du.PROGRESSING, "False", du.FAILED_RS_CREATE, msg, self._now()))
            try:
                await self._update_status(d)
            except StatusError as update_err:
                log.debug("deployment %s: status update failed: %s", _name(d), update_err)
        self.recorder.event(d, WARNING, du.FAILED_RS_CREATE, msg)

    # --- scaling -------------------------------------------------------------------------

    async def _scale_rs(self, rs: Obj, new_scale: int, d: Obj) -> tuple[bool, Obj]:
        """Set the RS's size and desired/max-replicas annotations; (size changed, RS)."""
        size_changes = replicas(rs) != new_scale
        desired, max_total = replicas(d), replicas(d) + du.max_surge(d)
        if not size_changes and not du.replicas_annotations_need_update(rs, desired, max_total):
            return False, rs
        old_scale = replicas(rs)
        copy = deep_copy(rs)
        copy["spec"]["replicas"] = new_scale
        du.set_replicas_annotations(copy, desired, max_total)
        updated = await self.client.update(REPLICA_SETS, copy)
        if size_changes:
            direction = "up" if old_scale < new_scale else "down"
            self.recorder.event(d, NORMAL, "ScalingReplicaSet",
                                f"Scaled {direction} replica set {_name(rs)} from {old_scale} "
                                f"to {new_scale}")
        return size_changes, updated

    async def _scale_and_record(self, rs: Obj, new_scale: int, d: Obj) -> tuple[bool, Obj]:
        if replicas(rs) == new_scale:
            return False, rs
        return await self._scale_rs(rs, new_scale, d)

    async def _scale(self, d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        """Carry out the scaling plan; the first failure ends it (the sync is retried)."""
        for step in du.scale_plan(d, new_rs, old_rss):
            if step.annotate:
                await self._scale_rs(step.rs, step.size, d)
            else:
                await self._scale_and_record(step.rs, step.size, d)

    async def _is_scaling_event(self, d: Obj, rs_list: list[Obj]) -> bool:
        new_rs, old_rss = await self._get_all(d, rs_list, False)
        for rs in du.active([*old_rss, new_rs]):
            desired = du.int_annotation(rs, du.DESIRED_REPLICAS)
            if desired is not None and desired != replicas(d):
                return True
        return False

    async def _sync(self, d: Obj, rs_list: list[Obj]) -> None:
        """Scaling events and paused Deployments: scale, clean up (paused), status."""
        new_rs, old_rss = await self._get_all(d, rs_list, False)
        await self._scale(d, new_rs, old_rss)
        if spec(d).get("paused") and du.rollback_to(d) is None:
            await self._cleanup(old_rss, d)
        await self._sync_status([*old_rss, new_rs], new_rs, d)

    async def _sync_status_only(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old_rss = await self._get_all(d, rs_list, False)
        await self._sync_status([*old_rss, new_rs], new_rs, d)

    async def _cleanup(self, old_rss: list[Obj], d: Obj) -> None:
        """Delete the oldest empty RSs beyond spec.revisionHistoryLimit."""
        if not du.has_revision_history_limit(d):
            return
        alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
        diff = len(alive) - int(spec(d)["revisionHistoryLimit"])
        for rs in du.sort_by_revision(alive)[:max(diff, 0)]:
            meta = rs["metadata"]
            if du.status_int(rs, "replicas") != 0 or replicas(rs) != 0 or \
                    int(meta.get("generation") or 0) > du.status_int(rs, "observedGeneration"):
                continue
            try:
                # Preconditions: delete exactly the RS judged empty, unchanged since.
                await self.client.delete(REPLICA_SETS, meta["name"], namespace=meta["namespace"],
                                         preconditions={"uid": meta["uid"],
                                                        "resourceVersion": meta["resourceVersion"]})
            except StatusError as err:
                if not is_not_found(err):
                    raise

    # --- status --------------------------------------------------------------------------

    async def _sync_status(self, all_rss: list[Obj | None], new_rs: Obj | None, d: Obj
                           ) -> None:
        new_status = du.calculate_status(all_rss, new_rs, d, self._now())
        if new_status != status(d):
            d["status"] = new_status
            await self._update_status(d)

    async def _sync_rollout_status(self, all_rss: list[Obj | None], new_rs: Obj | None,
                                   d: Obj) -> None:
        """Status during a rollout: counts, Progressing (unless the rollout finished
        earlier and this is a resync), ReplicaFailure; requeue for the deadline."""
        now = self._now()
        new_status = du.calculate_status(all_rss, new_rs, d, now)
        if not du.has_progress_deadline(d):
            du.remove_condition(new_status, du.PROGRESSING)
        current = du.get_condition(status(d), du.PROGRESSING)
        complete = (int(new_status.get("replicas") or 0)
                    == int(new_status.get("updatedReplicas") or 0)
                    and current is not None and current.get("reason") == du.NEW_RS_AVAILABLE)
        if du.has_progress_deadline(d) and not complete:
            du.update_progress(d, new_status, new_rs, now)
        failures = du.replica_failures(all_rss, new_rs)
        if failures:
            du.set_condition(new_status, failures[0])
        else:
            du.remove_condition(new_status, du.REPLICA_FAILURE)
        if new_status == status(d):
            self._requeue_stuck(d, new_status, now)
            return
        d["status"] = new_status
        await self._update_status(d)

    def _requeue_stuck(self, d: Obj, new_status: Obj, now: datetime) -> None:
        after = du.stuck_requeue_after(d, new_status, now)
        if after is None:
            return
        if after < 1:
            self.queue.add_rate_limited(f"{_namespace(d)}/{_name(d)}")
        else:
            self.enqueue_after(d, after + 1)

    async def _check_paused_conditions(self, d: Obj) -> None:
        if not du.has_progress_deadline(d):
            return
        cond = du.get_condition(d["status"], du.PROGRESSING)
        if cond is not None and cond.get("reason") == du.TIMED_OUT:
            return  # a reported lack of progress is not overwritten
        paused_recorded = cond is not None and cond.get("reason") == du.PAUSED
        if spec(d).get("paused") and not paused_recorded:
            reason, message = du.PAUSED, "Deployment is paused"
        elif not spec(d).get("paused") and paused_recorded:
            reason, message = du.RESUMED, "Deployment is resumed"
        else:
            return
        du.set_condition(d["status"], du.new_condition(du.PROGRESSING, "Unknown", reason,
                                                       message, self._now()))
        await self._update_status(d)

    # --- rollouts ------------------------------------------------------------------------

    async def _rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old_rss = await self._get_all(d, rs_list, True)
        assert new_rs is not None
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        if await self._reconcile_new_rs(all_rss, new_rs, d) or \
                await self._reconcile_old_rss(all_rss, du.active(old_rss), new_rs, d):
            await self._sync_rollout_status(all_rss, new_rs, d)
            return
        if du.deployment_complete(d, status(d)):
            await self._cleanup(old_rss, d)
        await self._sync_rollout_status(all_rss, new_rs, d)

    async def _reconcile_new_rs(self, all_rss: list[Obj | None], new_rs: Obj, d: Obj) -> bool:
        """Scale the new RS up as far as maxSurge allows (or down to spec.replicas)."""
        if replicas(new_rs) == replicas(d):
            return False
        if replicas(new_rs) > replicas(d):
            scaled, _ = await self._scale_and_record(new_rs, replicas(d), d)
            return scaled
        count = du.new_rs_new_replicas(d, all_rss, new_rs)
        scaled, _ = await self._scale_and_record(new_rs, count, d)
        return scaled

    async def _reconcile_old_rss(self, all_rss: list[Obj | None], old_rss: list[Obj],
                                 new_rs: Obj, d: Obj) -> bool:
        """Scale old RSs down as far as maxUnavailable allows: unhealthy replicas first
        (they cost no availability), then available ones."""
        if du.total_replicas(old_rss) == 0:
            return False
        min_available = replicas(d) - du.max_unavailable(d)
        new_unavailable = replicas(new_rs) - du.status_int(new_rs, "availableReplicas")
        # Unavailable new pods must not let old available ones go (see upstream rolling.go).
        max_scaled_down = du.total_replicas(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        try:
            old_rss, cleaned = await self._cleanup_unhealthy(old_rss, d, max_scaled_down)
            scaled = await self._scale_down_old_for_rolling([*old_rss, new_rs], old_rss, d)
        except StatusError as err:
            # As upstream: a failed scale-down is retried by the next sync.
            log.debug("deployment %s: scaling down old replica sets: %s", _name(d), err)
            return False
        return cleaned + scaled > 0

    async def _cleanup_unhealthy(self, old_rss: list[Obj], d: Obj, max_cleanup: int
                                 ) -> tuple[list[Obj], int]:
        old_rss = du.sort_by_creation(old_rss)
        total = 0
        for i, rs in enumerate(old_rss):
            if total >= max_cleanup:
                break
            available = du.status_int(rs, "availableReplicas")
            if replicas(rs) == 0 or replicas(rs) == available:
                continue
            count = min(max_cleanup - total, replicas(rs) - available)
            _, old_rss[i] = await self._scale_and_record(rs, replicas(rs) - count, d)
            total += count
        return old_rss, total

    async def _scale_down_old_for_rolling(self, all_rss: list[Obj | None], old_rss: list[Obj],
                                          d: Obj) -> int:
        min_available = replicas(d) - du.max_unavailable(d)
        available = du.total_status(all_rss, "availableReplicas")
        if available <= min_available:
            return 0
        to_scale, total = available - min_available, 0
        for rs in du.sort_by_creation(old_rss):
            if total >= to_scale:
                break
            if replicas(rs) == 0:
                continue
            count = min(replicas(rs), to_scale - total)
            await self._scale_and_record(rs, replicas(rs) - count, d)
            total += count
        return total

    async def _rollout_recreate(self, d: Obj, rs_list: list[Obj],
                                pod_map: dict[str, list[Obj]]) -> None:
        """Scale every old RS to 0, wait until no old pod runs, then create and scale
        up the new RS (created only then, so no new pod starts beside an old one)."""
        new_rs, old_rss = await self._get_all(d, rs_list, False)
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        scaled_down = False
        for rs in du.active(old_rss):
            scaled, _ = await self._scale_and_record(rs, 0, d)
            scaled_down = scaled_down or scaled
        if scaled_down or du.old_pods_running(new_rs, old_rss, pod_map):
            await self._sync_rollout_status(all_rss, new_rs, d)
            return
        if new_rs is None:
            new_rs, old_rss = await self._get_all(d, rs_list, True)
            assert new_rs is not None
            all_rss = [*old_rss, new_rs]
        await self._scale_and_record(new_rs, replicas(d), d)
        if du.deployment_complete(d, status(d)):
            await self._cleanup(old_rss, d)
        await self._sync_rollout_status(all_rss, new_rs, d)

    # --- rollback (the deprecated rollbackTo annotation) ---------------------------------

    async def _rollback(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old_rss = await self._get_all(d, rs_list, True)
        all_rss = [rs for rs in (*old_rss, new_rs) if rs is not None]
        target = du.rollback_to(d) or du.last_revision(all_rss)
        if target == 0:
            self.recorder.event(d, WARNING, du.ROLLBACK_REVISION_NOT_FOUND,
                                "Unable to find last revision.")
            await self._clear_rollback(d)
            return
        for rs in all_rss:
            if du.revision(rs) == target:
                if await self._rollback_to_template(d, rs):
                    self.recorder.event(d, NORMAL, du.ROLLBACK_DONE,
                                        f'Rolled back deployment "{_name(d)}" to revision '
                                        f"{target}")
                return
        self.recorder.event(d, WARNING, du.ROLLBACK_REVISION_NOT_FOUND,
                            "Unable to find the revision to rollback to.")
        await self._clear_rollback(d)

    async def _rollback_to_template(self, d: Obj, rs: Obj) -> bool:
        template = spec(rs).get("template") or {}
        performed = not du.equal_ignore_hash(spec(d).get("template") or {}, template)
        if performed:
            du.set_from_rs_template(d, template)
            # The Deployment takes the annotations of the revision it goes back to.
            du.set_deployment_annotations_to(d, rs)
        else:
            self.recorder.event(d, WARNING, du.ROLLBACK_TEMPLATE_UNCHANGED,
                                "The rollback revision contains the same template as current "
                                f'deployment "{_name(d)}"')
        await self._clear_rollback(d)
        return performed

    async def _clear_rollback(self, d: Obj) -> None:
        d["metadata"].setdefault("annotations", {}).pop(du.ROLLBACK_TO, None)
        await self.client.update(DEPLOYMENTS, d)

