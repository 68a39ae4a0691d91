"""Structural schemas of custom resources: pruning, defaulting, validation, CEL rules.

Pure functions over a CRD version's `openAPIV3Schema` (a JSONSchemaProps as
plain JSON) and an object dict, after k8s.io/apiextensions-apiserver:

    prune(obj, schema)             -> ["spec.bogus", ...]   pruning/algorithm.go
    default(obj, schema)                                    defaulting/algorithm.go
    validate(obj, schema)          -> [Cause]               kube-openapi validate
    validate_rules(obj, old, schema) -> [Cause]             schema/cel/validation.go
    structural_errors(schema, path) -> [Cause]              schema/validation.go

Paths are printed as upstream prints them: `spec.replicas`, `spec.items[0].name`,
the root of the object as `<nil>` (a nil field.Path) for CEL rules on it.
Value-validation messages are kube-openapi's, wrapped in the field error the
apiextensions apiserver builds from them (`kubeOpenAPIResultToFieldErrors`):

    spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"
    spec.size: Unsupported value: "XL": supported values: "S", "M"
    spec.name: Invalid value: "x": spec.name in body should be at least 3 chars long
    spec: Invalid value: "object": replicas must not exceed maxReplicas   (a CEL rule)

Schemas are treated as read-only; objects are changed in place only by
`prune` and `default`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from kybernetes.api import cel
from kybernetes.api import schema as api_schema
from kybernetes.api.errors import Cause
from kybernetes.api.fieldcheck import check_and_prune
from kybernetes.api.validation import (
    duplicate,
    forbidden,
    go_value,
    invalid,
    not_supported,
    required,
    too_long,
)

Obj = dict[str, Any]
Schema = dict[str, Any]

_META_FIELDS = ("apiVersion", "kind", "metadata")
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_EMBEDDED = "x-kubernetes-embedded-resource"
_INT_OR_STRING = "x-kubernetes-int-or-string"
_RULES = "x-kubernetes-validations"


def _child(path: str | None, name: str) -> str:
    return f"{path}.{name}" if path else name


def _index(path: str | None, i: int) -> str:
    return f"{path or ''}[{i}]"


def _key(path: str | None, key: str) -> str:
    return f"{path or ''}[{key}]"


def _props(s: Schema | None) -> Obj:
    props = (s or {}).get("properties")
    return props if isinstance(props, dict) else {}


def _additional(s: Schema | None) -> Schema | bool | None:
    """additionalProperties: a schema, True (anything), or None (not given / false)."""
    ap = (s or {}).get("additionalProperties")
    if isinstance(ap, dict):
        return ap
    return True if ap is True else None


def _items(s: Schema | None) -> Schema | None:
    it = (s or {}).get("items")
    return it if isinstance(it, dict) else None


def _flag(s: Schema | None, name: str) -> bool:
    return bool((s or {}).get(name) is True)


# --- pruning ------------------------------------------------------------------------


def prune(obj: Obj, schema: Schema | None, *, kind: str = "", version: str = "") -> list[str]:
    """Drop fields the schema does not specify (unless preserved); returns their paths.

    The root, and every `x-kubernetes-embedded-resource`, keeps apiVersion, kind and
    metadata; metadata is pruned to ObjectMeta's fields. Nulls in non-nullable fields
    without a default are dropped silently (`PruneNonNullableNullsWithoutDefaults`)."""
    pruned: list[str] = []
    root = dict(schema or {})
    root[_EMBEDDED] = True
    _prune(obj, root, None, pruned)
    pruned.extend(_prune_meta(obj, None, kind, version))
    return pruned


def _prune(x: Any, s: Schema | None, path: str | None, out: list[str]) -> None:
    if s is not None and _flag(s, _PRESERVE):
        _skip_prune(x, s, path, out)
        return
    if isinstance(x, dict):
        if s is None:
            for k in list(x):
                out.append(_child(path, k))
                del x[k]
            return
        props, extra, embedded = _props(s), _additional(s), _flag(s, _EMBEDDED)
        for k in list(x):
            if embedded and k in _META_FIELDS:
                continue
            v = x[k]
            if k in props:
                if v is None and _drop_null(props[k]):
                    del x[k]
                    continue
                _prune(v, props[k], _child(path, k), out)
            elif isinstance(extra, dict):
                _prune(v, extra, _child(path, k), out)
            elif extra is None:
                out.append(_child(path, k))
                del x[k]
        if embedded and path is not None:
            out.extend(_prune_meta(x, path))
    elif isinstance(x, list):
        items = _items(s) if s is not None else None
        for i, v in enumerate(x):
            _prune(v, items, _index(path, i), out)


def _skip_prune(x: Any, s: Schema, path: str | None, out: list[str]) -> None:
    if isinstance(x, dict):
        props, extra, embedded = _props(s), _additional(s), _flag(s, _EMBEDDED)
        for k, v in x.items():
            if embedded and k in _META_FIELDS:
                continue
            if k in props:
                _prune(v, props[k], _child(path, k), out)
            elif isinstance(extra, dict):
                _prune(v, extra, _child(path, k), out)
        if embedded and path is not None:
            out.extend(_prune_meta(x, path))
    elif isinstance(x, list):
        items = _items(s)
        if items is not None:
            for i, v in enumerate(x):
                _skip_prune(v, items, _index(path, i), out)


def _drop_null(s: Schema) -> bool:
    return not _flag(s, "nullable") and "default" not in s


def _prune_meta(x: Obj, path: str | None, kind: str = "", version: str = "") -> list[str]:
    """Unknown ObjectMeta fields of an (embedded) resource, removed in place."""
    meta = x.get("metadata")
    if not isinstance(meta, dict):
        return []
    report = check_and_prune({"metadata": meta}, api_schema.for_kind("", "v1", "ConfigMap"),
                             kind=kind, version=version)
    prefix = f"{path}." if path else ""
    return [prefix + p for p in report.unknown]


def metadata_type_error(obj: Obj, *, kind: str, version: str) -> str | None:
    """The 400 message for a wrongly typed ObjectMeta field, as decoding would fail."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return None
    report = check_and_prune({"metadata": dict(meta)},
                             api_schema.for_kind("", "v1", "ConfigMap"), kind=kind,
                             version=version)
    return report.type_errors[0] if report.type_errors else None


