"""CustomResourceDefinitions: what a CRD makes the server serve, and the CRD kind's rules.

A CRD that is Established becomes one `ResourceInfo` per served version
(`resource_infos`), each carrying a `CustomResource`: the version's structural
schema, printer columns, status/scale subresources and storage version. The
generic registry (apiserver.rest) then serves custom resources through the same
code path as built-ins, calling the `CustomResource` for the steps that differ:
pruning unknown fields, schema defaults, schema and CEL validation, Table
columns, the Scale view, and the OpenAPI schema.

This module also holds the rules of the `apiextensions.k8s.io/v1`
CustomResourceDefinition kind itself (after apiextensions-apiserver
pkg/apis/apiextensions/v1/defaults.go, pkg/registry/customresourcedefinition
and pkg/controller/status/naming_controller.go): defaulting, create/update
preparation of the status, deletion behind the
`customresourcecleanup.apiextensions.k8s.io` finalizer, accepted names and
conditions. Validation of CRD objects lives in `api.crd_validation`.

Pure: no I/O; the time is passed in.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kybernetes.api import crd_schema, jsonpath
from kybernetes.api import schema as api_schema
from kybernetes.api.errors import Cause
from kybernetes.api.registry import ResourceInfo, Subresource
from kybernetes.api.tables import parse_time, since

Obj = dict[str, Any]

GROUP = "apiextensions.k8s.io"
KIND = "CustomResourceDefinition"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_STATUS_VERBS = ("get", "patch", "update")
_META_DEF = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LIST_META_DEF = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"


def is_crd(info: ResourceInfo) -> bool:
    return (info.group, info.kind) == (GROUP, KIND)


# --- what one served version of a CRD is --------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One `additionalPrinterColumns` entry."""

    name: str
    type: str
    json_path: str
    format: str = ""
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class ScaleSpec:
    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str = ""


_DEFAULT_COLUMNS = (Column("Age", "date", ".metadata.creationTimestamp"),)


