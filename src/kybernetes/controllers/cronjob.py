"""The CronJob controller: create a Job at each scheduled time (upstream
pkg/controller/cronjob, the v2 controller, v1.32).

A sync of one CronJob (`reconcile`):

1. Reconcile `status.active` with the Jobs it controls: finished Jobs leave
   it (SawCompletedJob), vanished ones too (MissingJob), succeeded ones move
   `status.lastSuccessfulTime` forward.
2. Delete the oldest finished Jobs beyond successful/failedJobsHistoryLimit.
3. Unless deleted, suspended or unparseable: find the most recent scheduled
   time not yet run (`most_recent_schedule_time`). Too late for
   `startingDeadlineSeconds` -> MissSchedule. Already started -> wait. Forbid
   with an active Job -> JobAlreadyActive. Replace -> delete the active Jobs.
   Then create `<cronjob>-<scheduled time in minutes since the epoch>` (the
   name is the lock against creating it twice), annotated with
   `batch.kubernetes.io/cronjob-scheduled-timestamp`, add it to
   `status.active` and set `status.lastScheduleTime`.
4. Write the status if it changed; come back 100 ms after the next scheduled
   time.

Schedules are standard five-field cron lines or descriptors (`@hourly`,
`@every 90s`, ...), read with croniter, in `spec.timeZone` (an IANA name) or
else the controller manager's zone: the manager option `cronjob_time_zone`,
else the process's local zone (as upstream, which uses Go's time.Local).
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from kybernetes.client import NORMAL, WARNING, is_already_exists, is_not_found, object_of
from kybernetes.controllers._jobutil import condition_true
from kybernetes.controllers._workloads import (
    CRONJOBS,
    JOBS,
    deleting,
    is_controlled_by,
    meta,
    new_controller_ref,
    owner_key,
    parse_time,
    rfc3339,
    uid,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

Obj = dict[str, Any]

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1  # seconds after the scheduled time to sync (nextScheduleDelta)
MANY_MISSED = 100


class ScheduleError(ValueError):
    """The schedule cannot be parsed, or never fires."""


# --- schedules -------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration for the positive durations `@every` takes: seconds."""
    pos, seconds = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ScheduleError(f"time: invalid duration {text!r}")
    return seconds


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule in a time zone; `next(t)` is the first activation after `t`."""

    expr: str
    zone: tzinfo
    every: float = 0.0  # seconds, for `@every <duration>`

    def next(self, t: datetime) -> datetime:
        if self.every:
            # robfig's ConstantDelaySchedule: whole seconds after t.
            return t.replace(microsecond=0) + timedelta(seconds=self.every)
        try:
            nxt = croniter(self.expr, t.astimezone(self.zone)).get_next(datetime)
        except Exception as err:  # CroniterBadDateError: e.g. "0 0 31 2 *"
            raise ScheduleError(f"the schedule never fires: {err}") from err
        return nxt.astimezone(UTC)


def _zone(name: str) -> tzinfo:
    if name in ("", "UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ScheduleError(f"unknown time zone {name}") from err


def local_zone() -> tzinfo:
    """The process's zone: $TZ, else /etc/localtime, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return _zone(name)
        except ScheduleError:
            pass
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f)
    except (OSError, ValueError):
        return UTC


def parse_schedule(cron_job: Obj, default_zone: tzinfo = UTC) -> Schedule:
    """cron.ParseStandard(formatSchedule(cj)): a `TZ=`/`CRON_TZ=` prefix of the
    schedule wins over `spec.timeZone`, which wins over the default zone."""
    spec = cron_job.get("spec") or {}
    expr = str(spec.get("schedule") or "").strip()
    zone = _zone(spec["timeZone"]) if spec.get("timeZone") else default_zone
    m = re.match(r"^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$", expr)
    if m:
        zone, expr = _zone(m.group(1)), m.group(2).strip()
    if expr.startswith("@every "):
        every = parse_go_duration(expr[len("@every "):].strip())
        return Schedule(expr, zone, every=max(1.0, float(int(every))))
    if not expr.startswith("@") and len(expr.split()) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(expr.split())}: {expr}")
    if not croniter.is_valid(expr):
        raise ScheduleError(f"unparseable schedule {expr!r}")
    return Schedule(expr, zone)


