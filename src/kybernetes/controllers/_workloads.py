"""Helpers shared by the workload controllers: job, cronjob, daemonset, statefulset.

Private to those modules. They are the pieces of upstream's
`pkg/controller/controller_utils.go` and `pkg/api/v1/pod` that these
controllers need beyond `controller_utils` (whose controller-uid index they
share): resource handles, RFC 3339 time stamps, ControllerRefs and adoption
with finalizers (`claim`, as NewPodControllerRefManager with the Job's
tracking finalizer), count-based creation/deletion expectations (upstream's
ControllerExpectations, which the Job and DaemonSet controllers use), pod
state predicates and the ActivePods ranking, pods from templates,
int-or-percent scaling.

Everything here is pure except `claim` and `PodControl`, which write through
the client. Times are passed in (`now`), never read from the system.
"""

from __future__ import annotations

import copy
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kybernetes.api.selectors import LabelSelector
from kybernetes.client import (
    NORMAL,
    WARNING,
    Client,
    EventRecorder,
    builtin_resource,
    is_conflict,
    is_not_found,
)
from kybernetes.controllers.controller_utils import (
    CONTROLLER_UID_INDEX,
    index_by_controller_uid,
)

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers")

PODS = builtin_resource("v1", "Pod")
NODES = builtin_resource("v1", "Node")
PVCS = builtin_resource("v1", "PersistentVolumeClaim")
JOBS = builtin_resource("batch/v1", "Job")
CRONJOBS = builtin_resource("batch/v1", "CronJob")
DAEMONSETS = builtin_resource("apps/v1", "DaemonSet")
STATEFULSETS = builtin_resource("apps/v1", "StatefulSet")
REVISIONS = builtin_resource("apps/v1", "ControllerRevision")

# The shared informers' index of objects by their controller's uid: the one that
# controller_utils defines for every controller (an index name is bound to one function).
POD_CONTROLLER_INDEX = CONTROLLER_UID_INDEX
controller_uid = index_by_controller_uid


# --- time -------------------------------------------------------------------------------


def rfc3339(t: datetime) -> str:
    """`metav1.Time` as the API writes it: UTC, whole seconds."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> datetime | None:
    """RFC 3339 (with or without fraction) -> aware UTC datetime; None if absent/bad."""
    if not isinstance(text, str) or not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# --- object metadata --------------------------------------------------------------------


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def uid(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def labels(obj: Obj) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def annotations(obj: Obj) -> dict[str, str]:
    return meta(obj).get("annotations") or {}


def deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def controller_ref(obj: Obj) -> Obj | None:
    """metav1.GetControllerOf: the owner reference with controller=true, if any."""
    for ref in meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == uid(owner)


def new_controller_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    """metav1.NewControllerRef."""
    return {"apiVersion": api_version, "kind": kind, "name": meta(owner).get("name"),
            "uid": uid(owner), "controller": True, "blockOwnerDeletion": True}


def resolve_controller_ref(obj: Obj, kind: str, lookup: Callable[[str], Obj | None]
                           ) -> Obj | None:
    """The owner named by `obj`'s ControllerRef if it is a `kind` with the same uid
    (`lookup(key)` reads the owner's informer cache)."""
    ref = controller_ref(obj)
    if ref is None or ref.get("kind") != kind:
        return None
    ns = meta(obj).get("namespace")
    owner = lookup(f"{ns}/{ref.get('name')}" if ns else str(ref.get("name")))
    if owner is None or uid(owner) != ref.get("uid"):
        return None
    return owner


def owner_key(obj: Obj, kind: str) -> str | None:
    """`namespace/name` of the `kind` that controls `obj` (no uid check), for handlers."""
    ref = controller_ref(obj)
    if ref is None or ref.get("kind") != kind:
        return None
    ns = meta(obj).get("namespace")
    return f"{ns}/{ref.get('name')}" if ns else str(ref.get("name"))


# --- pods -------------------------------------------------------------------------------


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def pod_condition(pod: Obj, kind: str) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return cond
    return None


def pod_ready(pod: Obj) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def pod_available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    """podutil.IsPodAvailable: ready for at least `min_ready_seconds`."""
    if not pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time((pod_condition(pod, "Ready") or {}).get("lastTransitionTime"))
    return since is not None and (now - since).total_seconds() >= min_ready_seconds


def pod_finished(pod: Obj) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def pod_active(pod: Obj) -> bool:
    """controller.IsPodActive: not finished and not being deleted."""
    return not pod_finished(pod) and not deleting(pod)


def pod_terminating(pod: Obj) -> bool:
    """controller.IsPodTerminating: being deleted but not finished."""
    return not pod_finished(pod) and deleting(pod)


_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def _max_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def _newest_first(t: datetime | None) -> tuple[int, float]:
    # upstream's afterOrZero: the zero time sorts first, then later times before earlier.
    return (0, 0.0) if t is None else (1, -t.timestamp())


def deletion_rank(pod: Obj) -> tuple[Any, ...]:
    """Sort key of controller.ActivePods: pods sorted by it are in the order to delete
    them (unassigned < assigned; Pending < Unknown < Running; not ready < ready;
    ready for less time first; more restarts first; newer first)."""
    ready = pod_ready(pod)
    ready_since = parse_time((pod_condition(pod, "Ready") or {}).get("lastTransitionTime"))
    return (bool((pod.get("spec") or {}).get("nodeName")),
            _PHASE_ORDINAL.get(phase(pod), 3), ready,
            _newest_first(ready_since) if ready else (0, 0.0),
            -_max_restarts(pod),
            _newest_first(parse_time(meta(pod).get("creationTimestamp"))))


_POD_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*-?$")


def pods_prefix(owner_name: str) -> str:
    """getPodsPrefix: `<owner>-` when that is a valid generateName, else the name."""
    prefix = f"{owner_name}-"
    return prefix if len(prefix) <= 253 and _POD_NAME.match(prefix) else owner_name


def pod_from_template(template: Obj, owner: Obj, ref: Obj, *, generate_name: str = "") -> Obj:
    """controller.GetPodFromTemplate: labels, annotations, finalizers and spec of the
    template, the ControllerRef, and generateName `<owner>-`."""
    tmeta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": generate_name or pods_prefix(meta(owner).get("name", "")),
                     "namespace": meta(owner).get("namespace"),
                     "ownerReferences": [dict(ref)]}
    for key in ("labels", "annotations"):
        if tmeta.get(key):
            pod_meta[key] = dict(tmeta[key])
    if tmeta.get("finalizers"):
        pod_meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


