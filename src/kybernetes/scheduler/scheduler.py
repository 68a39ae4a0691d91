"""The running scheduler (`pkg/scheduler/scheduler.go`, `schedule_one.go`): pop, schedule,
assume, bind in the background; on failure record why and requeue.

    queue.pop() ─▶ snapshot ─▶ schedule_one ─┬─ ScheduleResult ─▶ assume ─▶ Reserve, Permit
                                             │                      └─▶ task: binding cycle
                                             │                           ok: Scheduled event
                                             │                           failed: forget ─┐
                                             └─ FitError (preemption may have run) ──────┤
                                                  task: delete victims, clear            ▼
                                                  lower nominations          handle_failure:
                                                                             requeue, nominate,
                                                                             FailedScheduling
                                                                             event, PodScheduled
                                                                             =False (task)

The scheduling cycle is synchronous: between the pop and the binding task's start
nothing else runs on the event loop, so the cache's snapshot needs no copy and no
informer event can interleave. Everything that talks to the API (bind, status
patches, preemption, events) runs in tasks, through a `ClusterAPI`; the pod is
requeued synchronously, before any of that. Status patches are coalesced per pod
(the latest wins) so they never overtake each other.

Deviations from upstream, on purpose: preemption's API calls run in a task (as
upstream's SchedulerAsyncPreemption), the nomination being recorded in the queue
at once; the FailedScheduling status patch does not block the loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from kybernetes.client import (
    NORMAL,
    WARNING,
    Client,
    EventRecorder,
    builtin_resource,
    is_not_found,
)
from kybernetes.scheduler.cache import ClusterObjects, SchedulerCache
from kybernetes.scheduler.config import DEFAULT_SCHEDULER_NAME, SchedulerConfiguration, load_config
from kybernetes.scheduler.errors import CacheError, SchedulingError
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.diagnosis import Diagnosis, FitError, NodeToStatus
from kybernetes.scheduler.framework.events import EVENT_ASSIGNED_POD_DELETE
from kybernetes.scheduler.framework.interface import (
    MODE_OVERRIDE,
    NominatingInfo,
    PostFilterResult,
)
from kybernetes.scheduler.framework.runtime import Framework
from kybernetes.scheduler.framework.status import Code, Status, as_status
from kybernetes.scheduler.framework.types import PodInfo, QueuedPodInfo
from kybernetes.scheduler.metrics import (
    RESULT_ERROR,
    RESULT_SCHEDULED,
    RESULT_UNSCHEDULABLE,
    SchedulerMetrics,
)
from kybernetes.scheduler.plugins.names import DEFAULT_PREEMPTION
from kybernetes.scheduler.profiles import build_frameworks
from kybernetes.scheduler.queue import SchedulingQueue
from kybernetes.scheduler.schedule_one import reserve_and_permit, run_binding_cycle, schedule_one

log = logging.getLogger("kybernetes.scheduler")

Obj = Mapping[str, Any]

CLEAR_NOMINATION = NominatingInfo("", MODE_OVERRIDE)
# Events carry at most this much text (upstream's noteLengthLimit).
NOTE_LENGTH_LIMIT = 1024
BACKOFF_FLUSH_SECONDS = 1.0
UNSCHEDULABLE_FLUSH_SECONDS = 30.0
_PODS = builtin_resource("v1", "Pod")


class ClusterAPI(Protocol):
    """Everything the scheduler writes to the cluster. `ClientAPI` is the real one; unit
    tests use an in-memory fake. Failures are raised (`StatusError` for API answers)."""

    async def bind(self, binding: Obj) -> None:
        """POST the v1 Binding to pods/<name>/binding."""

    async def patch_pod_status(self, namespace: str, name: str, patch: Obj) -> None:
        """Strategic-merge PATCH of pods/<name>/status."""

    async def delete_pod(self, namespace: str, name: str, uid: str) -> None:
        """DELETE the pod (graceful, as the kubelet will see it), if its uid still matches."""

    def event(self, profile: str, obj: Obj, event_type: str, reason: str,
              message: str) -> None:
        """Record an Event about `obj` as the profile's scheduler name; never blocks."""


