"""DefaultPreemption (PostFilter): make room for a pod by evicting lower-priority pods.

When no node fits, for each node rejected as plain Unschedulable (not
...AndUnresolvable) a dry run removes every lower-priority pod and checks
the pod fits; then it reprieves as many of those as possible, highest
priority first (PDB-violating ones before the others), and the ones that
cannot be reprieved are the node's victims. Candidates are evaluated from a
random offset until enough are found (10% of the nodes, at least 100), and
the node is chosen by, in order:

  1. fewest PodDisruptionBudget violations
  2. lowest highest-priority victim
  3. smallest sum of victim priorities
  4. fewest victims
  5. latest start time of the highest-priority victims
  6. first candidate found

The result nominates the pod to that node and lists the victims and the
lower-priority pods nominated there; the caller deletes and un-nominates
them (upstream does those API calls inside the plug-in).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.diagnosis import Diagnosis, FitError, NodeToStatus
from kybernetes.scheduler.framework.interface import (
    MODE_OVERRIDE,
    NominatingInfo,
    PostFilterResult,
)
from kybernetes.scheduler.framework.status import Code, Status, as_status, new_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.plugins.names import DEFAULT_PREEMPTION

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
_MAX_INT32 = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node where preemption works, its victims (highest priority first) and PDB violations."""

    name: str
    victims: tuple[PodInfo, ...]
    num_pdb_violations: int


def more_important(a: PodInfo, b: PodInfo) -> bool:
    """`util.MoreImportantPod`: higher priority, then earlier start."""
    if a.priority != b.priority:
        return a.priority > b.priority
    return a.start_time < b.start_time


def _importance(p: PodInfo) -> tuple[int, float]:
    return (-p.priority, p.start_time)


def terminating_by_preemption(pod: PodInfo) -> bool:
    if not pod.terminating:
        return False
    return any(c.get("type") == "DisruptionTarget" and c.get("reason") == "PreemptionByScheduler"
               for c in (pod.pod.get("status") or {}).get("conditions") or ())


def filter_pods_with_pdb_violation(pods: Sequence[PodInfo], pdbs: Sequence[Mapping[str, Any]]
                                   ) -> tuple[list[PodInfo], list[PodInfo]]:
    """Split pods into (would violate a PDB, would not), spending each PDB's budget in order."""
    allowed = [int((pdb.get("status") or {}).get("disruptionsAllowed") or 0) for pdb in pdbs]
    selectors = []
    for pdb in pdbs:
        try:
            selectors.append(label_selector_from_dict((pdb.get("spec") or {}).get("selector")))
        except StatusError:
            selectors.append(None)
    violating: list[PodInfo] = []
    ok: list[PodInfo] = []
    for pod in pods:
        violated = False
        if pod.labels:
            for i, pdb in enumerate(pdbs):
                meta = pdb.get("metadata") or {}
                selector = selectors[i]
                if meta.get("namespace") != pod.namespace or selector is None:
                    continue
                # A PDB with an empty (or nil) selector matches nothing.
                if selector.empty or not selector.matches(pod.labels):
                    continue
                if pod.name in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                    continue  # already being disrupted: do not count it twice
                allowed[i] -= 1
                if allowed[i] < 0:
                    violated = True
        (violating if violated else ok).append(pod)
    return violating, ok


def _earliest_start_of_highest(victims: Sequence[PodInfo]) -> float:
    top = max(v.priority for v in victims)
    return min(v.start_time for v in victims if v.priority == top)


def pick_one_node_for_preemption(candidates: Sequence[Candidate]) -> Candidate | None:
    if not candidates:
        return None
    score_funcs: list[Callable[[Candidate], float]] = [
        lambda c: -c.num_pdb_violations,
        lambda c: -c.victims[0].priority,
        lambda c: -sum(v.priority + _MAX_INT32 + 1 for v in c.victims),
        lambda c: -len(c.victims),
        lambda c: _earliest_start_of_highest(c.victims),
    ]
    remaining = list(candidates)
    for fn in score_funcs:
        scores = [fn(c) for c in remaining]
        best = max(scores)
        remaining = [c for c, s in zip(remaining, scores, strict=True) if s == best]
        if len(remaining) == 1:
            break
    return remaining[0]


