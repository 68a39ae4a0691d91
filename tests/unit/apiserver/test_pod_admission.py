"""The Priority and DefaultTolerationSeconds admission plug-ins."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from admission_support import FakeCache, make_pod, request

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import Registry
from kybernetes.apiserver.admission import Operation
from kybernetes.apiserver.defaulttolerationseconds import (
    DefaultTolerationSeconds,
    add_default_tolerations,
)
from kybernetes.apiserver.priority import Priority

Obj = dict[str, Any]
PC_PREFIX = "/registry/scheduling.k8s.io/priorityclasses/"
NOT_READY, UNREACHABLE = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"


def default_toleration(key: str) -> Obj:
    return {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}


@pytest.mark.parametrize(("given", "added"), [
    pytest.param([], [NOT_READY, UNREACHABLE], id="none: both added"),
    pytest.param([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                   "tolerationSeconds": 5}], [NOT_READY], id="own unreachable kept"),
    pytest.param([{"key": NOT_READY, "operator": "Exists"}], [UNREACHABLE],
                 id="empty effect tolerates NoExecute"),
    pytest.param([{"operator": "Exists"}], [], id="tolerates everything"),
    pytest.param([{"key": NOT_READY, "operator": "Exists", "effect": "NoSchedule"}],
                 [NOT_READY, UNREACHABLE], id="NoSchedule does not count"),
])
def test_default_toleration_seconds(given: list[Obj], added: list[str]) -> None:
    pod = make_pod("p", tolerations=list(given))
    add_default_tolerations(pod)
    assert pod["spec"]["tolerations"] == given + [default_toleration(k) for k in added]


def test_default_tolerations_skip_subresources_and_other_resources() -> None:
    plugin = DefaultTolerationSeconds()
    for req in (request(Operation.CREATE, make_pod("p"), subresource="status"),
                request(Operation.CREATE, make_pod("p"), resource="configmaps")):
        asyncio.run(plugin.admit(req))
        assert req.obj is not None and "tolerations" not in req.obj["spec"]


def priority_class(name: str, value: int, *, default: bool = False,
                   policy: str = "PreemptLowerPriority") -> Obj:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, "globalDefault": default,
            "preemptionPolicy": policy}


def plugin_with(*classes: Obj) -> Priority:
    cache = FakeCache()
    for pc in classes:
        cache.put(PC_PREFIX, pc)
    return Priority(cache, Registry.builtin())  # type: ignore[arg-type]


def admit_pod(plugin: Priority, **spec: Any) -> Obj:
    req = request(Operation.CREATE, make_pod("p", **spec))
    asyncio.run(plugin.admit(req))
    assert req.obj is not None
    return req.obj["spec"]


@pytest.mark.parametrize(("classes", "spec", "expected"), [
    pytest.param((), {}, {"priority": 0, "preemptionPolicy": "PreemptLowerPriority"},
                 id="no default class"),
    pytest.param((priority_class("low", 10, default=True), priority_class("lower", 5,
                                                                          default=True)),
                 {}, {"priority": 5, "priorityClassName": "lower"},
                 id="lowest global default wins"),
    pytest.param((priority_class("high", 1000, policy="Never"),), {"priorityClassName": "high"},
                 {"priority": 1000, "preemptionPolicy": "Never"}, id="named class"),
    pytest.param((priority_class("high", 1000),), {"priorityClassName": "high",
                                                   "priority": 1000},
                 {"priority": 1000}, id="matching priority given"),
])
def test_priority_is_resolved(classes: tuple[Obj, ...], spec: Obj, expected: Obj) -> None:
    out = admit_pod(plugin_with(*classes), **spec)
    assert {k: out.get(k) for k in expected} == expected


@pytest.mark.parametrize(("spec", "message"), [
    pytest.param({"priorityClassName": "nope"}, "no PriorityClass with name nope was found",
                 id="unknown class"),
    pytest.param({"priorityClassName": "high", "priority": 7},
                 "the integer value of priority (7) must not be provided in pod spec; "
                 "priority admission controller computed 1000 from the given PriorityClass "
                 "name", id="conflicting priority"),
    pytest.param({"priorityClassName": "high", "preemptionPolicy": "Never"},
                 "the string value of PreemptionPolicy (Never) must not be provided in pod "
                 "spec; priority admission controller computed PreemptLowerPriority from the "
                 "given PriorityClass name", id="conflicting policy"),
])
def test_priority_rejections(spec: Obj, message: str) -> None:
    with pytest.raises(StatusError) as err:
        admit_pod(plugin_with(priority_class("high", 1000)), **spec)
    assert err.value.code == 403
    assert err.value.message == f'pods "p" is forbidden: {message}'


def test_update_keeps_priority() -> None:
    old = make_pod("p", priority=1000, preemptionPolicy="Never")
    req = request(Operation.UPDATE, make_pod("p"), old=old)
    asyncio.run(plugin_with().admit(req))
    assert req.obj is not None
    assert (req.obj["spec"]["priority"], req.obj["spec"]["preemptionPolicy"]) == (1000, "Never")


def pc_request(op: Operation, pc: Obj | None, old: Obj | None = None) -> Any:
    return request(op, pc, resource="priorityclasses", group="scheduling.k8s.io",
                   kind="PriorityClass", namespace="", old=old)


def test_only_one_global_default() -> None:
    plugin = plugin_with(priority_class("a", 1, default=True))
    with pytest.raises(StatusError) as err:
        asyncio.run(plugin.validate(pc_request(Operation.CREATE, priority_class(
            "b", 2, default=True))))
    assert err.value.message == ('priorityclasses.scheduling.k8s.io "b" is forbidden: '
                                 "PriorityClass a is already marked as default. Only one "
                                 "default can exist")
    # the default itself may be updated
    asyncio.run(plugin.validate(pc_request(Operation.UPDATE, priority_class(
        "a", 3, default=True))))


def test_system_classes_cannot_be_deleted() -> None:
    old = priority_class("system-node-critical", 2_000_001_000)
    with pytest.raises(StatusError) as err:
        asyncio.run(plugin_with().validate(pc_request(Operation.DELETE, None, old=old)))
    assert err.value.message.endswith("this is a system priority class and cannot be deleted")
