"""The pod status a hollow kubelet writes for each step of `lifecycle.plan`. Pure.

Every step is one strategic-merge PATCH of pods/status (as the kubelet's
status manager sends): `containerStatuses` and `initContainerStatuses` are
atomic lists and are sent whole; `conditions` merge by `type`, so only the
conditions that change are sent, with null for a reason or message that goes
away, and conditions others own (PodScheduled from the scheduler,
DisruptionTarget, readiness gates) are left alone. `metadata.uid` rides along
so that the patch names the pod it was computed for.

`patch_for(action, pod, now, ...)` is the whole mapping from a step to its
patch; the pod worker sends it (and, for KILL and DELETE, the final DELETE).

Container identity is fake but stable: containerID `hollow://<hash of pod uid,
container, restart>`, imageID `<repository>@sha256:<hash of image>`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from kybernetes.hollow.lifecycle import (
    Action,
    exit_code,
    first_container,
    readiness_gate_problem,
    restarts_after_exit,
    runs_to_completion,
)
from kybernetes.hollow.timefmt import rfc3339

Obj = dict[str, Any]

# SIGTERM: what a batch container interrupted by a graceful deletion exits with; a
# long-running server is taken to shut down cleanly (0).
KILLED_EXIT_CODE = 143


# --- pieces ---------------------------------------------------------------------------------


def image_id(image: str) -> str:
    repo = image.split("@", 1)[0]
    slash = repo.rfind("/")
    colon = repo.rfind(":")
    if colon > slash:
        repo = repo[:colon]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def container_id(uid: str, name: str, restart: int) -> str:
    return "hollow://" + hashlib.sha256(f"{uid}/{name}/{restart}".encode()).hexdigest()[:32]


def _base(pod: Obj, container: Obj, restart: int) -> Obj:
    image = str(container.get("image") or "")
    uid = str((pod.get("metadata") or {}).get("uid") or "")
    return {"name": container.get("name"), "image": image, "imageID": image_id(image),
            "containerID": container_id(uid, str(container.get("name")), restart)}


def running_container(pod: Obj, container: Obj, started: str, restart: int,
                      last_state: Obj | None = None) -> Obj:
    return {**_base(pod, container, restart), "ready": True, "started": True,
            "restartCount": restart, "state": {"running": {"startedAt": started}},
            "lastState": last_state or {}}


def terminated_state(code: int, started: str, finished: str, cid: str) -> Obj:
    return {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                           "startedAt": started, "finishedAt": finished, "containerID": cid}}


def _init_statuses(pod: Obj, stamp: str) -> list[Obj]:
    """Init containers ran to completion at once; sidecars (restartPolicy Always)
    keep running."""
    out = []
    for c in (pod.get("spec") or {}).get("initContainers") or ():
        if c.get("restartPolicy") == "Always":
            out.append(running_container(pod, c, stamp, 0))
            continue
        base = _base(pod, c, 0)
        out.append({**base, "ready": True, "started": False, "restartCount": 0,
                    "state": terminated_state(0, stamp, stamp, base["containerID"]),
                    "lastState": {}})
    return out


def condition(ctype: str, status: str, stamp: str, reason: str | None = None,
              message: str | None = None) -> Obj:
    return {"type": ctype, "status": status, "lastProbeTime": None,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def changed_conditions(pod: Obj, desired: list[Obj]) -> list[Obj]:
    """The desired conditions that differ from the pod's (status, reason or message);
    a condition whose status is unchanged keeps its lastTransitionTime."""
    current = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or ()}
    out = []
    for want in desired:
        have = current.get(want["type"])
        if have is None:
            out.append(want)
            continue
        if all(have.get(k) == want[k] for k in ("status", "reason", "message")):
            continue
        if have.get("status") == want["status"] and have.get("lastTransitionTime"):
            want = {**want, "lastTransitionTime": have["lastTransitionTime"]}
        out.append(want)
    return out


def _patch(pod: Obj, status: Obj) -> Obj:
    return {"metadata": {"uid": (pod.get("metadata") or {}).get("uid")}, "status": status}


def _not_ready_message(pod: Obj) -> str:
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or ()]
    return f"containers with unready status: [{' '.join(str(n) for n in names)}]"


def running_conditions(pod: Obj, stamp: str) -> list[Obj]:
    """Conditions of a pod whose containers all run and are ready (readiness gates
    respected); PodScheduled only if nobody set it (a pod created with nodeName)."""
    gate = readiness_gate_problem(pod)
    ready = (condition("Ready", "True", stamp) if gate is None else
             condition("Ready", "False", stamp, "ReadinessGatesNotReady", gate))
    desired = [condition("PodReadyToStartContainers", "True", stamp),
               condition("Initialized", "True", stamp),
               condition("ContainersReady", "True", stamp), ready]
    if not any(c.get("type") == "PodScheduled"
               for c in (pod.get("status") or {}).get("conditions") or ()):
        desired.append(condition("PodScheduled", "True", stamp))
    return changed_conditions(pod, desired)


# --- one patch per step ---------------------------------------------------------------------


def start_patch(pod: Obj, now: datetime, *, pod_ip: str, host_ip: str) -> Obj:
    """START: Pending -> Running with IPs, start time, container statuses, conditions."""
    stamp = rfc3339(now)
    spec = pod.get("spec") or {}
    status: Obj = {
        "phase": "Running",
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "startTime": (pod.get("status") or {}).get("startTime") or stamp,
        "containerStatuses": [running_container(pod, c, stamp, 0)
                              for c in spec.get("containers") or ()],
        "conditions": running_conditions(pod, stamp),
    }
    inits = _init_statuses(pod, stamp)
    if inits:
        status["initContainerStatuses"] = inits
    return _patch(pod, status)


def sync_ready_patch(pod: Obj, now: datetime) -> Obj:
    """SYNC_READY: only the conditions that are stale."""
    return _patch(pod, {"conditions": running_conditions(pod, rfc3339(now))})


def _terminated_containers(pod: Obj, code: int, now: str) -> list[Obj]:
    """Every container's status after the containers exited with `code`."""
    view = first_container(pod)
    started = str(view.detail.get("startedAt") or now)
    restart = view.restart_count
    out = []
    for c in (pod.get("spec") or {}).get("containers") or ():
        base = _base(pod, c, restart)
        if view.state == "running":
            state = terminated_state(code, started, now, base["containerID"])
        else:  # never ran again since the last exit: keep the last termination
            state = {"terminated": view.last_terminated or terminated_state(
                code, started, now, base["containerID"])["terminated"]}
        out.append({**base, "ready": False, "started": False, "restartCount": restart,
                    "state": state, "lastState": {}})
    return out


