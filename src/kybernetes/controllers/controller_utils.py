"""Helpers shared by the workload controllers (upstream pkg/controller/controller_utils.go).

What is here, each as upstream has it:

- Time: `parse_time`/`format_time` for RFC 3339 object timestamps.
- ControllerRef: `controller_ref_of`, `new_controller_ref` (controller=true,
  blockOwnerDeletion=true), `is_controlled_by`, and the `controllerUID` index
  (`CONTROLLER_UID_INDEX`, `index_by_controller_uid`) that controllers share on
  their informers: use these exact objects, an index name is bound to one function.
- Pods: `is_pod_active`, `is_pod_ready`, `is_pod_available` (Ready for
  minReadySeconds), `pod_from_template` (what a controller POSTs: the template's
  labels/annotations/finalizers/spec, `generateName: <owner>-`, the ControllerRef).
- Deletion ranking: `pods_to_delete` orders candidates as `ActivePodsWithRanks`
  (v1.32, PodDeletionCost and LogarithmicScaleDown on): unassigned < assigned,
  Pending < Unknown < Running, not ready < ready, lower deletion cost, more
  co-located siblings, ready for less time, more restarts, newer; times compared
  on a log2 scale with the UID as tie breaker.
- `Expectations`: the UIDTrackingControllerExpectations TTL cache: how many
  creates and which deletes a controller waits to observe before it syncs again.
- `slow_start_batch`: create in batches of 1, 2, 4, ... stopping at the first
  failed batch.
- `compute_hash`: the `pod-template-hash` (FNV-32a + collisionCount, safe-encoded).

Everything here is pure except `slow_start_batch`, which awaits the caller's calls.
"""

from __future__ import annotations

import asyncio
import functools
import math
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from kybernetes.api.names import validate_name
from kybernetes.api.validation import parse_quantity
from kybernetes.client import Clock

Obj = dict[str, Any]

# How long a controller waits for watch events it expects before syncing anyway.
EXPECTATIONS_TIMEOUT_SECONDS = 5 * 60.0
# Slow start: the first batch of creates; each next batch doubles.
SLOW_START_INITIAL_BATCH_SIZE = 1
# At most this many pods are created or deleted by one sync of one controller.
BURST_REPLICAS = 500
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
CONTROLLER_UID_INDEX = "controllers/controller-uid"

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}
_SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET, _FNV32_PRIME = 0x811C9DC5, 0x01000193
_ZERO_TIME = datetime.min.replace(tzinfo=UTC)


def deep_copy(obj: Obj) -> Obj:
    """A private copy of a (JSON-shaped) cached object, safe to change."""
    return orjson.loads(orjson.dumps(obj))


