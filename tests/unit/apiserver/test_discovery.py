"""Discovery documents (/api, /apis, APIResourceList, aggregated) and their cache."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator
from typing import Any

import kubernetes.client
import orjson
import pytest

from kybernetes.api.registry import Registry, ResourceInfo, Subresource
from kybernetes.apiserver import discovery as d

KUBECTL_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


@pytest.fixture
def registry() -> Registry:
    return Registry.builtin()


def _widgets(version: str = "v1", **kw: Any) -> ResourceInfo:
    return ResourceInfo(
        "example.com", version, "Widget", "widgets", True, short_names=("wd",), **kw
    )


def _entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in doc["resources"] if e["name"] == name)


def _aggregated_resource(doc: dict[str, Any], group: str, version: str, plural: str) -> Any:
    item = next(i for i in doc["items"] if i["metadata"]["name"] == group)
    ver = next(v for v in item["versions"] if v["version"] == version)
    return next(r for r in ver["resources"] if r["resource"] == plural)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _all_documents(registry: Registry) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [d.api_versions(), d.api_group_list(registry)]
    for group, versions in registry.groups():
        if group:
            docs.append(d.api_group(registry, group) or {})
        for version in versions:
            docs.append(d.api_resource_list(registry, group, version) or {})
    for legacy in (True, False):
        for version in ("v2", "v2beta1"):
            docs.append(d.aggregated(registry, legacy=legacy, version=version))
    return docs


# --------------------------------------------------------------------------- /api, /apis


def test_api_versions() -> None:
    assert d.api_versions("10.0.0.1:6443") == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"},
        ],
    }


# kube-apiserver 1.32 /apis order: the aggregator's own group, then APIService group
# priorities (highest first, ties by name).
UPSTREAM_GROUP_ORDER = (
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
    "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
    "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "resource.k8s.io",
    "flowcontrol.apiserver.k8s.io", "internal.apiserver.k8s.io", "storagemigration.k8s.io",
)


def test_group_list_order_follows_upstream_priorities(registry: Registry) -> None:
    names = [g["name"] for g in d.api_group_list(registry)["groups"]]
    assert "" not in names
    assert set(names) <= set(UPSTREAM_GROUP_ORDER)
    assert names == sorted(names, key=UPSTREAM_GROUP_ORDER.index)
    assert names[:4] == ["apps", "events.k8s.io", "authentication.k8s.io",
                         "authorization.k8s.io"]


def test_group_list_preferred_version(registry: Registry) -> None:
    doc = d.api_group_list(registry)
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupList", "v1")
    autoscaling = next(g for g in doc["groups"] if g["name"] == "autoscaling")
    assert autoscaling == {
        "name": "autoscaling",
        "versions": [
            {"groupVersion": "autoscaling/v2", "version": "v2"},
            {"groupVersion": "autoscaling/v1", "version": "v1"},
        ],
        "preferredVersion": {"groupVersion": "autoscaling/v2", "version": "v2"},
    }
    # The Python DynamicClient needs preferredVersion to equal one of versions exactly.
    for group in doc["groups"]:
        assert group["preferredVersion"] == group["versions"][0]


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("apps", {"kind": "APIGroup", "apiVersion": "v1", "name": "apps",
                  "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                  "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}),
        ("", None),
        ("nope.example.com", None),
    ],
    ids=["apps", "core-is-not-under-apis", "unknown"],
)
def test_api_group(registry: Registry, group: str, expected: dict[str, Any] | None) -> None:
    assert d.api_group(registry, group) == expected


# --------------------------------------------------------------------------- APIResourceList


@pytest.mark.parametrize(
    ("group", "version", "name", "expected"),
    [
        ("", "v1", "pods", {
            "name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch",
                      "update", "watch"],
            "shortNames": ["po"], "categories": ["all"],
            "storageVersionHash": "xPOwRZ+Yhw8=",
        }),
        ("", "v1", "pods/status", {
            "name": "pods/status", "singularName": "", "namespaced": True, "kind": "Pod",
            "verbs": ["get", "patch", "update"],
        }),
        ("", "v1", "pods/eviction", {
            "name": "pods/eviction", "singularName": "", "namespaced": True,
            "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"],
        }),
        ("", "v1", "namespaces", {
            "name": "namespaces", "singularName": "namespace", "namespaced": False,
            "kind": "Namespace",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            "shortNames": ["ns"], "storageVersionHash": "Q3oi5N2YM8M=",
        }),
        ("", "v1", "bindings", {
            "name": "bindings", "singularName": "binding", "namespaced": True,
            "kind": "Binding", "verbs": ["create"],
        }),
        ("", "v1", "serviceaccounts/token", {
            "name": "serviceaccounts/token", "singularName": "", "namespaced": True,
            "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
            "verbs": ["create"],
        }),
        ("apps", "v1", "deployments/scale", {
            "name": "deployments/scale", "singularName": "", "namespaced": True,
            "group": "autoscaling", "version": "v1", "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        }),
        ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", {
            "name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview",
            "namespaced": False, "kind": "SelfSubjectAccessReview", "verbs": ["create"],
        }),
        ("autoscaling", "v1", "horizontalpodautoscalers/status", {
            "name": "horizontalpodautoscalers/status", "singularName": "",
            "namespaced": True, "kind": "HorizontalPodAutoscaler",
            "verbs": ["get", "patch", "update"],
        }),
    ],
    ids=["pods", "pods-status", "pods-eviction", "namespaces", "bindings-virtual",
         "serviceaccounts-token", "deployments-scale", "selfsubjectaccessreviews",
         "hpa-v1-status"],
)
def test_resource_list_entries(
    registry: Registry, group: str, version: str, name: str, expected: dict[str, Any]
) -> None:
    doc = d.api_resource_list(registry, group, version)
    assert doc is not None
    entry = _entry(doc, name)
    assert entry == expected
    assert list(entry) == list(expected)  # upstream field order


# Values copied from real kube-apiserver /api/v1 and /apis/<g>/<v> answers.
@pytest.mark.parametrize(
    ("group", "version", "name", "hash_"),
    [
        ("", "v1", "configmaps", "qFsyl6wFWjQ="),
        ("", "v1", "events", "r2yiGXH7wu8="),
        ("events.k8s.io", "v1", "events", "r2yiGXH7wu8="),
        ("autoscaling", "v1", "horizontalpodautoscalers", "qwQve8ut294="),
        ("autoscaling", "v2", "horizontalpodautoscalers", "qwQve8ut294="),
        ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "48tpQ8gZHFc="),
        ("networking.k8s.io", "v1", "ingresses", "39NQlfNR+bo="),
        ("storage.k8s.io", "v1", "csidrivers", "hL6j/rwBV5w="),
    ],
    ids=["configmaps", "core-events", "events-k8s-io-stored-as-core", "hpa-v1-stored-as-v2",
         "hpa-v2", "clusterrolebindings", "ingresses", "csidrivers"],
)
def test_storage_version_hash(
    registry: Registry, group: str, version: str, name: str, hash_: str
) -> None:
    doc = d.api_resource_list(registry, group, version)
    assert doc is not None
    assert _entry(doc, name)["storageVersionHash"] == hash_


def test_virtual_resources_have_no_storage_hash(registry: Registry) -> None:
    for info in registry:
        doc = d.api_resource_list(registry, info.group, info.version)
        assert doc is not None
        assert ("storageVersionHash" in _entry(doc, info.plural)) is not info.virtual


def test_resource_list_shape(registry: Registry) -> None:
    doc = d.api_resource_list(registry, "", "v1")
    assert doc is not None
    assert (doc["kind"], doc["apiVersion"], doc["groupVersion"]) == (
        "APIResourceList", "v1", "v1")
    names = [e["name"] for e in doc["resources"]]
    assert names == sorted(names)
    assert names.index("pods") < names.index("pods/attach") < names.index("podtemplates")
    apps = d.api_resource_list(registry, "apps", "v1")
    assert apps is not None and apps["groupVersion"] == "apps/v1"
    for entry in doc["resources"]:
        assert "shortNames" not in entry or entry["shortNames"]
        assert "categories" not in entry or entry["categories"]
    assert "shortNames" not in _entry(doc, "secrets")
    assert "categories" not in _entry(doc, "configmaps")


@pytest.mark.parametrize(
    ("group", "version"),
    [("", "v2"), ("apps", "v1beta1"), ("nope.example.com", "v1")],
    ids=["core-v2", "apps-v1beta1", "unknown-group"],
)
def test_resource_list_not_served(registry: Registry, group: str, version: str) -> None:
    assert d.api_resource_list(registry, group, version) is None


def test_every_verbs_is_a_list_and_sorted(registry: Registry) -> None:
    seen = 0
    for doc in _all_documents(registry):
        for node in _walk(doc):
            if "verbs" in node:
                seen += 1
                assert isinstance(node["verbs"], list)
                assert node["verbs"] == sorted(node["verbs"])  # as upstream's installer
            for key in ("versions", "resources", "items", "groups"):
                if key in node:
                    assert isinstance(node[key], list)
    assert seen > 100


# --------------------------------------------------------------------------- aggregated


def test_aggregated_core(registry: Registry) -> None:
    doc = d.aggregated(registry, legacy=True)
    assert (doc["kind"], doc["apiVersion"]) == (
        "APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    assert [i["metadata"] for i in doc["items"]] == [{"name": ""}]
    (version,) = doc["items"][0]["versions"]
    assert (version["version"], version["freshness"]) == ("v1", "Current")
    names = [r["resource"] for r in version["resources"]]
    assert names == sorted(names)
    assert "pods/status" not in names
    pods = _aggregated_resource(doc, "", "v1", "pods")
    assert pods["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    assert (pods["scope"], pods["singularResource"]) == ("Namespaced", "pod")
    assert (pods["shortNames"], pods["categories"]) == (["po"], ["all"])
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert list(subs) == sorted(subs)
    assert subs["eviction"] == {
        "subresource": "eviction",
        "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"},
        "verbs": ["create"],
    }
    assert subs["status"]["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    assert "storageVersionHash" not in pods


@pytest.mark.parametrize(
    ("group", "version", "plural", "expected"),
    [
        ("", "v1", "bindings", {
            "resource": "bindings",
            "responseKind": {"group": "", "version": "", "kind": "Binding"},
            "scope": "Namespaced", "singularResource": "binding", "verbs": ["create"],
        }),
        ("", "v1", "namespaces", {
            "resource": "namespaces",
            "responseKind": {"group": "", "version": "", "kind": "Namespace"},
            "scope": "Cluster", "singularResource": "namespace",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            "shortNames": ["ns"],
            "subresources": [
                {"subresource": "finalize",
                 "responseKind": {"group": "", "version": "", "kind": "Namespace"},
                 "verbs": ["update"]},
                {"subresource": "status",
                 "responseKind": {"group": "", "version": "", "kind": "Namespace"},
                 "verbs": ["get", "patch", "update"]},
            ],
        }),
        ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", {
            "resource": "selfsubjectaccessreviews",
            "responseKind": {"group": "", "version": "", "kind": "SelfSubjectAccessReview"},
            "scope": "Cluster", "singularResource": "selfsubjectaccessreview",
            "verbs": ["create"],
        }),
        ("authentication.k8s.io", "v1", "tokenreviews", {
            "resource": "tokenreviews",
            "responseKind": {"group": "", "version": "", "kind": "TokenReview"},
            "scope": "Cluster", "singularResource": "tokenreview", "verbs": ["create"],
        }),
        ("authorization.k8s.io", "v1", "localsubjectaccessreviews", {
            "resource": "localsubjectaccessreviews",
            "responseKind": {"group": "", "version": "", "kind": "LocalSubjectAccessReview"},
            "scope": "Namespaced", "singularResource": "localsubjectaccessreview",
            "verbs": ["create"],
        }),
    ],
    ids=["bindings-virtual", "namespaces-cluster", "selfsubjectaccessreviews-virtual",
         "tokenreviews-virtual", "localsubjectaccessreviews-namespaced"],
)
def test_aggregated_resources(
    registry: Registry, group: str, version: str, plural: str, expected: dict[str, Any]
) -> None:
    doc = d.aggregated(registry, legacy=group == "")
    resource = _aggregated_resource(doc, group, version, plural)
    assert resource == expected
    assert list(resource) == list(expected)


def test_aggregated_groups(registry: Registry) -> None:
    doc = d.aggregated(registry, legacy=False)
    names = [i["metadata"]["name"] for i in doc["items"]]
    assert names == [g["name"] for g in d.api_group_list(registry)["groups"]]
    autoscaling = next(i for i in doc["items"] if i["metadata"]["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]
    assert {v["freshness"] for i in doc["items"] for v in i["versions"]} == {"Current"}
    deployments = _aggregated_resource(doc, "apps", "v1", "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert scale["verbs"] == ["get", "patch", "update"]


@pytest.mark.parametrize("version", ["v2", "v2beta1"])
def test_aggregated_versions(registry: Registry, version: str) -> None:
    doc = d.aggregated(registry, legacy=False, version=version)
    assert doc["apiVersion"] == f"apidiscovery.k8s.io/{version}"


def test_aggregated_unknown_version(registry: Registry) -> None:
    with pytest.raises(ValueError, match="v3"):
        d.aggregated(registry, legacy=True, version="v3")


def test_custom_resources_follow_builtin_groups(registry: Registry) -> None:
    registry.add(_widgets("v1beta1"))
    registry.add(_widgets("v1", subresources=(
        Subresource("status", "Widget", ("get", "patch", "update")),
        Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1"),
    )))
    registry.add(ResourceInfo("aaa.example.com", "v1alpha1", "Gadget", "gadgets", False))
    groups = d.api_group_list(registry)["groups"]
    assert [g["name"] for g in groups[-2:]] == ["aaa.example.com", "example.com"]
    assert groups[-1]["preferredVersion"] == {
        "groupVersion": "example.com/v1", "version": "v1"}
    doc = d.api_resource_list(registry, "example.com", "v1")
    assert doc is not None
    assert [e["name"] for e in doc["resources"]] == [
        "widgets", "widgets/scale", "widgets/status"]
    assert _entry(doc, "widgets")["storageVersionHash"] == d.storage_version_hash(
        "example.com", "v1", "Widget")
    agg = d.aggregated(registry, legacy=False)
    widgets = _aggregated_resource(agg, "example.com", "v1", "widgets")
    assert widgets["shortNames"] == ["wd"]
    assert [s["subresource"] for s in widgets["subresources"]] == ["scale", "status"]


# --------------------------------------------------------------------------- Accept


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (KUBECTL_ACCEPT, "v2"),
        ("application/json", None),
        ("application/json, */*", None),
        ("", None),
        (None, None),
        ("*/*", None),
        ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", "v2beta1"),
        ("application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io", "v2"),
        ("application/json, application/json;g=apidiscovery.k8s.io;v=v2;"
         "as=APIGroupDiscoveryList", None),
        ("application/json;q=0.5, application/json;g=apidiscovery.k8s.io;v=v2;"
         "as=APIGroupDiscoveryList", "v2"),
        ("*/*, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", "v2"),
        ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0, "
         "application/json", None),
        ("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;"
         "as=APIGroupDiscoveryList, " + KUBECTL_ACCEPT, "v2"),
        ("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList, "
         "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
         "v2beta1"),
        ("application/json;g=meta.k8s.io;v=v1;as=Table", None),
        ("text/html", None),
    ],
    ids=["kubectl", "json", "json-and-any", "empty", "missing", "any", "v2beta1-only",
         "params-any-order", "json-first", "json-lower-q", "wildcard-after-concrete",
         "q-zero-skipped", "protobuf-aggregated-skipped", "unknown-version-skipped",
         "table-skipped", "unservable"],
)
def test_wants_aggregated(accept: str | None, expected: str | None) -> None:
    assert d.wants_aggregated(accept) == expected


def test_content_type_constants() -> None:
    assert d.AGGREGATED_V2_CONTENT_TYPE == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    assert d.AGGREGATED_V2BETA1_CONTENT_TYPE == (
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
    assert d.wants_aggregated(d.AGGREGATED_V2_CONTENT_TYPE) == "v2"
    assert d.wants_aggregated(d.AGGREGATED_V2BETA1_CONTENT_TYPE) == "v2beta1"


# --------------------------------------------------------------------------- cache


def test_cache_serves_encoded_documents(registry: Registry) -> None:
    cache = d.DiscoveryCache(registry)
    first = cache.api_resource_list("", "v1")
    assert first is not None
    assert orjson.loads(first.body) == d.api_resource_list(registry, "", "v1")
    assert first.etag == '"' + hashlib.sha512(first.body).hexdigest().upper() + '"'
    assert first.content_type == "application/json"
    assert cache.api_resource_list("", "v1") is first  # cached
    agg = cache.aggregated(legacy=False)
    assert agg.content_type == d.AGGREGATED_V2_CONTENT_TYPE
    assert cache.aggregated(legacy=False, version="v2beta1").content_type == (
        d.AGGREGATED_V2BETA1_CONTENT_TYPE)
    assert cache.aggregated(legacy=True) is not cache.aggregated(legacy=False)
    assert orjson.loads(cache.api_versions("a:1").body)["serverAddressByClientCIDRs"] == [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "a:1"}]
    assert orjson.loads(cache.api_group_list().body) == d.api_group_list(registry)
    assert cache.api_group("nope.example.com") is None
    assert cache.api_resource_list("nope.example.com", "v1") is None
    with pytest.raises(ValueError):
        cache.aggregated(legacy=True, version="v1")


def test_cache_rebuilds_when_registry_changes(registry: Registry) -> None:
    cache = d.DiscoveryCache(registry)
    groups = cache.api_group_list()
    agg = cache.aggregated(legacy=False)
    assert cache.api_group("example.com") is None
    registry.add(_widgets())
    after = cache.api_group_list()
    assert after is not groups and after.etag != groups.etag
    assert b'"example.com"' in after.body
    assert cache.aggregated(legacy=False).etag != agg.etag
    assert cache.api_group("example.com") is not None
    registry.remove("example.com", "v1", "widgets")
    assert cache.api_group_list().etag == groups.etag  # same content, same ETag
    assert cache.api_resource_list("example.com", "v1") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, False), ("", False), ("*", True), ("{etag}", True), ('"x", {etag}', True),
     ("W/{etag}", True), ('"x"', False)],
    ids=["missing", "empty", "star", "exact", "in-list", "weak", "other"],
)
def test_not_modified(registry: Registry, header: str | None, expected: bool) -> None:
    encoded = d.DiscoveryCache(registry).api_group_list()
    value = header.format(etag=encoded.etag) if header else header
    assert encoded.not_modified(value) is expected


# --------------------------------------------------------------------------- Python client


class _FakeResponse:
    def __init__(self, data: bytes) -> None:
        self.data = data


def _deserialize(doc: dict[str, Any], model: str) -> Any:
    """Run a document through the official client's model deserializer (strict models)."""
    client = kubernetes.client.ApiClient()
    body = orjson.dumps(doc)
    if "response_text" in inspect.signature(client.deserialize).parameters:
        return client.deserialize(body.decode(), model, "application/json")
    return client.deserialize(_FakeResponse(body), model)  # older generated clients