class ClientAPI:
    """`ClusterAPI` over `kybernetes.client`: writes through `client`, events through
    `events_client` (upstream gives events a client of their own, so that they do not
    eat into the binding's rate limit), one `EventRecorder` per profile."""

    def __init__(self, client: Client, events_client: Client | None = None) -> None:
        self.client = client
        self.events_client = events_client or client
        self._recorders: dict[str, EventRecorder] = {}

    async def bind(self, binding: Obj) -> None:
        meta = binding.get("metadata") or {}
        await self.client.bind(meta.get("namespace") or "", meta.get("name") or "",
                               (binding.get("target") or {}).get("name") or "",
                               uid=meta.get("uid") or None)

    async def patch_pod_status(self, namespace: str, name: str, patch: Obj) -> None:
        await self.client.patch(_PODS, name, dict(patch), namespace=namespace,
                                patch_type="strategic", subresource="status")

    async def delete_pod(self, namespace: str, name: str, uid: str) -> None:
        await self.client.delete(_PODS, name, namespace=namespace,
                                 preconditions={"uid": uid} if uid else None)

    def event(self, profile: str, obj: Obj, event_type: str, reason: str,
              message: str) -> None:
        recorder = self._recorders.get(profile)
        if recorder is None:
            recorder = self._recorders[profile] = EventRecorder(self.events_client, profile)
        recorder.event(dict(obj), event_type, reason, message)

    async def close(self) -> None:
        """Write the events recorded so far, then stop the recorders."""
        for recorder in self._recorders.values():
            await recorder.close()


def truncate_message(message: str) -> str:
    """`truncateMessage`: events keep at most NOTE_LENGTH_LIMIT characters."""
    if len(message) <= NOTE_LENGTH_LIMIT:
        return message
    return message[:NOTE_LENGTH_LIMIT - 3] + "..."


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_status_patch(pod: Obj, condition: Mapping[str, str],
                     nominating: NominatingInfo | None, now: str) -> dict[str, Any] | None:
    """The status patch `updatePod` sends: the condition if it changed (keeping its
    lastTransitionTime while its status is the same, as `UpdatePodCondition`) and
    nominatedNodeName if an Override nomination differs; None if nothing changed."""
    status = pod.get("status") or {}
    out: dict[str, Any] = {}
    old = next((c for c in status.get("conditions") or ()
                if c.get("type") == condition["type"]), None)
    if old is None or any(old.get(k, "") != v for k, v in condition.items()):
        new = {**condition, "lastTransitionTime": now}
        if old is not None and old.get("status") == condition.get("status"):
            new["lastTransitionTime"] = old.get("lastTransitionTime") or now
        out["conditions"] = [new]
    if nominating is not None and nominating.mode == MODE_OVERRIDE and (
            (status.get("nominatedNodeName") or "") != nominating.nominated_node_name):
        out["nominatedNodeName"] = nominating.nominated_node_name or None
    return {"status": out} if out else None


