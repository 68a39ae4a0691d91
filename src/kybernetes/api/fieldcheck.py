"""Decoding checks for built-in kinds: unknown fields, duplicate keys, wrong JSON types.

Upstream decodes a request body into Go structs (sigs.k8s.io/json, case
sensitive). That step (a) drops fields the struct does not have, (b) notices
keys given twice in one JSON object, (c) fails on a value of the wrong JSON
type. The `fieldValidation` query parameter decides what (a) and (b) do:
Strict fails the request, Warn adds `Warning:` headers, Ignore says nothing.
(c) always fails with 400 BadRequest. This module reproduces the three checks
over the kind's OpenAPI schema and, like the Go decoder, removes unknown fields
from the object in place (the apiserver never stores them).

Message formats, as a real apiserver answers (handlers/create.go
`transformDecodeError`, sigs.k8s.io/json strict errors, encoding/json
`UnmarshalTypeError`):

    Pod in version "v1" cannot be handled as a Pod: strict decoding error:
        unknown field "spec.containers[0].bogus", duplicate field "metadata.name"
    Deployment in version "v1" cannot be handled as a Deployment: json: cannot
        unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32

Strict-error paths carry list indexes (`containers[0]`); type-error paths do
not (`Container.spec.containers.ports.containerPort`, the Go decoder's field
stack). Only the first type error counts, as in Go (`saveError`).

Open maps (`additionalProperties`), schemas without properties
(`managedFields[].fieldsV1`, RawExtension) and `x-kubernetes-preserve-unknown-fields`
are not walked for unknown fields.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api import schema as schemas

# --- compiled schema nodes -------------------------------------------------------

_ANY, _OBJ, _MAP, _ARR, _STR, _INT, _NUM, _BOOL, _INTSTR, _QTY, _TIME, _BYTES = range(12)

_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_TIME_DEFS = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
}


class _Node:
    """A schema reduced to what decoding needs; shared and read-only once built."""

    __slots__ = ("bits", "elem", "gotype", "kind", "props", "struct")

    def __init__(self, kind: int, gotype: str = "") -> None:
        self.kind = kind
        self.gotype = gotype
        self.props: dict[str, _Node] = {}
        self.elem: _Node | None = None
        self.struct = ""
        self.bits = 64


_ANY_NODE = _Node(_ANY)
_by_def: dict[str, _Node] = {}
_by_id: dict[int, _Node] = {}


def _go_name(defname: str) -> str:
    parts = defname.split(".")
    return f"{parts[-2]}.{parts[-1]}" if len(parts) >= 2 else defname


def _compile(s: dict[str, Any] | None) -> _Node:
    if s is None:
        return _ANY_NODE
    ref = schemas.ref_name(s)
    if ref is not None:
        node = _by_def.get(ref)
        if node is None:
            node = _compile_def(ref)
        return node
    key = id(s)
    node = _by_id.get(key)
    if node is None:
        node = _compile_inline(s, "")
        _by_id[key] = node
    return node


def _compile_def(name: str) -> _Node:
    s = schemas.definitions().get(name)
    if s is None:
        _by_def[name] = _ANY_NODE
        return _ANY_NODE
    if name == _QUANTITY:
        node = _Node(_QTY, "resource.Quantity")
    elif name == _INT_OR_STRING:
        node = _Node(_INTSTR, "intstr.IntOrString")
    elif name in _TIME_DEFS:
        node = _Node(_TIME, _go_name(name))
    else:
        node = _Node(_ANY)
        _by_def[name] = node  # placeholder first: definitions may recurse
        _fill(node, s, name)
        return node
    _by_def[name] = node
    return node


def _compile_inline(s: dict[str, Any], defname: str) -> _Node:
    node = _Node(_ANY)
    _fill(node, s, defname)
    return node


def _fill(node: _Node, s: dict[str, Any], defname: str) -> None:
    types = schemas.types_of(s)
    if "oneOf" in s or s.get("x-kubernetes-preserve-unknown-fields") or len(types) != 1:
        node.kind = _ANY
        return
    t = next(iter(types))
    if t == "object":
        props = s.get("properties")
        extra = s.get("additionalProperties")
        if props:
            node.kind = _OBJ
            node.struct = defname.rsplit(".", 1)[-1] if defname else ""
            node.gotype = _go_name(defname) if defname else "struct"
            node.props = {k: _compile(v) for k, v in props.items()}
        elif isinstance(extra, dict):
            node.kind = _MAP
            node.elem = _compile(extra)
            node.gotype = f"map[string]{node.elem.gotype or 'interface {}'}"
        else:
            node.kind = _ANY
    elif t == "array":
        node.kind = _ARR
        it = s.get("items")
        node.elem = _compile(it) if isinstance(it, dict) else _ANY_NODE
        node.gotype = f"[]{node.elem.gotype or 'interface {}'}"
    elif t == "string":
        if s.get("format") == "byte":
            node.kind, node.gotype = _BYTES, "[]uint8"
        else:
            node.kind, node.gotype = _STR, "string"
    elif t == "integer":
        node.kind = _INT
        node.bits = 32 if s.get("format") == "int32" else 64
        node.gotype = f"int{node.bits}"
    elif t == "number":
        node.kind, node.gotype = _NUM, "float64"
    elif t == "boolean":
        node.kind, node.gotype = _BOOL, "bool"


def compile_schema(schema: dict[str, Any] | None) -> _Node:
    """The decoding node for a kind's schema (cached by definition)."""
    if schema is None:
        return _ANY_NODE
    for name, s in schemas.definitions().items():
        if s is schema:
            return _by_def.get(name) or _compile_def(name)
    return _compile(schema)