# --- defaulting -----------------------------------------------------------------------


def default(obj: Any, schema: Schema | None) -> None:
    """Apply `default`s top-down: a missing (or non-nullable null) field with a default
    gets a copy of it, and defaults inside it apply in turn."""
    if schema is None:
        return
    if isinstance(obj, dict):
        props = _props(schema)
        for k, prop in props.items():
            if "default" not in prop or not isinstance(prop, dict):
                continue
            if k not in obj or (obj[k] is None and not _flag(prop, "nullable")):
                obj[k] = copy.deepcopy(prop["default"])
        extra = _additional(schema)
        for k, v in obj.items():
            if k in props:
                default(v, props[k])
            elif isinstance(extra, dict):
                default(v, extra)
    elif isinstance(obj, list):
        items = _items(schema)
        if items is None:
            return
        for i, v in enumerate(obj):
            if v is None and "default" in items and not _flag(items, "nullable"):
                obj[i] = v = copy.deepcopy(items["default"])
            default(v, items)


# --- value validation (kube-openapi) ----------------------------------------------------


def validate(obj: Obj, schema: Schema | None) -> list[Cause]:
    """Field errors of `obj` against the schema (object metadata is not checked here)."""
    if schema is None:
        return []
    out: list[Cause] = []
    root = dict(schema)
    root[_EMBEDDED] = True
    _validate(obj, root, "", out)
    return out


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _type_ok(v: Any, want: str) -> bool:
    got = _json_type(v)
    if got == want:
        return True
    if want == "number" and got == "integer":
        return True
    return want == "integer" and got == "number" and float(v).is_integer()


