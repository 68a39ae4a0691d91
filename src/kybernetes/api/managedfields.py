"""Field management: who owns which fields (`metadata.managedFields`), and apply.

Upstream: k8s.io/apimachinery/pkg/util/managedfields/internal (the FieldManager
and its chain of managers) over sigs.k8s.io/structured-merge-diff `merge.Updater`.
Pure: objects in, objects and managed fields out; the time is passed in.

    decode / encode        managedFields entries <-> `Managed` (one field set per manager)
    track_update(...)      a create, update or non-apply patch: the fields the request
                           changed move to its manager (operation Update)
    apply(...)             server-side apply: merge a configuration into the live object,
                           prune what the manager applied before and no longer does,
                           detect conflicts, record the manager's fields (operation Apply)
    conflict_error(...)    the 409 a conflicting apply answers

A manager is identified as upstream does, by the JSON of its entry without
fieldsType, fieldsV1 and time (`{"manager":"kubectl","operation":"Apply"}`);
Update managers also by apiVersion, so one name can own fields per version.

Rules kept from upstream:
- metadata that is not the user's (name, namespace, uid, resourceVersion,
  generation, creationTimestamp, managedFields, ...) is never owned;
- fields a strategy resets (`ignored`: status on the main resource, everything but
  status on /status) are never owned through that endpoint;
- an Update changes a field's owner: it takes the fields it modified or added from
  every other manager (no conflicts for updates);
- an Apply conflicts with every other manager that owns a field whose value the
  apply changes, unless forced; forcing takes the field over;
- an object whose managedFields were reset is not tracked again until an apply
  (which first attributes the existing fields to `before-first-apply`);
- at most 10 Update managers are kept; the oldest merge into `ancient-changes`.
"""

from __future__ import annotations

import copy
import functools
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from kybernetes.api import fieldpath as fp
from kybernetes.api import schema as schemas
from kybernetes.api import typed
from kybernetes.api.errors import Cause, StatusError
from kybernetes.api.fieldpath import FieldPathError, FieldSet, Path
from kybernetes.api.typed import Node

Obj = dict[str, Any]

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
MAX_UPDATE_MANAGERS = 10
FIELD_MANAGER_MAX_LENGTH = 128
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# The manager name kubectl uses for `apply --server-side`: only its applies keep the
# client-side last-applied annotation current and may take over what it claimed.
KUBECTL_APPLY_MANAGER = "kubectl"
BEFORE_FIRST_APPLY = "before-first-apply"
ANCIENT_CHANGES = "ancient-changes"
_TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

# Fields nobody owns (upstream stripMetaManager).
STRIPPED = FieldSet.of(
    ("f:apiVersion",), ("f:kind",), ("f:metadata",),
    *((("f:metadata", "f:" + n)) for n in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
        "generation", "managedFields", "resourceVersion")),
)


class ManagedFieldsError(ValueError):
    """managedFields that cannot be decoded."""


# --- managers and their field sets ---------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def identifier(manager: str, operation: str, api_version: str = "", subresource: str = ""
               ) -> str:
    """Upstream BuildManagerIdentifier: the entry as JSON without fieldsType, fieldsV1
    and time, and without apiVersion for appliers."""
    parts = []
    if manager:
        parts.append('"manager":' + fp.go_json(manager))
    if operation:
        parts.append('"operation":' + fp.go_json(operation))
    if api_version and operation != APPLY:
        parts.append('"apiVersion":' + fp.go_json(api_version))
    if subresource:
        parts.append('"subresource":' + fp.go_json(subresource))
    return "{" + ",".join(parts) + "}"


@functools.lru_cache(maxsize=4096)
def _identity(mid: str) -> dict[str, str]:
    """The fields of a manager identifier (shared: do not mutate)."""
    return orjson.loads(mid)