# --- scheduling decisions (pure) -------------------------------------------------------


@dataclass(frozen=True)
class ScheduleState:
    earliest: datetime  # last schedule time, creation time, or the starting deadline
    most_recent: datetime | None  # the latest activation <= now after earliest, if any
    missed: int  # approximate number of activations in (earliest, now]


def most_recent_schedule_time(cron_job: Obj, now: datetime, sched: Schedule, *,
                              include_deadline: bool) -> ScheduleState:
    """mostRecentScheduleTime. Raises ScheduleError when two activations are less than
    a second apart (a schedule that cannot really fire)."""
    status, spec = cron_job.get("status") or {}, cron_job.get("spec") or {}
    earliest = (parse_time(status.get("lastScheduleTime"))
                or parse_time(meta(cron_job).get("creationTimestamp")) or now)
    deadline = spec.get("startingDeadlineSeconds")
    if include_deadline and deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    t1 = sched.next(earliest)
    if now < t1:
        return ScheduleState(earliest, None, 0)
    t2 = sched.next(t1)
    if now < t2:
        return ScheduleState(earliest, t1, 0)
    between = round((t2 - t1).total_seconds())
    if between < 1:
        raise ScheduleError("time difference between two schedules is less than 1 second")
    missed = int((now - t1).total_seconds()) // between + 1
    # Jump close to now by whole periods, then let the schedule walk the last steps
    # (irregular schedules such as "30 6-16/4 * * 1-5" need the walk).
    t = sched.next(t1 + timedelta(seconds=(missed - 2) * between))
    recent: datetime | None = None
    while t <= now:
        recent = t
        t = sched.next(t)
    return ScheduleState(earliest, recent, missed)


def next_schedule_delay(cron_job: Obj, now: datetime, sched: Schedule) -> float:
    """nextScheduleTimeDuration: seconds from now until 100 ms after the next activation."""
    try:
        state = most_recent_schedule_time(cron_job, now, sched, include_deadline=False)
        base = state.most_recent or (state.earliest if state.missed == 0 else now)
    except ScheduleError:
        base = now
    try:
        nxt = sched.next(base)
    except ScheduleError:
        nxt = now + timedelta(days=365)
    return (nxt - now).total_seconds() + NEXT_SCHEDULE_DELTA


def job_name(cron_job: Obj, scheduled: datetime) -> str:
    """`<cronjob>-<scheduled time in minutes since the epoch>`."""
    return f"{meta(cron_job)['name']}-{int(scheduled.timestamp()) // 60}"


