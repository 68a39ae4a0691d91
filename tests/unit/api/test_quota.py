"""kybernetes.api.quota: quantities that keep their format, usage per object, scopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.api import quota
from kybernetes.api.quota import Quantity

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
Obj = dict[str, Any]


def q(text: str) -> Quantity:
    parsed = Quantity.parse(text)
    assert parsed is not None
    return parsed


def rl(**values: str) -> quota.ResourceList:
    return {k.replace("_", "."): q(v) for k, v in values.items()}


def strings(resources: quota.ResourceList) -> dict[str, str]:
    return quota.to_strings(resources)


def make_pod(*containers: Obj, init: tuple[Obj, ...] = (), phase: str = "Running",
             **spec: Any) -> Obj:
    return {"metadata": {"name": "p"}, "status": {"phase": phase},
            "spec": {"containers": list(containers), "initContainers": list(init), **spec}}


def ctr(requests: Obj | None = None, limits: Obj | None = None, **extra: Any) -> Obj:
    return {"name": "c", "resources": {"requests": requests or {}, "limits": limits or {}},
            **extra}


@pytest.mark.parametrize(("terms", "expected"), [
    pytest.param(["128Mi", "128Mi"], "256Mi", id="binary stays binary"),
    pytest.param(["100m", "400m"], "500m", id="milli"),
    pytest.param(["500m", "500m"], "1", id="whole units"),
    pytest.param(["0", "1Gi"], "1Gi", id="a zero takes the other's format"),
    pytest.param(["1G", "1Gi"], "2073741824", id="decimal first stays decimal"),
    pytest.param(["1536"], "1536", id="small binary-free integer"),
    pytest.param(["1.5"], "1500m", id="fraction"),
    pytest.param(["0"], "0", id="zero"),
])
def test_sums_keep_the_first_terms_format(terms: list[str], expected: str) -> None:
    total = quota.ZERO
    for t in terms:
        total = total + q(t)
    assert str(total) == expected


def test_resource_list_arithmetic() -> None:
    used, hard = rl(pods="2", requests_cpu="1"), rl(pods="2", requests_cpu="2")
    assert quota.less_than_or_equal(quota.add(used, rl(pods="1")), hard) == (False, ["pods"])
    assert quota.less_than_or_equal(used, hard) == (True, [])
    assert strings(quota.subtract_non_negative(rl(a="1", b="3"), rl(a="2", b="1"))) == {
        "a": "0", "b": "2"}
    assert quota.pretty_print(rl(requests_cpu="500m", pods="1")) == "pods=1,requests.cpu=500m"
    assert quota.negative(rl(a="-1", b="1")) == ["a"]
    assert quota.is_zero(rl(a="0")) and not quota.is_zero(rl(a="1m"))


@pytest.mark.parametrize(("pod", "expected"), [
    pytest.param(make_pod(ctr({"cpu": "100m", "memory": "128Mi"}, {"cpu": "200m"})),
                 {"count/pods": "1", "pods": "1", "cpu": "100m", "requests.cpu": "100m",
                  "limits.cpu": "200m", "memory": "128Mi", "requests.memory": "128Mi"},
                 id="requests and limits"),
    pytest.param(make_pod(ctr({"cpu": "100m"}), ctr({"cpu": "100m"}),
                          init=(ctr({"cpu": "1"}),)),
                 {"count/pods": "1", "pods": "1", "cpu": "1", "requests.cpu": "1"},
                 id="init container peak is a floor"),
    pytest.param(make_pod(ctr({"cpu": "100m"}), init=(ctr({"cpu": "200m"},
                                                            restartPolicy="Always"),)),
                 {"count/pods": "1", "pods": "1", "cpu": "300m", "requests.cpu": "300m"},
                 id="sidecars add"),
    pytest.param(make_pod(ctr({"cpu": "100m"}), overhead={"cpu": "50m"}),
                 {"count/pods": "1", "pods": "1", "cpu": "150m", "requests.cpu": "150m"},
                 id="overhead"),
    pytest.param(make_pod(ctr({"example.com/gpu": "1", "hugepages-2Mi": "4Mi"})),
                 {"count/pods": "1", "pods": "1", "requests.example.com/gpu": "1",
                  "hugepages-2Mi": "4Mi", "requests.hugepages-2Mi": "4Mi"},
                 id="extended resources and hugepages"),
    pytest.param(make_pod(ctr({"cpu": "1"}), phase="Succeeded"), {"count/pods": "1"},
                 id="terminal: only the object count"),
])
def test_pod_usage(pod: Obj, expected: dict[str, str]) -> None:
    assert strings(quota.pod_usage(pod, NOW)) == expected


@pytest.mark.parametrize(("deletion", "grace", "counts"), [
    pytest.param("2026-01-01T11:59:00Z", 30, False, id="stuck terminating past grace"),
    pytest.param("2026-01-01T11:59:50Z", 30, True, id="still in grace"),
])
def test_terminating_pods_stop_using_compute_quota(deletion: str, grace: int, counts: bool
                                                   ) -> None:
    pod = make_pod(ctr({"cpu": "1"}))
    pod["metadata"].update(deletionTimestamp=deletion, deletionGracePeriodSeconds=grace)
    assert quota.pod_counts_for_quota(pod, NOW) is counts


BEST_EFFORT = make_pod(ctr())
BURSTABLE = make_pod(ctr({"cpu": "100m"}))
TERMINATING = make_pod(ctr(), activeDeadlineSeconds=30)
HIGH = make_pod(ctr(), priorityClassName="high")
CROSS_NS = make_pod(ctr(), affinity={"podAffinity": {
    "requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "zone", "namespaceSelector": {}}]}})


@pytest.mark.parametrize(("selector", "pod", "matches"), [
    ({"scopeName": "BestEffort", "operator": "Exists"}, BEST_EFFORT, True),
    ({"scopeName": "BestEffort", "operator": "Exists"}, BURSTABLE, False),
    ({"scopeName": "NotBestEffort", "operator": "Exists"}, BURSTABLE, True),
    ({"scopeName": "Terminating", "operator": "Exists"}, TERMINATING, True),
    ({"scopeName": "NotTerminating", "operator": "Exists"}, TERMINATING, False),
    ({"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}, HIGH, True),
    ({"scopeName": "PriorityClass", "operator": "NotIn", "values": ["high"]}, HIGH, False),
    ({"scopeName": "PriorityClass", "operator": "Exists"}, BEST_EFFORT, True),
    ({"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"}, CROSS_NS, True),
    ({"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"}, BEST_EFFORT, False),
], ids=lambda v: v.get("scopeName", "") + "/" + v.get("operator", "") if isinstance(
    v, dict) and "scopeName" in v else None)
def test_pod_scopes(selector: Obj, pod: Obj, matches: bool) -> None:
    assert quota.pod_matches_scope(selector, pod) is matches


def test_scoped_quotas_only_charge_pods() -> None:
    scoped = {"spec": {"hard": {"pods": "1", "configmaps": "1"}, "scopes": ["BestEffort"]}}
    hard = quota.parse_list(scoped["spec"]["hard"])
    assert quota.matches(scoped, hard, quota.evaluator_for("", "pods"), BEST_EFFORT)
    assert not quota.matches(scoped, hard, quota.evaluator_for("", "pods"), BURSTABLE)
    assert not quota.matches(scoped, hard, quota.evaluator_for("", "configmaps"), {})


@pytest.mark.parametrize(("group", "resource", "obj", "expected"), [
    pytest.param("", "services", {"spec": {"type": "NodePort", "ports": [{}, {}]}},
                 {"services": "1", "count/services": "1", "services.nodeports": "2",
                  "services.loadbalancers": "0"}, id="node port service"),
    pytest.param("", "services", {"spec": {"type": "LoadBalancer", "ports": [{}],
                                           "allocateLoadBalancerNodePorts": False}},
                 {"services": "1", "count/services": "1", "services.nodeports": "0",
                  "services.loadbalancers": "1"}, id="load balancer without node ports"),
    pytest.param("", "persistentvolumeclaims", {"spec": {
        "storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}},
        {"persistentvolumeclaims": "1", "count/persistentvolumeclaims": "1",
         "requests.storage": "1Gi",
         "fast.storageclass.storage.k8s.io/requests.storage": "1Gi",
         "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1"}, id="claim"),
    pytest.param("", "configmaps", {}, {"configmaps": "1", "count/configmaps": "1"},
                 id="legacy object count alias"),
    pytest.param("apps", "deployments", {}, {"count/deployments.apps": "1"},
                 id="object count"),
])
def test_evaluator_usage(group: str, resource: str, obj: Obj, expected: dict[str, str]
                         ) -> None:
    assert strings(quota.evaluator_for(group, resource).usage(obj, NOW)) == expected


@pytest.mark.parametrize(("name", "owner"), [
    ("requests.cpu", ("", "pods")), ("pods", ("", "pods")),
    ("requests.example.com/gpu", ("", "pods")), ("services.nodeports", ("", "services")),
    ("gold.storageclass.storage.k8s.io/requests.storage", ("", "persistentvolumeclaims")),
    ("count/deployments.apps", ("apps", "deployments")), ("secrets", ("", "secrets")),
    ("count/widgets.example.com", ("example.com", "widgets")), ("bogus", None),
])
def test_resource_of_name(name: str, owner: tuple[str, str] | None) -> None:
    assert quota.resource_of_name(name) == owner


def test_usage_of_sums_objects_in_scope_with_zeros_for_unused() -> None:
    pods = [BURSTABLE, BEST_EFFORT, make_pod(ctr({"cpu": "1"}), phase="Failed")]
    total = quota.usage_of(quota.evaluator_for("", "pods"), pods,
                           [{"scopeName": "NotBestEffort", "operator": "Exists"}],
                           ["pods", "requests.cpu", "requests.memory"], NOW)
    assert strings(total) == {"pods": "1", "requests.cpu": "100m", "requests.memory": "0"}


def test_quota_on_cpu_or_memory_requires_every_container_to_ask() -> None:
    pod = make_pod({"name": "a", "resources": {"requests": {"cpu": "1"}}},
                   {"name": "b", "resources": {}}, init=({"name": "i", "resources": {
                       "requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}},))
    assert quota.missing_container_resources(["requests.cpu", "limits.memory", "pods"], pod
                                             ) == ("must specify limits.memory for: a,b; "
                                                   "requests.cpu for: b")
    assert quota.missing_container_resources(["pods", "requests.storage"], pod) is None
