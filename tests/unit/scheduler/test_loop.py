"""The pieces together, as a scheduler process drives them: queue -> schedule_one -> requeue
on failure -> cluster event -> retry -> reserve/permit -> bind."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

from kybernetes.scheduler import (
    FitError,
    ScheduleResult,
    SchedulingQueue,
    Snapshot,
    build_frameworks,
    load_config,
    reserve_and_permit,
    run_binding_cycle,
    schedule_one,
)

from .builders import make_node, make_pod


class Cluster:
    """Nodes and pods in memory; binding sets spec.nodeName like the API would."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.pods: dict[str, dict[str, Any]] = {}
        self.now = 0.0

    async def bind(self, binding: Mapping[str, Any]) -> None:
        self.pods[binding["metadata"]["name"]]["spec"]["nodeName"] = binding["target"]["name"]

    def snapshot(self) -> Snapshot:
        return Snapshot.from_objects(self.nodes, self.pods.values())


def test_pending_pod_is_scheduled_once_a_node_fits() -> None:
    cluster = Cluster()
    frameworks = build_frameworks(load_config(None), binder=cluster.bind, rng=random.Random(1))
    queue = SchedulingQueue.from_frameworks(frameworks, clock=lambda: cluster.now)
    cluster.nodes.append(make_node("small", cpu="1"))
    cluster.pods["web"] = make_pod("web", cpu="2", priority=0)
    queue.add(cluster.pods["web"])

    def attempt() -> FitError | ScheduleResult:
        qpi = queue.pop()
        assert qpi is not None
        fw = frameworks["default-scheduler"]
        result = schedule_one(qpi.pod_info, cluster.snapshot(), fw)
        if isinstance(result, FitError):
            qpi.unschedulable_plugins = frozenset(result.diagnosis.unschedulable_plugins)
            queue.add_unschedulable_if_not_present(qpi)
            queue.add_nominated_pod(qpi.pod_info, result.nominating_info)
            return result
        assert reserve_and_permit(fw, result.state, qpi.pod_info, result.suggested_host) is None
        status = asyncio.run(run_binding_cycle(fw, result.state, qpi.pod_info,
                                               result.suggested_host))
        assert status is None
        return result

    first = attempt()
    assert isinstance(first, FitError)
    assert first.message == ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes "
                             "are available: 1 No preemption victims found for incoming pod.")
    assert queue.pop() is None
    big = make_node("big", cpu="4")
    cluster.nodes.append(big)
    cluster.now += 2
    queue.on_node_add(big)
    second = attempt()
    assert isinstance(second, ScheduleResult) and second.suggested_host == "big"
    assert cluster.pods["web"]["spec"]["nodeName"] == "big"
    queue.on_assigned_pod_add(cluster.pods["web"])
    assert len(queue) == 0
