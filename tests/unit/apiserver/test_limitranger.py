"""The LimitRanger admission plug-in: defaults, min/max/ratio checks in upstream's words."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from admission_support import FakeCache, container, make_pod, request

from kybernetes.api.errors import StatusError
from kybernetes.apiserver.admission import Operation
from kybernetes.apiserver.limitranger import (
    LimitRanger,
    aggregate,
    merge_pod_defaults,
    pod_violations,
    pvc_violations,
)

Obj = dict[str, Any]
PREFIX = "/registry/limitranges/"


def limit_range(*items: Obj) -> Obj:
    return {"metadata": {"name": "lr", "namespace": "ns"}, "spec": {"limits": list(items)}}


def test_defaults_fill_only_what_is_unset_and_annotate() -> None:
    pod = make_pod("p", container("a", requests={"cpu": "1"}), container("b", limits={
        "memory": "1Gi"}), initContainers=[container("init")])
    merge_pod_defaults(pod, {"cpu": "100m", "memory": "64Mi"}, {"cpu": "500m", "memory": "128Mi"})
    a, b = pod["spec"]["containers"]
    assert a["resources"] == {"requests": {"cpu": "1", "memory": "64Mi"},
                              "limits": {"cpu": "500m", "memory": "128Mi"}}
    assert b["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"},
                              "limits": {"memory": "1Gi", "cpu": "500m"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container a; cpu, memory limit for "
        "container a; cpu, memory request for container b; cpu limit for container b; "
        "cpu, memory request for init container init; cpu, memory limit for init "
        "container init")


def test_nothing_to_default_leaves_no_annotation() -> None:
    pod = make_pod("p", container("a", requests={"cpu": "1"}, limits={"cpu": "1"}))
    merge_pod_defaults(pod, {"cpu": "100m"}, {"cpu": "500m"})
    assert "annotations" not in pod["metadata"]


CONTAINER_LIMITS = {"type": "Container", "min": {"cpu": "100m"}, "max": {"memory": "1Gi"},
                    "maxLimitRequestRatio": {"cpu": "2"}}


@pytest.mark.parametrize(("item", "ctr", "expected"), [
    pytest.param(CONTAINER_LIMITS, container(requests={"cpu": "100m"}, limits={
        "cpu": "200m", "memory": "1Gi"}), [], id="within limits"),
    pytest.param({"type": "Container", "min": {"cpu": "100m"}}, container(),
                 ["minimum cpu usage per Container is 100m.  No request is specified"],
                 id="min without request"),
    pytest.param({"type": "Container", "min": {"cpu": "100m"}},
                 container(requests={"cpu": "50m"}),
                 ["minimum cpu usage per Container is 100m, but request is 50m"],
                 id="min request"),
    pytest.param({"type": "Container", "min": {"cpu": "100m"}},
                 container(requests={"cpu": "100m"}, limits={"cpu": "50m"}),
                 ["minimum cpu usage per Container is 100m, but limit is 50m"],
                 id="min limit"),
    pytest.param({"type": "Container", "max": {"memory": "1Gi"}}, container(),
                 ["maximum memory usage per Container is 1Gi.  No limit is specified"],
                 id="max without limit"),
    pytest.param({"type": "Container", "max": {"memory": "1Gi"}},
                 container(limits={"memory": "2Gi"}),
                 ["maximum memory usage per Container is 1Gi, but limit is 2Gi"],
                 id="max limit"),
    pytest.param({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
                 container(requests={"cpu": "100m"}, limits={"cpu": "300m"}),
                 ["cpu max limit to request ratio per Container is 2, but provided ratio is "
                  "3.000000"], id="ratio"),
    pytest.param({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
                 container(limits={"cpu": "300m"}),
                 ["cpu max limit to request ratio per Container is 2, but no request is "
                  "specified or request is 0"], id="ratio without request"),
    pytest.param({"type": "Pod", "max": {"cpu": "1"}},
                 container(requests={"cpu": "1"}, limits={"cpu": "2"}),
                 ["maximum cpu usage per Pod is 1, but limit is 2"], id="pod max"),
])
def test_pod_constraints(item: Obj, ctr: Obj, expected: list[str]) -> None:
    assert pod_violations(limit_range(item), make_pod("p", ctr)) == expected


def test_pod_item_uses_effective_pod_requests() -> None:
    pod = make_pod("p", container("a", requests={"cpu": "300m"}, limits={"cpu": "300m"}),
                   container("b", requests={"cpu": "300m"}, limits={"cpu": "300m"}))
    assert pod_violations(limit_range({"type": "Pod", "max": {"cpu": "500m"}}), pod) == [
        "maximum cpu usage per Pod is 500m, but limit is 600m"]


@pytest.mark.parametrize(("storage", "expected"), [
    ("1Gi", []),
    ("100Mi", ["minimum storage usage per PersistentVolumeClaim is 500Mi, but request is "
               "100Mi"]),
    ("10Gi", ["maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi"]),
])
def test_claim_constraints(storage: str, expected: list[str]) -> None:
    lr = limit_range({"type": "PersistentVolumeClaim", "min": {"storage": "500Mi"},
                      "max": {"storage": "5Gi"}})
    pvc = {"spec": {"resources": {"requests": {"storage": storage}}}}
    assert pvc_violations(lr, pvc) == expected


def test_aggregate() -> None:
    assert aggregate(["a"]) == "a"
    assert aggregate(["a", "b", "a"]) == "[a, b]"


def test_plugin_defaults_then_rejects_with_403() -> None:
    asyncio.run(_defaults_then_rejects())


async def _defaults_then_rejects() -> None:
    cache = FakeCache()
    cache.put(PREFIX, limit_range({"type": "Container", "default": {"cpu": "2"},
                                   "defaultRequest": {"cpu": "1"}, "max": {"cpu": "1"}}))
    plugin = LimitRanger(cache)  # type: ignore[arg-type]
    req = request(Operation.CREATE, make_pod("web"))
    await plugin.admit(req)
    assert req.obj is not None
    assert req.obj["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "1"}, "limits": {"cpu": "2"}}
    with pytest.raises(StatusError) as err:
        await plugin.validate(req)
    assert err.value.code == 403
    assert err.value.message == ('pods "web" is forbidden: maximum cpu usage per Container '
                                 "is 1, but limit is 2")


def test_plugin_ignores_pod_updates_subresources_and_deleting_objects() -> None:
    asyncio.run(_ignores())


async def _ignores() -> None:
    cache = FakeCache()
    cache.put(PREFIX, limit_range({"type": "Container", "min": {"cpu": "1"}}))
    plugin = LimitRanger(cache)  # type: ignore[arg-type]
    pod = make_pod("web")
    deleting = make_pod("web")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    for req in (request(Operation.UPDATE, pod, old=pod),
                request(Operation.CREATE, pod, subresource="binding"),
                request(Operation.UPDATE, make_pod("web"), resource="persistentvolumeclaims",
                        kind="PersistentVolumeClaim", old=deleting)):
        await plugin.validate(req)


def test_empty_namespace_syncs_the_cache_once_per_ttl() -> None:
    cache = FakeCache()
    plugin = LimitRanger(cache)  # type: ignore[arg-type]
    for _ in range(3):
        asyncio.run(plugin.admit(request(Operation.CREATE, make_pod("web"))))
    assert cache.syncs == 1
