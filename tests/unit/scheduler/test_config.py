"""KubeSchedulerConfiguration parsing, defaulting (plug-ins, weights, args) and validation."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.config import (
    DEFAULT_SCHEDULER_NAME,
    PluginRef,
    PluginSet,
    load_config,
    merge_plugin_set,
)
from kybernetes.scheduler.errors import ConfigError
from kybernetes.scheduler.profiles import build_frameworks

HEADER = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"


def test_defaults() -> None:
    cfg = load_config(None)
    assert (cfg.pod_initial_backoff_seconds, cfg.pod_max_backoff_seconds) == (1, 10)
    assert cfg.percentage_of_nodes_to_score is None
    [profile] = cfg.profiles
    assert profile.scheduler_name == DEFAULT_SCHEDULER_NAME
    weights = {p.name: p.weight for p in profile.plugins.multi_point.enabled}
    assert weights == {
        "SchedulingGates": 0, "PrioritySort": 0, "NodeUnschedulable": 0, "NodeName": 0,
        "TaintToleration": 3, "NodeAffinity": 2, "NodePorts": 0, "NodeResourcesFit": 1,
        "PodTopologySpread": 2, "InterPodAffinity": 2, "DefaultPreemption": 0,
        "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1, "DefaultBinder": 0}
    assert profile.plugin_config["DefaultPreemption"] == {
        "minCandidateNodesPercentage": 10, "minCandidateNodesAbsolute": 100}
    assert profile.plugin_config["NodeResourcesFit"]["scoringStrategy"] == {
        "type": "LeastAllocated",
        "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}
    assert profile.plugin_config["PodTopologySpread"]["defaultingType"] == "System"
    assert profile.plugin_config["InterPodAffinity"]["hardPodAffinityWeight"] == 1


def test_yaml_with_profiles_plugins_and_args() -> None:
    cfg = load_config(HEADER + """
percentageOfNodesToScore: 30
podMaxBackoffSeconds: 20
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  percentageOfNodesToScore: 70
  plugins:
    score:
      disabled:
      - name: NodeResourcesBalancedAllocation
      enabled:
      - name: NodeResourcesFit
        weight: 5
  pluginConfig:
  - name: NodeResourcesFit
    args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeResourcesFitArgs
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
        - name: memory
          weight: 2
""")
    assert cfg.percentage_of_nodes_to_score == 30 and cfg.pod_max_backoff_seconds == 20
    packer = cfg.profiles[1]
    assert packer.plugin_config["NodeResourcesFit"]["scoringStrategy"] == {
        "type": "MostAllocated",
        "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 2}]}
    frameworks = build_frameworks(cfg)
    assert set(frameworks) == {"default-scheduler", "bin-packer"}
    fw = frameworks["bin-packer"]
    assert fw.percentage_of_nodes_to_score == 70
    assert frameworks["default-scheduler"].percentage_of_nodes_to_score == 30
    scores = fw.list_plugins()["score"]
    assert scores[0] == "NodeResourcesFit" and "NodeResourcesBalancedAllocation" not in scores
    assert fw.score_weights["NodeResourcesFit"] == 5
    # disabled for Score only: its PreScore still runs, as upstream
    assert "NodeResourcesBalancedAllocation" in fw.list_plugins()["preScore"]


MERGE_CASES = [
    pytest.param(PluginSet(disabled=(PluginRef(name="B"),)), ["A", "C"], id="disable-one"),
    pytest.param(PluginSet(disabled=(PluginRef(name="*"),), enabled=(PluginRef(name="X"),)),
                 ["X"], id="disable-all"),
    pytest.param(PluginSet(enabled=(PluginRef(name="X"), PluginRef(name="B", weight=7))),
                 ["A", "B", "C", "X"], id="reconfigured-in-place-then-new"),
]


@pytest.mark.parametrize(("custom", "names"), MERGE_CASES)
def test_merge_plugin_set(custom: PluginSet, names: list[str]) -> None:
    default = PluginSet(enabled=tuple(PluginRef(name=n) for n in "ABC"))
    merged = merge_plugin_set(default, custom)
    assert [p.name for p in merged.enabled] == names


def _profile(**extra: Any) -> dict[str, Any]:
    return {"schedulerName": "s", **extra}


ERROR_CASES = [
    pytest.param({"apiVersion": "kubescheduler.config.k8s.io/v1beta3"}, "apiVersion: Unsupported",
                 id="api-version"),
    pytest.param({"percentageOfNodesToScore": 101}, "percentageOfNodesToScore: Invalid value",
                 id="percentage"),
    pytest.param({"podInitialBackoffSeconds": 5, "podMaxBackoffSeconds": 2},
                 "podMaxBackoffSeconds: Invalid value", id="backoff-order"),
    pytest.param({"profiles": [_profile(), _profile()]},
                 "profiles[1].schedulerName: Duplicate value: 's'", id="duplicate-profile"),
    pytest.param({"profiles": [{}, _profile()]}, "profiles[0].schedulerName: Required value",
                 id="unnamed-profile"),
    pytest.param({"profiles": [_profile(pluginConfig=[
        {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "Random"}}}])]},
        "scoringStrategy.type: Unsupported value: 'Random'", id="strategy"),
    pytest.param({"profiles": [_profile(pluginConfig=[
        {"name": "NodeResourcesFit", "args": {"scoringStrategy": {
            "type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [
                {"utilization": 50, "score": 5}, {"utilization": 40, "score": 11}]}}}}])]},
        "shape[1].utilization: Invalid value: 40: utilization values must be sorted",
        id="shape"),
    pytest.param({"profiles": [_profile(pluginConfig=[
        {"name": "PodTopologySpread", "args": {"defaultConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]}}])]},
        "defaultingType: Invalid value: \"System\"", id="system-with-constraints"),
    pytest.param({"profiles": [_profile(pluginConfig=[
        {"name": "DefaultPreemption", "args": {"minCandidateNodesPercentage": 0,
                                               "minCandidateNodesAbsolute": 0}}])]},
        "cannot be zero at the same time", id="preemption-args"),
    pytest.param({"profiles": [_profile(), _profile(schedulerName="t", plugins={
        "queueSort": {"disabled": [{"name": "*"}], "enabled": [{"name": "Other"}]}})]},
        "profiles[1].plugins.queueSort: Invalid value: ['Other']: must be the same for all "
        "profiles", id="queue-sort-differs"),
    pytest.param({"profiles": [_profile(plugins={"filtr": {}})]},
                 "profiles[0].plugins.filtr: unknown extension point", id="bad-extension-point"),
    pytest.param("profiles: [", "invalid YAML", id="yaml"),
    pytest.param({"percentageOfNodesToscore": 5},
                 'strict decoding error: unknown field "percentageOfNodesToscore"', id="typo"),
    pytest.param({"profiles": [_profile(plugin={})]},
                 'unknown field "profiles[0].plugin"', id="profile-typo"),
]


@pytest.mark.parametrize(("data", "fragment"), ERROR_CASES)
def test_validation_errors(data: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(data)
    assert fragment in str(err.value)


def test_unknown_plugin_fails_when_building() -> None:
    cfg = load_config({"profiles": [_profile(plugins={"filter": {"enabled": [
        {"name": "VolumeBinding"}]}})]})
    with pytest.raises(ConfigError, match="plugin 'VolumeBinding' does not exist"):
        build_frameworks(cfg)
