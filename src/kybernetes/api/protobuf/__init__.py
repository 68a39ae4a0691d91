"""Kubernetes protobuf wire codec (``application/vnd.kubernetes.protobuf``).

A body is the magic ``k8s\\x00`` followed by a ``runtime.Unknown`` message whose
``typeMeta`` names the object's apiVersion/kind and whose ``raw`` bytes are the
k8s.io/api message of that kind. :func:`decode` turns such a body into the JSON-form
dict the JSON API would carry for the same object; :func:`encode` does the reverse.

The schema lives in ``dsl/*.txt`` (compact, comment-free transcriptions of upstream's
``generated.proto`` facts), is rendered to ``proto/*.proto`` and compiled to the
committed ``gen/*_pb2.py`` by::

    .venv/bin/python -m kybernetes.api.protobuf.regen
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError, Message

from kybernetes.api.protobuf import _convert
from kybernetes.api.protobuf._convert import ConversionError, format_duration, parse_duration
from kybernetes.api.protobuf.gen import (  # noqa: F401  (registers the descriptors)
    admissionregistration_v1_pb2,
    apiextensions_v1_pb2,
    apps_v1_pb2,
    authentication_v1_pb2,
    authorization_v1_pb2,
    autoscaling_v1_pb2,
    autoscaling_v2_pb2,
    batch_v1_pb2,
    certificates_v1_pb2,
    coordination_v1_pb2,
    core_v1_pb2,
    discovery_v1_pb2,
    events_v1_pb2,
    flowcontrol_v1_pb2,
    intstr_pb2,
    meta_v1_pb2,
    networking_v1_pb2,
    node_v1_pb2,
    policy_v1_pb2,
    rbac_v1_pb2,
    resource_pb2,
    runtime_pb2,
    scheduling_v1_pb2,
    storage_v1_pb2,
)

__all__ = [
    "CONTENT_TYPE",
    "MAGIC",
    "ProtobufDecodeError",
    "decode",
    "encode",
    "format_duration",
    "message_for",
    "parse_duration",
]

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
META_PACKAGE = "k8s.io.apimachinery.pkg.apis.meta.v1"

# API groups whose proto package is not ``k8s.io.api.<first DNS label of the group>``:
# group -> package prefix (the version is appended).
_GROUP_PACKAGES: dict[str, str] = {
    "internal.apiserver.k8s.io": "k8s.io.api.apiserverinternal",
    "apiextensions.k8s.io": "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions",
}


class ProtobufDecodeError(ValueError):
    """The body is not a Kubernetes protobuf envelope we can decode."""


def _package_for(api_version: str) -> str:
    group, _, version = api_version.rpartition("/")
    if group == "meta.k8s.io":
        return META_PACKAGE
    if group in _GROUP_PACKAGES:
        return f"{_GROUP_PACKAGES[group]}.{version}"
    short = group.split(".")[0] if group else "core"
    return f"k8s.io.api.{short}.{version}"


def message_for(api_version: str, kind: str) -> Descriptor:
    """The message descriptor for an apiVersion/kind; raises KeyError if unknown."""
    pool = descriptor_pool.Default()
    candidates = [f"{_package_for(api_version)}.{kind}", f"{META_PACKAGE}.{kind}"]
    for name in candidates:
        try:
            return pool.FindMessageTypeByName(name)
        except KeyError:
            continue
    raise KeyError(f"no protobuf schema for {api_version}/{kind}")


def _new(desc: Descriptor) -> Message:
    return message_factory.GetMessageClass(desc)()


def decode(body: bytes) -> dict[str, Any]:
    """Decode a full protobuf envelope into a JSON-form object dict."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ProtobufDecodeError("body must be bytes")
    body = bytes(body)
    if not body.startswith(MAGIC):
        raise ProtobufDecodeError("missing k8s protobuf magic prefix")
    unknown = runtime_pb2.Unknown()
    try:
        unknown.ParseFromString(body[len(MAGIC) :])
    except DecodeError as exc:
        raise ProtobufDecodeError(f"malformed envelope: {exc}") from exc
    if unknown.contentEncoding:
        raise ProtobufDecodeError(f"unsupported contentEncoding {unknown.contentEncoding!r}")
    api_version = unknown.typeMeta.apiVersion
    kind = unknown.typeMeta.kind
    if not kind:
        raise ProtobufDecodeError("envelope has no kind")
    try:
        desc = message_for(api_version, kind)
    except KeyError as exc:
        raise ProtobufDecodeError(str(exc.args[0])) from exc
    msg = _new(desc)
    try:
        msg.ParseFromString(unknown.raw)
    except DecodeError as exc:
        raise ProtobufDecodeError(f"malformed {kind}: {exc}") from exc
    try:
        obj = _convert.message_to_json(msg, decode)
    except (ConversionError, ValueError) as exc:
        raise ProtobufDecodeError(f"cannot convert {kind}: {exc}") from exc
    result: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    result.update(obj)
    return result


def encode(obj: dict[str, Any], strict: bool = True) -> bytes:
    """Encode a JSON-form object (with apiVersion and kind) into a protobuf envelope.

    With ``strict`` (the default) a key the schema does not know raises ValueError;
    otherwise such keys are dropped.
    """
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        raise ValueError("object needs string apiVersion and kind")
    desc = message_for(api_version, kind)
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    msg = _convert.json_to_message(body, _new(desc), encode, strict)
    unknown = runtime_pb2.Unknown()
    unknown.typeMeta.apiVersion = api_version
    unknown.typeMeta.kind = kind
    unknown.raw = msg.SerializeToString()
    unknown.contentEncoding = ""
    unknown.contentType = ""
    return MAGIC + unknown.SerializeToString()