@dataclass(frozen=True, eq=False)
class CustomResource:
    """A served version of a CRD, as the registry needs it. Equal (and hashed) by the
    CRD's uid, generation and version, so caches keyed by ResourceInfo see updates."""

    crd_name: str
    uid: str
    generation: int
    group: str
    version: str
    kind: str
    singular: str
    list_kind: str
    storage_version: str
    schema: Obj | None
    preserve_unknown_fields: bool = False
    columns: tuple[Column, ...] = _DEFAULT_COLUMNS
    scale: ScaleSpec | None = None

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.crd_name, self.uid, self.generation, self.version)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CustomResource) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    # --- writes -------------------------------------------------------------------------

    def prune(self, obj: Obj) -> list[str]:
        """Remove unknown fields (in place); their paths, for fieldValidation."""
        if self.preserve_unknown_fields:
            return crd_schema.prune(obj, {"x-kubernetes-preserve-unknown-fields": True},
                                    kind=self.kind, version=self.version)
        return crd_schema.prune(obj, self.schema, kind=self.kind, version=self.version)

    def decode_errors(self, obj: Obj) -> list[str]:
        """What decoding fails on before any schema applies: wrongly typed ObjectMeta."""
        msg = crd_schema.metadata_type_error(obj, kind=self.kind, version=self.version)
        return [msg] if msg else []

    def default(self, obj: Obj) -> None:
        crd_schema.default(obj, self.schema)

    def validate(self, obj: Obj, old: Obj | None) -> list[Cause]:
        """Schema, scale-path and CEL errors of `obj` (`old` for transition rules)."""
        out = crd_schema.validate(obj, self.schema)
        out += self._validate_scale(obj)
        out += crd_schema.validate_rules(obj, old, self.schema)
        return out

    def _validate_scale(self, obj: Obj) -> list[Cause]:
        """ValidateScaleSpec/Status: replicas at the scale paths are int32s >= 0 (the
        field is the path as written, leading dot included)."""
        if self.scale is None:
            return []
        out = []
        for path in (self.scale.spec_replicas_path, self.scale.status_replicas_path):
            found, value = jsonpath.first(obj, path)
            if not found or value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                go_type = {str: "string", float: "float64", bool: "bool", list: "[]interface {}",
                           dict: "map[string]interface {}"}.get(type(value), "interface {}")
                shown = json.dumps(value) if isinstance(value, list | dict) else (
                    str(value).lower() if isinstance(value, bool) else value)
                out.append(Cause("FieldValueInvalid", f"Invalid value: 0: {path} accessor "
                                 f"error: {shown} is of the type {go_type}, expected int64", path))
            elif value < 0:
                out.append(Cause("FieldValueInvalid", f"Invalid value: {value}: should be a "
                                 "non-negative integer", path))
            elif value > 2**31 - 1:
                out.append(Cause("FieldValueInvalid", f"Invalid value: {value}: should be less "
                                 "than or equal to 2147483647", path))
        return out

    # --- scale ----------------------------------------------------------------------------

    def scale_of(self, obj: Obj) -> Obj:
        """The autoscaling/v1 Scale of a custom resource (scaleFromCustomResource)."""
        assert self.scale is not None
        meta = obj.get("metadata") or {}
        _, spec = jsonpath.first(obj, self.scale.spec_replicas_path)
        _, status = jsonpath.first(obj, self.scale.status_replicas_path)
        out: Obj = {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": spec if isinstance(spec, int) else 0},
            "status": {"replicas": status if isinstance(status, int) else 0},
        }
        if self.scale.label_selector_path:
            _, selector = jsonpath.first(obj, self.scale.label_selector_path)
            if isinstance(selector, str) and selector:
                out["status"]["selector"] = selector
        return out

    def set_replicas(self, obj: Obj, replicas: int) -> None:
        assert self.scale is not None
        jsonpath.set_path(obj, self.scale.spec_replicas_path, replicas)

    # --- tables ---------------------------------------------------------------------------

    def column_definitions(self) -> list[Obj]:
        out = [{"name": "Name", "type": "string", "format": "name",
                "description": _doc(_META_DEF, "name"), "priority": 0}]
        for c in self.columns:
            out.append({"name": c.name, "type": c.type, "format": c.format,
                        "description": c.description, "priority": c.priority})
        return out

    def cells(self, obj: Obj, now: datetime) -> list[Any]:
        """A row's cells (tableconvertor.go): name, then each column's first match."""
        out: list[Any] = [(obj.get("metadata") or {}).get("name", "")]
        for c in self.columns:
            try:
                found, value = jsonpath.first(obj, c.json_path)
            except ValueError:
                found, value = False, None
            out.append(_cell(c.type, value, now) if found else None)
        return out

    # --- OpenAPI --------------------------------------------------------------------------

    def openapi_schemas(self, v3: bool) -> dict[str, Obj]:
        """The kind's and list kind's definitions (upstream's CRD OpenAPI builder)."""
        prefix = "#/components/schemas/" if v3 else "#/definitions/"
        name = _definition_name(self.group, self.version, self.kind)
        body = _openapi_node(copy.deepcopy(self.schema) if self.schema else {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}, v3)
        props = dict(body.get("properties") or {})
        base = api_schema.definitions().get("io.k8s.api.core.v1.ConfigMap", {})
        for field in ("apiVersion", "kind"):
            doc = ((base.get("properties") or {}).get(field) or {}).get("description", "")
            props[field] = {"description": doc, "type": "string"}
        meta_ref = {"$ref": prefix + _META_DEF}
        meta_doc = "Standard object's metadata. More info: https://git.k8s.io/community/" \
            "contributors/devel/sig-architecture/api-conventions.md#metadata"
        props["metadata"] = ({"allOf": [meta_ref], "description": meta_doc} if v3 else
                             {**meta_ref, "description": meta_doc})
        body["properties"] = dict(sorted(props.items()))
        body.setdefault("type", "object")
        body["x-kubernetes-group-version-kind"] = [
            {"group": self.group, "kind": self.kind, "version": self.version}]
        list_meta = {"$ref": prefix + _LIST_META_DEF}
        lst = {
            "description": f"{self.list_kind} is a list of {self.kind}",
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": props["apiVersion"],
                "items": {"description": f"List of {self.singular}s.",
                          "type": "array", "items": {"$ref": prefix + name}},
                "kind": props["kind"],
                "metadata": {"allOf": [list_meta]} if v3 else list_meta,
            },
            "x-kubernetes-group-version-kind": [
                {"group": self.group, "kind": self.list_kind, "version": self.version}],
        }
        return {name: body, _definition_name(self.group, self.version, self.list_kind): lst}


def _definition_name(group: str, version: str, kind: str) -> str:
    return ".".join([*reversed(group.split(".")), version, kind])


def _openapi_node(s: Any, v3: bool) -> Any:
    """A CRD schema node as published: v2 drops what Swagger 2.0 cannot say."""
    if not isinstance(s, dict):
        return s
    out: Obj = {}
    for k, v in s.items():
        if k in ("properties", "patternProperties", "definitions") and isinstance(v, dict):
            out[k] = {name: _openapi_node(x, v3) for name, x in v.items()}
        elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
            out[k] = _openapi_node(v, v3)
        elif k in ("allOf", "anyOf", "oneOf") and isinstance(v, list):
            if v3:
                out[k] = [_openapi_node(x, v3) for x in v]
        elif not v3 and k in ("nullable", "x-kubernetes-validations"):
            continue
        else:
            out[k] = v
    if not v3 and s.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out


