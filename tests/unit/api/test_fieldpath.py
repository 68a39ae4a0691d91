"""Field sets in the FieldsV1 format: parsing, writing, algebra, printing."""

from __future__ import annotations

import pytest

from kybernetes.api import fieldpath as fp
from kybernetes.api.fieldpath import FieldPathError, FieldSet


def s(*paths: str) -> FieldSet:
    """A set from dotted paths whose elements are separated by `|`."""
    return FieldSet.of(*(tuple(p.split("|")) for p in paths))


# --- FieldsV1 ----------------------------------------------------------------------------

DEPLOYMENT_FIELDS = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {"f:spec": {"f:containers": {
            'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}},
        }}},
    },
}


def test_fields_v1_round_trip() -> None:
    parsed = FieldSet.from_fields_v1(DEPLOYMENT_FIELDS)
    assert parsed.has(("f:metadata", "f:labels"))
    assert parsed.has(("f:metadata", "f:labels", "f:app"))
    assert not parsed.has(("f:metadata",))
    assert parsed.has(("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"c"}'))
    assert parsed.to_fields_v1() == DEPLOYMENT_FIELDS
    assert len(parsed) == 6


def test_fields_v1_written_in_upstream_order() -> None:
    parsed = FieldSet.from_fields_v1({
        "i:1": {}, 'v:"b"': {}, "f:z": {}, 'k:{"a":1}': {}, 'v:"a"': {}, "f:a": {".": {},
                                                                            "f:x": {}},
        "v:2": {}, "v:true": {}})
    assert list(parsed.to_fields_v1()) == [
        "f:a", "f:z", 'k:{"a":1}', "v:2", 'v:"a"', 'v:"b"', "v:true", "i:1"]
    assert list(parsed.to_fields_v1()["f:a"]) == [".", "f:x"]


def test_key_elements_are_canonical() -> None:
    parsed = FieldSet.from_fields_v1({'k:{"protocol":"TCP", "containerPort":80}': {}})
    assert parsed.members == {'k:{"containerPort":80,"protocol":"TCP"}'}


@pytest.mark.parametrize("doc", [
    [], "x", {"f:a": []}, {"x:a": {}}, {"k:[1]": {}}, {"k:{}": {}}, {"v:{bad": {}},
    {"i:one": {}}, {"nope": {}},
], ids=["list", "string", "child-not-object", "unknown-prefix", "key-not-object",
        "key-empty", "bad-json", "bad-index", "no-prefix"])
def test_garbage_fields_v1_is_rejected(doc: object) -> None:
    with pytest.raises(FieldPathError):
        FieldSet.from_fields_v1(doc)


# --- algebra -----------------------------------------------------------------------------

@pytest.mark.parametrize(("op", "a", "b", "want"), [
    ("union", ["f:a", "f:b|f:c"], ["f:b|f:d"], ["f:a", "f:b|f:c", "f:b|f:d"]),
    ("intersection", ["f:a", "f:b|f:c", "f:b|f:d"], ["f:b|f:c", "f:e"], ["f:b|f:c"]),
    ("intersection", ["f:a|f:b"], ["f:a"], []),
    ("difference", ["f:a", "f:b|f:c"], ["f:a"], ["f:b|f:c"]),
    # parent - child = parent; child - parent = child (members only)
    ("difference", ["f:a", "f:a|f:b"], ["f:a|f:b"], ["f:a"]),
    ("difference", ["f:a|f:b"], ["f:a"], ["f:a|f:b"]),
    # recursive: a member takes its subtree
    ("recursive_difference", ["f:a|f:b", "f:c"], ["f:a"], ["f:c"]),
    ("recursive_difference", ["f:a|f:b|f:c", "f:a|f:d"], ["f:a|f:b"], ["f:a|f:d"]),
], ids=["union", "intersection", "intersection-levels", "difference",
        "difference-parent-minus-child", "difference-child-minus-parent",
        "recursive-difference", "recursive-difference-deep"])
def test_set_algebra(op: str, a: list[str], b: list[str], want: list[str]) -> None:
    got = getattr(s(*a), op)(s(*b))
    assert got == s(*want)
    assert got.empty() == (not want)


def test_operations_do_not_mutate_operands() -> None:
    a, b = s("f:a|f:b", "f:c"), s("f:a|f:b")
    a.difference(b)
    a.union(s("f:z"))
    a.recursive_difference(s("f:a"))
    assert a == s("f:a|f:b", "f:c")


# --- printing ----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "want"), [
    (("f:spec", "f:replicas"), ".spec.replicas"),
    (("f:spec", "f:containers", fp.key({"name": "c"}), "f:image"),
     '.spec.containers[name="c"].image'),
    (("f:ports", fp.key({"protocol": "TCP", "containerPort": 80})),
     '.ports[containerPort=80,protocol="TCP"]'),
    (("f:metadata", "f:finalizers", fp.value("a/b")), '.metadata.finalizers[="a/b"]'),
    (("f:args", fp.index(2)), ".args[2]"),
])
def test_path_strings(path: tuple[str, ...], want: str) -> None:
    assert fp.path_string(path) == want


def test_go_json_escapes_like_encoding_json() -> None:
    assert fp.go_json({"b": 1.0, "a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e","b":1}'
