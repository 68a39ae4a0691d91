"""The registry's managed-fields hook: where a write's managedFields start from."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.fieldpath import FieldSet
from kybernetes.api.registry import BUILTIN, ResourceInfo
from kybernetes.apiserver import fieldmanager
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.rest import WriteOptions

Obj = dict[str, Any]


def info(group: str, kind: str) -> ResourceInfo:
    return next(i for i in BUILTIN if (i.group, i.kind) == (group, kind))


CONFIGMAP = info("", "ConfigMap")
DEPLOYMENT = info("apps", "Deployment")
NODE = info("", "Node")
USER = UserInfo(name="alice", groups=())


def opts(manager: str = "kubectl-edit", user: UserInfo = USER) -> WriteOptions:
    return WriteOptions(user=user, field_manager=manager)


def entry(manager: str, fields: Obj, operation: str = "Update") -> Obj:
    return {"manager": manager, "operation": operation, "apiVersion": "v1",
            "time": "2024-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields}


def configmap(data: Obj, managed: Any = None) -> Obj:
    meta: Obj = {"name": "cm", "namespace": "ns", "uid": "u"}
    if managed is not None:
        meta["managedFields"] = managed
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


LIVE = configmap({"a": "1"}, [entry("creator", {"f:data": {".": {}, "f:a": {}}})])


def managers(obj: Obj) -> list[str]:
    return [e["manager"] for e in obj["metadata"].get("managedFields") or []]


@pytest.mark.parametrize(("sent", "want"), [
    (None, ["creator", "kubectl-edit"]),
    (copy.deepcopy(LIVE["metadata"]["managedFields"]), ["creator", "kubectl-edit"]),
    ([{"manager": "x", "operation": "Steal"}], ["creator", "kubectl-edit"]),
    ([entry("someone", {"f:data": {"f:a": {}}})], ["kubectl-edit", "someone"]),
    ([], []),
    ([{}], []),
], ids=["absent", "round-tripped", "garbage", "edited", "reset-empty", "reset-empty-entry"])
def test_update_starts_from(sent: Any, want: list[str]) -> None:
    new = configmap({"a": "1", "b": "2"}, sent)
    fieldmanager.track(CONFIGMAP, new, copy.deepcopy(LIVE), opts())
    assert sorted(managers(new)) == want


def test_subresource_writes_ignore_managed_fields_in_the_request() -> None:
    live = copy.deepcopy(LIVE)
    live["status"] = {}
    new = configmap({"a": "1"}, [entry("someone", {"f:data": {}})])
    new["status"] = {"x": 1}
    fieldmanager.track(CONFIGMAP, new, live, opts(), "status")
    assert managers(new) == ["creator", "kubectl-edit"]
    assert new["metadata"]["managedFields"][1]["subresource"] == "status"
    assert new["metadata"]["managedFields"][1]["fieldsV1"] == {"f:status": {"f:x": {}}}


def test_create_is_tracked_even_after_a_reset() -> None:
    new = configmap({"a": "1"}, [])
    fieldmanager.track(CONFIGMAP, new, None, opts("kubectl-create"))
    assert managers(new) == ["kubectl-create"]


@pytest.mark.parametrize(("manager", "user", "want"), [
    ("kubectl-edit", USER, "kubectl-edit"),
    ("", UserInfo(name="system:apiserver", groups=()), "kube-apiserver"),
    ("", USER, "unknown"),
])
def test_manager_names(manager: str, user: UserInfo, want: str) -> None:
    new = configmap({"a": "1"})
    fieldmanager.track(CONFIGMAP, new, None, opts(manager, user))
    assert managers(new) == [want]


def test_noop_write_keeps_the_stored_times() -> None:
    new = copy.deepcopy(LIVE)
    new["metadata"]["managedFields"][0]["time"] = "2030-01-01T00:00:00Z"
    fieldmanager.keep_times_of_noop(new, LIVE)
    assert new["metadata"]["managedFields"] == LIVE["metadata"]["managedFields"]


@pytest.mark.parametrize(("resource", "subresource", "want"), [
    (CONFIGMAP, "", None),
    (DEPLOYMENT, "", FieldSet.of(("f:status",))),
    (NODE, "", None),
    (DEPLOYMENT, "status", FieldSet.of(("f:spec",), ("f:metadata",))),
])
def test_ignored_fields(resource: ResourceInfo, subresource: str,
                        want: FieldSet | None) -> None:
    assert fieldmanager.ignored_fields(resource, subresource) == want
