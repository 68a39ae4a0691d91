"""Pure parts of the namespace, pod GC, TTL-after-finished, root CA and service account
controllers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.api.registry import ResourceInfo
from kybernetes.controllers.namespace import (
    FINALIZER_ESTIMATE_SECONDS,
    ResourceResult,
    estimate_pod_termination,
    finalized,
    new_conditions,
    remaining_result,
    update_conditions,
)
from kybernetes.controllers.podgc import (
    Quarantine,
    terminated_to_delete,
    terminating_out_of_service,
    unscheduled_terminating,
)
from kybernetes.controllers.rootcacert import DESCRIPTION, desired_configmap
from kybernetes.controllers.serviceaccount import is_active
from kybernetes.controllers.ttlafterfinished import (
    FinishTimeUnknown,
    needs_cleanup,
    time_left,
)

Obj = dict[str, Any]
CONFIGMAPS = ResourceInfo("", "v1", "ConfigMap", "configmaps", True)
WIDGETS = ResourceInfo("example.com", "v1", "Widget", "widgets", True)

# --- namespace -----------------------------------------------------------------------------


def item(name: str, *finalizers: str) -> Obj:
    return {"metadata": {"name": name, "finalizers": list(finalizers)}}


@pytest.mark.parametrize(("items", "estimate", "want"), [
    ([], 30, ResourceResult()),
    ([item("a")], 30, ResourceResult(30, 1, {})),
    ([item("a", "x/y"), item("b", "x/y")], 0,
     ResourceResult(FINALIZER_ESTIMATE_SECONDS, 2, {"x/y": 2})),
    ([item("a")], 0, ResourceResult(0, 1, {}, "unexpected items still remain in namespace: "
                                           "ns for gvr: {example.com v1 widgets}")),
], ids=["nothing-left", "pods-terminating", "held-by-finalizers", "unexpected"])
def test_remaining_result(items: list[Obj], estimate: int, want: ResourceResult) -> None:
    assert remaining_result(WIDGETS, "ns", items, estimate) == want


def test_estimate_pod_termination() -> None:
    pods = [{"spec": {"terminationGracePeriodSeconds": 30}, "status": {"phase": "Running"}},
            {"spec": {"terminationGracePeriodSeconds": 90}, "status": {"phase": "Succeeded"}},
            {"spec": {"terminationGracePeriodSeconds": 45}}]
    assert estimate_pod_termination(pods) == 45


def test_conditions_of_a_pass_with_content_left() -> None:
    failing = new_conditions(discovery_error="", content_errors=["boom"], results={
        CONFIGMAPS: ResourceResult(15, 2, {"a/b": 2}),
        WIDGETS: ResourceResult(15, 1, {"a/b": 1, "c/d": 1})})
    by_type = {c["type"]: c for c in failing}
    assert by_type["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 2 resource instances, "
        "widgets.example.com has 1 resource instances")
    assert by_type["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: a/b in 3 resource instances, "
        "c/d in 1 resource instances")
    assert by_type["NamespaceDeletionContentFailure"] == {
        "type": "NamespaceDeletionContentFailure", "status": "True",
        "reason": "ContentDeletionFailed",
        "message": "Failed to delete all resource types, 1 remaining: boom"}


def test_update_conditions_sets_all_types_and_moves_transition_time_on_status_change() -> None:
    failing = new_conditions(discovery_error="no discovery", results={}, content_errors=[])
    conds, changed = update_conditions([], failing, "t1")
    assert changed
    assert [(c["type"], c["status"], c["lastTransitionTime"]) for c in conds] == [
        ("NamespaceDeletionDiscoveryFailure", "True", "t1"),
        ("NamespaceDeletionGroupVersionParsingFailure", "False", "t1"),
        ("NamespaceDeletionContentFailure", "False", "t1"),
        ("NamespaceContentRemaining", "False", "t1"),
        ("NamespaceFinalizersRemaining", "False", "t1")]
    assert update_conditions(conds, failing, "t2") == (conds, False)
    healed, changed = update_conditions(conds, [], "t3")
    assert changed and healed[0] == {
        "type": "NamespaceDeletionDiscoveryFailure", "status": "False",
        "reason": "ResourcesDiscovered", "message": "All resources successfully discovered",
        "lastTransitionTime": "t3"}
    assert healed[1]["lastTransitionTime"] == "t1"


def test_finalized() -> None:
    assert not finalized({"spec": {"finalizers": ["kubernetes"]}})
    assert finalized({"spec": {"finalizers": ["other"]}})
    assert finalized({})


# --- pod GC --------------------------------------------------------------------------------


def pod(name: str, phase: str = "Running", *, created: str = "2026-01-01T00:00:00Z",
        reason: str = "", node: str = "n1", deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-02T00:00:00Z"
    status: Obj = {"phase": phase}
    if reason:
        status["reason"] = reason
    return {"metadata": meta, "spec": {"nodeName": node}, "status": status}


def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


@pytest.mark.parametrize(("threshold", "want"), [
    (5, []),
    (3, ["evicted"]),
    (1, ["evicted", "old", "b-new"]),
], ids=["under-threshold", "evicted-first", "then-oldest-then-name"])
def test_terminated_pods_beyond_the_threshold(threshold: int, want: list[str]) -> None:
    pods = [pod("running"),
            pod("c-new", "Failed", created="2026-01-03T00:00:00Z"),
            pod("b-new", "Succeeded", created="2026-01-03T00:00:00Z"),
            pod("old", "Succeeded", created="2026-01-01T00:00:00Z"),
            pod("evicted", "Failed", reason="Evicted", created="2026-01-05T00:00:00Z")]
    assert names(terminated_to_delete(pods, threshold)) == want


def test_terminating_pods_on_out_of_service_nodes() -> None:
    taint = {"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}
    nodes = {"down": {"spec": {"taints": [taint]}, "status": {"conditions": [
                 {"type": "Ready", "status": "False"}]}},
             "up": {"spec": {"taints": [taint]}, "status": {"conditions": [
                 {"type": "Ready", "status": "True"}]}},
             "plain": {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}}
    pods = [pod("a", node="down", deleting=True), pod("b", node="down"),
            pod("c", node="up", deleting=True), pod("d", node="plain", deleting=True),
            pod("e", node="missing", deleting=True)]
    assert names(terminating_out_of_service(pods, nodes)) == ["a"]
    assert names(unscheduled_terminating([*pods, pod("f", node="", deleting=True)])) == ["f"]


def test_quarantine() -> None:
    q = Quarantine(40)
    q.observe(["gone"], now=100)
    q.observe(["gone", "later"], now=120)
    assert q.take_due(139) == []
    assert q.take_due(140) == ["gone"]
    assert q.take_due(170) == ["later"]
    assert q.take_due(1000) == []


# --- TTL after finished --------------------------------------------------------------------


def job(ttl: int | None, *conditions: Obj) -> Obj:
    spec = {} if ttl is None else {"ttlSecondsAfterFinished": ttl}
    return {"metadata": {"name": "j", "namespace": "ns"}, "spec": spec,
            "status": {"conditions": list(conditions)}}


COMPLETE = {"type": "Complete", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
FAILED = {"type": "Failed", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
SUSPENDED = {"type": "Suspended", "status": "True"}


@pytest.mark.parametrize(("obj", "want"), [
    (job(10, COMPLETE), True), (job(0, FAILED), True), (job(None, COMPLETE), False),
    (job(10, SUSPENDED), False), (job(10, {**COMPLETE, "status": "False"}), False),
], ids=["complete", "failed", "no-ttl", "not-finished", "condition-false"])
def test_needs_cleanup(obj: Obj, want: bool) -> None:
    assert needs_cleanup(obj) is want


def test_time_left() -> None:
    now = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    left, expire_at = time_left(job(100, COMPLETE), now)
    assert left == 70 and expire_at == datetime(2026, 1, 1, 0, 1, 40, tzinfo=UTC)
    assert time_left(job(10, COMPLETE), now)[0] == -20
    with pytest.raises(FinishTimeUnknown):
        time_left(job(10, {"type": "Complete", "status": "True"}), now)


# --- root CA, service accounts -------------------------------------------------------------


def test_root_ca_configmap() -> None:
    new = desired_configmap(None, "ns", "PEM")
    assert new == {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "kube-root-ca.crt", "namespace": "ns",
                                "annotations": {"kubernetes.io/description": DESCRIPTION}},
                   "data": {"ca.crt": "PEM"}}
    assert desired_configmap(new, "ns", "PEM") is None
    fixed = desired_configmap({**new, "data": {"ca.crt": "old", "extra": "x"}}, "ns", "PEM")
    assert fixed is not None and fixed["data"] == {"ca.crt": "PEM"}
    custom = {**new, "metadata": {**new["metadata"],
                                  "annotations": {"kubernetes.io/description": "mine"}},
              "data": {"ca.crt": "old"}}
    assert desired_configmap(custom, "ns", "PEM")["metadata"]["annotations"] == {
        "kubernetes.io/description": "mine"}


@pytest.mark.parametrize(("ns", "want"), [
    ({"metadata": {"name": "a"}, "status": {"phase": "Active"}}, True),
    ({"metadata": {"name": "a"}}, True),
    ({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}}, False),
    ({"metadata": {"name": "a", "deletionTimestamp": "t"}}, False),
], ids=["active", "no-phase-yet", "terminating", "being-deleted"])
def test_service_accounts_only_in_active_namespaces(ns: Obj, want: bool) -> None:
    assert is_active(ns) is want