_node_of_schema: dict[int, _Node] = {}


def _root_node(schema: dict[str, Any]) -> _Node:
    node = _node_of_schema.get(id(schema))
    if node is None:
        node = compile_schema(schema)
        _node_of_schema[id(schema)] = node
    return node


# --- the report ------------------------------------------------------------------


@dataclass
class FieldReport:
    """What decoding noticed. `unknown` and `duplicates` are paths as upstream
    prints them (`spec.containers[0].bogus`); `type_errors` are full messages."""

    unknown: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    type_errors: list[str] = field(default_factory=list)
    kind: str = ""
    version: str = ""

    @property
    def strict_errors(self) -> list[str]:
        return [f'unknown field "{p}"' for p in self.unknown] + [
            f'duplicate field "{p}"' for p in self.duplicates
        ]


def _prefix(kind: str, version: str) -> str:
    if not kind:
        return ""
    return f'{kind} in version "{version}" cannot be handled as a {kind}: '


def strict_error_message(report: FieldReport) -> str | None:
    """The 400 message under fieldValidation=Strict, or None when nothing to say."""
    errs = report.strict_errors
    if not errs:
        return None
    return _prefix(report.kind, report.version) + "strict decoding error: " + ", ".join(errs)


def warnings(report: FieldReport) -> list[str]:
    """The `Warning:` header texts under fieldValidation=Warn."""
    return report.strict_errors


def type_error_message(report: FieldReport) -> str | None:
    """The 400 message for a wrongly typed value (any fieldValidation), or None."""
    return report.type_errors[0] if report.type_errors else None


# --- the walk --------------------------------------------------------------------


