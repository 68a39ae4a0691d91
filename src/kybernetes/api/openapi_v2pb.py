"""The Swagger 2.0 document in gnostic's protobuf form (`openapi.v2.Document`).

client-go's `OpenAPISchema()` asks for `/openapi/v2` with
`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and can only
decode that form (client-go `discovery/discovery_client.go`). kubectl up to 1.28
builds its validator from it before every `create -f`/`apply`, so an older kubectl
fails with "proto: cannot parse invalid wire-format data" against a JSON answer.

`encode_document(doc)` turns the JSON document into protobuf wire bytes directly:
the field numbers below are those of gnostic's `openapiv2/OpenAPIv2.proto`. Maps
become repeated `Named*` (name, value) pairs in document order; `x-` keys become
`vendor_extension` entries whose `Any.yaml` holds the value as JSON (a YAML
subset, which is how kube-openapi reads them back).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Any

import orjson

from kybernetes.api import openapi
from kybernetes.api.registry import Registry

Obj = dict[str, Any]

# --- wire format ----------------------------------------------------------------------


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _len_field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _string(num: int, value: Any) -> bytes:
    return _len_field(num, str(value).encode()) if value != "" else b""


def _bool(num: int, value: Any) -> bytes:
    return _varint(num << 3) + b"\x01" if value else b""


def _int(num: int, value: Any) -> bytes:
    return _varint(num << 3) + _varint(int(value)) if value else b""


def _double(num: int, value: Any) -> bytes:
    return _varint(num << 3 | 1) + struct.pack("<d", float(value)) if value else b""


def _strings(num: int, value: Any) -> bytes:
    items = value if isinstance(value, list) else [value]
    return b"".join(_len_field(num, str(v).encode()) for v in items)


def _any(value: Any) -> bytes:
    """gnostic `Any`: field 2 is the value's YAML text."""
    return _string(2, orjson.dumps(value).decode())


def _named(num: int, mapping: Obj, encode: Callable[[Any], bytes]) -> bytes:
    return b"".join(_len_field(num, _string(1, k) + _len_field(2, encode(v)))
                    for k, v in mapping.items())


def _vendor(num: int, obj: Obj) -> bytes:
    ext = {k: v for k, v in obj.items() if k.startswith("x-")}
    return _named(num, ext, _any) if ext else b""


# --- messages -------------------------------------------------------------------------

Field = tuple[int, Callable[[int, Any], bytes]]


def _message(fields: dict[str, Field], vendor: int | None) -> Callable[[Any], bytes]:
    def encode(obj: Any) -> bytes:
        out = bytearray()
        for key, value in obj.items():
            spec = fields.get(key)
            if spec is not None:
                out += spec[1](spec[0], value)
        if vendor is not None:
            out += _vendor(vendor, obj)
        return bytes(out)
    return encode


def _sub(encode: Callable[[Any], bytes]) -> Callable[[int, Any], bytes]:
    return lambda num, value: _len_field(num, encode(value))


def _repeated(encode: Callable[[Any], bytes]) -> Callable[[int, Any], bytes]:
    return lambda num, value: b"".join(_len_field(num, encode(v)) for v in value)


def _any_field(num: int, value: Any) -> bytes:
    return _len_field(num, _any(value))


def _anys(num: int, value: Any) -> bytes:
    return b"".join(_len_field(num, _any(v)) for v in value)


def _schema(obj: Any) -> bytes:
    return _SCHEMA(obj)


def _type_item(num: int, value: Any) -> bytes:
    return _len_field(num, _strings(1, value))


def _items_item(num: int, value: Any) -> bytes:
    items = value if isinstance(value, list) else [value]
    return _len_field(num, b"".join(_len_field(1, _schema(v)) for v in items))


def _additional(num: int, value: Any) -> bytes:
    if isinstance(value, bool):
        # A oneof member is present even when false.
        return _len_field(num, _varint(2 << 3) + (b"\x01" if value else b"\x00"))
    return _len_field(num, _len_field(1, _schema(value)))


def _properties(num: int, value: Any) -> bytes:
    return _len_field(num, _named(1, value, _schema))


_SCHEMA = _message({
    "$ref": (1, _string), "format": (2, _string), "title": (3, _string),
    "description": (4, _string), "default": (5, _any_field), "multipleOf": (6, _double),
    "maximum": (7, _double), "exclusiveMaximum": (8, _bool), "minimum": (9, _double),
    "exclusiveMinimum": (10, _bool), "maxLength": (11, _int), "minLength": (12, _int),
    "pattern": (13, _string), "maxItems": (14, _int), "minItems": (15, _int),
    "uniqueItems": (16, _bool), "maxProperties": (17, _int), "minProperties": (18, _int),
    "required": (19, _strings), "enum": (20, _anys), "additionalProperties": (21, _additional),
    "type": (22, _type_item), "items": (23, _items_item),
    "allOf": (24, _repeated(_schema)), "properties": (25, _properties),
    "discriminator": (26, _string), "readOnly": (27, _bool), "example": (30, _any_field),
}, vendor=31)

