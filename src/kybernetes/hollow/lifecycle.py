"""The life of a pod on a hollow node: which step is next, and when. Pure; time passed in.

`plan(pod, now, options)` reads only the pod (spec, status, metadata) and
returns a `Plan`: the `Action` to take and the instant it is due (None: now).
The pod's status is the whole state, so a restarted process carries on where
the last one stopped, and every step is level-triggered: planning the same
pod twice gives the same answer.

    state (from status)                 | not being deleted            | deletionTimestamp set
    ------------------------------------|------------------------------|----------------------------
    Pending (no container started)      | START  now                   | DELETE at kill time
    Running, containers running         | EXIT   at startedAt+duration | KILL at kill time
                                        |   (if it runs to completion) |   (then DELETE)
                                        | SYNC_READY now if the Ready  |
                                        |   condition is stale         |
    Running, waiting (CrashLoopBackOff) | RESTART at finishedAt+backoff| KILL at kill time
    Succeeded / Failed                  | nothing                      | DELETE now if grace > 0,
                                        |                              |   else nothing (finalizers)

- Runs to completion: owned by a Job, `restartPolicy` Never or OnFailure, or
  annotated with a duration. It exits after `job_duration_seconds`, or the
  annotation `hollow.kybernetes.io/duration` ("1.5", "90s", "2m"), with exit
  code 0 or the annotation `hollow.kybernetes.io/exit-code`.
- EXIT then follows `restartPolicy`: Never, or OnFailure with exit code 0 ->
  Succeeded/Failed (terminal); otherwise the containers restart after the
  kubelet's crash-loop back-off (10 s doubling to 5 min).
- Kill time (graceful deletion): the deletion was asked for at
  deletionTimestamp - deletionGracePeriodSeconds; the containers stop
  min(grace, kill_delay_seconds) later. KILL writes the terminal status (a
  deleted pod ends Succeeded/Failed, as the kubelet does since v1.27), DELETE
  removes the pod with gracePeriodSeconds=0 and its uid as precondition (the
  kubelet's final delete).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kybernetes.hollow.timefmt import parse_time

Obj = dict[str, Any]

DURATION_ANNOTATION = "hollow.kybernetes.io/duration"
EXIT_CODE_ANNOTATION = "hollow.kybernetes.io/exit-code"
TERMINAL_PHASES = ("Succeeded", "Failed")
# pkg/kubelet/kubelet.go: backOffPeriod = 10 s, MaxContainerBackOff = 300 s.
CRASH_BACKOFF_INITIAL_SECONDS = 10.0
CRASH_BACKOFF_MAX_SECONDS = 300.0


class Action(enum.Enum):
    NONE = "none"
    START = "start"            # Pending -> Running: one status patch
    EXIT = "exit"              # the containers exit: terminal phase, or crash-loop
    RESTART = "restart"        # back-off over: running again
    SYNC_READY = "sync-ready"  # readiness gates or an outside write changed readiness
    KILL = "kill"              # graceful deletion: terminal status, then DELETE
    DELETE = "delete"          # the final DELETE (gracePeriodSeconds=0, uid precondition)


@dataclass(frozen=True, slots=True)
class Plan:
    action: Action
    due: datetime | None = None  # None: now

    def is_due(self, now: datetime) -> bool:
        return self.due is None or self.due <= now


NOTHING = Plan(Action.NONE)


@dataclass(frozen=True, slots=True)
class Timing:
    """The few options planning needs (seconds)."""

    job_duration_seconds: float = 1.0
    kill_delay_seconds: float = 1.0


# --- reading a pod --------------------------------------------------------------------------


def runs_to_completion(pod: Obj) -> bool:
    """Its containers exit by themselves (a Job's pod, restartPolicy Never/OnFailure,
    or a duration annotation)."""
    spec = pod.get("spec") or {}
    if spec.get("restartPolicy") in ("Never", "OnFailure"):
        return True
    meta = pod.get("metadata") or {}
    if DURATION_ANNOTATION in (meta.get("annotations") or {}):
        return True
    return any(ref.get("kind") == "Job" for ref in meta.get("ownerReferences") or ())


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Seconds from "1.5" or a Go duration ("90s", "1m30s", "250ms"); None if invalid."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pos, total = 0, 0.0
        for m in _DURATION_PART.finditer(text):
            if m.start() != pos:
                return None
            total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
            pos = m.end()
        return total if pos == len(text) and pos > 0 else None
    return value if value >= 0 else None


def run_seconds(pod: Obj, timing: Timing) -> float:
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(DURATION_ANNOTATION)
    if isinstance(text, str):
        value = parse_duration(text)
        if value is not None:
            return value
    return timing.job_duration_seconds


def exit_code(pod: Obj) -> int:
    """The exit code the pod's containers end with (annotation, else 0)."""
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(EXIT_CODE_ANNOTATION)
    try:
        return max(0, min(255, int(str(text)))) if text is not None else 0
    except ValueError:
        return 0


