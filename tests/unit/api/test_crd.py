"""api.crd and api.crd_validation: what a CRD serves, and the CRD kind's own rules."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from kybernetes.api import crd, crd_validation, openapi, openapi_v2pb, tables
from kybernetes.api.defaults import apply_defaults
from kybernetes.api.registry import Registry
from kybernetes.api.validation import validate_create, validate_update
from kybernetes.apiserver import discovery

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

SCHEMA: Obj = {"type": "object", "properties": {
    "spec": {"type": "object", "description": "The spec.", "properties": {
        "replicas": {"type": "integer", "default": 1},
        "image": {"type": "string"}}},
    "status": {"type": "object", "properties": {
        "replicas": {"type": "integer"},
        "selector": {"type": "string"},
        "conditions": {"type": "array", "items": {"type": "object", "properties": {
            "type": {"type": "string"}, "status": {"type": "string"}}}}}}}}


def make_crd(**overrides: Any) -> Obj:
    obj: Obj = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com", "uid": "u1", "generation": 1},
        "spec": {
            "group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "kind": "CronTab", "shortNames": ["ct"],
                      "categories": ["all"]},
            "versions": [
                {"name": "v1beta1", "served": True, "storage": False,
                 "schema": {"openAPIV3Schema": SCHEMA}},
                {"name": "v1", "served": True, "storage": True,
                 "schema": {"openAPIV3Schema": SCHEMA},
                 "subresources": {"status": {}, "scale": {
                     "specReplicasPath": ".spec.replicas",
                     "statusReplicasPath": ".status.replicas",
                     "labelSelectorPath": ".status.selector"}},
                 "additionalPrinterColumns": [
                     {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                     {"name": "Ready", "type": "string",
                      "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                     {"name": "Image", "type": "string", "jsonPath": ".spec.image",
                      "priority": 1},
                     {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                 ]},
                {"name": "v0", "served": False, "storage": False,
                 "schema": {"openAPIV3Schema": SCHEMA}},
            ],
        },
    }
    obj["spec"].update(overrides)
    crd.default_crd(obj)
    return obj


def established(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    accepted, *_ = crd.accept_names(out, {"resources": set(), "kinds": set()})
    out["status"] = {"acceptedNames": accepted, "storedVersions": ["v1"]}
    crd.set_condition(out, "Established", "True", "InitialNamesAccepted", "", "now")
    return out


def infos(obj: Obj | None = None) -> dict[str, Any]:
    return {i.version: i for i in crd.resource_infos(established(obj or make_crd()))}


# --- what the server serves -------------------------------------------------------------------


def test_one_resource_per_served_version() -> None:
    by_version = infos()
    assert sorted(by_version) == ["v1", "v1beta1"]
    v1 = by_version["v1"]
    assert (v1.group, v1.kind, v1.plural, v1.namespaced) == (
        "stable.example.com", "CronTab", "crontabs", True)
    assert v1.short_names == ("ct",) and v1.categories == ("all",)
    assert v1.singular == "crontab" and v1.list_kind == "CronTabList"
    assert [s.name for s in v1.subresources] == ["status", "scale"]
    assert by_version["v1beta1"].subresources == ()
    assert v1.custom.storage_version == "v1"
    assert v1.key_prefix("ns") == "/registry/stable.example.com/crontabs/ns/"


def test_infos_follow_the_crd_generation() -> None:
    a = infos()["v1"]
    assert a == infos()["v1"] and hash(a) == hash(infos()["v1"])
    newer = make_crd()
    newer_obj = established(newer)
    newer_obj["metadata"]["generation"] = 2
    b = {i.version: i for i in crd.resource_infos(newer_obj)}["v1"]
    assert a != b


def test_defaults_and_validation_use_the_version_schema() -> None:
    v1 = infos()["v1"]
    obj: Obj = {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                "metadata": {"name": "a", "namespace": "ns"}, "spec": {"replicas": "x"}}
    apply_defaults(v1, obj)
    causes = validate_create(v1, obj)
    assert [f"{c.field}: {c.message}" for c in causes] == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
        'integer: "string"',
        ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: x is of the type "
        "string, expected int64"]
    obj["spec"] = {}
    apply_defaults(v1, obj)
    assert obj["spec"] == {"replicas": 1}
    assert validate_update(v1, obj, obj) == []


def test_printer_columns_and_cells() -> None:
    v1 = infos()["v1"]
    cols = tables.column_definitions(v1)
    assert [(c["name"], c["type"], c["priority"]) for c in cols] == [
        ("Name", "string", 0), ("Replicas", "integer", 0), ("Ready", "string", 0),
        ("Image", "string", 1), ("Age", "date", 0)]
    assert cols[0]["format"] == "name"
    obj = {"metadata": {"name": "a", "creationTimestamp": "2026-01-01T11:58:00Z"},
           "spec": {"replicas": 2},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    table = tables.table(v1, [obj], now=NOW)
    assert table["rows"][0]["cells"] == ["a", 2, "True", None, "2m"]
    default = infos()["v1beta1"]
    assert [c["name"] for c in tables.column_definitions(default)] == ["Name", "Age"]
    assert tables.table(default, [obj], now=NOW)["rows"][0]["cells"] == ["a", "2m"]


@pytest.mark.parametrize(("column_type", "value", "cell"), [
    ("integer", 2.0, 2), ("integer", "x", None), ("number", 2, 2.0),
    ("boolean", True, True), ("string", 5, "5"), ("string", {"a": 1}, '{"a":1}'),
    ("date", "nonsense", "<invalid>"),
])
def test_cell_types(column_type: str, value: Any, cell: Any) -> None:
    assert crd._cell(column_type, value, NOW) == cell


def test_scale_view() -> None:
    custom = infos()["v1"].custom
    obj = {"metadata": {"name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "5",
                        "labels": {"x": "y"}},
           "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=a"}}
    assert custom.scale_of(obj) == {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "5"},
        "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=a"}}
    empty = {"metadata": {"name": "b"}}
    assert custom.scale_of(empty)["spec"] == {"replicas": 0}
    custom.set_replicas(empty, 4)
    assert empty["spec"] == {"replicas": 4}


def test_discovery_names_the_group_version_of_custom_kinds() -> None:
    registry = Registry.builtin()
    for info in infos().values():
        registry.add(info)
    doc = discovery.aggregated(registry, legacy=False)
    item = next(i for i in doc["items"] if i["metadata"]["name"] == "stable.example.com")
    assert [v["version"] for v in item["versions"]] == ["v1", "v1beta1"]
    res = item["versions"][0]["resources"][0]
    assert res["responseKind"] == {"group": "stable.example.com", "version": "v1",
                                   "kind": "CronTab"}
    subs = {s["subresource"]: s["responseKind"] for s in res["subresources"]}
    assert subs["status"] == {"group": "stable.example.com", "version": "v1", "kind": "CronTab"}
    assert subs["scale"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    legacy = discovery.api_resource_list(registry, "stable.example.com", "v1beta1")
    assert legacy is not None
    entry = legacy["resources"][0]
    assert entry["storageVersionHash"] == discovery.storage_version_hash(
        "stable.example.com", "v1", "CronTab")


def test_openapi_publishes_the_schema_without_strategic_merge_patch() -> None:
    registry = Registry.builtin()
    for info in infos().values():
        registry.add(info)
    doc = openapi.v3_group_version(registry, "stable.example.com", "v1")
    schemas = doc["components"]["schemas"]
    kind = schemas["com.example.stable.v1.CronTab"]
    assert kind["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]
    assert kind["properties"]["spec"]["description"] == "The spec."
    assert kind["properties"]["metadata"]["allOf"][0]["$ref"].endswith("v1.ObjectMeta")
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    assert "com.example.stable.v1.CronTabList" in schemas
    patch = doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"][
        "patch"]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert "application/merge-patch+json" in patch["requestBody"]["content"]
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    v2 = openapi.v2(registry)
    assert "com.example.stable.v1beta1.CronTab" in v2["definitions"]
    assert openapi_v2pb.document_bytes(registry)


# --- the CRD kind ----------------------------------------------------------------------------


def test_crd_defaults() -> None:
    obj = make_crd()
    assert obj["spec"]["names"]["singular"] == "crontab"
    assert obj["spec"]["names"]["listKind"] == "CronTabList"
    assert obj["spec"]["conversion"] == {"strategy": "None"}


def test_valid_crd() -> None:
    assert crd_validation.validate_crd(make_crd()) == []


def causes(obj: Obj) -> list[str]:
    return [f"{c.field}: {c.message}" for c in crd_validation.validate_crd(obj)]


@pytest.mark.parametrize(("change", "want"), [
    (lambda o: o["metadata"].update(name="x.example.com"),
     'metadata.name: Invalid value: "x.example.com": must be spec.names.plural+"."+spec.group'),
    (lambda o: o["spec"].update(group="nodot"),
     'spec.group: Invalid value: "nodot": should be a domain with at least one dot'),
    (lambda o: o["spec"].update(scope="Galaxy"),
     'spec.scope: Unsupported value: "Galaxy": supported values: "Cluster", "Namespaced"'),
    (lambda o: o["spec"]["versions"][0].update(storage=True),
     "must have exactly one version marked as storage version"),
    (lambda o: o["spec"]["versions"][0].update(name="v1"), "must contain unique version names"),
    (lambda o: o["spec"]["versions"][0].update(name="V1"),
     'spec.versions[0].name: Invalid value: "V1": a DNS-1035 label must consist of'),
    (lambda o: o["spec"]["versions"][0].pop("schema"),
     "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"),
    (lambda o: o["spec"]["versions"][1]["subresources"]["scale"].update(
        specReplicasPath=".status.replicas"),
     'spec.versions[1].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": '
     "should be a json path under .spec"),
    (lambda o: o["spec"]["versions"][1]["additionalPrinterColumns"][0].update(type="float"),
     'spec.versions[1].additionalPrinterColumns[0].type: Unsupported value: "float"'),
    (lambda o: o["spec"]["names"].update(kind="Bad_Kind"),
     'spec.names.kind: Invalid value: "Bad_Kind": may have mixed case, but should otherwise '
     "match"),
    (lambda o: o["spec"]["names"].update(listKind="CronTab"),
     'spec.names.listKind: Invalid value: "CronTab": kind and listKind may not be the same'),
    (lambda o: o["spec"].update(group="x.k8s.io") or o["metadata"].update(
        name="crontabs.x.k8s.io"),
     "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups"),
    (lambda o: o["spec"]["conversion"].update(strategy="Webhook"),
     "spec.conversion.webhook: Required value: required when strategy is set to Webhook"),
    (lambda o: o["spec"].update(preserveUnknownFields=True),
     "spec.preserveUnknownFields: Invalid value: true: cannot set to true"),
], ids=["name", "group", "scope", "two-storage", "duplicate-version", "version-name",
        "no-schema", "scale-path", "column-type", "kind", "list-kind", "protected-group",
        "webhook", "preserve-unknown"])
def test_invalid_crds(change: Any, want: str) -> None:
    obj = make_crd()
    change(obj)
    got = causes(obj)
    assert any(want in g for g in got), got


def test_crd_update_rules() -> None:
    old = established(make_crd())
    new = copy.deepcopy(old)
    new["spec"]["scope"] = "Cluster"
    new["spec"]["names"]["plural"] = "crons"
    new["status"]["storedVersions"] = ["v1", "v0alpha1"]
    got = [f"{c.field}: {c.message}" for c in crd_validation.validate_crd_update(new, old)]
    assert sorted(got) == [
        'spec.names.plural: Invalid value: "crons": field is immutable',
        'spec.scope: Invalid value: "Cluster": field is immutable',
        'status.storedVersions[1]: Invalid value: "v0alpha1": must appear in spec.versions',
    ]


def test_status_on_create_update_and_delete() -> None:
    obj = make_crd()
    crd.prepare_create(obj)
    assert obj["status"] == {"acceptedNames": {"kind": "", "plural": ""}, "conditions": [],
                             "storedVersions": ["v1"]}
    old = copy.deepcopy(obj)
    obj["spec"]["versions"][0]["storage"] = True
    obj["spec"]["versions"][1]["storage"] = False
    crd.prepare_update(obj, old)
    assert obj["status"]["storedVersions"] == ["v1", "v1beta1"]
    marked = crd.mark_for_deletion(obj, "2026-01-01T00:00:00Z")
    assert marked["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:00Z"
    assert "deletionGracePeriodSeconds" not in marked["metadata"]
    assert marked["metadata"]["finalizers"] == [crd.CLEANUP_FINALIZER]
    assert crd.condition(marked, "Terminating")["reason"] == "InstanceDeletionPending"
    assert "deletionTimestamp" not in obj["metadata"]


def test_set_condition_moves_the_transition_time_only_on_status_change() -> None:
    obj: Obj = {}
    assert crd.set_condition(obj, "Established", "False", "NotAccepted", "m", "t1")
    assert not crd.set_condition(obj, "Established", "False", "NotAccepted", "m", "t2")
    assert crd.set_condition(obj, "Established", "False", "Other", "m", "t3")
    assert crd.condition(obj, "Established")["lastTransitionTime"] == "t1"
    assert crd.set_condition(obj, "Established", "True", "Ok", "m", "t4")
    assert crd.condition(obj, "Established")["lastTransitionTime"] == "t4"


@pytest.mark.parametrize(("taken", "status", "reason", "message"), [
    ({}, "True", "NoConflicts", "no conflicts found"),
    ({"resources": {"crontabs"}}, "False", "PluralConflict", '"crontabs" is already in use'),
    ({"resources": {"ct"}}, "False", "ShortNamesConflict", '"ct" is already in use'),
    ({"kinds": {"CronTab"}}, "False", "KindConflict", '"CronTab" is already in use'),
    ({"kinds": {"CronTabList"}}, "False", "ListKindConflict",
     '"CronTabList" is already in use'),
], ids=["free", "plural", "short-names", "kind", "list-kind"])
def test_accept_names(taken: dict[str, set[str]], status: str, reason: str,
                      message: str) -> None:
    pool = {"resources": set(), "kinds": set(), **taken}
    accepted, got_status, got_reason, got_message = crd.accept_names(make_crd(), pool)
    assert (got_status, got_reason, got_message) == (status, reason, message)
    assert accepted["categories"] == ["all"]
    if status == "True":
        assert accepted == {"plural": "crontabs", "singular": "crontab", "shortNames": ["ct"],
                            "kind": "CronTab", "listKind": "CronTabList", "categories": ["all"]}
    else:
        assert all(v not in pool["resources"] | pool["kinds"] for k, v in accepted.items()
                   if isinstance(v, str))


def test_names_already_accepted_stay_accepted() -> None:
    obj = established(make_crd())
    taken = crd.names_in_use([], [established(make_crd())])
    assert crd.accept_names(obj, taken)[1] == "True"


def test_openapi_schema_survives_json_round_trip() -> None:
    custom = infos()["v1"].custom
    for v3 in (True, False):
        schemas = custom.openapi_schemas(v3)
        assert orjson.loads(orjson.dumps(schemas)) == schemas
