"""schedule_one: the FitError message, feasible-node search, scoring and host selection."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kybernetes.scheduler.framework.diagnosis import FitError
from kybernetes.scheduler.schedule_one import (
    ScheduleResult,
    num_feasible_nodes_to_find,
    schedule_one,
)

from .builders import (
    FakeNominator,
    default_framework,
    make_node,
    make_pod,
    snapshot,
    taint,
    term,
)

CONTROL_PLANE = taint("node-role.kubernetes.io/control-plane")


def _fit_error(pod: dict[str, Any], nodes: list[Any], pods: list[Any] = ()) -> FitError:
    result = schedule_one(pod, snapshot(nodes, pods), default_framework())
    assert isinstance(result, FitError), result
    return result


MESSAGE_CASES = [
    pytest.param(
        make_pod(cpu="2"),
        [make_node("n1", cpu="1"), make_node("n2", taints=[CONTROL_PLANE]),
         make_node("n3", taints=[CONTROL_PLANE])], [],
        # v1.32: a node too small for the pod still counts as a preemption candidate.
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: "
        "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for "
        "scheduling.",
        id="upstream-example"),
    pytest.param(
        make_pod(cpu="1"),
        [make_node("n1", cpu="2"), make_node("n2", taints=[CONTROL_PLANE]),
         make_node("n3", taints=[CONTROL_PLANE])],
        [make_pod("busy", cpu="1500m", node="n1")],
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: "
        "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for "
        "scheduling.",
        id="no-victims-on-the-full-node"),
    pytest.param(
        make_pod(node_selector={"disk": "ssd"}),
        [make_node(f"n{i}") for i in range(12)], [],
        "0/12 nodes are available: 12 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.",
        id="one-reason"),
    pytest.param(
        make_pod(cpu="3", memory="1Gi"),
        [make_node(f"small{i}", cpu="2") for i in range(10)]
        + [make_node("tiny", cpu="2", memory="512Mi"), make_node("gone", unschedulable=True)], [],
        "0/12 nodes are available: 1 Insufficient memory, 1 node(s) were unschedulable, "
        "11 Insufficient cpu. preemption: 0/12 nodes are available: 1 Preemption is not "
        "helpful for scheduling, 11 No preemption victims found for incoming pod.",
        id="reasons-sorted-as-strings"),
    pytest.param(
        make_pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [term("metadata.name", "In", "a"),
                                                   term("metadata.name", "In", "b")]}]}}}),
        [make_node("a"), make_node("b"), make_node("c")], [],
        "0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 nodes are "
        "available: 3 Preemption is not helpful for scheduling.",
        id="pre-filter-rejection"),
    pytest.param(
        make_pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [term("metadata.name", "In", "a")]}]}}}),
        [make_node("a", taints=[taint("k", "v")]), make_node("b"), make_node("c")], [],
        "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 node(s) didn't "
        "satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption "
        "is not helpful for scheduling.",
        id="pre-filter-result-narrows"),
    pytest.param(
        make_pod(cpu="1", priority=100, preemption_policy="Never"),
        [make_node("n1", cpu="1")], [make_pod("low", cpu="1", node="n1")],
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
        "preemptionPolicy=Never.",
        id="preemption-policy-never"),
]


@pytest.mark.parametrize(("pod", "nodes", "pods", "message"), MESSAGE_CASES)
def test_fit_error_message(pod: dict[str, Any], nodes: list[Any], pods: list[Any],
                           message: str) -> None:
    assert _fit_error(pod, nodes, pods).message == message


def test_fit_error_without_nodes() -> None:
    result = schedule_one(make_pod(), snapshot([]), default_framework())
    assert isinstance(result, FitError)
    assert result.message == "no nodes available to schedule pods"


def test_fit_error_diagnosis_names_rejecting_plugins() -> None:
    error = _fit_error(make_pod(cpu="2"), [make_node("n1", cpu="1"),
                                           make_node("n2", taints=[CONTROL_PLANE])])
    assert error.diagnosis.unschedulable_plugins == {"NodeResourcesFit", "TaintToleration"}
    assert error.nominating_info is not None
    assert error.nominating_info.nominated_node_name == ""


@pytest.mark.parametrize(("percentage", "nodes", "wanted"), [
    pytest.param(0, 50, 50, id="small-cluster-all"),
    pytest.param(0, 100, 100, id="hundred"),
    pytest.param(0, 1000, 420, id="adaptive-42-percent"),
    pytest.param(0, 5000, 500, id="adaptive-10-percent"),
    pytest.param(0, 10000, 500, id="adaptive-floor-5-percent"),
    pytest.param(30, 1000, 300, id="configured"),
    pytest.param(1, 1000, 100, id="at-least-100"),
    pytest.param(100, 250, 250, id="everything"),
])
def test_num_feasible_nodes_to_find(percentage: int, nodes: int, wanted: int) -> None:
    assert num_feasible_nodes_to_find(percentage, nodes) == wanted


def test_filtering_stops_early_and_round_robins() -> None:
    fw = default_framework({"percentageOfNodesToScore": 50})
    snap = snapshot([make_node(f"n{i:03}") for i in range(300)])
    first = schedule_one(make_pod(), snap, fw)
    assert isinstance(first, ScheduleResult)
    assert (first.feasible_nodes, first.evaluated_nodes) == (150, 150)
    assert fw.cursor.index == 150
    schedule_one(make_pod(), snap, fw)
    assert fw.cursor.index == 0


def test_highest_score_wins() -> None:
    snap = snapshot([make_node("busy"), make_node("idle")],
                    [make_pod("e", cpu="3", memory="6Gi", node="busy")])
    result = schedule_one(make_pod(cpu="500m", memory="1Gi"), snap, default_framework())
    assert isinstance(result, ScheduleResult)
    assert (result.suggested_host, result.feasible_nodes) == ("idle", 2)


def test_ties_are_broken_by_the_rng() -> None:
    snap = snapshot([make_node(f"n{i}") for i in range(4)])
    fw = default_framework()
    picks = set()
    for seed in range(40):
        fw.rng = random.Random(seed)
        result = schedule_one(make_pod(), snap, fw)
        assert isinstance(result, ScheduleResult)
        picks.add(result.suggested_host)
    assert picks == {"n0", "n1", "n2", "n3"}
    fw.rng = random.Random(7)
    a = schedule_one(make_pod(), snap, fw)
    fw.rng = random.Random(7)
    b = schedule_one(make_pod(), snap, fw)
    assert isinstance(a, ScheduleResult) and isinstance(b, ScheduleResult)
    assert a.suggested_host == b.suggested_host


def test_single_feasible_node_skips_scoring() -> None:
    snap = snapshot([make_node("n1"), make_node("n2", taints=[taint("k")])])
    result = schedule_one(make_pod(), snap, default_framework())
    assert isinstance(result, ScheduleResult)
    assert (result.suggested_host, result.evaluated_nodes, result.feasible_nodes) == ("n1", 2, 1)


def test_nominated_node_is_tried_first() -> None:
    snap = snapshot([make_node("big", cpu="64", memory="256Gi"), make_node("small", cpu="2")])
    result = schedule_one(make_pod(cpu="1", nominated="small"), snap, default_framework())
    assert isinstance(result, ScheduleResult)
    assert result.suggested_host == "small"


def test_higher_priority_nominated_pods_hold_their_room() -> None:
    nominator = FakeNominator(n1=[make_pod("vip", cpu="1", priority=100)])
    fw = default_framework(nominator=nominator)
    snap = snapshot([make_node("n1", cpu="1500m"), make_node("n2", cpu="1", memory="1Gi")])
    result = schedule_one(make_pod(cpu="1", priority=10), snap, fw)
    assert isinstance(result, ScheduleResult) and result.suggested_host == "n2"
    # a lower-priority nominee does not count
    fw.nominator = FakeNominator(n1=[make_pod("meh", cpu="1", priority=1)])
    result = schedule_one(make_pod(cpu="1", priority=10), snapshot([make_node("n1",
                                                                              cpu="1500m")]), fw)
    assert isinstance(result, ScheduleResult) and result.suggested_host == "n1"
