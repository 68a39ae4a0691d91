"""Patch application: JSON patch, JSON merge patch and strategic merge patch.

    apply_json_patch(obj, patch)                      RFC 6902, via the `jsonpatch` library
    apply_merge_patch(obj, patch)                     RFC 7386
    apply_strategic_merge_patch(obj, patch, schema)   Kubernetes' strategic merge patch
    check_strategic_supported(schema)                 415 for kinds without a schema (CRDs)

Contract: `obj` is never mutated; each call returns a new object and copies
`obj` at most once. A patch given as a dict or list is never mutated either,
and no part of it is aliased into the result. `patch` may be the raw request
body (bytes); errors are `StatusError`s with upstream's codes and messages:

- body not JSON, or of the wrong JSON type: 400 BadRequest (the apiserver
  decodes strictly by default, so messages start `error decoding patch:` for
  JSON and merge patches, as in `handlers/patch.go`);
- a JSON patch operation that fails (test, missing path): 422 Invalid with
  the generic message of `NewGenericServerResponse` (upstream drops the detail);
- a JSON patch result that is not an object: 422 Invalid on field `patch`;
- strategic merge patch: the mergepatch sentinel errors map as in
  `interpretStrategicMergePatchError` (400 for bad directive formats, 422 for
  lists of lists); every other merge failure (missing merge key, unknown
  `$patch`, order mismatch) is a plain Go error upstream and reaches the client
  as a 500 with an empty reason, e.g. `map: map[image:x] does not contain
  declared merge key: name`.

Strategic merge patch follows `k8s.io/apimachinery/pkg/util/strategicpatch`
(`StrategicMergeMapPatch`): patch metadata comes from the kind's schema
(`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`, on the property
or its `$ref` target); maps merge key-wise; lists merge by merge key (maps) or
as ordered sets (primitives) when the strategy is `merge` and are replaced
otherwise; `null` deletes; directives `$patch` (replace/delete/merge),
`$retainKeys`, `$deleteFromPrimitiveList/<f>` and `$setElementOrder/<f>` are
honoured. Without `$setElementOrder`, items new to a merged list go first, as
upstream's `mergeSortedSlice` does. One deliberate deviation: a value inserted
where the original had nothing is cleaned (directives applied, nulls dropped)
instead of being stored raw, because here no typed decode drops the
directives afterwards.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import jsonpatch
import orjson

from kybernetes.api import schema as schemas
from kybernetes.api.errors import Cause, StatusError, bad_request, invalid, too_large

Schema = dict[str, Any]

MAX_JSON_PATCH_OPERATIONS = 10000

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PREFIX = "$deleteFromPrimitiveList"
_ORDER_PREFIX = "$setElementOrder"

# mergepatch sentinel errors (k8s.io/apimachinery/pkg/util/mergepatch/errors.go)
_ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
_ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_ORDER_LIST = "invalid patch format of setElementOrder list"
_SMP_UNSUPPORTED = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
)
_GENERIC_422 = "the server rejected our request due to an error in our request"


# --- public API ----------------------------------------------------------------


def apply_json_patch(obj: dict, patch: bytes | str | list, *, in_place: bool = False) -> dict:
    """Apply an RFC 6902 JSON patch; returns a new object (`in_place`: `obj` itself is
    patched, for a caller that owns it and drops it on error)."""
    ops = _decode(patch, prefix="error decoding patch: ") if _is_raw(patch) else patch
    if ops is None:
        ops = []
    if not isinstance(ops, list):
        raise _cannot_unmarshal(ops, "[]handlers.jsonPatchOp", "error decoding patch: ")
    for op in ops:
        _check_op_shape(op)
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise too_large(
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}"
        )
    try:
        result = jsonpatch.JsonPatch(ops).apply(obj, in_place=in_place)
    except (
        jsonpatch.JsonPatchException,
        jsonpatch.JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ):
        # NewGenericServerResponse(422, ...) ignores the server message.
        raise StatusError(422, "Invalid", _GENERIC_422) from None
    if not isinstance(result, dict):
        raise _not_an_object(result)
    return result


def apply_merge_patch(obj: dict, patch: bytes | str | dict, *, in_place: bool = False
                      ) -> dict:
    """Apply an RFC 7386 JSON merge patch; returns a new object (`in_place`: `obj`
    itself, for a caller that owns it)."""
    doc = _decode(patch, prefix="error decoding patch: ") if _is_raw(patch) else patch
    if doc is None:
        raise bad_request("Invalid JSON Patch")  # evanphx/json-patch ErrBadJSONPatch
    if not isinstance(doc, dict):
        raise _cannot_unmarshal(doc, "map[string]interface {}", "error decoding patch: ")
    result = obj if in_place else _copy(obj)
    _merge_patch_into(result, doc)
    return result


def check_strategic_supported(schema: Schema | None) -> None:
    """Raise 415 when strategic merge patch cannot apply (no schema: custom resources).

    Upstream's CRD handler does not list the strategic media type, so the
    request fails content negotiation with the list of accepted types.
    """
    if schema is None:
        raise StatusError(415, "UnsupportedMediaType", _SMP_UNSUPPORTED)


def apply_strategic_merge_patch(
    obj: dict, patch: bytes | str | dict, schema: Schema | None, *, in_place: bool = False
) -> dict:
    """Apply a strategic merge patch against the kind's root `schema`; returns a new object
    (`in_place`: `obj` may be reused, for a caller that owns it)."""
    check_strategic_supported(schema)
    doc = _decode(patch, prefix="") if _is_raw(patch) else patch
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _cannot_unmarshal(doc, "map[string]interface {}", "")
    return _merge_map(obj if in_place else _copy(obj), doc, schema)


# --- decoding and errors ---------------------------------------------------------


def _is_raw(patch: object) -> bool:
    return isinstance(patch, bytes | bytearray | memoryview | str)


def _decode(body: bytes | bytearray | memoryview | str, *, prefix: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(prefix + _go_syntax_error(body, exc)) from None


def _go_syntax_error(
    body: bytes | bytearray | memoryview | str, exc: orjson.JSONDecodeError
) -> str:
    """Approximate encoding/json's syntax error text."""
    text = body if isinstance(body, str) else bytes(body).decode("utf-8", "replace")
    pos = getattr(exc, "pos", len(text))
    if not text.strip() or pos >= len(text):
        return "unexpected end of JSON input"
    char = text[pos]
    quoted = "'\\''" if char == "'" else f"'{char}'"
    if "trailing" in str(exc):
        return f"invalid character {quoted} after top-level value"
    return f"invalid character {quoted} looking for beginning of value"


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _cannot_unmarshal(value: object, go_type: str, prefix: str) -> StatusError:
    kind = _json_kind(value)
    return bad_request(f"{prefix}json: cannot unmarshal {kind} into Go value of type {go_type}")


