"""Patch application: JSON patch, merge patch and strategic merge patch against real schemas."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api import schema as schemas
from kybernetes.api.errors import StatusError
from kybernetes.api.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    check_strategic_supported,
)

DEPLOYMENT = schemas.for_kind("apps", "v1", "Deployment")
POD = schemas.for_kind("", "v1", "Pod")


def make_container(name: str, image: str, **extra: Any) -> dict:
    return {"name": name, "image": image, **extra}


def make_deployment(*containers: dict, labels: dict | None = None, **spec: Any) -> dict:
    if not containers:
        containers = (
            make_container(
                "web", "nginx:1.25",
                env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                ports=[{"containerPort": 80, "protocol": "TCP"}],
                volumeMounts=[{"name": "data", "mountPath": "/data"}],
            ),
            make_container("sidecar", "busybox:1.36", env=[{"name": "MODE", "value": "tail"}]),
        )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": labels if labels is not None else {"app": "web", "tier": "frontend"},
            "finalizers": ["example.com/a", "example.com/b"],
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-1"},
            ],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": list(containers),
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                },
            },
            **spec,
        },
    }


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def containers(obj: dict) -> dict[str, dict]:
    return {c["name"]: c for c in pod_spec(obj)["containers"]}


def names(items: list[dict], key: str = "name") -> list:
    return [i[key] for i in items]


# --- strategic merge patch ------------------------------------------------------------------


def _check_image_change(result: dict) -> None:
    cs = containers(result)
    assert cs["web"]["image"] == "nginx:1.27"
    assert names(cs["web"]["env"]) == ["A", "B"]
    assert cs["web"]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert cs["sidecar"] == make_container(
        "sidecar", "busybox:1.36", env=[{"name": "MODE", "value": "tail"}])
    assert names(pod_spec(result)["containers"]) == ["web", "sidecar"]


def _check_add_container(result: dict) -> None:
    # Upstream's mergeSortedSlice puts items new to the list first.
    assert names(pod_spec(result)["containers"]) == ["cache", "web", "sidecar"]
    assert containers(result)["cache"] == {"name": "cache", "image": "redis:7"}


def _check_delete_container(result: dict) -> None:
    assert names(pod_spec(result)["containers"]) == ["web"]


def _check_label_deleted(result: dict) -> None:
    assert result["metadata"]["labels"] == {"app": "web", "env": "prod"}


def _check_ports_merged(result: dict) -> None:
    ports = containers(result)["web"]["ports"]
    assert sorted(p["containerPort"] for p in ports) == [80, 8443]
    by_port = {p["containerPort"]: p for p in ports}
    assert by_port[80] == {"containerPort": 80, "protocol": "TCP", "name": "http"}


def _check_finalizers_union(result: dict) -> None:
    assert sorted(result["metadata"]["finalizers"]) == [
        "example.com/a", "example.com/b", "example.com/c"]


def _check_retain_keys(result: dict) -> None:
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def _check_set_element_order(result: dict) -> None:
    assert names(pod_spec(result)["containers"]) == ["sidecar", "web"]
    assert containers(result)["web"]["image"] == "nginx:1.25"


def _check_delete_from_primitive_list(result: dict) -> None:
    assert result["metadata"]["finalizers"] == ["example.com/b"]


def _check_env_merge(result: dict) -> None:
    env = containers(result)["web"]["env"]
    assert {e["name"]: e.get("value") for e in env} == {"A": "10", "B": "2", "C": "3"}


def _check_tolerations_replaced(result: dict) -> None:
    assert pod_spec(result)["tolerations"] == [{"key": "b", "operator": "Exists"}]


def _check_owner_refs(result: dict) -> None:
    refs = result["metadata"]["ownerReferences"]
    assert sorted(names(refs, "uid")) == ["u-1", "u-2"]


def _check_list_replace_directive(result: dict) -> None:
    assert pod_spec(result)["containers"] == [{"name": "only", "image": "alpine"}]


def _check_map_replace_directive(result: dict) -> None:
    assert result["spec"]["selector"] == {"matchLabels": {"app": "other"}}


def _check_volume_mounts(result: dict) -> None:
    mounts = containers(result)["web"]["volumeMounts"]
    assert sorted(names(mounts, "mountPath")) == ["/cache", "/data"]


def _check_volume_source_switch(result: dict) -> None:
    assert pod_spec(result)["volumes"] == [{"name": "data", "configMap": {"name": "cfg"}}]


SMP_CASES = [
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}},
        _check_image_change, id="change-one-image-keeps-siblings"),
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"name": "cache", "image": "redis:7"}]}}}},
        _check_add_container, id="add-container"),
    pytest.param(
        {"spec": {"template": {"spec": {
            "containers": [{"name": "sidecar", "$patch": "delete"}]}}}},
        _check_delete_container, id="delete-container-directive"),
    pytest.param(
        {"metadata": {"labels": {"tier": None, "env": "prod"}}},
        _check_label_deleted, id="null-deletes-label"),
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "ports": [
            {"containerPort": 80, "name": "http"}, {"containerPort": 8443}]}]}}}},
        _check_ports_merged, id="ports-merge-by-containerPort"),
    pytest.param(
        {"metadata": {"finalizers": ["example.com/c", "example.com/a"]}},
        _check_finalizers_union, id="finalizers-union"),
    pytest.param(
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        _check_retain_keys, id="retainKeys-clears-rollingUpdate"),
    pytest.param(
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                               "rollingUpdate": None}}},
        _check_retain_keys, id="retainKeys-with-null"),
    pytest.param(
        {"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}]}}}},
        _check_set_element_order, id="setElementOrder-reorders"),
    pytest.param(
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}},
        _check_delete_from_primitive_list, id="deleteFromPrimitiveList"),
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [
            {"name": "A", "value": "10"}, {"name": "C", "value": "3"}]}]}}}},
        _check_env_merge, id="env-merge-by-name"),
    pytest.param(
        {"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}},
        _check_tolerations_replaced, id="atomic-list-replaced"),
    pytest.param(
        {"metadata": {"ownerReferences": [
            {"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "u-2"}]}},
        _check_owner_refs, id="ownerReferences-merge-by-uid"),
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [
            {"$patch": "replace"}, {"name": "only", "image": "alpine"}]}}}},
        _check_list_replace_directive, id="list-replace-directive"),
    pytest.param(
        {"spec": {"selector": {"$patch": "replace", "matchLabels": {"app": "other"}}}},
        _check_map_replace_directive, id="map-replace-directive"),
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "volumeMounts": [
            {"name": "cache", "mountPath": "/cache"}]}]}}}},
        _check_volume_mounts, id="volumeMounts-merge-by-mountPath"),
    pytest.param(
        {"spec": {"template": {"spec": {"volumes": [
            {"name": "data", "$retainKeys": ["configMap", "name"],
             "configMap": {"name": "cfg"}}]}}}},
        _check_volume_source_switch, id="volume-retainKeys-switch-source"),
]


@pytest.mark.parametrize(("patch", "check"), SMP_CASES)
def test_strategic_merge_patch(patch: dict, check) -> None:
    original = make_deployment()
    before = copy.deepcopy(original)
    patch_before = copy.deepcopy(patch)
    result = apply_strategic_merge_patch(original, json.dumps(patch).encode(), DEPLOYMENT)
    check(result)
    # dict patches work the same and nothing passed in is mutated
    assert apply_strategic_merge_patch(original, patch, DEPLOYMENT) == result
    assert original == before
    assert patch == patch_before


def test_kubectl_apply_three_way_patch() -> None:
    """A patch shaped like kubectl apply's CreateThreeWayMergePatch output."""
    live = make_deployment()
    last_applied = json.dumps(make_deployment())
    patch = {
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied},
            "labels": {"tier": None},
        },
        "spec": {
            "replicas": 3,
            "strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"},
            "template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "metrics"}],
                "containers": [
                    {
                        "$setElementOrder/env": [{"name": "A"}],
                        "env": [{"$patch": "delete", "name": "B"}],
                        "image": "nginx:1.27",
                        "name": "web",
                    },
                    {"image": "prom/exporter:1", "name": "metrics"},
                    {"$patch": "delete", "name": "sidecar"},
                ],
            }},
        },
    }
    result = apply_strategic_merge_patch(live, json.dumps(patch).encode(), DEPLOYMENT)
    assert result["spec"]["replicas"] == 3
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["metadata"]["labels"] == {"app": "web"}
    assert "last-applied" in next(iter(result["metadata"]["annotations"]))
    assert names(pod_spec(result)["containers"]) == ["web", "metrics"]
    web = containers(result)["web"]
    assert web["image"] == "nginx:1.27"
    assert web["env"] == [{"name": "A", "value": "1"}]
    assert web["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert "$patch" not in json.dumps(result) and "$setElementOrder" not in json.dumps(result)


def test_set_element_order_with_server_only_items() -> None:
    # upstream test "set elements order in a list with server-only items 2"
    live = make_deployment(*(make_container(n, "img") for n in ["1", "2", "9", "3", "4"]))
    patch = {"spec": {"template": {"spec": {"$setElementOrder/containers": [
        {"name": "2"}, {"name": "1"}, {"name": "4"}, {"name": "3"}]}}}}
    result = apply_strategic_merge_patch(live, patch, DEPLOYMENT)
    assert names(pod_spec(result)["containers"]) == ["2", "1", "9", "4", "3"]


def test_set_element_order_primitive_list() -> None:
    live = make_deployment()
    patch = {"metadata": {
        "$setElementOrder/finalizers": ["example.com/c", "example.com/b", "example.com/a"],
        "finalizers": ["example.com/c"],
    }}
    result = apply_strategic_merge_patch(live, patch, DEPLOYMENT)
    assert result["metadata"]["finalizers"] == ["example.com/c", "example.com/b", "example.com/a"]


def test_new_field_is_cleaned_of_directives() -> None:
    live = make_deployment()
    del pod_spec(live)["volumes"]
    patch = {"spec": {"template": {"spec": {"volumes": [
        {"name": "gone", "$patch": "delete"}, {"name": "x", "emptyDir": {"medium": None}}]}}}}
    result = apply_strategic_merge_patch(live, patch, DEPLOYMENT)
    assert pod_spec(result)["volumes"] == [{"name": "x", "emptyDir": {}}]


def test_map_delete_directive_empties_map() -> None:
    result = apply_strategic_merge_patch(
        make_deployment(), {"spec": {"strategy": {"$patch": "delete"}}}, DEPLOYMENT)
    assert result["spec"]["strategy"] == {}


def test_pod_schema_and_unknown_fields() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [make_container("a", "x")], "custom": {"k": [1, 2]}}}
    patch = {"spec": {"containers": [{"name": "a", "args": ["--v=2"]}], "custom": {"k": [3]}}}
    result = apply_strategic_merge_patch(pod, patch, POD)
    assert result["spec"]["containers"] == [{"name": "a", "image": "x", "args": ["--v=2"]}]
    assert result["spec"]["custom"] == {"k": [3]}  # no metadata: lists are replaced


