"""Validation of built-in kinds: the field errors behind a 422 Invalid.

    validate_create(info, obj)              -> [Cause]   (after defaulting)
    validate_update(info, obj, old)         -> [Cause]   (spec/metadata update)
    validate_status_update(info, obj, old)  -> [Cause]   (the status subresource)

A `Cause` is upstream's `field.Error` as it travels in `StatusDetails.causes`:
`type` is the ErrorType (`FieldValueRequired`, ...), `field` the path as
`field.Path.String()` prints it (`spec.containers[0].image`, `data[key]`),
`message` is `ErrorBody()`: `Required value`, `Invalid value: "Foo": detail`,
`Unsupported value: "x": supported values: "a", "b"`, `Forbidden: detail`.
Bad values are printed as Go's fmt would (`%q` for strings, `%v` for
numbers, `%#v` for maps and slices) by `go_value`.

Rules follow k8s.io/kubernetes pkg/apis/{core,apps,batch,rbac,...}/validation
(v1.32). Coverage is deliberately partial: the rules clients meet in practice
(see the tables in the tests); anything else is accepted.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from fractions import Fraction
from typing import Any

from kybernetes.api import names
from kybernetes.api.errors import Cause, StatusError
from kybernetes.api.fieldcheck import quantity_error
from kybernetes.api.registry import ResourceInfo
from kybernetes.api.selectors import label_selector_from_dict

Obj = dict[str, Any]
Causes = list[Cause]

IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
MAX_ANNOTATIONS_BYTES = 256 * 1024
MAX_SECRET_BYTES = 1024 * 1024
RBAC_GROUP = "rbac.authorization.k8s.io"
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
NOT_QUALIFIED = "name is neither a standard finalizer name nor is it fully qualified"

# --- field.Error constructors --------------------------------------------------------


def go_value(v: Any) -> str:
    """A bad value as Go's `%q`/`%v`/`%#v` would print it in `ErrorBody`."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
        body = ", ".join(f"{json.dumps(k)}:{json.dumps(v[k])}" for k in sorted(v))
        return f"map[string]string{{{body}}}"
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "[]string{" + ", ".join(json.dumps(x) for x in v) + "}"
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def invalid(path: str, value: Any, detail: str = "", *, raw: bool = False) -> Cause:
    shown = value if raw else go_value(value)
    msg = f"Invalid value: {shown}" + (f": {detail}" if detail else "")
    return Cause("FieldValueInvalid", msg, path)


def not_supported(path: str, value: Any, supported: Iterable[str]) -> Cause:
    quoted = ", ".join(json.dumps(s) for s in supported)
    msg = f"Unsupported value: {go_value(value)}"
    if quoted:
        msg += f": supported values: {quoted}"
    return Cause("FieldValueNotSupported", msg, path)


def duplicate(path: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {go_value(value)}", path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


def not_found(path: str, value: Any) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {go_value(value)}", path)


def too_long(path: str, max_bytes: int) -> Cause:
    unit = "byte" if max_bytes == 1 else "bytes"
    return Cause("FieldValueTooLong", f"Too long: may not be more than {max_bytes} {unit}", path)


def _d(obj: Any, key: str) -> Obj:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, dict) else {}


def _l(obj: Any, key: str) -> list[Any]:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, list) else []


def _nonneg(out: Causes, obj: Obj, key: str, path: str) -> None:
    v = obj.get(key)
    if isinstance(v, int | float) and not isinstance(v, bool) and v < 0:
        out.append(invalid(f"{path}.{key}", v, NEGATIVE))


def _immutable(out: Causes, new: Any, old: Any, path: str) -> None:
    if new != old:
        out.append(invalid(path, new, IMMUTABLE))


# --- quantities ------------------------------------------------------------------------

_SUFFIX = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
_QTY_PARTS = re.compile(r"^([+-]?[0-9.]+)(.*)$")


