"""Server-side apply: `PATCH` with `Content-Type: application/apply-patch+yaml`.

Upstream: k8s.io/apiserver/pkg/endpoints/handlers/patch.go (`applyPatcher`,
`ValidatePatchOptions`) over the FieldManager (`api.managedfields.apply`).

    PATCH .../NAME?fieldManager=M[&force=true][&dryRun=All]   body: the configuration

- `fieldManager` is required (422 on PatchOptions); `force` only goes with apply;
- the body is YAML (JSON is YAML) with the URL's apiVersion and kind (400
  `invalid object type: ...` otherwise) and without managedFields;
- a missing object is created (201) unless the request is for a subresource;
- a field owned by another manager whose value the configuration changes is a
  409 Conflict with one `FieldManagerConflict` cause per field, unless forced;
- the merged object then goes through the registry like any patch: defaulting,
  strategy, admission, validation, dry run, optimistic concurrency (a
  `resourceVersion` in the configuration is a precondition).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from kybernetes.api import managedfields as mf
from kybernetes.api import typed
from kybernetes.api.errors import Cause, StatusError, bad_request, invalid, not_found
from kybernetes.api.registry import ResourceInfo
from kybernetes.apiserver import codec, strategy
from kybernetes.apiserver.fieldmanager import Applied, ignored_fields, node_for, zero_object
from kybernetes.apiserver.rest import RestStorage, WriteOptions

Obj = dict[str, Any]

_CREATE_RETRIES = 4


@dataclass(kw_only=True)
class ApplyOptions(WriteOptions, Applied):
    """The write options of an apply request (see `fieldmanager.Applied`)."""


def _apply_options(opts: WriteOptions, manager: str) -> ApplyOptions:
    values = {f.name: getattr(opts, f.name) for f in fields(WriteOptions) if f.init}
    values["field_manager"] = manager
    return ApplyOptions(**values)  # shares opts.warnings


def patch_options(query: Mapping[str, str], patch_type: str) -> tuple[str, bool]:
    """(fieldManager, force) of a PATCH, checked like upstream ValidatePatchOptions."""
    manager = query.get("fieldManager", "")
    causes = []
    force_text = query.get("force")
    if patch_type != codec.APPLY_PATCH:
        if force_text is not None:
            causes.append(Cause("FieldValueForbidden",
                                "Forbidden: may not be specified for non-apply patch", "force"))
    elif not manager:
        causes.append(Cause("FieldValueRequired", "Required value: is required for apply patch",
                            "fieldManager"))
    causes.extend(mf.validate_field_manager(manager))
    if causes:
        raise invalid("PatchOptions", "", causes, "meta.k8s.io")
    force = False
    if force_text is not None:
        lowered = force_text.lower()
        if lowered not in ("true", "false", "1", "0", ""):
            raise bad_request(f'force: Invalid value: "{force_text}": strconv.ParseBool: '
                              f'parsing "{force_text}": invalid syntax')
        force = lowered in ("true", "1")
    return manager, force


def decode_config(body: bytes) -> Obj:
    """The applied configuration; 400 `error decoding YAML: ...` when it is not a map."""
    text = body.strip()
    if not text or text == b"null":
        return {}
    try:
        return codec.decode_apply_body(body)
    except StatusError as err:
        if err.code != 400:
            raise
        if err.message.startswith("error converting YAML"):
            raise bad_request(f"error decoding YAML: {err.message}") from None
        raise bad_request("error decoding YAML: json: cannot unmarshal non-object into Go "
                          "value of type map[string]interface {}") from None


def _gvk_string(api_version: Any, kind: Any) -> str:
    """Go's GroupVersionKind.String() of a body's apiVersion and kind."""
    group = version = ""
    av = api_version if isinstance(api_version, str) else ""
    if av.count("/") == 1:
        group, version = av.split("/")
    elif "/" not in av:
        version = av
    return f"{group}/{version}, Kind={kind if isinstance(kind, str) else ''}"


def check_config(info: ResourceInfo, config: Obj) -> None:
    """The upstream versionCheckManager and structuredMergeManager preconditions."""
    want = _gvk_string(info.group_version, info.kind)
    got = _gvk_string(config.get("apiVersion"), config.get("kind"))
    if got != want:
        raise bad_request(f"invalid object type: {got}")
    meta = config.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise StatusError(500, "", f"failed to create typed patch object "
                          f"({_gvknn(info, config)}): .metadata: expected map, got "
                          f"{typed.json_type(meta)}")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")


def _gvknn(info: ResourceInfo, config: Obj) -> str:
    meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    return (f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; "
            f"{_gvk_string(info.group_version, info.kind)}")


class _Applier:
    """One apply request: merges the configuration into whatever is stored."""

    def __init__(self, info: ResourceInfo, namespace: str, name: str, config: Obj,
                 manager: str, force: bool, subresource: str) -> None:
        self.info = info
        self.namespace = namespace
        self.name = name
        self.config = config
        self.manager = manager
        self.force = force
        self.subresource = subresource
        self.node = node_for(info)
        self.ignored = ignored_fields(info, subresource)

    def merged(self, live: Obj, *, create: bool) -> Obj:
        try:
            managed = mf.decode((live.get("metadata") or {}).get("managedFields"))
        except mf.ManagedFieldsError as exc:
            raise StatusError(500, "", f"failed to decode managed fields: {exc}") from None
        zero = zero_object(self.info)
        try:
            result = mf.apply(live, self.config, managed, manager=self.manager,
                              subresource=self.subresource,
                              api_version=self.info.group_version, node=self.node,
                              ignored=self.ignored, force=self.force,
                              now=strategy.now_rfc3339(), zero=zero)
        except typed.TypedError as exc:
            raise StatusError(500, "", f"failed to create typed patch object "
                              f"({_gvknn(self.info, self.config)}): {exc.message()}") from None
        except mf.ApplyConflicts as exc:
            raise mf.conflict_error(exc.conflicts) from None
        obj = result.obj
        mf.set_on(obj, result.managed)
        self._check_identity(obj, create=create)
        return obj

    def _check_identity(self, obj: Obj, *, create: bool) -> None:
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or ""
        if not name and create:
            raise bad_request(f"the name of the object ({self.name} based on URL) was "
                              "undeterminable: name must be provided")
        if name and name != self.name:
            raise bad_request(f"the name of the object ({name}) does not match the name on "
                              f"the URL ({self.name})")
        ns = meta.get("namespace") or ""
        if self.info.namespaced and ns and ns != self.namespace:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")


async def server_side_apply(rest: RestStorage, info: ResourceInfo, namespace: str, name: str,
                            body: bytes, query: Mapping[str, str], opts: WriteOptions,
                            subresource: str = "") -> tuple[Obj, bool]:
    """Apply the configuration in `body`; returns (object, created)."""
    manager, force = patch_options(query, codec.APPLY_PATCH)
    config = decode_config(body)
    check_config(info, config)
    applier = _Applier(info, namespace, name, config, manager, force, subresource)
    aopts = _apply_options(opts, manager)
    patch_rv = bool((config.get("metadata") or {}).get("resourceVersion"))

    def mutate(old: Obj | None) -> Obj:
        assert old is not None
        return applier.merged(old, create=False)

    for _ in range(_CREATE_RETRIES):
        try:
            obj, _ = await rest._guaranteed_update(
                info, namespace, name, mutate, aopts, precondition_rv="",
                subresource=subresource, patch_rv=patch_rv, patch=True)
            return obj, False
        except StatusError as err:
            if err.code != 404 or subresource or err.kind != info.plural:
                raise
        if patch_rv:
            raise not_found(info.plural, name, info.group)
        new = applier.merged({}, create=True)
        rest.check_body(info, new, None, aopts)
        try:
            return await rest.create(info, namespace, copy.deepcopy(new), aopts), True
        except StatusError as err:
            if err.code != 409 or err.reason != "AlreadyExists":
                raise
    raise StatusError(409, "Conflict", f"apply of {info.qualified} \"{name}\" kept racing "
                      "with creates and deletes; retry")

