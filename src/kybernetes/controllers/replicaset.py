"""The ReplicaSet controller, which also runs ReplicationControllers
(upstream pkg/controller/replicaset and pkg/controller/replication).

Upstream converts RCs to RSs and back and runs the same code; here the code is
the same and a `ReplicatedKind` says what differs: the resource, the owner
reference, and the selector (an RC's is a plain label map).

One sync of `namespace/name` (`reconcile`):

1. Read the RS from the cache (gone: forget its expectations).
2. List the namespace's active pods (not terminal, not being deleted) and claim
   them through ControllerRef: adopt matching orphans, release owned pods that
   no longer match (see controller_ref_manager).
3. Only if the expectations set by an earlier sync are met (or expired): create
   the missing pods (slow start 1, 2, 4, ...; at most 500 per sync) or delete the
   surplus, ranked as upstream (controller_utils.pods_to_delete). Expectations are
   set before the calls and lowered by the pod handlers as the informer sees the
   creates and deletes, so a sync never acts on a cache that has not caught up
   with its own writes.
4. Write status (replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas, observedGeneration, the ReplicaFailure condition) when it
   changed; with minReadySeconds, look again when pods may have become available.

Events, on the RS: SuccessfulCreate / FailedCreate / SuccessfulDelete / FailedDelete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kybernetes.api.selectors import (
    LabelSelector,
    label_selector_from_dict,
    label_selector_from_set,
)
from kybernetes.client import (
    NORMAL,
    WARNING,
    DeletedFinalStateUnknown,
    ResourceInfo,
    StatusError,
    builtin_resource,
    is_conflict,
    is_not_found,
    meta_namespace_key,
    object_of,
    split_key,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.controller_ref_manager import ControllerRefManager
from kybernetes.controllers.controller_utils import (
    BURST_REPLICAS,
    CONTROLLER_UID_INDEX,
    SLOW_START_INITIAL_BATCH_SIZE,
    Expectations,
    controller_ref_of,
    deep_copy,
    filter_active_pods,
    format_time,
    index_by_controller_uid,
    is_pod_available,
    is_pod_ready,
    new_controller_ref,
    pod_from_template,
    pod_key,
    pods_to_delete,
    slow_start_batch,
    uid_of,
)
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers.replicaset")

PODS = builtin_resource("v1", "Pod")
REPLICA_FAILURE = "ReplicaFailure"
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"
# Status writes are retried this many times (after a fresh GET) before requeueing.
STATUS_UPDATE_RETRIES = 1


@dataclass(frozen=True)
class ReplicatedKind:
    """What differs between a ReplicaSet and a ReplicationController."""

    resource: ResourceInfo
    api_version: str
    kind: str
    selector: Callable[[Obj], LabelSelector]


def _rs_selector(rs: Obj) -> LabelSelector:
    return label_selector_from_dict((rs.get("spec") or {}).get("selector"))


def _rc_selector(rc: Obj) -> LabelSelector:
    # An RC's selector is a label map: as a LabelSelector's matchLabels upstream.
    return label_selector_from_set((rc.get("spec") or {}).get("selector"))


REPLICA_SET = ReplicatedKind(builtin_resource("apps/v1", "ReplicaSet"), "apps/v1",
                             "ReplicaSet", _rs_selector)
REPLICATION_CONTROLLER = ReplicatedKind(builtin_resource("v1", "ReplicationController"), "v1",
                                        "ReplicationController", _rc_selector)


def has_status_cause(err: BaseException, cause: str) -> bool:
    return isinstance(err, StatusError) and any(c.type == cause for c in err.causes)


def error_text(err: BaseException) -> str:
    """An error as Go's err.Error() would print it (a Status's message)."""
    return err.message if isinstance(err, StatusError) else str(err)


def _replicas(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


# --- status (pure) ------------------------------------------------------------------------


def _failure_condition(rs: Obj, pods: list[Obj], err: BaseException, now: datetime) -> Obj:
    diff = len(pods) - _replicas(rs)
    reason = "FailedCreate" if diff < 0 else ("FailedDelete" if diff > 0 else "")
    return {"type": REPLICA_FAILURE, "status": "True", "lastTransitionTime": format_time(now),
            "reason": reason, "message": error_text(err)}


def calculate_status(rs: Obj, pods: list[Obj], manage_error: BaseException | None,
                     now: datetime) -> Obj:
    """The RS status for its claimed active `pods` (calculateStatus): counts, and the
    ReplicaFailure condition set on a failed create/delete, cleared on success."""
    st = deep_copy(rs.get("status") or {})
    template_selector = label_selector_from_set(
        (((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels"))
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    fully = sum(1 for p in pods if template_selector.matches(_labels(p)))
    ready = [p for p in pods if is_pod_ready(p)]
    available = sum(1 for p in ready if is_pod_available(p, min_ready, now))
    conditions = [c for c in st.get("conditions") or () if c.get("type") != REPLICA_FAILURE]
    failure = next((c for c in st.get("conditions") or () if c.get("type") == REPLICA_FAILURE),
                   None)
    if manage_error is not None and failure is None:
        st["conditions"] = [*conditions, _failure_condition(rs, pods, manage_error, now)]
    elif manage_error is None and failure is not None:
        st["conditions"] = conditions
    if not st.get("conditions"):
        st.pop("conditions", None)
    st["replicas"] = len(pods)
    # Go omits zero counts (omitempty); replicas is always written.
    for field, value in (("fullyLabeledReplicas", fully), ("readyReplicas", len(ready)),
                         ("availableReplicas", available)):
        if value:
            st[field] = value
        else:
            st.pop(field, None)
    return st


def status_unchanged(rs: Obj, new: Obj) -> bool:
    """Nothing to write: same counts and conditions, and the generation is observed."""
    old = rs.get("status") or {}
    fields = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    generation = int((rs.get("metadata") or {}).get("generation") or 0)
    return (all(int(old.get(f) or 0) == int(new.get(f) or 0) for f in fields)
            and generation == int(old.get("observedGeneration") or 0)
            and (old.get("conditions") or []) == (new.get("conditions") or []))


# --- the controller -----------------------------------------------------------------------


@register("replicaset")
class ReplicaSetController(ReconcileController):
    """Keeps spec.replicas pods running for every ReplicaSet."""

    name = "replicaset"
    workers = 5
    kind = REPLICA_SET
    burst_replicas = BURST_REPLICAS

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.expectations = Expectations(ctx.clock)
        self.rs_informer = ctx.informers.informer(
            self.kind.resource, indexers={CONTROLLER_UID_INDEX: index_by_controller_uid})
        self.pod_informer = ctx.informers.informer(PODS)
        self.rs_informer.add_event_handler(on_add=self.enqueue, on_update=self._rs_updated,
                                           on_delete=self._rs_deleted)
        self.pod_informer.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                            on_delete=self._pod_deleted)

    # --- handlers: enqueue keys (and record what the informer observed) ------------------

    def _rs_updated(self, old: Obj, cur: Obj) -> None:
        if uid_of(old) != uid_of(cur):
            # Deleted and re-created between two events: forget the old one's state.
            self._rs_deleted(DeletedFinalStateUnknown(meta_namespace_key(old), old))
        self.enqueue(cur)

    def _rs_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = meta_namespace_key(object_of(obj))
        self.expectations.delete(key)
        self.queue.add(key)

    def _resolve(self, namespace: str, ref: Obj) -> Obj | None:
        """The controller a ControllerRef names, if it is one of ours (kind and UID)."""
        if ref.get("kind") != self.kind.kind:
            return None
        rs = self.rs_informer.store.get_by_name(namespace, ref.get("name") or "")
        return rs if rs is not None and uid_of(rs) == ref.get("uid") else None

    def _controllers_for_pod(self, pod: Obj) -> list[Obj]:
        """Controllers in the pod's namespace whose selector matches it (for orphans)."""
        out = []
        for rs in self.rs_informer.store.list_namespace(pod["metadata"].get("namespace", "")):
            try:
                selector = self.kind.selector(rs)
            except StatusError:
                continue
            if not selector.empty and selector.matches(_labels(pod)):
                out.append(rs)
        return out

    def _pod_added(self, pod: Obj) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            # Seen first while already terminating (e.g. after a restart): a delete.
            self._pod_deleted(pod)
            return
        ref = controller_ref_of(pod)
        if ref is not None:
            rs = self._resolve(pod["metadata"].get("namespace", ""), ref)
            if rs is not None:
                key = meta_namespace_key(rs)
                self.expectations.creation_observed(key)
                self.queue.add(key)
            return
        for rs in self._controllers_for_pod(pod):
            self.enqueue(rs)

    def _pod_updated(self, old: Obj, cur: Obj) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return  # a resync
        label_changed = _labels(old) != _labels(cur)
        if cur["metadata"].get("deletionTimestamp"):
            # Graceful deletion started: count it now, do not wait for the final delete.
            self._pod_deleted(cur)
            if label_changed:
                self._pod_deleted(old)
            return
        ns = cur["metadata"].get("namespace", "")
        cur_ref, old_ref = controller_ref_of(cur), controller_ref_of(old)
        if cur_ref != old_ref and old_ref is not None:
            if (prev := self._resolve(ns, old_ref)) is not None:
                self.enqueue(prev)
        if cur_ref is not None:
            if (rs := self._resolve(ns, cur_ref)) is not None:
                self.enqueue(rs)
                self._recheck_availability(rs, old, cur)
            return
        if label_changed or cur_ref != old_ref:
            for rs in self._controllers_for_pod(cur):
                self.enqueue(rs)

    def _recheck_availability(self, rs: Obj, old: Obj, cur: Obj) -> None:
        """A pod that just became ready becomes available minReadySeconds later."""
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(cur):
            self.enqueue_after(rs, min_ready + 1)

    def _pod_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = object_of(obj)
        ref = controller_ref_of(pod)
        if ref is None:
            return
        rs = self._resolve(pod["metadata"].get("namespace", ""), ref)
        if rs is None:
            return
        key = meta_namespace_key(rs)
        self.expectations.deletion_observed(key, pod_key(pod))
        self.queue.add(key)

    # --- the sync ------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        cached = self.rs_informer.store.get(key)
        if cached is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = self.kind.selector(cached)
        except StatusError as err:
            log.warning("%s %s has an invalid selector: %s", self.kind.kind, key, err)
            return
        namespace, _ = split_key(key)
        pods = filter_active_pods(self.pod_informer.store.list_namespace(namespace))
        pods = await self._claim_pods(cached, selector, pods)
        manage_error: Exception | None = None
        if needs_sync and not cached["metadata"].get("deletionTimestamp"):
            try:
                await self._manage_replicas(pods, cached)
            except Exception as err:
                manage_error = err
        rs = deep_copy(cached)
        new_status = calculate_status(rs, pods, manage_error, self.ctx.clock.wall())
        updated = await self._update_status(rs, new_status)
        self._requeue_for_availability(key, updated, manage_error)
        if manage_error is not None and not has_status_cause(
                manage_error, NAMESPACE_TERMINATING_CAUSE):
            raise manage_error

    def _requeue_for_availability(self, key: str, rs: Obj, manage_error: Exception | None
                                  ) -> None:
        """Last line of defence against clock skew: ready but not yet available pods
        are looked at again after minReadySeconds."""
        spec, st = rs.get("spec") or {}, rs.get("status") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        want = _replicas(rs)
        if manage_error is None and min_ready > 0 and int(st.get("readyReplicas") or 0) == want \
                and int(st.get("availableReplicas") or 0) != want:
            self.queue.add_after(key, float(min_ready))

    async def _claim_pods(self, rs: Obj, selector: LabelSelector, pods: list[Obj]
                          ) -> list[Obj]:
        meta = rs["metadata"]

        async def fresh() -> Obj:
            return await self.client.get(self.kind.resource, meta["name"],
                                         namespace=meta.get("namespace"))

        manager = ControllerRefManager(self.client, owner=rs, api_version=self.kind.api_version,
                                       kind=self.kind.kind, resource=PODS, selector=selector,
                                       get_fresh=fresh)
        return await manager.claim(pods)

    async def _manage_replicas(self, pods: list[Obj], rs: Obj) -> None:
        diff = len(pods) - _replicas(rs)
        if diff < 0:
            await self._create_pods(rs, min(-diff, self.burst_replicas))
        elif diff > 0:
            await self._delete_pods(rs, pods, min(diff, self.burst_replicas))

    async def _create_pods(self, rs: Obj, count: int) -> None:
        key = meta_namespace_key(rs)
        log.debug("%s %s: too few replicas, creating %d", self.kind.kind, key, count)
        self.expectations.expect_creations(key, count)
        successes, err = await slow_start_batch(count, SLOW_START_INITIAL_BATCH_SIZE,
                                                lambda: self._create_pod(rs))
        if skipped := count - successes:
            # The informer will never see these: stop waiting for them.
            self.expectations.lower(key, add=skipped)
        if err is not None:
            raise err

    async def _create_pod(self, rs: Obj) -> None:
        ref = new_controller_ref(rs, api_version=self.kind.api_version, kind=self.kind.kind)
        template = (rs.get("spec") or {}).get("template") or {}
        pod = pod_from_template(template, rs, ref)
        if not pod["metadata"]["labels"]:
            raise ValueError("unable to create pods, no labels")
        try:
            created = await self.client.create(PODS, pod, namespace=rs["metadata"]["namespace"])
        except StatusError as err:
            if has_status_cause(err, NAMESPACE_TERMINATING_CAUSE):
                return  # every create will fail; nothing to report
            self.recorder.event(rs, WARNING, "FailedCreate", f"Error creating: {error_text(err)}")
            raise
        self.recorder.event(rs, NORMAL, "SuccessfulCreate",
                            f"Created pod: {created['metadata']['name']}")

    async def _delete_pods(self, rs: Obj, pods: list[Obj], count: int) -> None:
        key = meta_namespace_key(rs)
        log.debug("%s %s: too many replicas, deleting %d", self.kind.kind, key, count)
        victims = pods_to_delete(pods, self._related_pods(rs), count, self.ctx.clock.wall())
        # Record which pods we wait to see go before deleting any (each counts once).
        self.expectations.expect_deletions(key, [pod_key(p) for p in victims])
        results = await asyncio.gather(*(self._delete_pod(rs, p) for p in victims),
                                       return_exceptions=True)
        errors = []
        for pod, result in zip(victims, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                self.expectations.deletion_observed(key, pod_key(pod))
                if not is_not_found(result):
                    errors.append(result)
        if errors:
            raise errors[0]

    async def _delete_pod(self, rs: Obj, pod: Obj) -> None:
        meta = pod["metadata"]
        try:
            # The UID precondition: delete the pod that was ranked, not a namesake.
            await self.client.delete(PODS, meta["name"], namespace=meta["namespace"],
                                     preconditions={"uid": meta["uid"]})
        except StatusError as err:
            if is_conflict(err):
                raise StatusError(404, "NotFound", f'pods "{meta["name"]}" not found') from err
            if not is_not_found(err):
                self.recorder.event(rs, WARNING, "FailedDelete",
                                    f"Error deleting: {error_text(err)}")
            raise
        self.recorder.event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Active pods of every controller that shares `rs`'s owner (a Deployment's RSs):
        deleting pods from nodes crowded with siblings spreads the survivors."""
        ref = controller_ref_of(rs)
        if ref is None:
            return []
        seen: dict[str, Obj] = {}
        for sibling in self.rs_informer.store.by_index(CONTROLLER_UID_INDEX, ref["uid"]):
            try:
                selector = self.kind.selector(sibling)
            except StatusError:
                continue
            ns = sibling["metadata"].get("namespace", "")
            for pod in self.pod_informer.store.list_namespace(ns):
                if selector.matches(_labels(pod)):
                    seen.setdefault(uid_of(pod), pod)
        return list(seen.values())

    async def _update_status(self, rs: Obj, new_status: Obj) -> Obj:
        """Write `new_status` unless nothing changed; on failure read the RS again and
        retry (STATUS_UPDATE_RETRIES), then give up (the key is requeued)."""
        if status_unchanged(rs, new_status):
            return rs
        new_status["observedGeneration"] = int(rs["metadata"].get("generation") or 0)
        attempt = 0
        while True:
            rs["status"] = new_status
            try:
                return await self.client.update(self.kind.resource, rs, subresource="status")
            except StatusError:
                if attempt >= STATUS_UPDATE_RETRIES:
                    raise
            attempt += 1
            meta = rs["metadata"]
            rs = await self.client.get(self.kind.resource, meta["name"],
                                       namespace=meta["namespace"])


@register("replicationcontroller")
class ReplicationManager(ReplicaSetController):
    """The same loop for ReplicationControllers (upstream's ReplicationManager)."""

    name = "replicationcontroller"
    kind = REPLICATION_CONTROLLER

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.recorder = ctx.recorder("replication-controller")
