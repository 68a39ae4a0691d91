"""/openapi/v2 in gnostic protobuf form: the facts kubectl reads back out of it.

The decoder here knows only the protobuf wire format; field numbers are gnostic's
`openapiv2/OpenAPIv2.proto`.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson
import pytest

from kybernetes.api import openapi, openapi_v2pb
from kybernetes.api.registry import Registry

Fields = dict[int, list[Any]]


def decode(data: bytes) -> Fields:
    """One message's fields: varints as int, fixed64 as float, the rest as bytes."""
    out: Fields = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    while pos < len(data):
        tag = varint()
        num, wire = tag >> 3, tag & 7
        if wire == 0:
            value: Any = varint()
        elif wire == 1:
            value = struct.unpack("<d", data[pos:pos + 8])[0]
            pos += 8
        elif wire == 2:
            n = varint()
            value = data[pos:pos + n]
            pos += n
        else:  # pragma: no cover - gnostic uses no other wire types
            raise AssertionError(f"wire type {wire}")
        out.setdefault(num, []).append(value)
    return out


def named(fields: Fields, num: int) -> dict[str, bytes]:
    """A repeated Named* (name=1, value=2) field as a dict."""
    pairs = (decode(raw) for raw in fields.get(num, []))
    return {p[1][0].decode(): p.get(2, [b""])[0] for p in pairs}


@pytest.fixture(scope="module")
def document() -> Fields:
    return decode(openapi_v2pb.document_bytes(Registry.builtin()))


def test_document_header(document: Fields) -> None:
    assert document[1] == [b"2.0"]
    info = decode(document[2][0])
    assert info[1] == [b"Kubernetes"]
    assert info[2][0].startswith(b"v1.32")
    security = named(decode(document[13][0]), 1)
    api_key = decode(decode(security["BearerToken"])[2][0])
    assert api_key[1] == [b"apiKey"] and api_key[2] == [b"authorization"]


def test_patch_operation_lists_field_validation(document: Fields) -> None:
    """kubectl's query-param verifier looks for `fieldValidation` on the PATCH operation
    of the path carrying the kind's x-kubernetes-group-version-kind."""
    paths = named(decode(document[8][0]), 2)
    item = decode(paths["/api/v1/namespaces/{namespace}/configmaps/{name}"])
    patch = decode(item[8][0])
    vendor = {k: orjson.loads(decode(v)[2][0]) for k, v in named(patch, 13).items()}
    assert vendor["x-kubernetes-group-version-kind"] == {"group": "", "kind": "ConfigMap",
                                                         "version": "v1"}
    assert vendor["x-kubernetes-action"] == "patch"
    query = {}
    for raw in patch[8]:
        parameter = decode(decode(raw)[1][0])
        if 2 in parameter:  # non-body
            sub = decode(parameter[2][0])
            assert 3 in sub, "only query parameters on this operation besides the body"
            q = decode(sub[3][0])
            query[q[4][0].decode()] = q
    assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= set(query)
    assert query["fieldValidation"][2] == [b"query"]
    assert query["fieldValidation"][6] == [b"string"]
    assert query["force"][6] == [b"boolean"]
    # The path's own parameters: the path sub-schema numbers type as 5.
    path_params = [decode(decode(decode(raw)[1][0])[2][0]) for raw in item[9]]
    by_name = {decode(p[4][0])[4][0].decode(): decode(p[4][0]) for p in path_params if 4 in p}
    assert by_name["name"][5] == [b"string"] and by_name["name"][1] == [1]


def test_schemas_keep_patch_metadata_and_refs(document: Fields) -> None:
    definitions = named(decode(document[9][0]), 1)
    pod_spec = decode(definitions["io.k8s.api.core.v1.PodSpec"])
    assert b"containers" in pod_spec[19]
    properties = named(decode(pod_spec[25][0]), 1)
    containers = decode(properties["containers"])
    vendor = {k: orjson.loads(decode(v)[2][0]) for k, v in named(containers, 31).items()}
    assert vendor["x-kubernetes-patch-merge-key"] == "name"
    assert vendor["x-kubernetes-patch-strategy"] == "merge"
    assert decode(containers[22][0])[1] == [b"array"]
    item = decode(decode(containers[23][0])[1][0])
    assert item[1] == [b"#/definitions/io.k8s.api.core.v1.Container"]
    config_map = named(decode(decode(definitions["io.k8s.api.core.v1.ConfigMap"])[25][0]), 1)
    data = decode(config_map["data"])
    additional = decode(decode(data[21][0])[1][0])
    assert decode(additional[22][0])[1] == [b"string"]


def test_every_definition_and_path_is_encoded(document: Fields) -> None:
    doc = openapi.v2(Registry.builtin())
    assert list(named(decode(document[9][0]), 1)) == list(doc["definitions"])
    assert list(named(decode(document[8][0]), 2)) == list(doc["paths"])
