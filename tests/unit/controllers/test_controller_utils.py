"""controller_utils: pod ranking for deletion, expectations, slow start, the pod-template
hash, pods from templates, availability."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kybernetes.client import FakeClock
from kybernetes.controllers.controller_utils import (
    Expectations,
    compute_hash,
    fnv32a,
    is_pod_available,
    new_controller_ref,
    pod_from_template,
    pods_to_delete,
    rank_pods_for_deletion,
    safe_encode_string,
    semantic_template,
    slow_start_batch,
)

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True,
             ready_ago: float | None = 3600, created_ago: float | None = 7200,
             restarts: int = 0, cost: int | None = None, uid: str | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": uid or f"uid-{name}"}
    if created_ago is not None:
        meta["creationTimestamp"] = ts(created_ago)
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    cond: Obj = {"type": "Ready", "status": "True" if ready else "False"}
    if ready_ago is not None:
        cond["lastTransitionTime"] = ts(ready_ago)
    return {"metadata": meta, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": [cond],
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


# --- ranking ------------------------------------------------------------------------------

# Each row: two pods; the first one must be ranked for deletion before the second.
RANKING = [
    pytest.param(make_pod("a", node=""), make_pod("b"), id="unassigned before assigned"),
    pytest.param(make_pod("a", phase="Pending"), make_pod("b", phase="Unknown"),
                 id="pending before unknown"),
    pytest.param(make_pod("a", phase="Unknown"), make_pod("b"), id="unknown before running"),
    pytest.param(make_pod("a", ready=False), make_pod("b"), id="not ready before ready"),
    pytest.param(make_pod("a", cost=-10), make_pod("b"), id="lower deletion cost first"),
    pytest.param(make_pod("a", cost=5, ready_ago=1000), make_pod("b", cost=10, ready_ago=10),
                 id="deletion cost decides before ready time"),
    pytest.param(make_pod("a", ready_ago=10), make_pod("b", ready_ago=1000),
                 id="ready for less time first"),
    pytest.param(make_pod("a", ready_ago=None), make_pod("b", ready_ago=1000),
                 id="no ready time first"),
    pytest.param(make_pod("a", restarts=5), make_pod("b", restarts=1),
                 id="more restarts first"),
    pytest.param(make_pod("a", created_ago=100), make_pod("b", created_ago=10000),
                 id="newer first"),
    pytest.param(make_pod("a", created_ago=None), make_pod("b", created_ago=10),
                 id="no creation time first"),
    # 3000 and 3500 seconds ago share the same power-of-two age: the UID decides.
    pytest.param(make_pod("a", created_ago=3500, uid="1"), make_pod("b", created_ago=3000,
                                                                       uid="2"),
                 id="same log2 age: lower uid first"),
    pytest.param(make_pod("a", ready_ago=3500, uid="1"), make_pod("b", ready_ago=3000, uid="2"),
                 id="same log2 ready age: lower uid first"),
]


@pytest.mark.parametrize(("first", "second"), RANKING)
def test_rank_pods_for_deletion(first: Obj, second: Obj) -> None:
    assert rank_pods_for_deletion([second, first], [], NOW) == [first, second]
    assert rank_pods_for_deletion([first, second], [], NOW) == [first, second]


def test_pods_doubled_up_on_a_node_go_first() -> None:
    lonely, crowded = make_pod("lonely", node="n1"), make_pod("crowded", node="n2")
    sibling = make_pod("sibling", node="n2")  # another RS's pod of the same Deployment
    related = [lonely, crowded, sibling]
    assert rank_pods_for_deletion([lonely, crowded], related, NOW) == [crowded, lonely]
    # Phase and readiness still come before co-location.
    pending = make_pod("lonely", node="n1", phase="Pending")
    assert rank_pods_for_deletion([crowded, pending], related, NOW) == [pending, crowded]


def test_pods_to_delete_takes_the_lowest_ranked() -> None:
    pods = [make_pod("ready"), make_pod("notready", ready=False), make_pod("x", node="")]
    assert [p["metadata"]["name"] for p in pods_to_delete(pods, [], 2, NOW)] == \
        ["x", "notready"]
    assert pods_to_delete(pods, [], 3, NOW) == pods  # all of them: no ranking


# --- expectations -------------------------------------------------------------------------

# Steps on key "ns/rs": (operation, argument, satisfied afterwards).
EXPECTATION_STEPS = [
    pytest.param([("check", None, True)], id="no expectations: sync"),
    pytest.param([("create", 2, False), ("created", None, False), ("created", None, True)],
                 id="creations observed one by one"),
    pytest.param([("delete", ["ns/a", "ns/b"], False), ("deleted", "ns/a", False),
                  ("deleted", "ns/a", False), ("deleted", "ns/b", True)],
                 id="a deletion counts once per pod"),
    pytest.param([("delete", ["ns/a"], False), ("deleted", "ns/other", False)],
                 id="deletions of other pods do not count"),
    pytest.param([("create", 3, False), ("lower", 3, True)], id="skipped creations lowered"),
    pytest.param([("create", 1, False), ("advance", 301, True)], id="expired after 5 minutes"),
    pytest.param([("create", 1, False), ("advance", 299, False)], id="not yet expired"),
    pytest.param([("create", 1, False), ("forget", None, True)], id="deleted controller"),
    pytest.param([("create", 5, False), ("create", 1, False), ("created", None, True)],
                 id="new expectations replace old ones"),
]


@pytest.mark.parametrize("steps", EXPECTATION_STEPS)
def test_expectations(steps: list[tuple[str, Any, bool]]) -> None:
    clock = FakeClock()
    exp = Expectations(clock)
    key = "ns/rs"
    for op, arg, satisfied in steps:
        if op == "create":
            exp.expect_creations(key, arg)
        elif op == "created":
            exp.creation_observed(key)
        elif op == "delete":
            exp.expect_deletions(key, arg)
        elif op == "deleted":
            exp.deletion_observed(key, arg)
        elif op == "lower":
            exp.lower(key, add=arg)
        elif op == "advance":
            clock._now += arg  # virtual time; no timers involved
        elif op == "forget":
            exp.delete(key)
        assert exp.satisfied(key) is satisfied, (op, arg)


# --- slow start ---------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "fail_on", "successes", "calls"), [
    pytest.param(10, None, 10, 10, id="all succeed: batches 1,2,4,3"),
    pytest.param(10, 1, 0, 1, id="first call fails: nothing more"),
    pytest.param(10, 2, 2, 3, id="fails in batch 2: batch finishes, then stop"),
    pytest.param(10, 5, 6, 7, id="fails in batch 3"),
    pytest.param(0, None, 0, 0, id="nothing to do"),
])
def test_slow_start_batch(count: int, fail_on: int | None, successes: int, calls: int) -> None:
    made: list[int] = []

    async def fn() -> None:
        made.append(1)
        if len(made) == fail_on:
            raise RuntimeError("quota exceeded")

    ok, err = asyncio.run(slow_start_batch(count, 1, fn))
    assert (ok, len(made)) == (successes, calls)
    assert (err is None) == (fail_on is None)


# --- the pod-template hash ----------------------------------------------------------------


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(b"", 0x811C9DC5, id="empty"),
    pytest.param(b"a", 0xE40C292C, id="a"),
    pytest.param(b"foobar", 0xBF9CF968, id="foobar"),
])
def test_fnv32a_reference_vectors(data: bytes, expected: int) -> None:
    assert fnv32a(data) == expected


def test_safe_encode_string_maps_every_byte_to_a_safe_character() -> None:
    assert safe_encode_string("0123456789") == "456789bcdf"
    assert safe_encode_string("") == ""


def template(image: str = "nginx:1", **extra: Any) -> Obj:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image, **extra}]}}


def test_compute_hash_is_fnv_of_the_template_then_of_the_collision_count() -> None:
    import orjson

    data = orjson.dumps(semantic_template(template()), option=orjson.OPT_SORT_KEYS)
    assert compute_hash(template(), None) == safe_encode_string(str(fnv32a(data)))
    with_count = fnv32a(b"\x02\x00\x00\x00\x00\x00\x00\x00", fnv32a(data))
    assert compute_hash(template(), 2) == safe_encode_string(str(with_count))


def test_compute_hash_shape_and_stability() -> None:
    h = compute_hash(template(), None)
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{1,10}", h)
    assert compute_hash(template(), None) == h
    assert compute_hash(template(), 1) != h
    assert compute_hash(template(), 1) != compute_hash(template(), 2)


@pytest.mark.parametrize(("a", "b"), [
    pytest.param(template(resources={"limits": {"cpu": "1"}}),
                 template(resources={"limits": {"cpu": "1000m"}}), id="equal quantities"),
    pytest.param(template(), template(env=[]), id="empty list is unset"),
    pytest.param(template(), template(args=None), id="null is unset"),
    pytest.param(template(), {**template(), "metadata": {"labels": {"app": "web"},
                                                         "creationTimestamp": None}},
                 id="creationTimestamp null"),
])
def test_semantically_equal_templates_hash_equally(a: Obj, b: Obj) -> None:
    assert compute_hash(a, None) == compute_hash(b, None)


def test_no_collisions_among_many_templates() -> None:
    # Upstream's TestPodTemplateSpecHashFnv: 1000 versions of one template.
    hashes = {compute_hash(template(f"registry/test/cats:v0.{i}.0"), None) for i in range(1000)}
    assert len(hashes) == 1000


# --- pods from templates, availability ----------------------------------------------------


def owner(name: str) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "ns", "uid": "rs-uid"}}


def test_pod_from_template() -> None:
    rs = owner("web-abc")
    tmpl = {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"},
                         "finalizers": ["f"]},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}
    ref = new_controller_ref(rs, api_version="apps/v1", kind="ReplicaSet")
    pod = pod_from_template(tmpl, rs, ref)
    assert pod["metadata"] == {
        "generateName": "web-abc-", "labels": {"app": "web"}, "annotations": {"a": "b"},
        "finalizers": ["f"],
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc",
                             "uid": "rs-uid", "controller": True,
                             "blockOwnerDeletion": True}]}
    assert pod["spec"] == tmpl["spec"] and pod["spec"] is not tmpl["spec"]


def test_pod_prefix_without_dash_when_the_name_is_too_long() -> None:
    name = "x" * 253
    pod = pod_from_template({"spec": {}}, owner(name), {})
    assert pod["metadata"]["generateName"] == name


@pytest.mark.parametrize(("ready", "ready_ago", "min_ready", "available"), [
    pytest.param(True, 5, 0, True, id="ready, no minReadySeconds"),
    pytest.param(False, 500, 0, False, id="not ready"),
    pytest.param(True, 5, 10, False, id="ready for less than minReadySeconds"),
    pytest.param(True, 11, 10, True, id="ready for longer than minReadySeconds"),
    pytest.param(True, 10, 10, False, id="exactly minReadySeconds is not enough"),
])
def test_is_pod_available(ready: bool, ready_ago: float, min_ready: int,
                          available: bool) -> None:
    pod = make_pod("p", ready=ready, ready_ago=ready_ago)
    assert is_pod_available(pod, min_ready, NOW) is available