def _num(v: Any) -> str:
    """A number as Go's %v prints a float64 limit."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def _fail(out: list[Cause], path: str, value: Any, message: str) -> None:
    out.append(invalid(path, value, f"{path} in body {message}"))


def _validate(v: Any, s: Schema, path: str, out: list[Cause]) -> None:
    where = path or "body"
    if v is None:
        if _flag(s, "nullable") or (not s.get("type") and not _flag(s, _INT_OR_STRING)):
            return
    if _flag(s, _INT_OR_STRING):
        if _json_type(v) not in ("integer", "string"):
            out.append(Cause("FieldValueTypeInvalid",
                             f"Invalid value: {go_value(_json_type(v))}: {where} in body must be "
                             f'of type integer,string: "{_json_type(v)}"', path))
            return
    else:
        want = s.get("type") or ""
        if want and not _type_ok(v, want):
            got = _json_type(v)
            out.append(Cause("FieldValueTypeInvalid",
                             f"Invalid value: {go_value(got)}: {where} in body must be of type "
                             f'{want}: "{got}"', path))
            return
    if "enum" in s and isinstance(s["enum"], list) and v not in s["enum"]:
        allowed = [x if isinstance(x, str) else json.dumps(x) for x in s["enum"]]
        out.append(not_supported(path, v, allowed))
    if isinstance(v, str):
        _validate_string(v, s, path, out)
    elif isinstance(v, int | float) and not isinstance(v, bool):
        _validate_number(v, s, path, out)
    elif isinstance(v, list):
        _validate_array(v, s, path, out)
    elif isinstance(v, dict):
        _validate_object(v, s, path, out)
    _validate_junctors(v, s, path, out)


def _validate_string(v: str, s: Schema, path: str, out: list[Cause]) -> None:
    max_len = s.get("maxLength")
    if isinstance(max_len, int) and len(v) > max_len:
        out.append(too_long(path, max_len))
    min_len = s.get("minLength")
    if isinstance(min_len, int) and len(v) < min_len:
        _fail(out, path, v, f"should be at least {min_len} chars long")
    pattern = s.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, v) is not None
        except re.error:
            matched = True
        if not matched:
            _fail(out, path, v, f"should match '{pattern}'")
    fmt = s.get("format")
    if isinstance(fmt, str) and not format_ok(fmt, v):
        out.append(Cause("FieldValueTypeInvalid", f"Invalid value: {go_value(v)}: {path} in body "
                         f"must be of type {fmt}: {go_value(v)}", path))


def _validate_number(v: int | float, s: Schema, path: str, out: list[Cause]) -> None:
    hi, lo = s.get("maximum"), s.get("minimum")
    if isinstance(hi, int | float):
        if s.get("exclusiveMaximum") and v >= hi:
            _fail(out, path, v, f"should be less than {_num(hi)}")
        elif v > hi:
            _fail(out, path, v, f"should be less than or equal to {_num(hi)}")
    if isinstance(lo, int | float):
        if s.get("exclusiveMinimum") and v <= lo:
            _fail(out, path, v, f"should be greater than {_num(lo)}")
        elif v < lo:
            _fail(out, path, v, f"should be greater than or equal to {_num(lo)}")
    mult = s.get("multipleOf")
    if isinstance(mult, int | float) and mult > 0 and not float(v / mult).is_integer():
        _fail(out, path, v, f"should be a multiple of {_num(mult)}")
    if s.get("type") == "integer" and s.get("format") == "int32" and not (
            -(2**31) <= v < 2**31):
        out.append(Cause("FieldValueTypeInvalid", f"Invalid value: {go_value(v)}: {path} in "
                         f"body must be of type int32: {go_value(str(v))}", path))


def _validate_array(v: list[Any], s: Schema, path: str, out: list[Cause]) -> None:
    max_items = s.get("maxItems")
    if isinstance(max_items, int) and len(v) > max_items:
        out.append(Cause("FieldValueTooMany",
                         f"Too many: {len(v)}: must have at most {max_items} items", path))
    min_items = s.get("minItems")
    if isinstance(min_items, int) and len(v) < min_items:
        _fail(out, path, v, f"should have at least {min_items} items")
    if s.get("uniqueItems") and len({json.dumps(x, sort_keys=True) for x in v}) != len(v):
        _fail(out, path, v, "shouldn't contain duplicates")
    _validate_list_type(v, s, path, out)
    items = _items(s)
    if items is not None:
        for i, item in enumerate(v):
            _validate(item, items, _index(path, i), out)


def _validate_list_type(v: list[Any], s: Schema, path: str, out: list[Cause]) -> None:
    list_type = s.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: set[str] = set()
        for i, item in enumerate(v):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                out.append(duplicate(_index(path, i), item))
            seen.add(key)
    elif list_type == "map":
        keys = s.get("x-kubernetes-list-map-keys") or []
        seen = set()
        for i, item in enumerate(v):
            if not isinstance(item, dict):
                continue
            key = json.dumps([item.get(k) for k in keys])
            if key in seen:
                shown = {k: item.get(k) for k in keys}
                out.append(Cause("FieldValueDuplicate",
                                 f"Duplicate value: {json.dumps(shown, separators=(',', ':'))}",
                                 _index(path, i)))
            seen.add(key)


def _validate_object(v: Obj, s: Schema, path: str, out: list[Cause]) -> None:
    embedded = _flag(s, _EMBEDDED)
    for name in s.get("required") or []:
        if name not in v and not (embedded and not path and name in _META_FIELDS):
            out.append(required(_child(path, name)))
    max_props, min_props = s.get("maxProperties"), s.get("minProperties")
    if isinstance(max_props, int) and len(v) > max_props:
        out.append(Cause("FieldValueTooMany",
                         f"Too many: {len(v)}: must have at most {max_props} items", path))
    if isinstance(min_props, int) and len(v) < min_props:
        _fail(out, path, v, f"should have at least {min_props} properties")
    if embedded and path:
        # objectmeta/validation.go validateEmbeddedResource
        for name in ("apiVersion", "kind"):
            if name not in v:
                out.append(required(_child(path, name), "must not be empty"))
            elif not isinstance(v[name], str):
                out.append(invalid(_child(path, name), v[name], "must be a string"))
            elif not v[name]:
                out.append(invalid(_child(path, name), v[name], "must not be empty"))
    props, extra = _props(s), _additional(s)
    for k, item in v.items():
        if embedded and k in _META_FIELDS:
            continue
        if k in props:
            _validate(item, props[k], _child(path, k), out)
        elif isinstance(extra, dict):
            _validate(item, extra, _child(path, k), out)


def _validate_junctors(v: Any, s: Schema, path: str, out: list[Cause]) -> None:
    shown = path or "body"
    for sub in s.get("allOf") or []:
        if isinstance(sub, dict):
            _validate(v, _nested(sub, s), path, out)
    any_of = [x for x in s.get("anyOf") or [] if isinstance(x, dict)]
    if any_of and not any(_passes(v, _nested(x, s), path) for x in any_of):
        out.append(invalid(path, v, f"{shown} in body must validate at least one schema "
                           "(anyOf)"))
    one_of = [x for x in s.get("oneOf") or [] if isinstance(x, dict)]
    if one_of and sum(_passes(v, _nested(x, s), path) for x in one_of) != 1:
        out.append(invalid(path, v, f"{shown} in body must validate one and only one schema "
                           "(oneOf)"))
    not_ = s.get("not")
    if isinstance(not_, dict) and _passes(v, _nested(not_, s), path):
        out.append(invalid(path, v, f"{shown} in body must not validate the schema (not)"))


def _nested(sub: Schema, parent: Schema) -> Schema:
    """A value validation under a junctor inherits the parent's type."""
    if "type" in sub or _flag(parent, _INT_OR_STRING):
        return sub
    return {**sub, "type": parent.get("type", ""), "nullable": True}


