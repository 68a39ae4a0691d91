"""Validation of CustomResourceDefinition objects (apiextensions.k8s.io/v1).

After apiextensions-apiserver pkg/apis/apiextensions/validation/validation.go:
the name must be `<plural>.<group>`, the group a DNS subdomain with a dot, the
scope Cluster or Namespaced, exactly one storage version among uniquely named
versions, a structural `openAPIV3Schema` per version (with compilable CEL
rules), valid subresource paths and printer columns, DNS-1035 names. Updates
may not change the group or the plural, nor the scope or kind once
Established, and every stored version must stay listed.

Cause messages are upstream's; values too large to print (the versions list)
are shown as JSON.
"""

from __future__ import annotations

from typing import Any

from kybernetes.api import crd_schema, jsonpath, names
from kybernetes.api.errors import Cause
from kybernetes.api.validation import (
    IMMUTABLE,
    forbidden,
    invalid,
    not_supported,
    required,
)

Obj = dict[str, Any]

_APPROVAL = "api-approved.kubernetes.io"
_COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")
_COLUMN_FORMATS = ("int32", "int64", "float", "double", "byte", "date", "date-time", "password")
_REASONS_URL = "https://github.com/kubernetes/enhancements/pull/1111"


def _d(obj: Any, key: str) -> Obj:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, dict) else {}


def _l(obj: Any, key: str) -> list[Any]:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, list) else []


