"""The node lifecycle controller: heartbeats, Unknown conditions, taints, pods not ready."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kybernetes.client import FakeClock, builtin_resource
from kybernetes.controllers.nodelifecycle import (
    NOT_READY,
    UNREACHABLE,
    NodeHealth,
    NodeLifecycleController,
    desired_taints,
    mark_unknown,
    observe,
    pods_to_mark_not_ready,
)

from .fake_api import FakeApi, context, fill

Obj = dict[str, Any]
NODES, PODS = builtin_resource("v1", "Node"), builtin_resource("v1", "Pod")
LEASES = builtin_resource("coordination.k8s.io/v1", "Lease")
WALL = datetime(2026, 1, 1, tzinfo=UTC)
STAMP = "2026-01-01T00:00:00Z"


def cond(kind: str, status: str, heartbeat: str = STAMP) -> Obj:
    return {"type": kind, "status": status, "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": STAMP}


def make_node(*conditions: Obj, taints: list[Obj] | None = None, unschedulable: bool = False,
              created: str = STAMP) -> Obj:
    spec: Obj = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": "n1", "uid": "u1", "creationTimestamp": created},
            "spec": spec, "status": {"conditions": list(conditions)}}


def make_lease(renew: str) -> Obj:
    return {"metadata": {"name": "n1", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": "n1", "renewTime": renew}}


# --- health ---------------------------------------------------------------------------------


def test_heartbeats_move_the_probe_time() -> None:
    node = make_node(cond("Ready", "True"))
    h = observe(None, node, make_lease("2026-01-01T00:00:00.000000Z"), 10.0, WALL)
    assert h.probe == 10.0
    assert observe(h, node, make_lease("2026-01-01T00:00:00.000000Z"), 20.0, WALL).probe == 10.0
    assert observe(h, node, make_lease("2026-01-01T00:00:05.000000Z"), 20.0, WALL).probe == 20.0
    newer = make_node(cond("Ready", "True", heartbeat="2026-01-01T00:00:09Z"))
    assert observe(h, newer, None, 30.0, WALL).probe == 30.0


def test_a_node_that_never_posted_is_timed_from_its_creation() -> None:
    node = make_node(created="2026-01-01T00:00:00Z")
    h = observe(None, node, None, 100.0, WALL + timedelta(seconds=30))
    assert h == NodeHealth(probe=70.0, ready_heartbeat="", lease_renew=None)


def test_mark_unknown() -> None:
    node = make_node(cond("Ready", "True"), cond("MemoryPressure", "False"),
                     cond("NetworkUnavailable", "False"))
    conditions = mark_unknown(node, "2026-01-01T00:01:00Z")
    assert conditions is not None
    by_type = {c["type"]: c for c in conditions}
    assert by_type["Ready"]["status"] == "Unknown"
    assert by_type["Ready"]["reason"] == "NodeStatusUnknown"
    assert by_type["Ready"]["message"] == "Kubelet stopped posting node status."
    assert by_type["Ready"]["lastTransitionTime"] == "2026-01-01T00:01:00Z"
    assert by_type["Ready"]["lastHeartbeatTime"] == STAMP
    assert by_type["NetworkUnavailable"]["status"] == "False"
    assert by_type["DiskPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert mark_unknown({"metadata": {}, "status": {"conditions": conditions}}, STAMP) is None


def taint(key: str, effect: str, added: str = STAMP) -> Obj:
    return {"key": key, "effect": effect, "timeAdded": added}


NOW = "2026-01-01T00:05:00Z"


@pytest.mark.parametrize(("node", "expected"), [
    pytest.param(make_node(cond("Ready", "True")), None, id="ready: nothing"),
    pytest.param(make_node(cond("Ready", "Unknown")),
                 [taint(UNREACHABLE, "NoExecute", NOW), taint(UNREACHABLE, "NoSchedule", NOW)],
                 id="unknown: unreachable"),
    pytest.param(make_node(cond("Ready", "False"), taints=[taint(UNREACHABLE, "NoExecute"),
                                                           taint(UNREACHABLE, "NoSchedule")]),
                 [taint(NOT_READY, "NoExecute", NOW), taint(NOT_READY, "NoSchedule", NOW)],
                 id="unreachable swapped for not-ready"),
    pytest.param(make_node(cond("Ready", "True"), taints=[
        taint(NOT_READY, "NoExecute"), {"key": "user", "effect": "NoExecute"}]),
        [{"key": "user", "effect": "NoExecute"}], id="ready again: own taints go, others stay"),
    pytest.param(make_node(cond("Ready", "True"), cond("DiskPressure", "True"),
                           unschedulable=True),
                 [taint("node.kubernetes.io/disk-pressure", "NoSchedule", NOW),
                  taint("node.kubernetes.io/unschedulable", "NoSchedule", NOW)],
                 id="pressure and cordon"),
    pytest.param(make_node(cond("Ready", "Unknown"), taints=[
        taint(UNREACHABLE, "NoExecute"), taint(UNREACHABLE, "NoSchedule")]), None,
        id="already tainted: timeAdded kept"),
])
def test_desired_taints(node: Obj, expected: list[Obj] | None) -> None:
    assert desired_taints(node, NOW) == expected


def test_pods_to_mark_not_ready() -> None:
    def pod(name: str, node: str, ready: str | None) -> Obj:
        conds = [{"type": "Ready", "status": ready}] if ready else []
        return {"metadata": {"name": name}, "spec": {"nodeName": node},
                "status": {"conditions": conds}}

    pods = [pod("a", "n1", "True"), pod("b", "n1", "False"), pod("c", "n1", None),
            pod("d", "n2", "True")]
    assert [p["metadata"]["name"] for p in pods_to_mark_not_ready(pods, "n1")] == ["a"]


# --- the controller on virtual time -----------------------------------------------------------


def test_lost_node_goes_unknown_after_the_grace_period_and_comes_back() -> None:
    async def main() -> None:
        clock = FakeClock(wall_start=WALL)
        api = FakeApi(clock)
        ctrl = NodeLifecycleController(context(api, node_monitor_grace_period=40))
        node = api.put(NODES, make_node(cond("Ready", "True")))
        pod = api.put(PODS, {"metadata": {"name": "p", "namespace": "ns"},
                             "spec": {"nodeName": "n1"},
                             "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
        fill(ctrl.nodes, [node])
        fill(ctrl.pods, [pod])
        fill(ctrl.leases, [make_lease("2026-01-01T00:00:00.000000Z")])

        await ctrl.reconcile("n1")
        await clock.advance(40)
        await ctrl.reconcile("n1")
        assert api.writes() == []  # within the grace period

        await clock.advance(1)
        await ctrl.reconcile("n1")
        assert [c[:3] for c in api.writes()] == [("update", "nodes", "n1"),
                                                 ("patch", "nodes", "n1"),
                                                 ("update", "pods", "p")]
        lost = await api.get(NODES, "n1")
        assert {(t["key"], t["effect"]) for t in lost["spec"]["taints"]} == {
            (UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")}
        assert (await api.get(PODS, "p", namespace="ns"))["status"]["conditions"][0][
            "status"] == "False"
        await ctrl.recorder.flush()
        assert ("NodeNotReady", "Node n1 status is now: NodeNotReady") in api.events()

        # The kubelet is back: a new heartbeat and Ready True.
        lost["status"]["conditions"] = [cond("Ready", "True", heartbeat="2026-01-01T00:01:00Z")]
        fill(ctrl.nodes, [api.put(NODES, lost)])
        await ctrl.reconcile("n1")
        assert (await api.get(NODES, "n1"))["spec"]["taints"] == []

    asyncio.run(main())


def test_renewed_lease_keeps_the_node_healthy() -> None:
    async def main() -> None:
        clock = FakeClock(wall_start=WALL)
        api = FakeApi(clock)
        ctrl = NodeLifecycleController(context(api, node_monitor_grace_period=40))
        fill(ctrl.nodes, [api.put(NODES, make_node(cond("Ready", "True")))])
        for second in range(0, 200, 10):
            renew = (WALL + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            fill(ctrl.leases, [make_lease(renew)])
            await ctrl.reconcile("n1")
            await clock.advance(10)
        assert api.writes() == []

    asyncio.run(main())