def parse_quantity(text: Any) -> Fraction | None:
    """The exact value of a resource.Quantity, or None if it does not parse."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    s = str(text).strip()
    if quantity_error(s):
        return None
    m = _QTY_PARTS.match(s)
    assert m
    number, suffix = m.groups()
    value = Fraction(number)
    if suffix in _SUFFIX:
        return value * _SUFFIX[suffix]
    return value * Fraction(10) ** int(suffix[1:])


def format_quantity(text: Any) -> str:
    """Quantity.String(): the canonical form ("1000m" -> "1", "0.5" -> "500m")."""
    s = str(text).strip()
    q = parse_quantity(s)
    if q is None:
        return s
    binary = any(s.endswith(x) for x in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))
    if binary and q.denominator == 1:
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            unit = _SUFFIX[suffix]
            if q != 0 and q % unit == 0:
                return f"{int(q / unit)}{suffix}"
        if q.denominator == 1 and abs(q) < 1024:
            return str(int(q))
    # DecimalSI: round up to nano precision, then the largest exact suffix.
    nanos = -((-q * 10**9) // 1)
    if re.search(r"[eE][-+]?[0-9]+$", s):  # DecimalExponent keeps its notation
        for exp in range(27, -12, -3):
            if nanos % 10 ** (exp + 9) == 0:
                mantissa = nanos // 10 ** (exp + 9)
                return f"{mantissa}e{exp}" if exp else str(mantissa)
    for suffix, exp in (("E", 27), ("P", 24), ("T", 21), ("G", 18), ("M", 15), ("k", 12),
                        ("", 9), ("m", 6), ("u", 3), ("n", 0)):
        if nanos % 10**exp == 0:
            return f"{nanos // 10**exp}{suffix}"
    return s


# --- object metadata --------------------------------------------------------------------


def _labels(out: Causes, labels: Any, path: str) -> None:
    if not isinstance(labels, dict):
        return
    for k, v in labels.items():
        for msg in names.is_qualified_name(k):
            out.append(invalid(path, k, msg))
        for msg in names.is_label_value(v if isinstance(v, str) else ""):
            out.append(invalid(path, v, msg))


def _annotations(out: Causes, ann: Any, path: str) -> None:
    if not isinstance(ann, dict):
        return
    size = 0
    for k, v in ann.items():
        for msg in names.is_qualified_name(k.lower()):
            out.append(invalid(path, k, msg))
        size += len(k.encode()) + len(v.encode() if isinstance(v, str) else b"")
    if size > MAX_ANNOTATIONS_BYTES:
        out.append(too_long(path, MAX_ANNOTATIONS_BYTES))


def _owner_refs(out: Causes, refs: list[Any], path: str) -> None:
    controller = ""
    for ref in refs:
        if not isinstance(ref, dict):
            continue
        api_version = ref.get("apiVersion") or ""
        version = api_version.rsplit("/", 1)[-1]
        if not version:
            out.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                out.append(invalid(f"{path}.{key}", ref.get(key) or "", "must not be empty"))
        if api_version == "v1" and ref.get("kind") == "Event":
            out.append(invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller"):
            name = f"{ref.get('kind')}/{ref.get('name')}"
            if controller:
                out.append(invalid(path, refs, "Only one reference can have Controller set to "
                                   f'true. Found "true" in references for {controller} and {name}'))
            else:
                controller = name


def _finalizers(out: Causes, finalizers: list[Any], path: str, core: bool) -> None:
    for i, f in enumerate(finalizers):
        f = f if isinstance(f, str) else ""
        for msg in names.is_qualified_name(f):
            out.append(invalid(path, f, msg))
        if core and "/" not in f and f not in STANDARD_FINALIZERS:
            out.append(invalid(f"{path}[{i}]", f, NOT_QUALIFIED))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        out.append(invalid(path, finalizers,
                           "finalizer orphan and foregroundDeletion cannot be both set"))


def _meta_common(out: Causes, info: ResourceInfo, meta: Obj) -> None:
    _labels(out, meta.get("labels"), "metadata.labels")
    _annotations(out, meta.get("annotations"), "metadata.annotations")
    _owner_refs(out, _l(meta, "ownerReferences"), "metadata.ownerReferences")
    # Built-in kinds also require unqualified finalizers to be standard ones.
    # (apiextensions and custom resources use apimachinery's generic rule only).
    core = ("." not in info.group or info.group.endswith(".k8s.io")) and (
        info.custom is None and info.group != "apiextensions.k8s.io")
    _finalizers(out, _l(meta, "finalizers"), "metadata.finalizers", core)


def validate_object_meta(info: ResourceInfo, meta: Obj) -> Causes:
    """ValidateObjectMeta: name, generateName, namespace, labels, annotations, owners."""
    out: Causes = []
    rule = names.name_rule(info.group, info.kind)
    gen = meta.get("generateName")
    if gen:
        out += [invalid("metadata.generateName", gen, m) for m in rule(gen, True)]
    name = meta.get("name")
    if not name:
        out.append(required("metadata.name", "name or generateName is required"))
    else:
        out += [invalid("metadata.name", name, m) for m in rule(name, False)]
    ns = meta.get("namespace")
    if info.namespaced:
        if not ns:
            out.append(required("metadata.namespace"))
        else:
            out += [invalid("metadata.namespace", ns, m) for m in names.validate_namespace_name(ns)]
    elif ns:
        out.append(forbidden("metadata.namespace", "not allowed on this type"))
    _nonneg(out, meta, "generation", "metadata")
    _meta_common(out, info, meta)
    return out


def _go_time(ts: Any) -> Any:
    """metav1.Time as its String() prints in messages."""
    if not isinstance(ts, str):
        return ts
    try:
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ts
    return t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def validate_object_meta_update(info: ResourceInfo, meta: Obj, old: Obj) -> Causes:
    out: Causes = []
    if old.get("deletionTimestamp"):
        extra = sorted(set(_l(meta, "finalizers")) - set(_l(old, "finalizers")))
        if extra:
            out.append(forbidden(
                "metadata.finalizers", "no new finalizers can be added if the object is being "
                f"deleted, found new finalizers {go_value(extra)}"))
    if (meta.get("generation") or 0) < (old.get("generation") or 0):
        out.append(invalid("metadata.generation", meta.get("generation") or 0,
                           "must not be decremented"))
    for key in ("name", "namespace", "uid"):
        _immutable(out, meta.get(key) or "", old.get(key) or "", f"metadata.{key}")
    for key in ("creationTimestamp", "deletionTimestamp"):
        new_t, old_t = meta.get(key), old.get(key)
        if new_t != old_t:
            out.append(invalid(f"metadata.{key}", _go_time(new_t), IMMUTABLE, raw=True))
    _immutable(out, meta.get("deletionGracePeriodSeconds"), old.get("deletionGracePeriodSeconds"),
               "metadata.deletionGracePeriodSeconds")
    _meta_common(out, info, meta)
    return out


# --- label selectors ---------------------------------------------------------------------


def selector_string(sel: Any) -> str:
    """*metav1.LabelSelector's generated String(), as upstream prints it."""
    if not isinstance(sel, dict):
        return "nil"
    labels = _d(sel, "matchLabels")
    ml = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    exprs = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(_l(e, 'values'))}],}},"
        for e in _l(sel, "matchExpressions") if isinstance(e, dict)
    )
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{ml}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")


def _selector(out: Causes, sel: Obj, path: str) -> None:
    _labels(out, sel.get("matchLabels"), f"{path}.matchLabels")
    for i, e in enumerate(_l(sel, "matchExpressions")):
        p = f"{path}.matchExpressions[{i}]"
        if not isinstance(e, dict):
            continue
        op = e.get("operator")
        values = _l(e, "values")
        if op in ("In", "NotIn"):
            if not values:
                out.append(required(f"{p}.values",
                                    "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                out.append(forbidden(f"{p}.values", "may not be specified when `operator` is "
                                     "'Exists' or 'DoesNotExist'"))
        else:
            out.append(invalid(f"{p}.operator", op or "", "not a valid selector operator"))
        for msg in names.is_qualified_name(e.get("key") or ""):
            out.append(invalid(f"{p}.key", e.get("key") or "", msg))


def selector_matches(sel: Obj, labels: Obj) -> bool:
    """metav1.LabelSelectorAsSelector(sel).Matches(labels); an empty selector matches all.

    A selector that cannot be compiled matches nothing: its own causes are reported
    by `_selector`.
    """
    try:
        return label_selector_from_dict(sel).matches(labels)
    except StatusError:
        return False


# --- pods --------------------------------------------------------------------------------

_RESTART = ("Always", "OnFailure", "Never")
_DNS = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
_PULL = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
    "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
    "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
    "storageos", "csi", "ephemeral", "image",
)
_VOLUME_NAME_REQUIRED = {
    "configMap": "name", "secret": "secretName", "persistentVolumeClaim": "claimName",
    "hostPath": "path",
}


