"""OpenAPI v3/v2 documents: shape, operation ids, refs, hashes, and kubectl 1.32 reading them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.api import openapi
from kybernetes.api.registry import Registry, ResourceInfo

REGISTRY = Registry.builtin()
GVS = [(g, v) for g, versions in REGISTRY.groups() for v in versions]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _ops(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield path, method, op


def _param_names(op: dict[str, Any]) -> set[str]:
    return {p["name"] for p in op.get("parameters", [])}


@pytest.mark.parametrize(("group", "version"), GVS, ids=[f"{g or 'core'}/{v}" for g, v in GVS])
def test_every_group_version_has_a_document_whose_refs_resolve(group: str, version: str) -> None:
    doc = openapi.v3_group_version(REGISTRY, group, version)
    assert doc["openapi"] == "3.0.0"
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for info in REGISTRY.resources(group, version):
        kinds = [
            gvk for s in schemas.values() for gvk in s.get("x-kubernetes-group-version-kind", [])
        ]
        assert {"group": group, "version": version, "kind": info.kind} in kinds, info.kind


@pytest.mark.parametrize(
    ("path", "method", "operation_id", "action"),
    [
        ("/api/v1/namespaces/{namespace}/pods", "get", "listCoreV1NamespacedPod", "list"),
        ("/api/v1/namespaces/{namespace}/pods", "post", "createCoreV1NamespacedPod", "post"),
        ("/api/v1/namespaces/{namespace}/pods", "delete",
         "deleteCoreV1CollectionNamespacedPod", "deletecollection"),
        ("/api/v1/namespaces/{namespace}/pods/{name}", "get", "readCoreV1NamespacedPod", "get"),
        ("/api/v1/namespaces/{namespace}/pods/{name}", "put", "replaceCoreV1NamespacedPod",
         "put"),
        ("/api/v1/namespaces/{namespace}/pods/{name}", "patch", "patchCoreV1NamespacedPod",
         "patch"),
        ("/api/v1/namespaces/{namespace}/pods/{name}", "delete", "deleteCoreV1NamespacedPod",
         "delete"),
        ("/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list"),
        ("/api/v1/watch/namespaces/{namespace}/pods", "get", "watchCoreV1NamespacedPodList",
         "watchlist"),
        ("/api/v1/watch/namespaces/{namespace}/pods/{name}", "get", "watchCoreV1NamespacedPod",
         "watch"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/status", "patch",
         "patchCoreV1NamespacedPodStatus", "patch"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "readCoreV1NamespacedPodLog",
         "get"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post",
         "createCoreV1NamespacedPodEviction", "post"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/exec", "post",
         "connectCoreV1PostNamespacedPodExec", "connect"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}", "get",
         "connectCoreV1GetNamespacedPodProxyWithPath", "connect"),
        ("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", "post",
         "createCoreV1NamespacedServiceAccountToken", "post"),
        ("/api/v1/nodes/{name}", "get", "readCoreV1Node", "get"),
        ("/api/v1/nodes", "delete", "deleteCoreV1CollectionNode", "deletecollection"),
        ("/api/v1/namespaces/{name}/finalize", "put", "replaceCoreV1NamespaceFinalize", "put"),
        ("/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "patch",
         "patchAppsV1NamespacedDeployment", "patch"),
        ("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "put",
         "replaceAppsV1NamespacedDeploymentScale", "put"),
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}", "get",
         "readRbacAuthorizationV1ClusterRole", "get"),
        ("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "post",
         "createAuthorizationV1SelfSubjectAccessReview", "post"),
        ("/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews",
         "post", "createAuthorizationV1NamespacedLocalSubjectAccessReview", "post"),
    ],
    ids=lambda x: x if isinstance(x, str) and x[:1].islower() and "/" not in x else None,
)
def test_operation_ids_and_actions_follow_upstream(path: str, method: str, operation_id: str,
                                                   action: str) -> None:
    prefix = path.split("/")
    group, version = ("", "v1") if prefix[1] == "api" else (prefix[2], prefix[3])
    op = openapi.v3_group_version(REGISTRY, group, version)["paths"][path][method]
    assert op["operationId"] == operation_id
    assert op["x-kubernetes-action"] == action


@pytest.mark.parametrize(
    ("path", "gvk"),
    [
        ("/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
         {"group": "apps", "version": "v1", "kind": "Deployment"}),
        ("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
         {"group": "autoscaling", "version": "v1", "kind": "Scale"}),
        ("/api/v1/namespaces/{namespace}/pods/{name}/eviction",
         {"group": "policy", "version": "v1", "kind": "Eviction"}),
    ],
    ids=["deployment", "scale", "eviction"],
)
def test_group_version_kind_of_operations(path: str, gvk: dict[str, str]) -> None:
    group, version = ("", "v1") if path.startswith("/api/") else ("apps", "v1")
    for _, _, op in _ops({"paths": {
            path: openapi.v3_group_version(REGISTRY, group, version)["paths"][path]}}):
        assert op["x-kubernetes-group-version-kind"] == gvk


def test_patch_on_deployments_lists_field_validation_and_patch_types() -> None:
    doc = openapi.v3_group_version(REGISTRY, "apps", "v1")
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= _param_names(op)
    assert set(op["requestBody"]["content"]) == {
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml"}


def test_every_write_operation_lists_field_validation() -> None:
    for group, version in GVS:
        for path, _method, op in _ops(openapi.v3_group_version(REGISTRY, group, version)):
            if op.get("x-kubernetes-action") in ("post", "put", "patch"):
                assert {"fieldValidation", "dryRun", "fieldManager"} <= _param_names(op), path
            if op.get("x-kubernetes-action") == "patch":
                assert "force" in _param_names(op), path


@pytest.mark.parametrize(
    ("definition", "field", "expected"),
    [
        ("io.k8s.api.core.v1.PodSpec", "containers",
         {"x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge",
          "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
          "type": "array"}),
        ("io.k8s.api.apps.v1.DeploymentSpec", "strategy",
         {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}],
          "x-kubernetes-patch-strategy": "retainKeys"}),
        ("io.k8s.api.apps.v1.Deployment", "apiVersion", {"type": "string"}),
        ("io.k8s.api.apps.v1.Deployment", "metadata",
         {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1"
                              ".ObjectMeta"}]}),
    ],
    ids=["merge-key", "retain-keys", "no-enum-on-apiVersion", "ref-wrapped-in-allOf"],
)
def test_schemas_are_converted_to_openapi_form(definition: str, field: str,
                                               expected: dict[str, Any]) -> None:
    group = "" if ".core." in definition else "apps"
    schemas = openapi.v3_group_version(REGISTRY, group, "v1")["components"]["schemas"]
    prop = schemas[definition]["properties"][field]
    assert expected.items() <= prop.items()
    assert "enum" not in prop
    assert "null" not in json.dumps(prop.get("type", ""))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("io.k8s.apimachinery.pkg.util.intstr.IntOrString",
         {"type": "string", "format": "int-or-string"}),
        ("io.k8s.apimachinery.pkg.api.resource.Quantity", {"type": "string"}),
        ("io.k8s.apimachinery.pkg.apis.meta.v1.Time", {"type": "string", "format": "date-time"}),
    ],
    ids=["int-or-string", "quantity", "time"],
)
def test_special_types(name: str, expected: dict[str, Any]) -> None:
    schemas = openapi.v3_group_version(REGISTRY, "apps", "v1")["components"]["schemas"]
    assert expected.items() <= schemas[name].items()
    assert "oneOf" not in schemas[name]


def test_top_level_kind_carries_group_version_kind() -> None:
    schemas = openapi.v3_group_version(REGISTRY, "", "v1")["components"]["schemas"]
    assert schemas["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Pod", "version": "v1"}]


def test_index_lists_every_group_version_with_a_hash() -> None:
    index = openapi.v3_index(REGISTRY)["paths"]
    for group, version in GVS:
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        url = index[key]["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{key}?hash=")
        digest = url.rsplit("=", 1)[1]
        assert len(digest) == 128 and digest == digest.upper()
        body = openapi.v3_document_bytes(REGISTRY, key)
        assert body is not None and openapi.content_hash(body) == digest
    for key in ("api", "apis", "version", "apis/apps"):
        assert key in index
        assert openapi.v3_document_bytes(REGISTRY, key) is not None
    assert openapi.v3_document_bytes(REGISTRY, "apis/nope/v1") is None


def test_hash_changes_when_content_changes() -> None:
    registry = Registry.builtin()
    before = openapi.v3_index(registry)["paths"]
    info = registry.get("apps", "v1", "deployments")
    assert info is not None
    registry.add(dataclasses.replace(info, verbs=("get", "list")))
    after = openapi.v3_index(registry)["paths"]
    assert before["apis/apps/v1"] != after["apis/apps/v1"]
    assert before["api/v1"] == after["api/v1"]
    assert openapi.v3_index(registry) == openapi.v3_index(registry)  # deterministic


def test_custom_resource_without_schema_gets_an_open_object() -> None:
    registry = Registry.builtin()
    registry.add(ResourceInfo("example.com", "v1", "Widget", "widgets", True))
    doc = openapi.v3_group_version(registry, "example.com", "v1")
    op = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert op["operationId"] == "patchExampleComV1NamespacedWidget"
    schemas = doc["components"]["schemas"]
    assert schemas["com.example.v1.Widget"]["x-kubernetes-preserve-unknown-fields"] is True
    for ref in _refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas


def test_v2_is_swagger_with_resolving_refs() -> None:
    doc = openapi.v2(REGISTRY)
    assert doc["swagger"] == "2.0"
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in doc["paths"]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in doc["paths"]
    for ref in _refs(doc):
        assert ref.startswith("#/definitions/")
        assert ref.removeprefix("#/definitions/") in doc["definitions"], ref
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert {"body", "fieldValidation"} <= {p["name"] for p in patch["parameters"]}
    strategy = doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"


def test_documents_are_stable_across_calls() -> None:
    # Speed is measured by bench/, never asserted here; this checks the cached
    # path serves the same documents as the first build.
    registry = Registry.builtin()
    registry.add(ResourceInfo("timing.example", "v1", "Thing", "things", True))
    assert openapi.v3_index(registry) == openapi.v3_index(registry)


# ---------------------------------------------------------------- kubectl 1.32 end to end

KUBECTL = shutil.which("kubectl.1.32") or (
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
    if Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32").exists() else None)


def _discovery(registry: Registry) -> dict[str, Any]:
    """Legacy discovery documents by path, enough for kubectl's RESTMapper."""
    out: dict[str, Any] = {
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0",
                     "platform": "linux/amd64"},
        "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    }
    groups = []
    for group, versions in registry.groups():
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        if group:
            groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
        for v in versions:
            path = f"/apis/{group}/{v}" if group else f"/api/{v}"
            out[path] = {"kind": "APIResourceList", "groupVersion": f"{group}/{v}".lstrip("/"),
                         "resources": [
                             {"name": i.plural, "singularName": i.singular,
                              "namespaced": i.namespaced, "kind": i.kind, "verbs": list(i.verbs),
                              "shortNames": list(i.short_names)}
                             for i in registry.resources(group, v)]}
    out["/apis"] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    return out