def _doc(definition: str, field: str) -> str:
    d = api_schema.definitions().get(definition) or {}
    return ((d.get("properties") or {}).get(field) or {}).get("description", "")


def _cell(type_: str, value: Any, now: datetime) -> Any:
    """cellForJSONValue, and PrintResults for string columns."""
    if value is None:
        return None
    if type_ == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, separators=(",", ":"))
    if type_ == "integer":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
        return None
    if type_ == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None
    if type_ == "boolean":
        return value if isinstance(value, bool) else None
    if type_ == "date":
        if isinstance(value, str):
            return since(value, now) if parse_time(value) is not None else "<invalid>"
        return None
    return None


# --- ResourceInfos of a CRD -----------------------------------------------------------------


def storage_version(crd: Obj) -> str:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("storage"):
            return str(v.get("name"))
    return ""


def condition(crd: Obj, type_: str) -> Obj | None:
    for c in ((crd.get("status") or {}).get("conditions") or []):
        if c.get("type") == type_:
            return c
    return None


def is_true(crd: Obj, type_: str) -> bool:
    c = condition(crd, type_)
    return c is not None and c.get("status") == "True"


def resource_infos(crd: Obj) -> list[ResourceInfo]:
    """One ResourceInfo per served version, named by the CRD's accepted names."""
    spec = crd.get("spec") or {}
    names = (crd.get("status") or {}).get("acceptedNames") or {}
    group, kind, plural = spec.get("group", ""), names.get("kind", ""), names.get("plural", "")
    if not (group and kind and plural):
        return []
    namespaced = spec.get("scope") != "Cluster"
    storage = storage_version(crd)
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served"):
            continue
        custom = _custom(crd, v, names, storage)
        subs = []
        sub = v.get("subresources") or {}
        if isinstance(sub.get("status"), dict):
            subs.append(Subresource("status", kind, _STATUS_VERBS))
        if isinstance(sub.get("scale"), dict):
            subs.append(Subresource("scale", "Scale", _STATUS_VERBS, "autoscaling", "v1"))
        out.append(ResourceInfo(
            group, str(v.get("name")), kind, plural, namespaced,
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=tuple(subs), custom=custom))
    return out


def _custom(crd: Obj, version: Obj, names: Obj, storage: str) -> CustomResource:
    spec, meta = crd.get("spec") or {}, crd.get("metadata") or {}
    kind = names.get("kind", "")
    columns = tuple(
        Column(str(c.get("name", "")), str(c.get("type", "string")), str(c.get("jsonPath", "")),
               str(c.get("format") or ""), str(c.get("description") or ""),
               int(c.get("priority") or 0))
        for c in version.get("additionalPrinterColumns") or [] if isinstance(c, dict)
    ) or _DEFAULT_COLUMNS
    scale = (version.get("subresources") or {}).get("scale")
    scale_spec = ScaleSpec(str(scale.get("specReplicasPath") or ""),
                           str(scale.get("statusReplicasPath") or ""),
                           str(scale.get("labelSelectorPath") or "")) if isinstance(
        scale, dict) else None
    schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
    return CustomResource(
        crd_name=str(meta.get("name", "")), uid=str(meta.get("uid", "")),
        generation=int(meta.get("generation") or 0), group=spec.get("group", ""),
        version=str(version.get("name")), kind=kind,
        singular=names.get("singular") or kind.lower(),
        list_kind=names.get("listKind") or kind + "List", storage_version=storage,
        schema=schema if isinstance(schema, dict) else None,
        preserve_unknown_fields=bool(spec.get("preserveUnknownFields")),
        columns=columns, scale=scale_spec)


# --- the CustomResourceDefinition kind ----------------------------------------------------------


def default_crd(obj: Obj) -> None:
    """SetDefaults_CustomResourceDefinition(Spec) of apiextensions/v1."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and names.get("kind"):
        if not names.get("singular"):
            names["singular"] = str(names["kind"]).lower()
        if not names.get("listKind"):
            names["listKind"] = f"{names['kind']}List"
    conversion = spec.get("conversion")
    if not isinstance(conversion, dict):
        spec["conversion"] = conversion = {}
    conversion.setdefault("strategy", "None")
    service = ((conversion.get("webhook") or {}).get("clientConfig") or {}).get("service")
    if isinstance(service, dict):
        service.setdefault("port", 443)


def prepare_create(obj: Obj) -> None:
    """What a new CRD's status starts as (PrepareForCreate): its storage version stored."""
    storage = storage_version(obj)
    obj["status"] = {"acceptedNames": {"kind": "", "plural": ""}, "conditions": [],
                     "storedVersions": [storage] if storage else []}