class _Walk:
    __slots__ = ("prefix", "report")

    def __init__(self, report: FieldReport, prefix: str) -> None:
        self.report = report
        self.prefix = prefix

    def type_error(self, value: Any, node: _Node, struct: str, gopath: str) -> None:
        where = f"Go struct field {struct}.{gopath}" if struct else "Go value"
        msg = f"json: cannot unmarshal {_json_kind(value, node)} into {where} of type {node.gotype}"
        self.report.type_errors.append(self.prefix + msg)

    def raw_error(self, msg: str) -> None:
        self.report.type_errors.append(self.prefix + msg)

    def obj(self, d: dict[str, Any], node: _Node, path: str, gopath: str) -> None:
        props = node.props
        unknown = None
        for k, v in d.items():
            child = props.get(k)
            if child is None:
                if unknown is None:
                    unknown = []
                unknown.append(k)
                continue
            if v is None or child.kind == _ANY:
                continue
            self.value(v, child, f"{path}.{k}" if path else k,
                       f"{gopath}.{k}" if gopath else k, node.struct)
        if unknown:
            for k in unknown:
                self.report.unknown.append(f"{path}.{k}" if path else k)
                del d[k]

    def value(self, v: Any, node: _Node, path: str, gopath: str, struct: str) -> None:
        kind = node.kind
        t = type(v)
        if kind == _STR:
            if t is not str:
                self.type_error(v, node, struct, gopath)
        elif kind == _OBJ:
            if t is dict:
                self.obj(v, node, path, gopath)
            else:
                self.type_error(v, node, struct, gopath)
        elif kind == _ARR:
            if t is not list:
                self.type_error(v, node, struct, gopath)
                return
            elem = node.elem
            assert elem is not None
            if elem.kind == _ANY:
                return
            for i, item in enumerate(v):
                if item is not None:
                    self.value(item, elem, f"{path}[{i}]", gopath, struct)
        elif kind == _MAP:
            if t is not dict:
                self.type_error(v, node, struct, gopath)
                return
            elem = node.elem
            assert elem is not None
            if elem.kind == _ANY:
                return
            for k, item in v.items():
                if item is not None:
                    self.value(item, elem, f"{path}.{k}", gopath, struct)
        elif kind == _INT:
            if t is not int or not _fits(v, node.bits):
                self.type_error(v, node, struct, gopath)
        elif kind == _BOOL:
            if t is not bool:
                self.type_error(v, node, struct, gopath)
        elif kind == _NUM:
            if t is not int and t is not float:
                self.type_error(v, node, struct, gopath)
        else:
            self.special(v, node, struct, gopath)

    def special(self, v: Any, node: _Node, struct: str, gopath: str) -> None:
        kind = node.kind
        t = type(v)
        if kind == _QTY:
            # Quantity.UnmarshalJSON parses any literal; true, {} and [] fail the format.
            err = quantity_error(v if t is str else repr(v)) if t in (str, int, float) else None
            if t not in (str, int, float):
                err = QUANTITY_FORMAT_ERROR
            if err:
                self.raw_error(err)
        elif kind == _INTSTR:
            if t is not str and (t is not int or not _fits(v, 32)):
                self.raw_error(
                    f"json: cannot unmarshal {_json_kind(v, node)} into Go value of type int32")
        elif kind == _TIME:
            if t is not str:
                self.raw_error(
                    f"json: cannot unmarshal {_json_kind(v, None)} into Go value of type string")
        elif kind == _BYTES:
            if t is not str:
                self.type_error(v, node, struct, gopath)
            else:
                err = base64_error(v)
                if err:
                    self.raw_error(err)


def _fits(v: int, bits: int) -> bool:
    lim = 1 << (bits - 1)
    return -lim <= v < lim


def _json_kind(v: Any, node: _Node | None) -> str:
    """encoding/json's name for the offending JSON value."""
    t = type(v)
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if t is dict:
        return "object"
    if t is list:
        return "array"
    if t is int or t is float:
        numeric = node is not None and node.kind in (_INT, _INTSTR)
        return f"number {_number_text(v)}" if numeric else "number"
    return "null"


def _number_text(v: int | float) -> str:
    # The literal as written is gone; Python's repr is the closest rendering.
    return repr(v)


# --- quantities and base64 ---------------------------------------------------------

QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix"
QUANTITY_NUMERIC_ERROR = "unable to parse numeric part of quantity"
_QTY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_QTY_SUFFIXES = frozenset(
    ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
)
_QTY_EXP_RE = re.compile(r"^[eE][-+]?[0-9]+$")