SMP_ERRORS = [
    pytest.param(b"{not json", 400, "BadRequest", "invalid character 'n'", id="syntax"),
    pytest.param(b"[1]", 400, "BadRequest",
                 "json: cannot unmarshal array into Go value of type map[string]interface {}",
                 id="not-an-object"),
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"image": "httpd"}]}}}}, 500, "",
        "map: map[image:httpd] does not contain declared merge key: name", id="no-merge-key"),
    pytest.param({"spec": {"strategy": {"$patch": "bogus"}}}, 500, "",
                 "unknown patch type: bogus in map: map[$patch:bogus]", id="unknown-directive"),
    pytest.param({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}, 400,
                 "BadRequest", "invalid patch format of retainKeys", id="retainKeys-mismatch"),
    pytest.param({"spec": {"strategy": {"$retainKeys": "type"}}}, 400, "BadRequest",
                 "invalid patch format of retainKeys", id="retainKeys-not-list"),
    pytest.param({"metadata": {"$deleteFromPrimitiveList": ["a"]}}, 400, "BadRequest",
                 "invalid patch format of primitive list", id="bad-delete-list-key"),
    pytest.param({"spec": {"template": {"spec": {"$setElementOrder": []}}}}, 400, "BadRequest",
                 "invalid patch format of setElementOrder list", id="bad-order-key"),
    pytest.param(
        {"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "containers": [{"name": "sidecar", "image": "x"}]}}}},
        500, "", "doesn't match $setElementOrder list", id="order-mismatch"),
    pytest.param(
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "merge"}]}}}},
        500, "", "merging lists cannot yet be specified in the patch", id="list-merge-directive"),
]