def _passes(v: Any, s: Schema, path: str) -> bool:
    errs: list[Cause] = []
    _validate(v, s, path, errs)
    return not errs


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+$")


def format_ok(fmt: str, value: str) -> bool:
    """Whether `value` has string format `fmt` (formats upstream validates; others pass)."""
    try:
        if fmt == "date-time":
            if not _DATE_TIME.match(value):
                return False
            datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            return True
        if fmt == "date":
            datetime.strptime(value, "%Y-%m-%d")
            return True
        if fmt in ("ipv4", "ipv6"):
            addr = ipaddress.ip_address(value)
            return addr.version == (4 if fmt == "ipv4" else 6)
        if fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
            return "/" in value
        if fmt == "uuid":
            uuid.UUID(value)
            return len(value) == 36
        if fmt == "hostname":
            return bool(_HOSTNAME.match(value))
        if fmt == "email":
            return bool(_EMAIL.match(value))
        if fmt == "mac":
            return bool(_MAC.match(value))
        if fmt == "byte":
            base64.b64decode(value, validate=True)
            return True
        if fmt == "duration":
            return bool(_DURATION.match(value))
    except (ValueError, binascii.Error):
        return False
    return True


# --- CEL rules (x-kubernetes-validations) --------------------------------------------------


def validate_rules(obj: Obj, old: Obj | None, schema: Schema | None) -> list[Cause]:
    """Evaluate every `x-kubernetes-validations` rule on the values it applies to.

    Transition rules (using `oldSelf`) run only where an old value correlates: on
    update, through object properties and `x-kubernetes-list-type: map` items."""
    if schema is None or not _has_rules(schema):
        return []
    out: list[Cause] = []
    _rules(obj, old, old is not None, schema, None, out)
    return out