def test_python_client_accepts_resource_lists(registry: Registry) -> None:
    for group, versions in registry.groups():
        for version in versions:
            doc = d.api_resource_list(registry, group, version)
            assert doc is not None
            parsed = _deserialize(doc, "V1APIResourceList")
            assert parsed.group_version == doc["groupVersion"]
            assert len(parsed.resources) == len(doc["resources"])
    core = _deserialize(d.api_resource_list(registry, "", "v1") or {}, "V1APIResourceList")
    eviction = next(r for r in core.resources if r.name == "pods/eviction")
    assert (eviction.group, eviction.version, eviction.kind) == ("policy", "v1", "Eviction")
    pods = next(r for r in core.resources if r.name == "pods")
    assert (pods.short_names, pods.categories, pods.singular_name) == (["po"], ["all"], "pod")


def test_python_client_accepts_group_documents(registry: Registry) -> None:
    groups = _deserialize(d.api_group_list(registry), "V1APIGroupList")
    autoscaling = next(g for g in groups.groups if g.name == "autoscaling")
    assert autoscaling.preferred_version.group_version == "autoscaling/v2"
    apps = _deserialize(d.api_group(registry, "apps") or {}, "V1APIGroup")
    assert apps.name == "apps"
    versions = _deserialize(d.api_versions("1.2.3.4:6443"), "V1APIVersions")
    assert versions.versions == ["v1"]


@pytest.mark.parametrize(
    ("version", "model"),
    [("v2", "V2APIGroupDiscoveryList"), ("v2beta1", "V2beta1APIGroupDiscoveryList")],
)
def test_python_client_accepts_aggregated(registry: Registry, version: str, model: str) -> None:
    if not hasattr(kubernetes.client, model):
        pytest.skip(f"kubernetes client has no {model}")
    for legacy in (True, False):
        parsed = _deserialize(d.aggregated(registry, legacy=legacy, version=version), model)
        assert parsed.items
        assert all(v.freshness == "Current" for i in parsed.items for v in i.versions)