def prepare_update(obj: Obj, old: Obj) -> None:
    """A spec update records a new storage version in status.storedVersions."""
    storage = storage_version(obj)
    status = obj.setdefault("status", {})
    stored = status.setdefault("storedVersions", [])
    if storage and storage not in stored:
        stored.append(storage)


def mark_for_deletion(obj: Obj, now: str) -> Obj:
    """The CRD as its first DELETE leaves it (customresourcedefinition/etcd.go Delete):
    deletionTimestamp set, the cleanup finalizer added, Terminating True. The finalizer
    controller deletes the custom objects, then removes the finalizer."""
    new = copy.deepcopy(obj)
    meta = new["metadata"]
    meta.setdefault("deletionTimestamp", now)
    finalizers = meta.setdefault("finalizers", [])
    if CLEANUP_FINALIZER not in finalizers:
        finalizers.append(CLEANUP_FINALIZER)
    set_condition(new, "Terminating", "True", "InstanceDeletionPending",
                  "CustomResourceDefinition marked for deletion; CustomResource deletion "
                  "will begin soon", now)
    return new


def set_condition(crd: Obj, type_: str, status: str, reason: str, message: str, now: str
                  ) -> bool:
    """Set a status condition (SetCRDCondition); True when anything changed. The
    transition time moves only when the status does."""
    conditions = crd.setdefault("status", {}).setdefault("conditions", [])
    for c in conditions:
        if c.get("type") == type_:
            if (c.get("status"), c.get("reason"), c.get("message")) == (status, reason, message):
                return False
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            c.update(status=status, reason=reason, message=message)
            return True
    conditions.append({"type": type_, "status": status, "lastTransitionTime": now,
                       "reason": reason, "message": message})
    return True


# --- accepted names (the naming controller) ------------------------------------------------


_NAME_FIELDS = (("plural", "PluralConflict"), ("singular", "SingularConflict"),
                ("shortNames", "ShortNamesConflict"), ("kind", "KindConflict"),
                ("listKind", "ListKindConflict"))


def accept_names(crd: Obj, taken: dict[str, set[str]]) -> tuple[Obj, str, str, str]:
    """The names a CRD may be served under, given the names others in its group use.

    `taken` maps "resources" (plurals, singulars, short names) and "kinds" (kinds and
    list kinds) to what other CRDs and built-ins of the group already hold. Returns
    (acceptedNames, condition status, reason, message) for NamesAccepted. Each name
    is decided on its own: a conflicting one keeps its previously accepted value
    (naming_controller.go calculateNamesAndConditions)."""
    requested = (crd.get("spec") or {}).get("names") or {}
    old = (crd.get("status") or {}).get("acceptedNames") or {}
    accepted = dict(old)
    verdict = ("True", "NoConflicts", "no conflicts found")
    for field, reason in _NAME_FIELDS:
        want = requested.get(field)
        pool = taken["kinds"] if field in ("kind", "listKind") else taken["resources"]
        values = list(want or []) if field == "shortNames" else [want] if want else []
        mine = set(old.get(field) or []) if field == "shortNames" else {old.get(field)}
        clash = next((x for x in values if x in pool and x not in mine), None)
        if clash is not None:
            verdict = ("False", reason, f'"{clash}" is already in use')
            continue
        if field == "shortNames":
            if values:
                accepted["shortNames"] = values
            else:
                accepted.pop("shortNames", None)
        elif want:
            accepted[field] = want
    return (_keep_categories(accepted, requested), *verdict)


def _keep_categories(accepted: Obj, requested: Obj) -> Obj:
    out = dict(accepted)
    if requested.get("categories"):
        out["categories"] = list(requested["categories"])
    else:
        out.pop("categories", None)
    out.setdefault("kind", "")
    out.setdefault("plural", "")
    return out


def names_in_use(infos: list[ResourceInfo], crds: list[Obj]) -> dict[str, set[str]]:
    """The names held in one group by built-in resources (`infos`) and by other CRDs'
    accepted names (`crds`, the CRD being decided excluded)."""
    resources: set[str] = set()
    kinds: set[str] = set()
    for info in infos:
        resources.update((info.plural, info.singular, *info.short_names))
        kinds.update((info.kind, info.list_kind))
    for other in crds:
        names = (other.get("status") or {}).get("acceptedNames") or {}
        resources.update(x for x in (names.get("plural"), names.get("singular")) if x)
        resources.update(names.get("shortNames") or ())
        kinds.update(x for x in (names.get("kind"), names.get("listKind")) if x)
    return {"resources": resources, "kinds": kinds}