def _check_op_shape(op: object) -> None:
    if op is None:
        return
    if not isinstance(op, dict):
        raise _cannot_unmarshal(op, "handlers.jsonPatchOp", "error decoding patch: ")
    for name in ("op", "path", "from"):
        if name in op and op[name] is not None and not isinstance(op[name], str):
            raise bad_request(
                f"error decoding patch: json: cannot unmarshal {_json_kind(op[name])} "
                f"into Go struct field jsonPatchOp.{name} of type string"
            )


def _not_an_object(result: object) -> StatusError:
    text = orjson.dumps(result).decode()
    kind = _json_kind(result)
    detail = f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
    message = f"Invalid value: {_go_quote(text)}: {detail}"
    return invalid("", "", [Cause("FieldValueInvalid", message, "patch")])


def _merge_error(message: str) -> StatusError:
    """A plain Go error upstream: answered as 500 with an empty (unknown) reason."""
    return StatusError(500, "", message)


def _no_merge_key(item: object, merge_key: str) -> StatusError:
    return _merge_error(f"map: {_go_format(item)} does not contain declared merge key: {merge_key}")


def _unknown_directive(directive: object, item: dict) -> StatusError:
    return _merge_error(f"unknown patch type: {_go_format(directive)} in map: {_go_format(item)}")


