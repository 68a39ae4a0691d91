"""SchedulingQueue on a fake clock: ordering, back-off, moves on cluster events, the
5-minute flush, scheduling gates, activation and the nominator."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.framework.interface import NominatingInfo
from kybernetes.scheduler.framework.types import PodInfo, QueuedPodInfo
from kybernetes.scheduler.queue import (
    ACTIVE_Q,
    BACKOFF_Q,
    UNSCHEDULABLE_PODS,
    SchedulingQueue,
)

from .builders import default_framework, make_node, make_pod, taint


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> SchedulingQueue:
    return SchedulingQueue.from_frameworks({"default-scheduler": default_framework()},
                                           clock=clock)


def _fail(queue: SchedulingQueue, qpi: QueuedPodInfo, *plugins: str) -> None:
    qpi.unschedulable_plugins = frozenset(plugins)
    assert queue.add_unschedulable_if_not_present(qpi)


def test_pops_by_priority_then_age(queue: SchedulingQueue, clock: FakeClock) -> None:
    queue.add(make_pod("low", priority=1))
    clock.step(1)
    queue.add(make_pod("high-old", priority=10))
    clock.step(1)
    queue.add(make_pod("high-new", priority=10))
    popped = [queue.pop() for _ in range(3)]
    assert [q.pod_info.name for q in popped if q] == ["high-old", "high-new", "low"]
    assert queue.pop() is None
    assert queue.scheduling_cycle == 3


@pytest.mark.parametrize(("attempts", "seconds"), [
    (0, 0), (1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)])
def test_backoff_duration(queue: SchedulingQueue, attempts: int, seconds: float) -> None:
    qpi = QueuedPodInfo(PodInfo(make_pod()), timestamp=0, attempts=attempts)
    assert queue.backoff_duration(qpi) == seconds


def test_error_goes_to_backoff_and_waits_it_out(queue: SchedulingQueue,
                                                clock: FakeClock) -> None:
    queue.add(make_pod("p"))
    for attempt, backoff in ((1, 1.0), (2, 2.0), (3, 4.0)):
        qpi = queue.pop()
        assert qpi is not None and qpi.attempts == attempt
        _fail(queue, qpi)  # no rejecting plug-in: an error
        assert queue.where(qpi.pod_info) == BACKOFF_Q
        clock.step(backoff - 0.1)
        queue.flush_backoff_completed()
        assert queue.where(qpi.pod_info) == BACKOFF_Q
        clock.step(0.1)
        queue.flush_backoff_completed()
        assert queue.where(qpi.pod_info) == ACTIVE_Q


def test_unschedulable_waits_for_a_relevant_event(queue: SchedulingQueue,
                                                  clock: FakeClock) -> None:
    queue.add(make_pod("big", cpu="8"))
    qpi = queue.pop()
    assert qpi is not None
    _fail(queue, qpi, "NodeResourcesFit")
    assert queue.where(qpi.pod_info) == UNSCHEDULABLE_PODS
    small, labelled = make_node("n1", cpu="2"), make_node("n1", cpu="2", labels={"x": "y"})
    queue.on_node_update(small, labelled)  # Fit does not care about labels
    queue.on_node_add(make_node("n2", cpu="4"))  # too small: the hint says skip
    assert queue.where(qpi.pod_info) == UNSCHEDULABLE_PODS
    queue.on_node_add(make_node("n3", cpu="16"))
    assert queue.where(qpi.pod_info) == BACKOFF_Q  # still backing off (1 s)
    clock.step(1)
    queue.flush_backoff_completed()
    assert queue.where(qpi.pod_info) == ACTIVE_Q


def test_event_after_backoff_goes_straight_to_active(queue: SchedulingQueue,
                                                     clock: FakeClock) -> None:
    queue.add(make_pod("p"))
    qpi = queue.pop()
    assert qpi is not None
    _fail(queue, qpi, "TaintToleration")
    clock.step(5)
    queue.on_node_add(make_node("tainted", taints=[taint("k")]))
    assert queue.where(qpi.pod_info) == UNSCHEDULABLE_PODS
    queue.on_node_update(make_node("tainted", taints=[taint("k")]), make_node("tainted"))
    assert queue.where(qpi.pod_info) == ACTIVE_Q


@pytest.mark.parametrize(("plugin", "event", "moves"), [
    pytest.param("NodeResourcesFit", "assigned_pod_delete", True, id="fit-pod-delete"),
    pytest.param("NodeResourcesFit", "assigned_pod_add", False, id="fit-pod-add"),
    pytest.param("InterPodAffinity", "assigned_pod_add", True, id="affinity-pod-add"),
    pytest.param("PodTopologySpread", "node_delete", True, id="spread-node-delete"),
    pytest.param("NodeAffinity", "assigned_pod_delete", False, id="node-affinity-pod-delete"),
    pytest.param("NodePorts", "assigned_pod_delete", True, id="ports-pod-delete"),
    pytest.param("NodeName", "node_add", False, id="node-name-other-node"),
])
def test_events_per_plugin(queue: SchedulingQueue, clock: FakeClock, plugin: str, event: str,
                           moves: bool) -> None:
    queue.add(make_pod("p", node=None))
    qpi = queue.pop()
    assert qpi is not None
    qpi.pod_info = PodInfo(make_pod("p", **({"node_selector": {"a": "b"}} if plugin ==
                                             "NodeAffinity" else {})))
    if plugin == "NodeName":
        qpi.pod_info.spec["nodeName"] = "wanted"
    _fail(queue, qpi, plugin)
    clock.step(60)
    other = make_pod("other", node="n1")
    node = make_node("n9")
    {"assigned_pod_delete": lambda: queue.on_assigned_pod_delete(other),
     "assigned_pod_add": lambda: queue.on_assigned_pod_add(other),
     "node_delete": lambda: queue.on_node_delete(node),
     "node_add": lambda: queue.on_node_add(node)}[event]()
    assert (queue.where(qpi.pod_info) == ACTIVE_Q) is moves


def test_event_during_the_cycle_sends_the_pod_to_backoff(queue: SchedulingQueue) -> None:
    queue.add(make_pod("p"))
    qpi = queue.pop()
    assert qpi is not None
    cycle = queue.scheduling_cycle
    queue.on_assigned_pod_delete(make_pod("gone", node="n1"))  # arrives while in flight
    _fail(queue, qpi, "NodeAffinity")
    assert queue.add_unschedulable_if_not_present(qpi, cycle) is False  # already queued
    assert queue.where(qpi.pod_info) == BACKOFF_Q


def test_five_minute_flush(queue: SchedulingQueue, clock: FakeClock) -> None:
    queue.add(make_pod("p"))
    qpi = queue.pop()
    assert qpi is not None
    _fail(queue, qpi, "NodeAffinity")
    clock.step(299)
    queue.flush()
    assert queue.where(qpi.pod_info) == UNSCHEDULABLE_PODS
    clock.step(2)
    queue.flush()
    assert queue.where(qpi.pod_info) == ACTIVE_Q


def test_scheduling_gates(queue: SchedulingQueue, clock: FakeClock) -> None:
    gated = make_pod("gated", gates=["example.com/wait"])
    queue.add(gated)
    assert queue.where(gated) == UNSCHEDULABLE_PODS
    queued = queue.get(gated)
    assert queued is not None and queued.gated
    assert queued.unschedulable_plugins == {"SchedulingGates"}
    queue.on_node_add(make_node("n1"))
    clock.step(600)
    queue.flush()
    assert queue.where(gated) == UNSCHEDULABLE_PODS and queue.pop() is None
    queue.update(gated, make_pod("gated", labels={"new": "label"}, gates=["example.com/wait"]))
    assert queue.where(gated) == UNSCHEDULABLE_PODS
    queue.update(gated, make_pod("gated"))
    assert queue.where(gated) == ACTIVE_Q
    popped = queue.pop()
    assert popped is not None and popped.pod_info.labels == {}


def test_update_in_place_and_delete(queue: SchedulingQueue) -> None:
    queue.add(make_pod("a", priority=1))
    queue.add(make_pod("b", priority=5))
    queue.update(make_pod("a", priority=1), make_pod("a", priority=9))
    first = queue.pop()
    assert first is not None and first.pod_info.name == "a"
    queue.delete(make_pod("b"))
    assert queue.pop() is None and len(queue) == 0


def test_activate(queue: SchedulingQueue) -> None:
    queue.add(make_pod("p"))
    qpi = queue.pop()
    assert qpi is not None
    _fail(queue, qpi, "NodeAffinity")
    queue.activate([make_pod("p")])
    assert queue.where(qpi.pod_info) == ACTIVE_Q
    assert queue.pending_pods() == {ACTIVE_Q: ["default/p"], BACKOFF_Q: [],
                                    UNSCHEDULABLE_PODS: []}


def test_nominator(queue: SchedulingQueue) -> None:
    nominee = PodInfo(make_pod("nominee", priority=10))
    queue.add_nominated_pod(nominee, NominatingInfo("n1"))
    assert [p.name for p in queue.nominated_pods_for_node("n1")] == ["nominee"]
    queue.add_nominated_pod(nominee, NominatingInfo("n2"))
    assert queue.nominated_pods_for_node("n1") == []
    assert queue.nominated_node(nominee) == "n2"
    queue.add_nominated_pod(nominee, NominatingInfo(""))  # Override with "": cleared
    assert queue.nominated_node(nominee) is None
    # pods arriving with status.nominatedNodeName are nominated; binding clears it
    queue.add(make_pod("pre", nominated="n3"))
    assert [p.name for p in queue.nominated_pods_for_node("n3")] == ["pre"]
    queue.on_assigned_pod_add(make_pod("pre", node="n3"))
    assert queue.nominated_pods_for_node("n3") == []


def test_updates_keep_or_drop_nominations(queue: SchedulingQueue) -> None:
    queue.add(make_pod("p", priority=5))
    queue.add_nominated_pod(PodInfo(make_pod("p", priority=5)), NominatingInfo("n1"))
    # an update that does not know about the in-memory nomination keeps it
    queue.update(make_pod("p", priority=5), make_pod("p", priority=5, labels={"a": "b"}))
    assert queue.nominated_node(make_pod("p")) == "n1"
    # the API catching up, then the nomination being removed there
    queue.update(make_pod("p"), make_pod("p", nominated="n2"))
    assert queue.nominated_node(make_pod("p")) == "n2"
    queue.update(make_pod("p", nominated="n2"), make_pod("p"))
    assert queue.nominated_node(make_pod("p")) is None


def test_frameworks_use_the_queue_as_nominator(clock: FakeClock) -> None:
    fw = default_framework()
    queue = SchedulingQueue.from_frameworks({"default-scheduler": fw}, clock=clock)
    assert fw.nominator is queue


def test_pods_of_unknown_profiles_are_not_stuck(clock: FakeClock) -> None:
    queue = SchedulingQueue.from_frameworks({"default-scheduler": default_framework()},
                                            clock=clock)
    pod: dict[str, Any] = make_pod("p", scheduler_name="other")
    queue.add(pod)
    qpi = queue.pop()
    assert qpi is not None
    _fail(queue, qpi, "Whatever")
    queue.on_node_add(make_node("n1"))
    assert queue.where(pod) == BACKOFF_Q
