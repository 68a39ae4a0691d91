"""The Deployment controller's pure rollout math (upstream pkg/controller/deployment/util).

Nothing here does I/O: functions take Deployment and ReplicaSet dicts (as the
informers hold them; never mutated unless the docstring says so) and, where
time matters, `now`.

Vocabulary
----------

new RS        the ReplicaSet whose pod template equals the Deployment's (ignoring
              the `pod-template-hash` label); at most one, the oldest if several.
old RSs       every other ReplicaSet the Deployment controls.
active RS     one with spec.replicas > 0.
saturated     the new RS has all desired replicas, believes so (desired-replicas
              annotation) and has them all available.
fenceposts    maxSurge rounds up, maxUnavailable rounds down; if both come to 0,
              maxUnavailable is 1 (a rollout must be able to move).
revision      the `deployment.kubernetes.io/revision` annotation of an RS (and,
              copied, of the Deployment): 1 + the highest revision of the old RSs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kybernetes.controllers.controller_utils import (
    controller_ref_of,
    created,
    deep_copy,
    format_time,
    new_controller_ref,
    parse_time,
    semantic_template,
)
from kybernetes.controllers.controller_utils import uid_of as uid

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HASH_LABEL = "pod-template-hash"
# Keep the revision-history annotation under ~100 entries.
MAX_REV_HISTORY_CHARS = 2000
MAX_INT32 = 2**31 - 1

ROLLING_UPDATE, RECREATE = "RollingUpdate", "Recreate"
PROGRESSING, AVAILABLE, REPLICA_FAILURE = "Progressing", "Available", "ReplicaFailure"

# Condition reasons (deployment_util.go).
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICA_SET = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
# Rollback event reasons.
ROLLBACK_REVISION_NOT_FOUND = "DeploymentRollbackRevisionNotFound"
ROLLBACK_TEMPLATE_UNCHANGED = "DeploymentRollbackTemplateUnchanged"
ROLLBACK_DONE = "DeploymentRollback"

_SKIP_ANNOTATIONS = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                               MAX_REPLICAS, ROLLBACK_TO})


# --- field access -------------------------------------------------------------------------


def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def annotations(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def replicas(obj: Obj | None) -> int:
    """spec.replicas (defaulted to 1 by the server; 0 for no object)."""
    if obj is None:
        return 0
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj | None, field: str) -> int:
    return 0 if obj is None else int(status(obj).get(field) or 0)


# --- maxSurge / maxUnavailable ------------------------------------------------------------


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of `total` rounded."""
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        raise ValueError("invalid value for IntOrString: invalid type: string is not a "
                         "percentage")
    percent = int(text[:-1])
    return -(-percent * total // 100) if round_up else percent * total // 100


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None,
                       desired: int) -> tuple[int, int]:
    """(surge, unavailable) for `desired` replicas; never both 0."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, round_up=True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired,
                               round_up=False)
    if surge == 0 and unavailable == 0:
        # Validation forbids 0/0; rounding down can still get there. Prefer moving
        # with one unavailable pod to not moving (surge may be blocked by quota).
        unavailable = 1
    return surge, unavailable


def is_rolling_update(d: Obj) -> bool:
    return (spec(d).get("strategy") or {}).get("type") == ROLLING_UPDATE


def _fenceposts(d: Obj) -> tuple[int, int]:
    ru = (spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas(d))


def max_surge(d: Obj) -> int:
    return _fenceposts(d)[0] if is_rolling_update(d) else 0


def max_unavailable(d: Obj) -> int:
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    return min(_fenceposts(d)[1], replicas(d))


def min_available(d: Obj) -> int:
    return replicas(d) - max_unavailable(d) if is_rolling_update(d) else 0


def has_progress_deadline(d: Obj) -> bool:
    value = spec(d).get("progressDeadlineSeconds")
    return value is not None and value != MAX_INT32


def has_revision_history_limit(d: Obj) -> bool:
    value = spec(d).get("revisionHistoryLimit")
    return value is not None and value != MAX_INT32


# --- ReplicaSet lists ---------------------------------------------------------------------


def _by_created(rs: Obj) -> tuple[datetime, str]:
    return created(rs), (rs.get("metadata") or {}).get("name", "")


def sort_by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first; name breaks ties."""
    return sorted(rss, key=_by_created)


def sort_by_size_older(rss: Iterable[Obj]) -> list[Obj]:
    """Largest first; among equals, older first (used when scaling down)."""
    return sorted(sort_by_creation(rss), key=lambda rs: -replicas(rs))


