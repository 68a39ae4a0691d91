"""DefaultPreemption: minimal victims per node and the node-choice order, PDBs, eligibility."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.framework.diagnosis import FitError
from kybernetes.scheduler.framework.types import PodInfo
from kybernetes.scheduler.plugins.defaultpreemption import (
    Candidate,
    filter_pods_with_pdb_violation,
    pick_one_node_for_preemption,
)
from kybernetes.scheduler.schedule_one import schedule_one

from .builders import (
    HOSTNAME,
    FakeNominator,
    default_framework,
    make_node,
    make_pod,
    pod_affinity_term,
    snapshot,
)


def _preempt(pod: dict[str, Any], nodes: list[Any], pods: list[Any], *, pdbs: list[Any] = (),
             nominator: Any = None) -> FitError:
    fw = default_framework(nominator=nominator)
    result = schedule_one(pod, snapshot(nodes, pods, pdbs=pdbs), fw)
    assert isinstance(result, FitError), result
    return result


def _victims(error: FitError) -> tuple[str, list[str]]:
    result = error.post_filter_result
    assert result is not None, error.message
    return result.nominated_node_name, [v["metadata"]["name"] for v in result.victims]


def _low(name: str, node: str, priority: int, cpu: str = "1", **kw: Any) -> dict[str, Any]:
    return make_pod(name, node=node, priority=priority, cpu=cpu, **kw)


def test_reprieves_as_many_as_possible_highest_priority_first() -> None:
    error = _preempt(make_pod(cpu="1", priority=10), [make_node("n1", cpu="2")],
                     [_low("low1", "n1", 1), _low("low2", "n1", 2)])
    assert _victims(error) == ("n1", ["low1"])
    assert error.message == "0/1 nodes are available: 1 Insufficient cpu."  # no preemption part
    assert error.diagnosis.post_filter_msg == ""


def test_all_lower_priority_pods_when_needed_sorted_by_importance() -> None:
    error = _preempt(make_pod(cpu="3", priority=10), [make_node("n1", cpu="3")],
                     [_low("a", "n1", 1), _low("b", "n1", 5), _low("c", "n1", 3)])
    assert _victims(error) == ("n1", ["b", "c", "a"])


def test_equal_or_higher_priority_pods_are_never_victims() -> None:
    error = _preempt(make_pod(cpu="2", priority=5), [make_node("n1", cpu="2")],
                     [_low("same", "n1", 5), _low("low", "n1", 1)])
    assert error.post_filter_result is not None
    assert error.post_filter_result.victims == ()
    assert error.message.endswith(
        "preemption: 0/1 nodes are available: 1 Insufficient cpu.")


CHOICE_CASES = [
    pytest.param([_low("v1", "n1", 5)], [_low("v2", "n2", 3)], "n2",
                 id="lowest-highest-priority-victim"),
    pytest.param([_low("v1", "n1", 5, cpu="500m"), _low("v2", "n1", 1, cpu="500m")],
                 [_low("v3", "n2", 5, cpu="500m"), _low("v4", "n2", 3, cpu="500m")], "n1",
                 id="smallest-priority-sum"),
    pytest.param([_low("v1", "n1", 1, cpu="500m"), _low("v2", "n1", 1, cpu="500m")],
                 [_low("v3", "n2", 1)], "n2", id="fewest-victims"),
    pytest.param([_low("v1", "n1", 2, start_time="2024-01-01T00:00:00Z")],
                 [_low("v2", "n2", 2, start_time="2024-06-01T00:00:00Z")], "n2",
                 id="latest-start-time"),
]


@pytest.mark.parametrize(("on_n1", "on_n2", "chosen"), CHOICE_CASES)
def test_node_choice(on_n1: list[Any], on_n2: list[Any], chosen: str) -> None:
    nodes = [make_node("n1", cpu="1"), make_node("n2", cpu="1")]
    error = _preempt(make_pod(cpu="1", priority=10), nodes, on_n1 + on_n2)
    assert _victims(error)[0] == chosen


PDB = {"metadata": {"name": "guard", "namespace": "default"},
       "spec": {"selector": {"matchLabels": {"app": "guarded"}}},
       "status": {"disruptionsAllowed": 0}}


def test_fewest_pdb_violations_beats_priority() -> None:
    nodes = [make_node("n1", cpu="1"), make_node("n2", cpu="1")]
    pods = [_low("guarded", "n1", 1, labels={"app": "guarded"}), _low("plain", "n2", 5)]
    error = _preempt(make_pod(cpu="1", priority=10), nodes, pods, pdbs=[PDB])
    assert _victims(error) == ("n2", ["plain"])
    # without the PDB the lower-priority victim wins
    assert _victims(_preempt(make_pod(cpu="1", priority=10), nodes, pods))[0] == "n1"


@pytest.mark.parametrize(("allowed", "disrupted", "violating"), [
    pytest.param(0, {}, ["a", "b"], id="no-budget"),
    pytest.param(1, {}, ["b"], id="budget-for-one"),
    pytest.param(2, {}, [], id="budget-for-both"),
    pytest.param(0, {"a": "2024-01-01T00:00:00Z"}, ["b"], id="already-disrupted-not-counted"),
])
def test_filter_pods_with_pdb_violation(allowed: int, disrupted: dict[str, str],
                                        violating: list[str]) -> None:
    pdb = {**PDB, "status": {"disruptionsAllowed": allowed, "disruptedPods": disrupted}}
    pods = [PodInfo(make_pod(n, labels={"app": "guarded"})) for n in ("a", "b")]
    pods.append(PodInfo(make_pod("unlabelled")))
    bad, ok = filter_pods_with_pdb_violation(pods, [pdb])
    assert [p.name for p in bad] == violating
    assert len(bad) + len(ok) == 3


def test_pick_one_node_falls_back_to_first_candidate() -> None:
    victim = PodInfo(make_pod("v", priority=1))
    candidates = [Candidate("a", (victim,), 0), Candidate("b", (victim,), 0)]
    assert pick_one_node_for_preemption(candidates) is candidates[0]
    assert pick_one_node_for_preemption([]) is None


def test_anti_affinity_victim_is_removed() -> None:
    pod = make_pod(priority=10, affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [pod_affinity_term({"app": "x"},
                                                                             HOSTNAME)]}})
    error = _preempt(pod, [make_node("n1")],
                     [make_pod("x", node="n1", priority=1, labels={"app": "x"}),
                      make_pod("y", node="n1", priority=1)])
    assert _victims(error) == ("n1", ["x"])


def test_lower_priority_nominated_pods_are_returned_for_clearing() -> None:
    nominator = FakeNominator(n1=[make_pod("hopeful", priority=1)])
    error = _preempt(make_pod(cpu="1", priority=10), [make_node("n1", cpu="1")],
                     [_low("low", "n1", 1)], nominator=nominator)
    result = error.post_filter_result
    assert result is not None
    assert [p["metadata"]["name"] for p in result.nominated_pods_to_clear] == ["hopeful"]


def test_not_eligible_while_a_victim_is_still_terminating() -> None:
    terminating = make_pod("going", node="n1", priority=1, cpu="1", deleting=True,
                           conditions=[{"type": "DisruptionTarget", "status": "True",
                                        "reason": "PreemptionByScheduler"}])
    error = _preempt(make_pod(cpu="1", priority=10, nominated="n1"),
                     [make_node("n1", cpu="1")], [terminating])
    assert error.message.endswith(
        "preemption: not eligible due to a terminating pod on the nominated node.")
    assert error.post_filter_result is None
