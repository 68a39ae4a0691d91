"""The StatefulSet controller's plans: ordered and parallel creation, ordered scale down,
the rolling update with a partition, identities, claims and their retention; and
ControllerRevision history helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.client import FakeClock
from kybernetes.controllers.history import (
    equal_revision,
    hash_revision,
    new_revision,
    safe_encode,
    sort_revisions,
    template_of,
)
from kybernetes.controllers.statefulset import (
    StatefulSetController,
    claims_for,
    new_pod,
    plan_statefulset,
    wanted_claim_refs,
)

from .workloads_fake import drain, make_context, run

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sts(replicas: int = 3, *, parallel: bool = False, partition: int = 0,
        on_delete: bool = False, claims: bool = False, image: str = "busybox",
        retention: tuple[str, str] = ("Retain", "Retain")) -> Obj:
    strategy: Obj = {"type": "OnDelete"} if on_delete else {
        "type": "RollingUpdate", "rollingUpdate": {"partition": partition}}
    spec: Obj = {"replicas": replicas, "serviceName": "web",
                 "podManagementPolicy": "Parallel" if parallel else "OrderedReady",
                 "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "main", "image": image}]}},
                 "updateStrategy": strategy, "revisionHistoryLimit": 10,
                 "persistentVolumeClaimRetentionPolicy": {"whenDeleted": retention[0],
                                                          "whenScaled": retention[1]}}
    if claims:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "ns", "uid": "uid-web", "generation": 1},
            "spec": spec}


def revision_of(obj: Obj, number: int = 1) -> Obj:
    rev = new_revision(obj, api_version="apps/v1", kind="StatefulSet", revision=number,
                       collision_count=0)
    rev["metadata"]["name"] = f"web-r{number}"
    return rev


def running(obj: Obj, ordinal: int, *, ready: bool = True, phase: str = "Running",
            revision: str = "web-r1", deleting: bool = False) -> Obj:
    pod = new_pod(obj, ordinal, revision)
    pod["metadata"]["uid"] = f"uid-{ordinal}"
    if deleting:
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    pod["status"] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    return pod


def steps(obj: Obj, pods: list[Obj], *, update: Obj | None = None,
          claims: dict[str, Obj] | None = None) -> list[tuple[str, str]]:
    current = revision_of(obj)
    plan = plan_statefulset(obj, pods, current=current, update=update or current,
                            claims=claims or {}, now=NOW)
    return [(s.action, s.pod["metadata"]["name"]) for s in plan.steps]


# --- ordering --------------------------------------------------------------------------


@pytest.mark.parametrize(("pods", "want"), [
    ([], [("create", "web-0")]),
    ([("0", "pending")], []),
    ([("0", "not-ready")], []),
    ([("0", "ready")], [("create", "web-1")]),
    ([("0", "ready"), ("1", "ready")], [("create", "web-2")]),
    ([("0", "ready"), ("1", "terminating"), ("2", "ready")], []),
    ([("0", "failed"), ("1", "ready")], [("delete", "web-0")]),
    ([("0", "ready"), ("1", "ready"), ("2", "ready")], []),
], ids=["first", "wait-pending", "wait-not-ready", "next", "third", "wait-terminating",
        "replace-failed", "done"])
def test_ordered_ready_creates_one_pod_at_a_time(pods: list[tuple[str, str]],
                                                 want: list[tuple[str, str]]) -> None:
    obj = sts(3)
    states = {"pending": {"phase": "Pending", "ready": False},
              "not-ready": {"ready": False}, "ready": {}, "failed": {"phase": "Failed"},
              "terminating": {"deleting": True}}
    existing = [running(obj, int(o), **states[s]) for o, s in pods]  # type: ignore[arg-type]
    assert steps(obj, existing) == want


def test_parallel_creates_every_missing_pod_at_once() -> None:
    obj = sts(3, parallel=True)
    assert steps(obj, [running(obj, 1, phase="Pending", ready=False)]) == [
        ("create", "web-0"), ("create", "web-2")]


@pytest.mark.parametrize(("pods", "want"), [
    (["ready"] * 4, [("delete", "web-3")]),
    (["ready", "ready", "ready", "terminating"], []),
    (["ready", "not-ready", "ready"], []),
    (["ready", "ready", "ready", "not-ready"], [("delete", "web-3")]),
], ids=["highest-first", "wait-for-it-to-go", "wait-for-health", "unhealthy-goes-first"])
def test_ordered_scale_down(pods: list[str], want: list[tuple[str, str]]) -> None:
    obj = sts(2)
    states = {"ready": {}, "not-ready": {"ready": False}, "terminating": {"deleting": True}}
    existing = [running(obj, i, **states[s]) for i, s in enumerate(pods)]  # type: ignore
    assert steps(obj, existing) == want


def test_parallel_scale_down_deletes_all_condemned() -> None:
    obj = sts(1, parallel=True)
    assert steps(obj, [running(obj, i) for i in range(3)]) == [
        ("delete", "web-2"), ("delete", "web-1")]


@pytest.mark.parametrize(("partition", "revisions", "want"), [
    (0, ["web-r1", "web-r1", "web-r1"], [("delete", "web-2")]),
    (0, ["web-r1", "web-r1", "web-r2"], [("delete", "web-1")]),
    (2, ["web-r1", "web-r1", "web-r2"], []),
    (0, ["web-r2", "web-r2", "web-r2"], []),
], ids=["start-at-the-top", "next-down", "partition-holds", "done"])
def test_rolling_update_goes_down_to_the_partition(partition: int, revisions: list[str],
                                                   want: list[tuple[str, str]]) -> None:
    obj = sts(3, partition=partition)
    update = revision_of(sts(3, image="busybox:2"), 2)
    pods = [running(obj, i, revision=r) for i, r in enumerate(revisions)]
    assert steps(obj, pods, update=update) == want


def test_on_delete_never_deletes_for_an_update() -> None:
    obj = sts(2, on_delete=True)
    update = revision_of(sts(2, image="busybox:2"), 2)
    assert steps(obj, [running(obj, 0), running(obj, 1)], update=update) == []


def test_new_pods_below_the_partition_keep_the_current_revision() -> None:
    obj = sts(3, partition=2, parallel=True)
    current = revision_of(obj)
    update = revision_of(sts(3, image="busybox:2"), 2)
    plan = plan_statefulset(obj, [], current=current, update=update, claims={}, now=NOW)
    got = {s.pod["metadata"]["name"]: (s.pod["metadata"]["labels"]["controller-revision-hash"],
                                       s.pod["spec"]["containers"][0]["image"])
           for s in plan.steps}
    assert got == {"web-0": ("web-r1", "busybox"), "web-1": ("web-r1", "busybox"),
                   "web-2": ("web-r2", "busybox:2")}


# --- identity and claims ---------------------------------------------------------------


def test_pod_identity() -> None:
    pod = new_pod(sts(claims=True), 4, "web-r1")
    assert pod["metadata"]["name"] == "web-4" and "generateName" not in pod["metadata"]
    assert pod["metadata"]["labels"] == {
        "app": "web", "statefulset.kubernetes.io/pod-name": "web-4",
        "apps.kubernetes.io/pod-index": "4", "controller-revision-hash": "web-r1"}
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-4", "web")
    assert pod["spec"]["volumes"] == [{"name": "data",
                                       "persistentVolumeClaim": {"claimName": "data-web-4"}}]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    claim = claims_for(sts(claims=True), 4)["data"]
    assert claim["metadata"]["name"] == "data-web-4"
    assert claim["metadata"]["labels"] == {"app": "web"}


@pytest.mark.parametrize(("retention", "scaled_down", "owners"), [
    (("Retain", "Retain"), False, []),
    (("Delete", "Retain"), False, ["StatefulSet"]),
    (("Retain", "Delete"), False, []),
    (("Retain", "Delete"), True, ["Pod"]),
    (("Delete", "Delete"), False, ["StatefulSet"]),
    (("Delete", "Delete"), True, ["Pod"]),
], ids=["retain", "delete-with-set", "delete-when-scaled-kept", "delete-when-scaled",
        "delete-both-kept", "delete-both-scaled"])
def test_claim_owners_follow_the_retention_policy(retention: tuple[str, str],
                                                  scaled_down: bool, owners: list[str]) -> None:
    obj = sts(2, claims=True, retention=retention)
    pod = running(obj, 3 if scaled_down else 1)
    claim = claims_for(obj, 3 if scaled_down else 1)["data"]
    assert [r["kind"] for r in wanted_claim_refs(claim, obj, pod)] == owners


def test_a_stale_claim_blocks_recreation() -> None:
    obj = sts(1, claims=True, retention=("Retain", "Delete"))
    stale = claims_for(obj, 0)["data"]
    stale["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod",
                                             "name": "web-0", "uid": "old-uid"}]
    assert steps(obj, [], claims={"data-web-0": stale}) == []
    assert steps(obj, []) == [("create", "web-0")]


# --- history ---------------------------------------------------------------------------


def test_revision_hashes_are_stable_and_safe() -> None:
    data = {"spec": {"template": {"$patch": "replace", "spec": {"containers": []}}}}
    assert hash_revision(data, 0) == hash_revision({"spec": {"template": {
        "spec": {"containers": []}, "$patch": "replace"}}}, 0)
    assert hash_revision(data, 0) != hash_revision(data, 1)
    assert set(safe_encode("0123456789")) <= set("bcdfghjklmnpqrstvwxz2456789")
    rev = revision_of(sts())
    assert rev["metadata"]["labels"]["controller.kubernetes.io/hash"]
    assert template_of(rev) == sts()["spec"]["template"]
    assert equal_revision(rev, revision_of(sts(), 7))
    assert not equal_revision(rev, revision_of(sts(image="x")))


def test_revisions_sort_by_number_then_time_then_name() -> None:
    revs = [{"metadata": {"name": n, "creationTimestamp": c}, "revision": r}
            for n, c, r in [("b", "2026-01-01T00:00:02Z", 2), ("a", "2026-01-01T00:00:03Z", 1),
                            ("c", "2026-01-01T00:00:01Z", 2)]]
    assert [r["metadata"]["name"] for r in sort_revisions(revs)] == ["a", "c", "b"]


# --- the controller against the in-memory API ------------------------------------------


def test_controller_scales_up_in_order_with_claims() -> None:
    async def scenario() -> None:
        clock = FakeClock(wall_start=NOW)
        ctx, api = make_context(clock)
        controller = StatefulSetController(ctx)
        obj = sts(2, claims=True)
        del obj["metadata"]["uid"]
        await api.create(("apps/v1", "StatefulSet"), obj)
        await drain(controller)
        assert [p["metadata"]["name"] for p in api.objects("pods")] == ["web-0"]
        assert [c["metadata"]["name"] for c in api.objects("persistentvolumeclaims")] == [
            "data-web-0"]
        await api.set_pod_phase("ns", "web-0", "Running", ready=True)
        await drain(controller)
        assert sorted(p["metadata"]["name"] for p in api.objects("pods")) == ["web-0", "web-1"]
        await api.set_pod_phase("ns", "web-1", "Running", ready=True)
        await drain(controller)
        status = api.objects("statefulsets")[0]["status"]
        assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (
            2, 2, 2)
        assert status["currentRevision"] == status["updateRevision"]
        assert [r["revision"] for r in api.objects("controllerrevisions")] == [1]
        await ctx.close()

    run(scenario())