def _rfc3339_in(t: datetime, zone: tzinfo) -> str:
    text = t.astimezone(zone).replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def job_from_template(cron_job: Obj, scheduled: datetime, zone: tzinfo) -> Obj:
    """getJobFromTemplate2: the Job for one scheduled time."""
    template = (cron_job.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = _rfc3339_in(scheduled, zone)
    job_meta: Obj = {"name": job_name(cron_job, scheduled),
                     "namespace": meta(cron_job).get("namespace"),
                     "annotations": annotations,
                     "ownerReferences": [new_controller_ref(cron_job, "batch/v1", "CronJob")]}
    if tmeta.get("labels"):
        job_meta["labels"] = dict(tmeta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def job_finished_type(job: Obj) -> str | None:
    for kind in ("Complete", "Failed"):
        if condition_true(job, kind):
            return kind
    return None


def job_ref(job: Obj) -> Obj:
    """The ObjectReference kept in status.active."""
    m = meta(job)
    return {"kind": "Job", "namespace": m.get("namespace"), "name": m.get("name"),
            "uid": m.get("uid"), "apiVersion": "batch/v1",
            "resourceVersion": m.get("resourceVersion")}


def _active_uids(cron_job: Obj) -> set[str]:
    return {str(r.get("uid")) for r in (cron_job.get("status") or {}).get("active") or ()}


def _drop_active(cron_job: Obj, job_uid: str) -> None:
    status = cron_job.setdefault("status", {})
    status["active"] = [r for r in status.get("active") or () if r.get("uid") != job_uid]


def _start_key(job: Obj) -> tuple[int, float, str]:
    start = parse_time((job.get("status") or {}).get("startTime"))
    return (0 if start else 1, start.timestamp() if start else 0.0, meta(job).get("name", ""))


# --- the controller --------------------------------------------------------------------


@register("cronjob")
class CronJobController(ReconcileController):
    name = "cronjob"
    workers = 5  # upstream's --concurrent-cron-job-syncs default

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.jobs = ctx.informers.informer(JOBS)
        self.cron_jobs = ctx.informers.informer(CRONJOBS)
        zone = ctx.options.get("cronjob_time_zone")
        self.zone = _zone(str(zone)) if zone else local_zone()
        self.cron_jobs.add_event_handler(on_add=self.enqueue, on_update=self._cron_job_updated,
                                         on_delete=lambda o: self.enqueue(object_of(o)))
        self.jobs.add_event_handler(on_add=self._job_changed,
                                    on_update=self._job_updated,
                                    on_delete=lambda o: self._job_changed(object_of(o)))

    def _now(self) -> datetime:
        return self.ctx.clock.wall()

    # --- handlers ----------------------------------------------------------------------------

    def _job_changed(self, job: Obj) -> None:
        key = owner_key(job, "CronJob")
        if key is not None:
            self.queue.add(key)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return
        self._job_changed(new)
        if owner_key(old, "CronJob") != owner_key(new, "CronJob"):
            self._job_changed(old)

    def _cron_job_updated(self, old: Obj, new: Obj) -> None:
        o, n = old.get("spec") or {}, new.get("spec") or {}
        if (o.get("schedule"), o.get("timeZone")) == (n.get("schedule"), n.get("timeZone")):
            self.enqueue(new)
            return
        try:
            sched = parse_schedule(new, self.zone)
        except ScheduleError as err:
            self.recorder.event(new, WARNING, "UnParseableCronJobSchedule",
                                f"unparseable schedule for cronjob: {n.get('schedule')}: {err}")
            return
        self.enqueue_after(new, next_schedule_delay(new, self._now(), sched))

    # --- reconcile ---------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        shared = self.cron_jobs.store.get(key)
        if shared is None:
            return
        ns = meta(shared).get("namespace") or ""
        jobs = [j for j in self.jobs.store.list_namespace(ns) if is_controlled_by(j, shared)]
        cron_job = copy.deepcopy(shared)
        cron_job.setdefault("status", {})
        changed = await self._cleanup_finished_jobs(cron_job, jobs)
        requeue, synced, error = await self._sync_cron_job(cron_job, jobs)
        if changed or synced:
            await self.client.update(CRONJOBS, cron_job, subresource="status")
        if requeue is not None:
            self.queue.add_after(key, requeue)
            return
        if error is not None:
            raise error

    async def _sync_active(self, cron_job: Obj, jobs: list[Obj]) -> bool:
        """Step 1: status.active and lastSuccessfulTime against the Jobs seen."""
        changed = False
        children = {uid(j) for j in jobs}
        for job in jobs:
            active, finished = uid(job) in _active_uids(cron_job), job_finished_type(job)
            if not active and finished is None:
                fresh = await self.client.get(CRONJOBS, meta(cron_job)["name"],
                                              namespace=meta(cron_job).get("namespace"))
                if uid(job) in _active_uids(fresh):
                    cron_job.clear()
                    cron_job.update(fresh)
                    continue
                self.recorder.event(cron_job, WARNING, "UnexpectedJob",
                                    "Saw a job that the controller did not create or forgot: "
                                    f"{meta(job).get('name')}")
            elif active and finished is not None:
                _drop_active(cron_job, uid(job))
                self.recorder.event(cron_job, NORMAL, "SawCompletedJob",
                                    f"Saw completed job: {meta(job).get('name')}, status: "
                                    f"{finished}")
                changed = True
            elif finished == "Complete":
                changed = self._note_success(cron_job, job) or changed
        for ref in list((cron_job.get("status") or {}).get("active") or ()):
            if ref.get("uid") not in children:
                changed = await self._drop_if_missing(cron_job, ref) or changed
        return changed

    def _note_success(self, cron_job: Obj, job: Obj) -> bool:
        done = parse_time((job.get("status") or {}).get("completionTime"))
        last = parse_time(cron_job["status"].get("lastSuccessfulTime"))
        if done is not None and (last is None or done > last):
            cron_job["status"]["lastSuccessfulTime"] = rfc3339(done)
            return True
        return False

    async def _drop_if_missing(self, cron_job: Obj, ref: Obj) -> bool:
        # Ask the server: a slow watch must not make a running Job look missing.
        try:
            await self.client.get(JOBS, str(ref.get("name")), namespace=ref.get("namespace"))
        except Exception as err:
            if not is_not_found(err):
                raise
            self.recorder.event(cron_job, NORMAL, "MissingJob",
                                f"Active job went missing: {ref.get('name')}")
            _drop_active(cron_job, str(ref.get("uid")))
            return True
        return False

    async def _sync_cron_job(self, cron_job: Obj, jobs: list[Obj]
                             ) -> tuple[float | None, bool, Exception | None]:
        """syncCronJob: (requeue after seconds, status changed, error)."""
        try:
            changed = await self._sync_active(cron_job, jobs)
        except Exception as err:
            return None, False, err
        if deleting(cron_job) or not self._runnable(cron_job):
            return None, changed, None
        try:
            sched = parse_schedule(cron_job, self.zone)
        except ScheduleError as err:
            self.recorder.event(cron_job, WARNING, "UnparseableSchedule",
                                f"unparseable schedule: {cron_job['spec'].get('schedule')!r} "
                                f": {err}")
            return None, changed, None
        now = self._now()
        try:
            scheduled = self._due_time(cron_job, now, sched)
        except ScheduleError as err:
            self.recorder.event(cron_job, WARNING, "InvalidSchedule",
                                f"invalid schedule: {cron_job['spec'].get('schedule')} : {err}")
            return None, changed, None
        delay = next_schedule_delay(cron_job, now, sched)
        if scheduled is None or not await self._may_start(cron_job, scheduled, now):
            return delay, changed, None
        try:
            started = await self._start(cron_job, scheduled)
        except Exception as err:
            return None, True, err
        if started:
            delay = next_schedule_delay(cron_job, now, sched)
        return delay, True, None

    def _runnable(self, cron_job: Obj) -> bool:
        spec = cron_job.get("spec") or {}
        if spec.get("timeZone"):
            try:
                _zone(spec["timeZone"])
            except ScheduleError as err:
                self.recorder.event(cron_job, WARNING, "UnknownTimeZone",
                                    f"invalid timeZone: {spec['timeZone']!r}: {err}")
                return False
        if "TZ" in str(spec.get("schedule") or ""):
            self.recorder.event(cron_job, WARNING, "UnsupportedSchedule",
                                f"CRON_TZ or TZ used in schedule {spec.get('schedule')!r} is not "
                                "officially supported, see https://kubernetes.io/docs/concepts/"
                                "workloads/controllers/cron-jobs/ for more details")
        return not spec.get("suspend")

    def _due_time(self, cron_job: Obj, now: datetime, sched: Schedule) -> datetime | None:
        """nextScheduleTime: the activation to run now, if any."""
        state = most_recent_schedule_time(cron_job, now, sched, include_deadline=True)
        if state.most_recent is None or state.most_recent > now:
            return None
        if state.missed > MANY_MISSED:
            self.recorder.event(cron_job, WARNING, "TooManyMissedTimes",
                                "too many missed start times. Set or decrease "
                                ".spec.startingDeadlineSeconds or check clock skew")
        return state.most_recent

    async def _may_start(self, cron_job: Obj, scheduled: datetime, now: datetime) -> bool:
        spec, status = cron_job.get("spec") or {}, cron_job.get("status") or {}
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
            self.recorder.event(cron_job, WARNING, "MissSchedule",
                                "Missed scheduled time to start a job: "
                                f"{scheduled.strftime('%a, %d %b %Y %H:%M:%S +0000')}")
            return False
        name = job_name(cron_job, scheduled)
        if any(r.get("name") == name for r in status.get("active") or ()) or parse_time(
                status.get("lastScheduleTime")) == scheduled:
            return False  # this activation has been handled
        if spec.get("concurrencyPolicy") == "Forbid" and status.get("active"):
            self.recorder.event(cron_job, NORMAL, "JobAlreadyActive",
                                "Not starting job because prior execution is running and "
                                "concurrency policy is Forbid")
            return False
        return True

    async def _start(self, cron_job: Obj, scheduled: datetime) -> bool:
        """Replace what runs (if so configured), create the Job, record it. False if
        the Job already existed and is not ours to record."""
        if cron_job["spec"].get("concurrencyPolicy") == "Replace":
            for ref in list(cron_job["status"].get("active") or ()):
                job = await self.client.get(JOBS, str(ref.get("name")),
                                            namespace=ref.get("namespace"))
                await self._delete_job(cron_job, job)
        body = job_from_template(cron_job, scheduled, self._job_zone(cron_job))
        ns = meta(cron_job).get("namespace")
        try:
            job = await self.client.create(JOBS, body, namespace=ns)
            self.recorder.event(cron_job, NORMAL, "SuccessfulCreate",
                                f"Created job {meta(job).get('name')}")
        except Exception as err:
            if not is_already_exists(err):
                self.recorder.event(cron_job, WARNING, "FailedCreate",
                                    f"Error creating job: {getattr(err, 'message', err)}")
                raise
            # Created before, but the status update was lost: record it now.
            job = await self.client.get(JOBS, body["metadata"]["name"], namespace=ns)
            if not is_controlled_by(job, cron_job) or uid(job) in _active_uids(cron_job):
                return False
        cron_job["status"].setdefault("active", []).append(job_ref(job))
        cron_job["status"]["lastScheduleTime"] = rfc3339(scheduled)
        return True

    def _job_zone(self, cron_job: Obj) -> tzinfo:
        name = (cron_job.get("spec") or {}).get("timeZone")
        return _zone(name) if name else self.zone

    async def _delete_job(self, cron_job: Obj, job: Obj) -> bool:
        try:
            await self.client.delete(JOBS, meta(job)["name"], namespace=meta(job).get("namespace"),
                                     propagation_policy="Background")
        except Exception as err:
            self.recorder.event(cron_job, WARNING, "FailedDelete",
                                f"Deleted job: {getattr(err, 'message', err)}")
            return False
        _drop_active(cron_job, uid(job))
        self.recorder.event(cron_job, NORMAL, "SuccessfulDelete",
                            f"Deleted job {meta(job).get('name')}")
        return True

    async def _cleanup_finished_jobs(self, cron_job: Obj, jobs: list[Obj]) -> bool:
        """Delete the oldest finished Jobs beyond the history limits."""
        spec = cron_job.get("spec") or {}
        changed = False
        for kind, limit_key in (("Complete", "successfulJobsHistoryLimit"),
                                ("Failed", "failedJobsHistoryLimit")):
            limit = spec.get(limit_key)
            if limit is None:
                continue
            done = sorted((j for j in jobs if job_finished_type(j) == kind), key=_start_key)
            for job in done[: max(0, len(done) - int(limit))]:
                changed = await self._delete_job(cron_job, job) or changed
        return changed


__all__ = ["CronJobController", "Schedule", "ScheduleError", "job_from_template", "job_name",
           "most_recent_schedule_time", "next_schedule_delay", "parse_schedule"]
