"""Which GC finalizers a DELETE leaves on an object (apiserver.gcpolicy)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.registry import ResourceInfo
from kybernetes.apiserver.gcpolicy import gc_finalizers, with_gc_finalizers

Obj = dict[str, Any]

DEPLOYMENTS = ResourceInfo("apps", "v1", "Deployment", "deployments", True)
JOBS = ResourceInfo("batch", "v1", "Job", "jobs", True)
RCS = ResourceInfo("", "v1", "ReplicationController", "replicationcontrollers", True)
EVENTS = ResourceInfo("", "v1", "Event", "events", True)
NAMESPACES = ResourceInfo("", "v1", "Namespace", "namespaces", False)


def obj(*finalizers: str, deleting: str = "", grace: int | None = None) -> Obj:
    meta: Obj = {"name": "x", "finalizers": list(finalizers)}
    if deleting:
        meta["deletionTimestamp"] = deleting
    if grace is not None:
        meta["deletionGracePeriodSeconds"] = grace
    return {"metadata": meta}


@pytest.mark.parametrize(("info", "current", "options", "want"), [
    (DEPLOYMENTS, [], {}, None),
    (DEPLOYMENTS, [], {"propagationPolicy": "Background"}, None),
    (DEPLOYMENTS, [], {"propagationPolicy": "Foreground"}, ["foregroundDeletion"]),
    (DEPLOYMENTS, [], {"propagationPolicy": "Orphan"}, ["orphan"]),
    (DEPLOYMENTS, [], {"orphanDependents": True}, ["orphan"]),
    (DEPLOYMENTS, [], {"orphanDependents": False}, None),
    (DEPLOYMENTS, ["keep", "orphan"], {"propagationPolicy": "Foreground"},
     ["keep", "foregroundDeletion"]),
    (DEPLOYMENTS, ["orphan"], {}, None),
    (DEPLOYMENTS, ["foregroundDeletion"], {"propagationPolicy": "Background"}, []),
    (JOBS, [], {}, ["orphan"]),
    (JOBS, [], {"propagationPolicy": "Background"}, None),
    (RCS, [], {}, ["orphan"]),
    (EVENTS, [], {"propagationPolicy": "Foreground"}, None),
], ids=["default-background", "background", "foreground", "orphan", "orphanDependents-true",
        "orphanDependents-false-is-background", "switches-and-keeps-others",
        "existing-finalizer-is-kept", "background-clears", "batch-v1-job-orphans-by-default",
        "job-background", "v1-rc-orphans-by-default", "events-unsupported"])
def test_gc_finalizers(info: ResourceInfo, current: list[str], options: Obj,
                       want: list[str] | None) -> None:
    assert gc_finalizers(info, obj(*current), options) == want


def test_with_gc_finalizers_leaves_pending_graceful_deletions_and_namespaces_alone() -> None:
    fg = {"propagationPolicy": "Foreground"}
    pending = obj(deleting="2026-01-01T00:00:30Z", grace=30)
    assert with_gc_finalizers(DEPLOYMENTS, pending, fg) is pending
    assert with_gc_finalizers(NAMESPACES, obj(), fg)["metadata"]["finalizers"] == []
    original = obj()
    out = with_gc_finalizers(DEPLOYMENTS, original, fg)
    assert out["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert original["metadata"]["finalizers"] == []
    cleared = with_gc_finalizers(DEPLOYMENTS, obj("orphan", deleting="t", grace=0),
                                 {"propagationPolicy": "Background"})
    assert "finalizers" not in cleared["metadata"]