@pytest.fixture
def openapi_server() -> Iterator[str]:
    aiohttp_web = pytest.importorskip("aiohttp.web")
    registry = Registry.builtin()
    discovery = _discovery(registry)

    async def handle(request: Any) -> Any:
        path = request.path.rstrip("/") or "/"
        if path == "/openapi/v3":
            return aiohttp_web.json_response(openapi.v3_index(registry))
        if path.startswith("/openapi/v3/"):
            body = openapi.v3_document_bytes(registry, path.removeprefix("/openapi/v3/"))
            if body is not None:
                return aiohttp_web.Response(body=body, content_type="application/json")
        if path in discovery:
            return aiohttp_web.json_response(discovery[path])
        return aiohttp_web.json_response({"kind": "Status", "apiVersion": "v1",
                                          "status": "Failure", "reason": "NotFound",
                                          "code": 404}, status=404)

    loop = asyncio.new_event_loop()
    app = aiohttp_web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = aiohttp_web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = aiohttp_web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.mark.skipif(KUBECTL is None, reason="kubectl.1.32 not installed")
@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("pods.spec.containers", ["KIND:       Pod", "FIELD: containers <[]Container>",
                                  "imagePullPolicy\t<string>", "name\t<string> -required-"]),
        ("deployments.spec.strategy", ["GROUP:      apps", "FIELD: strategy <DeploymentStrategy>",
                                       "rollingUpdate\t<RollingUpdateDeployment>"]),
        # 1.32's template prints a ref to a string-typed schema as <string>
        ("deployments.spec.strategy.rollingUpdate.maxSurge",
         ["FIELD: maxSurge <string>", "IntOrString"]),
    ],
    ids=["pod-containers", "deployment-strategy", "int-or-string"],
)
def test_kubectl_explain_reads_the_documents(openapi_server: str, tmp_path: Path, field: str,
                                             expected: list[str]) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": openapi_server}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}],
        "users": [{"name": "t", "user": {}}],
    }))
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"),
         "explain", field],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout, result.stdout
