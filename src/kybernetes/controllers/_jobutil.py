"""The Job controller's pure rules (upstream pkg/controller/job, v1.32): completion
indexes and their interval strings, the pod failure policy, the success policy,
pod failure back-off, conditions. No I/O; time is passed in.

Interval strings
----------------
`status.completedIndexes` and `status.failedIndexes` are sorted, merged
intervals: "1,3-5,7" is {1, 3, 4, 5, 7}; two adjacent indexes are written
"3,4", never "3-4" (upstream's orderedIntervals.String).

Back-off
--------
After `n` consecutive pod failures (failures since the last success) the
next pod is created `10 s * 2^(n-1)` after the last failure, capped
(`backoff_delay`). A failure's time is the latest container finishedAt, else
the Ready=False transition, else deletionTimestamp - grace, else the pod's
creation (upstream's getFinishedTime).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kybernetes.controllers._workloads import (
    annotations,
    deleting,
    meta,
    parse_time,
    phase,
    pod_condition,
    rfc3339,
)

Obj = dict[str, Any]
Interval = tuple[int, int]

JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
JOB_CONTROLLER_NAME = "kubernetes.io/job-controller"

DEFAULT_BACKOFF = 10.0  # seconds: DefaultJobPodFailureBackOff
# The documented cap ("capped at six minutes"); upstream's code constant
# MaxJobPodFailureBackOff is ten minutes. The manager option
# `job_pod_failure_backoff_max_seconds` overrides it.
MAX_BACKOFF = 360.0

# --- completion indexes ----------------------------------------------------------------


def completion_index(pod: Obj) -> int | None:
    """The pod's completion index annotation, None when absent or invalid."""
    value = annotations(pod).get(COMPLETION_INDEX_ANNOTATION)
    try:
        ix = int(str(value))
    except ValueError:
        return None
    return ix if ix >= 0 else None


def valid_index(pod: Obj, completions: int) -> int | None:
    ix = completion_index(pod)
    return ix if ix is not None and ix < completions else None


def parse_indexes(text: str | None, completions: int) -> list[Interval]:
    """parseIndexesFromString: intervals below `completions`; corrupt parts skipped."""
    result: list[Interval] = []
    for part in (text or "").split(","):
        if not part:
            continue
        bounds = part.split("-")
        try:
            first = int(bounds[0])
            last = int(bounds[1]) if len(bounds) > 1 else first
        except ValueError:
            continue
        if first >= completions:
            break
        last = min(last, completions - 1)
        if result and result[-1][1] == first - 1:
            result[-1] = (result[-1][0], last)
        else:
            result.append((first, last))
    return result


