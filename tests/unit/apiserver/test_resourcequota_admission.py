"""The ResourceQuota admission plug-in: usage from the cache plus this server's charges."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from admission_support import FakeCache, container, make_pod, request

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import Registry
from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.resourcequota import ResourceQuotaAdmission

Obj = dict[str, Any]
QUOTAS, PODS, SERVICES = "/registry/resourcequotas/", "/registry/pods/", "/registry/services/"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def resource_quota(name: str, hard: Obj, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"hard": hard, **spec}}


def setup(*quotas: Obj) -> tuple[FakeCache, ResourceQuotaAdmission, Clock]:
    cache, clock = FakeCache(), Clock()
    for q in quotas:
        cache.put(QUOTAS, q)
    plugin = ResourceQuotaAdmission(cache, Registry.builtin(), clock=clock)  # type: ignore
    return cache, plugin, clock


def admit(plugin: ResourceQuotaAdmission, req: AdmissionRequest) -> None:
    asyncio.run(plugin.validate(req))


def refused(plugin: ResourceQuotaAdmission, req: AdmissionRequest) -> str:
    with pytest.raises(StatusError) as err:
        admit(plugin, req)
    assert err.value.code == 403
    return err.value.message


def create_pod(name: str, *containers: Obj, **kw: Any) -> AdmissionRequest:
    return request(Operation.CREATE, make_pod(name, *containers), **kw)


def test_third_pod_exceeds_the_quota() -> None:
    cache, plugin, _ = setup(resource_quota("pods", {"pods": "2"}))
    for name in ("a", "b"):
        cache.put(PODS, make_pod(name))
    assert refused(plugin, create_pod("c")) == (
        'pods "c" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, '
        "limited: pods=2")


def test_admitted_but_unseen_writes_are_charged_until_the_cache_shows_them() -> None:
    cache, plugin, _ = setup(resource_quota("q", {"pods": "2"}))
    admit(plugin, create_pod("a"))
    admit(plugin, create_pod("b"))
    refused(plugin, create_pod("c"))  # a and b are not in the cache yet: still charged
    cache.put(PODS, make_pod("a"))
    cache.put(PODS, make_pod("b"))
    refused(plugin, create_pod("c"))  # now counted from the cache, not twice
    cache.remove(PODS, PODS + "ns/a")
    admit(plugin, create_pod("c"))


def test_charges_expire_and_dry_runs_charge_nothing() -> None:
    _, plugin, clock = setup(resource_quota("q", {"pods": "1"}))
    admit(plugin, create_pod("a", dry_run=True))
    admit(plugin, create_pod("a"))  # the write fails after admission: never in the cache
    refused(plugin, create_pod("b"))
    clock.t += 60
    admit(plugin, create_pod("b"))


def test_compute_resources_and_the_message_names_only_what_is_exceeded() -> None:
    cache, plugin, _ = setup(resource_quota("compute", {"requests.cpu": "1", "pods": "10"}))
    cache.put(PODS, make_pod("a", container(requests={"cpu": "600m"})))
    message = refused(plugin, create_pod("b", container(requests={"cpu": "500m"})))
    assert message.endswith("exceeded quota: compute, requested: requests.cpu=500m, "
                            "used: requests.cpu=600m, limited: requests.cpu=1")
    admit(plugin, create_pod("c", container(requests={"cpu": "400m"})))


def test_scoped_quota_counts_only_pods_in_scope() -> None:
    cache, plugin, _ = setup(resource_quota("be", {"pods": "1"}, scopes=["BestEffort"]))
    cache.put(PODS, make_pod("a"))
    admit(plugin, create_pod("burstable", container(requests={"cpu": "1m"})))
    refused(plugin, create_pod("besteffort"))


def test_service_update_is_charged_the_difference() -> None:
    cache, plugin, _ = setup(resource_quota("svc", {"services.nodeports": "1"}))
    old = {"metadata": {"name": "s", "namespace": "ns", "uid": "u", "resourceVersion": "5"},
           "spec": {"type": "ClusterIP", "ports": [{"port": 80}, {"port": 81}]}}
    cache.put(SERVICES, old)
    new = {**old, "spec": {**old["spec"], "type": "NodePort"}}
    message = refused(plugin, request(Operation.UPDATE, new, old=old, resource="services",
                                      kind="Service"))
    assert "requested: services.nodeports=2, used: services.nodeports=0" in message


def test_object_counts_and_requests_nothing_tracks() -> None:
    _, plugin, _ = setup(resource_quota("cm", {"count/configmaps": "0"}))
    cm = {"metadata": {"name": "c", "namespace": "ns"}}
    assert "exceeded quota: cm, requested: count/configmaps=1" in refused(
        plugin, request(Operation.CREATE, cm, resource="configmaps", kind="ConfigMap"))
    admit(plugin, request(Operation.UPDATE, cm, old=cm, resource="configmaps",
                          kind="ConfigMap"))  # object counts change on create only
    admit(plugin, create_pod("p", subresource="status"))
    admit(plugin, request(Operation.CREATE, {"metadata": {"name": "s"}}, resource="secrets",
                          kind="Secret"))


def test_negative_usage_is_refused() -> None:
    _, plugin, _ = setup(resource_quota("q", {"requests.cpu": "1"}))
    message = refused(plugin, create_pod("p", container(requests={"cpu": "-1"})))
    assert message.endswith("quota usage is negative for resource(s): cpu,requests.cpu")


def test_quotad_compute_resources_must_be_requested() -> None:
    _, plugin, _ = setup(resource_quota("compute", {"requests.cpu": "1"}),
                         resource_quota("count", {"pods": "1"}))
    assert refused(plugin, create_pod("p")) == (
        'pods "p" is forbidden: failed quota: compute: must specify requests.cpu for: c')