def _bad_arg_type(expected: str, actual: object) -> StatusError:
    return _merge_error(f"expected a {expected}, but received a {_go_type(actual)}")


def _go_quote(text: str) -> str:
    return orjson.dumps(text).decode()


def _go_type(value: object) -> str:
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def _go_format(value: object) -> str:
    """Render like Go's `%v` of decoded JSON (maps with sorted keys)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_format(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _copy(obj: dict) -> dict:
    """The one deep copy per call (an orjson round trip is much faster than deepcopy)."""
    try:
        return orjson.loads(orjson.dumps(obj))
    except (TypeError, orjson.JSONEncodeError):
        return copy.deepcopy(obj)


# --- JSON merge patch --------------------------------------------------------------


def _merge_patch_into(target: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_patch_into(target[key], value)
        else:
            target[key] = _pruned(value)


def _pruned(value: Any) -> Any:
    """A copy of a patch value with nulls removed from its objects (evanphx pruneNulls)."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


# --- strategic merge patch: metadata -------------------------------------------------


def _patch_meta(schema: Schema | None, key: str) -> tuple[Schema | None, str, str]:
    """(field schema, patch strategy without retainKeys, merge key) of field `key`."""
    prop = schemas.field(schema, key) if schema is not None else None
    if prop is None:
        return None, "", ""
    raw = prop.get("x-kubernetes-patch-strategy")
    merge_key = prop.get("x-kubernetes-patch-merge-key")
    if raw is None or merge_key is None:
        target = schemas.resolve(prop) if "$ref" in prop else None
        if target is not None:
            if raw is None:
                raw = target.get("x-kubernetes-patch-strategy")
            if merge_key is None:
                merge_key = target.get("x-kubernetes-patch-merge-key")
    return prop, _strategy(raw), merge_key or ""


def _strategy(raw: str | None) -> str:
    """extractRetainKeysPatchStrategy: the list/map strategy, `retainKeys` removed."""
    if not raw:
        return ""
    parts = [p for p in raw.split(",") if p and p != "retainKeys"]
    if len(parts) > 1:
        raise _merge_error(f"unexpected patch strategy: [{' '.join(raw.split(','))}]")
    return parts[0] if parts else ""


# --- strategic merge patch: maps -------------------------------------------------------


def _merge_map(original: dict, patch: dict, schema: Schema | None) -> dict:
    """Merge `patch` into `original` (owned, mutated) and return the result."""
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            return _fresh_map({k: v for k, v in patch.items() if k != _DIRECTIVE}, schema)
        if directive == "delete":
            return {}
        raise _unknown_directive(directive, patch)
    if _RETAIN_KEYS in patch:
        _apply_retain_keys(original, patch)
    handled: set[str] = set()
    if any(k.startswith(_ORDER_PREFIX) for k in patch):
        handled = _apply_element_orders(original, patch, schema)
    for key, value in patch.items():
        if key == _RETAIN_KEYS or key in handled or key.startswith(_ORDER_PREFIX):
            continue
        if key.startswith(_DELETE_PREFIX):
            _delete_from_primitive_list(original, _extract_key(key, _DELETE_PREFIX), value)
            continue
        if value is None:
            original.pop(key, None)
            continue
        original[key] = _merge_value(original.get(key), value, schema, key)
    return original


def _merge_value(current: Any, value: Any, schema: Schema | None, key: str) -> Any:
    child, strategy, merge_key = _patch_meta(schema, key)
    if isinstance(value, dict):
        if isinstance(current, dict) and strategy != "replace":
            return _merge_map(current, value, child)
        return _fresh_map(value, child)
    if isinstance(value, list):
        if isinstance(current, list) and strategy == "merge":
            return _merge_list(current, value, schemas.items(child), merge_key)
        return _fresh_list(value, schemas.items(child))
    return value