def _volumes(out: Causes, spec: Obj, path: str) -> set[str]:
    seen: set[str] = set()
    for i, v in enumerate(_l(spec, "volumes")):
        p = f"{path}.volumes[{i}]"
        if not isinstance(v, dict):
            continue
        name = v.get("name") or ""
        if not name:
            out.append(required(f"{p}.name"))
        else:
            out += [invalid(f"{p}.name", name, m) for m in names.is_dns1123_label(name)]
            if name in seen:
                out.append(duplicate(f"{p}.name", name))
            seen.add(name)
        sources = [k for k in _VOLUME_SOURCES if v.get(k) is not None]
        if not sources:
            out.append(required(p, "must specify a volume type"))
        for extra in sources[1:]:
            out.append(forbidden(f"{p}.{extra}", "may not specify more than 1 volume type"))
        for src in sources[:1]:
            key = _VOLUME_NAME_REQUIRED.get(src)
            if key and not _d(v, src).get(key):
                out.append(required(f"{p}.{src}.{key}"))
    return seen


def _resources(out: Causes, res: Obj, path: str) -> None:
    limits = _d(res, "limits")
    for kind in ("limits", "requests"):
        for name, q in _d(res, kind).items():
            p = f"{path}.{kind}[{name}]"
            value = parse_quantity(q)
            if value is None:
                out.append(invalid(p, q, quantity_error(str(q)) or "invalid quantity"))
            elif value < 0:
                out.append(invalid(p, format_quantity(q), NEGATIVE))
    for name, q in _d(res, "requests").items():
        if name in limits:
            rq, lq = parse_quantity(q), parse_quantity(limits[name])
            if rq is not None and lq is not None and rq > lq:
                out.append(invalid(f"{path}.requests", format_quantity(q),
                                   f"must be less than or equal to {name} limit of "
                                   f"{format_quantity(limits[name])}"))