class DefaultPreemption:
    """Implements PostFilterPlugin."""

    name = DEFAULT_PREEMPTION

    def __init__(self, args: Mapping[str, Any], handle: Any) -> None:
        self.handle = handle
        self.min_candidate_nodes_percentage = int(args.get("minCandidateNodesPercentage", 10))
        self.min_candidate_nodes_absolute = int(args.get("minCandidateNodesAbsolute", 100))

    def post_filter(self, state: CycleState, pod: PodInfo, statuses: NodeToStatus
                    ) -> tuple[PostFilterResult | None, Status | None]:
        result, status = self.preempt(state, pod, statuses)
        if status.message:
            return result, new_status(status.code, "preemption: " + status.message)
        return result, status

    def preempt(self, state: CycleState, pod: PodInfo, statuses: NodeToStatus
                ) -> tuple[PostFilterResult | None, Status]:
        nominated = (pod.pod.get("status") or {}).get("nominatedNodeName") or ""
        ok, msg = self.pod_eligible_to_preempt_others(pod, statuses.get(nominated)
                                                      if nominated else None)
        if not ok:
            return None, new_status(Code.UNSCHEDULABLE, msg)
        snapshot = self.handle.snapshot
        if not snapshot.node_infos:
            return None, as_status("no nodes available")
        candidates, node_statuses, errors = self.find_candidates(state, pod, statuses)
        if errors and not candidates:
            return None, as_status("; ".join(errors))
        if not candidates:
            node_statuses.absent_nodes_status = new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                                           NOT_HELPFUL)
            fit = FitError(pod.pod, snapshot.num_nodes, Diagnosis(node_to_status=node_statuses))
            # Clear a nomination the pod may have from an earlier cycle.
            return (PostFilterResult(NominatingInfo("", MODE_OVERRIDE)),
                    new_status(Code.UNSCHEDULABLE, fit.message))
        best = pick_one_node_for_preemption(candidates)
        if best is None:
            return None, new_status(Code.UNSCHEDULABLE, "no candidate node for preemption")
        nominator = self.handle.nominator
        lower = [p.pod for p in (nominator.nominated_pods_for_node(best.name) if nominator else ())
                 if p.priority < pod.priority]
        return (PostFilterResult(NominatingInfo(best.name, MODE_OVERRIDE),
                                 victims=tuple(v.pod for v in best.victims),
                                 nominated_pods_to_clear=tuple(lower)),
                new_status(Code.SUCCESS))

    def pod_eligible_to_preempt_others(self, pod: PodInfo,
                                       nominated_status: Status | None) -> tuple[bool, str]:
        if pod.spec.get("preemptionPolicy") == "Never":
            return False, "not eligible due to preemptionPolicy=Never."
        nominated = (pod.pod.get("status") or {}).get("nominatedNodeName") or ""
        if nominated:
            # Filters found the nominated node unresolvable: preempt elsewhere again.
            if nominated_status is not None and (
                    nominated_status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE):
                return True, ""
            node = self.handle.snapshot.get(nominated)
            if node is not None and any(p.priority < pod.priority and terminating_by_preemption(p)
                                        for p in node.pods):
                return False, "not eligible due to a terminating pod on the nominated node."
        return True, ""

    def num_candidates(self, num_nodes: int) -> int:
        n = num_nodes * self.min_candidate_nodes_percentage // 100
        return min(max(n, self.min_candidate_nodes_absolute), num_nodes)

    def find_candidates(self, state: CycleState, pod: PodInfo, statuses: NodeToStatus
                        ) -> tuple[list[Candidate], NodeToStatus, list[str]]:
        potential = statuses.nodes_for_status_code(self.handle.snapshot, Code.UNSCHEDULABLE)
        if not potential:
            return [], NodeToStatus(), []
        offset = self.handle.rng.randrange(len(potential))
        wanted = self.num_candidates(len(potential))
        return self.dry_run_preemption(state, pod, potential, offset, wanted)

    def dry_run_preemption(self, state: CycleState, pod: PodInfo, potential: Sequence[NodeInfo],
                           offset: int, wanted: int
                           ) -> tuple[list[Candidate], NodeToStatus, list[str]]:
        pdbs = self.handle.snapshot.pdbs
        non_violating: list[Candidate] = []
        violating: list[Candidate] = []
        node_statuses = NodeToStatus()
        errors: list[str] = []
        for i in range(len(potential)):
            node_info = potential[(offset + i) % len(potential)].clone()
            victims, violations, status = self.select_victims_on_node(
                state.clone(), pod, node_info, pdbs)
            if status is None and victims:
                candidate = Candidate(node_info.name, tuple(victims), violations)
                (violating if violations else non_violating).append(candidate)
                if non_violating and len(non_violating) + len(violating) >= wanted:
                    break
                continue
            if status is None:
                status = as_status(f'expected at least one victim pod on node "{node_info.name}"')
            if status.code == Code.ERROR:
                errors.append(status.message)
            node_statuses.set(node_info.name, status)
        return non_violating + violating, node_statuses, errors

    def select_victims_on_node(self, state: CycleState, pod: PodInfo, node_info: NodeInfo,
                               pdbs: Sequence[Mapping[str, Any]]
                               ) -> tuple[list[PodInfo], int, Status | None]:
        """Victims (highest priority first), how many violate a PDB, and a failure status."""
        handle = self.handle

        def remove(p: PodInfo) -> Status | None:
            node_info.remove_pod(p)
            return handle.run_pre_filter_extension_remove_pod(state, pod, p, node_info)

        def add(p: PodInfo) -> Status | None:
            node_info.add_pod(p)
            return handle.run_pre_filter_extension_add_pod(state, pod, p, node_info)

        potential = [p for p in node_info.pods if p.priority < pod.priority]
        for p in potential:
            if (s := remove(p)) is not None:
                return [], 0, s
        if not potential:
            return [], 0, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, NO_VICTIMS)
        # Not fitting even without every lower-priority pod: preemption cannot help here.
        status = handle.run_filter_plugins_with_nominated_pods(state, pod, node_info)
        if status is not None:
            return [], 0, status
        potential.sort(key=_importance)
        violating, non_violating = filter_pods_with_pdb_violation(potential, pdbs)
        victims: list[PodInfo] = []
        num_violating = 0
        for group, counts in ((violating, True), (non_violating, False)):
            for p in group:
                if (s := add(p)) is not None:
                    return [], 0, s
                if handle.run_filter_plugins_with_nominated_pods(state, pod, node_info) is None:
                    continue  # reprieved
                if (s := remove(p)) is not None:
                    return [], 0, s
                victims.append(p)
                num_violating += counts
        if violating and non_violating:
            victims.sort(key=_importance)
        return victims, num_violating, None


def new(args: Mapping[str, Any] | None, handle: Any) -> DefaultPreemption:
    return DefaultPreemption(args or {}, handle)