# --- time ---------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp (`2026-01-01T00:00:00Z`) as an aware datetime; None if unset."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_time(t: datetime) -> str:
    """metav1.Time's wire form: UTC, whole seconds."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def created(obj: Obj) -> datetime:
    """The creationTimestamp (the zero time when unset, as Go's zero value sorts)."""
    return parse_time((obj.get("metadata") or {}).get("creationTimestamp")) or _ZERO_TIME


# --- ControllerRef ------------------------------------------------------------------------


def uid_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def controller_ref_of(obj: Obj) -> Obj | None:
    """The ownerReference with controller=true (metav1.GetControllerOf), or None."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def new_controller_ref(owner: Obj, *, api_version: str, kind: str) -> Obj:
    """metav1.NewControllerRef: the owner as the controlling, deletion-blocking owner."""
    meta = owner.get("metadata") or {}
    return {"apiVersion": api_version, "kind": kind, "name": meta.get("name", ""),
            "uid": meta.get("uid", ""), "controller": True, "blockOwnerDeletion": True}


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref_of(obj)
    return ref is not None and ref.get("uid") == (owner.get("metadata") or {}).get("uid")


def index_by_controller_uid(obj: Obj) -> list[str]:
    """Index function: an object by the UID of its controller (none: not indexed)."""
    ref = controller_ref_of(obj)
    return [ref["uid"]] if ref is not None and ref.get("uid") else []


# --- pods ---------------------------------------------------------------------------------


def pod_key(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def is_pod_active(pod: Obj) -> bool:
    """Not Succeeded, not Failed and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not (
        (pod.get("metadata") or {}).get("deletionTimestamp"))


def filter_active_pods(pods: Iterable[Obj]) -> list[Obj]:
    return [p for p in pods if is_pod_active(p)]


def ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def pod_ready_time(pod: Obj) -> datetime | None:
    """When a ready pod became ready (None: not ready, or no transition time)."""
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least `min_ready_seconds` (podutil.IsPodAvailable)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = pod_ready_time(pod)
    return since is not None and since.timestamp() + min_ready_seconds < now.timestamp()


def max_container_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def deletion_cost(pod: Obj) -> int:
    """The pod-deletion-cost annotation (an int32; 0 when absent or invalid)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(POD_DELETION_COST)
    try:
        cost = int(str(value).strip()) if value is not None else 0
    except ValueError:
        return 0
    return cost if -(2**31) <= cost < 2**31 else 0


def pod_from_template(template: Obj, owner: Obj, controller_ref: Obj) -> Obj:
    """The pod a controller creates from `template` (controller.GetPodFromTemplate)."""
    tmeta = template.get("metadata") or {}
    name = (owner.get("metadata") or {}).get("name", "")
    # Use the dash only if the name stays a valid prefix (upstream's getPodsPrefix).
    prefix = f"{name}-"
    if validate_name("", "Pod", prefix, prefix=True):
        prefix = name
    meta: Obj = {"generateName": prefix, "labels": dict(tmeta.get("labels") or {}),
                 "annotations": dict(tmeta.get("annotations") or {}),
                 "ownerReferences": [dict(controller_ref)]}
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    spec = deep_copy(template.get("spec") or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


# --- ranking pods for deletion ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ranked:
    pod: Obj
    rank: int
    assigned: bool
    phase: int
    ready: bool
    cost: int
    ready_time: datetime | None
    restarts: int
    created: datetime | None
    uid: str

    @classmethod
    def of(cls, pod: Obj, rank: int) -> _Ranked:
        meta = pod.get("metadata") or {}
        return cls(pod=pod, rank=rank, assigned=bool((pod.get("spec") or {}).get("nodeName")),
                   phase=_PHASE_ORDINAL.get((pod.get("status") or {}).get("phase"), 0),
                   ready=is_pod_ready(pod), cost=deletion_cost(pod),
                   ready_time=pod_ready_time(pod), restarts=max_container_restarts(pod),
                   created=parse_time(meta.get("creationTimestamp")),
                   uid=str(meta.get("uid") or ""))


def _after_or_zero(t1: datetime | None, t2: datetime | None) -> bool:
    """t1 after t2, with an unset time counting as later than any set one."""
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _log_rank(t: datetime, now: datetime) -> int:
    nanos = round((now - t).total_seconds() * 1e9)
    return int(math.log2(nanos)) if nanos > 0 else -1


def _newer_first(a: _Ranked, b: _Ranked, t1: datetime | None, t2: datetime | None,
                 now: datetime | None) -> bool:
    """Rules 6 and 8: the more recent time first, on a log2 scale of age (ties by UID)."""
    if now is None or t1 is None or t2 is None:
        return _after_or_zero(t1, t2)
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    if diff == 0:
        return a.uid < b.uid
    return diff < 0


def _delete_before(a: _Ranked, b: _Ranked, now: datetime | None) -> bool:
    """ActivePodsWithRanks.Less: True when `a` should be deleted before `b`."""
    if a.assigned != b.assigned:
        return not a.assigned
    if a.phase != b.phase:
        return a.phase < b.phase
    if a.ready != b.ready:
        return not a.ready
    if a.cost != b.cost:
        return a.cost < b.cost
    if a.rank != b.rank:
        return a.rank > b.rank
    if a.ready and b.ready and a.ready_time != b.ready_time:
        return _newer_first(a, b, a.ready_time, b.ready_time, now)
    if a.restarts != b.restarts:
        return a.restarts > b.restarts
    if a.created != b.created:
        return _newer_first(a, b, a.created, b.created, now)
    return False


def rank_pods_for_deletion(pods: list[Obj], related: Iterable[Obj], now: datetime | None
                           ) -> list[Obj]:
    """`pods` ordered best-to-delete first. A pod's rank is the number of active
    `related` pods (the owner's siblings' pods too) on its node."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            node = (pod.get("spec") or {}).get("nodeName") or ""
            on_node[node] = on_node.get(node, 0) + 1
    ranked = [_Ranked.of(p, on_node.get((p.get("spec") or {}).get("nodeName") or "", 0))
              for p in pods]

    def cmp(a: _Ranked, b: _Ranked) -> int:
        if _delete_before(a, b, now):
            return -1
        return 1 if _delete_before(b, a, now) else 0

    return [r.pod for r in sorted(ranked, key=functools.cmp_to_key(cmp))]


def pods_to_delete(pods: list[Obj], related: Iterable[Obj], diff: int, now: datetime | None
                   ) -> list[Obj]:
    """The `diff` pods a controller should delete (no ranking when all of them go)."""
    if diff < len(pods):
        pods = rank_pods_for_deletion(pods, related, now)
    return pods[:diff]


# --- expectations -------------------------------------------------------------------------


@dataclass
class _Expectation:
    add: int
    delete: int
    timestamp: float


class Expectations:
    """UIDTrackingControllerExpectations: per controller key, the creates and the
    deletes (by pod key) it has asked for and not yet seen in its informer.

    A controller syncs (creates/deletes more) only when its expectations are met
    (`add <= 0 and delete <= 0`), expired (older than the timeout: a lost watch
    event must not stall it forever) or absent. Setting expectations replaces the
    old ones; observing only lowers them. A deletion counts once per pod key, whether
    it is seen as a deletionTimestamp or as the delete itself.
    """

    def __init__(self, clock: Clock, *, timeout: float = EXPECTATIONS_TIMEOUT_SECONDS) -> None:
        self._clock = clock
        self._timeout = timeout
        self._exp: dict[str, _Expectation] = {}
        self._uids: dict[str, set[str]] = {}

    def satisfied(self, key: str) -> bool:
        exp = self._exp.get(key)
        if exp is None:
            return True
        if exp.add <= 0 and exp.delete <= 0:
            return True
        return self._clock.now() - exp.timestamp > self._timeout

    def get(self, key: str) -> tuple[int, int] | None:
        exp = self._exp.get(key)
        return None if exp is None else (exp.add, exp.delete)

    def expect_creations(self, key: str, adds: int) -> None:
        self._exp[key] = _Expectation(adds, 0, self._clock.now())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        uids = set(pod_keys)
        self._uids[key] = uids
        self._exp[key] = _Expectation(0, len(uids), self._clock.now())

    def lower(self, key: str, *, add: int = 0, delete: int = 0) -> None:
        exp = self._exp.get(key)
        if exp is not None:
            exp.add -= add
            exp.delete -= delete

    def creation_observed(self, key: str) -> None:
        self.lower(key, add=1)

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """Count the deletion of `pod_key` if it is one we asked for (once)."""
        uids = self._uids.get(key)
        if uids is not None and pod_key in uids:
            uids.discard(pod_key)
            self.lower(key, delete=1)

    def delete(self, key: str) -> None:
        self._exp.pop(key, None)
        self._uids.pop(key, None)


# --- slow start ---------------------------------------------------------------------------


async def slow_start_batch(count: int, initial_batch_size: int,
                           fn: Callable[[], Awaitable[object]]) -> tuple[int, Exception | None]:
    """Call `fn` `count` times in concurrent batches of 1, 2, 4, ... (from
    `initial_batch_size`); after a batch with a failure, stop. Returns the number of
    successful calls and the first error (None when all succeeded)."""
    remaining, successes = count, 0
    batch = min(remaining, initial_batch_size)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for err in errors:
            if not isinstance(err, Exception):
                raise err  # CancelledError and friends are not a failed call
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]  # type: ignore[return-value]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


