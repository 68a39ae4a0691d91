"""Schemas of the built-in kinds, from the `kubernetes-validate` package.

That package ships upstream's OpenAPI definitions converted to JSON Schema
(`$defs`, nullable types as `["string", "null"]`), with the `x-kubernetes-*`
extensions kept: patch strategies and merge keys, list types and map keys,
group-version-kind. This module owns loading them (once, lazily) and walking
them; it does not interpret them (patch, validation and OpenAPI do).

Contract: schemas returned here are shared and must be treated as read-only.
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Any

import orjson

KUBERNETES_SCHEMA_VERSION = "v1.32.0"
_REF_PREFIX = "#/$defs/"

Schema = dict[str, Any]


@functools.cache
def definitions() -> dict[str, Schema]:
    """All definitions by upstream name, e.g. `io.k8s.api.core.v1.Pod`."""
    root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    path = root / f"{KUBERNETES_SCHEMA_VERSION}-local" / "_definitions.json"
    return orjson.loads(path.read_bytes())["$defs"]


@functools.cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            key = (gvk.get("group", ""), gvk["version"], gvk["kind"])
            # Several definitions can claim a GVK (e.g. DeleteOptions in every
            # group); the one whose name matches the group wins, else the first.
            if key not in out or name.endswith(f".{gvk['version']}.{gvk['kind']}"):
                out.setdefault(key, name)
    return out


def definition_name(group: str, version: str, kind: str) -> str | None:
    """The definition name for a group/version/kind, or None if unknown."""
    return _by_gvk().get((group, version, kind))


def for_kind(group: str, version: str, kind: str) -> Schema | None:
    name = definition_name(group, version, kind)
    return definitions()[name] if name else None


def resolve(schema: Schema | None) -> Schema | None:
    """Follow `$ref` (possibly chained) to the referenced definition."""
    seen = 0
    while schema is not None and "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith(_REF_PREFIX) or seen > 16:
            return None
        schema = definitions().get(ref[len(_REF_PREFIX):])
        seen += 1
    return schema


def ref_name(schema: Schema) -> str | None:
    """The definition name a `$ref` schema points at, or None."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX):]
    return None


def types_of(schema: Schema | None) -> set[str]:
    """The JSON types a schema admits, without "null"."""
    schema = resolve(schema)
    if not schema:
        return set()
    t = schema.get("type")
    if t is None:
        if "oneOf" in schema:
            out: set[str] = set()
            for alt in schema["oneOf"]:
                out |= types_of(alt)
            return out
        if "properties" in schema:
            return {"object"}
        return set()
    if isinstance(t, str):
        return {t} - {"null"}
    return set(t) - {"null"}


def field(schema: Schema | None, name: str) -> Schema | None:
    """The (resolved) schema of property `name` of an object schema."""
    schema = resolve(schema)
    if not schema:
        return None
    props = schema.get("properties")
    if props and name in props:
        return props[name]
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    return None


def items(schema: Schema | None) -> Schema | None:
    """The schema of the elements of an array schema."""
    schema = resolve(schema)
    if not schema:
        return None
    it = schema.get("items")
    return it if isinstance(it, dict) else None


def is_open_object(schema: Schema | None) -> bool:
    """True when any field name is accepted (maps, free-form JSON, unknown)."""
    schema = resolve(schema)
    if not schema:
        return True
    if "properties" not in schema:
        return True
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))