_PRIMITIVE_FIELDS = {"type": 1, "format": 2, "collectionFormat": 4, "default": 5,
                     "maximum": 6, "exclusiveMaximum": 7, "minimum": 8, "exclusiveMinimum": 9,
                     "maxLength": 10, "minLength": 11, "pattern": 12, "maxItems": 13,
                     "minItems": 14, "uniqueItems": 15, "enum": 16, "multipleOf": 17}
_KINDS: dict[str, Callable[[int, Any], bytes]] = {
    "type": _string, "format": _string, "collectionFormat": _string, "default": _any_field,
    "maximum": _double, "exclusiveMaximum": _bool, "minimum": _double,
    "exclusiveMinimum": _bool, "maxLength": _int, "minLength": _int, "pattern": _string,
    "maxItems": _int, "minItems": _int, "uniqueItems": _bool, "enum": _anys,
    "multipleOf": _double, "required": _bool, "in": _string, "description": _string,
    "name": _string, "allowEmptyValue": _bool}


def _primitives(obj: Any) -> bytes:
    return _PRIMITIVES(obj)


def _fields(numbers: dict[str, int]) -> dict[str, Field]:
    return {k: (n, _KINDS[k]) for k, n in numbers.items()}


_PRIMITIVES = _message({**_fields(_PRIMITIVE_FIELDS), "items": (3, _sub(_primitives))},
                       vendor=18)


def _shifted(head: dict[str, int], vendor: int) -> Callable[[Any], bytes]:
    """A *ParameterSubSchema: the `head` fields, then the primitive fields renumbered
    to follow them (gnostic keeps their order)."""
    offset = max(head.values())
    fields = _fields({**head, **{k: n + offset for k, n in _PRIMITIVE_FIELDS.items()}})
    fields["items"] = (3 + offset, _sub(_primitives))
    return _message(fields, vendor)


_HEAD = {"required": 1, "in": 2, "description": 3, "name": 4}
_QUERY = _shifted({**_HEAD, "allowEmptyValue": 5}, vendor=23)
_FORM = _QUERY
_PATH = _shifted(_HEAD, vendor=22)
_HEADER = _PATH
_BODY = _message({"description": (1, _string), "name": (2, _string), "in": (3, _string),
                  "required": (4, _bool), "schema": (5, _sub(_schema))}, vendor=6)
_NON_BODY = {"header": (1, _HEADER), "formData": (2, _FORM), "query": (3, _QUERY),
             "path": (4, _PATH)}


def _json_reference(obj: Obj) -> bytes:
    return _string(1, obj["$ref"]) + _string(2, obj.get("description", ""))


def _parameter(obj: Obj) -> bytes:
    """`Parameter`: body (1) or non-body (2, by location)."""
    if obj.get("in") == "body":
        return _len_field(1, _BODY(obj))
    num, encode = _NON_BODY.get(obj.get("in", ""), _NON_BODY["query"])
    return _len_field(2, _len_field(num, encode(obj)))


def _parameters_item(obj: Obj) -> bytes:
    if "$ref" in obj:
        return _len_field(2, _json_reference(obj))
    return _len_field(1, _parameter(obj))


def _response(obj: Obj) -> bytes:
    out = _string(1, obj.get("description", ""))
    if "schema" in obj:
        out += _len_field(2, _len_field(1, _schema(obj["schema"])))
    if "headers" in obj:
        out += _len_field(3, _named(1, obj["headers"], _HEADER_OBJECT))
    if "examples" in obj:
        out += _len_field(4, _named(1, obj["examples"], _any))
    return out + _vendor(5, obj)


_HEADER_OBJECT = _message({**_fields(_PRIMITIVE_FIELDS), "description": (18, _string),
                           "items": (3, _sub(_primitives))}, vendor=19)


def _response_value(obj: Obj) -> bytes:
    if "$ref" in obj:
        return _len_field(2, _json_reference(obj))
    return _len_field(1, _response(obj))


def _responses(num: int, value: Obj) -> bytes:
    codes = {k: v for k, v in value.items() if not k.startswith("x-")}
    return _len_field(num, _named(1, codes, _response_value) + _vendor(2, value))