def validate_crd(obj: Obj) -> list[Cause]:
    """Field errors of a CRD (metadata beyond the name is the generic validator's)."""
    out: list[Cause] = []
    spec, meta = _d(obj, "spec"), _d(obj, "metadata")
    nm = _d(spec, "names")
    name = meta.get("name")
    if name and name != f"{nm.get('plural', '')}.{spec.get('group', '')}":
        out.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    group = spec.get("group") or ""
    _group(out, group, meta)
    scope = spec.get("scope") or ""
    if not scope:
        out.append(required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        out.append(not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    _versions(out, spec)
    for key in ("plural", "singular", "kind", "listKind"):
        if not nm.get(key):
            out.append(required(f"spec.names.{key}"))
    out += validate_names(nm, "spec.names")
    _conversion(out, spec)
    if spec.get("preserveUnknownFields") is True:
        out.append(invalid("spec.preserveUnknownFields", True, "cannot set to true, set "
                           "x-kubernetes-preserve-unknown-fields to true in "
                           "spec.versions[*].schema instead"))
    out += validate_names(_d(_d(obj, "status"), "acceptedNames"), "status.acceptedNames")
    return out


def _group(out: list[Cause], group: str, meta: Obj) -> None:
    if not group:
        out.append(required("spec.group"))
        return
    errs = names.is_dns1123_subdomain(group)
    if errs:
        out.append(invalid("spec.group", group, ",".join(errs)))
    elif len(group.split(".")) < 2:
        out.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    protected = group in ("k8s.io", "kubernetes.io") or group.endswith(
        (".k8s.io", ".kubernetes.io"))
    annotations = _d(meta, "annotations")
    if protected and _APPROVAL not in annotations:
        out.append(required(f"metadata.annotations[{_APPROVAL}]",
                            f'protected groups must have approval annotation "{_APPROVAL}", '
                            f"see {_REASONS_URL}"))


def _versions(out: list[Cause], spec: Obj) -> None:
    versions = _l(spec, "versions")
    seen: set[str] = set()
    unique, storage = True, 0
    for i, v in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(v, dict):
            out.append(invalid(path, v, "must be an object"))
            continue
        vname = str(v.get("name") or "")
        if vname in seen:
            unique = False
        seen.add(vname)
        errs = names.is_dns1035_label(vname)
        if errs:
            out.append(invalid(f"{path}.name", vname, ",".join(errs)))
        if v.get("storage") is True:
            storage += 1
        _schema(out, v, path)
        _subresources(out, _d(v, "subresources"), f"{path}.subresources")
        _columns(out, _l(v, "additionalPrinterColumns"), f"{path}.additionalPrinterColumns")
    if not versions:
        out.append(required("spec.versions"))
    if not unique:
        out.append(invalid("spec.versions", versions, "must contain unique version names"))
    if storage != 1:
        out.append(invalid("spec.versions", versions,
                           "must have exactly one version marked as storage version"))
    if versions and not any(isinstance(v, dict) and v.get("served") for v in versions):
        out.append(invalid("spec.versions", versions, "must have at least one version served"))


def _schema(out: list[Cause], version: Obj, path: str) -> None:
    schema = _d(version, "schema").get("openAPIV3Schema")
    where = f"{path}.schema.openAPIV3Schema"
    if schema is None:
        out.append(required(where, "schemas are required"))
        return
    if not isinstance(schema, dict):
        out.append(invalid(where, schema, "must be an object"))
        return
    out.extend(crd_schema.structural_errors(schema, where))


def _subresources(out: list[Cause], sub: Obj, path: str) -> None:
    if "status" in sub and not isinstance(sub["status"], dict):
        out.append(invalid(f"{path}.status", sub["status"], "must be an object"))
    if "scale" not in sub:
        return
    scale = sub["scale"]
    if not isinstance(scale, dict):
        out.append(invalid(f"{path}.scale", scale, "must be an object"))
        return
    for key, under, detail in (
        ("specReplicasPath", (".spec.",), "should be a json path under .spec"),
        ("statusReplicasPath", (".status.",), "should be a json path under .status"),
        ("labelSelectorPath", (".spec.", ".status."),
         "should be a json path under either .spec or .status"),
    ):
        value = scale.get(key)
        where = f"{path}.scale.{key}"
        if not value:
            if key != "labelSelectorPath":
                out.append(required(where))
            continue
        if not _simple_path(str(value)):
            out.append(invalid(where, value, "must be a simple json path starting with ."))
        elif not str(value).startswith(under):
            out.append(invalid(where, value, detail))


def _simple_path(path: str) -> bool:
    if not path.startswith("."):
        return False
    try:
        return all(kind == "field" for kind, _ in jsonpath.parse(path))
    except ValueError:
        return False


def _columns(out: list[Cause], columns: list[Any], path: str) -> None:
    for i, c in enumerate(columns):
        where = f"{path}[{i}]"
        if not isinstance(c, dict):
            out.append(invalid(where, c, "must be an object"))
            continue
        if not c.get("name"):
            out.append(required(f"{where}.name"))
        ctype = c.get("type")
        if not ctype:
            out.append(required(f"{where}.type"))
        elif ctype not in _COLUMN_TYPES:
            out.append(not_supported(f"{where}.type", ctype, _COLUMN_TYPES))
        fmt = c.get("format")
        if fmt and fmt not in _COLUMN_FORMATS:
            out.append(not_supported(f"{where}.format", fmt, _COLUMN_FORMATS))
        if isinstance(c.get("priority"), int) and c["priority"] < 0:
            out.append(invalid(f"{where}.priority", c["priority"],
                               "must be greater than or equal to 0"))
        jp = c.get("jsonPath")
        if not jp:
            out.append(required(f"{where}.JSONPath"))
        else:
            try:
                jsonpath.parse(str(jp))
            except ValueError:
                out.append(invalid(f"{where}.JSONPath", jp, "must be a simple json path"))


def _conversion(out: list[Cause], spec: Obj) -> None:
    conv = _d(spec, "conversion")
    strategy = conv.get("strategy")
    if strategy not in ("None", "Webhook"):
        out.append(not_supported("spec.conversion.strategy", strategy, ["None", "Webhook"]))
        return
    if strategy == "Webhook":
        webhook = _d(conv, "webhook")
        if not webhook:
            out.append(required("spec.conversion.webhook",
                                "required when strategy is set to Webhook"))
        elif not _l(webhook, "conversionReviewVersions"):
            out.append(required("spec.conversion.webhook.conversionReviewVersions"))
    elif conv.get("webhook") is not None:
        out.append(forbidden("spec.conversion.webhook",
                             "should not be set when strategy is not set to Webhook"))


def validate_names(nm: Obj, path: str) -> list[Cause]:
    """ValidateCustomResourceDefinitionNames."""
    out: list[Cause] = []
    for key in ("plural", "singular"):
        value = nm.get(key)
        if value:
            errs = names.is_dns1035_label(str(value))
            if errs:
                out.append(invalid(f"{path}.{key}", value, ",".join(errs)))
    for key in ("kind", "listKind"):
        value = nm.get(key)
        if value:
            errs = names.is_dns1035_label(str(value).lower())
            if errs:
                out.append(invalid(f"{path}.{key}", value, "may have mixed case, but should "
                                   "otherwise match: " + ",".join(errs)))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(_l(nm, key)):
            errs = names.is_dns1035_label(str(value))
            if errs:
                out.append(invalid(f"{path}.{key}[{i}]", value, ",".join(errs)))
    if nm.get("kind") and nm.get("kind") == nm.get("listKind"):
        out.append(invalid(f"{path}.listKind", nm["listKind"],
                           "kind and listKind may not be the same"))
    return out


def validate_crd_update(obj: Obj, old: Obj) -> list[Cause]:
    """What an update may not change, and stored versions that must stay listed."""
    out: list[Cause] = []
    spec, old_spec = _d(obj, "spec"), _d(old, "spec")
    established = any(c.get("type") == "Established" and c.get("status") == "True"
                      for c in _l(_d(old, "status"), "conditions") if isinstance(c, dict))
    checks = [("spec.group", spec.get("group"), old_spec.get("group")),
              ("spec.names.plural", _d(spec, "names").get("plural"),
               _d(old_spec, "names").get("plural"))]
    if established:
        checks += [("spec.scope", spec.get("scope"), old_spec.get("scope")),
                   ("spec.names.kind", _d(spec, "names").get("kind"),
                    _d(old_spec, "names").get("kind"))]
    for path, new, before in checks:
        if new != before:
            out.append(invalid(path, new, IMMUTABLE))
    listed = {v.get("name") for v in _l(spec, "versions") if isinstance(v, dict)}
    for i, stored in enumerate(_l(_d(obj, "status"), "storedVersions")):
        if stored not in listed:
            out.append(invalid(f"status.storedVersions[{i}]", stored,
                               "must appear in spec.versions"))
    return out