@pytest.mark.parametrize(("patch", "code", "reason", "message"), SMP_ERRORS)
def test_strategic_merge_patch_errors(patch, code: int, reason: str, message: str) -> None:
    with pytest.raises(StatusError) as err:
        apply_strategic_merge_patch(make_deployment(), patch, DEPLOYMENT)
    assert (err.value.code, err.value.reason) == (code, reason)
    assert message in err.value.message


def test_strategic_merge_patch_unsupported_without_schema() -> None:
    with pytest.raises(StatusError) as err:
        check_strategic_supported(None)
    assert err.value.code == 415 and err.value.reason == "UnsupportedMediaType"
    with pytest.raises(StatusError) as err:
        apply_strategic_merge_patch({"spec": {}}, b"{}", None)
    assert err.value.code == 415
    check_strategic_supported(DEPLOYMENT)


def test_null_strategic_patch_is_noop() -> None:
    assert apply_strategic_merge_patch(make_deployment(), b"null", DEPLOYMENT) == make_deployment()


# --- JSON patch ---------------------------------------------------------------------------------

JSON_PATCH_CASES = [
    pytest.param([{"op": "add", "path": "/metadata/labels/env", "value": "prod"}],
                 lambda r: r["metadata"]["labels"]["env"] == "prod", id="add"),
    pytest.param([{"op": "replace", "path": "/spec/replicas", "value": 5}],
                 lambda r: r["spec"]["replicas"] == 5, id="replace"),
    pytest.param([{"op": "remove", "path": "/metadata/labels/tier"}],
                 lambda r: r["metadata"]["labels"] == {"app": "web"}, id="remove"),
    pytest.param([{"op": "test", "path": "/spec/replicas", "value": 2},
                  {"op": "replace", "path": "/spec/template/spec/containers/0/image",
                   "value": "nginx:2"}],
                 lambda r: containers(r)["web"]["image"] == "nginx:2", id="test-then-replace"),
    pytest.param([{"op": "add", "path": "/metadata/finalizers/-", "value": "x"}],
                 lambda r: r["metadata"]["finalizers"][-1] == "x", id="append"),
    pytest.param(None, lambda r: r == make_deployment(), id="null-is-noop"),
]


