"""Which garbage-collection finalizers a DELETE puts on an object.

Upstream's generic registry (`deletionFinalizersForGarbageCollection`,
`shouldOrphanDependents`, `shouldDeleteDependents` in apiserver's
registry/generic/registry/store.go): instead of deleting an object at once, a
DELETE with `propagationPolicy: Foreground` leaves it with a deletionTimestamp
and the `foregroundDeletion` finalizer (the garbage collector deletes its
blocking dependents, then removes the finalizer); `Orphan` leaves it with the
`orphan` finalizer (the collector removes the ownerReferences to it from its
dependents, then the finalizer). `Background` deletes at once and the collector
deletes the dependents afterwards.

Precedence, highest first: the request (the deprecated `orphanDependents`,
then `propagationPolicy`), a GC finalizer the object already carries, the
kind's default (`DefaultGarbageCollectionPolicy`, which for some kinds
depends on the version the request came in).
"""

from __future__ import annotations

import copy
from typing import Any

from kybernetes.api.registry import ResourceInfo

Obj = dict[str, Any]

ORPHAN = "orphan"  # metav1.FinalizerOrphanDependents
FOREGROUND = "foregroundDeletion"  # metav1.FinalizerDeleteDependents

UNSUPPORTED = "Unsupported"
ORPHAN_DEPENDENTS = "OrphanDependents"
DELETE_DEPENDENTS = "DeleteDependents"

# Strategies that return rest.Unsupported: no GC finalizers at all.
_UNSUPPORTED = frozenset({("", "Event"), ("events.k8s.io", "Event")})

# (group, version, kind) whose default is to orphan, for backwards compatibility
# (rcStrategy for core/v1, jobStrategy for batch/v1, the pre-apps/v1 workloads).
_ORPHAN_BY_DEFAULT = frozenset({
    ("", "v1", "ReplicationController"),
    ("batch", "v1", "Job"),
    ("batch", "v1beta1", "CronJob"),
    *((g, v, k) for g, v in (("extensions", "v1beta1"), ("apps", "v1beta2"))
      for k in ("Deployment", "DaemonSet", "ReplicaSet")),
    ("apps", "v1beta1", "Deployment"), ("apps", "v1beta1", "StatefulSet"),
    ("apps", "v1beta2", "StatefulSet"),
})

# Kinds whose REST storage has its own delete (namespace finalization, CRD cleanup).
_OWN_DELETE = frozenset({("", "Namespace"),
                         ("apiextensions.k8s.io", "CustomResourceDefinition")})


def default_policy(info: ResourceInfo) -> str:
    """The kind's DefaultGarbageCollectionPolicy for a request in `info.version`."""
    if (info.group, info.kind) in _UNSUPPORTED:
        return UNSUPPORTED
    if (info.group, info.version, info.kind) in _ORPHAN_BY_DEFAULT:
        return ORPHAN_DEPENDENTS
    return DELETE_DEPENDENTS


def should_orphan(policy: str, finalizers: list[str], options: Obj) -> bool:
    if policy == UNSUPPORTED:
        return False
    if options.get("orphanDependents") is not None:
        return bool(options["orphanDependents"])
    propagation = options.get("propagationPolicy")
    if propagation:
        return propagation == "Orphan"
    for f in finalizers:
        if f in (ORPHAN, FOREGROUND):
            return f == ORPHAN
    return policy == ORPHAN_DEPENDENTS


def should_delete_dependents(policy: str, finalizers: list[str], options: Obj) -> bool:
    if policy == UNSUPPORTED or options.get("orphanDependents") is not None:
        return False
    propagation = options.get("propagationPolicy")
    if propagation:
        return propagation == "Foreground"
    for f in finalizers:
        if f in (ORPHAN, FOREGROUND):
            return f == FOREGROUND
    return False


def gc_finalizers(info: ResourceInfo, obj: Obj, options: Obj) -> list[str] | None:
    """The object's finalizers as this DELETE leaves them, or None when unchanged."""
    current = list((obj.get("metadata") or {}).get("finalizers") or [])
    policy = default_policy(info)
    out = [f for f in current if f not in (ORPHAN, FOREGROUND)]
    if should_orphan(policy, current, options):
        out.append(ORPHAN)
    if should_delete_dependents(policy, current, options):
        out.append(FOREGROUND)
    return None if set(out) == set(current) else out


def with_gc_finalizers(info: ResourceInfo, obj: Obj, options: Obj) -> Obj:
    """`obj` with the finalizers a DELETE with `options` gives it (a copy when they
    change). A graceful deletion already under way keeps its finalizers, as
    upstream's BeforeDelete answers "pending" before finalizers are looked at."""
    if (info.group, info.kind) in _OWN_DELETE:
        return obj
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp") and meta.get("deletionGracePeriodSeconds"):
        return obj
    finalizers = gc_finalizers(info, obj, options)
    if finalizers is None:
        return obj
    out = copy.deepcopy(obj)
    out["metadata"]["finalizers"] = finalizers
    if not finalizers:
        del out["metadata"]["finalizers"]
    return out
