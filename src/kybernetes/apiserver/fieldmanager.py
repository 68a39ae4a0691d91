"""Managed fields on every write: the registry's hook into `api.managedfields`.

`RestStorage` calls `track(...)` once the object of a create (after defaulting)
or of an update/patch (after the strategy prepared it) is known; it records the
request's manager as owner of what the request changed (operation Update), as
upstream's FieldManager.UpdateNoErrors does from the create/update/patch
handlers. Server-side apply computes managed fields itself (`apiserver.apply`)
and marks its write options with `Applied` so that this hook leaves them alone.

Which managedFields a write starts from (upstream decodeLiveOrNew):
- a subresource write: the stored object's (a client cannot set them there);
- `[]` or `[{}]` in the request: none (a reset; the object stays untracked until
  the next apply);
- valid managedFields in the request: those (clients may edit them, as kubectl's
  client-side to server-side apply migration does);
- otherwise (absent, empty, garbage): the stored object's.
"""

from __future__ import annotations

import functools
from typing import Any

from kybernetes.api import managedfields as mf
from kybernetes.api import typed
from kybernetes.api.fieldpath import FieldSet
from kybernetes.api.registry import ResourceInfo
from kybernetes.apiserver import strategy

Obj = dict[str, Any]

# Writes the apiserver makes itself (bootstrap namespaces, the kubernetes Service) are
# recorded as upstream's loopback client records them.
_SELF_USER = "system:apiserver"
_SELF_MANAGER = "kube-apiserver"


class Applied:
    """Marks the write options of a server-side apply: the object's managedFields are
    already computed."""


def node_for(info: ResourceInfo) -> typed.Node:
    """The schema walked for `info`'s objects: the built-in definition, or a custom
    resource's openAPIV3Schema with ObjectMeta as its metadata (as upstream's CRD type
    converter); UNTYPED for kinds without either."""
    if info.custom is not None:
        return _custom_node(info.custom)
    return typed.for_kind(info.group, info.version, info.kind)


_OBJECT_META = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
_STRING = {"type": "string"}