def _has_rules(s: Any) -> bool:
    if not isinstance(s, dict):
        return False
    if s.get(_RULES):
        return True
    return any(_has_rules(v) for v in _props(s).values()) or _has_rules(
        _items(s)) or _has_rules(_additional(s))


def _rules(v: Any, old: Any, has_old: bool, s: Schema, path: str | None,
           out: list[Cause]) -> None:
    if v is None or not _has_rules(s):
        return
    if s.get(_RULES):
        _run_rules(v, old, has_old, s, path, out)
    if isinstance(v, dict):
        atomic = s.get("x-kubernetes-map-type") == "atomic"
        old_map = old if has_old and isinstance(old, dict) and not atomic else None
        props, extra = _props(s), _additional(s)
        for k, item in v.items():
            sub = props.get(k) if k in props else extra if isinstance(extra, dict) else None
            if sub is None:
                continue
            child = _child(path, k) if k in props else _key(path, k)
            has = old_map is not None and k in old_map
            _rules(item, old_map.get(k) if has else None, has, sub, child, out)
    elif isinstance(v, list):
        items = _items(s)
        if items is None:
            return
        olds = _correlate(v, old if has_old else None, s)
        for i, item in enumerate(v):
            has, prev = olds[i]
            _rules(item, prev, has, items, _index(path, i), out)


def _correlate(v: list[Any], old: Any, s: Schema) -> list[tuple[bool, Any]]:
    """For each item, its old counterpart in a map-type list (by key fields)."""
    none = [(False, None)] * len(v)
    if s.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return none
    keys = s.get("x-kubernetes-list-map-keys") or []
    index = {json.dumps([o.get(k) for k in keys]): o for o in old if isinstance(o, dict)}
    out = []
    for item in v:
        key = json.dumps([item.get(k) for k in keys]) if isinstance(item, dict) else None
        out.append((True, index[key]) if key in index else (False, None))
    return out


def _run_rules(v: Any, old: Any, has_old: bool, s: Schema, path: str | None,
               out: list[Cause]) -> None:
    type_ = s.get("type") or ""
    shown = path if path is not None else "<nil>"
    self_v = cel_value(v, s)
    old_v = cel_value(old, s) if has_old else None
    for rule in s.get(_RULES) or []:
        if not isinstance(rule, dict) or not rule.get("rule"):
            continue
        expr = str(rule["rule"])
        try:
            program = cel.compile(expr)
        except cel.CelCompileError as exc:
            out.append(invalid(shown, type_, f"rule compile error: {exc}"))
            continue
        if program.uses("oldSelf") and not has_old:
            continue
        activation = {"self": self_v, "oldSelf": old_v} if has_old else {"self": self_v}
        try:
            result = cel.evaluate(program, activation)
        except cel.CelError as exc:
            out.append(invalid(shown, type_, f"{exc} evaluating rule: {_rule_text(rule)}"))
            continue
        if result is True:
            continue
        out.append(_rule_error(rule, activation, shown, path, type_))


def _rule_text(rule: Obj) -> str:
    return str(rule.get("message") or rule["rule"]).strip()


def _rule_message(rule: Obj, activation: Obj) -> str:
    expr = rule.get("messageExpression")
    if expr:
        try:
            msg = cel.evaluate(cel.compile(str(expr)), activation)
        except cel.CelError:
            msg = None
        if isinstance(msg, str) and msg.strip() and "\n" not in msg.strip():
            return msg.strip()
    if rule.get("message"):
        return str(rule["message"]).strip()
    return f"failed rule: {_rule_text(rule)}"