def terminal_patch(pod: Obj, now: datetime, code: int) -> Obj:
    """EXIT without restart, or KILL: phase Succeeded (code 0) or Failed; containers
    terminated; Ready/ContainersReady False with reason PodCompleted. Sidecars stop too."""
    stamp = rfc3339(now)
    status: Obj = {
        "phase": "Succeeded" if code == 0 else "Failed",
        "containerStatuses": _terminated_containers(pod, code, stamp),
        "conditions": changed_conditions(pod, [
            condition("PodReadyToStartContainers", "False", stamp),
            condition("ContainersReady", "False", stamp, "PodCompleted"),
            condition("Ready", "False", stamp, "PodCompleted"),
        ]),
    }
    inits = (pod.get("status") or {}).get("initContainerStatuses")
    if inits and any((s.get("state") or {}).get("running") for s in inits):
        status["initContainerStatuses"] = [
            {**s, "ready": False, "started": False, "lastState": {},
             "state": terminated_state(0 if code == 0 else 143,
                                       str(((s.get("state") or {}).get("running") or {})
                                           .get("startedAt") or stamp), stamp,
                                       str(s.get("containerID") or ""))}
            if (s.get("state") or {}).get("running") else s for s in inits]
    return _patch(pod, status)


def crash_patch(pod: Obj, now: datetime, code: int) -> Obj:
    """EXIT with restart: restartCount + 1, the exit as lastState, waiting in
    CrashLoopBackOff, not ready."""
    stamp = rfc3339(now)
    view = first_container(pod)
    restart = view.restart_count + 1
    started = str(view.detail.get("startedAt") or stamp)
    statuses = []
    for c in (pod.get("spec") or {}).get("containers") or ():
        cid = _base(pod, c, view.restart_count)["containerID"]
        statuses.append({
            **_base(pod, c, restart), "ready": False, "started": False, "restartCount": restart,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                                  "message": f"back-off restarting failed container "
                                             f"{c.get('name')} in pod "
                                             f"{(pod.get('metadata') or {}).get('name')}"}},
            "lastState": terminated_state(code, started, stamp, cid)})
    message = _not_ready_message(pod)
    return _patch(pod, {"containerStatuses": statuses, "conditions": changed_conditions(pod, [
        condition("ContainersReady", "False", stamp, "ContainersNotReady", message),
        condition("Ready", "False", stamp, "ContainersNotReady", message)])})


def restart_patch(pod: Obj, now: datetime) -> Obj:
    """RESTART: the containers run again (same restartCount, lastState kept)."""
    stamp = rfc3339(now)
    view = first_container(pod)
    last = {"terminated": view.last_terminated} if view.last_terminated else {}
    statuses = [running_container(pod, c, stamp, view.restart_count, last)
                for c in (pod.get("spec") or {}).get("containers") or ()]
    return _patch(pod, {"containerStatuses": statuses,
                        "conditions": running_conditions(pod, stamp)})


def patch_for(action: Action, pod: Obj, now: datetime, *, pod_ip: str = "",
              host_ip: str = "") -> Obj | None:
    """The status patch of one step (None: the step writes no status). START needs the
    addresses; EXIT follows restartPolicy and the exit code."""
    if action is Action.START:
        return start_patch(pod, now, pod_ip=pod_ip, host_ip=host_ip)
    if action is Action.SYNC_READY:
        return sync_ready_patch(pod, now)
    if action is Action.RESTART:
        return restart_patch(pod, now)
    if action is Action.EXIT:
        code = exit_code(pod)
        if restarts_after_exit(pod, code):
            return crash_patch(pod, now, code)
        return terminal_patch(pod, now, code)
    if action is Action.KILL:
        return terminal_patch(pod, now, KILLED_EXIT_CODE if runs_to_completion(pod) else 0)
    return None