# --- pod-template-hash --------------------------------------------------------------------


def fnv32a(data: bytes, h: int = _FNV32_OFFSET) -> int:
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    """rand.SafeEncodeString: every byte to a consonant or digit (no vowels, no 0/1/3),
    so that encoded values never spell words."""
    return "".join(_SAFE_ALPHANUMS[b % len(_SAFE_ALPHANUMS)] for b in s.encode())


def _semantic(value: Any) -> Any:
    """A template as Go sees it after decoding: unset, null, empty and zero values are
    all the zero value; quantities compare by value (apiequality.Semantic)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _semantic(v)
            if k in ("limits", "requests", "overhead") and isinstance(v, dict):
                v = {name: _quantity(q) for name, q in v.items()}
            elif k == "sizeLimit":
                v = _quantity(v)
            if v not in (None, {}, [], "", 0, False):
                out[k] = v
        return out
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def _quantity(value: Any) -> Any:
    parsed = parse_quantity(value)
    return value if parsed is None else str(parsed)


def semantic_template(template: Obj) -> Any:
    """`template` normalised for equality (EqualIgnoreHash) and hashing."""
    return _semantic(template)


def compute_hash(template: Obj, collision_count: int | None) -> str:
    """controller.ComputeHash: FNV-32a of the template, then of collisionCount as 8
    little-endian bytes (uint32 in the first four), as a safe-encoded decimal string.

    Upstream feeds the hasher go-spew's dump of the Go struct, which no other
    language can reproduce (and which changes whenever a field is added to PodSpec,
    which is why upstream finds a Deployment's new ReplicaSet by template equality,
    never by hash). The bytes hashed here are the canonical JSON (sorted keys) of the
    semantically normalised template, so equal templates hash equally.
    """
    data = orjson.dumps(semantic_template(template), option=orjson.OPT_SORT_KEYS)
    h = fnv32a(data)
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + bytes(4), h)
    return safe_encode_string(str(h))