def merge_intervals(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """orderedIntervals.merge: the union of two sorted interval lists, merged."""
    result: list[Interval] = []
    for first, last in sorted(a + b):
        if result and first <= result[-1][1] + 1:
            if last > result[-1][1]:
                result[-1] = (result[-1][0], last)
        else:
            result.append((first, last))
    return result


def with_indexes(intervals: list[Interval], indexes: Iterable[int]) -> list[Interval]:
    return merge_intervals(intervals, [(i, i) for i in sorted(set(indexes))])


def total(intervals: list[Interval]) -> int:
    return sum(last - first + 1 for first, last in intervals)


def has_index(intervals: list[Interval] | None, ix: int) -> bool:
    return any(first <= ix <= last for first, last in intervals or ())


def format_indexes(intervals: list[Interval]) -> str:
    parts = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


def first_pending_indexes(count: int, completions: int, non_pending: list[Interval]
                          ) -> list[int]:
    """The `count` lowest indexes below `completions` not in `non_pending`."""
    result: list[int] = []
    candidate = 0
    for first, last in [*non_pending, (completions, completions)]:
        while candidate < min(first, completions) and len(result) < count:
            result.append(candidate)
            candidate += 1
        candidate = max(candidate, last + 1)
        if len(result) >= count or candidate >= completions:
            break
    return result


def pod_generate_name(job_name: str, index: int) -> str:
    """podGenerateNameWithIndex: `<job>-<index>-`, the job name cut to fit 58 chars."""
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > 58:
        prefix = job_name[: 58 - len(suffix)] + suffix
    return prefix


# --- pod failure policy ----------------------------------------------------------------


def _terminated(status: Obj) -> Obj | None:
    return (status.get("state") or {}).get("terminated")


def _match_exit_codes(pod: Obj, req: Obj) -> Obj | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or ():
            term = _terminated(cs)
            if term is None or int(term.get("exitCode") or 0) == 0:
                continue
            if req.get("containerName") and req["containerName"] != cs.get("name"):
                continue
            code = int(term.get("exitCode") or 0)
            values = req.get("values") or ()
            if (req.get("operator") == "In" and code in values) or (
                    req.get("operator") == "NotIn" and code not in values):
                return cs
    return None


def _match_conditions(pod: Obj, patterns: list[Obj]) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        for pattern in patterns:
            if cond.get("type") == pattern.get("type") and cond.get("status") == (
                    pattern.get("status") or "True"):
                return cond
    return None


def match_pod_failure_policy(policy: Obj | None, pod: Obj
                             ) -> tuple[str | None, bool, str | None]:
    """matchPodFailurePolicy: (FailJob message or None, count the failure towards the
    back-off limit?, the action of the first matching rule or None)."""
    if not policy:
        return None, True, None
    ns, name = meta(pod).get("namespace"), meta(pod).get("name")
    for index, rule in enumerate(policy.get("rules") or ()):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            cs = _match_exit_codes(pod, rule["onExitCodes"])
            if cs is None:
                continue
            detail = (f"Container {cs.get('name')} for pod {ns}/{name} failed with exit code "
                      f"{_terminated(cs).get('exitCode')}")  # type: ignore[union-attr]
        elif rule.get("onPodConditions") is not None:
            cond = _match_conditions(pod, rule["onPodConditions"])
            if cond is None:
                continue
            detail = f"Pod {ns}/{name} has condition {cond.get('type')}"
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action in ("FailIndex", "Count"):
            return None, True, action
        if action == "FailJob":
            return f"{detail} matching FailJob rule at index {index}", True, action
    return None, True, None


def only_replace_failed_pods(job: Obj) -> bool:
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or bool(spec.get("podFailurePolicy"))


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """A failed pod, or (unless only failed pods are replaced) one being deleted that
    did not succeed: an orphan may never reach the Failed phase."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed_pods(job):
        return False
    return deleting(pod) and phase(pod) != "Succeeded"


def _int_annotation(pod: Obj, key: str) -> int:
    try:
        value = int(annotations(pod).get(key, "0"))
    except ValueError:
        return 0
    return value if 0 <= value <= 2**31 - 1 else 0


def index_failure_count(pod: Obj) -> int:
    return _int_annotation(pod, INDEX_FAILURE_COUNT_ANNOTATION)


def index_absolute_failure_count(pod: Obj) -> int:
    return index_failure_count(pod) + _int_annotation(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)


def new_index_failure_counts(job: Obj, replaced: Obj | None) -> tuple[int, int]:
    """The failure-count annotations of a pod replacing `replaced` in its index."""
    if replaced is None:
        return 0, 0
    failed = index_failure_count(replaced)
    ignored = _int_annotation(replaced, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)
    _, counts, _ = match_pod_failure_policy((job.get("spec") or {}).get("podFailurePolicy"),
                                            replaced)
    return (failed + 1, ignored) if counts else (failed, ignored + 1)


def is_index_failed(job: Obj, pod: Obj) -> bool:
    """With backoffLimitPerIndex: the pod's failure fails its whole index."""
    if not is_pod_failed(pod, job):
        return False
    spec = job.get("spec") or {}
    counted = True
    if spec.get("podFailurePolicy"):
        _, counted, action = match_pod_failure_policy(spec["podFailurePolicy"], pod)
        if action == "FailIndex":
            return True
    return counted and index_failure_count(pod) >= int(spec.get("backoffLimitPerIndex") or 0)


# --- success policy --------------------------------------------------------------------


def _overlap(rule: list[Interval], succeeded: list[Interval]) -> int:
    return sum(max(0, min(a_last, b_last) - max(a_first, b_first) + 1)
               for a_first, a_last in rule for b_first, b_last in succeeded)


def match_success_policy(policy: Obj | None, completions: int, succeeded: list[Interval]
                         ) -> str | None:
    """matchSuccessPolicy: the SuccessCriteriaMet message when a rule is met."""
    if not policy or not succeeded:
        return None
    for index, rule in enumerate(policy.get("rules") or ()):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = parse_indexes(rule["succeededIndexes"], completions)
            if not required:
                continue
            seen = _overlap(required, succeeded)
            met = seen == total(required) if count is None else seen >= int(count)
        else:
            met = count is not None and total(succeeded) >= int(count)
        if met:
            return f"Matched rules at index {index}"
    return None


# --- back-off --------------------------------------------------------------------------


@dataclass(frozen=True)
class BackoffRecord:
    """Consecutive pod failures of a Job since its last success."""

    failures: int = 0
    last_failure: datetime | None = None


def _containers_finished(pod: Obj) -> datetime | None:
    latest: datetime | None = None
    for cs in (pod.get("status") or {}).get("containerStatuses") or ():
        term = _terminated(cs)
        finished = parse_time((term or {}).get("finishedAt"))
        if finished is None:
            return None
        latest = finished if latest is None or finished > latest else latest
    return latest


def finished_time(pod: Obj) -> datetime:
    """getFinishedTime (see the module docstring)."""
    if (t := _containers_finished(pod)) is not None:
        return t
    ready = pod_condition(pod, "Ready")
    if ready and ready.get("status") == "False" and (
            t := parse_time(ready.get("lastTransitionTime"))) is not None:
        return t
    if (t := parse_time(meta(pod).get("deletionTimestamp"))) is not None:
        grace = int(meta(pod).get("deletionGracePeriodSeconds") or 0)
        return t - timedelta(seconds=grace)
    created = parse_time(meta(pod).get("creationTimestamp"))
    return created or datetime.fromtimestamp(0, UTC)


def next_backoff_record(old: BackoffRecord, succeeded: list[Obj], failed: list[Obj]
                        ) -> BackoffRecord:
    """newBackoffRecord: fold newly finished pods into the record."""
    if not succeeded and not failed:
        return old
    fails = sorted(finished_time(p) for p in failed)
    if not succeeded:
        return BackoffRecord(old.failures + len(fails), fails[-1])
    last_success = max(finished_time(p) for p in succeeded)
    after = [t for t in fails if t > last_success]
    return BackoffRecord(len(after), after[-1] if after else None)


def backoff_delay(failures: int, *, base: float = DEFAULT_BACKOFF, cap: float = MAX_BACKOFF
                  ) -> float:
    """The wait after `failures` consecutive failures: base doubling, at most cap."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** min(failures - 1, 32))


def remaining_backoff(failures: int, last_failure: datetime | None, now: datetime, *,
                      base: float = DEFAULT_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """getRemainingTimeForFailuresCount: seconds still to wait before the next pod."""
    if failures <= 0 or last_failure is None:
        return 0.0
    elapsed = (now - last_failure).total_seconds()
    return max(0.0, backoff_delay(failures, base=base, cap=cap) - elapsed)


# --- conditions ------------------------------------------------------------------------


def find_condition(job: Obj, kind: str) -> Obj | None:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return cond
    return None


def condition_true(job: Obj, kind: str) -> bool:
    cond = find_condition(job, kind)
    return cond is not None and cond.get("status") == "True"


def is_finished(job: Obj) -> bool:
    """util.IsJobFinished: Complete or Failed is True."""
    return condition_true(job, "Complete") or condition_true(job, "Failed")


def new_condition(kind: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = rfc3339(now)
    return {"type": kind, "status": status, "lastProbeTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def ensure_condition(status: Obj, kind: str, value: str, reason: str, message: str,
                     now: datetime) -> bool:
    """ensureJobConditionStatus: set (or add, unless False) the condition; True if changed."""
    conds = status.get("conditions") or []
    for i, cond in enumerate(conds):
        if cond.get("type") == kind:
            if (cond.get("status"), cond.get("reason") or "", cond.get("message") or "") != (
                    value, reason, message):
                conds[i] = new_condition(kind, value, reason, message, now)
                return True
            return False
    if value != "False":
        status["conditions"] = [*conds, new_condition(kind, value, reason, message, now)]
        return True
    return False