@pytest.mark.parametrize(("patch", "check"), JSON_PATCH_CASES)
def test_json_patch(patch, check) -> None:
    original = make_deployment()
    result = apply_json_patch(original, json.dumps(patch).encode())
    assert check(result)
    assert original == make_deployment()


JSON_PATCH_ERRORS = [
    pytest.param(b"[{", 400, "BadRequest", "error decoding patch: ", id="syntax"),
    pytest.param(b'{"op": "add"}', 400, "BadRequest",
                 "error decoding patch: json: cannot unmarshal object into Go value of type "
                 "[]handlers.jsonPatchOp", id="not-a-list"),
    pytest.param(b'[{"op": 1, "path": "/a"}]', 400, "BadRequest",
                 "jsonPatchOp.op of type string", id="op-not-string"),
    pytest.param(b'[{"op": "test", "path": "/spec/replicas", "value": 3}]', 422, "Invalid",
                 "the server rejected our request due to an error in our request", id="test-fails"),
    pytest.param(b'[{"op": "remove", "path": "/spec/nope"}]', 422, "Invalid",
                 "the server rejected our request", id="missing-path"),
    pytest.param(b'[{"op": "frobnicate", "path": "/spec"}]', 422, "Invalid",
                 "the server rejected our request", id="unknown-op"),
    pytest.param(b'[{"op": "replace", "path": "", "value": [1]}]', 422, "Invalid",
                 'patch: Invalid value: "[1]"', id="result-not-object"),
    pytest.param(json.dumps([{"op": "test", "path": "/kind", "value": "Deployment"}] * 10001)
                 .encode(), 413, "RequestEntityTooLarge",
                 "The allowed maximum operations in a JSON patch is 10000, got 10001",
                 id="too-many-ops"),
]