def _fresh_map(patch: dict, schema: Schema | None) -> dict:
    """A patch map applied to nothing: directives resolved, nulls dropped, no aliasing."""
    return _merge_map({}, patch, schema)


def _fresh_list(patch: list, elem_schema: Schema | None) -> list:
    out = []
    for item in patch:
        if isinstance(item, dict):
            if _DIRECTIVE in item:
                continue  # delete/replace/merge markers have nothing to act on
            out.append(_fresh_map(item, elem_schema))
        elif isinstance(item, list):
            out.append(copy.deepcopy(item))
        else:
            out.append(item)
    return out


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise bad_request(_ERR_PRIMITIVE_LIST if prefix == _DELETE_PREFIX else _ERR_ORDER_LIST)
    return rest


def _apply_retain_keys(original: dict, patch: dict) -> None:
    """Clear fields of `original` not named in `$retainKeys`; the patch must stay within it."""
    keys = patch[_RETAIN_KEYS]
    if not isinstance(keys, list):
        raise bad_request(_ERR_RETAIN_KEYS)
    allowed = {k for k in keys if isinstance(k, str)}
    for key, value in patch.items():
        if key == _RETAIN_KEYS or value is None:
            continue
        if key.startswith(_DELETE_PREFIX) or key.startswith(_ORDER_PREFIX):
            continue
        if key not in allowed:
            raise bad_request(_ERR_RETAIN_KEYS)
    for key in [k for k in original if k not in allowed]:
        del original[key]


def _delete_from_primitive_list(original: dict, key: str, values: Any) -> None:
    if values is None:
        original.pop(key, None)
        return
    if not isinstance(values, list):
        raise bad_request(_ERR_PRIMITIVE_LIST)
    current = original.get(key)
    # Newer upstream: deleting from a missing list does not create it.
    if not isinstance(current, list):
        return
    doomed = {_identity(v) for v in values}
    original[key] = [v for v in current if _identity(v) not in doomed]


# --- strategic merge patch: lists -------------------------------------------------------