def sort_by_size_newer(rss: Iterable[Obj]) -> list[Obj]:
    """Largest first; among equals, newer first (used when scaling up)."""
    return sorted(sorted(rss, key=_by_created, reverse=True), key=lambda rs: -replicas(rs))


def revision(obj: Obj) -> int | None:
    """The revision annotation (0 when absent, None when it is not a number)."""
    value = annotations(obj).get(REVISION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return None


def sort_by_revision(rss: Iterable[Obj]) -> list[Obj]:
    """Lowest revision first; unparsable or equal revisions by creation."""
    def cmp(a: Obj, b: Obj) -> int:
        ra, rb = revision(a), revision(b)
        if ra is None or rb is None or ra == rb:
            ka, kb = _by_created(a), _by_created(b)
            return -1 if ka < kb else (1 if kb < ka else 0)
        return -1 if ra < rb else 1

    return sorted(rss, key=functools.cmp_to_key(cmp))


def max_revision(rss: Iterable[Obj]) -> int:
    return max((r for rs in rss if (r := revision(rs)) is not None), default=0)


def last_revision(rss: Iterable[Obj]) -> int:
    """The second highest revision (the one before the current)."""
    top = second = 0
    for rs in rss:
        v = revision(rs)
        if v is None:
            continue
        if v >= top:
            top, second = v, top
        elif v > second:
            second = v
    return second


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def total_replicas(rss: Iterable[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def total_status(rss: Iterable[Obj | None], field: str) -> int:
    return sum(status_int(rs, field) for rs in rss if rs is not None)


# --- new and old ReplicaSets --------------------------------------------------------------


def template_without_hash(template: Obj) -> Obj:
    t = dict(template)
    meta = dict(t.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    meta["labels"] = labels
    t["metadata"] = meta
    return t


def equal_ignore_hash(t1: Obj, t2: Obj) -> bool:
    """Templates equal apart from the pod-template-hash label (semantic equality)."""
    return (semantic_template(template_without_hash(t1))
            == semantic_template(template_without_hash(t2)))


def find_new_rs(d: Obj, rss: Sequence[Obj]) -> Obj | None:
    """The oldest RS whose template is the Deployment's (several only after upgrades)."""
    template = spec(d).get("template") or {}
    for rs in sort_by_creation(rss):
        if equal_ignore_hash(spec(rs).get("template") or {}, template):
            return rs
    return None


def find_old_rss(d: Obj, rss: Sequence[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(old RSs with replicas, all old RSs)."""
    new = find_new_rs(d, rss)
    old = [rs for rs in rss if new is None or uid(rs) != uid(new)]
    return [rs for rs in old if replicas(rs) != 0], old


def find_active_or_latest(new_rs: Obj | None, old_rss: Sequence[Obj]) -> Obj | None:
    """The only active RS; with none active, the newest; with several, None."""
    if new_rs is None and not old_rss:
        return None
    olds = sorted(old_rss, key=_by_created, reverse=True)
    live = active([*olds, new_rs])
    if not live:
        return new_rs if new_rs is not None else olds[0]
    return live[0] if len(live) == 1 else None


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    try:
        desired = int(annotations(rs).get(DESIRED_REPLICAS, ""))
    except ValueError:
        return False
    want = replicas(d)
    return (replicas(rs) == want and desired == want
            and status_int(rs, "availableReplicas") == want)


def new_rs_new_replicas(d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj) -> int:
    """How many replicas the new RS may have now (NewRSNewReplicas)."""
    strategy = (spec(d).get("strategy") or {}).get("type")
    if strategy == RECREATE:
        return replicas(d)
    if strategy != ROLLING_UPDATE:
        raise ValueError(f"deployment type {strategy} isn't supported")
    ru = (spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(ru.get("maxSurge", 0), replicas(d), round_up=True)
    current = total_replicas(all_rss)
    max_total = replicas(d) + surge
    if current >= max_total:
        return replicas(new_rs)
    scale_up = min(max_total - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + scale_up


# --- proportional scaling -----------------------------------------------------------------


def _round_half_away(x: float) -> int:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def int_annotation(rs: Obj, key: str) -> int | None:
    try:
        return int(annotations(rs)[key])
    except (KeyError, ValueError):
        return None


def rs_fraction(rs: Obj, d: Obj) -> int:
    """How many replicas `rs` should gain (or lose) in a scaling event of `d`."""
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = int_annotation(rs, MAX_REPLICAS)
    if annotated is None:
        # No annotation: fall back to the current size; min/max in get_proportion
        # keeps the result within bounds.
        annotated = status_int(d, "replicas")
    if annotated <= 0:
        return 0
    new_size = replicas(rs) * deployment_replicas / annotated
    return _round_half_away(new_size) - replicas(rs)


def get_proportion(rs: Obj | None, d: Obj, to_add: int, added: int) -> int:
    """`rs`'s share of the `to_add` replicas a scaling event adds (negative: removes),
    `added` having been handed out already (GetProportion)."""
    if rs is None or replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = rs_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# --- annotations --------------------------------------------------------------------------


def copy_deployment_annotations(d: Obj, rs: Obj) -> bool:
    """Copy the Deployment's annotations (but not the rollout bookkeeping ones) to
    `rs` (mutated); True if anything changed."""
    target = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for k, v in annotations(d).items():
        if k in _SKIP_ANNOTATIONS or target.get(k) == v:
            continue
        target[k] = v
        changed = True
    return changed


def set_deployment_annotations_to(d: Obj, rs: Obj) -> None:
    """On rollback, take the RS's annotations back (keeping the skipped ones); mutates d."""
    meta = d.setdefault("metadata", {})
    kept = {k: v for k, v in (meta.get("annotations") or {}).items() if k in _SKIP_ANNOTATIONS}
    kept.update({k: v for k, v in annotations(rs).items() if k not in _SKIP_ANNOTATIONS})
    meta["annotations"] = kept


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    """Set desired-replicas and max-replicas on `rs` (mutated); True if changed."""
    target = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_replicas))):
        if target.get(key) != value:
            target[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, max_replicas: int) -> bool:
    ann = annotations(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_replicas)


def _append_revision_history(ann: dict[str, str], old_revision: str, limit: int) -> None:
    history = ann.get(REVISION_HISTORY, "")
    if not history:
        ann[REVISION_HISTORY] = old_revision
        return
    olds = history.split(",")
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > limit and start < len(olds):
        total -= len(olds[start]) + 1
        start += 1
    if total <= limit:
        ann[REVISION_HISTORY] = ",".join([*olds[start:], old_revision])


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, exists: bool,
                           limit: int = MAX_REV_HISTORY_CHARS) -> bool:
    """Sync the new RS's annotations (mutated): the Deployment's, the revision (only
    ever raised; the replaced one goes to revision-history, as on a rollback) and,
    for an RS about to be created, desired/max replicas. True if changed."""
    changed = copy_deployment_annotations(d, rs)
    ann = rs["metadata"]["annotations"]
    old_revision = ann.get(REVISION)
    try:
        old = int(old_revision) if old_revision else 0
        new = int(new_revision)
    except ValueError:
        return False
    if old < new:
        ann[REVISION] = new_revision
        changed = True
        if old_revision is not None:
            _append_revision_history(ann, old_revision, limit)
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


# --- conditions ---------------------------------------------------------------------------


def new_condition(cond_type: str, cond_status: str, reason: str, message: str,
                  now: datetime) -> Obj:
    stamp = format_time(now)
    return {"type": cond_type, "status": cond_status, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def get_condition(st: Obj, cond_type: str) -> Obj | None:
    for cond in st.get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond
    return None


def remove_condition(st: Obj, cond_type: str) -> None:
    conds = [c for c in st.get("conditions") or () if c.get("type") != cond_type]
    if conds:
        st["conditions"] = conds
    else:
        st.pop("conditions", None)


def set_condition(st: Obj, cond: Obj) -> None:
    """Set `cond` in status `st` (mutated), unless one with the same status and reason
    is there; the transition time survives while the status stays the same."""
    current = get_condition(st, cond["type"])
    if current is not None and current.get("status") == cond["status"] \
            and current.get("reason") == cond["reason"]:
        return
    cond = dict(cond)
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    remove_condition(st, cond["type"])
    st["conditions"] = [*(st.get("conditions") or ()), cond]


def rs_failure_to_deployment_condition(cond: Obj) -> Obj:
    return {"type": cond.get("type"), "status": cond.get("status"),
            "lastUpdateTime": cond.get("lastTransitionTime"),
            "lastTransitionTime": cond.get("lastTransitionTime"),
            "reason": cond.get("reason"), "message": cond.get("message")}


# --- status -------------------------------------------------------------------------------


def _omit_zero(st: Obj) -> Obj:
    """As Go encodes DeploymentStatus: zero counts are omitted (omitempty)."""
    return {k: v for k, v in st.items() if v not in (0, None, [])}


def calculate_status(all_rss: Sequence[Obj | None], new_rs: Obj | None, d: Obj,
                     now: datetime) -> Obj:
    """The Deployment's status from its RSs, with the Available condition updated."""
    available = total_status(all_rss, "availableReplicas")
    unavailable = max(total_replicas(all_rss) - available, 0)
    current = status(d)
    st = _omit_zero({
        "observedGeneration": int((d.get("metadata") or {}).get("generation") or 0),
        "replicas": total_status(all_rss, "replicas"),
        "updatedReplicas": total_status([new_rs], "replicas"),
        "readyReplicas": total_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    })
    if "collisionCount" in current:
        st["collisionCount"] = current["collisionCount"]
    if current.get("conditions"):
        st["conditions"] = [dict(c) for c in current["conditions"]]
    if available >= replicas(d) - max_unavailable(d):
        cond = new_condition(AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE,
                             "Deployment has minimum availability.", now)
    else:
        cond = new_condition(AVAILABLE, "False", MINIMUM_REPLICAS_UNAVAILABLE,
                             "Deployment does not have minimum availability.", now)
    set_condition(st, cond)
    return st


def deployment_complete(d: Obj, st: Obj) -> bool:
    """All desired replicas updated and available, no old ones, generation observed."""
    want = replicas(d)
    return (int(st.get("updatedReplicas") or 0) == want
            and int(st.get("replicas") or 0) == want
            and int(st.get("availableReplicas") or 0) == want
            and int(st.get("observedGeneration") or 0)
            >= int((d.get("metadata") or {}).get("generation") or 0))


def deployment_progressing(d: Obj, st: Obj) -> bool:
    """New pods scaled up or became ready/available, or old pods scaled down."""
    old = status(d)

    def n(s: Obj, f: str) -> int:
        return int(s.get(f) or 0)

    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(st, "replicas") - n(st, "updatedReplicas")
    return (n(st, "updatedReplicas") > n(old, "updatedReplicas") or new_old < old_old
            or n(st, "readyReplicas") > n(old, "readyReplicas")
            or n(st, "availableReplicas") > n(old, "availableReplicas"))


def deployment_timed_out(d: Obj, st: Obj, now: datetime) -> bool:
    """The Progressing condition has not moved for progressDeadlineSeconds."""
    if not has_progress_deadline(d):
        return False
    cond = get_condition(st, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since.timestamp() + int(spec(d)["progressDeadlineSeconds"]) < now.timestamp()


def pods_by_rs(pods: Iterable[Obj], rss: Iterable[Obj]) -> dict[str, list[Obj]]:
    """Pods grouped by the UID of the RS (of `rss`) that controls them."""
    out: dict[str, list[Obj]] = {uid(rs): [] for rs in rss}
    for pod in pods:
        ref = controller_ref_of(pod)
        if ref is not None and ref.get("uid") in out:
            out[ref["uid"]].append(pod)
    return out


def old_pods_running(new_rs: Obj | None, old_rss: Sequence[Obj], pod_map: dict[str, list[Obj]]
                     ) -> bool:
    """Recreate waits until no old RS reports pods and no old pod is still running."""
    if total_status(old_rss, "replicas") > 0:
        return True
    for rs_uid, pods in pod_map.items():
        if new_rs is not None and uid(new_rs) == rs_uid:
            continue
        for pod in pods:
            if status(pod).get("phase") not in ("Failed", "Succeeded"):
                return True  # Unknown counts too: it may still be running
    return False


@dataclass(frozen=True)
class ScaleStep:
    """Set `rs` to `size`; `annotate`: write it even if the size stays (to refresh its
    desired/max-replicas annotations), as proportional scaling does."""

    rs: Obj
    size: int
    annotate: bool = False


def scale_plan(d: Obj, new_rs: Obj | None, old_rss: Sequence[Obj]) -> list[ScaleStep]:
    """What a scaling event (or a sync of a paused Deployment) does (upstream `scale`):
    the only active RS (or the newest) takes spec.replicas; a saturated new RS empties
    the old ones; otherwise, for RollingUpdate, every active RS grows or shrinks in
    proportion to its size, within replicas + maxSurge."""
    target = find_active_or_latest(new_rs, old_rss)
    if target is not None:
        return [] if replicas(target) == replicas(d) else [ScaleStep(target, replicas(d))]
    if is_saturated(d, new_rs):
        return [ScaleStep(old, 0) for old in active(old_rss)]
    if not is_rolling_update(d):
        return []
    live = active([*old_rss, new_rs])
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - total_replicas(live)
    # Scaling up grows newer RSs first; scaling down shrinks older ones first.
    if to_add > 0:
        live = sort_by_size_newer(live)
    elif to_add < 0:
        live = sort_by_size_older(live)
    sizes = proportional_sizes(d, live, to_add)
    return [ScaleStep(rs, size, annotate=True) for rs, size in zip(live, sizes, strict=True)]


def proportional_sizes(d: Obj, rss: Sequence[Obj], to_add: int) -> list[int]:
    """New sizes of the active `rss` (sorted: by size, newer first when scaling up,
    older first when scaling down) when `to_add` replicas are added or removed:
    each gets its proportion, the largest (first) the leftover, never below 0."""
    sizes, added = [], 0
    for rs in rss:
        share = get_proportion(rs, d, to_add, added) if to_add != 0 else 0
        sizes.append(replicas(rs) + share)
        added += share
    if sizes and to_add != 0:
        sizes[0] = max(sizes[0] + to_add - added, 0)
    return sizes


# --- revisions, rollback ------------------------------------------------------------------


def set_deployment_revision(d: Obj, rev: str) -> bool:
    """Set the Deployment's revision annotation (d mutated); True if it changed."""
    ann = d.setdefault("metadata", {}).setdefault("annotations", {})
    if ann.get(REVISION) == rev:
        return False
    ann[REVISION] = rev
    return True


def rollback_to(d: Obj) -> int | None:
    """The revision of a pending rollback (the deprecated rollbackTo, kept as an
    annotation in apps/v1; 0 = the previous revision), or None."""
    value = annotations(d).get(ROLLBACK_TO)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def set_from_rs_template(d: Obj, template: Obj) -> None:
    """d's pod template becomes `template` without the pod-template-hash label."""
    spec(d)  # d must have a spec
    d["spec"]["template"] = deep_copy(template_without_hash(template))
    meta = d["spec"]["template"]["metadata"]
    if not meta.get("labels"):
        meta.pop("labels", None)


def new_replica_set(d: Obj, pod_hash: str) -> Obj:
    """The new RS of `d` for its template with hash `pod_hash` (replicas still 0): named
    `<deployment>-<hash>`, selector and labels with the pod-template-hash label."""
    meta = d.get("metadata") or {}
    template = deep_copy(spec(d).get("template") or {})
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: pod_hash}
    selector = deep_copy(spec(d).get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{meta.get('name')}-{pod_hash}", "namespace": meta.get("namespace"),
                     "labels": dict(tmeta["labels"]),
                     "ownerReferences": [new_controller_ref(d, api_version="apps/v1",
                                                            kind="Deployment")]},
        "spec": {"replicas": 0, "minReadySeconds": int(spec(d).get("minReadySeconds") or 0),
                 "selector": selector, "template": template},
    }


# --- progress -----------------------------------------------------------------------------


def _subject(d: Obj, new_rs: Obj | None) -> str:
    if new_rs is not None:
        return f'ReplicaSet "{new_rs["metadata"]["name"]}"'
    return f'Deployment "{d["metadata"]["name"]}"'


def update_progress(d: Obj, st: Obj, new_rs: Obj | None, now: datetime) -> None:
    """Set the Progressing condition of the new status `st` (mutated) during a rollout:
    complete, progressing (lastUpdateTime moves, transition time stays) or timed out."""
    current = get_condition(status(d), PROGRESSING)
    subject = _subject(d, new_rs)
    if deployment_complete(d, st):
        set_condition(st, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                        f"{subject} has successfully progressed.", now))
    elif deployment_progressing(d, st):
        cond = new_condition(PROGRESSING, "True", REPLICA_SET_UPDATED,
                             f"{subject} is progressing.", now)
        if current is not None:
            if current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            remove_condition(st, PROGRESSING)
        set_condition(st, cond)
    elif deployment_timed_out(d, st, now):
        set_condition(st, new_condition(PROGRESSING, "False", TIMED_OUT,
                                        f"{subject} has timed out progressing.", now))


def replica_failures(all_rss: Sequence[Obj | None], new_rs: Obj | None) -> list[Obj]:
    """ReplicaFailure conditions of the RSs as Deployment conditions (the new RS's first)."""
    def of(rss: Iterable[Obj | None]) -> list[Obj]:
        return [rs_failure_to_deployment_condition(c) for rs in rss if rs is not None
                for c in status(rs).get("conditions") or () if c.get("type") == REPLICA_FAILURE]

    return of([new_rs]) or of(all_rss)


def stuck_requeue_after(d: Obj, st: Obj, now: datetime) -> float | None:
    """Seconds until `d` must be looked at again to notice a missed progress deadline
    (requeueStuckDeployment); None when there is nothing to watch for."""
    current = get_condition(status(d), PROGRESSING)
    if not has_progress_deadline(d) or current is None:
        return None
    if deployment_complete(d, st) or current.get("reason") == TIMED_OUT:
        return None
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return None
    deadline = since.timestamp() + int(spec(d)["progressDeadlineSeconds"])
    return deadline - now.timestamp()