class Scheduler:
    """The queue, the cache, the profiles' frameworks and the loop that drives them.

    Event handlers (`eventhandlers.EventHandlers`) feed `queue`, `cache` and
    `objects` and call `wake()`; `run()` schedules until cancelled; `close()` stops
    the background tasks. `pod_lookup(namespace/name)` returns the informer's current
    copy of a pod (None if gone): the failure handler requeues that version.
    """

    def __init__(self, api: ClusterAPI, *, config: SchedulerConfiguration | None = None,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None,
                 metrics: SchedulerMetrics | None = None,
                 pod_lookup: Callable[[str], Obj | None] | None = None,
                 cache_ttl: float = 0.0) -> None:
        self.config = config if config is not None else load_config(None)
        self.api = api
        self.clock = clock
        self.frameworks = build_frameworks(self.config, binder=api.bind, rng=rng)
        self.queue = SchedulingQueue.from_frameworks(
            self.frameworks, clock=clock,
            initial_backoff=float(self.config.pod_initial_backoff_seconds),
            max_backoff=float(self.config.pod_max_backoff_seconds))
        self.cache = SchedulerCache(ttl=cache_ttl, clock=clock)
        self.objects = ClusterObjects()
        self.metrics = metrics if metrics is not None else SchedulerMetrics()
        self.pod_lookup: Callable[[str], Obj | None] = pod_lookup or (lambda key: None)
        self.bound = 0  # pods this scheduler has bound
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._status_updates: dict[str, tuple[dict[str, str], NominatingInfo | None]] = {}
        self._status_writers: set[str] = set()

    def framework_for(self, pod: PodInfo | Obj) -> Framework | None:
        spec = pod.spec if isinstance(pod, PodInfo) else (pod.get("spec") or {})
        return self.frameworks.get(spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME)

    def wake(self) -> None:
        """Something may have entered activeQ: let an idle loop look again."""
        self._wake.set()

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Schedule pods until cancelled (upstream: `sched.Run`, while leading)."""
        flusher = asyncio.create_task(self._flush_loop(), name="scheduler flush")
        log.info("Starting scheduling profiles=%s", ",".join(sorted(self.frameworks)))
        try:
            while True:
                if self.schedule_next():
                    await asyncio.sleep(0)  # let informers and binding tasks in
                    continue
                self._wake.clear()
                await self._wake.wait()
        finally:
            flusher.cancel()

    async def _flush_loop(self) -> None:
        """Upstream's queue goroutines: backoffQ every second, unschedulablePods every
        30 seconds; plus the cache's assumed-pod expiry every second."""
        last_leftover = self.clock()
        while True:
            await asyncio.sleep(BACKOFF_FLUSH_SECONDS)
            self.queue.flush_backoff_completed()
            if self.clock() - last_leftover >= UNSCHEDULABLE_FLUSH_SECONDS:
                last_leftover = self.clock()
                self.queue.flush_unschedulable_leftover()
            for info in self.cache.cleanup_expired():
                log.warning("Assumed pod expired pod=%s node=%s", info.key, info.node_name)
            self._wake.set()

    async def settle(self) -> None:
        """Run scheduling cycles until activeQ is empty and every task they started
        (bindings, status writes, preemptions) has finished: the loop's work, stepwise,
        for tests and benchmarks. Nothing is flushed from backoffQ."""
        while True:
            if self.schedule_next():
                await asyncio.sleep(0)  # as run() does: let the tasks it started begin
                continue
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel binding cycles, status writes and preemptions still in flight."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Scheduler task failed task=%r", task.get_name(), exc_info=task.exception())

    # --- one scheduling cycle -------------------------------------------------------------

    def schedule_next(self) -> bool:
        """One scheduling cycle for the next pod in activeQ; False if there was none.
        Synchronous: the binding and every API write continue in tasks."""
        qpi = self.queue.pop()
        if qpi is None:
            return False
        info = qpi.pod_info
        fw = self.framework_for(info)
        if fw is None:  # only pods of our profiles are queued
            return True
        if info.terminating:
            self.api.event(fw.profile_name, info.pod, WARNING, "FailedScheduling",
                           f"skip schedule deleting pod: {info.key}")
            return True
        if self.cache.is_assumed(info):
            return True
        start = self.clock()
        state = CycleState()
        try:
            result = schedule_one(info, self.cache.snapshot(self.objects), fw, state=state)
        except SchedulingError as err:
            self._handle_failure(fw, qpi, err.status, start, nominating=CLEAR_NOMINATION)
            return True
        except Exception as err:  # a plug-in bug fails this pod, not the scheduler
            log.exception("Error selecting node for pod pod=%s", info.key)
            self._handle_failure(fw, qpi, as_status(err), start, nominating=CLEAR_NOMINATION)
            return True
        if isinstance(result, FitError):
            self._unschedulable(fw, qpi, result, start)
            return True
        host = result.suggested_host
        try:
            assumed = self.cache.assume_pod(info, host)
        except CacheError as err:
            self._handle_failure(fw, qpi, as_status(err), start, nominating=CLEAR_NOMINATION)
            return True
        status = reserve_and_permit(fw, result.state, assumed, host)
        if status is not None and status.code != Code.WAIT:
            self._forget(assumed)
            if status.is_rejected():
                status = self._single_node_fit_error(qpi, host, status)
            self._handle_failure(fw, qpi, status, start, nominating=CLEAR_NOMINATION)
            return True
        self._spawn(self._binding_cycle(fw, result.state, qpi, assumed, host, start),
                    name=f"bind {info.key}")
        return True

    def _unschedulable(self, fw: Framework, qpi: QueuedPodInfo, fit: FitError,
                       start: float) -> None:
        if fw.has_post_filter_plugins() and not fit.no_nodes:
            self.metrics.preemption_attempts.inc()
        result = fit.post_filter_result
        if result is not None and result.victims:
            self._spawn(self._preempt(fw, qpi.pod_info, result),
                        name=f"preempt for {qpi.pod_info.key}")
        status = Status(Code.UNSCHEDULABLE, (fit.message,))
        self._handle_failure(fw, qpi, status, start, nominating=fit.nominating_info,
                             diagnosis=fit.diagnosis)

    @staticmethod
    def _single_node_fit_error(qpi: QueuedPodInfo, host: str, status: Status) -> Status:
        """A Reserve or Permit rejection reads like a FitError over that one node."""
        diagnosis = Diagnosis(node_to_status=NodeToStatus({host: status}))
        diagnosis.add_plugin_status(status)
        fit = FitError(qpi.pod, 1, diagnosis)
        qpi.unschedulable_plugins = frozenset(diagnosis.unschedulable_plugins)
        return Status(status.code, (fit.message,), status.plugin)

    def _forget(self, assumed: PodInfo) -> bool:
        try:
            return self.cache.forget_pod(assumed)
        except CacheError as err:
            log.error("Scheduler cache ForgetPod failed err=%r", str(err))
            return False

    # --- the binding cycle ----------------------------------------------------------------

    async def _binding_cycle(self, fw: Framework, state: CycleState, qpi: QueuedPodInfo,
                             assumed: PodInfo, host: str, start: float) -> None:
        try:
            status = await run_binding_cycle(fw, state, assumed, host)
        except Exception as err:  # a plug-in bug must not leave the pod assumed for ever
            log.exception("Binding cycle failed pod=%s node=%s", assumed.key, host)
            fw.run_reserve_plugins_unreserve(state, assumed, host)
            status = as_status(err)
        self.cache.finish_binding(assumed)
        if status is None:
            self.bound += 1
            self.metrics.observe_attempt(RESULT_SCHEDULED, fw.profile_name, self.clock() - start)
            self.api.event(fw.profile_name, assumed.pod, NORMAL, "Scheduled",
                           f"Successfully assigned {assumed.key} to {host}")
            log.debug("Bound pod pod=%s node=%s", assumed.key, host)
            return
        # handleBindingCycleError: the assumed pod's resources are free again, which is an
        # AssignedPodDelete for the pods waiting for room (not for this pod itself when it
        # was rejected: it is unschedulable there).
        if self._forget(assumed):
            precheck = ((lambda q: q.pod_info.uid != assumed.uid)
                        if status.is_rejected() else None)
            self.queue.move_all_to_active_or_backoff(EVENT_ASSIGNED_POD_DELETE, assumed.pod,
                                                     None, precheck)
        if status.is_rejected():
            status = self._single_node_fit_error(qpi, host, status)
        self._handle_failure(fw, qpi, status, start, nominating=CLEAR_NOMINATION)

    # --- failures -------------------------------------------------------------------------

    def _handle_failure(self, fw: Framework, qpi: QueuedPodInfo, status: Status, start: float,
                        *, nominating: NominatingInfo | None,
                        diagnosis: Diagnosis | None = None) -> None:
        """`handleSchedulingFailure`: requeue the informer's current copy of the pod (unless
        it is gone or bound meanwhile), record the nomination, then in the background the
        FailedScheduling event and the PodScheduled=False condition."""
        rejected = status.is_rejected()
        self.metrics.observe_attempt(RESULT_UNSCHEDULABLE if rejected else RESULT_ERROR,
                                     fw.profile_name, self.clock() - start)
        if diagnosis is not None:
            qpi.unschedulable_plugins = frozenset(diagnosis.unschedulable_plugins)
            qpi.pending_plugins = frozenset(diagnosis.pending_plugins)
        pod = qpi.pod_info.pod
        message = status.message
        if rejected:
            log.info("Unable to schedule pod; no fit; waiting pod=%s err=%r", qpi.key, message)
        else:
            log.error("Error scheduling pod; retrying pod=%s err=%r", qpi.key, message)
        current = self.pod_lookup(qpi.key)
        if current is None:
            log.info("Pod doesn't exist in informer cache pod=%s", qpi.key)
        elif (current.get("spec") or {}).get("nodeName"):
            log.info("Pod has been assigned to node; not requeued pod=%s node=%s", qpi.key,
                     current["spec"]["nodeName"])
        else:
            qpi.pod_info = qpi.pod_info.updated(current)
            self.queue.add_unschedulable_if_not_present(qpi)
            self.queue.add_nominated_pod(qpi.pod_info, nominating)
            pod = current
        self._wake.set()
        self.api.event(fw.profile_name, pod, WARNING, "FailedScheduling",
                       truncate_message(message))
        if current is not None and not (current.get("spec") or {}).get("nodeName"):
            condition = {"type": "PodScheduled", "status": "False",
                         "reason": "Unschedulable" if rejected else "SchedulerError",
                         "message": message}
            self._update_status(qpi.key, condition, nominating)

    def _update_status(self, key: str, condition: dict[str, str],
                       nominating: NominatingInfo | None) -> None:
        self._status_updates[key] = (condition, nominating)
        if key not in self._status_writers:
            self._status_writers.add(key)
            self._spawn(self._write_status(key), name=f"status {key}")

    async def _write_status(self, key: str) -> None:
        """Write the latest wanted status of one pod until none is pending."""
        namespace, _, name = key.partition("/")
        try:
            while (wanted := self._status_updates.pop(key, None)) is not None:
                condition, nominating = wanted
                pod = self.pod_lookup(key)
                if pod is None or (pod.get("spec") or {}).get("nodeName"):
                    continue
                patch = pod_status_patch(pod, condition, nominating, now_rfc3339())
                if patch is None:
                    continue
                try:
                    await self.api.patch_pod_status(namespace, name, patch)
                except Exception as err:
                    if not is_not_found(err):
                        log.warning("Error updating pod status pod=%s err=%r",
                                    key, str(err))
        finally:
            self._status_writers.discard(key)

    # --- preemption -----------------------------------------------------------------------

    async def _preempt(self, fw: Framework, preemptor: PodInfo,
                       result: PostFilterResult) -> None:
        """`prepareCandidate`: victims get a DisruptionTarget condition and are deleted
        (a victim still waiting at Permit is rejected instead), each with a Preempted
        event; lower-priority pods nominated to that node lose their nomination."""
        node = result.nominated_node_name
        self.metrics.preemption_victims.observe(len(result.victims))
        scheduler_name = preemptor.spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME
        message = f"{scheduler_name}: preempting to accommodate a higher priority pod"
        await asyncio.gather(*(self._preempt_victim(fw, preemptor, node, victim, message)
                               for victim in result.victims))
        for pod in result.nominated_pods_to_clear:
            meta = pod.get("metadata") or {}
            try:
                await self.api.patch_pod_status(meta.get("namespace") or "", meta.get("name") or "",
                                                {"status": {"nominatedNodeName": None}})
            except Exception as err:
                if not is_not_found(err):
                    log.warning("Cannot clear nominatedNodeName pod=%s/%s err=%r",
                                meta.get("namespace"), meta.get("name"), str(err))

    async def _preempt_victim(self, fw: Framework, preemptor: PodInfo, node: str,
                              victim: Obj, message: str) -> None:
        meta = victim.get("metadata") or {}
        namespace, name, uid = meta.get("namespace") or "", meta.get("name") or "", meta.get(
            "uid") or ""
        waiting = fw.get_waiting_pod(uid) if uid else None
        if waiting is not None:
            waiting.reject(DEFAULT_PREEMPTION, "preempted")
        else:
            condition = {"type": "DisruptionTarget", "status": "True",
                         "reason": "PreemptionByScheduler", "message": message}
            patch = pod_status_patch(victim, condition, None, now_rfc3339())
            try:
                if patch is not None:
                    await self.api.patch_pod_status(namespace, name, patch)
                await self.api.delete_pod(namespace, name, uid)
            except Exception as err:
                if is_not_found(err):
                    log.info("Victim pod is already deleted victim=%s/%s", namespace, name)
                else:
                    log.error("Tried to preempt pod victim=%s/%s preemptor=%s err=%r",
                              namespace, name, preemptor.key, str(err))
                return
            log.info("Preemptor pod preempted victim pod preemptor=%s victim=%s/%s node=%s",
                     preemptor.key, namespace, name, node)
        self.api.event(fw.profile_name, victim, NORMAL, "Preempted",
                       f"Preempted by pod {preemptor.uid} on node {node}")