def quantity_error(text: str) -> str | None:
    """Why `text` is not a resource.Quantity (ParseQuantity's error), or None."""
    text = text.strip()
    m = _QTY_RE.match(text)
    if not m:
        return QUANTITY_FORMAT_ERROR
    number, suffix = m.groups()
    if suffix not in _QTY_SUFFIXES and not _QTY_EXP_RE.match(suffix):
        return QUANTITY_SUFFIX_ERROR
    digits = number.lstrip("+-")
    if digits.count(".") > 1 or digits in ("", "."):
        return QUANTITY_NUMERIC_ERROR
    return None


_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def base64_error(text: str) -> str | None:
    """Go's `illegal base64 data at input byte N` for a bad []byte value, or None."""
    data = text.replace("\r", "").replace("\n", "").encode("utf-8", "surrogatepass")
    try:
        base64.b64decode(data, validate=True)
        return None
    except (binascii.Error, ValueError):
        pass
    for i, ch in enumerate(data):
        if ch not in _B64_ALPHABET:
            return f"illegal base64 data at input byte {i}"
    pad = data.find(b"=")
    at = pad if pad >= 0 else len(data) - len(data) % 4
    return f"illegal base64 data at input byte {at}"


# --- duplicate keys ---------------------------------------------------------------


class _Pairs(dict):
    """A decoded JSON object that remembers which keys it saw twice."""

    __slots__ = ("dups",)


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = _Pairs(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        dups: list[str] = []
        for k, _ in pairs:
            if k in seen and k not in dups:
                dups.append(k)
            seen.add(k)
        d.dups = dups
    return d


def _count_keys(o: Any) -> int:
    n = 0
    stack = [o]
    while stack:
        x = stack.pop()
        if type(x) is dict:
            n += len(x)
            stack.extend(x.values())
        elif type(x) is list:
            stack.extend(x)
    return n


_KEY_END = re.compile(rb'"\s*:')


def find_duplicates(raw: bytes) -> list[str]:
    """Paths of keys given twice in one JSON object of `raw` (in document order)."""
    try:
        # Fast path: every key is a closing quote followed by a ":"; if there are
        # no more of those than distinct keys, no key can have been given twice.
        # (Colons inside values, as in image tags and URLs, are not counted.)
        if len(_KEY_END.findall(raw)) <= _count_keys(orjson.loads(raw)):
            return []
        tree = json.loads(raw, object_pairs_hook=_pairs_hook)
    except (ValueError, orjson.JSONDecodeError):
        return []
    out: list[str] = []
    _collect_dups(tree, "", out)
    return out


def _collect_dups(x: Any, path: str, out: list[str]) -> None:
    if isinstance(x, dict):
        for k in getattr(x, "dups", ()):
            out.append(f"{path}.{k}" if path else k)
        for k, v in x.items():
            _collect_dups(v, f"{path}.{k}" if path else k, out)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _collect_dups(v, f"{path}[{i}]", out)


# --- entry point -------------------------------------------------------------------

_TOP_LEVEL = ("apiVersion", "kind", "metadata")


def check_and_prune(
    obj: dict[str, Any],
    schema: dict[str, Any] | None,
    *,
    raw: bytes | None = None,
    kind: str = "",
    version: str = "",
) -> FieldReport:
    """Check `obj` (decoded from `raw`) against `schema`; drop unknown fields in place.

    `schema` is the kind's definition (`schema.for_kind`); None checks nothing
    but duplicates. `raw`, when given, is the request body `obj` came from and
    is scanned for duplicate keys. `kind`/`version` only word the messages.
    Idempotent: a second call on the pruned object reports nothing new.
    """
    report = FieldReport(kind=kind, version=version)
    if raw is not None:
        report.duplicates = find_duplicates(raw)
    if schema is None:
        return report
    root = _root_node(schema)
    if root.kind != _OBJ:
        return report
    walk = _Walk(report, _prefix(kind, version))
    props = root.props
    unknown = [k for k in obj if k not in props and k not in _TOP_LEVEL]
    for k, v in obj.items():
        child = props.get(k)
        if child is not None and v is not None and child.kind != _ANY:
            walk.value(v, child, k, k, root.struct)
    for k in unknown:
        report.unknown.append(k)
        del obj[k]
    return report
