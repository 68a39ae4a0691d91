"""SchedulerCache: assume/confirm/forget/expire, incremental NodeInfos, placeholders for pods
that arrive before their node, nodeTree order, image states, and cheap shared snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.cache import ClusterObjects, SchedulerCache, zone_key
from kybernetes.scheduler.errors import CacheError
from kybernetes.scheduler.framework.types import PodInfo

from .builders import HOSTNAME, ZONE, make_node, make_pod

ANTI = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": HOSTNAME}]}}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pods_on(cache: SchedulerCache, node: str) -> list[str]:
    snapshot = cache.snapshot()
    info = snapshot.get(node)
    return sorted(p.name for p in info.pods) if info is not None else []


def milli_cpu(cache: SchedulerCache, node: str) -> int:
    info = cache.node_info(node)
    assert info is not None
    return info.requested.milli_cpu


def bound(pod: dict[str, Any], node: str) -> dict[str, Any]:
    return {**pod, "spec": {**pod["spec"], "nodeName": node}}


def test_assume_then_confirm_reuses_the_pod_info() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n1"))
    queued = PodInfo(make_pod("web", cpu="500m"))
    assumed = cache.assume_pod(queued, "n1")
    assert assumed.node_name == "n1" and assumed.pod["spec"]["nodeName"] == "n1"
    assert queued.node_name == "" and "nodeName" not in queued.pod["spec"]
    assert cache.is_assumed(queued) and pods_on(cache, "n1") == ["web"]
    assert milli_cpu(cache, "n1") == 500
    with pytest.raises(CacheError, match="can't be assumed"):
        cache.assume_pod(queued, "n1")

    confirmed = cache.add_pod(bound(queued.pod, "n1"))  # the informer saw the binding
    assert not cache.is_assumed(queued)
    assert confirmed.requests is assumed.requests  # derived data reused, not rebuilt
    assert milli_cpu(cache, "n1") == 500
    with pytest.raises(CacheError, match="already in added state"):
        cache.add_pod(bound(queued.pod, "n1"))


def test_forget_undoes_assume() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n1"))
    assumed = cache.assume_pod(PodInfo(make_pod("web", cpu="1")), "n1")
    assert cache.forget_pod(assumed)
    assert pods_on(cache, "n1") == [] and milli_cpu(cache, "n1") == 0
    assert not cache.forget_pod(assumed)  # already gone: nothing to do
    cache.add_pod(make_pod("db", node="n1"))
    with pytest.raises(CacheError, match="wasn't assumed"):
        cache.forget_pod(PodInfo(make_pod("db", node="n1")))


def test_assumed_pods_expire_only_after_binding_and_only_with_a_ttl() -> None:
    clock = Clock()
    cache = SchedulerCache(ttl=30, clock=clock)
    cache.add_node(make_node("n1"))
    a = cache.assume_pod(PodInfo(make_pod("a")), "n1")
    b = cache.assume_pod(PodInfo(make_pod("b")), "n1")
    cache.finish_binding(a)
    clock.now += 31
    assert [p.name for p in cache.cleanup_expired()] == ["a"]  # b's bind never returned
    assert pods_on(cache, "n1") == ["b"] and cache.is_assumed(b)

    never = SchedulerCache(clock=clock)  # ttl 0: upstream's default since #106361
    never.add_node(make_node("n1"))
    c = never.assume_pod(PodInfo(make_pod("c")), "n1")
    never.finish_binding(c)
    clock.now += 10_000
    assert never.cleanup_expired() == [] and never.is_assumed(c)


def test_update_and_remove_keep_the_sums() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n1"))
    old = make_pod("web", cpu="1", node="n1")
    cache.add_pod(old)
    new = make_pod("web", cpu="1", node="n1", start_time="2024-01-01T00:00:00Z")
    info = cache.update_pod(old, new)
    assert info.pod is new and milli_cpu(cache, "n1") == 1000
    assert cache.get_pod(new) is info
    cache.remove_pod(new)
    assert milli_cpu(cache, "n1") == 0
    with pytest.raises(CacheError, match="not found"):
        cache.remove_pod(new)
    # An update for a pod the cache missed is taken as an add.
    cache.update_pod(old, new)
    assert pods_on(cache, "n1") == ["web"]


def test_pods_before_their_node_and_after_it() -> None:
    cache = SchedulerCache()
    cache.add_pod(make_pod("early", cpu="1", node="n1"))
    assert cache.snapshot().num_nodes == 0 and cache.node_info("n1") is None
    cache.add_node(make_node("n1"))
    assert pods_on(cache, "n1") == ["early"] and milli_cpu(cache, "n1") == 1000

    cache.remove_node(make_node("n1"))
    assert cache.snapshot().num_nodes == 0 and cache.num_nodes == 0
    assert cache.dump()["nodes"] == {"n1": ["default/early"]}  # a placeholder keeps it
    cache.remove_pod(make_pod("early", node="n1"))
    assert cache.dump()["nodes"] == {}
    with pytest.raises(CacheError, match="not found"):
        cache.remove_node(make_node("n1"))


def test_node_updates_change_the_node_info_in_place() -> None:
    cache = SchedulerCache()
    old = make_node("n1", cpu="2")
    first = cache.add_node(old)
    cache.add_pod(make_pod("web", cpu="1", node="n1"))
    new = make_node("n1", cpu="8", labels={"disk": "ssd"}, unschedulable=True)
    assert cache.update_node(old, new) is first
    info = cache.snapshot().get("n1")
    assert info is first and info.labels["disk"] == "ssd" and info.unschedulable
    assert info.allocatable.milli_cpu == 8000 and info.requested.milli_cpu == 1000


@pytest.mark.parametrize(("zones", "order"), [
    pytest.param(["", "", ""], ["n0", "n1", "n2"], id="no-zones"),
    pytest.param(["a", "a", "b", "b", "c"], ["n0", "n2", "n4", "n1", "n3"], id="round-robin"),
    pytest.param(["a", "b", "b", "b"], ["n0", "n1", "n2", "n3"], id="uneven"),
])
def test_nodes_are_listed_round_robin_over_zones(zones: list[str], order: list[str]) -> None:
    cache = SchedulerCache()
    for i, zone in enumerate(zones):
        cache.add_node(make_node(f"n{i}", labels={ZONE: zone} if zone else None))
    assert [ni.name for ni in cache.snapshot().node_infos] == order


def test_zone_change_moves_the_node() -> None:
    cache = SchedulerCache()
    a = make_node("n0", labels={ZONE: "a"})
    cache.add_node(a)
    cache.add_node(make_node("n1", labels={ZONE: "a"}))
    cache.add_node(make_node("n2", labels={ZONE: "b"}))
    cache.update_node(a, make_node("n0", labels={ZONE: "b"}))
    assert [ni.name for ni in cache.snapshot().node_infos] == ["n1", "n2", "n0"]
    assert zone_key(make_node("x", labels={ZONE: "z"})) == ":\x00:z"


def test_snapshots_share_node_infos_but_not_node_lists() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n1"))
    before = cache.snapshot()
    assert cache.snapshot().node_infos is before.node_infos  # nothing changed: no rebuild
    cache.add_node(make_node("n2"))
    after = cache.snapshot()
    assert [ni.name for ni in before.node_infos] == ["n1"]
    assert [ni.name for ni in after.node_infos] == ["n1", "n2"]
    assert after.get("n1") is before.get("n1")


def test_affinity_lists_follow_the_pods() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n1"))
    cache.add_node(make_node("n2"))
    assert cache.snapshot().have_pods_with_required_anti_affinity == []
    db = make_pod("db", node="n2", labels={"app": "db"}, affinity=ANTI)
    cache.add_pod(db)
    snapshot = cache.snapshot()
    assert [ni.name for ni in snapshot.have_pods_with_affinity] == ["n2"]
    assert [ni.name for ni in snapshot.have_pods_with_required_anti_affinity] == ["n2"]
    cache.remove_pod(db)
    assert cache.snapshot().have_pods_with_affinity == []


def test_image_states_count_the_nodes_holding_an_image() -> None:
    cache = SchedulerCache()
    images = [(["nginx:1", "nginx@sha"], 100)]
    n1 = make_node("n1", images=images)
    cache.add_node(n1)
    cache.add_node(make_node("n2", images=images))
    cache.add_node(make_node("n3"))
    snapshot = cache.snapshot()
    assert snapshot.get("n1").image_states["nginx:1"].num_nodes == 2
    assert snapshot.get("n3").image_states == {}
    cache.update_node(n1, make_node("n1"))
    snapshot = cache.snapshot()
    assert "nginx:1" not in snapshot.get("n1").image_states
    assert snapshot.get("n2").image_states["nginx@sha"].num_nodes == 1
    assert snapshot.get("n2").image_states["nginx@sha"].size == 100


def test_cluster_objects_feed_the_snapshot() -> None:
    objects = ClusterObjects()
    svc = {"metadata": {"namespace": "ns", "name": "web"}, "spec": {"selector": {"app": "w"}}}
    objects.put("services", svc)
    objects.put_namespace({"metadata": {"name": "ns", "labels": {"team": "a"}}})
    cache = SchedulerCache()
    snapshot = cache.snapshot(objects)
    assert snapshot.services == [svc] and snapshot.namespace_labels("ns") == {"team": "a"}
    objects.delete("services", svc)
    assert cache.snapshot(objects).services == []