def restarts_after_exit(pod: Obj, code: int) -> bool:
    """restartPolicy Always restarts any exit, OnFailure a non-zero one, Never none."""
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    return policy == "Always" or (policy == "OnFailure" and code != 0)


def crash_backoff_seconds(restart_count: int) -> float:
    """The wait before restart number `restart_count` (1 -> 10 s, doubling, max 5 min)."""
    exp = max(0, restart_count - 1)
    if exp > 10:
        return CRASH_BACKOFF_MAX_SECONDS
    return min(CRASH_BACKOFF_MAX_SECONDS, CRASH_BACKOFF_INITIAL_SECONDS * 2 ** exp)


@dataclass(frozen=True, slots=True)
class ContainerView:
    """The first regular container's status: all containers of a hollow pod share
    one fate, so it stands for them all."""

    state: str  # "running" | "waiting" | "terminated" | "" (no status yet)
    detail: Obj
    last_terminated: Obj
    restart_count: int


def first_container(pod: Obj) -> ContainerView:
    for cs in (pod.get("status") or {}).get("containerStatuses") or ():
        state = cs.get("state") or {}
        for name in ("running", "waiting", "terminated"):
            if state.get(name) is not None:
                last = (cs.get("lastState") or {}).get("terminated") or {}
                return ContainerView(name, state[name], last, int(cs.get("restartCount") or 0))
    return ContainerView("", {}, {}, 0)


def kill_time(pod: Obj, timing: Timing) -> datetime | None:
    """When the containers of a pod being deleted stop (see the module docstring)."""
    meta = pod.get("metadata") or {}
    deadline = parse_time(meta.get("deletionTimestamp"))
    if deadline is None:
        return None
    grace = meta.get("deletionGracePeriodSeconds")
    grace = grace if isinstance(grace, int) and grace > 0 else 0
    asked = deadline - timedelta(seconds=grace)
    return asked + timedelta(seconds=min(float(grace), timing.kill_delay_seconds))


# --- readiness ------------------------------------------------------------------------------


def readiness_gate_problem(pod: Obj) -> str | None:
    """Why the readiness gates keep the pod unready (upstream's message), or None."""
    conditions = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or ()}
    for gate in (pod.get("spec") or {}).get("readinessGates") or ():
        ctype = gate.get("conditionType")
        cond = conditions.get(ctype)
        if cond is None:
            return f'corresponding condition of pod readiness gate "{ctype}" does not exist.'
        if cond.get("status") != "True":
            return (f'the status of pod readiness gate "{ctype}" is not "True", but '
                    f'{cond.get("status")}')
    return None


def condition_status(pod: Obj, ctype: str) -> str | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond.get("status")
    return None


def ready_is_stale(pod: Obj) -> bool:
    """A running pod's Ready condition disagrees with its containers and gates."""
    want = "True" if readiness_gate_problem(pod) is None else "False"
    return (condition_status(pod, "Ready") != want
            or condition_status(pod, "ContainersReady") != "True")


# --- the plan -------------------------------------------------------------------------------


def plan(pod: Obj, now: datetime, timing: Timing) -> Plan:
    """The next step for a pod bound to one of our nodes (see the module table)."""
    meta = pod.get("metadata") or {}
    phase = (pod.get("status") or {}).get("phase") or "Pending"
    container = first_container(pod)
    if meta.get("deletionTimestamp"):
        return _plan_deletion(pod, phase, container.state, timing)
    if phase in TERMINAL_PHASES:
        return NOTHING
    if phase == "Pending" or container.state in ("", "terminated"):
        return Plan(Action.START)
    if container.state == "waiting":
        finished = parse_time(container.last_terminated.get("finishedAt")) or now
        delay = crash_backoff_seconds(container.restart_count)
        return Plan(Action.RESTART, finished + timedelta(seconds=delay))
    if ready_is_stale(pod):
        return Plan(Action.SYNC_READY)
    if runs_to_completion(pod):
        started = parse_time(container.detail.get("startedAt")) or now
        return Plan(Action.EXIT, started + timedelta(seconds=run_seconds(pod, timing)))
    return NOTHING


def _plan_deletion(pod: Obj, phase: str, state: str, timing: Timing) -> Plan:
    meta = pod.get("metadata") or {}
    grace = meta.get("deletionGracePeriodSeconds")
    if grace == 0:
        return NOTHING  # the final delete is done; finalizers hold the pod
    at = kill_time(pod, timing)
    if phase in TERMINAL_PHASES:
        return Plan(Action.DELETE)
    if phase == "Pending" or state == "":
        return Plan(Action.DELETE, at)
    return Plan(Action.KILL, at)
