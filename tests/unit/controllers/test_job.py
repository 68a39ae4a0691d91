"""The Job controller: its pure rules as tables, and whole syncs on virtual time
against an in-memory API (back-off after failures, the deadline, counting
through uncountedTerminatedPods and the tracking finalizer, terminal conditions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kybernetes.client import FakeClock
from kybernetes.controllers._jobutil import (
    BackoffRecord,
    backoff_delay,
    first_pending_indexes,
    format_indexes,
    match_pod_failure_policy,
    match_success_policy,
    next_backoff_record,
    parse_indexes,
    pod_generate_name,
    remaining_backoff,
    with_indexes,
)
from kybernetes.controllers.job import JobController, active_pods_for_removal, clean_uncounted

from .workloads_fake import drain, make_context, run

Obj = dict[str, Any]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pod(name: str = "p", *, phase: str = "Running", node: str = "n1", ready: bool = False,
             created: float = 0, finished: float | None = None, exit_code: int | None = None,
             conditions: list[Obj] | None = None, index: int | None = None) -> Obj:
    status: Obj = {"phase": phase, "conditions": list(conditions or [])}
    if ready:
        status["conditions"].append({"type": "Ready", "status": "True",
                                     "lastTransitionTime": at(created)})
    if finished is not None or exit_code is not None:
        status["containerStatuses"] = [{"name": "main", "state": {"terminated": {
            "exitCode": exit_code or 0, "finishedAt": at(finished or 0)}}}]
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                 "creationTimestamp": at(created)}
    if index is not None:
        meta["annotations"] = {"batch.kubernetes.io/job-completion-index": str(index)}
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": status}


# --- back-off -------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "delay"), [
    (0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 320), (7, 360), (40, 360),
], ids=lambda v: str(v))
def test_backoff_doubles_from_10s_up_to_6_minutes(failures: int, delay: float) -> None:
    assert backoff_delay(failures) == delay


@pytest.mark.parametrize(("failures", "last", "now", "left"), [
    (0, None, 100, 0),
    (1, 0, 4, 6),
    (1, 0, 10, 0),
    (3, 0, 25, 15),
    (3, 0, 60, 0),
], ids=["no-failure", "first-failure", "first-over", "third-failure", "third-over"])
def test_remaining_backoff_counts_from_the_last_failure(failures: int, last: float | None,
                                                        now: float, left: float) -> None:
    last_t = None if last is None else T0 + timedelta(seconds=last)
    assert remaining_backoff(failures, last_t, T0 + timedelta(seconds=now)) == left


@pytest.mark.parametrize(("old", "succeeded", "failed", "want"), [
    (BackoffRecord(), [], [], BackoffRecord()),
    (BackoffRecord(), [], [5, 3], BackoffRecord(2, 5)),
    (BackoffRecord(2, 5), [], [9], BackoffRecord(3, 9)),
    (BackoffRecord(2, 5), [7], [], BackoffRecord(0, None)),
    (BackoffRecord(2, 5), [7], [6, 8, 9], BackoffRecord(2, 9)),
], ids=["nothing-new", "two-failures", "one-more", "a-success-resets",
        "failures-after-the-last-success"])
def test_backoff_record_counts_failures_since_the_last_success(
        old: BackoffRecord, succeeded: list[float], failed: list[float],
        want: BackoffRecord) -> None:
    if old.last_failure is not None:
        old = BackoffRecord(old.failures, T0 + timedelta(seconds=old.last_failure))  # type: ignore
    want_t = None if want.last_failure is None else T0 + timedelta(
        seconds=want.last_failure)  # type: ignore[arg-type]
    got = next_backoff_record(
        old, [make_pod(f"s{i}", phase="Succeeded", finished=t) for i, t in enumerate(succeeded)],
        [make_pod(f"f{i}", phase="Failed", finished=t) for i, t in enumerate(failed)])
    assert (got.failures, got.last_failure) == (want.failures, want_t)


# --- indexes ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "completions", "intervals", "back"), [
    ("", 5, [], ""),
    ("0-3", 5, [(0, 3)], "0-3"),
    ("1,3-5,7", 10, [(1, 1), (3, 5), (7, 7)], "1,3-5,7"),
    ("1,2", 5, [(1, 2)], "1,2"),
    ("0-2,3", 5, [(0, 3)], "0-3"),
    ("2-9", 5, [(2, 4)], "2-4"),
    ("x,1", 5, [(1, 1)], "1"),
], ids=["empty", "range", "mixed", "pair", "adjacent", "clipped", "corrupt"])
def test_completed_indexes_round_trip(text: str, completions: int, intervals: list[Any],
                                      back: str) -> None:
    assert parse_indexes(text, completions) == intervals
    assert format_indexes(intervals) == back


def test_with_indexes_merges() -> None:
    assert with_indexes([(0, 1), (5, 6)], [3, 2, 4]) == [(0, 6)]
    assert format_indexes(with_indexes([], [4, 0, 1])) == "0,1,4"


@pytest.mark.parametrize(("count", "completions", "taken", "want"), [
    (2, 5, [], [0, 1]),
    (3, 5, [(0, 1)], [2, 3, 4]),
    (5, 5, [(1, 1), (3, 3)], [0, 2, 4]),
    (2, 3, [(0, 2)], []),
], ids=["fresh", "after-done", "gaps", "none-left"])
def test_first_pending_indexes(count: int, completions: int, taken: list[Any],
                               want: list[int]) -> None:
    assert first_pending_indexes(count, completions, taken) == want


def test_pod_generate_name_fits() -> None:
    assert pod_generate_name("job", 3) == "job-3-"
    long = pod_generate_name("j" * 70, 12)
    assert len(long) == 58 and long.endswith("-12-")


# --- pod failure policy ----------------------------------------------------------------

POLICY = {"rules": [
    {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
                                          "values": [42]}},
    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [7]}},
    {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1]}},
]}


@pytest.mark.parametrize(("pod", "message", "counts", "action"), [
    (make_pod(phase="Failed", exit_code=42), "Container main for pod ns/p failed with exit "
     "code 42 matching FailJob rule at index 0", True, "FailJob"),
    (make_pod(phase="Failed", exit_code=1, conditions=[
        {"type": "DisruptionTarget", "status": "True"}]), None, False, "Ignore"),
    (make_pod(phase="Failed", exit_code=7), None, True, "FailIndex"),
    (make_pod(phase="Failed", exit_code=3), None, True, "Count"),
    (make_pod(phase="Failed", exit_code=1), None, True, None),
], ids=["fail-job", "ignore-disruption", "fail-index", "count", "no-rule"])
def test_pod_failure_policy_rules(pod: Obj, message: str | None, counts: bool,
                                  action: str | None) -> None:
    assert match_pod_failure_policy(POLICY, pod) == (message, counts, action)


@pytest.mark.parametrize(("rules", "succeeded", "met"), [
    ([{"succeededIndexes": "0,2"}], [(0, 0), (2, 2)], True),
    ([{"succeededIndexes": "0-2"}], [(0, 1)], False),
    ([{"succeededIndexes": "0-4", "succeededCount": 2}], [(1, 1), (4, 4)], True),
    ([{"succeededCount": 3}], [(0, 1)], False),
    ([{"succeededCount": 1}, {"succeededIndexes": "9"}], [(3, 3)], True),
], ids=["exact-indexes", "missing-one", "count-within", "count-short", "first-rule"])
def test_success_policy(rules: list[Obj], succeeded: list[Any], met: bool) -> None:
    assert (match_success_policy({"rules": rules}, 10, succeeded) is not None) is met


# --- pure controller decisions ---------------------------------------------------------


def test_pods_to_remove_are_the_cheapest_first() -> None:
    job = {"spec": {"completionMode": "NonIndexed"}}
    pods = [make_pod("ready", ready=True, created=1), make_pod("running", created=2),
            make_pod("pending", phase="Pending", created=3),
            make_pod("unscheduled", phase="Pending", node="", created=4)]
    got = [p["metadata"]["name"] for p in active_pods_for_removal(job, pods, 3)]
    assert got == ["unscheduled", "pending", "running"]


def test_indexed_duplicates_and_bad_indexes_go_first() -> None:
    job = {"spec": {"completionMode": "Indexed", "completions": 3}}
    pods = [make_pod("a", index=0, ready=True), make_pod("b", index=0),
            make_pod("c", index=5), make_pod("d", index=1)]
    assert sorted(p["metadata"]["name"] for p in active_pods_for_removal(job, pods, 0)) == [
        "b", "c"]


def test_clean_uncounted_moves_freed_pods_into_the_counters() -> None:
    status = {"succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["a", "b"],
                                                          "failed": ["c"]}}
    assert clean_uncounted(status, {"b"})
    assert status == {"succeeded": 2, "failed": 1,
                      "uncountedTerminatedPods": {"succeeded": ["b"], "failed": []}}
    assert not clean_uncounted(status, {"b"})


# --- whole syncs on virtual time -------------------------------------------------------


def job_obj(**spec: Any) -> Obj:
    base = {"parallelism": 1, "completions": 1, "backoffLimit": 6,
            "completionMode": "NonIndexed", "suspend": False,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-job"}},
            "template": {"metadata": {"labels": {
                "batch.kubernetes.io/controller-uid": "uid-job",
                "batch.kubernetes.io/job-name": "job"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main"}]}}}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "job", "namespace": "ns"}, "spec": base}


class Harness:
    def __init__(self, **options: Any) -> None:
        self.clock = FakeClock(wall_start=T0)
        self.ctx, self.api = make_context(self.clock, options={
            "job_sync_batch_period_seconds": 1.0, **options})
        self.controller = JobController(self.ctx)

    async def start(self, **spec: Any) -> None:
        created = await self.api.create(("batch/v1", "Job"), job_obj(**spec))
        assert created["metadata"]["uid"] == "uid-job"
        await drain(self.controller)

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await drain(self.controller)

    def pods(self) -> list[Obj]:
        return sorted(self.api.objects("pods"), key=lambda p: p["metadata"]["name"])

    def live(self) -> list[Obj]:
        return [p for p in self.pods() if p["status"]["phase"] not in ("Succeeded", "Failed")]

    def job(self) -> Obj:
        return self.api.objects("jobs")[0]

    async def finish(self, pod: Obj, phase: str, exit_code: int = 0) -> None:
        await self.api.set_pod_phase("ns", pod["metadata"]["name"], phase, exit_code=exit_code)

    async def close(self) -> None:
        await self.ctx.close()


def test_failed_pods_are_replaced_after_a_doubling_back_off() -> None:
    async def scenario() -> list[tuple[float, int]]:
        h = Harness()
        await h.start(backoffLimit=3)
        assert len(h.live()) == 1
        pod = h.live()[0]
        assert "batch.kubernetes.io/job-tracking" in pod["metadata"]["finalizers"]
        timeline = []
        for _ in range(3):
            await h.finish(h.live()[0], "Failed", exit_code=1)
            start = h.clock.now()
            await h.advance(1)  # the batched sync counts the failure
            while not h.live():
                await h.advance(1)
            timeline.append((h.clock.now() - start, h.job()["status"]["failed"]))
        await h.finish(h.live()[0], "Failed", exit_code=1)
        await h.advance(1)
        await h.advance(1)
        status = h.job()["status"]
        types = [c["type"] for c in status["conditions"]]
        assert types == ["FailureTarget", "Failed"], types
        assert status["conditions"][1]["reason"] == "BackoffLimitExceeded"
        assert status["failed"] == 4
        assert all("batch.kubernetes.io/job-tracking" not in (p["metadata"].get("finalizers")
                                                             or ()) for p in h.pods())
        await h.close()
        return timeline

    # A replacement comes 10 s, then 20 s, then 40 s after each failure.
    assert run(scenario()) == [(10, 1), (20, 2), (40, 3)]


def test_a_job_completes_through_uncounted_pods_and_finalizers() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.start(completions=3, parallelism=2)
        assert len(h.live()) == 2
        await h.finish(h.live()[0], "Succeeded")
        await h.advance(1)
        status = h.job()["status"]
        assert status["succeeded"] == 1 and status["active"] == 2
        assert "succeeded" not in status["uncountedTerminatedPods"]
        for _ in range(2):
            await h.finish(h.live()[0], "Succeeded")
            await h.advance(1)
        status = h.job()["status"]
        assert status["succeeded"] == 3 and "active" not in status
        assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
        assert status["completionTime"] == at(3)
        assert len(h.pods()) == 3  # never more than the completions
        writes = [w for w in h.api.writes if w[0] == "patch"]
        assert len(writes) == 3  # one finalizer removal per pod
        await h.close()

    run(scenario())


def test_active_deadline_fails_the_job_and_deletes_its_pods() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.start(activeDeadlineSeconds=30, parallelism=2, completions=4)
        assert len(h.live()) == 2
        await h.advance(29)
        assert "conditions" not in h.job()["status"]
        await h.advance(1)  # the deadline's own resync
        status = h.job()["status"]
        assert [c["reason"] for c in status["conditions"]] == ["DeadlineExceeded"]
        assert status["conditions"][0]["type"] == "FailureTarget"
        # The pods are being deleted; once gone (finalizers freed), Failed is final.
        assert all(p["metadata"].get("deletionTimestamp") for p in h.pods())
        await h.advance(1)
        status = h.job()["status"]
        assert [c["type"] for c in status["conditions"]] == ["FailureTarget", "Failed"]
        assert status["failed"] == 2 and h.pods() == []
        await h.close()

    run(scenario())


def test_fail_job_rule_of_the_pod_failure_policy() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.start(podFailurePolicy=POLICY, podReplacementPolicy="Failed")
        await h.finish(h.live()[0], "Failed", exit_code=42)
        await h.advance(1)
        await h.advance(1)
        conds = h.job()["status"]["conditions"]
        assert [(c["type"], c["reason"]) for c in conds] == [
            ("FailureTarget", "PodFailurePolicy"), ("Failed", "PodFailurePolicy")]
        assert "exit code 42" in conds[1]["message"]
        await h.close()

    run(scenario())


def test_indexed_job_fills_each_index_once() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.start(completionMode="Indexed", completions=3, parallelism=3)
        pods = h.live()
        assert sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                      for p in pods) == ["0", "1", "2"]
        by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p
                    for p in pods}
        await h.finish(by_index["1"], "Succeeded")
        await h.finish(by_index["0"], "Failed", exit_code=1)
        await h.advance(1)
        assert h.job()["status"]["completedIndexes"] == "1"
        await h.advance(10)  # back-off, then index 0 again
        fresh = [p for p in h.live()
                 if p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                 == "0"]
        assert len(fresh) == 1 and fresh[0]["spec"]["hostname"] == "job-0"
        await h.close()

    run(scenario())


def test_suspending_deletes_the_pods_and_resuming_restarts_the_clock() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.start(parallelism=2, completions=2)
        job = h.job()
        job["spec"]["suspend"] = True
        await h.api.update(("batch/v1", "Job"), job)
        await drain(h.controller)
        status = h.job()["status"]
        assert [c["reason"] for c in status["conditions"]] == ["JobSuspended"]
        assert h.pods() == [] and "active" not in status
        await h.advance(100)
        job = h.job()
        job["spec"]["suspend"] = False
        await h.api.update(("batch/v1", "Job"), job)
        await drain(h.controller)
        status = h.job()["status"]
        assert status["conditions"][0]["reason"] == "JobResumed"
        assert status["startTime"] == at(100) and len(h.live()) == 2
        await h.close()

    run(scenario())
