"""PodTopologySpread: skew with zero-pod domains, missing labels, minDomains, inclusion
policies, matchLabelKeys, scoring, and the system default constraints."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.config import default_plugin_args
from kybernetes.scheduler.framework.status import Code, Status
from kybernetes.scheduler.plugins import podtopologyspread

from .builders import (
    HOSTNAME,
    ZONE,
    FakeHandle,
    filter_nodes,
    make_node,
    make_pod,
    score_nodes,
    snapshot,
    taint,
    term,
)

SKEW = Status(Code.UNSCHEDULABLE, ("node(s) didn't match pod topology spread constraints",))
MISSING = Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                 ("node(s) didn't match pod topology spread constraints (missing required label)",))
WEB = {"app": "web"}


def _constraint(key: str = ZONE, max_skew: int = 1, action: str = "DoNotSchedule",
                **extra: Any) -> dict[str, Any]:
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": action,
            "labelSelector": {"matchLabels": WEB}, **extra}


def _web(name: str, node: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("labels", WEB)
    return make_pod(name, node=node, **kw)


def _plugin(**args: Any) -> podtopologyspread.PodTopologySpread:
    return podtopologyspread.new(default_plugin_args("PodTopologySpread", args), FakeHandle())


ZONES = [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}),
         make_node("b1", labels={ZONE: "b"}), make_node("bare")]

FILTER_CASES = [
    pytest.param(make_pod(labels=WEB, spread=[_constraint()]),
                 [_web("w1", "a1"), _web("w2", "a2")],
                 {"a1": SKEW, "a2": SKEW, "b1": None, "bare": MISSING},
                 id="zero-pod-domain-is-the-minimum"),
    pytest.param(make_pod(labels=WEB, spread=[_constraint(max_skew=2)]),
                 [_web("w1", "a1"), _web("w2", "a2")],
                 {"a1": SKEW, "a2": SKEW, "b1": None, "bare": MISSING}, id="max-skew-2"),
    pytest.param(make_pod(labels=WEB, spread=[_constraint(max_skew=3)]),
                 [_web("w1", "a1"), _web("w2", "a2")],
                 {"a1": None, "a2": None, "b1": None, "bare": MISSING}, id="max-skew-3"),
    pytest.param(make_pod(labels={"app": "other"}, spread=[_constraint()]),
                 [_web("w1", "a1")],
                 {"a1": None, "a2": None, "b1": None, "bare": MISSING},
                 id="pod-not-matching-itself"),
    pytest.param(make_pod(labels=WEB, spread=[_constraint()]),
                 [_web("w1", "a1", deleting=True), _web("w2", "a2", namespace="other")],
                 {"a1": None, "a2": None, "b1": None, "bare": MISSING},
                 id="terminating-and-other-namespace-ignored"),
    pytest.param(make_pod(labels=WEB, spread=[_constraint(minDomains=3)]),
                 [_web("w1", "a1"), _web("w2", "b1")],
                 {"a1": SKEW, "a2": SKEW, "b1": SKEW, "bare": MISSING},
                 id="fewer-domains-than-min-domains"),
    pytest.param(make_pod(labels=WEB, spread=[_constraint(minDomains=2)]),
                 [_web("w1", "a1"), _web("w2", "b1")],
                 {"a1": None, "a2": None, "b1": None, "bare": MISSING},
                 id="enough-domains"),
    pytest.param(make_pod(labels=WEB, spread=[_constraint(HOSTNAME)]),
                 [_web("w1", "a1")],
                 {"a1": SKEW, "a2": None, "b1": None, "bare": None}, id="hostname"),
    pytest.param(make_pod(labels=WEB, spread=[_constraint(action="ScheduleAnyway")]),
                 [_web("w1", "a1"), _web("w2", "a2")],
                 {"a1": None, "a2": None, "b1": None, "bare": None},
                 id="schedule-anyway-does-not-filter"),
]


@pytest.mark.parametrize(("pod", "existing", "expected"), FILTER_CASES)
def test_filter(pod: dict[str, Any], existing: list[Any],
                expected: dict[str, Status | None]) -> None:
    assert filter_nodes(_plugin(), pod, snapshot(ZONES, existing)) == expected


POLICY_NODES = [make_node("a1", labels={ZONE: "a"}), make_node("b1", labels={ZONE: "b"}),
                make_node("c1", labels={ZONE: "c", "excluded": "true"},
                          taints=[taint("dedicated", "x")])]
POLICY_PODS = [_web("w1", "a1"), _web("w2", "b1")]
NOT_EXCLUDED = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [term("excluded", "DoesNotExist")]}]}}}


@pytest.mark.parametrize(("affinity", "constraint", "a1_fits"), [
    pytest.param(NOT_EXCLUDED, _constraint(), True, id="node-affinity-honored-by-default"),
    pytest.param(NOT_EXCLUDED, _constraint(nodeAffinityPolicy="Ignore"), False,
                 id="node-affinity-ignored"),
    pytest.param(None, _constraint(), False, id="taints-ignored-by-default"),
    pytest.param(None, _constraint(nodeTaintsPolicy="Honor"), True, id="taints-honored"),
])
def test_node_inclusion_policies(affinity: Any, constraint: dict[str, Any],
                                 a1_fits: bool) -> None:
    pod = make_pod(labels=WEB, spread=[constraint], affinity=affinity)
    statuses = filter_nodes(_plugin(), pod, snapshot(POLICY_NODES, POLICY_PODS))
    assert isinstance(statuses, dict)
    assert (statuses["a1"] is None) is a1_fits


def test_match_label_keys_narrow_the_selector() -> None:
    pod = make_pod(labels={**WEB, "rev": "2"}, spread=[_constraint(matchLabelKeys=["rev"])])
    old_revision = [_web("w1", "a1", labels={**WEB, "rev": "1"}),
                    _web("w2", "a2", labels={**WEB, "rev": "1"})]
    statuses = filter_nodes(_plugin(), pod, snapshot(ZONES, old_revision))
    assert isinstance(statuses, dict)
    assert statuses["a1"] is None and statuses["b1"] is None


def test_skip_without_constraints_or_owner() -> None:
    assert filter_nodes(_plugin(), make_pod(labels=WEB), snapshot(ZONES)) == dict.fromkeys(
        ("a1", "a2", "b1", "bare"))
    assert score_nodes(_plugin(), make_pod(labels=WEB), snapshot(ZONES)) == {}


def test_score_prefers_emptier_domains() -> None:
    nodes = [make_node(f"n{i}") for i in (1, 2, 3)]
    existing = [_web("w1", "n1"), _web("w2", "n1"), _web("w3", "n2")]
    pod = make_pod(labels=WEB, spread=[_constraint(HOSTNAME, action="ScheduleAnyway")])
    # raw: count * log(3 + 2) -> 3, 2, 0; normalized: 100 * (max + min - s) / max
    assert score_nodes(_plugin(), pod, snapshot(nodes, existing)) == {"n1": 0, "n2": 33,
                                                                      "n3": 100}


def test_score_ignores_nodes_without_the_key() -> None:
    pod = make_pod(labels=WEB, spread=[_constraint(action="ScheduleAnyway")])
    scores = score_nodes(_plugin(), pod, snapshot(ZONES, [_web("w1", "a1")]))
    assert scores == {"a1": 0, "a2": 0, "b1": 100, "bare": 0}


RS_OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs", "uid": "rs"}
REPLICA_SET = {"metadata": {"name": "web-rs", "namespace": "default"},
               "spec": {"selector": {"matchLabels": WEB}}}


def test_system_default_constraints_spread_replica_set_pods() -> None:
    nodes = [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}),
             make_node("nozone")]
    existing = [_web(f"w{i}", "a1", owner=RS_OWNER) for i in range(3)]
    pod = make_pod(labels=WEB, owner=RS_OWNER)
    snap = snapshot(nodes, existing, replica_sets=[REPLICA_SET])
    scores = score_nodes(_plugin(), pod, snap)
    # hostname (maxSkew 3) counts per node; a node without a zone is still scored
    assert isinstance(scores, dict)
    assert scores["a1"] < scores["a2"] and scores["nozone"] > scores["a1"]
    # the system defaults are ScheduleAnyway only: nothing is filtered
    assert filter_nodes(_plugin(), pod, snap) == dict.fromkeys(("a1", "a2", "nozone"))


def test_service_selector_is_a_default_selector() -> None:
    service = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": WEB}}
    nodes = [make_node("n1"), make_node("n2")]
    snap = snapshot(nodes, [_web("w1", "n1")], services=[service])
    # hostname maxSkew 3: raw 1 * log(4) + 2 = 3 and 0 + 2 = 2; the skew offset waters it down
    assert score_nodes(_plugin(), make_pod(labels=WEB), snap) == {"n1": 66, "n2": 100}


def test_list_defaulting_uses_configured_constraints() -> None:
    plugin = _plugin(defaultingType="List", defaultConstraints=[
        {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}])
    snap = snapshot(ZONES, [_web("w1", "a1", owner=RS_OWNER)], replica_sets=[REPLICA_SET])
    statuses = filter_nodes(plugin, make_pod(labels=WEB, owner=RS_OWNER), snap)
    assert statuses == {"a1": SKEW, "a2": SKEW, "b1": None, "bare": MISSING}
