"""Endpoints and EndpointSlice computation from Services and pods, no I/O."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.controllers.endpoints import (
    OVER_CAPACITY,
    compute_subsets,
    desired_endpoints,
    repack_subsets,
    truncate,
)
from kybernetes.controllers.endpointslice import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    SliceTracker,
    address_types,
    plan,
)
from kybernetes.controllers.endpointutil import find_port, services_for_pod

Obj = dict[str, Any]
NODES = {"n1": {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "z1"}}}}


def make_service(*, ports: list[Obj] | None = None, cluster_ip: str = "10.96.0.10",
                 publish: bool = False, families: list[str] | None = None,
                 labels: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"selector": {"app": "web"}, "clusterIP": cluster_ip,
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
                 if ports is None else ports}
    if publish:
        spec["publishNotReadyAddresses"] = True
    if families is not None:
        spec["ipFamilies"] = families
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid",
                         "labels": labels or {}},
            "spec": spec}


def make_pod(name: str, ip: str | None = "10.0.0.1", *, ready: bool = True,
             phase: str = "Running", deleting: bool = False, node: str = "n1",
             ports: list[Obj] | None = None, hostname: str = "", subdomain: str = "",
             extra_ips: list[str] = (), labels: dict[str, str] | None = None) -> Obj:
    status: Obj = {"phase": phase,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": i} for i in (ip, *extra_ips)]
    spec: Obj = {"nodeName": node, "containers": [{"name": "c", "ports": ports or []}]}
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                 "labels": labels or {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": spec, "status": status}


def addr(name: str, ip: str, **extra: Any) -> Obj:
    return {"ip": ip, "nodeName": "n1", "targetRef": {"kind": "Pod", "namespace": "ns",
                                                      "name": name, "uid": f"uid-{name}"},
            **extra}


HTTP = [{"port": 8080, "protocol": "TCP", "name": "http"}]


# --- Endpoints -----------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "pods", "want"), [
    (make_service(), [make_pod("a", "10.0.0.1"), make_pod("b", "10.0.0.2", ready=False)],
     [{"addresses": [addr("a", "10.0.0.1")], "notReadyAddresses": [addr("b", "10.0.0.2")],
       "ports": HTTP}]),
    (make_service(publish=True), [make_pod("b", "10.0.0.2", ready=False)],
     [{"addresses": [addr("b", "10.0.0.2")], "ports": HTTP}]),
    (make_service(), [make_pod("a", None), make_pod("b", phase="Succeeded"),
                      make_pod("c", deleting=True)], []),
    (make_service(publish=True), [make_pod("c", "10.0.0.3", deleting=True, ready=False)],
     [{"addresses": [addr("c", "10.0.0.3")], "ports": HTTP}]),
    (make_service(ports=[{"name": "web", "port": 80, "targetPort": "web", "protocol": "TCP"}]),
     [make_pod("a", "10.0.0.1", ports=[{"name": "web", "containerPort": 9000}]),
      make_pod("b", "10.0.0.2", ports=[{"name": "web", "containerPort": 9001}]),
      make_pod("c", "10.0.0.3")],
     [{"addresses": [addr("a", "10.0.0.1")],
       "ports": [{"name": "web", "port": 9000, "protocol": "TCP"}]},
      {"addresses": [addr("b", "10.0.0.2")],
       "ports": [{"name": "web", "port": 9001, "protocol": "TCP"}]}]),
    (make_service(ports=[], cluster_ip="None"), [make_pod("a", "10.0.0.1")],
     [{"addresses": [addr("a", "10.0.0.1")]}]),
    (make_service(ports=[]), [make_pod("a", "10.0.0.1")], []),
    (make_service(cluster_ip="None"),
     [make_pod("a", "10.0.0.1", hostname="a", subdomain="web"),
      make_pod("b", "10.0.0.2", hostname="b", subdomain="other")],
     [{"addresses": [addr("a", "10.0.0.1", hostname="a"), addr("b", "10.0.0.2")],
       "ports": HTTP}]),
    (make_service(cluster_ip="fd00::10"), [make_pod("a", "10.0.0.1", extra_ips=["fd00::1"])],
     [{"addresses": [addr("a", "fd00::1")], "ports": HTTP}]),
    (make_service(cluster_ip="fd00::10"), [make_pod("a", "10.0.0.1")], []),
    (make_service(ports=[{"name": "a", "port": 80, "targetPort": 1, "protocol": "TCP"},
                         {"name": "b", "port": 81, "targetPort": 2, "protocol": "UDP"}]),
     [make_pod("a", "10.0.0.1"), make_pod("b", "10.0.0.2")],
     [{"addresses": [addr("a", "10.0.0.1"), addr("b", "10.0.0.2")],
       "ports": [{"name": "a", "port": 1, "protocol": "TCP"},
                 {"name": "b", "port": 2, "protocol": "UDP"}]}]),
], ids=["ready-and-not-ready", "publish-not-ready", "no-ip-terminal-terminating",
        "publish-not-ready-keeps-terminating", "named-port-per-pod", "headless-without-ports",
        "no-ports-not-headless", "hostname-when-subdomain-matches", "ipv6-service",
        "no-ip-of-the-family", "two-ports-one-subset"])
def test_compute_subsets(service: Obj, pods: list[Obj], want: list[Obj]) -> None:
    assert compute_subsets(service, pods) == want


def test_repack_not_ready_wins_over_ready() -> None:
    a = addr("a", "10.0.0.1")
    got = repack_subsets([{"addresses": [a], "ports": HTTP},
                          {"notReadyAddresses": [a], "ports": HTTP}])
    assert got == [{"notReadyAddresses": [a], "ports": HTTP}]


@pytest.mark.parametrize(("service", "want_labels"), [
    (make_service(labels={"tier": "front"}), {"tier": "front"}),
    (make_service(labels={"tier": "front"}, cluster_ip="None"),
     {"tier": "front", "service.kubernetes.io/headless": ""}),
], ids=["labels-from-service", "headless-label"])
def test_desired_endpoints_labels(service: Obj, want_labels: dict[str, str]) -> None:
    subsets = compute_subsets(service, [make_pod("a")])
    new = desired_endpoints(service, None, subsets)
    assert new is not None
    assert new["metadata"] == {"name": "web", "namespace": "ns", "labels": want_labels}
    assert new["subsets"] == subsets
    # Written once, it is up to date (the headless label is not a difference).
    assert desired_endpoints(service, {**new, "metadata": {**new["metadata"],
                                                           "resourceVersion": "3"}},
                             subsets) is None


def test_desired_endpoints_ignore_target_ref_resource_version() -> None:
    service = make_service()
    subsets = compute_subsets(service, [make_pod("a")])
    current = desired_endpoints(service, None, subsets)
    stale = copy.deepcopy(current)
    stale["subsets"][0]["addresses"][0]["targetRef"]["resourceVersion"] = "99"
    assert desired_endpoints(service, stale, subsets) is None


def test_over_capacity_is_truncated_and_annotated() -> None:
    ready = [addr(f"r{i}", f"10.1.{i // 250}.{i % 250}") for i in range(900)]
    not_ready = [addr(f"n{i}", f"10.2.{i // 250}.{i % 250}") for i in range(300)]
    subsets = [{"addresses": ready, "notReadyAddresses": not_ready, "ports": HTTP}]
    cut = copy.deepcopy(subsets)
    assert truncate(cut)
    assert len(cut[0]["addresses"]) == 900 and len(cut[0]["notReadyAddresses"]) == 100
    new = desired_endpoints(make_service(), None, subsets)
    assert new["metadata"]["annotations"] == {OVER_CAPACITY: "truncated"}
    assert truncate([{"addresses": ready[:10]}]) is False


@pytest.mark.parametrize(("port", "pod_ports", "want"), [
    ({"port": 80, "targetPort": 8080}, [], 8080),
    ({"port": 80}, [], 80),
    ({"port": 80, "targetPort": "http"}, [{"name": "http", "containerPort": 9}], 9),
    ({"port": 80, "targetPort": "http", "protocol": "UDP"},
     [{"name": "http", "containerPort": 9}], None),
    ({"port": 80, "targetPort": "http"}, [], None),
], ids=["number", "defaults-to-port", "named", "protocol-must-match", "missing-name"])
def test_find_port(port: Obj, pod_ports: list[Obj], want: int | None) -> None:
    assert find_port(make_pod("a", ports=pod_ports), port) == want


def test_find_port_in_a_sidecar() -> None:
    pod = make_pod("a")
    pod["spec"]["initContainers"] = [
        {"name": "init", "ports": [{"name": "m", "containerPort": 1}]},
        {"name": "side", "restartPolicy": "Always", "ports": [{"name": "m", "containerPort": 2}]}]
    assert find_port(pod, {"port": 80, "targetPort": "m"}) == 2


def test_services_for_pod() -> None:
    other_ns = {**make_service(), "metadata": {"name": "x", "namespace": "other"}}
    no_selector = {**make_service(), "metadata": {"name": "y", "namespace": "ns"},
                   "spec": {"ports": []}}
    services = [make_service(), other_ns, no_selector]
    assert services_for_pod(services, make_pod("a")) == ["ns/web"]
    assert services_for_pod(services, make_pod("a", labels={"app": "db"})) == []


# --- EndpointSlices ------------------------------------------------------------------------


def endpoint(name: str, ip: str, *, ready: bool = True, serving: bool | None = None,
             terminating: bool = False, **extra: Any) -> Obj:
    return {"addresses": [ip],
            "conditions": {"ready": ready, "serving": ready if serving is None else serving,
                           "terminating": terminating},
            "targetRef": {"kind": "Pod", "namespace": "ns", "name": name, "uid": f"uid-{name}"},
            "nodeName": "n1", "zone": "z1", **extra}


SLICE_PORTS = [{"name": "http", "port": 8080, "protocol": "TCP"}]
LABELS = {SERVICE_NAME_LABEL: "web", MANAGED_BY_LABEL: CONTROLLER_NAME}


def as_existing(slices: list[Obj]) -> list[Obj]:
    """What the API returns for created slices: named, with uid and resourceVersion."""
    out = []
    for i, s in enumerate(slices):
        s = copy.deepcopy(s)
        s["metadata"].pop("generateName", None)
        s["metadata"].update(name=f"web-{i}", uid=f"slice-{i}", resourceVersion=str(10 + i))
        out.append(s)
    return out


def test_a_new_service_gets_one_slice() -> None:
    out = plan(make_service(), [make_pod("a", "10.0.0.1"), make_pod("b", "10.0.0.2",
                                                                      ready=False)],
               [], NODES.get)
    (s,) = out.create
    assert out.update == [] and out.delete == [] and out.skipped == []
    assert s["metadata"]["generateName"] == "web-"
    assert s["metadata"]["labels"] == LABELS
    assert s["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Service", "name": "web", "uid": "svc-uid",
        "controller": True, "blockOwnerDeletion": True}]
    assert s["addressType"] == "IPv4" and s["ports"] == SLICE_PORTS
    assert s["endpoints"] == [endpoint("a", "10.0.0.1"), endpoint("b", "10.0.0.2", ready=False)]


def test_an_up_to_date_slice_is_left_alone() -> None:
    pods = [make_pod("a", "10.0.0.1")]
    existing = as_existing(plan(make_service(), pods, [], NODES.get).create)
    out = plan(make_service(), pods, existing, NODES.get)
    assert (out.create, out.update, out.delete) == ([], [], [])


@pytest.mark.parametrize(("pods", "want"), [
    ([make_pod("a", "10.0.0.1", ready=False)], [endpoint("a", "10.0.0.1", ready=False)]),
    ([make_pod("a", "10.0.0.1", deleting=True)],
     [endpoint("a", "10.0.0.1", ready=False, serving=True, terminating=True)]),
    ([make_pod("a", "10.0.0.1"), make_pod("b", "10.0.0.2")],
     [endpoint("a", "10.0.0.1"), endpoint("b", "10.0.0.2")]),
], ids=["becomes-unready", "terminating", "one-more"])
def test_changes_update_the_slice_in_place(pods: list[Obj], want: list[Obj]) -> None:
    existing = as_existing(plan(make_service(), [make_pod("a", "10.0.0.1")], [],
                                NODES.get).create)
    out = plan(make_service(), pods, existing, NODES.get)
    (s,) = out.update
    assert out.create == [] and out.delete == []
    assert s["metadata"]["name"] == "web-0" and s["metadata"]["resourceVersion"] == "10"
    assert s["endpoints"] == want


def test_endpoints_are_split_at_the_maximum_and_kept_in_place() -> None:
    pods = [make_pod(f"p{i}", f"10.0.0.{i}") for i in range(5)]
    out = plan(make_service(), pods, [], NODES.get, max_per_slice=2)
    assert [len(s["endpoints"]) for s in out.create] == [2, 2, 1]
    existing = as_existing(out.create)
    # One pod goes: only its slice changes; one comes: it fills the emptiest room.
    out = plan(make_service(), [*pods[1:], make_pod("p9", "10.0.0.9")], existing, NODES.get,
               max_per_slice=2)
    assert out.create == [] and out.delete == []
    (s,) = out.update
    assert s["metadata"]["name"] == "web-0"
    assert [e["targetRef"]["name"] for e in s["endpoints"]] == ["p1", "p9"]


def test_a_service_without_endpoints_keeps_one_placeholder() -> None:
    out = plan(make_service(), [], [], NODES.get)
    (placeholder,) = out.create
    assert placeholder["endpoints"] == [] and placeholder["ports"] == []
    out = plan(make_service(), [], as_existing([placeholder]), NODES.get)
    assert (out.create, out.update, out.delete) == ([], [], [])


def test_the_last_endpoint_going_reuses_its_slice_as_placeholder() -> None:
    existing = as_existing(plan(make_service(), [make_pod("a")], [], NODES.get).create)
    out = plan(make_service(), [], existing, NODES.get)
    (s,) = out.update
    assert out.create == [] and out.delete == []
    assert s["metadata"]["name"] == "web-0" and s["endpoints"] == [] and s["ports"] == []


def test_pods_on_unknown_nodes_are_skipped_unless_published() -> None:
    pods = [make_pod("a", "10.0.0.1", node="ghost")]
    out = plan(make_service(), pods, [], NODES.get)
    assert out.skipped == ["skipping Pod a for Service ns/web: Node ghost Not Found"]
    assert out.create[0]["endpoints"] == []
    out = plan(make_service(publish=True), pods, [], NODES.get)
    assert out.skipped == [] and out.create[0]["endpoints"][0]["nodeName"] == "ghost"


def test_label_changes_and_foreign_slices() -> None:
    existing = as_existing(plan(make_service(), [make_pod("a")], [], NODES.get).create)
    out = plan(make_service(labels={"tier": "front"}), [make_pod("a")], existing, NODES.get)
    (s,) = out.update
    assert s["metadata"]["labels"] == {**LABELS, "tier": "front"}
    # A slice owned by an older Service of the same name is replaced.
    foreign = copy.deepcopy(existing)
    foreign[0]["metadata"]["ownerReferences"][0]["uid"] = "old-uid"
    out = plan(make_service(), [make_pod("a")], foreign, NODES.get)
    assert len(out.create) == 1 and out.delete == foreign and out.update == []


@pytest.mark.parametrize(("service", "want"), [
    (make_service(families=["IPv4", "IPv6"]), ["IPv4", "IPv6"]),
    (make_service(cluster_ip="fd00::1"), ["IPv6"]),
    (make_service(cluster_ip="10.96.0.1"), ["IPv4"]),
    (make_service(cluster_ip="None"), ["IPv4", "IPv6"]),
], ids=["families", "from-cluster-ip-v6", "from-cluster-ip-v4", "legacy-headless"])
def test_address_types(service: Obj, want: list[str]) -> None:
    assert address_types(service) == want


def test_dual_stack_slices_per_family() -> None:
    pods = [make_pod("a", "10.0.0.1", extra_ips=["fd00::1"])]
    out = plan(make_service(families=["IPv4", "IPv6"]), pods, [], NODES.get)
    assert [(s["addressType"], s["endpoints"][0]["addresses"]) for s in out.create] == [
        ("IPv4", ["10.0.0.1"]), ("IPv6", ["fd00::1"])]


def test_tracker_spots_a_stale_cache() -> None:
    tracker = SliceTracker()
    written = {"metadata": {"uid": "s1", "resourceVersion": "20"}}
    tracker.wrote("ns/web", written)
    assert tracker.stale("ns/web", [])
    assert tracker.stale("ns/web", [{"metadata": {"uid": "s1", "resourceVersion": "19"}}])
    assert not tracker.stale("ns/web", [written])
    tracker.expect_deletion("ns/web", written)
    assert tracker.stale("ns/web", [written])
    assert not tracker.stale("ns/web", [])
    tracker.forget("ns/web")
    assert not tracker.stale("ns/web", [written])
