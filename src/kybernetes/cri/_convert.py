"""Plain dicts <-> CRI protobuf messages.

A CRI message as a dict has upstream's snake_case field names (``log_directory``,
``pod_sandbox_id``). Going out (:func:`to_dict`) every field is present: scalars at their
value or proto3 default, enums by name (``"CONTAINER_RUNNING"``), 64-bit integers as
``int``, ``bytes`` as ``bytes``, repeated fields as lists, maps as dicts and an unset
sub-message as ``None``. Coming in (:func:`to_message`) any subset of fields may be
given, enums by name or number; wrapper messages such as ``Int64Value`` are written
as upstream has them (``{"run_as_user": {"value": 0}}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from kybernetes.cri.errors import InvalidArgument

M = TypeVar("M", bound=Message)


def to_message(cls: type[M], data: Mapping[str, Any] | M | None, *, what: str = "") -> M:
    """Build a ``cls`` message from a dict (or pass a ready message through)."""
    if data is None:
        return cls()
    if isinstance(data, cls):
        return data
    try:
        return json_format.ParseDict(dict(data), cls())
    except json_format.ParseError as exc:
        name = what or cls.DESCRIPTOR.name
        raise InvalidArgument(f"bad {name}: {exc}", details=str(exc)) from None


def to_dict(message: Message) -> dict[str, Any]:
    """The message as a dict with every field present (see the module docstring)."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {k: _value(value_field, v) for k, v in value.items()}
        elif field.is_repeated:
            out[field.name] = [_value(field, v) for v in value]
        elif field.message_type is not None:
            out[field.name] = to_dict(value) if message.HasField(field.name) else None
        else:
            out[field.name] = _value(field, value)
    return out


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        return to_dict(value)
    if field.enum_type is not None:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    return value