@functools.lru_cache(maxsize=256)
def _custom_node(custom: Any) -> typed.Node:
    base = custom.schema if isinstance(getattr(custom, "schema", None), dict) else {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if getattr(custom, "preserve_unknown_fields", False):
        base = {**base, "x-kubernetes-preserve-unknown-fields": True}
    root = {**base, "type": "object", "properties": {
        **(base.get("properties") or {}), "apiVersion": _STRING, "kind": _STRING,
        "metadata": _OBJECT_META}}
    return typed.compile_schema(root)


@functools.lru_cache(maxsize=1024)
def _top_level(info: ResourceInfo) -> tuple[str, ...]:
    node = node_for(info)
    return tuple(node.props) if isinstance(node, typed.MapNode) else ()


def ignored_fields(info: ResourceInfo, subresource: str) -> FieldSet | None:
    """Fields the strategy resets on this endpoint, which nobody owns through it
    (upstream GetResetFields): status on the main resource of kinds with a status
    subresource; on /status everything but status."""
    if subresource == "status":
        return FieldSet.of(*(("f:" + k,) for k in _top_level(info) if k not in (
            "status", "apiVersion", "kind")), ("f:metadata",), ("f:spec",))
    if not subresource and strategy.has_status(info) and (info.group, info.kind) != (
            "", "Node"):
        return _STATUS
    return None


# Field sets are values that operations never mutate: one instance serves every request.
_STATUS = FieldSet.of(("f:status",))


def zero_object(info: ResourceInfo) -> Obj:
    """`api.managedfields.zero_object` of the kind (shared: read-only)."""
    # Cached by name: hashing a ResourceInfo (every field, subresources too) costs more.
    return _zero_object(info.group, info.version, info.kind)


@functools.lru_cache(maxsize=1024)
def _zero_object(group: str, version: str, kind: str) -> Obj:
    return mf.zero_object(group, version, kind)


def manager_name(opts: Any) -> str:
    name = getattr(opts, "field_manager", "")
    if name:
        return name
    user = getattr(opts, "user", None)
    return _SELF_MANAGER if getattr(user, "name", "") == _SELF_USER else ""


def _meta(obj: Obj | None) -> Obj:
    meta = (obj or {}).get("metadata")
    return meta if isinstance(meta, dict) else {}


def _decode_or_empty(entries: Any, *, validate: bool = False) -> mf.Managed:
    try:
        return mf.decode(entries, validate=validate)
    except mf.ManagedFieldsError:
        return mf.Managed()


def starting_managed(new: Obj, old: Obj | None, subresource: str) -> mf.Managed:
    live_entries = _meta(old).get("managedFields")
    if subresource:
        return _decode_or_empty(live_entries)
    entries = _meta(new).get("managedFields")
    if mf.is_reset(entries):
        return mf.Managed()
    if entries is not None:
        try:
            managed = mf.decode(entries, validate=entries != live_entries)
        except mf.ManagedFieldsError:
            managed = mf.Managed()
        if managed.fields:
            return managed
    return _decode_or_empty(live_entries)


def track(info: ResourceInfo, new: Obj, old: Obj | None, opts: Any, subresource: str = ""
          ) -> None:
    """Set `new`'s managedFields for a create (`old` None) or an update of `old`, in
    place. Never fails the request: on a problem the stored managedFields are kept."""
    if subresource == "binding":
        return
    if isinstance(opts, Applied):
        if old is not None:
            keep_times_of_noop(new, old)
        return
    meta = new.setdefault("metadata", {})
    managed = mf.Managed() if old is None and meta.get("managedFields") is None else (
        starting_managed(new, old, subresource))
    if not managed.fields and old is not None:
        # Not tracked since its managed fields were reset (upstream skipNonApplied).
        meta.pop("managedFields", None)
        return
    try:
        if old is None and not managed.fields:
            # A create that brings no managed fields: the common case, in one walk.
            entries = mf.track_create(
                new, manager=manager_name(opts), api_version=info.group_version,
                subresource=subresource, node=node_for(info),
                ignored=ignored_fields(info, subresource), now=strategy.now_rfc3339(),
                zero=zero_object(info))
            if entries is None:
                meta.pop("managedFields", None)
            else:
                meta["managedFields"] = entries
            _MFCHECK(info, new, opts, subresource, managed)
            return
        out = mf.track_update(
            old, new, managed, manager=manager_name(opts), api_version=info.group_version,
            subresource=subresource, node=node_for(info),
            ignored=ignored_fields(info, subresource), now=strategy.now_rfc3339(),
            zero=zero_object(info) if old is None else None)
    except (ValueError, TypeError, KeyError):
        # Upstream's "[SHOULD NOT HAPPEN]" path: keep what was stored.
        if _meta(old).get("managedFields") is not None:
            meta["managedFields"] = _meta(old)["managedFields"]
        else:
            meta.pop("managedFields", None)
        return
    mf.set_on(new, out)
    if old is not None:
        keep_times_of_noop(new, old)


def keep_times_of_noop(new: Obj, old: Obj) -> None:
    """When a write changes nothing but managed-field times, keep the stored times so
    that the write is a no-op (upstream IgnoreManagedFieldsTimestampsTransformer)."""
    new_meta, old_meta = _meta(new), _meta(old)
    new_mf, old_mf = new_meta.get("managedFields"), old_meta.get("managedFields")
    if new_mf == old_mf or not mf.same_ignoring_times(new_mf, old_mf):
        return
    ignore = ("managedFields", "resourceVersion")
    if {k: v for k, v in new_meta.items() if k not in ignore} != {
            k: v for k, v in old_meta.items() if k not in ignore}:
        return
    if {k: v for k, v in new.items() if k != "metadata"} != {
            k: v for k, v in old.items() if k != "metadata"}:
        return
    new_meta["managedFields"] = old_mf


import os as _os  # noqa: E402

_CHECK = bool(_os.environ.get("KYB_MF_CHECK"))


def _MFCHECK(info, new, opts, subresource, managed):  # TEMPORARY differential check
    if not _CHECK:
        return
    import copy as _c

    import orjson as _o
    probe = _c.deepcopy(new)
    out = mf.track_update(
        None, probe, managed, manager=manager_name(opts), api_version=info.group_version,
        subresource=subresource, node=node_for(info),
        ignored=ignored_fields(info, subresource), now=strategy.now_rfc3339(),
        zero=zero_object(info))
    mf.set_on(probe, out)
    a = _o.dumps(new["metadata"].get("managedFields"))
    b = _o.dumps(probe["metadata"].get("managedFields"))
    with open("/tmp/kyb-perf/mfcheck.log", "a") as f:
        f.write(("OK " if a == b else "MISMATCH ") + info.kind + "\n")
        if a != b:
            f.write(_o.dumps(new).decode() + "\n" + a.decode() + "\n" + b.decode() + "\n")