def _probe(out: Causes, probe: Any, path: str, single_success: bool) -> None:
    if not isinstance(probe, dict):
        return
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                "failureThreshold"):
        _nonneg(out, probe, key, path)
    handlers = [k for k in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(k) is not None]
    if not handlers:
        out.append(required(path, "must specify a handler type"))
    for extra in handlers[1:]:
        out.append(forbidden(f"{path}.{extra}", "may not specify more than 1 handler type"))
    if single_success and probe.get("successThreshold") not in (None, 1):
        out.append(invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1"))


def _ports(out: Causes, c: Obj, path: str) -> None:
    seen: set[str] = set()
    for i, port in enumerate(_l(c, "ports")):
        p = f"{path}.ports[{i}]"
        if not isinstance(port, dict):
            continue
        name = port.get("name")
        if name:
            out += [invalid(f"{p}.name", name, m) for m in names.is_port_name(name)]
            if name in seen:
                out.append(duplicate(f"{p}.name", name))
            seen.add(name)
        cp = port.get("containerPort")
        if not cp:
            out.append(required(f"{p}.containerPort"))
        else:
            out += [invalid(f"{p}.containerPort", cp, m) for m in names.is_port_num(cp)]
        hp = port.get("hostPort")
        if hp:
            out += [invalid(f"{p}.hostPort", hp, m) for m in names.is_port_num(hp)]
        proto = port.get("protocol")
        if not proto:
            out.append(required(f"{p}.protocol"))
        elif proto not in _PROTOCOLS:
            out.append(not_supported(f"{p}.protocol", proto, _PROTOCOLS))


def _container(out: Causes, c: Obj, path: str, volumes: set[str], probes: bool) -> None:
    if not c.get("image"):
        out.append(required(f"{path}.image"))
    policy = c.get("imagePullPolicy")
    if not policy:
        out.append(required(f"{path}.imagePullPolicy"))
    elif policy not in _PULL:
        out.append(not_supported(f"{path}.imagePullPolicy", policy, _PULL))
    _ports(out, c, path)
    for i, env in enumerate(_l(c, "env")):
        name = env.get("name") if isinstance(env, dict) else None
        if not name:
            out.append(required(f"{path}.env[{i}].name"))
        else:
            out += [invalid(f"{path}.env[{i}].name", name, m) for m in names.is_env_var_name(name)]
    mounts: set[str] = set()
    for i, m in enumerate(_l(c, "volumeMounts")):
        if not isinstance(m, dict):
            continue
        p = f"{path}.volumeMounts[{i}]"
        name = m.get("name") or ""
        if not name:
            out.append(required(f"{p}.name"))
        elif name not in volumes:
            out.append(not_found(f"{p}.name", name))
        mp = m.get("mountPath") or ""
        if not mp:
            out.append(required(f"{p}.mountPath"))
        elif mp in mounts:
            out.append(invalid(f"{p}.mountPath", mp, "must be unique"))
        mounts.add(mp)
    _resources(out, _d(c, "resources"), f"{path}.resources")
    if probes:
        _probe(out, c.get("livenessProbe"), f"{path}.livenessProbe", True)
        _probe(out, c.get("readinessProbe"), f"{path}.readinessProbe", False)
        _probe(out, c.get("startupProbe"), f"{path}.startupProbe", True)


def validate_pod_spec(spec: Obj, path: str) -> Causes:
    """ValidatePodSpec (the commonly hit parts)."""
    out: Causes = []
    volumes = _volumes(out, spec, path)
    containers = _l(spec, "containers")
    if not containers:
        out.append(required(f"{path}.containers"))
    seen: set[str] = set()
    for key, probes in (("initContainers", False), ("containers", True)):
        for i, c in enumerate(_l(spec, key)):
            p = f"{path}.{key}[{i}]"
            if not isinstance(c, dict):
                continue
            name = c.get("name") or ""
            if not name:
                out.append(required(f"{p}.name"))
            else:
                out += [invalid(f"{p}.name", name, m) for m in names.is_dns1123_label(name)]
                if name in seen:
                    out.append(duplicate(f"{p}.name", name))
                seen.add(name)
            _container(out, c, p, volumes, probes)
    policy = spec.get("restartPolicy")
    if not policy:
        out.append(required(f"{path}.restartPolicy"))
    elif policy not in _RESTART:
        out.append(not_supported(f"{path}.restartPolicy", policy, _RESTART))
    dns = spec.get("dnsPolicy")
    if not dns:
        out.append(required(f"{path}.dnsPolicy"))
    elif dns not in _DNS:
        out.append(not_supported(f"{path}.dnsPolicy", dns, _DNS))
    _labels(out, spec.get("nodeSelector"), f"{path}.nodeSelector")
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and not 1 <= ads <= 2**31 - 1:
        out.append(invalid(f"{path}.activeDeadlineSeconds", ads,
                           names.inclusive_range_error(1, 2**31 - 1)))
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            out += [invalid(f"{path}.{key}", spec[key], m)
                    for m in names.is_dns1123_label(spec[key])]
    sa = spec.get("serviceAccountName")
    if sa:
        out += [invalid(f"{path}.serviceAccountName", sa, m)
                for m in names.is_dns1123_subdomain(sa)]
    for i, t in enumerate(_l(spec, "tolerations")):
        _toleration(out, t, f"{path}.tolerations[{i}]")
    return out


def _toleration(out: Causes, t: Any, path: str) -> None:
    if not isinstance(t, dict):
        return
    key = t.get("key") or ""
    if key:
        out += [invalid(f"{path}.key", key, m) for m in names.is_qualified_name(key)]
    op = t.get("operator") or "Equal"
    if op == "Exists" and t.get("value"):
        out.append(invalid(f"{path}.operator", t["value"],
                           "value must be empty when `operator` is 'Exists'"))
    elif op not in ("Equal", "Exists"):
        out.append(not_supported(f"{path}.operator", op, ("Equal", "Exists")))
    effect = t.get("effect")
    if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        out.append(not_supported(f"{path}.effect", effect,
                                 ("NoExecute", "NoSchedule", "PreferNoSchedule")))


POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _spec_diff(old: Obj, new: Obj) -> str:
    """A short, cmp.Diff-like listing of the top-level fields that differ."""
    lines = ["  core.PodSpec{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"- \t{key}: {json.dumps(old[key], sort_keys=True)},")
            if key in new:
                lines.append(f"+ \t{key}: {json.dumps(new[key], sort_keys=True)},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def _pod_update(out: Causes, spec: Obj, old: Obj) -> None:
    if _pod_update_allowed(spec, old):
        return
    munged = json.loads(json.dumps(spec))
    for key in ("containers", "initContainers"):
        new_cs, old_cs = _l(munged, key), _l(old, key)
        if len(new_cs) == len(old_cs):
            for c, oc in zip(new_cs, old_cs, strict=True):
                if isinstance(c, dict) and isinstance(oc, dict) and "image" in oc:
                    c["image"] = oc["image"]
    ads, old_ads = spec.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    if old_ads is not None and ads is None:
        out.append(invalid("spec.activeDeadlineSeconds", None,
                           "must not update from a positive integer to nil value"))
    elif old_ads is not None and ads is not None and ads > old_ads:
        out.append(invalid("spec.activeDeadlineSeconds", ads,
                           "must be less than or equal to previous value"))
    _set_or_drop(munged, "activeDeadlineSeconds", old_ads)
    tols, old_tols = _l(spec, "tolerations"), _l(old, "tolerations")
    if all(t in tols for t in old_tols):
        _set_or_drop(munged, "tolerations", old.get("tolerations"))
    grace, old_grace = spec.get("terminationGracePeriodSeconds"), old.get(
        "terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != old:
        out.append(forbidden("spec", POD_UPDATE_FORBIDDEN + "\n" + _spec_diff(old, munged)))


def _pod_update_allowed(spec: Obj, old: Obj) -> bool:
    """The common case of `_pod_update` without its deep copy: True when the update
    changes nothing but what it allows (then it reports nothing). The munged spec is
    built from shallow copies (only top-level keys and container images are replaced);
    when it equals the old spec, the JSON round trip `_pod_update` compares would too."""
    ads, old_ads = spec.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    if old_ads is not None and (ads is None or ads > old_ads):
        return False
    munged = dict(spec)
    for key in ("containers", "initContainers"):
        new_cs, old_cs = _l(munged, key), _l(old, key)
        if new_cs and len(new_cs) == len(old_cs):
            cs = []
            for c, oc in zip(new_cs, old_cs, strict=True):
                if isinstance(c, dict) and isinstance(oc, dict) and "image" in oc:
                    c = {**c, "image": oc["image"]}
                cs.append(c)
            munged[key] = cs
    _set_or_drop(munged, "activeDeadlineSeconds", old_ads)
    tols, old_tols = _l(spec, "tolerations"), _l(old, "tolerations")
    if all(t in tols for t in old_tols):
        _set_or_drop(munged, "tolerations", old.get("tolerations"))
    grace, old_grace = spec.get("terminationGracePeriodSeconds"), old.get(
        "terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged == old


def _set_or_drop(d: Obj, key: str, value: Any) -> None:
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value


# --- pod templates and workloads ------------------------------------------------------------


def _template(out: Causes, tmpl: Any, path: str, restart: tuple[str, ...] | None) -> None:
    if not isinstance(tmpl, dict):
        out.append(required(path))
        return
    meta = _d(tmpl, "metadata")
    _labels(out, meta.get("labels"), f"{path}.metadata.labels")
    _annotations(out, meta.get("annotations"), f"{path}.metadata.annotations")
    spec = _d(tmpl, "spec")
    out += validate_pod_spec(spec, f"{path}.spec")
    policy = spec.get("restartPolicy")
    if restart is not None and policy and policy in _RESTART and policy not in restart:
        out.append(not_supported(f"{path}.spec.restartPolicy", policy, restart))


def _workload_selector(out: Causes, spec: Obj, path: str, required_: bool = True) -> None:
    """Selector present, non-empty, valid, and matching the template's labels."""
    sel = spec.get("selector")
    if not isinstance(sel, dict):
        if required_:
            out.append(required(f"{path}.selector"))
        return
    _selector(out, sel, f"{path}.selector")
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        out.append(invalid(f"{path}.selector", selector_string(sel),
                           "empty selector is invalid for deployment", raw=True))
        return
    labels = _d(_d(spec.get("template"), "metadata"), "labels")
    if not selector_matches(sel, labels):
        out.append(invalid(f"{path}.template.metadata.labels", labels,
                           "`selector` does not match template `labels`"))


def _int_or_percent(out: Causes, v: Any, path: str) -> None:
    if isinstance(v, str):
        out += [invalid(path, v, m) for m in names.is_percent(v)]
        if not names.is_percent(v) and int(v[:-1]) > 100:
            out.append(invalid(path, v, "must not be greater than 100%"))
    elif isinstance(v, int) and v < 0:
        out.append(invalid(path, v, NEGATIVE, raw=True))


def _is_zero(v: Any) -> bool:
    return v in (0, "0%", None)


def _rolling(out: Causes, ru: Obj, path: str) -> None:
    _int_or_percent(out, ru.get("maxUnavailable"), f"{path}.maxUnavailable")
    _int_or_percent(out, ru.get("maxSurge"), f"{path}.maxSurge")
    if _is_zero(ru.get("maxUnavailable")) and _is_zero(ru.get("maxSurge")):
        out.append(invalid(f"{path}.maxUnavailable", str(ru.get("maxUnavailable", 0)),
                           "may not be 0 when `maxSurge` is 0", raw=True))


def _deployment(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        _nonneg(out, spec, key, "spec")
    _workload_selector(out, spec, "spec")
    _template(out, spec.get("template"), "spec.template", ("Always",))
    strategy = _d(spec, "strategy")
    kind = strategy.get("type")
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            out.append(forbidden("spec.strategy.rollingUpdate",
                                 "may not be specified when strategy `type` is 'Recreate'"))
    elif kind == "RollingUpdate":
        _rolling(out, _d(strategy, "rollingUpdate"), "spec.strategy.rollingUpdate")
    else:
        out.append(not_supported("spec.strategy", kind or "", ("Recreate", "RollingUpdate")))
    pds = spec.get("progressDeadlineSeconds")
    if isinstance(pds, int) and pds <= (spec.get("minReadySeconds") or 0):
        out.append(invalid("spec.progressDeadlineSeconds", pds,
                           "must be greater than minReadySeconds"))


def _replica_set(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    for key in ("replicas", "minReadySeconds"):
        _nonneg(out, spec, key, "spec")
    _workload_selector(out, spec, "spec")
    _template(out, spec.get("template"), "spec.template", ("Always",))


def _stateful_set(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        _nonneg(out, spec, key, "spec")
    policy = spec.get("podManagementPolicy")
    if policy not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", policy or "",
                           "must be 'OrderedReady' or 'Parallel'"))
    strategy = _d(spec, "updateStrategy")
    if strategy.get("type") not in ("RollingUpdate", "OnDelete"):
        out.append(invalid("spec.updateStrategy", strategy.get("type") or "",
                           "must be 'RollingUpdate' or 'OnDelete'"))
    _nonneg(out, _d(strategy, "rollingUpdate"), "partition", "spec.updateStrategy.rollingUpdate")
    _workload_selector(out, spec, "spec")
    _template(out, spec.get("template"), "spec.template", ("Always",))


def _daemon_set(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    for key in ("minReadySeconds", "revisionHistoryLimit"):
        _nonneg(out, spec, key, "spec")
    _workload_selector(out, spec, "spec")
    _template(out, spec.get("template"), "spec.template", ("Always",))
    strategy = _d(spec, "updateStrategy")
    kind = strategy.get("type")
    if kind == "RollingUpdate":
        _rolling(out, _d(strategy, "rollingUpdate"), "spec.updateStrategy.rollingUpdate")
    elif kind != "OnDelete":
        out.append(not_supported("spec.updateStrategy.type", kind or "",
                                 ("OnDelete", "RollingUpdate")))


def _replication_controller(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    _nonneg(out, spec, "replicas", "spec")
    sel = _d(spec, "selector")
    if not sel:
        out.append(required("spec.selector"))
    _labels(out, sel, "spec.selector")
    labels = _d(_d(spec.get("template"), "metadata"), "labels")
    if sel and any(labels.get(k) != v for k, v in sel.items()):
        out.append(invalid("spec.template.metadata.labels", labels,
                           "`selector` does not match template `labels`"))
    _template(out, spec.get("template"), "spec.template", ("Always",))


# --- batch -----------------------------------------------------------------------------------

_JOB_RESTART = ("OnFailure", "Never")


def _job_spec(out: Causes, spec: Obj, path: str, template_only: bool) -> None:
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                "ttlSecondsAfterFinished"):
        _nonneg(out, spec, key, path)
    ads = spec.get("activeDeadlineSeconds")
    if isinstance(ads, int) and ads == 0:
        out.append(invalid(f"{path}.activeDeadlineSeconds", ads, "must be greater than 0"))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        out.append(not_supported(f"{path}.completionMode", mode, ("NonIndexed", "Indexed")))
    if mode == "Indexed" and spec.get("completions") is None:
        out.append(required(f"{path}.completions", "when completion mode is Indexed"))
    if not template_only:
        # The registry generates the selector unless manualSelector is set.
        _workload_selector(out, spec, path, required_=bool(spec.get("manualSelector")))
    tmpl = spec.get("template")
    _template(out, tmpl, f"{path}.template", None)
    policy = _d(tmpl, "spec").get("restartPolicy")
    if policy and policy not in _JOB_RESTART:
        out.append(not_supported(f"{path}.template.spec.restartPolicy", policy, _JOB_RESTART))


def _job(out: Causes, obj: Obj) -> None:
    _job_spec(out, _d(obj, "spec"), "spec", False)


_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("dom", 1, 31), ("month", 1, 12),
                ("dow", 0, 6))
_CRON_NAMES = {
    3: {m: i + 1 for i, m in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split())},
    4: {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())},
}
_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                     "@hourly"}


def cron_error(schedule: str) -> str | None:
    """Why robfig/cron's standard parser rejects `schedule`, or None."""
    s = schedule.strip()
    if s.startswith(("TZ=", "CRON_TZ=")):
        s = s.split(None, 1)[1] if " " in s else ""
    if s.startswith("@"):
        if s in _CRON_DESCRIPTORS or s.startswith("@every "):
            return None
        return f"unrecognized descriptor: {s}"
    fields = s.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for i, (f, (_, lo, hi)) in enumerate(zip(fields, _CRON_FIELDS, strict=True)):
        for part in f.split(","):
            err = _cron_part(part, lo, hi, _CRON_NAMES.get(i, {}))
            if err:
                return err
    return None


def _cron_part(part: str, lo: int, hi: int, named: dict[str, int]) -> str | None:
    rng, _, step = part.partition("/")
    if step and not step.isdigit():
        return f"failed to parse int from {step}: strconv.Atoi: parsing \"{step}\": invalid syntax"
    if rng in ("*", "?"):
        return None
    bounds = rng.split("-")
    if len(bounds) > 2:
        return f"too many hyphens: {part}"
    values = []
    for b in bounds:
        if b.lower() in named:
            values.append(named[b.lower()])
        elif b.isdigit():
            values.append(int(b))
        else:
            return f"failed to parse int from {b}: strconv.Atoi: parsing \"{b}\": invalid syntax"
    if values[0] < lo:
        return f"beginning of range ({values[0]}) below minimum ({lo}): {part}"
    if values[-1] > hi:
        return f"end of range ({values[-1]}) above maximum ({hi}): {part}"
    if values[0] > values[-1]:
        return f"beginning of range ({values[0]}) beyond end of range ({values[-1]}): {part}"
    return None


_TZ_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")


def _cron_job(out: Causes, obj: Obj) -> None:
    name = _d(obj, "metadata").get("name") or ""
    if len(name) > 52:
        out.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    spec = _d(obj, "spec")
    schedule = spec.get("schedule") or ""
    if not schedule:
        out.append(required("spec.schedule"))
    else:
        err = cron_error(schedule)
        if err:
            out.append(invalid("spec.schedule", schedule, err))
        tz = spec.get("timeZone")
        if tz is not None and ("TZ=" in schedule):
            out.append(invalid("spec.schedule", schedule,
                               "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
    tz = spec.get("timeZone")
    if tz is not None and (tz == "Local" or not _TZ_RE.match(tz)):
        out.append(invalid("spec.timeZone", tz, f"unknown time zone {tz}"))
    policy = spec.get("concurrencyPolicy")
    if not policy:
        out.append(required("spec.concurrencyPolicy"))
    elif policy not in ("Allow", "Forbid", "Replace"):
        out.append(not_supported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        _nonneg(out, spec, key, "spec")
    job = _d(spec, "jobTemplate")
    _labels(out, _d(job, "metadata").get("labels"), "spec.jobTemplate.metadata.labels")
    _job_spec(out, _d(job, "spec"), "spec.jobTemplate.spec", True)


# --- core: services, config, namespaces, nodes, storage ------------------------------------------

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4_RE = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")


def _is_ip(s: str) -> bool:
    if _IPV4_RE.match(s):
        return True
    try:
        ipaddress.IPv6Address(s)
        return True
    except ValueError:
        return False


def _service(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    kind = spec.get("type") or ""
    if kind not in _SERVICE_TYPES:
        out.append(not_supported("spec.type", kind, _SERVICE_TYPES))
    headless = spec.get("clusterIP") == "None"
    ports = _l(spec, "ports")
    if not ports and not headless and kind != "ExternalName":
        out.append(required("spec.ports"))
    seen: set[str] = set()
    pairs: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        p = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            out.append(required(f"{p}.name"))
        elif name:
            out += [invalid(f"{p}.name", name, m) for m in names.is_dns1123_label(name)]
            if name in seen:
                out.append(duplicate(f"{p}.name", name))
            seen.add(name)
        number = port.get("port")
        out += [invalid(f"{p}.port", number, m) for m in names.is_port_num(number or 0)]
        proto = port.get("protocol")
        if not proto:
            out.append(required(f"{p}.protocol"))
        elif proto not in _PROTOCOLS:
            out.append(not_supported(f"{p}.protocol", proto, _PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool):
            out += [invalid(f"{p}.targetPort", target, m) for m in names.is_port_num(target)]
        elif isinstance(target, str):
            out += [invalid(f"{p}.targetPort", target, m) for m in names.is_port_name(target)]
        node_port = port.get("nodePort")
        if node_port and kind not in ("NodePort", "LoadBalancer"):
            out.append(forbidden(f"{p}.nodePort", f"may not be used when `type` is '{kind}'"))
        elif node_port:
            out += [invalid(f"{p}.nodePort", node_port, m) for m in names.is_port_num(node_port)]
        if (number, proto) in pairs:
            out.append(duplicate(p, port))
        pairs.add((number, proto))
    affinity = spec.get("sessionAffinity")
    if affinity not in ("ClientIP", "None"):
        out.append(not_supported("spec.sessionAffinity", affinity or "", ("ClientIP", "None")))
    if kind == "ExternalName":
        ext = spec.get("externalName") or ""
        if not ext:
            out.append(required("spec.externalName"))
        else:
            msgs = names.is_dns1123_subdomain(ext.rstrip("."))
            out += [invalid("spec.externalName", ext.rstrip("."), m) for m in msgs]
    ip = spec.get("clusterIP")
    if ip and ip != "None" and not _is_ip(ip):
        out.append(invalid("spec.clusterIPs[0]", ip,
                           "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
    _labels(out, spec.get("selector"), "spec.selector")


def _cluster_ips(spec: Obj) -> list[str]:
    ips = _l(spec, "clusterIPs")
    if ips:
        return ips
    return [spec["clusterIP"]] if spec.get("clusterIP") else []


def _service_update(out: Causes, obj: Obj, old: Obj) -> None:
    spec, old_spec = _d(obj, "spec"), _d(old, "spec")
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return
    if spec.get("clusterIP") == "None" and old_spec.get("clusterIP") == "None":
        return
    new_ips, old_ips = _cluster_ips(spec), _cluster_ips(old_spec)
    if len(new_ips) == len(old_ips):
        if new_ips[:1] != old_ips[:1] or new_ips != old_ips:
            out.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
    elif len(new_ips) < len(old_ips) and not new_ips:
        out.append(invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset"))
    elif new_ips[:1] != old_ips[:1] and old_ips:
        out.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))


def _config_data(out: Causes, obj: Obj, secret: bool) -> None:
    data, binary = _d(obj, "data"), _d(obj, "binaryData")
    size = 0
    for key, value in data.items():
        out += [invalid(f"data[{key}]", key, m) for m in names.is_config_map_key(key)]
        size += len(value) * 3 // 4 if secret and isinstance(value, str) else len(
            str(value).encode())
    if secret:
        string_data = _d(obj, "stringData")
        for key, value in string_data.items():
            out += [invalid(f"stringData[{key}]", key, m) for m in names.is_config_map_key(key)]
            size += len(str(value).encode())
        if size > MAX_SECRET_BYTES:
            out.append(too_long("data", MAX_SECRET_BYTES))
        return
    for key, value in binary.items():
        out += [invalid(f"binaryData[{key}]", key, m) for m in names.is_config_map_key(key)]
        if key in data:
            out.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        size += len(str(value)) * 3 // 4
    if size > MAX_SECRET_BYTES:
        out.append(too_long("", MAX_SECRET_BYTES))


_IMMUTABLE_SET = "field is immutable when `immutable` is set"


def _config_update(out: Causes, obj: Obj, old: Obj, keys: tuple[str, ...]) -> None:
    if old.get("immutable") is True:
        if obj.get("immutable") is not True:
            out.append(forbidden("immutable", _IMMUTABLE_SET))
        for key in keys:
            if (obj.get(key) or None) != (old.get(key) or None):
                out.append(forbidden(key, _IMMUTABLE_SET))


_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def _access_modes(out: Causes, spec: Obj, path: str) -> None:
    modes = _l(spec, "accessModes")
    if not modes:
        out.append(required(f"{path}.accessModes", "at least 1 access mode is required"))
    for m in modes:
        if m not in _ACCESS_MODES:
            out.append(not_supported(f"{path}.accessModes", m, _ACCESS_MODES))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        out.append(forbidden(f"{path}.accessModes",
                             "may not use ReadWriteOncePod with other access modes"))


def _pvc_spec(out: Causes, spec: Obj, path: str) -> None:
    _access_modes(out, spec, path)
    requests = _d(_d(spec, "resources"), "requests")
    p = f"{path}.resources[storage]"
    if "storage" not in requests:
        out.append(required(p))
    else:
        q = parse_quantity(requests["storage"])
        if q is not None and q <= 0:
            shown = format_quantity(requests["storage"])
            out.append(invalid(p, shown, "must be greater than zero"))
    _resources(out, _d(spec, "resources"), f"{path}.resources")
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        out.append(not_supported(f"{path}.volumeMode", mode, ("Block", "Filesystem")))


def _pvc(out: Causes, obj: Obj) -> None:
    _pvc_spec(out, _d(obj, "spec"), "spec")


def _pvc_update(out: Causes, obj: Obj, old: Obj) -> None:
    spec, old_spec = _d(obj, "spec"), _d(old, "spec")
    a, b = dict(spec), dict(old_spec)
    for d in (a, b):
        d.pop("resources", None)
        if not old_spec.get("volumeName"):
            d.pop("volumeName", None)  # binding may set it once
    if a != b:
        out.append(forbidden("spec", "spec is immutable after creation except "
                             "resources.requests for bound claims\n" + _spec_diff(b, a)))
    new_q = parse_quantity(_d(_d(spec, "resources"), "requests").get("storage", 0))
    old_q = parse_quantity(_d(_d(old_spec, "resources"), "requests").get("storage", 0))
    if new_q is not None and old_q is not None and new_q < old_q and old_spec.get("volumeName"):
        out.append(forbidden("spec.resources.requests.storage",
                             "field can not be less than previous value"))


def _pv(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    _access_modes(out, spec, "spec")
    if "storage" not in _d(spec, "capacity"):
        out.append(required("spec.capacity"))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy not in ("Delete", "Recycle", "Retain"):
        out.append(not_supported("spec.persistentVolumeReclaimPolicy", policy or "",
                                 ("Delete", "Recycle", "Retain")))


def _namespace(out: Causes, obj: Obj) -> None:
    for f in _l(_d(obj, "spec"), "finalizers"):
        f = f if isinstance(f, str) else ""
        for msg in names.is_qualified_name(f):
            out.append(invalid("spec.finalizers", f, msg))
        if "/" not in f and f not in STANDARD_FINALIZERS:
            out.append(invalid("spec.finalizers", f, NOT_QUALIFIED))


_TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")


def _node(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    for i, t in enumerate(_l(spec, "taints")):
        if not isinstance(t, dict):
            continue
        p = f"spec.taints[{i}]"
        key = t.get("key") or ""
        out += [invalid(f"{p}.key", key, m) for m in names.is_qualified_name(key)]
        if t.get("value"):
            out += [invalid(f"{p}.value", t["value"], m) for m in names.is_label_value(t["value"])]
        effect = t.get("effect")
        if not effect:
            out.append(required(f"{p}.effect"))
        elif effect not in _TAINT_EFFECTS:
            out.append(not_supported(f"{p}.effect", effect, _TAINT_EFFECTS))


def _lease(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        out.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    _nonneg(out, spec, "leaseTransitions", "spec")


# --- rbac ----------------------------------------------------------------------------------------


def _rules(out: Causes, obj: Obj, namespaced: bool) -> None:
    for i, rule in enumerate(_l(obj, "rules")):
        if not isinstance(rule, dict):
            continue
        p = f"rules[{i}]"
        if not rule.get("verbs"):
            out.append(required(f"{p}.verbs", "verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs")
        if urls:
            if namespaced:
                out.append(invalid(f"{p}.nonResourceURLs", urls,
                                   "namespaced rules cannot apply to non-resource URLs"))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                out.append(invalid(f"{p}.nonResourceURLs", urls,
                                   "rules cannot apply to both regular resources and "
                                   "non-resource URLs"))
            continue
        if not rule.get("apiGroups"):
            out.append(required(f"{p}.apiGroups",
                                "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            out.append(required(f"{p}.resources",
                                "resource rules must supply at least one resource"))


def _binding(out: Causes, obj: Obj, namespaced: bool) -> None:
    ref = _d(obj, "roleRef")
    if ref.get("apiGroup") != RBAC_GROUP:
        out.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", (RBAC_GROUP,)))
    kinds = ("ClusterRole", "Role") if namespaced else ("ClusterRole",)
    if ref.get("kind") not in kinds:
        out.append(not_supported("roleRef.kind", ref.get("kind") or "", kinds))
    name = ref.get("name") or ""
    if not name:
        out.append(required("roleRef.name"))
    else:
        out += [invalid("roleRef.name", name, m) for m in names.is_path_segment_name(name)]
    for i, s in enumerate(_l(obj, "subjects")):
        if isinstance(s, dict):
            _subject(out, s, f"subjects[{i}]", namespaced)


def _subject(out: Causes, s: Obj, path: str, namespaced: bool) -> None:
    name = s.get("name") or ""
    if not name:
        out.append(required(f"{path}.name"))
    kind = s.get("kind")
    if kind == "ServiceAccount":
        if name:
            out += [invalid(f"{path}.name", name, m) for m in names.is_dns1123_subdomain(name)]
        if s.get("apiGroup"):
            out.append(not_supported(f"{path}.apiGroup", s["apiGroup"], ("",)))
        if not namespaced and not s.get("namespace"):
            out.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if s.get("apiGroup") != RBAC_GROUP:
            out.append(not_supported(f"{path}.apiGroup", s.get("apiGroup") or "", (RBAC_GROUP,)))
    else:
        out.append(not_supported(f"{path}.kind", kind or "", ("ServiceAccount", "User", "Group")))


def _role_ref_value(ref: Obj) -> str:
    return (f'rbac.RoleRef{{APIGroup:{json.dumps(ref.get("apiGroup", ""))}, '
            f'Kind:{json.dumps(ref.get("kind", ""))}, Name:{json.dumps(ref.get("name", ""))}}}')


# --- dispatch ------------------------------------------------------------------------------------

Check = Callable[[Causes, Obj], None]


def _admission_config(kind: str) -> Check:
    def check(out: Causes, obj: Obj) -> None:
        # Imported here: api.admissionregistration builds on this module's helpers.
        from kybernetes.api import admissionregistration

        admissionregistration.check(kind, out, obj)
    return check


_ADMISSION = "admissionregistration.k8s.io"


def _crd(out: Causes, obj: Obj) -> None:
    # Imported here: api.crd_validation builds on this module's helpers.
    from kybernetes.api import crd_validation

    out.extend(crd_validation.validate_crd(obj))

_CREATE: dict[tuple[str, str], Check] = {
    ("", "Pod"): lambda out, o: out.extend(validate_pod_spec(_d(o, "spec"), "spec")),
    ("", "PodTemplate"): lambda out, o: _template(out, o.get("template"), "template", None),
    ("", "ReplicationController"): _replication_controller,
    ("", "Service"): _service,
    ("", "ConfigMap"): lambda out, o: _config_data(out, o, False),
    ("", "Secret"): lambda out, o: _config_data(out, o, True),
    ("", "Namespace"): _namespace,
    ("", "Node"): _node,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "PersistentVolume"): _pv,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("coordination.k8s.io", "Lease"): _lease,
    (RBAC_GROUP, "Role"): lambda out, o: _rules(out, o, True),
    (RBAC_GROUP, "ClusterRole"): lambda out, o: _rules(out, o, False),
    (RBAC_GROUP, "RoleBinding"): lambda out, o: _binding(out, o, True),
    (RBAC_GROUP, "ClusterRoleBinding"): lambda out, o: _binding(out, o, False),
    **{(_ADMISSION, kind): _admission_config(kind) for kind in (
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")},
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}


def _kind_key(info: ResourceInfo) -> tuple[str, str]:
    return (info.group, info.kind)


def validate_create(info: ResourceInfo, obj: Obj) -> Causes:
    """Field errors for a new object (defaults already applied), [] when valid."""
    out = validate_object_meta(info, _d(obj, "metadata"))
    check = _CREATE.get(_kind_key(info))
    if check is not None:
        check(out, obj)
    if info.custom is not None:  # a custom resource: its CRD's schema and rules
        out.extend(info.custom.validate(obj, None))
    return out


def _update_specific(out: Causes, info: ResourceInfo, obj: Obj, old: Obj) -> None:
    key = _kind_key(info)
    spec, old_spec = _d(obj, "spec"), _d(old, "spec")
    if key == ("", "Pod"):
        _pod_update(out, spec, old_spec)
    elif key == ("", "Service"):
        _service_update(out, obj, old)
    elif key == ("", "ConfigMap"):
        _config_update(out, obj, old, ("data", "binaryData"))
    elif key == ("", "Secret"):
        _config_update(out, obj, old, ("data",))
        _immutable(out, obj.get("type") or "", old.get("type") or "", "type")
    elif key == ("", "PersistentVolumeClaim"):
        _pvc_update(out, obj, old)
    elif key in (("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "DaemonSet")):
        if spec.get("selector") != old_spec.get("selector"):
            out.append(invalid("spec.selector", selector_string(spec.get("selector")),
                               IMMUTABLE, raw=True))
    elif key == ("apps", "StatefulSet"):
        allowed = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                   "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
        a = {k: v for k, v in spec.items() if k not in allowed}
        b = {k: v for k, v in old_spec.items() if k not in allowed}
        if a != b:
            out.append(forbidden("spec", "updates to statefulset spec for fields other than "
                                 "'replicas', 'ordinals', 'template', 'updateStrategy', "
                                 "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
                                 "and 'minReadySeconds' are forbidden"))
    elif key == ("batch", "Job"):
        _job_update(out, spec, old_spec, old)
    elif key in ((RBAC_GROUP, "RoleBinding"), (RBAC_GROUP, "ClusterRoleBinding")):
        if _d(obj, "roleRef") != _d(old, "roleRef"):
            out.append(invalid("roleRef", _role_ref_value(_d(obj, "roleRef")),
                               "cannot change roleRef", raw=True))
    elif key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        from kybernetes.api import crd_validation

        out.extend(crd_validation.validate_crd_update(obj, old))


def _job_update(out: Causes, spec: Obj, old_spec: Obj, old: Obj) -> None:
    if spec.get("selector") != old_spec.get("selector"):
        out.append(invalid("spec.selector", selector_string(spec.get("selector")),
                           IMMUTABLE, raw=True))
    for key in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "manualSelector"):
        if spec.get(key) != old_spec.get(key):
            out.append(invalid(f"spec.{key}", spec.get(key), IMMUTABLE))
    indexed = spec.get("completionMode") == "Indexed"
    if spec.get("completions") != old_spec.get("completions") and not (
            indexed and spec.get("completions") == spec.get("parallelism")):
        out.append(invalid("spec.completions", spec.get("completions"), IMMUTABLE))
    # A suspended Job that never started may change its pod template (KEP-2926).
    never_started = old_spec.get("suspend") and not _d(old, "status").get("startTime")
    if spec.get("template") != old_spec.get("template") and not never_started:
        out.append(invalid("spec.template", spec.get("template"), IMMUTABLE))


def validate_update(info: ResourceInfo, obj: Obj, old: Obj) -> Causes:
    """Field errors for replacing `old` with `obj` (both defaulted)."""
    out = validate_object_meta_update(info, _d(obj, "metadata"), _d(old, "metadata"))
    check = _CREATE.get(_kind_key(info))
    if check is not None:
        check(out, obj)
    _update_specific(out, info, obj, old)
    if info.custom is not None:
        out.extend(info.custom.validate(obj, old))
    return out


def validate_status_update(info: ResourceInfo, obj: Obj, old: Obj) -> Causes:
    """Field errors for a write to the status subresource (spec changes are not
    this function's business: the registry keeps the old spec)."""
    out = validate_object_meta_update(info, _d(obj, "metadata"), _d(old, "metadata"))
    status = _d(obj, "status")
    for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas",
                "unavailableReplicas", "currentReplicas", "observedGeneration", "active",
                "succeeded", "failed"):
        _nonneg(out, status, key, "status")
    if _kind_key(info) == ("", "Pod"):
        phase = status.get("phase")
        phases = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
        if phase and phase not in phases:
            out.append(not_supported("status.phase", phase, phases))
    if info.custom is not None:
        out.extend(info.custom.validate(obj, old))
    return out