@pytest.mark.parametrize(("patch", "code", "reason", "message"), JSON_PATCH_ERRORS)
def test_json_patch_errors(patch: bytes, code: int, reason: str, message: str) -> None:
    with pytest.raises(StatusError) as err:
        apply_json_patch(make_deployment(), patch)
    assert (err.value.code, err.value.reason) == (code, reason)
    assert message in err.value.message


# --- JSON merge patch -------------------------------------------------------------------------


MERGE_PATCH_CASES = [
    pytest.param({"metadata": {"labels": {"tier": None}}},
                 lambda r: r["metadata"]["labels"] == {"app": "web"}, id="null-deletes"),
    pytest.param({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}}},
                 lambda r: r["spec"]["strategy"]["rollingUpdate"]
                 == {"maxSurge": 1, "maxUnavailable": "25%"}, id="nested-maps-merge"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{"name": "only"}]}}}},
                 lambda r: pod_spec(r)["containers"] == [{"name": "only"}], id="lists-replaced"),
    pytest.param({"spec": {"paused": True, "extra": {"a": None, "b": 1}}},
                 lambda r: r["spec"]["paused"] is True and r["spec"]["extra"] == {"b": 1},
                 id="new-keys-nulls-pruned"),
    pytest.param({"metadata": {"labels": "flat"}},
                 lambda r: r["metadata"]["labels"] == "flat", id="map-replaced-by-scalar"),
]


@pytest.mark.parametrize(("patch", "check"), MERGE_PATCH_CASES)
def test_merge_patch(patch: dict, check) -> None:
    original = make_deployment()
    result = apply_merge_patch(original, json.dumps(patch).encode())
    assert check(result)
    assert apply_merge_patch(original, patch) == result
    assert original == make_deployment()


MERGE_PATCH_ERRORS = [
    pytest.param(b"{", "error decoding patch: unexpected end of JSON input", id="truncated"),
    pytest.param(b"nope", "error decoding patch: invalid character 'n'", id="syntax"),
    pytest.param(b"[]", "error decoding patch: json: cannot unmarshal array into Go value of type "
                 "map[string]interface {}", id="array"),
    pytest.param(b"null", "Invalid JSON Patch", id="null"),
]


@pytest.mark.parametrize(("patch", "message"), MERGE_PATCH_ERRORS)
def test_merge_patch_errors(patch: bytes, message: str) -> None:
    with pytest.raises(StatusError) as err:
        apply_merge_patch(make_deployment(), patch)
    assert (err.value.code, err.value.reason) == (400, "BadRequest")
    assert message in err.value.message
