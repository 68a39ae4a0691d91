"""InterPodAffinity: required (anti-)affinity incl. existing pods' terms, missing topology
labels, namespaces, preferred scoring, and the PreFilter extensions used by preemption."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.config import default_plugin_args
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.status import Code, Status
from kybernetes.scheduler.framework.types import PodInfo
from kybernetes.scheduler.plugins import interpodaffinity

from .builders import (
    HOSTNAME,
    ZONE,
    FakeHandle,
    filter_nodes,
    make_node,
    make_pod,
    pod_affinity_term,
    score_nodes,
    snapshot,
)

AFFINITY = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"

NODES = [
    make_node("a1", labels={ZONE: "a"}),
    make_node("a2", labels={ZONE: "a"}),
    make_node("b1", labels={ZONE: "b"}),
    make_node("bare"),  # no zone label
]


def _affinity(*terms: dict[str, Any], anti: bool = False) -> dict[str, Any]:
    kind = "podAntiAffinity" if anti else "podAffinity"
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def _preferred(*weighted: tuple[int, dict[str, Any]], anti: bool = False) -> dict[str, Any]:
    kind = "podAntiAffinity" if anti else "podAffinity"
    return {kind: {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "podAffinityTerm": t} for w, t in weighted]}}


def _plugin(**args: Any) -> interpodaffinity.InterPodAffinity:
    return interpodaffinity.new(default_plugin_args("InterPodAffinity", args), FakeHandle())


def _run(pod: dict[str, Any], existing: list[Any], **kw: Any) -> dict[str, Status | None]:
    out = filter_nodes(_plugin(), pod, snapshot(NODES, existing, **kw))
    assert isinstance(out, dict)
    return out


DB_ON_A1 = make_pod("db", node="a1", labels={"app": "db"})
WEB_ON_A1 = make_pod("web", node="a1", labels={"app": "web"})

FILTER_CASES = [
    pytest.param(make_pod(affinity=_affinity(pod_affinity_term({"app": "db"}, ZONE))),
                 [DB_ON_A1],
                 {"a1": None, "a2": None,
                  "b1": Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,)),
                  "bare": Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,))},
                 id="affinity-zone-and-missing-label"),
    pytest.param(make_pod(labels={"app": "web"},
                          affinity=_affinity(pod_affinity_term({"app": "web"}, ZONE))),
                 [],
                 {"a1": None, "a2": None, "b1": None,
                  "bare": Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,))},
                 id="first-pod-of-self-affine-group"),
    pytest.param(make_pod(labels={"app": "other"},
                          affinity=_affinity(pod_affinity_term({"app": "web"}, ZONE))),
                 [],
                 dict.fromkeys(("a1", "a2", "b1", "bare"),
                               Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,))),
                 id="no-match-anywhere-not-self"),
    pytest.param(make_pod(affinity=_affinity(pod_affinity_term({"app": "web"}, HOSTNAME),
                                             anti=True)),
                 [WEB_ON_A1],
                 {"a1": Status(Code.UNSCHEDULABLE, (ANTI,)), "a2": None, "b1": None,
                  "bare": None},
                 id="anti-affinity-hostname"),
    pytest.param(make_pod(affinity=_affinity(pod_affinity_term({"app": "web"}, ZONE),
                                             anti=True)),
                 [WEB_ON_A1],
                 {"a1": Status(Code.UNSCHEDULABLE, (ANTI,)),
                  "a2": Status(Code.UNSCHEDULABLE, (ANTI,)), "b1": None, "bare": None},
                 id="anti-affinity-zone-missing-label-passes"),
    pytest.param(make_pod(labels={"app": "web"}),
                 [make_pod("guard", node="a1", affinity=_affinity(
                     pod_affinity_term({"app": "web"}, ZONE), anti=True))],
                 {"a1": Status(Code.UNSCHEDULABLE, (EXISTING,)),
                  "a2": Status(Code.UNSCHEDULABLE, (EXISTING,)), "b1": None, "bare": None},
                 id="existing-pods-anti-affinity"),
    pytest.param(make_pod(affinity=_affinity(pod_affinity_term({"app": "db"}, ZONE))),
                 [make_pod("db", namespace="other", node="a1", labels={"app": "db"})],
                 dict.fromkeys(("a1", "a2", "b1", "bare"),
                               Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,))),
                 id="other-namespace-does-not-count"),
    pytest.param(make_pod(affinity=_affinity(pod_affinity_term({"app": "db"}, ZONE,
                                                               namespaces=["other"]))),
                 [make_pod("db", namespace="other", node="b1", labels={"app": "db"})],
                 {"a1": Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,)),
                  "a2": Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,)), "b1": None,
                  "bare": Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,))},
                 id="explicit-namespaces"),
    pytest.param(make_pod(affinity=_affinity(pod_affinity_term({"app": "db"}, ZONE))),
                 [make_pod("db", node="a1", labels={"app": "db"}, phase="Failed")],
                 dict.fromkeys(("a1", "a2", "b1", "bare"),
                               Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY,))),
                 id="terminal-pods-ignored"),
]


@pytest.mark.parametrize(("pod", "existing", "expected"), FILTER_CASES)
def test_filter(pod: dict[str, Any], existing: list[Any],
                expected: dict[str, Status | None]) -> None:
    assert _run(pod, existing) == expected


def test_namespace_selector_resolved_against_snapshot() -> None:
    pod = make_pod(affinity=_affinity(pod_affinity_term(
        {"app": "db"}, ZONE, namespaceSelector={"matchLabels": {"team": "data"}})))
    existing = [make_pod("db", namespace="data", node="b1", labels={"app": "db"})]
    namespaces = {"default": {}, "data": {"team": "data"}}
    statuses = _run(pod, existing, namespaces=namespaces)
    assert [n for n, s in statuses.items() if s is None] == ["b1"]
    # An empty namespaceSelector selects every namespace.
    pod = make_pod(affinity=_affinity(pod_affinity_term({"app": "db"}, ZONE,
                                                        namespaceSelector={})))
    assert [n for n, s in _run(pod, existing).items() if s is None] == ["b1"]


def test_skip_without_any_terms() -> None:
    _, status = _plugin().pre_filter(CycleState(), PodInfo(make_pod()), [])
    assert status is not None and status.code == Code.SKIP


def test_unparsable_selector_is_unresolvable() -> None:
    pod = make_pod(affinity=_affinity({"labelSelector": {"matchLabels": {"bad key!": "x"}},
                                       "topologyKey": ZONE}))
    status = filter_nodes(_plugin(), pod, snapshot(NODES))
    assert isinstance(status, Status) and status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert status.message.startswith("parsing pod: ")


def test_remove_and_add_pod_extensions() -> None:
    snap = snapshot(NODES, [WEB_ON_A1])
    plugin = _plugin()
    plugin.handle.snapshot = snap
    pod = PodInfo(make_pod(affinity=_affinity(pod_affinity_term({"app": "web"}, HOSTNAME),
                                              anti=True)))
    state = CycleState()
    plugin.pre_filter(state, pod, snap.node_infos)
    a1 = snap.get("a1")
    assert a1 is not None
    assert plugin.filter(state, pod, a1) == Status(Code.UNSCHEDULABLE, (ANTI,))
    victim = a1.pods[0]
    copy, clone = state.clone(), a1.clone()
    clone.remove_pod(victim)
    assert plugin.remove_pod(copy, pod, victim, clone) is None
    assert plugin.filter(copy, pod, clone) is None
    assert plugin.filter(state, pod, a1) is not None  # the original state is untouched
    assert plugin.add_pod(copy, pod, victim, clone) is None
    assert plugin.filter(copy, pod, clone) is not None


SCORE_CASES = [
    pytest.param(make_pod(affinity=_preferred((10, pod_affinity_term({"app": "db"}, ZONE)))),
                 [DB_ON_A1], {"a1": 100, "a2": 100, "b1": 0, "bare": 0},
                 id="preferred-affinity-zone"),
    pytest.param(make_pod(affinity=_preferred((10, pod_affinity_term({"app": "db"}, ZONE)),
                                              anti=True)),
                 [DB_ON_A1], {"a1": 0, "a2": 0, "b1": 100, "bare": 100},
                 id="preferred-anti-affinity"),
    pytest.param(make_pod(labels={"app": "web"}),
                 [make_pod("fan", node="b1", affinity=_affinity(pod_affinity_term(
                     {"app": "web"}, ZONE)))],
                 {"a1": 0, "a2": 0, "b1": 100, "bare": 0},
                 id="existing-required-affinity-hard-weight"),
    pytest.param(make_pod(labels={"app": "web"}),
                 [make_pod("foe", node="a1", affinity=_preferred(
                     (5, pod_affinity_term({"app": "web"}, HOSTNAME)), anti=True))],
                 {"a1": 0, "a2": 100, "b1": 100, "bare": 100},
                 id="existing-preferred-anti-affinity"),
]


@pytest.mark.parametrize(("pod", "existing", "expected"), SCORE_CASES)
def test_score(pod: dict[str, Any], existing: list[Any], expected: dict[str, int]) -> None:
    assert score_nodes(_plugin(), pod, snapshot(NODES, existing)) == expected


def test_hard_affinity_weight_zero_disables_it() -> None:
    existing = [make_pod("fan", node="b1",
                         affinity=_affinity(pod_affinity_term({"app": "web"}, ZONE)))]
    plugin = interpodaffinity.new(default_plugin_args("InterPodAffinity",
                                                      {"hardPodAffinityWeight": 0}), FakeHandle())
    assert score_nodes(plugin, make_pod(labels={"app": "web"}),
                       snapshot(NODES, existing)) == {}