def _identity(value: Any) -> Any:
    """A hashable key with Go's interface equality (1 != "1", true != 1)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z", None)
    return ("j", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def _item_key(item: Any, merge_key: str) -> Any:
    if merge_key:
        if not isinstance(item, dict):
            raise _bad_arg_type("map[string]interface {}", item)
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        return _identity(item[merge_key])
    return _identity(item)


def _element_kind(*lists: Iterable[Any]) -> str:
    """sliceElementType: "map", or the scalar type; lists of lists are refused."""
    kind = ""
    for items in lists:
        for item in items:
            if isinstance(item, list):
                # ErrNoListOfLists is answered with NewGenericServerResponse(422).
                raise StatusError(422, "Invalid", _GENERIC_422)
            current = "map" if isinstance(item, dict) else _go_type(item)
            if kind and current != kind:
                raise _merge_error(
                    f"list element types are not identical: {_go_format([list(x) for x in lists])}"
                )
            kind = current
    return kind


def _merge_list(original: list, patch: list, elem_schema: Schema | None, merge_key: str) -> list:
    """mergeSlice: merge a patch list into `original` (owned) under strategy `merge`."""
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind != "map":
        merged = _dedupe([*original, *patch])
        return _normalize(merged, patch, original, "")
    if not merge_key:
        raise _merge_error("cannot merge lists without merge key for type struct")
    original, plain, replace = _apply_list_directives(original, patch, merge_key)
    if replace:
        return [_fresh_map(item, elem_schema) for item in plain]
    merged = list(original)
    for item in plain:
        wanted = _item_key(item, merge_key)
        for i, existing in enumerate(merged):
            if merge_key in existing and _identity(existing[merge_key]) == wanted:
                merged[i] = _merge_map(existing, item, elem_schema)
                break
        else:
            merged.append(_fresh_map(item, elem_schema))
    return _normalize(merged, plain, original, merge_key)


def _apply_list_directives(original: list, patch: list, merge_key: str) -> tuple[list, list, bool]:
    """mergeSliceWithSpecialElements: apply `$patch` items.

    Returns (original without deleted items, items without directives, replace?).
    """
    plain: list = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            doomed = _identity(item[merge_key])
            original = [x for x in original if not _has_key_value(x, merge_key, doomed)]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _merge_error("merging lists cannot yet be specified in the patch")
        else:
            raise _unknown_directive(directive, item)
    return original, plain, replace


def _has_key_value(item: Any, merge_key: str, wanted: Any) -> bool:
    return isinstance(item, dict) and merge_key in item and _identity(item[merge_key]) == wanted


def _dedupe(items: list) -> list:
    seen: set[Any] = set()
    out = []
    for item in items:
        key = _identity(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _positions(order: list, merge_key: str) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for i, item in enumerate(order):
        out.setdefault(_item_key(item, merge_key), i)
    return out


def _normalize(merged: list, patch_order: list, server_order: list, merge_key: str) -> list:
    """Partition `merged` into patch items and server-only items, then interleave them.

    Patch items keep the patch's order, server-only items the server's; the
    two are merged as upstream's `mergeSortedSlice` does: a server-only item
    goes before a patch item only when both are in the server list and it
    came first there. So items new to the list end up in front.
    """
    in_patch = _positions(patch_order, merge_key)
    patch_items, server_only = [], []
    for item in merged:
        (patch_items if _item_key(item, merge_key) in in_patch else server_only).append(item)
    server_pos = _positions(server_order, merge_key)
    patch_items.sort(key=lambda x: in_patch[_item_key(x, merge_key)])
    server_only.sort(key=lambda x: server_pos.get(_item_key(x, merge_key), len(server_order)))
    out = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        else:
            left = server_pos.get(_item_key(server_only[i], merge_key))
            right = server_pos.get(_item_key(patch_items[j], merge_key))
            if left is not None and right is not None and left < right:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


# --- strategic merge patch: $setElementOrder -------------------------------------------


def _apply_element_orders(original: dict, patch: dict, schema: Schema | None) -> set[str]:
    """mergePatchIntoOriginal: merge each list that has a `$setElementOrder/<f>` and order it.

    Precedence of order: `$setElementOrder` > order in the patch list > order
    in the live list. Returns the list fields already merged here.
    """
    handled: set[str] = set()
    for key, order in patch.items():
        if not key.startswith(_ORDER_PREFIX):
            continue
        if not isinstance(order, list):
            raise _bad_arg_type("[]interface {}", order)
        field = _extract_key(key, _ORDER_PREFIX)
        live = original.get(field)
        wanted = patch.get(field)
        if live is not None and not isinstance(live, list):
            raise _bad_arg_type("[]interface {}", live)
        if wanted is not None and not isinstance(wanted, list):
            raise _bad_arg_type("[]interface {}", wanted)
        child, strategy, merge_key = _patch_meta(schema, field)
        _validate_order(wanted or [], order, merge_key)
        if live is None and wanted is None:
            continue
        if wanted is None:
            merged = live
        elif live is None:
            merged = _fresh_list(wanted, schemas.items(child))
        elif strategy == "merge":
            merged = _merge_list(list(live), wanted, schemas.items(child), merge_key)
        else:
            merged = _fresh_list(wanted, schemas.items(child))
        handled.add(field)
        if not merged:
            original[field] = merged
            continue
        original[field] = _normalize(merged, order, live or [], merge_key)
    return handled


def _validate_order(patch_list: list, order: list, merge_key: str) -> None:
    """validatePatchWithSetOrderList: the patch list must follow the order list."""
    if not patch_list or not order:
        return
    items = patch_list
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _bad_arg_type("map[string]interface {}", item)
        items = [x for x in patch_list if x.get(_DIRECTIVE) != "delete"]
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and _DIRECTIVE in items[p]:
            p += 1
            continue
        if _item_key(items[p], merge_key) == _item_key(order[s], merge_key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise _merge_error(
            f"The order in patch list:\n{_go_format(patch_list)}\n doesn't match "
            f"{_ORDER_PREFIX} list:\n{_go_format(order)}\n"
        )
