"""A pod's life on a hollow node, on virtual time: `plan` as a table, then whole lives as
transcripts (plan, apply the step's patch as the apiserver would, plan again)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.hollow.lifecycle import (
    Action,
    Plan,
    Timing,
    crash_backoff_seconds,
    exit_code,
    parse_duration,
    plan,
)
from kybernetes.hollow.podstatus import patch_for

from .support import apply_status_patch, at, deleting, make_pod, stamp

Obj = dict[str, Any]
TIMING = Timing(job_duration_seconds=1.0, kill_delay_seconds=1.0)
POD_IP, HOST_IP = "10.244.0.2", "172.16.0.1"


def step(pod: Obj, seconds: float) -> tuple[Obj, Action]:
    """Plan at T0+seconds; if the step is due, take it (apply its patch). Returns the pod
    afterwards and the action taken (NONE if nothing was due)."""
    now = at(seconds)
    p = plan(pod, now, TIMING)
    if not p.is_due(now):
        return pod, Action.NONE
    patch = patch_for(p.action, pod, now, pod_ip=POD_IP, host_ip=HOST_IP)
    return (apply_status_patch(pod, patch) if patch else pod), p.action


def running(pod: Obj, seconds: float = 0) -> Obj:
    out, action = step(pod, seconds)
    assert action is Action.START
    return out


def conditions(pod: Obj) -> dict[str, tuple[str, str | None]]:
    return {c["type"]: (c["status"], c.get("reason")) for c in pod["status"]["conditions"]}


def container(pod: Obj, i: int = 0) -> Obj:
    return pod["status"]["containerStatuses"][i]


# --- plan, as a table -----------------------------------------------------------------------


def _crashed(restarts: int, finished: float) -> Obj:
    pod = make_pod(restart="OnFailure", annotations={"hollow.kybernetes.io/exit-code": "1"})
    pod = running(pod)
    pod["status"]["containerStatuses"][0].update(
        restartCount=restarts, state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={"terminated": {"exitCode": 1, "finishedAt": stamp(finished)}})
    return pod


def _terminal(phase: str) -> Obj:
    pod = running(make_pod(restart="Never"))
    pod["status"]["phase"] = phase
    return pod


PLANS = [
    ("pending-starts-now", make_pod(), 0, Plan(Action.START)),
    ("service-runs-forever", running(make_pod()), 3600, Plan(Action.NONE)),
    ("never-exits-after-job-duration", running(make_pod(restart="Never")), 0.5,
     Plan(Action.EXIT, at(1))),
    ("job-owned-exits", running(make_pod(restart="OnFailure", owner_kind="Job")), 0,
     Plan(Action.EXIT, at(1))),
    ("duration-annotation", running(make_pod(annotations={
        "hollow.kybernetes.io/duration": "90s"})), 0, Plan(Action.EXIT, at(90))),
    ("missing-gate-makes-ready-stale", _terminal("Running") | {"spec": {
        **make_pod()["spec"], "readinessGates": [{"conditionType": "x"}]}}, 0,
     Plan(Action.SYNC_READY)),
    ("crashed-once-restarts-after-10s", _crashed(1, 5), 5, Plan(Action.RESTART, at(15))),
    ("crashed-thrice-restarts-after-40s", _crashed(3, 5), 5, Plan(Action.RESTART, at(45))),
    ("terminal-stays", _terminal("Succeeded"), 0, Plan(Action.NONE)),
    ("deleted-running-killed-after-kill-delay",
     deleting(running(make_pod()), requested=10, grace=30), 10, Plan(Action.KILL, at(11))),
    ("deleted-with-short-grace", deleting(running(make_pod()), requested=10, grace=1), 10,
     Plan(Action.KILL, at(11))),
    ("deleted-pending-just-deleted", deleting(make_pod(), requested=10, grace=30), 10,
     Plan(Action.DELETE, at(11))),
    ("deleted-terminal-deleted-now", deleting(_terminal("Failed"), requested=10, grace=30), 10,
     Plan(Action.DELETE)),
    ("final-delete-done-finalizers-hold", deleting(running(make_pod()), requested=10, grace=0),
     10, Plan(Action.NONE)),
]


@pytest.mark.parametrize(("pod", "seconds", "want"), [p[1:] for p in PLANS],
                         ids=[p[0] for p in PLANS])
def test_plan(pod: Obj, seconds: float, want: Plan) -> None:
    assert plan(pod, at(seconds), TIMING) == want


@pytest.mark.parametrize(("text", "seconds"), [
    ("1.5", 1.5), ("90s", 90.0), ("1m30s", 90.0), ("250ms", 0.25), ("1h", 3600.0),
    ("", None), ("soon", None), ("-1", None), ("5x", None), ("1m junk", None),
])
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_exit_code_and_backoff() -> None:
    assert exit_code(make_pod()) == 0
    assert exit_code(make_pod(annotations={"hollow.kybernetes.io/exit-code": "3"})) == 3
    assert exit_code(make_pod(annotations={"hollow.kybernetes.io/exit-code": "x"})) == 0
    assert [crash_backoff_seconds(n) for n in (1, 2, 3, 5, 6, 99)] == [10, 20, 40, 160, 300, 300]


# --- whole lives ----------------------------------------------------------------------------


def test_a_service_pod_starts_in_one_patch() -> None:
    pod = running(make_pod(containers=("app", "proxy"), init=("migrate",), sidecars=("log",)), 0)
    status = pod["status"]
    assert status["phase"] == "Running"
    assert (status["podIP"], status["podIPs"], status["hostIP"], status["hostIPs"]) == (
        POD_IP, [{"ip": POD_IP}], HOST_IP, [{"ip": HOST_IP}])
    assert status["startTime"] == stamp(0)
    assert conditions(pod) == {
        "PodReadyToStartContainers": ("True", None), "Initialized": ("True", None),
        "ContainersReady": ("True", None), "Ready": ("True", None),
        "PodScheduled": ("True", None)}
    app = container(pod)
    assert (app["name"], app["ready"], app["started"], app["restartCount"]) == (
        "app", True, True, 0)
    assert app["state"] == {"running": {"startedAt": stamp(0)}}
    assert app["image"] == "img/app:1" and app["imageID"].startswith("img/app@sha256:")
    assert app["containerID"].startswith("hollow://")
    assert [c["name"] for c in status["containerStatuses"]] == ["app", "proxy"]
    init, side = status["initContainerStatuses"]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["ready"]
    assert side["state"] == {"running": {"startedAt": stamp(0)}} and side["started"]
    # And then nothing, for ever.
    assert step(pod, 10_000) == (pod, Action.NONE)


def test_the_schedulers_pod_scheduled_condition_is_left_alone() -> None:
    pod = make_pod()
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True",
                                    "lastTransitionTime": stamp(-5)}]
    pod = running(pod, 0)
    scheduled = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert scheduled == [{"type": "PodScheduled", "status": "True",
                          "lastTransitionTime": stamp(-5)}]


def test_a_job_pod_succeeds_after_its_duration() -> None:
    pod = running(make_pod(restart="Never", owner_kind="Job", sidecars=("log",)), 0)
    assert step(pod, 0.9)[1] is Action.NONE
    pod, action = step(pod, 1)
    assert action is Action.EXIT
    assert pod["status"]["phase"] == "Succeeded"
    term = container(pod)["state"]["terminated"]
    assert (term["exitCode"], term["reason"], term["startedAt"], term["finishedAt"]) == (
        0, "Completed", stamp(0), stamp(1))
    assert not container(pod)["ready"]
    assert conditions(pod)["Ready"] == ("False", "PodCompleted")
    assert conditions(pod)["ContainersReady"] == ("False", "PodCompleted")
    assert conditions(pod)["Initialized"] == ("True", None)
    assert "terminated" in pod["status"]["initContainerStatuses"][0]["state"]  # sidecar stopped
    assert pod["status"]["podIP"] == POD_IP  # kept in the status, as upstream
    assert step(pod, 100)[1] is Action.NONE


def test_a_failing_never_pod_fails_with_its_exit_code() -> None:
    pod = running(make_pod(restart="Never", annotations={
        "hollow.kybernetes.io/exit-code": "3", "hollow.kybernetes.io/duration": "5"}), 0)
    pod, action = step(pod, 5)
    assert action is Action.EXIT and pod["status"]["phase"] == "Failed"
    assert container(pod)["state"]["terminated"]["exitCode"] == 3
    assert container(pod)["state"]["terminated"]["reason"] == "Error"


def test_an_on_failure_pod_crash_loops_with_backoff() -> None:
    pod = running(make_pod(restart="OnFailure", annotations={
        "hollow.kybernetes.io/exit-code": "1"}), 0)
    pod, action = step(pod, 1)
    assert action is Action.EXIT and pod["status"]["phase"] == "Running"
    c = container(pod)
    assert c["restartCount"] == 1 and c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert c["lastState"]["terminated"]["exitCode"] == 1
    assert conditions(pod)["Ready"] == ("False", "ContainersNotReady")
    assert step(pod, 10.9)[1] is Action.NONE
    pod, action = step(pod, 11)  # 10 s back-off after the first crash
    assert action is Action.RESTART
    c = container(pod)
    assert c["state"] == {"running": {"startedAt": stamp(11)}} and c["ready"]
    assert c["lastState"]["terminated"]["finishedAt"] == stamp(1)
    assert conditions(pod)["Ready"] == ("True", None)
    pod, action = step(pod, 12)
    assert action is Action.EXIT and container(pod)["restartCount"] == 2
    assert plan(pod, at(12), TIMING) == Plan(Action.RESTART, at(32))  # 20 s now


def test_graceful_deletion_kills_then_deletes() -> None:
    pod = running(make_pod(), 0)
    pod = deleting(pod, requested=50, grace=30)
    assert step(pod, 50.5)[1] is Action.NONE
    pod, action = step(pod, 51)
    assert action is Action.KILL
    assert pod["status"]["phase"] == "Succeeded"  # a server shuts down cleanly on SIGTERM
    assert plan(pod, at(51), TIMING) == Plan(Action.DELETE)


def test_a_job_pod_killed_mid_run_fails() -> None:
    pod = deleting(running(make_pod(restart="Never", annotations={
        "hollow.kybernetes.io/duration": "60"}), 0), requested=5, grace=30)
    pod, action = step(pod, 6)
    assert action is Action.KILL and pod["status"]["phase"] == "Failed"
    assert container(pod)["state"]["terminated"]["exitCode"] == 143


def test_readiness_gates_hold_ready_until_their_condition_is_true() -> None:
    pod = running(make_pod(gates=("example.com/lb",)), 0)
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ReadinessGatesNotReady"
    assert ready["message"] == ('corresponding condition of pod readiness gate '
                                '"example.com/lb" does not exist.')
    assert step(pod, 1)[1] is Action.NONE
    # A controller sets the gate's condition.
    gated = copy.deepcopy(pod)
    gated["status"]["conditions"].append({"type": "example.com/lb", "status": "True"})
    gated, action = step(gated, 2)
    assert action is Action.SYNC_READY
    ready = next(c for c in gated["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready.get("reason"), ready.get("message")) == ("True", None, None)
    assert ready["lastTransitionTime"] == stamp(2)
    initialized = next(c for c in gated["status"]["conditions"] if c["type"] == "Initialized")
    assert initialized["lastTransitionTime"] == stamp(0)  # untouched
    assert step(gated, 3)[1] is Action.NONE


def test_an_outside_not_ready_is_put_right() -> None:
    pod = running(make_pod(), 0)
    for c in pod["status"]["conditions"]:
        if c["type"] == "Ready":
            c.update(status="False", reason="NodeNotReady")  # node lifecycle controller
    pod, action = step(pod, 5)
    assert action is Action.SYNC_READY and conditions(pod)["Ready"] == ("True", None)
