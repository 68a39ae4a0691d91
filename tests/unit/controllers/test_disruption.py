"""The disruption controller: PodDisruptionBudget arithmetic and status."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.client import FakeClock, builtin_resource
from kybernetes.controllers.disruption import (
    Budget,
    DisruptionController,
    SyncError,
    count_healthy,
    disrupted_pods,
    expected_and_desired,
    new_status,
    scaled_value,
)

from .fake_api import FakeApi, context, fill

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
PDBS = builtin_resource("policy/v1", "PodDisruptionBudget")


@pytest.mark.parametrize(("spec", "pods", "scale", "expected"), [
    pytest.param({"minAvailable": 2}, 3, None, (3, 2), id="minAvailable int: pods count"),
    pytest.param({"minAvailable": "50%"}, 3, 5, (5, 3), id="minAvailable percent rounds up"),
    pytest.param({"maxUnavailable": 1}, 2, 4, (4, 3), id="maxUnavailable int"),
    pytest.param({"maxUnavailable": "30%"}, 2, 4, (4, 2), id="maxUnavailable percent"),
    pytest.param({"maxUnavailable": 10}, 2, 4, (4, 0), id="never below zero"),
])
def test_expected_and_desired(spec: Obj, pods: int, scale: int | None,
                              expected: tuple[int, int]) -> None:
    assert expected_and_desired(spec, pods, scale) == expected


@pytest.mark.parametrize("value", ["50", "x%", "1.5%"])
def test_bad_percentages(value: str) -> None:
    with pytest.raises(SyncError):
        scaled_value(value, 10)


def make_pod(name: str, *, ready: bool = True, deleting: bool = False,
             owner: Obj | None = None, labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "labels": labels or {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T11:59:00Z"
    if owner is not None:
        meta["ownerReferences"] = [{**owner, "controller": True}]
    return {"metadata": meta, "status": {"conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def test_disrupted_pods_expire_after_two_minutes() -> None:
    pods = [make_pod("recent"), make_pod("old"), make_pod("gone", deleting=True)]
    recorded = {"recent": "2026-01-01T11:59:30Z", "old": "2026-01-01T11:57:00Z",
                "gone": "2026-01-01T11:59:30Z", "vanished": "2026-01-01T11:59:30Z"}
    kept, recheck = disrupted_pods(pods, recorded, NOW)
    assert kept == {"recent": "2026-01-01T11:59:30Z"}
    assert recheck == datetime(2026, 1, 1, 12, 1, 30, tzinfo=UTC)
    assert count_healthy([*pods, make_pod("sick", ready=False)], kept) == 1


def test_status_and_condition() -> None:
    pdb = {"metadata": {"generation": 3}, "status": {"conditions": [
        {"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    status = new_status(pdb, Budget(expected=3, desired=2, healthy=3, disrupted={}),
                        "2026-01-01T12:00:00Z")
    assert status == {
        "observedGeneration": 3, "disruptionsAllowed": 1, "currentHealthy": 3,
        "desiredHealthy": 2, "expectedPods": 3,
        "conditions": [{"type": "DisruptionAllowed", "status": "True",
                        "reason": "SufficientPods", "message": "", "observedGeneration": 3,
                        "lastTransitionTime": "2026-01-01T12:00:00Z"}]}
    assert Budget(expected=0, desired=0, healthy=2, disrupted={}).allowed == 0


class Harness:
    def __init__(self, pdb_spec: Obj, pods: list[Obj], *, rs: Obj | None = None,
                 deployment: Obj | None = None) -> None:
        self.api = FakeApi(FakeClock(wall_start=NOW))
        self.ctrl = DisruptionController(context(self.api))
        pdb = {"metadata": {"name": "web", "namespace": "ns", "generation": 1},
               "spec": {"selector": {"matchLabels": {"app": "web"}}, **pdb_spec}}
        fill(self.ctrl.pdbs, [self.api.put(PDBS, pdb)])
        fill(self.ctrl.pods, pods)
        fill(self.ctrl.rss, [rs] if rs else [])
        fill(self.ctrl.deployments, [deployment] if deployment else [])

    async def status(self) -> Obj:
        await self.ctrl.reconcile("ns/web")
        await self.ctrl.recorder.flush()
        return (await self.api.get(PDBS, "web", namespace="ns"))["status"]


RS_REF = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs-uid"}


def workload(kind: str, name: str, uid: str, replicas: int, owner: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": uid}
    if owner is not None:
        meta["ownerReferences"] = [{**owner, "controller": True}]
    return {"kind": kind, "metadata": meta, "spec": {"replicas": replicas}}


def test_a_deployments_scale_counts_for_its_replica_sets_pods() -> None:
    async def main() -> None:
        dep_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d"}
        h = Harness({"maxUnavailable": "25%"},
                    [make_pod(f"p{i}", owner=RS_REF) for i in range(3)],
                    rs=workload("ReplicaSet", "web-abc", "rs-uid", 3, owner=dep_ref),
                    deployment=workload("Deployment", "web", "d", 4))
        status = await h.status()
        assert {k: status[k] for k in ("expectedPods", "desiredHealthy", "currentHealthy",
                                       "disruptionsAllowed")} == {
            "expectedPods": 4, "desiredHealthy": 3, "currentHealthy": 3,
            "disruptionsAllowed": 0}

    asyncio.run(main())


def test_pods_whose_controller_is_missing_fail_safe() -> None:
    async def main() -> None:
        h = Harness({"minAvailable": "50%"}, [make_pod("p0", owner=RS_REF)])
        status = await h.status()
        assert status["disruptionsAllowed"] == 0
        cond = status["conditions"][0]
        assert (cond["status"], cond["reason"], cond["message"]) == (
            "False", "SyncFailed", 'found no controllers for pod "p0"')
        assert api_reasons(h) == ["CalculateExpectedPodCountFailed"]

    asyncio.run(main())


def test_unmanaged_pods_are_reported_and_an_integer_budget_still_works() -> None:
    async def main() -> None:
        h = Harness({"minAvailable": 1}, [make_pod("a"), make_pod("b")])
        status = await h.status()
        assert (status["expectedPods"], status["disruptionsAllowed"]) == (2, 1)
        h2 = Harness({"maxUnavailable": 1}, [make_pod("a")])
        status = await h2.status()
        assert (status["expectedPods"], status["disruptionsAllowed"]) == (0, 0)
        assert "UnmanagedPods" in api_reasons(h2)

    asyncio.run(main())


def test_unchanged_status_is_not_written_again() -> None:
    async def main() -> None:
        h = Harness({"minAvailable": 1}, [make_pod("a")])
        await h.status()
        fill(h.ctrl.pdbs, [await h.api.get(PDBS, "web", namespace="ns")])
        await h.status()
        assert len(h.api.writes("update")) == 1

    asyncio.run(main())


def api_reasons(h: Harness) -> list[str]:
    return [reason for reason, _ in h.api.events()]
