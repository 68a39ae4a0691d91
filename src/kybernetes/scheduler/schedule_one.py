"""One scheduling attempt for one pod: the pure core of `schedule_one.go`.

    result = schedule_one(pod, snapshot, framework)
    if isinstance(result, FitError):      # no node fits; preemption may have nominated one
        ...record result.message, apply result.post_filter_result, requeue the pod
    else:                                 # result.suggested_host
        ...assume the pod on that node in the cache, then
        status = reserve_and_permit(framework, result.state, pod, result.suggested_host)
        ...and in a task: await run_binding_cycle(framework, result.state, pod, host)

Steps (as upstream's schedulePod):
  1. PreFilter; a rejection here fails the pod for every node.
  2. A pod nominated by an earlier preemption tries its nominated node first.
  3. Filter the nodes (or those a PreFilterResult allows) from a round-robin start,
     stopping once enough feasible nodes are found: numFeasibleNodesToFind, i.e.
     all of them below 100 nodes, else percentageOfNodesToScore (adaptive by
     default: 50 - nodes/125 percent, at least 5%) but at least 100 nodes.
  4. No feasible node: FitError, after running PostFilter (preemption).
  5. One feasible node: take it. Several: PreScore, Score, NormalizeScore, weights,
     and the highest total wins, ties broken uniformly at random (the framework's RNG).

Internal failures (a plug-in returning Error) raise `SchedulingError`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.scheduler.errors import SchedulingError
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.diagnosis import Diagnosis, FitError
from kybernetes.scheduler.framework.interface import (
    MODE_OVERRIDE,
    NodePluginScores,
    NominatingInfo,
    PostFilterResult,
)
from kybernetes.scheduler.framework.runtime import Framework
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo, as_pod_info

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    """The chosen node; `state` is the cycle's state for Reserve, Permit and binding."""

    suggested_host: str
    evaluated_nodes: int
    feasible_nodes: int
    state: CycleState


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """How many feasible nodes are enough to stop filtering (0 percent: adaptive)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def schedule_one(pod: Mapping[str, Any] | PodInfo, snapshot: Snapshot, framework: Framework, *,
                 state: CycleState | None = None) -> ScheduleResult | FitError:
    """Pick a node for the pod in this snapshot, or explain why none fits (see module doc)."""
    info = as_pod_info(pod)
    state = state if state is not None else CycleState()
    framework.snapshot = snapshot
    if snapshot.num_nodes == 0:
        return FitError(info.pod, 0, Diagnosis(), no_nodes=True,
                        post_filter_result=PostFilterResult(NominatingInfo("", MODE_OVERRIDE)))
    feasible, diagnosis = find_nodes_that_fit_pod(framework, state, info)
    if not feasible:
        return _fit_error(framework, state, info, diagnosis)
    if len(feasible) == 1:
        return ScheduleResult(feasible[0].name, 1 + len(diagnosis.node_to_status), 1, state)
    scores = prioritize_nodes(framework, state, info, feasible)
    host = select_host(scores, framework.rng)
    return ScheduleResult(host, len(feasible) + len(diagnosis.node_to_status), len(feasible),
                          state)


def _fit_error(framework: Framework, state: CycleState, pod: PodInfo,
               diagnosis: Diagnosis) -> FitError:
    error = FitError(pod.pod, framework.snapshot.num_nodes, diagnosis)
    if not framework.has_post_filter_plugins():
        error.post_filter_result = PostFilterResult(NominatingInfo("", MODE_OVERRIDE))
        return error
    result, status = framework.run_post_filter_plugins(state, pod, diagnosis.node_to_status)
    diagnosis.post_filter_msg = status.message
    error.post_filter_result = result
    return error


def find_nodes_that_fit_pod(framework: Framework, state: CycleState,
                            pod: PodInfo) -> tuple[list[NodeInfo], Diagnosis]:
    diagnosis = Diagnosis()
    all_nodes = framework.snapshot.node_infos
    result, status, narrowing = framework.run_pre_filter_plugins(state, pod, all_nodes)
    diagnosis.unschedulable_plugins = set(narrowing)
    if status is not None and not status.is_success():
        if not status.is_rejected():
            raise SchedulingError(status)
        diagnosis.node_to_status.absent_nodes_status = status
        diagnosis.pre_filter_msg = status.message
        diagnosis.add_plugin_status(status)
        return [], diagnosis
    nominated = (pod.pod.get("status") or {}).get("nominatedNodeName")
    if nominated and (node := framework.snapshot.get(nominated)) is not None:
        feasible = find_nodes_that_pass_filters(framework, state, pod, diagnosis, [node])
        if feasible:
            return feasible, diagnosis
    nodes: Sequence[NodeInfo] = all_nodes
    if result is not None and result.node_names is not None:
        allowed = result.node_names
        nodes = [ni for ni in all_nodes if ni.name in allowed]
        diagnosis.node_to_status.absent_nodes_status = new_status(
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
            f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(narrowing))}]")
    feasible = find_nodes_that_pass_filters(framework, state, pod, diagnosis, nodes)
    processed = len(feasible) + len(diagnosis.node_to_status)
    framework.cursor.index = (framework.cursor.index + processed) % len(all_nodes)
    return feasible, diagnosis


def find_nodes_that_pass_filters(framework: Framework, state: CycleState, pod: PodInfo,
                                 diagnosis: Diagnosis,
                                 nodes: Sequence[NodeInfo]) -> list[NodeInfo]:
    count = len(nodes)
    if count == 0:
        return []
    wanted = num_feasible_nodes_to_find(framework.percentage_of_nodes_to_score, count)
    if not framework.has_score_plugins():
        wanted = 1
    start = framework.cursor.index
    if not framework.has_filter_plugins():
        return [nodes[(start + i) % count] for i in range(wanted)]
    feasible: list[NodeInfo] = []
    statuses = diagnosis.node_to_status
    for i in range(count):
        node_info = nodes[(start + i) % count]
        status = framework.run_filter_plugins_with_nominated_pods(state, pod, node_info)
        if status is None:
            feasible.append(node_info)
            if len(feasible) >= wanted:
                break
        elif status.code == Code.ERROR:
            raise SchedulingError(status)
        else:
            statuses.set(node_info.name, status)
            diagnosis.add_plugin_status(status)
    return feasible


def prioritize_nodes(framework: Framework, state: CycleState, pod: PodInfo,
                     nodes: Sequence[NodeInfo]) -> list[NodePluginScores]:
    """Weighted scores per node; every node scores 1 when no Score plug-in is configured."""
    if not framework.has_score_plugins():
        return [NodePluginScores(ni.name, [], 1) for ni in nodes]
    status = framework.run_pre_score_plugins(state, pod, nodes)
    if status is not None:
        raise SchedulingError(status)
    scores, status = framework.run_score_plugins(state, pod, nodes)
    if status is not None:
        raise SchedulingError(status)
    return scores


def select_host(scores: Sequence[NodePluginScores], rng: random.Random) -> str:
    """The highest total score; ties resolved by reservoir sampling (uniform)."""
    if not scores:
        raise SchedulingError(new_status(Code.ERROR, "empty priorityList"))
    best = scores[0]
    ties = 1
    for ns in scores[1:]:
        if ns.total_score > best.total_score:
            best, ties = ns, 1
        elif ns.total_score == best.total_score:
            ties += 1
            if rng.randrange(ties) == 0:
                best = ns
    return best.name


def reserve_and_permit(framework: Framework, state: CycleState, pod: Mapping[str, Any] | PodInfo,
                       node_name: str) -> Status | None:
    """The rest of the scheduling cycle after the pod is assumed on `node_name`.

    None or a Wait status: go on to `run_binding_cycle`. Anything else: the pod
    failed (Unreserve has run); the caller forgets the assumed pod and requeues it.
    """
    info = as_pod_info(pod)
    status = framework.run_reserve_plugins_reserve(state, info, node_name)
    if status is None:
        status = framework.run_permit_plugins(state, info, node_name)
        if status is None or status.code == Code.WAIT:
            return status
    framework.run_reserve_plugins_unreserve(state, info, node_name)
    return status


async def run_binding_cycle(framework: Framework, state: CycleState,
                            pod: Mapping[str, Any] | PodInfo, node_name: str) -> Status | None:
    """WaitOnPermit, PreBind, Bind, PostBind; on failure Unreserve and return the status."""
    info = as_pod_info(pod)
    status = await framework.wait_on_permit(info)
    if status is None:
        status = await framework.run_pre_bind_plugins(state, info, node_name)
    if status is None:
        status = await framework.run_bind_plugins(state, info, node_name)
    if status is not None and not status.is_success():
        framework.run_reserve_plugins_unreserve(state, info, node_name)
        return status
    await framework.run_post_bind_plugins(state, info, node_name)
    return None
