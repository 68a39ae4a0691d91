"""deployment_util: the rollout math, table-driven; most rows are upstream's own test cases
(pkg/controller/deployment/util/deployment_util_test.go, sync_test.go TestScale)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kybernetes.controllers import deployment_util as du

Obj = dict[str, Any]
NOW = datetime(2016, 1, 1, 0, 1, 20, tzinfo=UTC)
OLD, NEW = "2016-01-01T00:00:00Z", "2016-01-01T00:00:10Z"


def make_deployment(replicas: int = 10, *, max_surge: Any = 0, max_unavailable: Any = 0,
                    strategy: str = "RollingUpdate", image: str = "nginx:1",
                    status: Obj | None = None, generation: int = 1, **spec: Any) -> Obj:
    strat: Obj = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": max_surge, "maxUnavailable": max_unavailable}
    return {"metadata": {"name": "foo", "namespace": "ns", "uid": "d-uid",
                         "generation": generation},
            "spec": {"replicas": replicas, "strategy": strat,
                     "selector": {"matchLabels": {"app": "foo"}},
                     "template": make_template(image), **spec},
            "status": status or {}}


def make_template(image: str = "nginx:1", pod_hash: str | None = None) -> Obj:
    labels = {"app": "foo"}
    if pod_hash:
        labels[du.HASH_LABEL] = pod_hash
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": image}]}}


def make_rs(name: str, replicas: int, *, created: str = NEW, image: str = "nginx:1",
            revision: int | None = None, available: int = 0, desired: int | None = None,
            max_replicas: int | None = None, actual: int | None = None) -> Obj:
    ann: dict[str, str] = {}
    if revision is not None:
        ann[du.REVISION] = str(revision)
    if desired is not None:
        ann[du.DESIRED_REPLICAS] = str(desired)
    if max_replicas is not None:
        ann[du.MAX_REPLICAS] = str(max_replicas)
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                         "creationTimestamp": created, "annotations": ann},
            "spec": {"replicas": replicas, "template": make_template(image, "h")},
            "status": {"replicas": replicas if actual is None else actual,
                       "availableReplicas": available}}


# --- fenceposts ---------------------------------------------------------------------------


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), [
    pytest.param("0%", "0%", 0, (0, 1), id="0%/0% of 0"),
    pytest.param("39%", "39%", 10, (4, 3), id="39% rounds surge up, unavailable down"),
    pytest.param(None, "39%", 10, (0, 3), id="no surge"),
    pytest.param("39%", None, 10, (4, 0), id="no unavailable"),
    pytest.param(None, None, 10, (0, 1), id="neither: one unavailable"),
    pytest.param("25%", "25%", 3, (1, 0), id="defaults on 3 replicas"),
    pytest.param(1, 1, 4, (1, 1), id="absolute numbers"),
])
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int,
                            expected: tuple[int, int]) -> None:
    assert du.resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize(("surge", "unavailable"), [("oops", "39%"), ("55%", "urg")])
def test_resolve_fenceposts_rejects_non_percent_strings(surge: str, unavailable: str) -> None:
    with pytest.raises(ValueError):
        du.resolve_fenceposts(surge, unavailable, 10)


@pytest.mark.parametrize(("deployment", "expected"), [
    pytest.param(make_deployment(10, max_surge=1, max_unavailable=5), 5, id="less than replicas"),
    pytest.param(make_deployment(10, max_surge=1, max_unavailable=10), 10, id="equal"),
    pytest.param(make_deployment(5, max_surge=1, max_unavailable=10), 5, id="capped at replicas"),
    pytest.param(make_deployment(0, max_surge=1, max_unavailable=10), 0, id="replicas 0"),
    pytest.param(make_deployment(strategy="Recreate"), 0, id="Recreate"),
    pytest.param(make_deployment(10, max_surge=1, max_unavailable="50%"), 5, id="50%"),
    pytest.param(make_deployment(10, max_surge=1, max_unavailable="100%"), 10, id="100%"),
    pytest.param(make_deployment(5, max_surge=1, max_unavailable="100%"), 5, id="100% of 5"),
])
def test_max_unavailable(deployment: Obj, expected: int) -> None:
    assert du.max_unavailable(deployment) == expected


# --- how far the new RS may grow ----------------------------------------------------------


@pytest.mark.parametrize(("strategy", "dep_replicas", "new_replicas", "surge", "expected"), [
    pytest.param("RollingUpdate", 1, 5, 1, 5, id="cannot scale up: keeps newRS replicas"),
    pytest.param("RollingUpdate", 6, 2, 10, 6, id="scale up to deployment replicas"),
    pytest.param("Recreate", 3, 1, 1, 3, id="recreate: deployment replicas"),
])
def test_new_rs_new_replicas(strategy: str, dep_replicas: int, new_replicas: int, surge: int,
                             expected: int) -> None:
    d = make_deployment(dep_replicas, max_surge=surge, strategy=strategy)
    new_rs, rs5 = make_rs("new", new_replicas), make_rs("rs5", 5)
    assert du.new_rs_new_replicas(d, [rs5], new_rs) == expected


# --- scaling events (upstream TestScale) --------------------------------------------------

# (name, deployment replicas now, before, maxSurge now/before, new RS, old RSs, expected sizes)
SCALE_CASES = [
    ("normal scaling event: 10 -> 12", 12, 10, (0, 0), ("v1", 10), [], {"v1": 12}),
    ("proportional scaling: 5 -> 10", 10, 5, (0, 0), ("v2", 2), [("v1", 3)],
     {"v2": 4, "v1": 6}),
    ("proportional scaling: 5 -> 3", 3, 5, (0, 0), ("v2", 2), [("v1", 3)], {"v2": 1, "v1": 2}),
    ("proportional scaling: 9 -> 4", 4, 9, (0, 0), ("v2", 8), [("v1", 1)], {"v2": 4, "v1": 0}),
    ("proportional scaling: 7 -> 10", 10, 7, (0, 0), ("v3", 2), [("v2", 3), ("v1", 2)],
     {"v3": 3, "v2": 4, "v1": 3}),
    ("proportional scaling: 13 -> 8", 8, 13, (0, 0), ("v3", 2), [("v2", 8), ("v1", 3)],
     {"v3": 1, "v2": 5, "v1": 2}),
    ("leftover distribution: 3 -> 4", 4, 3, (0, 0), ("v3", 1), [("v2", 1), ("v1", 1)],
     {"v3": 2, "v2": 1, "v1": 1}),
    ("leftover distribution: 3 -> 2", 2, 3, (0, 0), ("v3", 1), [("v2", 1), ("v1", 1)],
     {"v3": 1, "v2": 1, "v1": 0}),
    ("no new rs: 4 -> 5", 5, 4, (0, 0), None, [("v2", 2), ("v1", 2)], {"v2": 3, "v1": 2}),
    ("scale to zero: 6 -> 0", 0, 6, (0, 0), ("v3", 3), [("v2", 2), ("v1", 1)],
     {"v3": 0, "v2": 0, "v1": 0}),
    ("scale from zero: 0 -> 6", 6, 0, (0, 0), ("v3", 0), [("v2", 0), ("v1", 0)],
     {"v3": 6, "v2": 0, "v1": 0}),
    ("deployment with surge pods", 20, 10, (2, 2), ("v2", 6), [("v1", 6)],
     {"v2": 11, "v1": 11}),
    ("change both surge and size", 50, 10, (6, 3), ("v2", 5), [("v1", 8)],
     {"v2": 22, "v1": 34}),
    ("change both size and template", 14, 10, (0, 0), None, [("v2", 7), ("v1", 3)],
     {"v2": 10, "v1": 4}),
]


@pytest.mark.parametrize(("replicas", "before", "surges", "new", "olds", "expected"),
                         [pytest.param(*c[1:], id=c[0]) for c in SCALE_CASES])
def test_scale_plan(replicas: int, before: int, surges: tuple[int, int],
                    new: tuple[str, int] | None, olds: list[tuple[str, int]],
                    expected: dict[str, int]) -> None:
    d = make_deployment(replicas, max_surge=surges[0])
    old_d = make_deployment(before, max_surge=surges[1])
    max_before = before + du.max_surge(old_d)
    stamps = {"v1": "2016-01-01T00:00:00Z", "v2": "2016-01-01T00:00:05Z",
              "v3": "2016-01-01T00:00:10Z"}

    def rs(name: str, size: int) -> Obj:
        return make_rs(name, size, created=stamps[name], desired=before, max_replicas=max_before,
                       image=name)

    new_rs = rs(*new) if new else None
    old_rss = [rs(*o) for o in olds]
    everyone = [*old_rss, new_rs] if new_rs else old_rss
    sizes = {r["metadata"]["name"]: du.replicas(r) for r in everyone}
    for step in du.scale_plan(d, new_rs, old_rss):
        sizes[step.rs["metadata"]["name"]] = step.size
    assert sizes == expected


def test_saturated_but_broken_new_rs_does_not_touch_old_pods() -> None:
    d = make_deployment(2, max_surge=1, max_unavailable=1)
    new_rs = make_rs("v2", 2, desired=2, max_replicas=3, available=0)
    old = make_rs("v1", 1, created=OLD, desired=2, max_replicas=3)
    plan = du.scale_plan(d, new_rs, [old])
    assert {s.rs["metadata"]["name"]: s.size for s in plan} == {"v2": 2, "v1": 1}


def test_saturated_new_rs_empties_old_ones() -> None:
    d = make_deployment(3)
    new_rs = make_rs("v2", 3, desired=3, available=3)
    old = make_rs("v1", 1, created=OLD)
    assert [(s.rs["metadata"]["name"], s.size) for s in du.scale_plan(d, new_rs, [old])] == \
        [("v1", 0)]


# --- revisions ----------------------------------------------------------------------------


def test_max_and_last_revision() -> None:
    rss = [make_rs("a", 0, revision=1), make_rs("b", 0, revision=3), make_rs("c", 0,
                                                                              revision=2)]
    assert (du.max_revision(rss), du.last_revision(rss)) == (3, 2)
    assert (du.max_revision([]), du.last_revision(rss[:1])) == (0, 0)


@pytest.mark.parametrize(("existing", "history", "new_revision", "want_rev", "want_history"), [
    pytest.param(None, None, "1", "1", None, id="first revision"),
    pytest.param("1", None, "3", "3", "1", id="rolled back to: old revision to history"),
    pytest.param("3", "1", "5", "5", "1,3", id="history grows"),
    pytest.param("4", None, "3", "4", None, id="revision never goes down"),
])
def test_set_new_rs_annotations(existing: str | None, history: str | None, new_revision: str,
                                want_rev: str, want_history: str | None) -> None:
    d = make_deployment(3, max_surge=1)
    d["metadata"]["annotations"] = {"team": "a", du.REVISION: "9",
                                    du.LAST_APPLIED: "{...}"}
    rs = make_rs("r", 3)
    if existing:
        rs["metadata"]["annotations"][du.REVISION] = existing
    if history:
        rs["metadata"]["annotations"][du.REVISION_HISTORY] = history
    du.set_new_rs_annotations(d, rs, new_revision, exists=False)
    ann = rs["metadata"]["annotations"]
    assert ann[du.REVISION] == want_rev
    assert ann.get(du.REVISION_HISTORY) == want_history
    assert ann["team"] == "a" and du.LAST_APPLIED not in ann
    assert (ann[du.DESIRED_REPLICAS], ann[du.MAX_REPLICAS]) == ("3", "4")


def test_revision_history_is_bounded() -> None:
    d = make_deployment()
    rs = make_rs("r", 1, revision=10)
    rs["metadata"]["annotations"][du.REVISION_HISTORY] = "1,2,3,4"
    du.set_new_rs_annotations(d, rs, "11", exists=True, limit=8)
    # Oldest entries go until the list fits in 8 characters.
    assert rs["metadata"]["annotations"][du.REVISION_HISTORY] == "2,3,4,10"


def test_sort_by_revision_then_creation() -> None:
    rss = [make_rs("c", 0, revision=2, created=NEW), make_rs("a", 0, revision=1),
           make_rs("b", 0, revision=2, created=OLD)]
    assert [r["metadata"]["name"] for r in du.sort_by_revision(rss)] == ["a", "b", "c"]


# --- new and old RSs ----------------------------------------------------------------------


def test_find_new_and_old_rss_ignore_the_hash_label() -> None:
    d = make_deployment(image="nginx:2")
    older_twin = make_rs("twin-old", 0, image="nginx:2", created=OLD)
    twin = make_rs("twin", 1, image="nginx:2", created=NEW)
    old = make_rs("old", 2, image="nginx:1")
    assert du.find_new_rs(d, [twin, old, older_twin]) is older_twin
    active_old, all_old = du.find_old_rss(d, [twin, old, older_twin])
    assert [r["metadata"]["name"] for r in all_old] == ["twin", "old"]
    assert [r["metadata"]["name"] for r in active_old] == ["twin", "old"]
    assert du.find_new_rs(make_deployment(image="nginx:3"), [twin, old]) is None


@pytest.mark.parametrize(("t1", "t2", "equal"), [
    pytest.param(make_template("a", "h1"), make_template("a", "h2"), True, id="hash differs"),
    pytest.param(make_template("a", "h1"), make_template("a"), True, id="hash missing"),
    pytest.param(make_template("a"), make_template("b"), False, id="image differs"),
])
def test_equal_ignore_hash(t1: Obj, t2: Obj, equal: bool) -> None:
    assert du.equal_ignore_hash(t1, t2) is equal


def test_new_replica_set() -> None:
    d = make_deployment(3, minReadySeconds=5)
    rs = du.new_replica_set(d, "abc12")
    assert rs["metadata"]["name"] == "foo-abc12"
    assert rs["metadata"]["labels"] == {"app": "foo", du.HASH_LABEL: "abc12"}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "foo", du.HASH_LABEL: "abc12"}}
    assert rs["spec"]["template"]["metadata"]["labels"][du.HASH_LABEL] == "abc12"
    assert rs["spec"]["minReadySeconds"] == 5
    assert rs["metadata"]["ownerReferences"] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "foo", "uid": "d-uid",
         "controller": True, "blockOwnerDeletion": True}]
    assert d["spec"]["template"]["metadata"]["labels"] == {"app": "foo"}  # not mutated


# --- completion, progress, deadline -------------------------------------------------------


def st(current: int, updated: int, available: int, ready: int | None = None,
       generation: int = 1) -> Obj:
    return {"replicas": current, "updatedReplicas": updated, "availableReplicas": available,
            "readyReplicas": available if ready is None else ready,
            "observedGeneration": generation}


@pytest.mark.parametrize(("desired", "status", "complete"), [
    pytest.param(5, st(5, 5, 4), False, id="min but not all available"),
    pytest.param(5, st(5, 5, 5), True, id="complete"),
    pytest.param(5, st(5, 4, 5), False, id="available but not updated"),
    pytest.param(1, st(2, 1, 1), False, id="old pods still running"),
    pytest.param(1, st(1, 1, 0), False, id="one replica never comes up"),
    pytest.param(5, st(5, 5, 5, generation=0), False, id="generation not observed"),
])
def test_deployment_complete(desired: int, status: Obj, complete: bool) -> None:
    assert du.deployment_complete(make_deployment(desired), status) is complete


@pytest.mark.parametrize(("old", "new", "progressing"), [
    pytest.param(st(10, 4, 4), st(10, 6, 4), True, id="updated pods"),
    pytest.param(st(10, 4, 4), st(10, 4, 4), False, id="not progressing"),
    pytest.param(st(10, 4, 6), st(8, 4, 6), True, id="old pods removed"),
    pytest.param(st(10, 7, 3), st(10, 6, 3), False, id="less new pods"),
    pytest.param(st(10, 4, 7), st(8, 8, 5), True, id="less overall but more new pods"),
    pytest.param(st(10, 10, 8, ready=9), st(10, 10, 8, ready=10), True, id="more ready"),
    pytest.param(st(10, 10, 9), st(10, 10, 10), True, id="more available"),
])
def test_deployment_progressing(old: Obj, new: Obj, progressing: bool) -> None:
    assert du.deployment_progressing(make_deployment(status=old), new) is progressing


def progressing(reason: str, updated: str) -> Obj:
    return {"conditions": [{"type": "Progressing", "status": "True", "reason": reason,
                            "lastUpdateTime": updated, "lastTransitionTime": updated}]}


@pytest.mark.parametrize(("deadline", "reason", "updated", "timed_out"), [
    pytest.param(None, "", "2016-01-01T00:01:09Z", False, id="no deadline"),
    pytest.param(2**31 - 1, "", "2016-01-01T00:01:09Z", False, id="infinite deadline"),
    pytest.param(10, "", "2016-01-01T00:01:09Z", True, id="11s since progress"),
    pytest.param(10, "", "2016-01-01T00:01:11Z", False, id="9s since progress"),
    pytest.param(10, du.NEW_RS_AVAILABLE, "2016-01-01T00:00:00Z", False, id="complete earlier"),
    pytest.param(10, du.TIMED_OUT, "2016-01-01T00:01:19Z", True, id="already timed out"),
])
def test_deployment_timed_out(deadline: int | None, reason: str, updated: str,
                              timed_out: bool) -> None:
    d = make_deployment(progressDeadlineSeconds=deadline)
    assert du.deployment_timed_out(d, progressing(reason, updated), NOW) is timed_out


def test_calculate_status_counts_and_availability() -> None:
    d = make_deployment(3, max_surge=1, max_unavailable=1, generation=4,
                        status={"collisionCount": 0})
    new_rs = make_rs("v2", 2, available=1)
    old = make_rs("v1", 2, available=2)
    status = du.calculate_status([old, new_rs], new_rs, d, NOW)
    conditions = status.pop("conditions")
    # Zero counts are left out, as Go's omitempty does; collisionCount 0 is kept.
    assert status == {"observedGeneration": 4, "replicas": 4, "updatedReplicas": 2,
                      "availableReplicas": 3, "unavailableReplicas": 1, "collisionCount": 0}
    assert [(c["type"], c["status"], c["reason"]) for c in conditions] == \
        [("Available", "True", du.MINIMUM_REPLICAS_AVAILABLE)]
    d["spec"]["replicas"] = 5  # 3 available < 5 - 1
    unavailable = du.calculate_status([old, new_rs], new_rs, d, NOW)["conditions"][0]
    assert (unavailable["status"], unavailable["reason"]) == \
        ("False", du.MINIMUM_REPLICAS_UNAVAILABLE)


def test_set_condition_keeps_transition_time_while_status_stays() -> None:
    status: Obj = {}
    first = du.new_condition("Progressing", "True", "A", "m", NOW)
    du.set_condition(status, first)
    later = NOW + timedelta(minutes=1)
    du.set_condition(status, du.new_condition("Progressing", "True", "A", "m2", later))
    assert status["conditions"] == [first]  # same status and reason: untouched
    du.set_condition(status, du.new_condition("Progressing", "True", "B", "m3", later))
    cond = status["conditions"][0]
    assert (cond["reason"], cond["lastTransitionTime"], cond["lastUpdateTime"]) == \
        ("B", first["lastTransitionTime"], "2016-01-01T00:02:20Z")


@pytest.mark.parametrize(("old", "new", "reason", "cond_status"), [
    pytest.param(st(3, 1, 3), st(3, 3, 3), du.NEW_RS_AVAILABLE, "True", id="complete"),
    pytest.param(st(3, 1, 3), st(4, 2, 3), du.REPLICA_SET_UPDATED, "True", id="progressing"),
    pytest.param(st(4, 2, 3), st(4, 2, 3), du.TIMED_OUT, "False", id="stuck past deadline"),
])
def test_update_progress(old: Obj, new: Obj, reason: str, cond_status: str) -> None:
    old = {**old, **progressing(du.REPLICA_SET_UPDATED, "2016-01-01T00:00:00Z")}
    d = make_deployment(3, progressDeadlineSeconds=10, status=old)
    new = {**new, "conditions": [dict(c) for c in old["conditions"]]}
    du.update_progress(d, new, make_rs("v2", 3), NOW)
    cond = du.get_condition(new, du.PROGRESSING)
    assert cond is not None
    assert (cond["reason"], cond["status"]) == (reason, cond_status)
    assert cond["message"].startswith('ReplicaSet "v2" ')


@pytest.mark.parametrize(("updated_ago", "expected"), [
    pytest.param(3, 7.0, id="3s of 10 gone: 7s left"),
    pytest.param(30, -20.0, id="overdue: now"),
])
def test_stuck_requeue_after(updated_ago: int, expected: float) -> None:
    stamp = (NOW - timedelta(seconds=updated_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    d = make_deployment(3, progressDeadlineSeconds=10,
                        status={**st(4, 2, 3), **progressing(du.REPLICA_SET_UPDATED, stamp)})
    assert du.stuck_requeue_after(d, st(4, 2, 3), NOW) == expected
    assert du.stuck_requeue_after(d, st(3, 3, 3), NOW) is None  # complete


def test_old_pods_running() -> None:
    new_rs, old = make_rs("v2", 1), make_rs("v1", 0, actual=0)
    pod = {"status": {"phase": "Running"}}
    done = {"status": {"phase": "Succeeded"}}
    assert du.old_pods_running(new_rs, [old], {"uid-v1": [pod]})
    assert not du.old_pods_running(new_rs, [old], {"uid-v1": [done], "uid-v2": [pod]})
    assert du.old_pods_running(new_rs, [make_rs("v1", 0, actual=1)], {})


def test_replica_failures_prefer_the_new_rs() -> None:
    failure = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
               "message": "quota", "lastTransitionTime": OLD}
    new_rs, old = make_rs("v2", 1), make_rs("v1", 1)
    old["status"]["conditions"] = [dict(failure, message="old")]
    assert du.replica_failures([old, new_rs], new_rs)[0]["message"] == "old"
    new_rs["status"]["conditions"] = [failure]
    assert du.replica_failures([old, new_rs], new_rs)[0]["message"] == "quota"
