"""The DaemonSet controller's decisions: which nodes are eligible (selectors, affinity,
taints and the automatic daemon tolerations), what to do per node, the rolling
update with maxUnavailable and maxSurge, and the status counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.client import FakeClock
from kybernetes.controllers._nodes import node_selector_matches, tolerates
from kybernetes.controllers.daemonset import (
    DaemonSetController,
    daemon_pod_spec,
    daemonset_status,
    node_should_run,
    pin_to_node,
    plan_node,
    rolling_update_surge,
    rolling_update_unavailable,
    target_node_name,
)

from .workloads_fake import drain, make_context, run

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
HASH = "new"


def node(name: str = "n1", *, labels: dict[str, str] | None = None,
         taints: list[tuple[str, str, str]] = ()) -> Obj:  # type: ignore[assignment]
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": [{"key": k, "value": v, "effect": e} for k, v, e in taints]}}


def daemonset(*, selector: dict[str, str] | None = None, affinity: Obj | None = None,
              tolerations: list[Obj] | None = None, host_network: bool = False,
              surge: Any = 0, unavailable: Any = 1) -> Obj:
    spec: Obj = {"containers": [{"name": "main", "image": "busybox"}]}
    if selector:
        spec["nodeSelector"] = selector
    if affinity:
        spec["affinity"] = affinity
    if tolerations:
        spec["tolerations"] = tolerations
    if host_network:
        spec["hostNetwork"] = True
    return {"metadata": {"name": "ds", "namespace": "ns", "uid": "uid-ds", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "ds"}},
                     "template": {"metadata": {"labels": {"app": "ds"}}, "spec": spec},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": surge, "maxUnavailable": unavailable}},
                     "revisionHistoryLimit": 10}}


def pod(name: str, node_name: str = "n1", *, hash_: str = HASH, phase: str = "Running",
        ready: bool = True, created: str = "2026-01-01T00:00:00Z", deleting: bool = False
        ) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                 "creationTimestamp": created,
                 "labels": {"app": "ds", "controller-revision-hash": hash_}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": node_name},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


AFFINITY_ZONE_A = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "zone", "operator": "In", "values": ["a"]}]}]}}}


@pytest.mark.parametrize(("n", "ds", "want"), [
    (node(), daemonset(), (True, True)),
    (node(labels={"disk": "ssd"}), daemonset(selector={"disk": "ssd"}), (True, True)),
    (node(), daemonset(selector={"disk": "ssd"}), (False, False)),
    (node(labels={"zone": "a"}), daemonset(affinity=AFFINITY_ZONE_A), (True, True)),
    (node(labels={"zone": "b"}), daemonset(affinity=AFFINITY_ZONE_A), (False, False)),
    (node(taints=[("dedicated", "db", "NoSchedule")]), daemonset(), (False, True)),
    (node(taints=[("dedicated", "db", "NoExecute")]), daemonset(), (False, False)),
    (node(taints=[("dedicated", "db", "PreferNoSchedule")]), daemonset(), (True, True)),
    (node(taints=[("dedicated", "db", "NoSchedule")]),
     daemonset(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db"}]),
     (True, True)),
    (node(taints=[("dedicated", "db", "NoExecute")]),
     daemonset(tolerations=[{"operator": "Exists"}]), (True, True)),
    (node(taints=[("node.kubernetes.io/unschedulable", "", "NoSchedule")]), daemonset(),
     (True, True)),
    (node(taints=[("node.kubernetes.io/not-ready", "", "NoExecute")]), daemonset(),
     (True, True)),
    (node(taints=[("node.kubernetes.io/unreachable", "", "NoExecute")]), daemonset(),
     (True, True)),
    (node(taints=[("node.kubernetes.io/memory-pressure", "", "NoSchedule")]), daemonset(),
     (True, True)),
    (node(taints=[("node.kubernetes.io/network-unavailable", "", "NoSchedule")]), daemonset(),
     (False, True)),
    (node(taints=[("node.kubernetes.io/network-unavailable", "", "NoSchedule")]),
     daemonset(host_network=True), (True, True)),
], ids=["plain", "selector-match", "selector-miss", "affinity-match", "affinity-miss",
        "noschedule-taint", "noexecute-taint", "prefer-noschedule", "tolerated",
        "tolerate-everything", "cordoned", "not-ready", "unreachable", "memory-pressure",
        "network-unavailable", "network-unavailable-host-network"])
def test_node_eligibility(n: Obj, ds: Obj, want: tuple[bool, bool]) -> None:
    assert node_should_run(n, ds) == want


@pytest.mark.parametrize(("op", "values", "labels", "match"), [
    ("In", ["a"], {"k": "a"}, True),
    ("NotIn", ["a"], {}, True),
    ("Exists", [], {"k": ""}, True),
    ("DoesNotExist", [], {"k": "x"}, False),
    ("Gt", ["5"], {"k": "7"}, True),
    ("Lt", ["5"], {"k": "x"}, False),
    ("In", [], {"k": "a"}, False),  # invalid: the term matches nothing
])
def test_node_selector_operators(op: str, values: list[str], labels: dict[str, str],
                                 match: bool) -> None:
    selector = {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "k", "operator": op, "values": values}]}]}
    assert node_selector_matches(selector, node(labels=labels)) is match


def test_toleration_semantics() -> None:
    taint = {"key": "k", "value": "v", "effect": "NoSchedule"}
    assert tolerates({"key": "k", "operator": "Equal", "value": "v"}, taint)
    assert not tolerates({"key": "k", "value": "w"}, taint)
    assert not tolerates({"key": "k", "operator": "Exists", "effect": "NoExecute"}, taint)
    assert tolerates({"operator": "Exists"}, taint)


def test_daemon_pods_get_the_automatic_tolerations_once() -> None:
    ds = daemonset(tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                 "effect": "NoExecute", "tolerationSeconds": 5}])
    keys = [t["key"] for t in daemon_pod_spec(ds)["tolerations"]]
    assert sorted(keys) == sorted({
        "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
        "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable"})
    unreachable = [t for t in daemon_pod_spec(ds)["tolerations"]
                   if t["key"] == "node.kubernetes.io/unreachable"]
    assert unreachable == [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                            "effect": "NoExecute"}]


def test_pods_are_pinned_by_node_affinity() -> None:
    affinity = pin_to_node({**AFFINITY_ZONE_A, "podAffinity": {"x": 1}}, "n7")
    assert affinity["podAffinity"] == {"x": 1}
    assert affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["n7"]}]}]}
    unbound = {"metadata": {}, "spec": {"affinity": affinity}}
    assert target_node_name(unbound) == "n7"
    assert target_node_name({"spec": {"nodeName": "n2", "affinity": affinity}}) == "n2"


@pytest.mark.parametrize(("n", "pods", "create", "delete", "failed"), [
    (node(), None, True, [], []),
    (node(), [pod("a")], False, [], []),
    (node(), [pod("a", created="2026-01-01T00:00:01Z"), pod("b")], False, ["a"], []),
    (node(), [pod("a", phase="Failed")], False, [], ["a"]),
    (node(), [pod("a", phase="Succeeded")], False, ["a"], []),
    (node(taints=[("x", "", "NoExecute")]), [pod("a")], False, ["a"], []),
    (node(taints=[("x", "", "NoSchedule")]), [pod("a")], False, [], []),
    (node(), [pod("a", deleting=True)], False, [], []),
], ids=["missing", "one", "surplus-keeps-oldest", "failed", "succeeded", "evicted",
        "tainted-keeps", "being-deleted"])
def test_plan_per_node(n: Obj, pods: list[Obj] | None, create: bool, delete: list[str],
                       failed: list[str]) -> None:
    plan = plan_node(n, pods, daemonset(), HASH, NOW)
    assert (plan.create, [p["metadata"]["name"] for p in plan.delete],
            [p["metadata"]["name"] for p in plan.failed]) == (create, delete, failed)


def test_with_surge_an_old_pod_stays_until_the_new_one_is_available() -> None:
    ds = daemonset(surge=1, unavailable=0)
    old = pod("old", hash_="old", created="2026-01-01T00:00:00Z")
    waiting = pod("new", ready=False, created="2026-01-01T00:00:05Z")
    assert plan_node(node(), [old, waiting], ds, HASH, NOW).delete == []
    ready = pod("new", created="2026-01-01T00:00:05Z")
    assert [p["metadata"]["name"] for p in plan_node(node(), [old, ready], ds, HASH,
                                                      NOW).delete] == ["old"]


def _names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


@pytest.mark.parametrize(("by_node", "max_unavailable", "want"), [
    ({"n1": [pod("a", hash_="old")], "n2": [pod("b", hash_="old")],
      "n3": [pod("c", hash_="old")]}, 1, ["a"]),
    ({"n1": [pod("a", hash_="old")], "n2": [pod("b", hash_="old")],
      "n3": [pod("c", hash_="old")]}, 2, ["a", "b"]),
    ({"n1": [pod("a", ready=False)], "n2": [pod("b", hash_="old")]}, 1, []),
    ({"n1": [pod("a", hash_="old", ready=False)], "n2": [pod("b", hash_="old")]}, 1, ["a"]),
    ({"n1": [], "n2": [pod("b", hash_="old")]}, 1, []),
    ({"n1": [pod("a")], "n2": [pod("b", hash_="old")]}, 1, ["b"]),
], ids=["one-at-a-time", "two-at-a-time", "new-pod-not-ready-blocks",
        "unavailable-old-pod-goes-anyway", "missing-pod-counts-unavailable", "next-one"])
def test_rolling_update_within_max_unavailable(by_node: dict[str, list[Obj]],
                                               max_unavailable: int, want: list[str]) -> None:
    got = rolling_update_unavailable(by_node, daemonset(), HASH, max_unavailable, NOW)
    assert _names(got) == want


def test_rolling_update_with_surge() -> None:
    nodes = {n: node(n) for n in ("n1", "n2", "n3")}
    by_node = {"n1": [pod("a", hash_="old")], "n2": [pod("b", hash_="old")],
               "n3": [pod("c", hash_="old", ready=False)]}
    delete, create = rolling_update_surge(by_node, nodes, daemonset(surge=1), HASH, 1, 3, NOW)
    # The unavailable old pod is replaced at once; one more node may surge.
    assert (_names(delete), create) == ([], ["n3", "n1"])
    by_node = {"n1": [pod("a", hash_="old"), pod("a2")], "n2": [pod("b", hash_="old")]}
    delete, create = rolling_update_surge(by_node, nodes, daemonset(surge=1), HASH, 1, 2, NOW)
    assert (_names(delete), create) == (["a"], ["n2"])


def test_status_counters() -> None:
    nodes = [node("n1"), node("n2"), node("n3", taints=[("x", "", "NoSchedule")]), node("n4")]
    by_node = {"n1": [pod("a")], "n2": [pod("b", hash_="old", ready=False)],
               "n3": [pod("c")]}
    assert daemonset_status(daemonset(), nodes, by_node, HASH, NOW) == {
        "desiredNumberScheduled": 3, "currentNumberScheduled": 2, "numberMisscheduled": 1,
        "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 1,
        "numberUnavailable": 2}


def test_controller_creates_one_pinned_pod_per_node_and_a_revision() -> None:
    async def scenario() -> None:
        clock = FakeClock(wall_start=NOW)
        ctx, api = make_context(clock)
        controller = DaemonSetController(ctx)
        for name in ("n1", "n2"):
            await api.create(("v1", "Node"), node(name))
        await api.create(("v1", "Node"), node("n3", taints=[("x", "", "NoSchedule")]))
        ds = daemonset()
        del ds["metadata"]["uid"]
        await api.create(("apps/v1", "DaemonSet"), ds)
        await drain(controller)
        pods = api.objects("pods")
        assert sorted(target_node_name(p) for p in pods) == ["n1", "n2"]
        revisions = api.objects("controllerrevisions")
        assert len(revisions) == 1 and revisions[0]["revision"] == 1
        hash_ = revisions[0]["metadata"]["labels"]["controller-revision-hash"]
        assert all(p["metadata"]["labels"]["controller-revision-hash"] == hash_ for p in pods)
        assert all(p["metadata"]["generateName"] == "ds-" for p in pods)
        status = api.objects("daemonsets")[0]["status"]
        assert (status["desiredNumberScheduled"], status["currentNumberScheduled"],
                status["numberReady"]) == (2, 2, 0)
        await api.delete(("v1", "Node"), "n2")
        await drain(controller)
        assert sorted(target_node_name(p) for p in api.objects("pods")) == ["n1"]
        await ctx.close()

    run(scenario())