class VersionedSet:
    """One manager's fields at an API version. The field set is parsed from the stored
    FieldsV1 only when needed, and an untouched set is written back as it came."""

    __slots__ = ("_fields", "_raw", "api_version", "applied")

    def __init__(self, fields: FieldSet | None, api_version: str, applied: bool,
                 raw: Any = None) -> None:
        self._fields = fields
        self._raw = raw
        self.api_version = api_version
        self.applied = applied

    @property
    def fields(self) -> FieldSet:
        if self._fields is None:
            self._fields = FieldSet.from_fields_v1(self._raw)
        return self._fields

    def may_own_below(self, roots: set[str]) -> bool:
        """Whether this set can hold a path starting with one of `roots` (top-level field
        elements), without parsing a set that was never needed."""
        if self._fields is not None:
            return bool(roots & (self._fields.members | self._fields.children.keys()))
        return not isinstance(self._raw, dict) or bool(roots & self._raw.keys())

    def fields_v1(self) -> Any:
        if self._fields is None:
            return self._raw
        return self._fields.to_fields_v1()


@dataclass
class Managed:
    """Every manager's fields and the time of its last change, by manager identifier."""

    fields: dict[str, VersionedSet] = field(default_factory=dict)
    times: dict[str, str | None] = field(default_factory=dict)

    def copy(self) -> Managed:
        return Managed(dict(self.fields), dict(self.times))

    def set(self, mid: str, vs: VersionedSet) -> None:
        if vs.fields.empty():
            self.fields.pop(mid, None)
        else:
            self.fields[mid] = vs


def decode(entries: Any, *, validate: bool = True) -> Managed:
    """`metadata.managedFields` as `Managed`; ManagedFieldsError for anything upstream
    would not decode (unknown operation, missing apiVersion or fieldsType, bad
    FieldsV1). Without `validate` the FieldsV1 documents are parsed only when used."""
    out = Managed()
    if entries is None:
        return out
    if not isinstance(entries, list):
        raise ManagedFieldsError("managedFields must be a list")
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise ManagedFieldsError(f"managed fields entry {i} is not an object")
        op = e.get("operation")
        if op not in (APPLY, UPDATE):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        av = e.get("apiVersion")
        if not isinstance(av, str) or not av:
            raise ManagedFieldsError("apiVersion must not be empty")
        ft = e.get("fieldsType")
        if not ft:
            raise ManagedFieldsError(f"missing fieldsType in managed fields entry {i}")
        if ft != FIELDS_V1:
            raise ManagedFieldsError(f'invalid fieldsType "{ft}" in managed fields entry {i}')
        manager, sub = e.get("manager") or "", e.get("subresource") or ""
        if not isinstance(manager, str) or not isinstance(sub, str):
            raise ManagedFieldsError(f"managed fields entry {i} has a non-string manager")
        raw = e.get("fieldsV1")
        if raw is None:
            raw = {}
        vs = VersionedSet(None, av, op == APPLY, raw)
        if validate:
            try:
                vs.fields  # noqa: B018 - parse now to reject garbage
            except FieldPathError as exc:
                raise ManagedFieldsError(f"error decoding set: {exc}") from None
        mid = identifier(manager, op, av, sub)
        out.fields[mid] = vs
        t = e.get("time")
        out.times[mid] = t if isinstance(t, str) else None
    return out


def _seconds(t: str | None) -> float:
    if not t:
        return 0.0
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() // 1
    except ValueError:
        return 0.0


def encode(managed: Managed) -> list[Obj] | None:
    """Entries sorted as upstream: Apply before Update, then by time, manager, apiVersion
    and subresource. None when nobody manages anything."""
    entries = []
    for mid, vs in managed.fields.items():
        ident = _identity(mid)
        entry: Obj = {"manager": ident.get("manager", ""),
                      "operation": APPLY if vs.applied else UPDATE,
                      "apiVersion": vs.api_version}
        t = managed.times.get(mid)
        if t:
            entry["time"] = t
        entry["fieldsType"] = FIELDS_V1
        entry["fieldsV1"] = vs.fields_v1()
        if ident.get("subresource"):
            entry["subresource"] = ident["subresource"]
        entries.append(entry)
    if not entries:
        return None
    entries.sort(key=lambda e: (e["operation"], _seconds(e.get("time")), e["manager"],
                                e["apiVersion"], e.get("subresource", "")))
    return entries


def is_reset(entries: Any) -> bool:
    """The client asks to drop all managed fields: `[]` or `[{}]`."""
    return isinstance(entries, list) and (not entries or entries == [{}])


