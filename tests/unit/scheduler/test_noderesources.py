"""NodeResourcesFit (filter reasons, scoring strategies) and NodeResourcesBalancedAllocation."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.config import default_plugin_args
from kybernetes.scheduler.framework.status import Code
from kybernetes.scheduler.plugins import balanced_allocation, noderesources_fit
from kybernetes.scheduler.plugins.resource_allocation import broken_linear_function

from .builders import (
    FakeHandle,
    container,
    filter_nodes,
    make_node,
    make_pod,
    score_nodes,
    snapshot,
)

U = Code.UNSCHEDULABLE

FIT_CASES = [
    pytest.param(make_node(cpu="1"), [make_pod("e", cpu="800m", node="n1")], make_pod(cpu="200m"),
                 None, (), id="exactly-fits"),
    pytest.param(make_node(cpu="1"), [make_pod("e", cpu="800m", node="n1")], make_pod(cpu="300m"),
                 U, ("Insufficient cpu",), id="insufficient-cpu"),
    pytest.param(make_node(cpu="1", memory="1Gi"), [], make_pod(cpu="2", memory="2Gi"),
                 U, ("Insufficient cpu", "Insufficient memory"), id="larger-than-the-node"),
    pytest.param(make_node(pods=1), [make_pod("e", node="n1")], make_pod(),
                 U, ("Too many pods",), id="too-many-pods-zero-request"),
    pytest.param(make_node(cpu="1", pods=1), [make_pod("e", node="n1")], make_pod(cpu="2"),
                 U, ("Too many pods", "Insufficient cpu"), id="too-many-pods-and-cpu"),
    pytest.param(make_node(cpu="2"), [],
                 make_pod(init_containers=[container(cpu="3")], containers=[container(cpu="1")]),
                 U, ("Insufficient cpu",), id="init-container-max"),
    pytest.param(make_node(cpu="2"), [],
                 make_pod(init_containers=[container(cpu="1500m")],
                          containers=[container(cpu="1")]),
                 None, (), id="init-container-below-limit"),
    pytest.param(make_node(cpu="2"), [make_pod("e", cpu="1", node="n1")],
                 make_pod(init_containers=[container(cpu="1500m")],
                          containers=[container(cpu="1")]),
                 U, ("Insufficient cpu",), id="init-container-max-with-used"),
    pytest.param(make_node(cpu="2"), [],
                 make_pod(init_containers=[container(cpu="1", restart_policy="Always")],
                          containers=[container(cpu="1500m")]),
                 U, ("Insufficient cpu",), id="sidecar-adds-up"),
    pytest.param(make_node(cpu="1"), [], make_pod(cpu="900m", overhead={"cpu": "200m"}),
                 U, ("Insufficient cpu",), id="overhead-counts"),
    pytest.param(make_node(), [], make_pod(**{"example.com/gpu": "1"}),
                 U, ("Insufficient example.com/gpu",), id="missing-extended-resource"),
    pytest.param(make_node(**{"example.com/gpu": "2"}),
                 [make_pod("e", node="n1", **{"example.com/gpu": "1"})],
                 make_pod(**{"example.com/gpu": "2"}),
                 U, ("Insufficient example.com/gpu",), id="extended-resource-used"),
    pytest.param(make_node(ephemeral_storage="1Gi"), [], make_pod(ephemeral_storage="2Gi"),
                 U, ("Insufficient ephemeral-storage",), id="ephemeral-storage"),
    pytest.param(make_node(cpu="1"), [make_pod("done", cpu="1", node="n1", phase="Succeeded")],
                 make_pod(cpu="1"), None, (), id="terminal-pods-free-resources"),
]


@pytest.mark.parametrize(("node", "existing", "pod", "code", "expected"), FIT_CASES)
def test_fit_filter(node: dict[str, Any], existing: list[Any], pod: dict[str, Any],
                    code: Code | None, expected: tuple[str, ...]) -> None:
    plugin = noderesources_fit.new(default_plugin_args("NodeResourcesFit", None), FakeHandle())
    status = filter_nodes(plugin, pod, snapshot([node], existing))["n1"]
    if code is None:
        assert status is None
    else:
        assert status is not None and status.code == code
        assert status.reasons == expected


@pytest.mark.parametrize("args", [
    pytest.param({"ignoredResources": ["example.com/gpu"]}, id="by-name"),
    pytest.param({"ignoredResourceGroups": ["example.com"]}, id="by-group"),
])
def test_fit_ignores_extended_resources(args: dict[str, Any]) -> None:
    plugin = noderesources_fit.new(default_plugin_args("NodeResourcesFit", args), FakeHandle())
    status = filter_nodes(plugin, make_pod(**{"example.com/gpu": "1"}),
                          snapshot([make_node()]))["n1"]
    assert status is None


def _strategy(kind: str, shape: list[Any] | None = None,
              resources: list[Any] | None = None) -> dict[str, Any]:
    strategy: dict[str, Any] = {"type": kind}
    if shape is not None:
        strategy["requestedToCapacityRatio"] = {"shape": shape}
    if resources is not None:
        strategy["resources"] = resources
    return default_plugin_args("NodeResourcesFit", {"scoringStrategy": strategy}) or {}


SCORE_CASES = [
    # node cpu 4000m / memory 10000; pod 1000m / 2000 -> utilization 25% and 20%
    pytest.param(_strategy("LeastAllocated"), 77, id="least-allocated"),
    pytest.param(_strategy("MostAllocated"), 22, id="most-allocated"),
    pytest.param(_strategy("RequestedToCapacityRatio", [{"utilization": 0, "score": 0},
                                                        {"utilization": 100, "score": 10}]),
                 23, id="ratio-rounds-half-up"),
    pytest.param(_strategy("RequestedToCapacityRatio", [{"utilization": 0, "score": 10},
                                                        {"utilization": 100, "score": 0}]),
                 78, id="ratio-reversed-shape"),
    pytest.param(_strategy("LeastAllocated", resources=[{"name": "cpu", "weight": 3},
                                                        {"name": "memory", "weight": 1}]),
                 76, id="weights"),
]


@pytest.mark.parametrize(("args", "score"), SCORE_CASES)
def test_fit_scoring_strategies(args: dict[str, Any], score: int) -> None:
    plugin = noderesources_fit.new(args, FakeHandle())
    snap = snapshot([make_node(cpu="4", memory="10000")])
    assert score_nodes(plugin, make_pod(cpu="1", memory="2000"), snap) == {"n1": score}


def test_fit_scoring_counts_non_zero_defaults() -> None:
    plugin = noderesources_fit.new(_strategy("LeastAllocated"), FakeHandle())
    snap = snapshot([make_node(cpu="1", memory="1000Mi")])
    # 100m of 1000m and 200Mi of 1000Mi -> (90 + 80) / 2
    assert score_nodes(plugin, make_pod(), snap) == {"n1": 85}


def test_fit_scoring_extended_resource_only_when_requested() -> None:
    args = _strategy("LeastAllocated", resources=[{"name": "cpu", "weight": 1},
                                                  {"name": "example.com/gpu", "weight": 3}])
    plugin = noderesources_fit.new(args, FakeHandle())
    snap = snapshot([make_node(cpu="4", **{"example.com/gpu": "4"})])
    # cpu 75 (w1) + gpu 75 (w3) -> 75; without a gpu request only cpu counts
    assert score_nodes(plugin, make_pod(cpu="1", **{"example.com/gpu": "1"}), snap) == {"n1": 75}
    assert score_nodes(plugin, make_pod(cpu="2"), snap) == {"n1": 50}


def test_least_allocated_prefers_emptier_node() -> None:
    plugin = noderesources_fit.new(_strategy("LeastAllocated"), FakeHandle())
    snap = snapshot([make_node("busy", cpu="4", memory="4Gi"), make_node("idle", cpu="4",
                                                                       memory="4Gi")],
                    [make_pod("e", cpu="3", memory="3Gi", node="busy")])
    scores = score_nodes(plugin, make_pod(cpu="500m", memory="512Mi"), snap)
    assert isinstance(scores, dict) and scores["idle"] > scores["busy"]


@pytest.mark.parametrize(("shape", "points"), [
    pytest.param([(0, 0), (100, 100)], {0: 0, 50: 50, 100: 100}, id="identity"),
    pytest.param([(10, 100), (50, 0)], {0: 100, 10: 100, 30: 50, 50: 0, 90: 0},
                 id="descending-clamped"),
])
def test_broken_linear_function(shape: list[tuple[int, int]], points: dict[int, int]) -> None:
    f = broken_linear_function(shape)
    assert {p: f(p) for p in points} == points


BALANCED_CASES = [
    pytest.param(make_pod(cpu="1", memory="5000"), 87, id="quarter-and-half"),
    pytest.param(make_pod(cpu="2", memory="5000"), 100, id="perfectly-balanced"),
    pytest.param(make_pod(cpu="8", memory="0"), 50, id="capped-at-one"),
    pytest.param(make_pod(cpu="1", memory="5000", **{"example.com/gpu": "1"}), 87,
                 id="unconfigured-extended-ignored"),
]


@pytest.mark.parametrize(("pod", "score"), BALANCED_CASES)
def test_balanced_allocation(pod: dict[str, Any], score: int) -> None:
    plugin = balanced_allocation.new(
        default_plugin_args("NodeResourcesBalancedAllocation", None), FakeHandle())
    snap = snapshot([make_node(cpu="4", memory="10000", **{"example.com/gpu": "4"})])
    assert score_nodes(plugin, pod, snap) == {"n1": score}


def test_balanced_allocation_three_resources_uses_std() -> None:
    args = default_plugin_args("NodeResourcesBalancedAllocation", {"resources": [
        {"name": "cpu"}, {"name": "memory"}, {"name": "example.com/gpu"}]})
    plugin = balanced_allocation.new(args, FakeHandle())
    snap = snapshot([make_node(cpu="4", memory="10000", **{"example.com/gpu": "4"})])
    # fractions .25 .5 1.0: std = sqrt(((-.33)^2 + (-.08)^2 + .42^2) / 3) = 0.3118 -> 68
    assert score_nodes(plugin, make_pod(cpu="1", memory="5000", **{"example.com/gpu": "4"}),
                       snap) == {"n1": 68}