_EXTERNAL_DOCS = _message({"description": (1, _string), "url": (2, _string)}, vendor=3)

_OPERATION = _message({
    "tags": (1, _strings), "summary": (2, _string), "description": (3, _string),
    "externalDocs": (4, _sub(_EXTERNAL_DOCS)), "operationId": (5, _string),
    "produces": (6, _strings), "consumes": (7, _strings),
    "parameters": (8, _repeated(_parameters_item)), "responses": (9, _responses),
    "schemes": (10, _strings), "deprecated": (11, _bool),
    "security": (12, lambda num, v: _security(num, v)),
}, vendor=13)

_PATH_ITEM = _message({
    "$ref": (1, _string), "get": (2, _sub(_OPERATION)), "put": (3, _sub(_OPERATION)),
    "post": (4, _sub(_OPERATION)), "delete": (5, _sub(_OPERATION)),
    "options": (6, _sub(_OPERATION)), "head": (7, _sub(_OPERATION)),
    "patch": (8, _sub(_OPERATION)), "parameters": (9, _repeated(_parameters_item)),
}, vendor=10)


def _paths(num: int, value: Obj) -> bytes:
    items = {k: v for k, v in value.items() if not k.startswith("x-")}
    return _len_field(num, _vendor(1, value) + _named(2, items, _PATH_ITEM))


def _security(num: int, value: list[Obj]) -> bytes:
    """repeated SecurityRequirement{ repeated NamedStringArray }."""
    return b"".join(_len_field(num, _named(1, req, lambda v: _strings(1, v)))
                    for req in value)


_SECURITY_SCHEMES = {
    "basic": (1, {"type": 1, "description": 2}, 3),
    "apiKey": (2, {"type": 1, "name": 2, "in": 3, "description": 4}, 5),
}
_OAUTH2_FLOWS = {
    "implicit": (3, {"type": 1, "flow": 2, "authorizationUrl": 4, "description": 5}, 6),
    "password": (4, {"type": 1, "flow": 2, "tokenUrl": 4, "description": 5}, 6),
    "application": (5, {"type": 1, "flow": 2, "tokenUrl": 4, "description": 5}, 6),
    "accessCode": (6, {"type": 1, "flow": 2, "authorizationUrl": 4, "tokenUrl": 5,
                       "description": 6}, 7),
}


def _security_item(obj: Obj) -> bytes:
    if obj.get("type") == "oauth2":
        which, numbers, vendor = _OAUTH2_FLOWS.get(obj.get("flow", ""), _OAUTH2_FLOWS["implicit"])
        scopes = obj.get("scopes") or {}
        body = _len_field(3, _named(1, scopes, lambda v: str(v).encode())) if scopes else b""
    else:
        which, numbers, vendor = _SECURITY_SCHEMES.get(obj.get("type", ""),
                                                       _SECURITY_SCHEMES["apiKey"])
        body = b""
    fields = {k: (n, _string) for k, n in numbers.items()}
    return _len_field(which, _message(fields, vendor)(obj) + body)


_INFO = _message({"title": (1, _string), "version": (2, _string), "description": (3, _string),
                  "termsOfService": (4, _string)}, vendor=7)
_TAG = _message({"name": (1, _string), "description": (2, _string),
                 "externalDocs": (3, _sub(_EXTERNAL_DOCS))}, vendor=4)

_DOCUMENT = _message({
    "swagger": (1, _string), "info": (2, _sub(_INFO)), "host": (3, _string),
    "basePath": (4, _string), "schemes": (5, _strings), "consumes": (6, _strings),
    "produces": (7, _strings), "paths": (8, _paths),
    "definitions": (9, lambda num, v: _len_field(num, _named(1, v, _schema))),
    "parameters": (10, lambda num, v: _len_field(num, _named(1, v, _parameter))),
    "responses": (11, lambda num, v: _len_field(num, _named(1, v, _response))),
    "security": (12, _security),
    "securityDefinitions": (13, lambda num, v: _len_field(num, _named(1, v, _security_item))),
    "tags": (14, _repeated(_TAG)), "externalDocs": (15, _sub(_EXTERNAL_DOCS)),
}, vendor=16)


def encode_document(doc: Obj) -> bytes:
    """The protobuf wire bytes of `openapi.v2.Document` for a Swagger 2.0 `doc`."""
    return _DOCUMENT(doc)


def document_bytes(registry: Registry) -> bytes:
    """The served `/openapi/v2` document in protobuf form (computed once per registry)."""
    return _cached(openapi.v2_bytes(registry))


@functools.lru_cache(maxsize=4)
def _cached(json_doc: bytes) -> bytes:
    return encode_document(orjson.loads(json_doc))
