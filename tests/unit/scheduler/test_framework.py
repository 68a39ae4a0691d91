"""Framework runtime: plug-in sets per extension point, multiPoint expansion, weights, and the
Reserve/Permit/Bind path with custom plug-ins."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from kybernetes.scheduler.errors import ConfigError, SchedulingError
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import ActionType
from kybernetes.scheduler.framework.interface import PreFilterResult
from kybernetes.scheduler.framework.runtime import _go_duration
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.schedule_one import (
    ScheduleResult,
    reserve_and_permit,
    run_binding_cycle,
    schedule_one,
)

from .builders import default_framework, make_node, make_pod, snapshot

FILTERS = ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
           "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"]
SCORES = ["TaintToleration", "NodeAffinity", "NodeResourcesFit", "PodTopologySpread",
          "InterPodAffinity", "NodeResourcesBalancedAllocation", "ImageLocality"]


def test_default_profile_plugins_in_upstream_order() -> None:
    fw = default_framework()
    assert fw.list_plugins() == {
        "preEnqueue": ["SchedulingGates"],
        "queueSort": ["PrioritySort"],
        "preFilter": ["NodeAffinity", "NodePorts", "NodeResourcesFit", "PodTopologySpread",
                      "InterPodAffinity"],
        "filter": FILTERS,
        "postFilter": ["DefaultPreemption"],
        "preScore": SCORES,
        "score": SCORES,
        "bind": ["DefaultBinder"],
    }
    assert fw.score_weights == {"TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 1,
                                "PodTopologySpread": 2, "InterPodAffinity": 2,
                                "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1}


def _with(plugins: Mapping[str, Any], **kw: Any) -> Any:
    return default_framework({"profiles": [{"plugins": dict(plugins)}]}, **kw)


def test_explicit_extension_point_entries_come_first() -> None:
    fw = _with({"filter": {"enabled": [{"name": "NodePorts"}]}})
    assert fw.list_plugins()["filter"] == ["NodePorts"] + [p for p in FILTERS if p != "NodePorts"]


def test_disable_all_at_one_point() -> None:
    fw = _with({"filter": {"disabled": [{"name": "*"}], "enabled": [{"name": "NodeName"}]}})
    assert fw.list_plugins()["filter"] == ["NodeName"]
    assert "NodeResourcesFit" in fw.list_plugins()["preFilter"]


def test_disable_in_multi_point() -> None:
    fw = _with({"multiPoint": {"disabled": [{"name": "ImageLocality"},
                                            {"name": "TaintToleration"}]}})
    assert "ImageLocality" not in fw.plugins
    assert "TaintToleration" not in fw.list_plugins()["filter"]


@pytest.mark.parametrize(("plugins", "message"), [
    pytest.param({"filter": {"enabled": [{"name": "PrioritySort"}]}},
                 "plugin 'PrioritySort' does not extend FilterPlugin plugin", id="wrong-point"),
    pytest.param({"multiPoint": {"disabled": [{"name": "DefaultBinder"}]}},
                 "at least one bind plugin is needed", id="no-binder"),
    pytest.param({"multiPoint": {"disabled": [{"name": "PrioritySort"}]}},
                 "only one queue sort plugin required", id="no-queue-sort"),
    pytest.param({"filter": {"enabled": [{"name": "NodeName"}, {"name": "NodeName"}]}},
                 "plugin 'NodeName' already registered as 'FilterPlugin'", id="twice"),
])
def test_invalid_plugin_sets(plugins: Mapping[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _with(plugins)


class Recorder:
    """A configurable plug-in for every extension point, recording what ran."""

    def __init__(self, name: str, log: list[str], **behaviour: Any) -> None:
        self.name = name
        self.log = log
        self.behaviour = behaviour

    def _record(self, what: str) -> Any:
        self.log.append(f"{self.name}.{what}")
        return self.behaviour.get(what)

    def pre_filter(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        state.write(self.name, True)
        return self.behaviour.get("pre_filter_result"), self._record("pre_filter")

    def pre_filter_extensions(self) -> None:
        return None

    def filter(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        return self.behaviour.get("filter")

    def score(self, state: CycleState, pod: PodInfo, node_info: NodeInfo
              ) -> tuple[int, Status | None]:
        return self.behaviour.get("score", 0), None

    def score_extensions(self) -> None:
        return None

    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None:
        return self._record("reserve")

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        self._record("unreserve")

    def permit(self, state: CycleState, pod: PodInfo, node_name: str
               ) -> tuple[Status | None, float]:
        return self._record("permit"), self.behaviour.get("timeout", 0.0)

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None:
        return self._record("bind")


def _custom(log: list[str], points: Mapping[str, list[str]], binder: Any = None,
            **plugins: Mapping[str, Any]) -> Any:
    """A default profile plus `plugins` enabled at `points`; custom binders replace the default."""
    registry = {name: (lambda args, handle, name=name, b=b: Recorder(name, log, **b))
                for name, b in plugins.items()}
    sets: dict[str, Any] = {point: {"enabled": [{"name": n} for n in names]}
                            for point, names in points.items()}
    if "bind" in sets:
        sets["bind"]["disabled"] = [{"name": "DefaultBinder"}]
    config = {"profiles": [{"plugins": sets}]}
    return default_framework(config, registry=registry, binder=binder)


def test_pre_filter_unschedulable_still_runs_the_others() -> None:
    log: list[str] = []
    fw = _custom(log, {"preFilter": ["A", "B"]},
                 A={"pre_filter": new_status(Code.UNSCHEDULABLE, "not now")}, B={})
    state = CycleState()
    result = schedule_one(make_pod(), snapshot([make_node()]), fw, state=state)
    assert log == ["A.pre_filter", "B.pre_filter"] and "B" in state
    assert not isinstance(result, ScheduleResult)
    assert result.message.startswith("0/1 nodes are available: not now.")


def test_pre_filter_results_are_intersected() -> None:
    log: list[str] = []
    fw = _custom(log, {"preFilter": ["A", "B"]},
                 A={"pre_filter_result": PreFilterResult(frozenset({"n1", "n2"}))},
                 B={"pre_filter_result": PreFilterResult(frozenset({"n3"}))})
    result = schedule_one(make_pod(), snapshot([make_node(f"n{i}") for i in (1, 2, 3)]), fw)
    assert not isinstance(result, ScheduleResult)
    assert result.message.startswith(
        "0/3 nodes are available: node(s) didn't satisfy plugin(s) [A B] simultaneously.")


def test_filter_error_raises() -> None:
    fw = _custom([], {"filter": ["A"]}, A={"filter": new_status(Code.ERROR, "boom")})
    with pytest.raises(SchedulingError, match='running "A" filter plugin: boom'):
        schedule_one(make_pod(), snapshot([make_node()]), fw)


def test_score_out_of_range_raises() -> None:
    fw = _custom([], {"score": ["A"]}, A={"score": 101})
    with pytest.raises(SchedulingError, match='plugin "A" returns an invalid score 101'):
        schedule_one(make_pod(), snapshot([make_node("n1"), make_node("n2")]), fw)


def test_reserve_failure_unreserves_in_reverse_order() -> None:
    log: list[str] = []
    fw = _custom(log, {"reserve": ["A", "B"]}, A={},
                 B={"reserve": new_status(Code.UNSCHEDULABLE, "no")})
    status = reserve_and_permit(fw, CycleState(), make_pod(), "n1")
    assert status == Status(Code.UNSCHEDULABLE, ("no",), "B")
    assert log == ["A.reserve", "B.reserve", "B.unreserve", "A.unreserve"]


def test_bind_skip_passes_to_the_next_binder() -> None:
    log: list[str] = []
    fw = _custom(log, {"bind": ["A", "B"]}, A={"bind": new_status(Code.SKIP)}, B={})
    status = asyncio.run(run_binding_cycle(fw, CycleState(), make_pod(), "n1"))
    assert status is None and log == ["A.bind", "B.bind"]


def test_default_binder_posts_a_binding() -> None:
    bound: list[Mapping[str, Any]] = []

    async def binder(binding: Mapping[str, Any]) -> None:
        bound.append(binding)

    fw = default_framework(binder=binder)
    assert asyncio.run(run_binding_cycle(fw, CycleState(), make_pod("web"), "n1")) is None
    assert bound == [{"apiVersion": "v1", "kind": "Binding",
                      "metadata": {"namespace": "default", "name": "web", "uid": "uid-web"},
                      "target": {"kind": "Node", "name": "n1"}}]


def test_binder_failure_is_an_error_and_unreserves() -> None:
    log: list[str] = []

    async def binder(binding: Mapping[str, Any]) -> None:
        raise RuntimeError("conflict")

    fw = _custom(log, {"reserve": ["A"]}, binder=binder, A={})
    status = asyncio.run(run_binding_cycle(fw, CycleState(), make_pod(), "n1"))
    assert status is not None and status.code == Code.ERROR
    assert status.message == 'running Bind plugin "DefaultBinder": conflict'
    assert log == ["A.unreserve"]


def test_permit_wait_then_allow() -> None:
    log: list[str] = []

    async def scenario() -> Status | None:
        fw = _custom(log, {"permit": ["Gate"], "bind": ["A"]},
                     Gate={"permit": new_status(Code.WAIT), "timeout": 30}, A={})
        pod = PodInfo(make_pod("gated"))
        state = CycleState()
        status = reserve_and_permit(fw, state, pod, "n1")
        assert status is not None and status.code == Code.WAIT
        waiting = fw.get_waiting_pod(pod.uid)
        assert waiting is not None
        asyncio.get_running_loop().call_soon(waiting.allow, "Gate")
        return await run_binding_cycle(fw, state, pod, "n1")

    assert asyncio.run(scenario()) is None
    assert log == ["Gate.permit", "A.bind"]


def test_permit_wait_times_out() -> None:
    log: list[str] = []

    async def scenario() -> Status | None:
        fw = _custom(log, {"permit": ["Gate"]},
                     Gate={"permit": new_status(Code.WAIT), "timeout": 0.01})
        pod = PodInfo(make_pod("gated"))
        state = CycleState()
        reserve_and_permit(fw, state, pod, "n1")
        return await run_binding_cycle(fw, state, pod, "n1")

    status = asyncio.run(scenario())
    assert status == Status(Code.UNSCHEDULABLE,
                            ("rejected due to timeout after waiting 10ms at plugin Gate",), "Gate")


@pytest.mark.parametrize(("seconds", "text"), [
    (0.01, "10ms"), (1, "1s"), (90, "1m30s"), (900, "15m0s"), (3600, "1h0m0s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert _go_duration(seconds) == text


def test_events_to_register() -> None:
    fw = _custom([], {"filter": ["A"]}, A={})
    events = fw.events_to_register()
    assert [e.event.action for e in events["A"]] == [ActionType.ALL]  # undeclared: everything
    assert "NodeResourcesFit" in events and "ImageLocality" not in events
    assert "SchedulingGates" in events
