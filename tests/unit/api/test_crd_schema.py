"""api.crd_schema: pruning, defaulting, value validation, CEL rules, structural checks.

Expected messages are apiextensions-apiserver's (kube-openapi's wording wrapped in
field errors), so that a 422 for a custom resource reads as upstream's.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api import crd_schema

Obj = dict[str, Any]

SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["image"],
            "x-kubernetes-validations": [
                {"rule": "self.replicas <= self.maxReplicas",
                 "message": "replicas must not exceed maxReplicas"},
            ],
            "properties": {
                "image": {"type": "string", "minLength": 1, "maxLength": 20},
                "replicas": {"type": "integer", "minimum": 0, "default": 1},
                "maxReplicas": {"type": "integer", "maximum": 100, "default": 10},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                "mode": {"type": "string", "enum": ["A", "B"]},
                "name": {"type": "string", "pattern": "^[a-z]+$"},
                "when": {"type": "string", "format": "date-time"},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"},
                         "x-kubernetes-list-type": "set"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object", "properties": {
                                 "x": {"type": "integer"}}}}},
                "nested": {"type": "object", "default": {}, "properties": {
                    "level": {"type": "string", "default": "info"}}},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def obj(**spec: Any) -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Thing",
            "metadata": {"name": "t", "namespace": "ns"},
            "spec": {"image": "nginx", **spec}}


# --- pruning ------------------------------------------------------------------------------


def test_prune_drops_unknown_fields_and_reports_their_paths() -> None:
    o = obj(bogus=1, tags=["a"], labels={"k": "v"}, extra={"free": {"form": 1}},
            template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1},
                      "spec": {"x": 1, "y": 2}})
    o["metadata"]["unknownMeta"] = "x"
    o["top"] = 1
    pruned = crd_schema.prune(o, SCHEMA, kind="Thing", version="v1")
    assert pruned == ["spec.bogus", "spec.template.spec.y", "spec.template.metadata.junk",
                      "top", "metadata.unknownMeta"]
    assert o["spec"]["extra"] == {"free": {"form": 1}}
    assert o["spec"]["labels"] == {"k": "v"}
    assert o["spec"]["template"] == {"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": "p"}, "spec": {"x": 1}}
    assert "top" not in o and "unknownMeta" not in o["metadata"]


def test_prune_drops_nulls_of_non_nullable_fields_silently() -> None:
    o = obj(replicas=None, note=None)
    assert crd_schema.prune(o, SCHEMA) == []
    assert "replicas" in o["spec"] and o["spec"]["note"] is None  # replicas has a default
    o = obj(mode=None)
    crd_schema.prune(o, SCHEMA)
    assert "mode" not in o["spec"]


def test_prune_items_of_lists() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "ports": {"type": "array", "items": {"type": "object", "properties": {
            "port": {"type": "integer"}}}}}}}}
    o = {"spec": {"ports": [{"port": 1, "x": 2}, {"port": 3}]}}
    assert crd_schema.prune(o, schema) == ["spec.ports[0].x"]


def test_preserve_unknown_fields_at_the_root_keeps_everything() -> None:
    o = obj(anything={"goes": True})
    assert crd_schema.prune(o, {"type": "object",
                                "x-kubernetes-preserve-unknown-fields": True}) == []
    assert o["spec"]["anything"] == {"goes": True}


# --- defaulting ---------------------------------------------------------------------------


def test_defaults_apply_top_down() -> None:
    o = obj()
    crd_schema.default(o, SCHEMA)
    assert o["spec"]["replicas"] == 1 and o["spec"]["maxReplicas"] == 10
    assert o["spec"]["nested"] == {"level": "info"}  # a defaulted object is defaulted inside


def test_defaults_keep_given_values_and_are_copies() -> None:
    o = obj(replicas=3)
    crd_schema.default(o, SCHEMA)
    assert o["spec"]["replicas"] == 3
    o2 = obj()
    crd_schema.default(o2, SCHEMA)
    o2["spec"]["nested"]["level"] = "debug"
    o3 = obj()
    crd_schema.default(o3, SCHEMA)
    assert o3["spec"]["nested"]["level"] == "info"


def test_defaults_in_list_items_and_maps() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "weight": {"type": "integer", "default": 1}}}},
        "byName": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "on": {"type": "boolean", "default": True}}}}}}}}
    o = {"spec": {"items": [{}, {"weight": 5}], "byName": {"a": {}}}}
    crd_schema.default(o, schema)
    assert o["spec"] == {"items": [{"weight": 1}, {"weight": 5}], "byName": {"a": {"on": True}}}


# --- value validation -------------------------------------------------------------------------


def messages(o: Obj, schema: Obj = SCHEMA) -> list[str]:
    return [f"{c.field}: {c.message}" for c in crd_schema.validate(o, schema)]


@pytest.mark.parametrize(("spec", "want"), [
    ({"replicas": "x"}, 'spec.replicas: Invalid value: "string": spec.replicas in body must be '
                        'of type integer: "string"'),
    ({"replicas": 1.5}, 'spec.replicas: Invalid value: "number": spec.replicas in body must be '
                        'of type integer: "number"'),
    ({"replicas": -1}, "spec.replicas: Invalid value: -1: spec.replicas in body should be "
                       "greater than or equal to 0"),
    ({"maxReplicas": 101}, "spec.maxReplicas: Invalid value: 101: spec.maxReplicas in body "
                           "should be less than or equal to 100"),
    ({"ratio": 0}, "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"),
    ({"mode": "C"}, 'spec.mode: Unsupported value: "C": supported values: "A", "B"'),
    ({"name": "Abc"}, 'spec.name: Invalid value: "Abc": spec.name in body should match '
                      "'^[a-z]+$'"),
    ({"image": ""}, 'spec.image: Invalid value: "": spec.image in body should be at least 1 '
                    "chars long"),
    ({"image": "x" * 21}, "spec.image: Too long: may not be more than 20 bytes"),
    ({"when": "yesterday"}, 'spec.when: Invalid value: "yesterday": spec.when in body must be '
                            'of type date-time: "yesterday"'),
    ({"port": True}, 'spec.port: Invalid value: "boolean": spec.port in body must be of type '
                     'integer,string: "boolean"'),
    ({"tags": ["a", "b", "c"]}, "spec.tags: Too many: 3: must have at most 2 items"),
    ({"tags": ["a", "a"]}, 'spec.tags[1]: Duplicate value: "a"'),
    ({"labels": {"k": 1}}, 'spec.labels.k: Invalid value: "integer": spec.labels.k in body '
                           'must be of type string: "integer"'),
    ({"mode": None}, 'spec.mode: Invalid value: "null": spec.mode in body must be of type '
                     'string: "null"'),
    ({"template": {"metadata": {}}}, "spec.template.apiVersion: Required value: must not be "
                                     "empty"),
], ids=["type", "float-for-int", "minimum", "maximum", "exclusive-minimum", "enum", "pattern",
        "min-length", "max-length", "format", "int-or-string", "max-items", "set", "map-values",
        "null", "embedded"])
def test_validation_errors(spec: Obj, want: str) -> None:
    assert want in messages(obj(**spec))


def test_valid_objects_have_no_errors() -> None:
    o = obj(replicas=2, ratio=0.5, mode="A", name="abc", when="2024-01-02T03:04:05Z", port=80,
            note=None, tags=["a", "b"], labels={"k": "v"}, extra={"x": [1]},
            template={"apiVersion": "v1", "kind": "Pod", "spec": {"x": 1}})
    assert messages(o) == []
    assert messages(obj(port="http", maxReplicas=2.0)) == []


def test_required_fields() -> None:
    o = obj()
    del o["spec"]["image"]
    assert messages(o) == ["spec.image: Required value"]


@pytest.mark.parametrize(("fmt", "good", "bad"), [
    ("date", "2024-02-29", "2024-13-01"),
    ("ipv4", "10.0.0.1", "10.0.0.256"),
    ("ipv6", "::1", "10.0.0.1"),
    ("cidr", "10.0.0.0/8", "10.0.0.0"),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123"),
    ("hostname", "a.example.com", "-bad-"),
    ("email", "a@b.c", "nope"),
    ("byte", "aGVsbG8=", "%%%"),
    ("mac", "01:23:45:67:89:ab", "01:23"),
])
def test_string_formats(fmt: str, good: str, bad: str) -> None:
    assert crd_schema.format_ok(fmt, good)
    assert not crd_schema.format_ok(fmt, bad)


def test_junctors() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "v": {"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 0}]},
        "w": {"type": "string", "not": {"enum": ["forbidden"]}}}}}}
    assert messages({"spec": {"v": 20, "w": "ok"}}, schema) == []
    assert messages({"spec": {"v": 5}}, schema) == [
        "spec.v: Invalid value: 5: spec.v in body must validate at least one schema (anyOf)"]
    assert messages({"spec": {"w": "forbidden"}}, schema) == [
        'spec.w: Invalid value: "forbidden": spec.w in body must not validate the schema (not)']


# --- CEL rules ------------------------------------------------------------------------------


def rules(o: Obj, old: Obj | None = None, schema: Obj = SCHEMA) -> list[str]:
    return [f"{c.type}|{c.field}|{c.message}"
            for c in crd_schema.validate_rules(o, old, schema)]


def test_rule_failure_uses_the_message() -> None:
    assert rules(obj(replicas=5, maxReplicas=3)) == [
        'FieldValueInvalid|spec|Invalid value: "object": replicas must not exceed maxReplicas']
    assert rules(obj(replicas=1, maxReplicas=3)) == []


def with_rules(node_rules: list[Obj], value_type: str = "object", **props: Obj) -> Obj:
    return {"type": "object", "x-kubernetes-validations": [], "properties": {
        "spec": {"type": value_type, "x-kubernetes-validations": node_rules,
                 "properties": props}}}


def test_root_rules_print_a_nil_path_and_see_metadata() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('x-')"}],
        "properties": {"spec": {"type": "object"}}}
    assert rules(obj(), schema=schema) == [
        "FieldValueInvalid|<nil>|Invalid value: \"object\": failed rule: "
        "self.metadata.name.startsWith('x-')"]


@pytest.mark.parametrize(("rule", "want"), [
    ({"rule": "self.a > 1"}, 'FieldValueInvalid|spec|Invalid value: "object": failed rule: '
                             "self.a > 1"),
    ({"rule": "self.a > 1", "messageExpression": "'a is ' + string(self.a)"},
     'FieldValueInvalid|spec|Invalid value: "object": a is 1'),
    ({"rule": "self.a > 1", "message": "too small", "messageExpression": "self.nope"},
     'FieldValueInvalid|spec|Invalid value: "object": too small'),
    ({"rule": "self.a > 1", "message": "too small", "fieldPath": ".a"},
     'FieldValueInvalid|spec.a|Invalid value: "object": too small'),
    ({"rule": "self.a > 1", "message": "no", "reason": "FieldValueForbidden"},
     "FieldValueForbidden|spec|Forbidden: no"),
    ({"rule": "self.a > 1", "message": "need", "reason": "FieldValueRequired"},
     "FieldValueRequired|spec|Required value: need"),
    ({"rule": "self.b > 1"}, 'FieldValueInvalid|spec|Invalid value: "object": no such key: b '
                             "evaluating rule: self.b > 1"),
], ids=["default-message", "message-expression", "bad-message-expression", "field-path",
        "forbidden", "required", "eval-error"])
def test_rule_error_shapes(rule: Obj, want: str) -> None:
    schema = with_rules([rule], a={"type": "integer"})
    assert rules({"spec": {"a": 1}}, schema=schema) == [want]


def test_transition_rules_need_an_old_value() -> None:
    schema = with_rules([{"rule": "self.a >= oldSelf.a", "message": "a may not decrease"}],
                        a={"type": "integer"})
    assert rules({"spec": {"a": 1}}, schema=schema) == []
    assert rules({"spec": {"a": 1}}, {"spec": {"a": 2}}, schema=schema) == [
        'FieldValueInvalid|spec|Invalid value: "object": a may not decrease']
    assert rules({"spec": {"a": 3}}, {"spec": {"a": 2}}, schema=schema) == []


def test_transition_rules_correlate_map_list_items_by_key() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "x-kubernetes-validations": [
                      {"rule": "self.port == oldSelf.port", "message": "port is immutable"}],
                      "properties": {"name": {"type": "string"},
                                     "port": {"type": "integer"}}}}}}}}
    old = {"spec": {"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}}
    new = {"spec": {"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 9},
                              {"name": "c", "port": 3}]}}
    assert rules(new, old, schema=schema) == [
        'FieldValueInvalid|spec.ports[1]|Invalid value: "object": port is immutable']


def test_rules_on_scalars_and_map_values() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "name": {"type": "string", "x-kubernetes-validations": [
            {"rule": "self.lowerAscii() == self", "message": "must be lower case"}]},
        "limits": {"type": "object", "additionalProperties": {
            "type": "integer", "x-kubernetes-validations": [{"rule": "self < 10"}]}}}}}}
    assert rules({"spec": {"name": "Abc", "limits": {"cpu": 20, "mem": 1}}},
                 schema=schema) == [
        'FieldValueInvalid|spec.name|Invalid value: "string": must be lower case',
        'FieldValueInvalid|spec.limits[cpu]|Invalid value: "integer": failed rule: self < 10']


def test_number_fields_are_doubles_in_rules() -> None:
    schema = with_rules([{"rule": "self.r < 1.5"}], r={"type": "number"})
    assert rules({"spec": {"r": 1}}, schema=schema) == []


def test_validation_does_not_change_the_object() -> None:
    o = obj(replicas=5, maxReplicas=3)
    before = copy.deepcopy(o)
    crd_schema.validate(o, SCHEMA)
    crd_schema.validate_rules(o, None, SCHEMA)
    assert o == before


# --- structural schemas ---------------------------------------------------------------------


P = "spec.versions[0].schema.openAPIV3Schema"


@pytest.mark.parametrize(("schema", "want"), [
    ({"properties": {"spec": {"type": "object"}}},
     f"{P}.type: Required value: must not be empty at the root"),
    ({"type": "string"}, f'{P}.type: Invalid value: "string": must be object at the root'),
    ({"type": "object", "properties": {"spec": {"properties": {}}}},
     f"{P}.properties[spec].type: Required value: must not be empty for specified object "
     "fields"),
    ({"type": "object", "properties": {"l": {"type": "array"}}},
     f"{P}.properties[l].items: Required value: must be specified"),
    ({"type": "object", "properties": {"l": {"type": "array", "items": {}}}},
     f"{P}.properties[l].items.type: Required value: must not be empty for specified array "
     "items"),
    ({"type": "object", "properties": {"m": {"type": "object", "properties": {
        "a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}},
     f"{P}.properties[m].additionalProperties: Forbidden: additionalProperties and properties "
     "are mutual exclusive"),
    ({"type": "object", "properties": {"metadata": {"type": "object", "properties": {
        "labels": {"type": "object"}}}}},
     f"{P}.properties[metadata]: Forbidden: must not specify anything other than name and "
     "generateName, but metadata is implicitly specified"),
    ({"type": "object", "properties": {"e": {"type": "object",
                                             "x-kubernetes-embedded-resource": True}}},
     f"{P}.properties[e].properties: Required value: must not be empty if "
     "x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"),
    ({"type": "object", "properties": {"u": {"type": "array", "uniqueItems": True,
                                             "items": {"type": "string"}}}},
     f"{P}.properties[u].uniqueItems: Forbidden: uniqueItems cannot be set to true since the "
     "runtime complexity becomes quadratic"),
    ({"type": "object", "properties": {"a": {"type": "string", "anyOf": [
        {"type": "string"}]}}},
     f"{P}.properties[a].anyOf[0].type: Forbidden: must be empty to be structural"),
    ({"type": "object", "x-kubernetes-validations": [{"rule": "self.a >"}]},
     f"{P}.x-kubernetes-validations[0].rule: Invalid value: \"self.a >\": compilation failed: "
     "ERROR: <input>"),
    ({"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string"},
                                             "x-kubernetes-list-type": "map"}}},
     f"{P}.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if "
     "x-kubernetes-list-type is map"),
], ids=["no-root-type", "root-not-object", "no-field-type", "array-without-items",
        "no-item-type", "properties-and-additional", "metadata", "embedded-empty", "unique-items",
        "nested-type", "cel-compile", "map-list-keys"])
def test_structural_errors(schema: Obj, want: str) -> None:
    got = [f"{c.field}: {c.message}" for c in crd_schema.structural_errors(schema, P)]
    assert any(g.startswith(want) for g in got), got


def test_structural_schema_passes() -> None:
    assert crd_schema.structural_errors(SCHEMA, P) == []
    int_or_string = {"type": "object", "properties": {"p": {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}]}}}
    assert crd_schema.structural_errors(int_or_string, P) == []