# --- int-or-percent ---------------------------------------------------------------------


def scaled_value(value: Any, total: int, *, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        pct = int(text[:-1])
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


# --- expectations -----------------------------------------------------------------------


EXPECTATIONS_TIMEOUT = 5 * 60.0  # upstream's ExpectationsTimeout


@dataclass
class _Expectation:
    adds: int
    dels: int
    stamp: float


class Expectations:
    """controller.ControllerExpectations: creations/deletions a controller has asked for
    and not yet seen in its informer, per controller key.

    A controller does not act on a key until its expectations are satisfied (all
    seen, or older than five minutes), so that a stale cache never makes it create
    or delete twice. Handlers call `creation_observed`/`deletion_observed`; the
    worker calls `expect`. `now` is the controller's monotonic clock.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._items: dict[str, _Expectation] = {}

    def expect(self, key: str, *, adds: int = 0, dels: int = 0) -> None:
        self._items[key] = _Expectation(adds, dels, self._now())

    def raise_(self, key: str, *, adds: int = 0, dels: int = 0) -> None:
        exp = self._items.get(key)
        if exp is None:
            self.expect(key, adds=adds, dels=dels)
        else:
            exp.adds += adds
            exp.dels += dels

    def creation_observed(self, key: str) -> None:
        exp = self._items.get(key)
        if exp is not None:
            exp.adds -= 1

    def deletion_observed(self, key: str) -> None:
        exp = self._items.get(key)
        if exp is not None:
            exp.dels -= 1

    def satisfied(self, key: str) -> bool:
        exp = self._items.get(key)
        if exp is None:
            return True
        if exp.adds <= 0 and exp.dels <= 0:
            return True
        return self._now() - exp.stamp > EXPECTATIONS_TIMEOUT

    def forget(self, key: str) -> None:
        self._items.pop(key, None)


# --- writing pods -----------------------------------------------------------------------


class PodControl:
    """controller.RealPodControl: create and delete pods for an owner, with the
    events upstream records (SuccessfulCreate/FailedCreate/SuccessfulDelete/FailedDelete)."""

    def __init__(self, client: Client, recorder: EventRecorder) -> None:
        self.client = client
        self.recorder = recorder

    async def create(self, owner: Obj, pod: Obj) -> Obj:
        try:
            made = await self.client.create(PODS, pod, namespace=meta(owner).get("namespace"))
        except Exception as err:
            self.recorder.event(owner, WARNING, "FailedCreate", f"Error creating: {_why(err)}")
            raise
        self.recorder.event(owner, NORMAL, "SuccessfulCreate",
                            f"Created pod: {meta(made).get('name')}")
        return made

    async def delete(self, owner: Obj, pod: Obj) -> bool:
        """Delete `pod`; False if it was already gone."""
        name = meta(pod).get("name", "")
        try:
            await self.client.delete(PODS, name, namespace=meta(pod).get("namespace"),
                                     preconditions={"uid": uid(pod)} if uid(pod) else None)
        except Exception as err:
            if is_not_found(err):
                return False
            self.recorder.event(owner, WARNING, "FailedDelete",
                                f"Error deleting: {_why(err)}")
            raise
        self.recorder.event(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")
        return True


def _why(err: Exception) -> str:
    return str(getattr(err, "message", "") or err)


# --- adoption ---------------------------------------------------------------------------


async def claim(client: Client, resource: Any, owner: Obj, ref: Obj, selector: LabelSelector,
                candidates: Iterable[Obj], *, can_adopt: Callable[[], Awaitable[None]],
                adopt_finalizers: tuple[str, ...] = ()) -> list[Obj]:
    """ControllerRefManager.ClaimObjects: the candidates `owner` controls, adopting
    matching orphans (adding `adopt_finalizers`) and releasing owned objects that no
    longer match. `can_adopt()` raises if the owner may not adopt (it is being
    deleted, or was replaced); it is awaited once, before the first adoption."""
    owned: list[Obj] = []
    checked = False
    owner_deleting = deleting(owner)
    for obj in candidates:
        mine = controller_ref(obj)
        matches = selector.matches(labels(obj))
        if mine is not None:
            if mine.get("uid") != uid(owner):
                continue
            if matches:
                owned.append(obj)
            elif not owner_deleting:
                await _patch_ref(client, resource, obj, {"$patch": "delete", "uid": uid(owner)})
            continue
        if owner_deleting or not matches or deleting(obj):
            continue
        if meta(obj).get("namespace") != meta(owner).get("namespace"):
            continue
        if not checked:
            await can_adopt()
            checked = True
        adopted = await _patch_ref(client, resource, obj, ref, adopt_finalizers)
        if adopted is not None:
            owned.append(adopted)
    return owned


async def _patch_ref(client: Client, resource: Any, obj: Obj, ref: Obj,
                     finalizers: tuple[str, ...] = ()) -> Obj | None:
    body: Obj = {"metadata": {"ownerReferences": [ref], "uid": uid(obj)}}
    if finalizers:
        have = list(meta(obj).get("finalizers") or ())
        body["metadata"]["finalizers"] = have + [f for f in finalizers if f not in have]
    try:
        return await client.patch(resource, meta(obj).get("name", ""), body,
                                  namespace=meta(obj).get("namespace"),
                                  patch_type="strategic")
    except Exception as err:
        if is_not_found(err):
            return None
        raise


def recheck_owner(client: Client, resource: Any, owner: Obj) -> Callable[[], Awaitable[None]]:
    """controller.RecheckDeletionTimestamp over a live GET: adoption is refused when
    the owner is being deleted or was replaced by a new object of the same name."""

    async def check() -> None:
        fresh = await client.get(resource, meta(owner).get("name", ""),
                                 namespace=meta(owner).get("namespace"))
        if uid(fresh) != uid(owner):
            raise RuntimeError(f"original {meta(owner).get('name')} is gone: got uid "
                               f"{uid(fresh)}, wanted {uid(owner)}")
        if deleting(fresh):
            raise RuntimeError(f"{meta(owner).get('name')} has just been deleted at "
                               f"{meta(fresh).get('deletionTimestamp')}")

    return check


async def update_status(client: Client, resource: Any, obj: Obj, status: Obj, *,
                        retries: int = 1) -> Obj:
    """PUT `status` as the status of `obj`; on a conflict (our cache was behind)
    read the object again and retry up to `retries` times, as upstream's status
    updaters do. `status` is written as it is: it must not depend on the old one."""
    body = copy.deepcopy(obj)
    for attempt in range(retries + 1):
        body["status"] = copy.deepcopy(status)
        try:
            return await client.update(resource, body, subresource="status")
        except Exception as err:
            if not is_conflict(err) or attempt == retries:
                raise
        body = await client.get(resource, meta(obj).get("name", ""),
                                namespace=meta(obj).get("namespace"))
    raise AssertionError("unreachable")
