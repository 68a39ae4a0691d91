"""Request body decoding and response content negotiation.

Bodies arrive as JSON, YAML or Kubernetes protobuf (`k8s\\0` + runtime.Unknown,
what client-go's typed clients send since 1.32); patches by their patch media
types. Responses are JSON: client-go accepts JSON even when it prefers
protobuf. The one negotiated shape is the server-side `Table`
(`application/json;as=Table;v=v1;g=meta.k8s.io`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from kybernetes.api import protobuf
from kybernetes.api.errors import StatusError, bad_request, not_acceptable, unsupported_media_type

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)

MAX_BODY_BYTES = 3 * 1024 * 1024

try:
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def request_content_type(headers: Mapping[str, str]) -> str:
    """A request body's Content-Type; none means JSON, as upstream (negotiate.go
    `NegotiateInputSerializerForMediaType` takes the first supported type). The Python
    client sends bodies without one; aiohttp's `request.content_type` would call them
    application/octet-stream."""
    return headers.get("Content-Type", "") or JSON


def decode_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a create/update body into an object dict.

    Raises 415 for media types we do not take, 400 for malformed bodies.
    """
    mt = media_type(content_type)
    if mt in ("", JSON, "*/*"):
        return _json_object(body)
    if mt in (YAML, "application/x-yaml", "text/yaml"):
        return _yaml_object(body)
    if mt == PROTOBUF:
        try:
            return protobuf.decode(body)
        except protobuf.ProtobufDecodeError as exc:
            raise bad_request(f"error decoding protobuf body: {exc}") from exc
    raise unsupported_media_type(mt)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"error decoding JSON body: {exc}") from exc
    if not isinstance(obj, dict):
        raise bad_request(
            "the body of the request was in an unknown format - accepted media types "
            "include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        )
    return obj


def _yaml_object(body: bytes) -> dict[str, Any]:
    try:
        obj = yaml.load(body, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise bad_request(f"error converting YAML to JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a YAML object")
    # Round-trip through JSON so that YAML-only types (dates, sets) become strings.
    try:
        return orjson.loads(orjson.dumps(obj, default=str))
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise bad_request(f"error converting YAML to JSON: {exc}") from exc


def decode_apply_body(body: bytes) -> dict[str, Any]:
    """Server-side apply bodies are YAML (JSON is YAML)."""
    return _yaml_object(body)


@dataclass(frozen=True, slots=True)
class Accept:
    """What the client wants back."""

    table: bool = False
    include_object: str = "Metadata"
    # PartialObjectMetadata(List) (metadata-only clients).
    metadata_only: bool = False


_JSON_LIKE = frozenset({JSON, "*/*", "application/*", PROTOBUF, YAML, ""})


def negotiate(accept_header: str | None, query_include_object: str = "") -> Accept:
    """Pick the response shape from the Accept header (first acceptable wins).

    Raises 406 when nothing acceptable is offered.
    """
    include = query_include_object or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise bad_request(
            f'includeObject: Unsupported value: "{include}": supported values: '
            '"None", "Metadata", "Object"'
        )
    if not accept_header:
        return Accept(include_object=include)
    for part in accept_header.split(","):
        fields = [f.strip() for f in part.split(";")]
        mt = fields[0].lower()
        params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        as_ = params.get("as", "")
        if as_:
            if mt != JSON:
                continue
            if as_ == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in (
                "v1", "v1beta1"
            ):
                return Accept(table=True, include_object=include)
            if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and params.get(
                "g"
            ) == "meta.k8s.io":
                return Accept(metadata_only=True, include_object=include)
            continue
        if mt in _JSON_LIKE or mt.startswith("application/json"):
            return Accept(include_object=include)
    raise not_acceptable(
        "only the following media types are accepted: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf, application/json;stream=watch, "
        "application/vnd.kubernetes.protobuf;stream=watch"
    )


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def status_body(err: StatusError) -> bytes:
    return orjson.dumps(err.to_status())