def _rule_error(rule: Obj, activation: Obj, shown: str, path: str | None, type_: str
                ) -> Cause:
    detail = _rule_message(rule, activation)
    where = shown
    field_path = str(rule.get("fieldPath") or "").lstrip(".")
    if field_path:
        where = _child(path, field_path)
    reason = rule.get("reason")
    if reason == "FieldValueForbidden":
        return forbidden(where, detail)
    if reason == "FieldValueRequired":
        return required(where, detail)
    if reason == "FieldValueDuplicate":
        return duplicate(where, type_)
    return invalid(where, type_, detail)


def cel_value(v: Any, s: Schema | None) -> Any:
    """A JSON value typed as CEL sees it: `number` fields are doubles."""
    if v is None or s is None:
        return v
    if isinstance(v, dict):
        props, extra = _props(s), _additional(s)
        return {k: cel_value(x, props.get(k) if k in props else extra if isinstance(
            extra, dict) else None) for k, x in v.items()}
    if isinstance(v, list):
        items = _items(s)
        return [cel_value(x, items) for x in v]
    if s.get("type") == "number" and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


# --- structural schema rules (for CRD validation) ---------------------------------------


def structural_errors(schema: Schema, path: str, *, preserve_unknown: bool = False
                      ) -> list[Cause]:
    """Why `schema` is not a valid structural schema (ValidateStructural, plus the
    per-node checks of ValidateCustomResourceDefinitionOpenAPISchema)."""
    out: list[Cause] = []
    _structural(schema, "root", path, out)
    if schema.get("type") not in (None, "", "object"):
        out.append(invalid(f"{path}.type", schema.get("type"), "must be object at the root"))
    if _additional(schema) is not None or schema.get("additionalProperties") is False:
        out.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
    meta = _props(schema).get("metadata")
    if isinstance(meta, dict):
        extra = set(meta) - {"type", "properties"}
        names = set(_props(meta)) - {"name", "generateName"}
        if extra or names:
            out.append(forbidden(f"{path}.properties[metadata]",
                                 "must not specify anything other than name and generateName, "
                                 "but metadata is implicitly specified"))
    if preserve_unknown:
        for p, node in _nodes(schema, path):
            if "default" in node:
                out.append(forbidden(f"{p}.default", "must not be set if "
                                     "spec.preserveUnknownFields is true"))
    out.extend(_rule_errors(schema, path))
    return out


def _structural(s: Any, level: str, path: str, out: list[Cause]) -> None:
    if not isinstance(s, dict):
        out.append(invalid(path, s, "must be an object"))
        return
    type_ = s.get("type") or ""
    if "$ref" in s:
        out.append(forbidden(f"{path}.$ref", "$ref is not supported"))
    if s.get("uniqueItems") is True:
        out.append(forbidden(f"{path}.uniqueItems", "uniqueItems cannot be set to true since "
                             "the runtime complexity becomes quadratic"))
    if _flag(s, _EMBEDDED) and type_ != "object":
        if not type_:
            out.append(required(f"{path}.type",
                                "must be object if x-kubernetes-embedded-resource is true"))
        else:
            out.append(invalid(f"{path}.type", type_,
                               "must be object if x-kubernetes-embedded-resource is true"))
    elif not type_ and not _flag(s, _INT_OR_STRING) and not _flag(s, _PRESERVE):
        detail = {"root": "must not be empty at the root",
                  "item": "must not be empty for specified array items",
                  "field": "must not be empty for specified object fields"}[level]
        out.append(required(f"{path}.type", detail))
    if type_ == "array" and _items(s) is None:
        out.append(required(f"{path}.items", "must be specified"))
    if _props(s) and "additionalProperties" in s and s["additionalProperties"] is not True:
        out.append(forbidden(f"{path}.additionalProperties",
                             "additionalProperties and properties are mutual exclusive"))
    if _flag(s, _INT_OR_STRING) and _flag(s, _PRESERVE):
        out.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True,
                           "must be false if x-kubernetes-int-or-string is true"))
    if _flag(s, _EMBEDDED) and not _flag(s, _PRESERVE) and not _props(s):
        out.append(required(f"{path}.properties", "must not be empty if "
                            "x-kubernetes-embedded-resource is true without "
                            "x-kubernetes-preserve-unknown-fields"))
    pattern = s.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            out.append(invalid(f"{path}.pattern", pattern,
                               f"must be a valid regular expression, but isn't: {exc}"))
    list_type = s.get("x-kubernetes-list-type")
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        out.append(not_supported(f"{path}.x-kubernetes-list-type", list_type,
                                 ["atomic", "set", "map"]))
    if list_type == "map" and not s.get("x-kubernetes-list-map-keys"):
        out.append(required(f"{path}.x-kubernetes-list-map-keys",
                            "must not be empty if x-kubernetes-list-type is map"))
    for k, v in _props(s).items():
        _structural(v, "field", f"{path}.properties[{k}]", out)
    items = s.get("items")
    if isinstance(items, dict):
        _structural(items, "item", f"{path}.items", out)
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        _structural(extra, "field", f"{path}.additionalProperties", out)
    for junctor in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(s.get(junctor) or []):
            if isinstance(sub, dict) and not _int_or_string_branch(s, junctor):
                _nested_structural(sub, f"{path}.{junctor}[{i}]", out)
    if isinstance(s.get("not"), dict):
        _nested_structural(s["not"], f"{path}.not", out)


