"""Schema-aware walks: which fields an object sets, apply merge, compare, removal."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api import typed
from kybernetes.api.fieldpath import FieldSet

Obj = dict[str, Any]

DEPLOYMENT = typed.for_kind("apps", "v1", "Deployment")
POD = typed.for_kind("", "v1", "Pod")
CONFIGMAP = typed.for_kind("", "v1", "ConfigMap")
SERVICE = typed.for_kind("", "v1", "Service")


def pod_spec(**spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


# --- field sets ----------------------------------------------------------------------------

@pytest.mark.parametrize(("node", "obj", "want"), [
    # list-map items by their keys; a defaulted key field (protocol) is filled in
    (POD, {"spec": {"containers": [{"name": "c", "image": "i",
                                    "ports": [{"containerPort": 80}]}]}},
     {"f:spec": {"f:containers": {'k:{"name":"c"}': {
         ".": {}, "f:image": {}, "f:name": {}, "f:ports": {
             'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}}}),
    # sets by value
    (POD, {"metadata": {"finalizers": ["a", "b"]}},
     {"f:metadata": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}}}),
    # granular maps own their keys, not themselves
    (CONFIGMAP, {"data": {"a": "1", "b": "2"}}, {"f:data": {"f:a": {}, "f:b": {}}}),
    # atomic maps and lists are leaves
    (POD, {"spec": {"nodeSelector": {"a": "b"}, "tolerations": [{"key": "k"}]}},
     {"f:spec": {"f:nodeSelector": {}, "f:tolerations": {}}}),
    (DEPLOYMENT, {"spec": {"selector": {"matchLabels": {"a": "b"}}}},
     {"f:spec": {"f:selector": {}}}),
    # an empty map and a null are owned themselves
    (CONFIGMAP, {"data": {}, "binaryData": None}, {"f:binaryData": {}, "f:data": {}}),
    (SERVICE, {"spec": {"ports": [{"port": 80}]}},
     {"f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}}}}),
], ids=["list-map", "set", "granular-map", "atomic", "atomic-struct", "empty-and-null",
        "service-ports"])
def test_field_set(node: typed.Node, obj: Obj, want: Obj) -> None:
    errors: list[str] = []
    assert typed.field_set(obj, node, errors=errors).to_fields_v1() == want
    assert errors == []


def test_untyped_fields_are_owned_at_every_level() -> None:
    got = typed.field_set({"a": {"b": 1, "c": [1, 2]}}, typed.UNTYPED)
    assert got.to_fields_v1() == {"f:a": {".": {}, "f:b": {}, "f:c": {}}}


@pytest.mark.parametrize(("obj", "want"), [
    ({"spec": {"bogus": 1}}, [".spec.bogus: field not declared in schema"]),
    ({"spec": {"restartPolicy": 1}}, [".spec.restartPolicy: expected string, got numeric"]),
    ({"spec": {"activeDeadlineSeconds": "x"}},
     [".spec.activeDeadlineSeconds: expected numeric (int or float), got string"]),
    ({"spec": {"containers": {"name": "c"}}}, [".spec.containers: expected list, got map"]),
    ({"spec": {"containers": [{"image": "i"}]}},
     ['.spec.containers: element 0: associative list with keys has an element that omits '
      'key field "name" (and doesn\'t have default value)']),
    ({"spec": {"containers": [{"name": "c"}, {"name": "c"}]}},
     ['.spec.containers: duplicate entries for key [name="c"]']),
    ({"metadata": {"finalizers": [{"a": 1}]}},
     [".metadata.finalizers: element 0: associative list without keys has an element "
      "that's a map type"]),
    ({"spec": {"containers": [{"name": "c", "imagex": "i"}]}},
     ['.spec.containers[name="c"].imagex: field not declared in schema']),
], ids=["unknown-field", "string-wanted", "number-wanted", "list-wanted", "missing-key",
        "duplicate-key", "set-of-maps", "unknown-nested"])
def test_field_set_validation(obj: Obj, want: list[str]) -> None:
    errors: list[str] = []
    typed.field_set(obj, POD, errors=errors)
    assert errors == want


def test_int_or_string_and_quantities_take_either() -> None:
    errors: list[str] = []
    typed.field_set({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}}}, DEPLOYMENT,
                    errors=errors)
    typed.field_set({"spec": {"containers": [{"name": "c", "resources": {
        "limits": {"cpu": 1, "memory": "1Gi"}}}]}}, POD, errors=errors)
    assert errors == []


def test_ensure_named_fields_adds_struct_fields_only() -> None:
    s = typed.field_set({"metadata": {"labels": {"a": "1"}}, "data": {"k": "v"}}, CONFIGMAP)
    named = typed.ensure_named_fields(s, CONFIGMAP)
    assert named.has(("f:metadata",)) and named.has(("f:metadata", "f:labels"))
    assert named.has(("f:data",))
    assert not s.has(("f:metadata",))


# --- merge -----------------------------------------------------------------------------------

def names(containers: list[Obj]) -> list[str]:
    return [c["name"] for c in containers]


@pytest.mark.parametrize(("live", "config", "want"), [
    (["a", "b", "c"], ["c", "a", "d"], ["b", "c", "a", "d"]),
    (["a", "b"], ["b"], ["a", "b"]),
    (["a"], ["x", "a", "y"], ["x", "a", "y"]),
    ([], ["a"], ["a"]),
], ids=["reorder-and-add", "subset", "around", "into-empty"])
def test_merge_list_map_order(live: list[str], config: list[str], want: list[str]) -> None:
    lhs = pod_spec(containers=[{"name": n, "image": "live"} for n in live])
    rhs = pod_spec(containers=[{"name": n, "image": "cfg"} for n in config])
    merged = typed.merge(lhs, rhs, POD)
    assert names(merged["spec"]["containers"]) == want
    images = {c["name"]: c["image"] for c in merged["spec"]["containers"]}
    assert all(images[n] == "cfg" for n in config)


def test_merge_keeps_live_fields_and_replaces_atomic_values() -> None:
    live = pod_spec(containers=[{"name": "c", "image": "a", "imagePullPolicy": "Always"}],
                    nodeSelector={"a": "1", "b": "2"}, tolerations=[{"key": "x"}])
    live["metadata"]["labels"] = {"keep": "1"}
    config = pod_spec(containers=[{"name": "c", "image": "b"}], nodeSelector={"c": "3"},
                      tolerations=[{"key": "y"}])
    config["metadata"]["labels"] = {"new": "1"}
    merged = typed.merge(live, config, POD)
    assert merged["spec"]["containers"] == [{"name": "c", "image": "b",
                                             "imagePullPolicy": "Always"}]
    assert merged["spec"]["nodeSelector"] == {"c": "3"}
    assert merged["spec"]["tolerations"] == [{"key": "y"}]
    assert merged["metadata"]["labels"] == {"keep": "1", "new": "1"}
    assert live["spec"]["nodeSelector"] == {"a": "1", "b": "2"}  # inputs untouched


def test_merge_sets_and_nulls() -> None:
    live = {"metadata": {"finalizers": ["a", "b"]}, "data": {"x": "1", "y": "2"}}
    config = {"metadata": {"finalizers": ["c", "a"]}, "data": {"x": None}}
    merged = typed.merge(live, config, CONFIGMAP)
    assert merged["metadata"]["finalizers"] == ["c", "a", "b"]
    assert merged["data"] == {"y": "2"}


# --- compare and remove -----------------------------------------------------------------------

def test_compare() -> None:
    old = pod_spec(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
                   restartPolicy="Always")
    new = pod_spec(containers=[{"name": "a", "image": "2"}, {"name": "c", "image": "1"}],
                   dnsPolicy="None")
    c = typed.compare(old, new, POD)
    a, b, cc = ('k:{"name":"a"}', 'k:{"name":"b"}', 'k:{"name":"c"}')
    containers = ("f:spec", "f:containers")
    assert c.modified == FieldSet.of((*containers, a, "f:image"))
    assert c.added == FieldSet.of((*containers, cc), (*containers, cc, "f:name"),
                                  (*containers, cc, "f:image"), ("f:spec", "f:dnsPolicy"))
    assert c.removed == FieldSet.of((*containers, b), (*containers, b, "f:name"),
                                    (*containers, b, "f:image"), ("f:spec", "f:restartPolicy"))
    assert typed.compare(old, old, POD).empty()
    assert c.exclude(FieldSet.of(("f:spec",))).empty()


def test_remove_items() -> None:
    obj = pod_spec(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "2"}],
                   nodeSelector={"x": "y"})
    obj["metadata"]["labels"] = {"only": "1"}
    gone = FieldSet.of(("f:spec", "f:containers", 'k:{"name":"a"}'),
                       ("f:metadata", "f:labels", "f:only"), ("f:spec", "f:nodeSelector"))
    out = typed.remove_items(obj, gone, POD)
    assert out["spec"] == {"containers": [{"name": "b", "image": "2"}]}
    assert out["metadata"] == {"name": "p"}  # the emptied labels map is gone too
    assert obj["spec"]["nodeSelector"] == {"x": "y"}