# --- manager names ------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def manager_from_user_agent(user_agent: str) -> str:
    """Upstream prefixFromUserAgent: the User-Agent up to its first `/`, without
    unprintable characters, cut to 128 bytes (`kubectl/v1.32.0 (...)` -> `kubectl`)."""
    out = []
    size = 0
    for ch in user_agent.split("/", 1)[0]:
        if not _printable(ch):
            continue
        n = len(ch.encode())
        if size + n > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(ch)
        size += n
    return "".join(out)


def _printable(ch: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space."""
    if ch == " ":
        return True
    return unicodedata.category(ch)[0] in "LMNPS"


def validate_field_manager(name: str) -> list[Cause]:
    """Upstream ValidateFieldManager: at most 128 bytes, printable characters only."""
    causes = []
    if len(name) > FIELD_MANAGER_MAX_LENGTH:
        causes.append(Cause("FieldValueTooLong",
                            f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes",
                            "fieldManager"))
    for i, ch in enumerate(name):
        if not _printable(ch):
            causes.append(Cause("FieldValueInvalid",
                                f"Invalid value: {fp.go_json(name)}: invalid character "
                                f"U+{ord(ch):04X} (at position {i})", "fieldManager"))
    return causes


# --- the zero object of a kind ------------------------------------------------------------

# Struct fields that Go types hold by value: a new (zero) object already has them, as {}
# or, for lists without omitempty, null. Only for the kinds whose managed fields users
# read most; elsewhere such a field shows up as owned itself (`.`) when first set.
_BY_VALUE: dict[str, dict[str, Any]] = {
    "io.k8s.api.core.v1.PodTemplateSpec": {"metadata": {}, "spec": "PodSpec"},
    "io.k8s.api.core.v1.PodSpec": {"containers": None},
    "io.k8s.api.apps.v1.DeploymentSpec": {"template": "PodTemplateSpec", "strategy": {}},
    "io.k8s.api.apps.v1.ReplicaSetSpec": {"template": "PodTemplateSpec"},
    "io.k8s.api.apps.v1.StatefulSetSpec": {"template": "PodTemplateSpec",
                                           "updateStrategy": {}},
    "io.k8s.api.apps.v1.DaemonSetSpec": {"template": "PodTemplateSpec", "updateStrategy": {}},
    "io.k8s.api.batch.v1.JobSpec": {"template": "PodTemplateSpec"},
    "io.k8s.api.batch.v1.CronJobSpec": {"jobTemplate": "JobTemplateSpec"},
    "io.k8s.api.batch.v1.JobTemplateSpec": {"metadata": {}, "spec": "JobSpec"},
}
_SHORT = {"PodSpec": "io.k8s.api.core.v1.PodSpec",
          "PodTemplateSpec": "io.k8s.api.core.v1.PodTemplateSpec",
          "JobTemplateSpec": "io.k8s.api.batch.v1.JobTemplateSpec",
          "JobSpec": "io.k8s.api.batch.v1.JobSpec"}


def zero_object(group: str, version: str, kind: str) -> Obj:
    """What a new, empty object of the kind looks like to a comparison (upstream
    compares a create against `scheme.New(kind)`), so that a create does not own
    `.spec` itself but only the fields below it."""
    out: Obj = {"metadata": {}}
    name = schemas.definition_name(group, version, kind)
    if name is None:
        return out
    props = schemas.definitions()[name].get("properties") or {}
    for top in ("spec", "status"):
        prop = props.get(top)
        if prop is None:
            continue
        ref = schemas.ref_name(prop)
        out[top] = _zero(ref) if ref else {}
    return out


def _zero(defname: str) -> Obj:
    out: Obj = {}
    for name, what in _BY_VALUE.get(defname, {}).items():
        out[name] = _zero(_SHORT[what]) if isinstance(what, str) else copy.copy(what)
    return out


# --- update (create, update, patch) ---------------------------------------------------------


def _without_managed_fields(obj: Any) -> Any:
    if obj is typed.ABSENT or not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    out = dict(obj)
    out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def _take_from_others(managed: Managed, cmp: typed.Comparison, workflow: str, *, force: bool
                      ) -> list[tuple[str, Path]]:
    """Upstream Updater.update: every other manager loses the removed fields; fields
    this change modified or added conflict with their owners (taken away when
    forced). Returns the conflicts (empty when forced)."""
    changed = cmp.modified.union(cmp.added)
    roots = (changed.members | changed.children.keys() | cmp.removed.members
             | cmp.removed.children.keys())
    conflicts: list[tuple[str, Path]] = []
    updates: dict[str, FieldSet] = {}
    for mid, vs in managed.fields.items():
        if mid == workflow or not vs.may_own_below(roots):
            continue
        owned = vs.fields
        clash = owned.intersection(changed) if not changed.empty() else FieldSet()
        if not clash.empty():
            conflicts.extend((mid, p) for p in clash.paths())
        rest = owned.difference(clash).difference(cmp.removed)
        if rest != owned:
            updates[mid] = rest
    if conflicts and not force:
        return conflicts
    for mid, rest in updates.items():
        vs = managed.fields[mid]
        managed.set(mid, VersionedSet(rest, vs.api_version, vs.applied))
    return []


def track_update(live: Obj | None, new: Obj, managed: Managed, *, manager: str,
                 api_version: str, subresource: str, node: Node, ignored: FieldSet | None,
                 now: str, zero: Obj | None = None) -> Managed:
    """The managed fields after `live` became `new` through a non-apply write of
    `manager` (live None: a create, compared against `zero`). `managed` is not
    mutated."""
    lhs = _without_managed_fields(live) if live is not None else (zero or {})
    rhs = _without_managed_fields(new)
    cmp = typed.compare(lhs, rhs, node).exclude(ignored)
    if cmp.empty():
        return managed
    out = managed.copy()
    _take_from_others(out, cmp, "", force=True)
    mine = cmp.modified.union(cmp.added).difference(cmp.removed)
    if ignored is not None:
        mine = mine.recursive_difference(ignored)
    mine = mine.difference(STRIPPED)
    if not mine.empty():
        mid = identifier(manager or "unknown", UPDATE, api_version, subresource)
        prev = out.fields.get(mid)
        if prev is not None:
            mine = mine.union(prev.fields)
        out.fields[mid] = VersionedSet(mine, api_version, False)
        out.times[mid] = now
    cap_update_managers(out)
    return out


def track_create(new: Obj, *, manager: str, api_version: str, subresource: str, node: Node,
                 ignored: FieldSet | None, now: str, zero: Obj | None = None
                 ) -> list[Obj] | None:
    """`encode(track_update(None, new, Managed(), ...))`: the managedFields entries of a
    create that starts without managed fields (its manager owns every field it sets),
    computed in one walk straight into the FieldsV1 form. None when it owns nothing."""
    mid = identifier(manager or "unknown", UPDATE, api_version, subresource)
    doc = typed.changed_fields_v1(zero or {}, _without_managed_fields(new), node)
    # A field is never both removed and added or modified: only ignored and stripped go.
    if ignored is not None:
        fp.v1_recursive_difference(doc, ignored)
    fp.v1_difference(doc, STRIPPED)
    if not doc:
        return None
    ident = _identity(mid)
    entry: Obj = {"manager": ident.get("manager", ""), "operation": UPDATE,
                  "apiVersion": api_version}
    if now:
        entry["time"] = now
    entry["fieldsType"] = FIELDS_V1
    entry["fieldsV1"] = doc
    if ident.get("subresource"):
        entry["subresource"] = ident["subresource"]
    return [entry]


def cap_update_managers(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """Merge the oldest Update managers into one `ancient-changes` entry per apiVersion
    until at most `limit` remain (upstream capManagersManager)."""
    updaters = [mid for mid, vs in managed.fields.items() if not vs.applied]
    if len(updaters) <= limit:
        return
    updaters.sort(key=lambda m: (_seconds(managed.times.get(m)), m))
    first_of: dict[str, str] = {}
    length = len(updaters)
    for mid in updaters:
        if length <= limit:
            break
        vs = managed.fields[mid]
        version = vs.api_version
        bucket = identifier(ANCIENT_CHANGES, UPDATE, version)
        if version not in first_of or mid == bucket:
            first_of.setdefault(version, mid)
            continue
        if bucket not in managed.fields:
            managed.fields[bucket] = managed.fields.pop(first_of[version])
        managed.fields[bucket] = VersionedSet(
            vs.fields.union(managed.fields[bucket].fields), version, False)
        del managed.fields[mid]
        managed.times[bucket] = managed.times.get(mid)
        length -= 1


# --- apply ------------------------------------------------------------------------------------


class ApplyConflicts(Exception):
    """Fields the apply would change that other managers own: (manager id, path)."""

    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts


@dataclass
class ApplyResult:
    obj: Obj  # the merged object (the live object when nothing changed)
    managed: Managed
    changed: bool


def apply(live: Obj, config: Obj, managed: Managed, *, manager: str, subresource: str,
          api_version: str, node: Node, ignored: FieldSet | None, force: bool, now: str,
          zero: Obj | None = None) -> ApplyResult:
    """Server-side apply of `config` by `manager` onto `live` (the zero object for a
    create). Raises ApplyConflicts, or typed.TypedError when the configuration does
    not fit the schema. Inputs are not mutated."""
    errors: list[str] = []
    config_fields = typed.field_set(config, node, errors=errors)
    if errors:
        raise typed.TypedError(errors)
    if not managed.fields:
        managed = track_update(zero or {}, live, managed, manager=BEFORE_FIRST_APPLY,
                               api_version=api_version, subresource=subresource, node=node,
                               ignored=ignored, now=now)
    mid = identifier(manager, APPLY, api_version, subresource)
    try:
        result = _apply(live, config, config_fields, managed, mid, api_version, node,
                        ignored, force, now)
    except ApplyConflicts as exc:
        if manager != KUBECTL_APPLY_MANAGER:
            raise
        allowed = _allowed_by_last_applied(live, node, api_version)
        if allowed is None:
            raise
        left = [(m, p) for m, p in exc.conflicts if not allowed.has(p)]
        if left:
            raise ApplyConflicts(left) from None
        result = _apply(live, config, config_fields, managed, mid, api_version, node,
                        ignored, True, now)
    if manager == KUBECTL_APPLY_MANAGER and _last_applied(result.obj) is not None:
        before = _last_applied(result.obj)
        _set_last_applied(result.obj, last_applied_of(config))
        result.changed = result.changed or before != _last_applied(result.obj)
    return result


def _apply(live: Obj, config: Obj, config_fields: FieldSet, managed: Managed, mid: str,
           api_version: str, node: Node, ignored: FieldSet | None, force: bool, now: str
           ) -> ApplyResult:
    live_plain = _without_managed_fields(live)
    merged = typed.merge(live_plain, config, node)
    out = managed.copy()
    last = out.fields.get(mid)
    mine = config_fields.recursive_difference(ignored) if ignored is not None else config_fields
    out.fields[mid] = VersionedSet(mine, api_version, True)
    merged = _prune(merged, out, last, node)
    cmp = typed.compare(live_plain, merged, node).exclude(ignored)
    conflicts = _take_from_others(out, cmp, mid, force=force)
    if conflicts:
        raise ApplyConflicts(conflicts)
    changed = not typed.equal(live_plain, merged)
    vs = out.fields[mid]
    out.set(mid, VersionedSet(vs.fields.difference(STRIPPED), api_version, True))
    if changed:
        out.times[mid] = now
    obj = copy.deepcopy(merged if changed else live_plain)
    return ApplyResult(obj, out, changed)


def _prune(merged: Obj, managed: Managed, last: VersionedSet | None, node: Node) -> Obj:
    """Remove what the applier applied last time and no longer applies, unless another
    manager (or the new configuration) owns it (upstream Updater.prune)."""
    if last is None or last.fields.empty():
        return merged

    def named(s: FieldSet) -> FieldSet:
        return typed.ensure_named_fields(s, node)

    def fields_of(obj: Any) -> FieldSet:
        return named(typed.field_set(obj if obj is not typed.ABSENT else {}, node))

    def without(obj: Obj, s: FieldSet) -> Obj:
        out = typed.remove_items(obj, s, node)
        return {} if out is typed.ABSENT else out

    last_fields = named(last.fields)
    pruned = without(merged, last_fields)
    owned = FieldSet()
    for vs in managed.fields.values():
        owned = owned.union(vs.fields)
    merged_fields = fields_of(merged)
    pruned = without(merged, merged_fields.difference(fields_of(pruned).union(named(owned))))
    dangling = merged_fields.difference(fields_of(pruned)).intersection(last_fields)
    return without(merged, dangling)


def _last_applied(obj: Obj) -> str | None:
    ann = (obj.get("metadata") or {}).get("annotations")
    if not isinstance(ann, dict):
        return None
    value = ann.get(LAST_APPLIED)
    return value if isinstance(value, str) and value else None


def last_applied_of(config: Obj) -> str:
    """The client-side apply annotation for an applied configuration: the configuration
    without the annotation, as kubectl writes it (sorted JSON and a newline)."""
    cfg = copy.deepcopy(config)
    ann = (cfg.get("metadata") or {}).get("annotations")
    if isinstance(ann, dict):
        ann.pop(LAST_APPLIED, None)
    return fp.go_json(cfg) + "\n"


def _set_last_applied(obj: Obj, value: str) -> None:
    ann = obj.setdefault("metadata", {}).setdefault("annotations", {})
    ann[LAST_APPLIED] = value
    if sum(len(k) + len(v) for k, v in ann.items() if isinstance(v, str)) > \
            _TOTAL_ANNOTATION_SIZE_LIMIT:
        del ann[LAST_APPLIED]


def _allowed_by_last_applied(live: Obj, node: Node, api_version: str) -> FieldSet | None:
    """The fields the client-side apply annotation claims with the live values: kubectl's
    first server-side apply may take them over without conflicts (upstream
    lastAppliedManager)."""
    text = _last_applied(live)
    if text is None:
        return None
    try:
        last = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    errors: list[str] = []
    claimed = typed.field_set(last, node, errors=errors)
    if errors:
        return None
    cmp = typed.compare(last, _without_managed_fields(live), node)
    return claimed.difference(cmp.modified).difference(cmp.added).difference(cmp.removed)


# --- conflicts ----------------------------------------------------------------------------------


def describe_manager(mid: str) -> str:
    """Upstream printManager: `"kubectl"`, `"x" with subresource "status"`,
    `"kubectl-client-side-apply" using apps/v1`."""
    try:
        ident = _identity(mid)
    except orjson.JSONDecodeError:
        return fp.go_json(mid)
    out = fp.go_json(ident.get("manager", ""))
    if ident.get("subresource"):
        out += " with subresource " + fp.go_json(ident["subresource"])
    if ident.get("operation") == UPDATE:
        out += f" using {ident.get('apiVersion', '')}"
    return out


def conflict_error(conflicts: list[tuple[str, Path]]) -> StatusError:
    """The 409 of upstream NewConflictError: one cause per conflicting field."""
    ordered = sorted(conflicts, key=lambda c: (c[0], tuple(fp.sort_key(pe) for pe in c[1])))
    causes = [Cause("FieldManagerConflict", f"conflict with {describe_manager(m)}",
                    fp.path_string(p)) for m, p in ordered]
    if len(ordered) == 1:
        m, p = ordered[0]
        message = (f"Apply failed with 1 conflict: conflict with {describe_manager(m)}: "
                   f"{fp.path_string(p)}")
    else:
        lines = []
        by_manager: dict[str, list[Path]] = {}
        for m, p in ordered:
            by_manager.setdefault(m, []).append(p)
        for m in sorted(by_manager):
            lines.append(f"conflicts with {describe_manager(m)}:")
            lines.extend(f"- {fp.path_string(p)}" for p in by_manager[m])
        message = f"Apply failed with {len(ordered)} conflicts: " + "\n".join(lines)
    return StatusError(409, "Conflict", message, causes=causes)


# --- objects -------------------------------------------------------------------------------------


def set_on(obj: Obj, managed: Managed) -> None:
    """Write `managed` into the object's metadata (removing the key when empty)."""
    meta = obj.setdefault("metadata", {})
    entries = encode(managed)
    if entries is None:
        meta.pop("managedFields", None)
    else:
        meta["managedFields"] = entries


def same_ignoring_times(a: Any, b: Any) -> bool:
    """Two managedFields lists equal apart from their entries' times."""
    if not isinstance(a, list) or not isinstance(b, list) or len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if not isinstance(x, dict) or not isinstance(y, dict):
            return False
        if {k: v for k, v in x.items() if k != "time"} != {
                k: v for k, v in y.items() if k != "time"}:
            return False
    return True
