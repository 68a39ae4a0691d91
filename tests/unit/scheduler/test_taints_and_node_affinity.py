"""TaintToleration (effects, Exists/Equal) and NodeAffinity (selector, terms, fields, weights)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.config import default_plugin_args
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.status import Code, Status
from kybernetes.scheduler.framework.types import PodInfo
from kybernetes.scheduler.plugins import nodeaffinity, tainttoleration
from kybernetes.scheduler.plugins.helper import tolerates

from .builders import (
    FakeHandle,
    filter_nodes,
    make_node,
    make_pod,
    score_nodes,
    snapshot,
    taint,
    term,
    toleration,
)

TOLERATION_CASES = [
    # toleration, taint, tolerated
    pytest.param(toleration("k", "v", "NoSchedule"), taint("k", "v"), True, id="equal-match"),
    pytest.param(toleration("k", "v", "NoSchedule", "Equal"), taint("k", "w"), False,
                 id="equal-other-value"),
    pytest.param(toleration("k", operator="Exists"), taint("k", "anything"), True,
                 id="exists-any-value"),
    pytest.param(toleration(operator="Exists"), taint("k", "v", "NoExecute"), True,
                 id="empty-key-exists-tolerates-all"),
    pytest.param(toleration("k", "v", "NoExecute"), taint("k", "v", "NoSchedule"), False,
                 id="effect-mismatch"),
    pytest.param(toleration("k", "v"), taint("k", "v", "NoExecute"), True,
                 id="empty-effect-matches-all"),
    pytest.param(toleration("k"), taint("k"), True, id="empty-value-equal"),
    pytest.param(toleration("other", operator="Exists"), taint("k"), False, id="key-mismatch"),
    pytest.param(toleration("k", operator="Gt"), taint("k"), False, id="unknown-operator"),
]


@pytest.mark.parametrize(("tol", "tnt", "tolerated"), TOLERATION_CASES)
def test_tolerates(tol: dict[str, str], tnt: dict[str, str], tolerated: bool) -> None:
    assert tolerates(tol, tnt) is tolerated


FILTER_CASES = [
    pytest.param([taint("dedicated", "gpu")], [], "node(s) had untolerated taint {dedicated: gpu}",
                 id="no-schedule"),
    pytest.param([taint("node.kubernetes.io/not-ready", effect="NoExecute")], [],
                 "node(s) had untolerated taint {node.kubernetes.io/not-ready: }", id="no-execute"),
    pytest.param([taint("soft", "x", "PreferNoSchedule")], [], None, id="prefer-is-not-filtered"),
    pytest.param([taint("a", "1"), taint("b", "2")], [toleration("a", "1", "NoSchedule")],
                 "node(s) had untolerated taint {b: 2}", id="first-untolerated-reported"),
    pytest.param([taint("a", "1"), taint("b", "2")], [toleration(operator="Exists")], None,
                 id="tolerate-everything"),
]


@pytest.mark.parametrize(("taints", "tolerations", "reason"), FILTER_CASES)
def test_taint_toleration_filter(taints: list[Any], tolerations: list[Any],
                                 reason: str | None) -> None:
    status = filter_nodes(tainttoleration.new(None, FakeHandle()),
                          make_pod(tolerations=tolerations),
                          snapshot([make_node(taints=taints)]))["n1"]
    if reason is None:
        assert status is None
    else:
        assert status == Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (reason,))


def test_taint_toleration_score_counts_prefer_no_schedule() -> None:
    snap = snapshot([
        make_node("clean"),
        make_node("one", taints=[taint("a", effect="PreferNoSchedule")]),
        make_node("two", taints=[taint("a", effect="PreferNoSchedule"),
                                 taint("b", effect="PreferNoSchedule"),
                                 taint("c", effect="NoSchedule")]),
        make_node("tolerated", taints=[taint("t", effect="PreferNoSchedule")]),
    ])
    pod = make_pod(tolerations=[toleration("t", operator="Exists")])
    scores = score_nodes(tainttoleration.new(None, FakeHandle()), pod, snap)
    assert scores == {"clean": 100, "one": 50, "two": 0, "tolerated": 100}


def _required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}


def _preferred(*weighted: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "preference": p} for w, p in weighted]}}


NODES = [
    make_node("a1", labels={"zone": "a", "gen": "3", "ssd": "true"}),
    make_node("a2", labels={"zone": "a", "gen": "5"}),
    make_node("b1", labels={"zone": "b", "gen": "7"}),
]
POD_REASON = "node(s) didn't match Pod's node affinity/selector"

AFFINITY_CASES = [
    pytest.param(make_pod(), {"a1", "a2", "b1"}, id="no-affinity"),
    pytest.param(make_pod(node_selector={"zone": "a"}), {"a1", "a2"}, id="node-selector"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("zone", "In", "b")]})),
                 {"b1"}, id="in"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("zone", "NotIn", "a")]})),
                 {"b1"}, id="not-in"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("ssd", "Exists")]})),
                 {"a1"}, id="exists"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("ssd",
                                                                        "DoesNotExist")]})),
                 {"a2", "b1"}, id="does-not-exist"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("gen", "Gt", "4")]})),
                 {"a2", "b1"}, id="gt"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("gen", "Lt", "4")]})),
                 {"a1"}, id="lt"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("zone", "In", "a")]},
                                             {"matchExpressions": [term("gen", "Gt", "6")]})),
                 {"a1", "a2", "b1"}, id="terms-are-ored"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("zone", "In", "a"),
                                                                   term("gen", "Gt", "4")]})),
                 {"a2"}, id="expressions-are-anded"),
    pytest.param(make_pod(node_selector={"zone": "b"},
                          affinity=_required({"matchExpressions": [term("zone", "In", "a")]})),
                 set(), id="selector-and-affinity"),
    pytest.param(make_pod(affinity=_required({})), set(), id="empty-term-matches-nothing"),
    pytest.param(make_pod(affinity=_required({"matchExpressions": [term("zone", "Bogus", "a")]})),
                 set(), id="invalid-operator"),
    pytest.param(make_pod(affinity=_required({"matchFields": [term("metadata.name", "NotIn",
                                                                   "a1")]})),
                 {"a2", "b1"}, id="match-fields-not-in"),
]


@pytest.mark.parametrize(("pod", "fits"), AFFINITY_CASES)
def test_node_affinity_filter(pod: dict[str, Any], fits: set[str]) -> None:
    plugin = nodeaffinity.new(default_plugin_args("NodeAffinity", None), FakeHandle())
    statuses = filter_nodes(plugin, pod, snapshot(NODES))
    assert isinstance(statuses, dict)
    assert {n for n, s in statuses.items() if s is None} == fits
    for name, status in statuses.items():
        if name not in fits:
            assert status == Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (POD_REASON,))


def _fields(*names: str) -> dict[str, Any]:
    return {"matchFields": [term("metadata.name", "In", *names)]}


@pytest.mark.parametrize(("terms", "names", "conflict"), [
    pytest.param([_fields("a1", "a2")], {"a1", "a2"}, False, id="one-term"),
    pytest.param([_fields("a1"), _fields("b1")], {"a1", "b1"}, False, id="union-of-terms"),
    pytest.param([{"matchFields": [term("metadata.name", "In", "a1"),
                                   term("metadata.name", "In", "a2")]}], set(), True,
                 id="intersection-conflict"),
    pytest.param([_fields("a1"), {"matchExpressions": [term("zone", "In", "b")]}], None, False,
                 id="a-term-without-names-allows-all"),
])
def test_node_affinity_pre_filter_result(terms: list[Any], names: set[str] | None,
                                         conflict: bool) -> None:
    plugin = nodeaffinity.new(None, FakeHandle())
    result, status = plugin.pre_filter(CycleState(), PodInfo(make_pod(affinity=_required(*terms))),
                                       [])
    if conflict:
        assert status == Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                ("pod affinity terms conflict",))
    elif names is None:
        assert result is None and status is None
    else:
        assert result is not None and result.node_names == names


def test_node_affinity_pre_filter_skips_without_constraints() -> None:
    _, status = nodeaffinity.new(None, FakeHandle()).pre_filter(CycleState(),
                                                                PodInfo(make_pod()), [])
    assert status is not None and status.code == Code.SKIP


def test_node_affinity_added_affinity_is_enforced() -> None:
    args = {"addedAffinity": _required({"matchExpressions": [term("zone", "In", "b")]})[
        "nodeAffinity"]}
    statuses = filter_nodes(nodeaffinity.new(args, FakeHandle()), make_pod(), snapshot(NODES))
    assert isinstance(statuses, dict)
    assert statuses["a1"] == Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                    ("node(s) didn't match scheduler-enforced node affinity",))
    assert statuses["b1"] is None


def test_node_affinity_score_sums_weights_and_normalizes() -> None:
    pod = make_pod(affinity=_preferred((5, {"matchExpressions": [term("zone", "In", "a")]}),
                                       (15, {"matchExpressions": [term("ssd", "Exists")]}),
                                       (50, {})))
    scores = score_nodes(nodeaffinity.new(None, FakeHandle()), pod, snapshot(NODES))
    assert scores == {"a1": 100, "a2": 25, "b1": 0}
    assert score_nodes(nodeaffinity.new(None, FakeHandle()), make_pod(), snapshot(NODES)) == {}
