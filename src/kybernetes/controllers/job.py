"""The Job controller: run pods until enough of them succeed (upstream
pkg/controller/job, v1.32 with its default feature gates).

How a sync goes (`_sync_job`, level-triggered, one Job at a time):

1. Claim the Job's pods (adopting orphans that match its selector, with the
   tracking finalizer) and count: active, ready, terminating, newly
   succeeded/failed (pods that still carry `batch.kubernetes.io/job-tracking`).
2. Decide whether the Job is finished: an existing SuccessCriteriaMet or
   FailureTarget condition, a FailJob rule of the pod failure policy, more
   failures than `backoffLimit`, `activeDeadlineSeconds` passed, failed or
   too many failed indexes (`backoffLimitPerIndex`), the success policy, or
   `completions` reached.
3. Act: a finishing Job has its active pods deleted; otherwise pods are
   created (after the failure back-off) or deleted (suspended, over
   parallelism, duplicate indexes) towards min(parallelism, remaining).
4. Count, then let go: finished pods' UIDs go to
   `status.uncountedTerminatedPods` (written first), then their finalizers
   are removed, then the counters absorb them. So a pod is counted exactly
   once even if the controller dies midway.
5. The terminal condition comes last: FailureTarget / SuccessCriteriaMet
   are written first; Failed / Complete only once no pod is uncounted or
   still terminating.

Informer events only enqueue keys (pod events batched by
`job_sync_batch_period_seconds`, default 1 s, as upstream's
syncJobBatchPeriod); creation/deletion expectations and finalizer-removal
expectations keep a stale cache from causing double work. Orphan pods that
still carry the finalizer are queued as `pod:<namespace>/<name>` and freed.

Manager options: `job_sync_batch_period_seconds`,
`job_pod_failure_backoff_seconds` (10), `job_pod_failure_backoff_max_seconds` (360).
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.client import (
    NORMAL,
    WARNING,
    is_not_found,
    meta_namespace_key,
    object_of,
)
from kybernetes.controllers._jobutil import (
    COMPLETION_INDEX_ANNOTATION,
    COMPLETION_INDEX_ENV,
    DEFAULT_BACKOFF,
    INDEX_FAILURE_COUNT_ANNOTATION,
    INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
    JOB_CONTROLLER_NAME,
    JOB_TRACKING_FINALIZER,
    MAX_BACKOFF,
    BackoffRecord,
    Interval,
    completion_index,
    condition_true,
    ensure_condition,
    find_condition,
    finished_time,
    first_pending_indexes,
    format_indexes,
    has_index,
    index_absolute_failure_count,
    is_finished,
    is_index_failed,
    is_pod_failed,
    match_pod_failure_policy,
    match_success_policy,
    new_condition,
    new_index_failure_counts,
    next_backoff_record,
    only_replace_failed_pods,
    parse_indexes,
    pod_generate_name,
    remaining_backoff,
    total,
    valid_index,
    with_indexes,
)
from kybernetes.controllers._workloads import (
    JOBS,
    POD_CONTROLLER_INDEX,
    PODS,
    Expectations,
    PodControl,
    claim,
    controller_ref,
    controller_uid,
    deleting,
    deletion_rank,
    labels,
    meta,
    new_controller_ref,
    parse_time,
    phase,
    pod_active,
    pod_from_template,
    pod_ready,
    pod_terminating,
    recheck_owner,
    resolve_controller_ref,
    rfc3339,
    uid,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

Obj = dict[str, Any]

ORPHAN_PREFIX = "pod:"  # queue keys of orphan pods (a namespace never holds ':')
MAX_UNCOUNTED_PODS = 500
MAX_POD_CREATE_DELETE_PER_SYNC = 500
SLOW_START_INITIAL_BATCH = 1


def has_tracking_finalizer(pod: Obj) -> bool:
    return JOB_TRACKING_FINALIZER in (meta(pod).get("finalizers") or ())


def is_indexed(job: Obj) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def suspended(job: Obj) -> bool:
    return bool((job.get("spec") or {}).get("suspend"))


def per_index_backoff(job: Obj) -> bool:
    return (job.get("spec") or {}).get("backoffLimitPerIndex") is not None


def completions_of(job: Obj) -> int | None:
    value = (job.get("spec") or {}).get("completions")
    return None if value is None else int(value)


class FinalizerExpectations:
    """uidTrackingExpectations: per Job, the pod UIDs whose tracking finalizer the
    controller removed and whose update the informer has not shown yet. Such pods
    were counted already and must not be counted again from the stale cache."""

    def __init__(self) -> None:
        self._uids: dict[str, set[str]] = {}

    def expect_removed(self, key: str, uids: list[str]) -> None:
        self._uids.setdefault(key, set()).update(uids)

    def observed(self, key: str, pod_uid: str) -> None:
        uids = self._uids.get(key)
        if uids is not None:
            uids.discard(pod_uid)
            if not uids:
                del self._uids[key]

    def expected(self, key: str) -> set[str]:
        return set(self._uids.get(key, ()))

    def forget(self, key: str) -> None:
        self._uids.pop(key, None)


@dataclass
class _Sync:
    """syncJobCtx: what one sync of one Job knows and decides."""

    key: str
    job: Obj
    pods: list[Obj]
    active_pods: list[Obj]
    now: datetime
    ready: int
    terminating: int
    uncounted_succeeded: set[str]
    uncounted_failed: set[str]
    expected_rm: set[str]
    succeeded: int = 0
    failed: int = 0
    finished: Obj | None = None  # the condition the Job is heading for
    prev_succeeded_indexes: list[Interval] = field(default_factory=list)
    succeeded_indexes: list[Interval] = field(default_factory=list)
    failed_indexes: list[Interval] | None = None
    new_backoff: BackoffRecord = field(default_factory=BackoffRecord)
    delayed_per_index: dict[int, Obj] = field(default_factory=dict)

    @property
    def status(self) -> Obj:
        return self.job["status"]

    @property
    def completions(self) -> int:
        return completions_of(self.job) or 0


# --- pure decisions --------------------------------------------------------------------


def active_pods_for_removal(job: Obj, pods: list[Obj], rm_at_least: int) -> list[Obj]:
    """activePodsForRemoval: duplicate or invalid indexes first, then pods in the order
    in which they are cheapest to lose."""
    rm: list[Obj] = []
    left = list(pods)
    if is_indexed(job):
        rm, left = _duplicated_index_pods(pods, completions_of(job) or 0)
    if len(rm) < rm_at_least:
        left.sort(key=deletion_rank)
        rm += left[: rm_at_least - len(rm)]
    return rm


def _duplicated_index_pods(pods: list[Obj], completions: int) -> tuple[list[Obj], list[Obj]]:
    rm: list[Obj] = []
    by_index: dict[int, list[Obj]] = {}
    for pod in pods:
        ix = valid_index(pod, completions)
        if ix is None:
            rm.append(pod)
        else:
            by_index.setdefault(ix, []).append(pod)
    left: list[Obj] = []
    for ix in sorted(by_index):
        group = sorted(by_index[ix], key=deletion_rank)
        rm += group[:-1]
        left.append(group[-1])
    return rm, left


def past_backoff_limit_on_failure(job: Obj, pods: list[Obj]) -> bool:
    """With restartPolicy OnFailure, container restarts count against backoffLimit."""
    spec = job.get("spec") or {}
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        if phase(pod) in ("Running", "Pending"):
            status = pod.get("status") or {}
            for key in ("initContainerStatuses", "containerStatuses"):
                restarts += sum(int(cs.get("restartCount") or 0) for cs in status.get(key) or ())
    limit = int(spec.get("backoffLimit") or 0)
    return restarts > 0 if limit == 0 else restarts >= limit


def past_active_deadline(job: Obj, now: datetime) -> bool:
    deadline = (job.get("spec") or {}).get("activeDeadlineSeconds")
    start = parse_time((job.get("status") or {}).get("startTime"))
    if deadline is None or start is None or suspended(job):
        return False
    return (now - start).total_seconds() >= int(deadline)


def fail_job_message(job: Obj, pods: list[Obj]) -> str | None:
    """getFailJobMessage: the message of the first failed pod matching a FailJob rule."""
    policy = (job.get("spec") or {}).get("podFailurePolicy")
    if not policy:
        return None
    for pod in pods:
        if is_pod_failed(pod, job):
            message, _, _ = match_pod_failure_policy(policy, pod)
            if message is not None:
                return message
    return None


def clean_uncounted(status: Obj, with_finalizer: set[str]) -> bool:
    """cleanUncountedPodsWithoutFinalizers: UIDs whose finalizer is gone move from
    uncountedTerminatedPods into the counters. True if anything changed."""
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    changed = False
    for key in ("succeeded", "failed"):
        uids = uncounted.get(key) or []
        keep = [u for u in uids if u in with_finalizer]
        if len(keep) != len(uids):
            status[key] = int(status.get(key) or 0) + len(uids) - len(keep)
            uncounted[key] = keep
            changed = True
    return changed


def _clean_status(status: Obj) -> None:
    """Drop what Go's omitempty drops, so the object reads as upstream's."""
    for key in ("active", "succeeded", "failed"):
        if not status.get(key):
            status.pop(key, None)
    for key in ("completedIndexes", "conditions"):
        if not status.get(key):
            status.pop(key, None)
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    for key in ("succeeded", "failed"):
        if not uncounted.get(key):
            uncounted.pop(key, None)


def add_completion_index_env(template: Obj) -> None:
    """addCompletionIndexEnvVariables: JOB_COMPLETION_INDEX from the index label
    (resolved by the kubelet through the downward API)."""
    spec = template.setdefault("spec", {})
    ref = {"fieldRef": {"fieldPath": f"metadata.labels['{COMPLETION_INDEX_ANNOTATION}']"}}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or ():
            env = container.setdefault("env", [])
            if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                env.append({"name": COMPLETION_INDEX_ENV, "valueFrom": copy.deepcopy(ref)})


# --- the controller --------------------------------------------------------------------


@register("job")
class JobController(ReconcileController):
    name = "job"
    workers = 5  # upstream's --concurrent-job-syncs default

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.pods = ctx.informers.informer(PODS, indexers={POD_CONTROLLER_INDEX: controller_uid})
        self.jobs = ctx.informers.informer(JOBS)
        self.expectations = Expectations(ctx.clock.now)
        self.finalizer_expectations = FinalizerExpectations()
        self.backoff_records: dict[str, BackoffRecord] = {}
        self.pod_control = PodControl(self.client, self.recorder)
        opts = ctx.options
        self.batch_period = float(opts.get("job_sync_batch_period_seconds", 1.0))
        self.backoff_base = float(opts.get("job_pod_failure_backoff_seconds", DEFAULT_BACKOFF))
        self.backoff_cap = float(opts.get("job_pod_failure_backoff_max_seconds", MAX_BACKOFF))
        self.jobs.add_event_handler(on_add=self._job_added, on_update=self._job_updated,
                                    on_delete=self._job_deleted)
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=lambda obj: self._pod_deleted(object_of(obj), True))

    def _now(self) -> datetime:
        return self.ctx.clock.wall()

    # --- handlers: enqueue keys, count expectations ----------------------------------------

    def _enqueue_batched(self, job: Obj) -> None:
        self.queue.add_after(meta_namespace_key(job), self.batch_period)

    def _enqueue_orphan(self, pod: Obj) -> None:
        self.queue.add(ORPHAN_PREFIX + meta_namespace_key(pod))

    def _job_added(self, job: Obj) -> None:
        self.queue.add(meta_namespace_key(job))

    def _job_updated(self, old: Obj, new: Obj) -> None:
        key = meta_namespace_key(new)
        if meta(new).get("generation") == meta(old).get("generation"):
            self._enqueue_batched(new)
        else:
            self.queue.add(key)
        if is_finished(new):
            self._cleanup_pod_finalizers(new)
        deadline = (new.get("spec") or {}).get("activeDeadlineSeconds")
        start = parse_time((new.get("status") or {}).get("startTime"))
        if deadline is not None and start is not None and deadline != (
                old.get("spec") or {}).get("activeDeadlineSeconds"):
            passed = (self._now() - start).total_seconds()
            self.queue.add_after(key, int(deadline) - passed)

    def _job_deleted(self, obj: Any) -> None:
        job = object_of(obj)
        self.queue.add(meta_namespace_key(job))
        self._cleanup_pod_finalizers(job)

    def _cleanup_pod_finalizers(self, job: Obj) -> None:
        for pod in self.pods.store.by_index(POD_CONTROLLER_INDEX, uid(job)):
            if has_tracking_finalizer(pod):
                self._enqueue_orphan(pod)

    def _job_of(self, pod: Obj, ref_of: Obj | None = None) -> Obj | None:
        obj = pod if ref_of is None else ref_of
        return resolve_controller_ref(obj, "Job", self.jobs.store.get)

    def _jobs_selecting(self, pod: Obj) -> list[Obj]:
        ns = meta(pod).get("namespace") or ""
        out = []
        for job in self.jobs.store.list_namespace(ns):
            selector = (job.get("spec") or {}).get("selector")
            try:
                if label_selector_from_dict(selector).matches(labels(pod)):
                    out.append(job)
            except Exception:
                continue
        return out

    def _pod_added(self, pod: Obj) -> None:
        if deleting(pod):
            self._pod_deleted(pod, False)
            return
        if controller_ref(pod) is not None:
            job = self._job_of(pod)
            if job is not None:
                self.expectations.creation_observed(meta_namespace_key(job))
                self._enqueue_batched(job)
            return
        if has_tracking_finalizer(pod):
            self._enqueue_orphan(pod)
        for job in self._jobs_selecting(pod):
            self._enqueue_batched(job)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(new).get("resourceVersion") == meta(old).get("resourceVersion"):
            return
        if deleting(new):
            self._pod_deleted(new, False)
            return
        finalizer_removed = not has_tracking_finalizer(new)
        cur_ref, old_ref = controller_ref(new), controller_ref(old)
        if cur_ref != old_ref and old_ref is not None:
            old_job = self._job_of(new, ref_of=old)
            if old_job is not None:
                self._observe_finalizer(old_job, new, finalizer_removed)
        if cur_ref is not None:
            job = self._job_of(new)
            if job is not None:
                self._observe_finalizer(job, new, finalizer_removed)
            return
        if has_tracking_finalizer(new):
            self._enqueue_orphan(new)
        if labels(new) != labels(old) or cur_ref != old_ref:
            for job in self._jobs_selecting(new):
                self._enqueue_batched(job)

    def _observe_finalizer(self, job: Obj, pod: Obj, removed: bool) -> None:
        if removed:
            self.finalizer_expectations.observed(meta_namespace_key(job), uid(pod))
        self._enqueue_batched(job)

    def _pod_deleted(self, pod: Obj, final: bool) -> None:
        has_finalizer = has_tracking_finalizer(pod)
        if controller_ref(pod) is None:
            if has_finalizer:
                self._enqueue_orphan(pod)
            return
        job = self._job_of(pod)
        if job is None or is_finished(job):
            if has_finalizer:
                self._enqueue_orphan(pod)
            return
        key = meta_namespace_key(job)
        self.expectations.deletion_observed(key)
        if final or not has_finalizer:
            self.finalizer_expectations.observed(key, uid(pod))
        self._enqueue_batched(job)

    # --- reconcile ---------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        if key.startswith(ORPHAN_PREFIX):
            await self._sync_orphan_pod(key[len(ORPHAN_PREFIX):])
        else:
            await self._sync_job(key)

    async def _sync_orphan_pod(self, key: str) -> None:
        """syncOrphanPod: free a pod no unfinished Job controls from the finalizer."""
        pod = self.pods.store.get(key)
        if pod is None:
            return
        ref = controller_ref(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return
            job = self._job_of(pod)
            if job is not None and _managed_elsewhere(job):
                return
            if job is not None and not is_finished(job):
                return
        await self._remove_finalizer(pod)

    async def _remove_finalizer(self, pod: Obj) -> None:
        if not has_tracking_finalizer(pod):
            return
        patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER]}}
        try:
            await self.client.patch(PODS, meta(pod)["name"], patch,
                                    namespace=meta(pod).get("namespace"),
                                    patch_type="strategic")
        except Exception as err:
            if not is_not_found(err):
                raise

    async def _sync_job(self, key: str) -> None:
        shared = self.jobs.store.get(key)
        if shared is None:
            self.expectations.forget(key)
            self.finalizer_expectations.forget(key)
            self.backoff_records.pop(key, None)
            return
        if _managed_elsewhere(shared):
            return
        if is_finished(shared):
            self.backoff_records.pop(key, None)
            return
        if (shared.get("spec") or {}).get("completionMode", "NonIndexed") not in (
                "NonIndexed", "Indexed"):
            self.recorder.event(shared, WARNING, "UnknownCompletionMode",
                                "Skipped Job sync because completion mode is unknown")
            return
        job = copy.deepcopy(shared)
        job.setdefault("status", {}).setdefault("uncountedTerminatedPods", {})
        # Expectations first: a pod created after this check shows up in the next sync.
        satisfied = self.expectations.satisfied(key)
        pods = await self._pods_for_job(job)
        sc = self._new_sync(key, job, pods)
        await self._sync(sc, satisfied)

    async def _pods_for_job(self, job: Obj) -> list[Obj]:
        """getPodsForJob: the Job's pods, adopting orphans (with the finalizer)."""
        ns = meta(job).get("namespace") or ""
        selector = label_selector_from_dict((job.get("spec") or {}).get("selector"))
        pods = await claim(self.client, PODS, job, new_controller_ref(job, "batch/v1", "Job"),
                           selector, self.pods.store.list_namespace(ns),
                           can_adopt=recheck_owner(self.client, JOBS, job),
                           adopt_finalizers=(JOB_TRACKING_FINALIZER,))
        return pods

    def _new_sync(self, key: str, job: Obj, pods: list[Obj]) -> _Sync:
        active = [p for p in pods if pod_active(p)]
        uncounted = job["status"]["uncountedTerminatedPods"]
        return _Sync(key=key, job=job, pods=pods, active_pods=active, now=self._now(),
                     ready=sum(1 for p in active if pod_ready(p)),
                     terminating=sum(1 for p in pods if pod_terminating(p)),
                     uncounted_succeeded=set(uncounted.get("succeeded") or ()),
                     uncounted_failed=set(uncounted.get("failed") or ()),
                     expected_rm=self.finalizer_expectations.expected(key))

    async def _sync(self, sc: _Sync, satisfied: bool) -> None:
        job, status = sc.job, sc.status
        active = len(sc.active_pods)
        new_succeeded, new_failed = self._new_finished_pods(sc)
        policy = (job.get("spec") or {}).get("podFailurePolicy")
        counted_failed = [p for p in new_failed if match_pod_failure_policy(policy, p)[1]]
        sc.succeeded = (int(status.get("succeeded") or 0) + len(new_succeeded)
                        + len(sc.uncounted_succeeded))
        sc.failed = int(status.get("failed") or 0) + len(counted_failed) + len(sc.uncounted_failed)
        if not status.get("startTime") and not suspended(job):
            status["startTime"] = rfc3339(sc.now)
        sc.new_backoff = next_backoff_record(self.backoff_records.get(sc.key, BackoffRecord()),
                                             new_succeeded, new_failed)
        self._decide_failure(sc)
        if is_indexed(job):
            self._indexed_progress(sc)
        suspend_changed = False
        manage_error: Exception | None = None
        if sc.finished is not None:
            ready, deleted, manage_error = await self._delete_active_pods(job, sc.active_pods)
            if deleted != active or not satisfied:
                sc.finished = None  # pods or finalizers may still be in flight
            active -= deleted
            sc.terminating += deleted
            sc.ready -= ready
        else:
            called = satisfied and not deleting(job)
            if called:
                active, manage_error = await self._manage(sc)
            if self._complete(sc, active):
                sc.finished = new_condition("SuccessCriteriaMet", "True", "CompletionsReached",
                                            "Reached expected number of succeeded pods", sc.now)
            elif called:
                suspend_changed = self._update_suspend_condition(sc)
        needs = (suspend_changed or active != int(status.get("active") or 0)
                 or sc.ready != status.get("ready") or sc.terminating != status.get("terminating"))
        status["active"], status["ready"], status["terminating"] = active, sc.ready, sc.terminating
        await self._track_status(sc, needs)
        if manage_error is not None:
            raise manage_error

    def _complete(self, sc: _Sync, active: int) -> bool:
        if completions_of(sc.job) is None:
            return sc.succeeded > 0 and active == 0
        return sc.succeeded >= sc.completions and active == 0

    def _new_finished_pods(self, sc: _Sync) -> tuple[list[Obj], list[Obj]]:
        """getNewFinishedPods: finished pods still carrying the finalizer, not yet in
        uncountedTerminatedPods (and, if Indexed, with a valid index)."""
        succeeded = self._valid_pods(sc, sc.uncounted_succeeded,
                                     lambda p: phase(p) == "Succeeded")
        failed = self._valid_pods(sc, sc.uncounted_failed, lambda p: is_pod_failed(p, sc.job))
        return succeeded, failed

    def _valid_pods(self, sc: _Sync, uncounted: set[str], pred: Any) -> list[Obj]:
        out = []
        for pod in sc.pods:
            pid = uid(pod)
            if not has_tracking_finalizer(pod) or pid in uncounted or pid in sc.expected_rm:
                continue
            if is_indexed(sc.job) and valid_index(pod, sc.completions) is None:
                continue
            if pred(pod):
                out.append(pod)
        return out

    def _decide_failure(self, sc: _Sync) -> None:
        """Whether the Job has failed (or met its success criteria before)."""
        job, spec = sc.job, sc.job.get("spec") or {}
        met = find_condition(job, "SuccessCriteriaMet")
        if met is not None and met.get("status") == "True":
            sc.finished = met
            return
        target = find_condition(job, "FailureTarget")
        if target is not None and target.get("status") == "True":
            sc.finished = new_condition("Failed", "True", target.get("reason") or "",
                                        target.get("message") or "", sc.now)
            return
        if (message := fail_job_message(job, sc.pods)) is not None:
            sc.finished = new_condition("FailureTarget", "True", "PodFailurePolicy", message,
                                        sc.now)
        elif sc.failed > int(spec.get("backoffLimit") or 0) or past_backoff_limit_on_failure(
                job, sc.pods):
            sc.finished = new_condition("FailureTarget", "True", "BackoffLimitExceeded",
                                        "Job has reached the specified backoff limit", sc.now)
        elif past_active_deadline(job, sc.now):
            sc.finished = new_condition("FailureTarget", "True", "DeadlineExceeded",
                                        "Job was active longer than specified deadline", sc.now)
        elif spec.get("activeDeadlineSeconds") is not None and not suspended(job):
            start = parse_time(sc.status.get("startTime")) or sc.now
            left = int(spec["activeDeadlineSeconds"]) - (sc.now - start).total_seconds()
            self.queue.add_after(sc.key, left)

    def _indexed_progress(self, sc: _Sync) -> None:
        job, spec = sc.job, sc.job.get("spec") or {}
        sc.prev_succeeded_indexes = parse_indexes(sc.status.get("completedIndexes"),
                                                  sc.completions)
        fresh = [valid_index(p, sc.completions) for p in sc.pods
                 if phase(p) == "Succeeded" and has_tracking_finalizer(p)]
        sc.succeeded_indexes = with_indexes(sc.prev_succeeded_indexes,
                                            [ix for ix in fresh if ix is not None])
        sc.succeeded = total(sc.succeeded_indexes)
        if per_index_backoff(job):
            sc.failed_indexes = self._failed_indexes(sc)
            failed_n = total(sc.failed_indexes)
            max_failed = spec.get("maxFailedIndexes")
            if sc.finished is None and max_failed is not None and failed_n > int(max_failed):
                sc.finished = new_condition(
                    "FailureTarget", "True", "MaxFailedIndexesExceeded",
                    "Job has exceeded the specified maximal number of failed indexes", sc.now)
            elif sc.finished is None and failed_n > 0 and (
                    failed_n + sc.succeeded >= sc.completions):
                sc.finished = new_condition("FailureTarget", "True", "FailedIndexes",
                                            "Job has failed indexes", sc.now)
            sc.delayed_per_index = self._delayed_per_index(sc)
        if sc.finished is None:
            message = match_success_policy(spec.get("successPolicy"), sc.completions,
                                           sc.succeeded_indexes)
            if message is not None:
                sc.finished = new_condition("SuccessCriteriaMet", "True", "SuccessPolicy",
                                            message, sc.now)

    def _failed_indexes(self, sc: _Sync) -> list[Interval]:
        """calculateFailedIndexes: status.failedIndexes plus indexes failed since."""
        prev = parse_indexes(sc.status.get("failedIndexes"), sc.completions)
        fresh = []
        for pod in sc.pods:
            ix = valid_index(pod, sc.completions)
            if ix is not None and has_tracking_finalizer(pod) and is_index_failed(sc.job, pod):
                fresh.append(ix)
        return with_indexes(prev, fresh)

    def _delayed_per_index(self, sc: _Sync) -> dict[int, Obj]:
        """getPodsWithDelayedDeletionPerIndex: per index still to retry, the last failed
        pod, kept (finalizer and all) until its replacement carries its failure count."""
        active_ix = {completion_index(p) for p in sc.active_pods}
        out: dict[int, Obj] = {}
        for pod in self._valid_pods(sc, set(), lambda p: is_pod_failed(p, sc.job)):
            ix = valid_index(pod, sc.completions)
            if ix is None or ix in active_ix or has_index(sc.succeeded_indexes, ix) or has_index(
                    sc.failed_indexes, ix):
                continue
            last = out.get(ix)
            if last is None or (index_absolute_failure_count(last) <= index_absolute_failure_count(
                    pod) and finished_time(pod) >= finished_time(last)):
                out[ix] = pod
        return out

    def _update_suspend_condition(self, sc: _Sync) -> bool:
        if suspended(sc.job):
            changed = ensure_condition(sc.status, "Suspended", "True", "JobSuspended",
                                       "Job suspended", sc.now)
            if changed:
                self.recorder.event(sc.job, NORMAL, "Suspended", "Job suspended")
            return changed
        changed = ensure_condition(sc.status, "Suspended", "False", "JobResumed",
                                   "Job resumed", sc.now)
        if changed:
            self.recorder.event(sc.job, NORMAL, "Resumed", "Job resumed")
            # activeDeadlineSeconds counts the time a Job is continuously active.
            sc.status["startTime"] = rfc3339(sc.now)
        return changed

    # --- manageJob ---------------------------------------------------------------------------

    def _want_active(self, sc: _Sync, active: int) -> int:
        parallelism = int((sc.job.get("spec") or {}).get("parallelism") or 0)
        if completions_of(sc.job) is None:
            return active if sc.succeeded > 0 else parallelism
        return max(0, min(sc.completions - sc.succeeded, parallelism))

    async def _manage(self, sc: _Sync) -> tuple[int, Exception | None]:
        """manageJob: create or delete pods towards the wanted number of active ones.
        Returns the new active count and the first error (after partial progress)."""
        job, active = sc.job, len(sc.active_pods)
        if suspended(job):
            return await self._delete_for_manage(sc, active, active)
        want = self._want_active(sc, active)
        to_delete = active_pods_for_removal(job, sc.active_pods, max(0, active - want))
        if to_delete:
            return await self._delete_for_manage(sc, active, len(to_delete), to_delete)
        terminating = sc.terminating if only_replace_failed_pods(job) else 0
        diff = want - terminating - active
        if diff <= 0:
            return active, None
        if not per_index_backoff(job):
            wait = remaining_backoff(sc.new_backoff.failures, sc.new_backoff.last_failure, sc.now,
                                     base=self.backoff_base, cap=self.backoff_cap)
            if wait > 0:
                # Upstream reports 0 active here; the pods that are running still are.
                self.queue.add_after(sc.key, max(wait, self.batch_period))
                return active, None
        indexes: list[int | None] = [None] * min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
        if is_indexed(job):
            pending = self._pending_indexes(sc, len(indexes))
            if pending is None:
                return active, None
            indexes = list(pending)
        created, err = await self._create_pods(sc, indexes)
        return active + created, err

    async def _delete_for_manage(self, sc: _Sync, active: int, count: int,
                                 pods: list[Obj] | None = None) -> tuple[int, Exception | None]:
        pods = active_pods_for_removal(sc.job, sc.active_pods, count) if pods is None else pods
        pods = pods[:MAX_POD_CREATE_DELETE_PER_SYNC]
        self.expectations.expect(sc.key, dels=len(pods))
        ready, removed, err = await self._delete_job_pods(sc.key, sc.job, pods)
        sc.terminating += removed
        sc.ready -= ready
        return active - removed, err

    def _pending_indexes(self, sc: _Sync, count: int) -> list[int] | None:
        """firstPendingIndexes (and, with backoffLimitPerIndex, those out of back-off);
        None when every candidate index is still backing off (a resync is queued)."""
        non_pending = with_indexes(sc.succeeded_indexes,
                                   [ix for p in sc.active_pods
                                    if (ix := completion_index(p)) is not None])
        if only_replace_failed_pods(sc.job):
            non_pending = with_indexes(non_pending, [
                ix for p in sc.pods if pod_terminating(p) and (ix := completion_index(p))
                is not None])
        if sc.failed_indexes is not None:
            non_pending = with_indexes(non_pending, [i for a, b in sc.failed_indexes
                                                     for i in range(a, b + 1)])
        candidates = first_pending_indexes(count, sc.completions, non_pending)
        if not per_index_backoff(sc.job):
            return candidates
        now_ok, min_wait = [], None
        for ix in candidates:
            last = sc.delayed_per_index.get(ix)
            wait = 0.0 if last is None else remaining_backoff(
                index_absolute_failure_count(last) + 1, finished_time(last), sc.now,
                base=self.backoff_base, cap=self.backoff_cap)
            if wait <= 0:
                now_ok.append(ix)
            elif min_wait is None or wait < min_wait:
                min_wait = wait
        if not now_ok and min_wait is not None:
            self.queue.add_after(sc.key, max(min_wait, self.batch_period))
            return None
        return now_ok

    def _pod_for(self, sc: _Sync, template: Obj, index: int | None) -> Obj:
        job = sc.job
        name = meta(job)["name"]
        tmpl = copy.deepcopy(template)
        generate_name = ""
        if index is not None:
            tmeta = tmpl.setdefault("metadata", {})
            tmeta.setdefault("annotations", {})[COMPLETION_INDEX_ANNOTATION] = str(index)
            tmeta.setdefault("labels", {})[COMPLETION_INDEX_ANNOTATION] = str(index)
            tmpl.setdefault("spec", {})["hostname"] = f"{name}-{index}"
            generate_name = pod_generate_name(name, index)
            if per_index_backoff(job):
                failed, ignored = new_index_failure_counts(job, sc.delayed_per_index.get(index))
                tmeta["annotations"][INDEX_FAILURE_COUNT_ANNOTATION] = str(failed)
                if ignored > 0:
                    tmeta["annotations"][INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = str(ignored)
        return pod_from_template(tmpl, job, new_controller_ref(job, "batch/v1", "Job"),
                                 generate_name=generate_name)

    async def _create_pods(self, sc: _Sync, indexes: list[int | None]
                           ) -> tuple[int, Exception | None]:
        """Create one pod per entry (an index, or None), in slow-start batches
        (1, 2, 4, ...) that stop after a batch with a failure."""
        template = copy.deepcopy((sc.job.get("spec") or {}).get("template") or {})
        if is_indexed(sc.job):
            add_completion_index_env(template)
        finalizers = template.setdefault("metadata", {}).setdefault("finalizers", [])
        if JOB_TRACKING_FINALIZER not in finalizers:
            finalizers.append(JOB_TRACKING_FINALIZER)
        self.expectations.expect(sc.key, adds=len(indexes))
        created, first_err, batch, todo = 0, None, SLOW_START_INITIAL_BATCH, list(indexes)
        while todo:
            chunk, todo = todo[:batch], todo[batch:]
            results = await asyncio.gather(
                *(self.pod_control.create(sc.job, self._pod_for(sc, template, ix))
                  for ix in chunk), return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            created += len(results) - len(errors)
            for _ in errors:
                self.expectations.creation_observed(sc.key)
            if errors:
                first_err = first_err or _as_exception(errors[0])
                for _ in todo:  # never attempted: not expected either
                    self.expectations.creation_observed(sc.key)
                break
            batch *= 2
        return created, first_err

    async def _delete_job_pods(self, key: str, job: Obj, pods: list[Obj]
                               ) -> tuple[int, int, Exception | None]:
        """deleteJobPods: drop the finalizer (the pod is not counted), then delete.
        Returns (ready pods deleted, pods deleted, first error)."""

        async def one(pod: Obj) -> None:
            try:
                await self._remove_finalizer(pod)
                gone_already = not await self.pod_control.delete(job, pod)
            except Exception:
                self.expectations.deletion_observed(key)  # no delete event will come
                raise
            if gone_already:
                self.expectations.deletion_observed(key)

        results = await asyncio.gather(*(one(p) for p in pods), return_exceptions=True)
        return _tally(pods, results)

    async def _delete_active_pods(self, job: Obj, pods: list[Obj]
                                  ) -> tuple[int, int, Exception | None]:
        """deleteActivePods: delete, keeping the finalizers (the pods are counted later)."""
        results = await asyncio.gather(*(self.pod_control.delete(job, p) for p in pods),
                                       return_exceptions=True)
        return _tally(pods, results)

    # --- status: count, remove finalizers, finish --------------------------------------------

    async def _track_status(self, sc: _Sync, needs: bool) -> None:
        """trackJobStatusAndRemoveFinalizers (see the module docstring, steps 4 and 5)."""
        indexed = is_indexed(sc.job)
        pods = sorted(sc.pods, key=lambda p: _index_key(p)) if indexed else sc.pods
        with_finalizer = {uid(p) for p in pods
                          if has_tracking_finalizer(p) and uid(p) not in sc.expected_rm}
        if clean_uncounted(sc.status, with_finalizer):
            needs = True
        to_remove, new_indexes, reached_max, changed = self._collect_finished(sc, pods)
        needs = needs or changed
        if indexed:
            needs = self._write_indexes(sc, new_indexes) or needs
        needs = self._interim_condition(sc) or needs
        needs = await self._flush_and_remove_finalizers(sc, to_remove, with_finalizer, needs)
        finished = not reached_max and self._enact_finished(sc)
        if finished or needs:
            sc.job = await self._update_status(sc.job)
            if finished and sc.finished is not None:
                self._record_finished(sc.job, sc.finished)

    def _collect_finished(self, sc: _Sync, pods: list[Obj]
                          ) -> tuple[list[Obj], list[int], bool, bool]:
        """Finished pods to free, the newly succeeded indexes, whether the uncounted
        lists are full, and whether the status changed."""
        uncounted = sc.status["uncountedTerminatedPods"]
        succ, fail = uncounted.setdefault("succeeded", []), uncounted.setdefault("failed", [])
        policy = (sc.job.get("spec") or {}).get("podFailurePolicy")
        to_remove: list[Obj] = []
        new_indexes: list[int] = []
        changed = False
        for pod in pods:
            pid = uid(pod)
            if not has_tracking_finalizer(pod) or pid in sc.expected_rm:
                continue
            failed = is_pod_failed(pod, sc.job)
            if not self._can_remove_finalizer(sc, pod, failed):
                continue
            to_remove.append(pod)
            if phase(pod) == "Succeeded" and pid not in sc.uncounted_failed:
                if is_indexed(sc.job):
                    ix = valid_index(pod, sc.completions)
                    if ix is not None and not has_index(sc.prev_succeeded_indexes, ix):
                        new_indexes.append(ix)
                        changed = True
                elif pid not in sc.uncounted_succeeded:
                    succ.append(pid)
                    changed = True
            elif failed or (sc.finished is not None
                            and sc.finished.get("type") != "SuccessCriteriaMet"):
                ix = completion_index(pod)
                valid = not is_indexed(sc.job) or (ix is not None and ix < sc.completions)
                if pid not in sc.uncounted_failed and valid and match_pod_failure_policy(
                        policy, pod)[1]:
                    fail.append(pid)
                    changed = True
            if len(new_indexes) + len(succ) + len(fail) >= MAX_UNCOUNTED_PODS:
                return to_remove, new_indexes, True, changed
        return to_remove, new_indexes, False, changed

    def _can_remove_finalizer(self, sc: _Sync, pod: Obj, failed: bool) -> bool:
        if deleting(sc.job) or sc.finished is not None or phase(pod) == "Succeeded":
            return True
        if not failed:
            return False
        if per_index_backoff(sc.job):
            ix = completion_index(pod)
            delayed = sc.delayed_per_index.get(ix) if ix is not None else None
            if delayed is not None and uid(delayed) == uid(pod):
                return False
        return True

    def _write_indexes(self, sc: _Sync, new_indexes: list[int]) -> bool:
        status = sc.status
        sc.succeeded_indexes = with_indexes(sc.succeeded_indexes, new_indexes)
        text = format_indexes(sc.succeeded_indexes)
        changed = text != (status.get("completedIndexes") or "")
        status["succeeded"] = total(sc.succeeded_indexes)
        status["completedIndexes"] = text
        failed_text = None if sc.failed_indexes is None else format_indexes(sc.failed_indexes)
        if failed_text != status.get("failedIndexes"):
            if failed_text is None:
                status.pop("failedIndexes", None)
            else:
                status["failedIndexes"] = failed_text
            changed = True
        return changed

    def _interim_condition(self, sc: _Sync) -> bool:
        """Write FailureTarget / SuccessCriteriaMet now; aim for Failed / Complete."""
        cond, changed = sc.finished, False
        if cond is None:
            return False
        conds = sc.status.setdefault("conditions", [])
        if cond.get("type") == "FailureTarget":
            conds.append(cond)
            changed = True
            sc.finished = new_condition("Failed", "True", cond.get("reason") or "",
                                        cond.get("message") or "", sc.now)
        elif cond.get("type") == "SuccessCriteriaMet":
            if not condition_true(sc.job, "SuccessCriteriaMet"):
                conds.append(cond)
                changed = True
            sc.finished = new_condition("Complete", "True", cond.get("reason") or "",
                                        cond.get("message") or "", sc.now)
        return changed

    async def _flush_and_remove_finalizers(self, sc: _Sync, to_remove: list[Obj],
                                           with_finalizer: set[str], needs: bool) -> bool:
        """Write the uncounted UIDs, free the pods, fold them into the counters.
        Returns whether the status has changes still to write."""
        if needs:
            sc.job = await self._update_status(sc.job)
            self.backoff_records[sc.key] = sc.new_backoff
            needs = False
        rm_error: Exception | None = None
        if to_remove:
            self.finalizer_expectations.expect_removed(sc.key, [uid(p) for p in to_remove])
            results = await asyncio.gather(*(self._remove_finalizer(p) for p in to_remove),
                                           return_exceptions=True)
            for pod, result in zip(to_remove, results, strict=True):
                if isinstance(result, BaseException):
                    self.finalizer_expectations.observed(sc.key, uid(pod))
                    rm_error = rm_error or _as_exception(result)
                else:
                    with_finalizer.discard(uid(pod))
        if clean_uncounted(sc.status, with_finalizer):
            needs = True
        if rm_error is not None:
            if needs:
                sc.job = await self._update_status(sc.job)
            raise rm_error
        return needs

    def _enact_finished(self, sc: _Sync) -> bool:
        """Add Complete/Failed once nothing is uncounted or terminating."""
        cond = sc.finished
        if cond is None:
            return False
        uncounted = sc.status.get("uncountedTerminatedPods") or {}
        if (uncounted.get("succeeded") or uncounted.get("failed")) or sc.terminating > 0:
            return False
        ensure_condition(sc.status, cond["type"], "True", cond.get("reason") or "",
                         cond.get("message") or "", sc.now)
        if cond["type"] == "Complete":
            done = find_condition(sc.job, "Complete") or cond
            sc.status["completionTime"] = done["lastTransitionTime"]
        return True

    def _record_finished(self, job: Obj, cond: Obj) -> None:
        if cond.get("type") == "Complete":
            completions = completions_of(job)
            if completions is not None and int(job["status"].get("succeeded") or 0) > completions:
                self.recorder.event(job, WARNING, "TooManySucceededPods",
                                    "Too many succeeded pods running after completion count "
                                    "reached")
            self.recorder.event(job, NORMAL, "Completed", "Job completed")
        else:
            self.recorder.event(job, WARNING, cond.get("reason") or "Failed",
                                cond.get("message") or "")

    async def _update_status(self, job: Obj) -> Obj:
        body = copy.deepcopy(job)
        _clean_status(body["status"])
        updated = await self.client.update(JOBS, body, subresource="status")
        updated.setdefault("status", {}).setdefault("uncountedTerminatedPods", {})
        return updated


def _managed_elsewhere(job: Obj) -> bool:
    managed_by = (job.get("spec") or {}).get("managedBy")
    return managed_by is not None and managed_by != JOB_CONTROLLER_NAME


def _index_key(pod: Obj) -> tuple[int, int]:
    ix = completion_index(pod)
    return (1, 0) if ix is None else (0, ix)


def _as_exception(err: BaseException) -> Exception:
    if isinstance(err, Exception):
        return err
    raise err


def _tally(pods: list[Obj], results: list[Any]) -> tuple[int, int, Exception | None]:
    ready = deleted = 0
    first: Exception | None = None
    for pod, result in zip(pods, results, strict=True):
        if isinstance(result, BaseException) and not is_not_found(result):
            first = first or _as_exception(result)
            continue
        deleted += 1
        if pod_ready(pod):
            ready += 1
    return ready, deleted, first


__all__ = ["FinalizerExpectations", "JobController", "active_pods_for_removal",
           "clean_uncounted", "past_active_deadline"]