def _int_or_string_branch(s: Schema, junctor: str) -> bool:
    if not _flag(s, _INT_OR_STRING) or junctor != "anyOf":
        return False
    types = sorted(str((x or {}).get("type")) for x in s.get("anyOf") or [])
    return types == ["integer", "string"]


def _nested_structural(s: Schema, path: str, out: list[Cause]) -> None:
    for key in ("type", "description", "title"):
        if s.get(key):
            out.append(forbidden(f"{path}.{key}", "must be empty to be structural"))
    for key in ("additionalProperties", "default"):
        if key in s:
            out.append(forbidden(f"{path}.{key}", "must be undefined to be structural"))
    if s.get("nullable"):
        out.append(forbidden(f"{path}.nullable", "must be false to be structural"))
    for key in (_PRESERVE, _EMBEDDED, _INT_OR_STRING):
        if s.get(key):
            out.append(forbidden(f"{path}.{key}", "must be false to be structural"))
    if "metadata" in _props(s):
        out.append(forbidden(f"{path}.properties[metadata]",
                             "must not be specified in a nested context"))
    for k, v in _props(s).items():
        if isinstance(v, dict):
            _nested_structural(v, f"{path}.properties[{k}]", out)
    if isinstance(s.get("items"), dict):
        _nested_structural(s["items"], f"{path}.items", out)


def _nodes(s: Any, path: str) -> Iterator[tuple[str, Schema]]:
    if not isinstance(s, dict):
        return
    yield path, s
    for k, v in _props(s).items():
        yield from _nodes(v, f"{path}.properties[{k}]")
    if isinstance(s.get("items"), dict):
        yield from _nodes(s["items"], f"{path}.items")
    if isinstance(s.get("additionalProperties"), dict):
        yield from _nodes(s["additionalProperties"], f"{path}.additionalProperties")


def _rule_errors(schema: Schema, path: str) -> list[Cause]:
    """Rules that do not compile, as `x-kubernetes-validations[i].rule` errors."""
    out: list[Cause] = []
    for p, node in _nodes(schema, path):
        for i, rule in enumerate(node.get(_RULES) or []):
            where = f"{p}.x-kubernetes-validations[{i}]"
            if not isinstance(rule, dict) or not str(rule.get("rule") or "").strip():
                out.append(required(f"{where}.rule", ""))
                continue
            for key in ("rule", "messageExpression"):
                expr = rule.get(key)
                if not expr:
                    continue
                try:
                    cel.compile(str(expr))
                except cel.CelCompileError as exc:
                    out.append(invalid(f"{where}.{key}", str(expr),
                                       f"compilation failed: {exc}"))
            reason = rule.get("reason")
            reasons = ("FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired",
                       "FieldValueDuplicate")
            if reason is not None and reason not in reasons:
                out.append(not_supported(f"{where}.reason", reason, reasons))
            if rule.get("message") and "\n" in str(rule["message"]):
                out.append(invalid(f"{where}.message", rule["message"],
                                   "message must not contain line breaks"))
    return out
