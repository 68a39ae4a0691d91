"""Schema-aware walks over objects: field sets, apply merge, comparison, removal.

Upstream: sigs.k8s.io/structured-merge-diff `typed` (tofieldset.go, merge.go,
compare.go, remove.go, validate.go) over the type model that
k8s.io/kube-openapi's `schemaconv` derives from OpenAPI. Here the model is
compiled straight from the JSON-schema definitions (`kybernetes.api.schema`,
or a CRD's openAPIV3Schema) into small `Node`s:

    ScalarNode    a leaf value
    MapNode       a struct (declared `properties`) and/or a map (`additionalProperties`);
                  granular unless `x-kubernetes-map-type: atomic`
    ListNode      `x-kubernetes-list-type`: atomic (the default), set (items by value,
                  `v:`) or map (items by `x-kubernetes-list-map-keys`, `k:`); older
                  definitions without a list type but with `x-kubernetes-patch-strategy:
                  merge` are sets (scalars) or maps keyed by the patch merge key
    UNTYPED       no schema (or preserve-unknown-fields): maps granular, lists atomic

Rules that decide what a field set contains (upstream ToFieldSet): a scalar, an
atomic list or an atomic map is a member (a leaf); a list-map or set item is a
member and so are its fields; a map key is a member when its value is null, an
empty map, or the key is not a declared struct field (a label, an annotation);
a declared struct field holding a non-empty object is not itself a member.

`ABSENT` stands for "no value here" (distinct from an explicit null). Values are
JSON-shaped (dict, list, str, int, float, bool, None); walks never mutate their
inputs.
"""

from __future__ import annotations

from typing import Any

from kybernetes.api import fieldpath as fp
from kybernetes.api import schema as schemas
from kybernetes.api.fieldpath import FieldSet, Path

Schema = dict[str, Any]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()

# List-map key fields that upstream's OpenAPI defaults (`+default="TCP"`) but the
# kubernetes-validate definitions do not carry.
_KEY_DEFAULTS = {"protocol": "TCP"}


class TypedError(ValueError):
    """The object does not fit its schema (upstream ValidationErrors)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors

    def message(self) -> str:
        if len(self.errors) == 1:
            return self.errors[0]
        return "errors:\n" + "\n".join("  " + e for e in self.errors)


# --- the type model -------------------------------------------------------------------


class Node:
    __slots__ = ()
    kind = ""


class ScalarNode(Node):
    __slots__ = ("types",)
    kind = "scalar"

    def __init__(self, types: frozenset[str]) -> None:
        self.types = types  # JSON types accepted; empty = any scalar


class UntypedNode(Node):
    __slots__ = ()
    kind = "untyped"


UNTYPED = UntypedNode()


class MapNode(Node):
    __slots__ = ("_elem", "_fields", "atomic", "elem_schema", "props")
    kind = "map"

    def __init__(self, props: dict[str, Schema], elem_schema: Schema | bool | None,
                 atomic: bool) -> None:
        self.props = props
        self.elem_schema = elem_schema  # schema of undeclared keys; True = untyped; None = none
        self.atomic = atomic
        self._fields: dict[str, Node] = {}
        self._elem: Node | None = None

    def declared(self, name: str) -> bool:
        return name in self.props

    def child(self, name: str) -> Node | None:
        """The type of key `name`: its declared field, else the map's element type."""
        node = self._fields.get(name)
        if node is not None:
            return node
        prop = self.props.get(name)
        if prop is not None:
            node = self._fields[name] = compile_schema(prop)
            return node
        if self.elem_schema is None:
            return None
        if self._elem is None:
            self._elem = UNTYPED if self.elem_schema is True else compile_schema(
                self.elem_schema)  # type: ignore[arg-type]
        return self._elem


class ListNode(Node):
    __slots__ = ("_elem", "elem_schema", "key_defaults", "keys", "relationship")
    kind = "list"

    def __init__(self, elem_schema: Schema | None, relationship: str, keys: tuple[str, ...],
                 key_defaults: dict[str, Any]) -> None:
        self.elem_schema = elem_schema
        self.relationship = relationship  # "atomic" | "set" | "map"
        self.keys = keys
        self.key_defaults = key_defaults
        self._elem: Node | None = None

    @property
    def elem(self) -> Node:
        if self._elem is None:
            self._elem = compile_schema(self.elem_schema) if self.elem_schema else UNTYPED
        return self._elem


_cache: dict[int, tuple[Schema, Node]] = {}


def compile_schema(prop: Schema | None) -> Node:
    """The node for a (property) schema; extensions on the property win over those of
    the definition it references. Compiled once per schema object."""
    if not prop:
        return UNTYPED
    hit = _cache.get(id(prop))
    if hit is not None and hit[0] is prop:
        return hit[1]
    node = _compile(prop)
    _cache[id(prop)] = (prop, node)
    return node


def _ext(prop: Schema, target: Schema, name: str) -> Any:
    v = prop.get(name)
    return target.get(name) if v is None else v


def _compile(prop: Schema) -> Node:
    target = schemas.resolve(prop) or {}
    if not target:
        return UNTYPED
    if _ext(prop, target, "x-kubernetes-int-or-string"):
        return ScalarNode(frozenset())
    types = schemas.types_of(target)
    props = target.get("properties")
    extra = target.get("additionalProperties")
    preserve = bool(_ext(prop, target, "x-kubernetes-preserve-unknown-fields"))
    if "object" in types or props or extra is not None:
        if not props and not isinstance(extra, dict) and extra is not True:
            return UNTYPED  # free-form object (RawExtension, FieldsV1, JSON)
        elem: Schema | bool | None = extra if isinstance(extra, dict) else (
            True if extra is True or preserve else None)
        atomic = _ext(prop, target, "x-kubernetes-map-type") == "atomic"
        return MapNode(dict(props or {}), elem, atomic)
    if "array" in types or "items" in target:
        return _compile_list(prop, target)
    if types:
        return ScalarNode(frozenset(types) if len(types) == 1 else frozenset())
    return UNTYPED


def _compile_list(prop: Schema, target: Schema) -> ListNode:
    items = target.get("items") if isinstance(target.get("items"), dict) else None
    list_type = _ext(prop, target, "x-kubernetes-list-type")
    keys: tuple[str, ...] = ()
    if list_type == "map":
        keys = tuple(_ext(prop, target, "x-kubernetes-list-map-keys") or ())
        relationship = "map" if keys else "atomic"
    elif list_type == "set":
        relationship = "set"
    elif list_type == "atomic":
        relationship = "atomic"
    else:
        # Definitions older than list types: a merge patch strategy makes the list
        # associative (kube-openapi schemaconv).
        strategy = str(_ext(prop, target, "x-kubernetes-patch-strategy") or "")
        merge_key = _ext(prop, target, "x-kubernetes-patch-merge-key")
        if "merge" in strategy.split(","):
            if merge_key:
                relationship, keys = "map", (str(merge_key),)
            else:
                relationship = "set"
        else:
            relationship = "atomic"
    defaults: dict[str, Any] = {}
    if keys and items is not None:
        item_props = (schemas.resolve(items) or {}).get("properties") or {}
        for k in keys:
            ks = schemas.resolve(item_props.get(k)) if item_props.get(k) else None
            if ks and "default" in ks:
                defaults[k] = ks["default"]
            elif k in _KEY_DEFAULTS:
                defaults[k] = _KEY_DEFAULTS[k]
    return ListNode(items, relationship, keys, defaults)


def for_kind(group: str, version: str, kind: str) -> Node:
    """The root node of a built-in kind; UNTYPED for kinds without a definition."""
    sch = schemas.for_kind(group, version, kind)
    return compile_schema(sch) if sch is not None else UNTYPED


# --- list items -------------------------------------------------------------------------


def item_element(node: ListNode, i: int, item: Any) -> str:
    """The path element of list item `item` at position `i`; ValueError if it has none."""
    if node.relationship == "map":
        if item is None:
            raise ValueError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise ValueError("associative list with keys may not have non-map elements")
        fields = {}
        for k in node.keys:
            if k in item:
                fields[k] = item[k]
            elif k in node.key_defaults:
                fields[k] = node.key_defaults[k]
            else:
                raise ValueError(f'associative list with keys has an element that omits key '
                                 f'field "{k}" (and doesn\'t have default value)')
        return fp.key(fields)
    if node.relationship == "set":
        if isinstance(item, dict):
            raise ValueError("associative list without keys has an element that's a map type")
        if isinstance(item, list):
            raise ValueError("not supported: associative list with lists as elements")
        if item is None:
            raise ValueError("associative list without keys has an element that's an "
                             "explicit null")
        return fp.value(item)
    return fp.index(i)


def _index_items(node: ListNode, items: list, path: Path, errors: list[str] | None
                 ) -> list[tuple[str, Any]]:
    """(element, item) per item. Items without an element get their index (and an
    error when `errors` collects them); a repeated element is an error too."""
    out = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        try:
            pe = item_element(node, i, item)
        except ValueError as exc:
            if errors is not None:
                errors.append(f"{fp.path_string(path)}: element {i}: {exc}")
                continue
            pe = fp.index(i)
        if pe in seen and errors is not None:
            errors.append(f"{fp.path_string(path)}: duplicate entries for key "
                          f"{fp.element_string(pe)}")
            continue
        seen.add(pe)
        out.append((pe, item))
    return out


# --- validation and field sets ----------------------------------------------------------


def _type_error(path: Path, node: ScalarNode | MapNode | ListNode, v: Any) -> str:
    if isinstance(node, MapNode):
        want = "map"
    elif isinstance(node, ListNode):
        want = "list"
    elif node.types & {"integer", "number"}:
        want = "numeric (int or float)"
    else:
        want = next(iter(node.types), "scalar")
    return f"{fp.path_string(path)}: expected {want}, got {json_type(v)}"


def json_type(v: Any) -> str:
    """The JSON type of a value as validation messages name it."""
    return ("string" if isinstance(v, str) else "bool" if isinstance(v, bool)
            else "map" if isinstance(v, dict) else "list" if isinstance(v, list)
            else "null" if v is None else "numeric")


def _scalar_ok(node: ScalarNode, v: Any) -> bool:
    if v is None or not node.types:
        return not isinstance(v, dict | list)
    if isinstance(v, bool):
        return "boolean" in node.types
    if isinstance(v, int | float):
        return bool(node.types & {"integer", "number"})
    if isinstance(v, str):
        return "string" in node.types
    return False


def field_set(obj: Any, node: Node, *, errors: list[str] | None = None) -> FieldSet:
    """The fields `obj` sets (upstream TypedValue.ToFieldSet). With `errors`, also
    check `obj` against the schema (unknown fields, wrong types, list keys, duplicate
    items) and collect messages like upstream's validation errors."""
    below, _ = _fs(obj, node, (), errors)
    return below


def _fs(v: Any, node: Node, path: Path, errors: list[str] | None) -> tuple[FieldSet, bool]:
    """(the set below this value, whether the value itself is a member)."""
    if isinstance(node, ScalarNode):
        if errors is not None and not _scalar_ok(node, v):
            errors.append(_type_error(path, node, v))
        return FieldSet(), True
    if node is UNTYPED:
        if isinstance(v, dict):
            return _fs_map(v, None, path, errors), False
        return FieldSet(), True
    if isinstance(node, MapNode):
        if node.atomic:
            if errors is not None and v is not None and not isinstance(v, dict):
                errors.append(_type_error(path, node, v))
            return FieldSet(), True
        if not isinstance(v, dict):
            if errors is not None and v is not None:
                errors.append(_type_error(path, node, v))
            return FieldSet(), False
        return _fs_map(v, node, path, errors), False
    assert isinstance(node, ListNode)
    if v is not None and not isinstance(v, list):
        if errors is not None:
            errors.append(_type_error(path, node, v))
        return FieldSet(), node.relationship == "atomic"
    if node.relationship == "atomic":
        return FieldSet(), True
    out = FieldSet()
    if not v:
        return out, False
    elem = node.elem
    for pe, item in _index_items(node, v, path, errors):
        below, _ = _fs(item, elem, (*path, pe), errors)
        out.members.add(pe)
        if not below.empty():
            out.children[pe] = below
    return out, False


def _fs_map(v: dict, node: MapNode | None, path: Path, errors: list[str] | None) -> FieldSet:
    out = FieldSet()
    for k, child in v.items():
        pe = fp.field(k)
        if node is None:
            cnode: Node | None = UNTYPED
            declared = False
        else:
            cnode = node.child(k)
            declared = node.declared(k)
        if cnode is None:
            if errors is not None:
                errors.append(f"{fp.path_string((*path, pe))}: field not declared in schema")
            continue
        below, member = _fs(child, cnode, (*path, pe), errors)
        if member or child is None or (isinstance(child, dict) and not child) or not declared:
            out.members.add(pe)
        if not below.empty():
            out.children[pe] = below
    return out


def ensure_named_fields(s: FieldSet, node: Node | None) -> FieldSet:
    """`s` plus every declared struct field that has members below it (upstream
    EnsureNamedFieldsAreMembers), so that removing a field takes its subtree."""
    if s.empty() or node is None:
        return s
    members = set(s.members)
    children = {}
    for pe, child in s.children.items():
        cnode: Node | None = None
        if isinstance(node, MapNode):
            name = fp.element_name(pe)
            if name is not None:
                if node.declared(name):
                    members.add(pe)
                cnode = node.child(name)
        elif isinstance(node, ListNode) and pe.startswith("k:"):
            cnode = node.elem
        children[pe] = ensure_named_fields(child, cnode) if cnode is not None else child
    return FieldSet(members, children)


# --- merge (apply) ----------------------------------------------------------------------


def merge(lhs: Any, rhs: Any, node: Node) -> Any:
    """`rhs` (an applied configuration) merged into `lhs` (the live object): leaves
    and atomic values from rhs win, maps merge by key, associative lists by item
    element, keeping live items not in rhs where they were (upstream Merge)."""
    if rhs is ABSENT:
        return lhs
    if lhs is ABSENT:
        return rhs
    if isinstance(node, ScalarNode):
        return rhs
    if node is UNTYPED:
        if isinstance(lhs, dict) and isinstance(rhs, dict):
            return _merge_map(lhs, rhs, None)
        return rhs
    if isinstance(node, MapNode):
        if node.atomic:
            return rhs
        if isinstance(lhs, dict) and rhs is None:
            return lhs if lhs else rhs
        if not isinstance(lhs, dict) or not isinstance(rhs, dict) or (not lhs and not rhs):
            return rhs
        return _merge_map(lhs, rhs, node)
    assert isinstance(node, ListNode)
    if node.relationship == "atomic":
        return rhs
    if isinstance(lhs, list) and lhs and rhs is None:
        return lhs
    if not isinstance(lhs, list) or not isinstance(rhs, list) or (not lhs and not rhs):
        return rhs
    return _merge_list(lhs, rhs, node)


def _merge_map(lhs: dict, rhs: dict, node: MapNode | None) -> dict:
    out: dict[str, Any] = {}
    for k in [*lhs, *(k for k in rhs if k not in lhs)]:
        r = rhs.get(k, ABSENT)
        cnode = UNTYPED if node is None else (node.child(k) or UNTYPED)
        v = merge(lhs.get(k, ABSENT), r, cnode)
        if v is None and r is None:
            continue  # an explicit null in the configuration unsets the field
        if v is not ABSENT:
            out[k] = v
    return out


def _merge_list(lhs: list, rhs: list, node: ListNode) -> list:
    """Upstream's ordering: rhs order for the items both have, live-only items kept
    in place, rhs-only items where rhs puts them."""
    litems = _index_items(node, lhs, (), None)
    ritems = _index_items(node, rhs, (), None)
    lmap: dict[str, Any] = {}
    for pe, item in litems:
        lmap.setdefault(pe, item)
    rmap = dict(ritems)
    shared = [pe for pe, _ in ritems if pe in lmap]
    k = 0
    nxt = shared[0] if shared else None
    merged: set[str] = set()
    out: list = []
    elem = node.elem
    li = ri = 0
    while li < len(litems) or ri < len(ritems):
        if li < len(litems) and ri < len(ritems):
            pe = litems[li][0]
            if pe == ritems[ri][0]:
                merged.add(pe)
                out.append(merge(lmap[pe], rmap[pe], elem))
                li += 1
                ri += 1
                k += 1
                nxt = shared[k] if k < len(shared) else None
                continue
            if pe in rmap and nxt is not None and nxt != pe:
                li += 1
                continue
        if li < len(litems):
            pe, item = litems[li]
            if pe not in rmap:
                out.append(item)
                li += 1
                continue
            if pe in merged:
                li += 1
                continue
        if ri < len(ritems):
            pe = ritems[ri][0]
            merged.add(pe)
            out.append(merge(lmap.get(pe, ABSENT), rmap[pe], elem))
            ri += 1
            if nxt is not None and nxt == pe:
                k += 1
                nxt = shared[k] if k < len(shared) else None
    return out


# --- compare ------------------------------------------------------------------------------


class Comparison:
    """What changed from one object to another, as field sets (upstream Comparison)."""

    __slots__ = ("added", "modified", "removed")

    def __init__(self) -> None:
        self.removed = FieldSet()
        self.modified = FieldSet()
        self.added = FieldSet()

    def exclude(self, fields: FieldSet | None) -> Comparison:
        """Without `fields` and their subtrees (upstream ExcludeFields)."""
        if fields is None or fields.empty():
            return self
        out = Comparison()
        out.removed = self.removed.recursive_difference(fields)
        out.modified = self.modified.recursive_difference(fields)
        out.added = self.added.recursive_difference(fields)
        return out

    def empty(self) -> bool:
        return self.removed.empty() and self.modified.empty() and self.added.empty()


def compare(lhs: Any, rhs: Any, node: Node) -> Comparison:
    """The fields removed, modified and added going from `lhs` to `rhs` (upstream
    TypedValue.Compare). A leaf present on both sides with another value is
    modified; a non-leaf is only ever added or removed as a whole."""
    c = Comparison()
    if lhs is ABSENT or rhs is ABSENT or equal(lhs, rhs) or _is_leaf(lhs, rhs, node):
        # Nobody owns the whole object: a difference at the root has no path.
        if lhs is ABSENT and rhs is not ABSENT:
            c.added = _every_field(rhs, node) or FieldSet()
        elif rhs is ABSENT and lhs is not ABSENT:
            c.removed = _every_field(lhs, node) or FieldSet()
        return c
    _cmp_below(lhs, rhs, node, c.removed, c.modified, c.added)
    return c


def equal(a: Any, b: Any) -> bool:
    """JSON equality, except that a boolean is never equal to a number."""
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _is_leaf(lhs: Any, rhs: Any, node: Node) -> bool:
    """Whether upstream's merge walk treats this pair as one value (a scalar, an atomic
    list or map, both sides empty, or mismatched types)."""
    if isinstance(node, ScalarNode):
        return True
    if isinstance(node, ListNode):
        if node.relationship == "atomic":
            return True
        kind: type = list
    elif isinstance(node, MapNode):
        if node.atomic:
            return True
        kind = dict
    else:
        kind = dict
        if not all(isinstance(v, dict) for v in (lhs, rhs) if v is not ABSENT):
            return True
    empty = True
    for v in (lhs, rhs):
        if v is ABSENT or v is None:
            continue
        if not isinstance(v, kind):
            return True
        if v:
            empty = False
    return empty


def _cmp_below(lhs: Any, rhs: Any, node: Node, removed: FieldSet, modified: FieldSet,
               added: FieldSet) -> None:
    """Compare the children of two non-leaf values into the three sets (relative to
    this node), in place."""
    if isinstance(node, ListNode):
        lmap = dict(_index_items(node, lhs or [], (), None))
        rmap = dict(_index_items(node, rhs or [], (), None))
        elem = node.elem
        for pe in [*lmap, *(pe for pe in rmap if pe not in lmap)]:
            _cmp_child(pe, lmap.get(pe, ABSENT), rmap.get(pe, ABSENT), elem,
                       removed, modified, added)
        return
    mnode = node if isinstance(node, MapNode) else None
    ld = lhs if isinstance(lhs, dict) else {}
    rd = rhs if isinstance(rhs, dict) else {}
    for k, lv in ld.items():
        rv = rd.get(k, ABSENT)
        if rv is lv:
            continue
        cnode = UNTYPED if mnode is None else (mnode.child(k) or UNTYPED)
        _cmp_child("f:" + k, lv, rv, cnode, removed, modified, added)
    for k, rv in rd.items():
        if k in ld:
            continue
        added.members.add("f:" + k)
        if rv and isinstance(rv, dict | list):
            below = _every_field(rv, UNTYPED if mnode is None else (mnode.child(k) or UNTYPED))
            if below is not None and not below.empty():
                added.children["f:" + k] = below


def _cmp_child(pe: str, lv: Any, rv: Any, cnode: Node, removed: FieldSet,
               modified: FieldSet, added: FieldSet) -> None:
    if lv is ABSENT or rv is ABSENT:
        # One side only: every field of that side (leaves and the nodes above them).
        into, v = (added, rv) if lv is ABSENT else (removed, lv)
        into.members.add(pe)
        if v and isinstance(v, dict | list):
            below = _every_field(v, cnode)
            if below is not None and not below.empty():
                into.children[pe] = below
        return
    if equal(lv, rv):
        return
    if _is_leaf(lv, rv, cnode):
        modified.members.add(pe)
        return
    r, m, a = FieldSet(), FieldSet(), FieldSet()
    _cmp_below(lv, rv, cnode, r, m, a)
    if not r.empty():
        removed.children[pe] = r
    if not m.empty():
        modified.children[pe] = m
    if not a.empty():
        added.children[pe] = a


def _every_field(v: Any, node: Node) -> FieldSet | None:
    """Every path below `v` (a value compared against nothing); None for a leaf."""
    if isinstance(node, ListNode):
        if not v or not isinstance(v, list) or node.relationship == "atomic":
            return None
        out = FieldSet()
        elem = node.elem
        for pe, item in _index_items(node, v, (), None):
            out.members.add(pe)
            below = _every_field(item, elem)
            if below is not None and not below.empty():
                out.children[pe] = below
        return out
    if isinstance(node, ScalarNode) or not v or not isinstance(v, dict):
        return None
    mnode: MapNode | None = None
    if isinstance(node, MapNode):
        if node.atomic:
            return None
        mnode = node
    out = FieldSet()
    for k, child in v.items():
        pe = "f:" + k
        out.members.add(pe)
        if child and isinstance(child, dict | list):
            below = _every_field(child, UNTYPED if mnode is None else (
                mnode.child(k) or UNTYPED))
            if below is not None and not below.empty():
                out.children[pe] = below
    return out


# --- changed fields straight to FieldsV1 --------------------------------------------------

_CONTAINER = (dict, list)  # a tuple: `dict | list` builds a union object on every use


def changed_fields_v1(lhs: Any, rhs: Any, node: Node) -> dict[str, Any]:
    """The FieldsV1 object of the fields modified or added going from `lhs` to `rhs`:
    `compare(lhs, rhs, node)`'s modified and added as `FieldSet.to_fields_v1` writes it
    (keys in upstream's order, `.` first), built in one walk without the sets. Only
    the changed parts of both values are visited. A fresh object (safe to mutate)."""
    if rhs is ABSENT:
        return {}
    if lhs is ABSENT:
        out = _every_member(rhs, node)
        out.pop(".", None)  # nobody owns the whole object
        return out
    if equal(lhs, rhs) or _is_leaf(lhs, rhs, node):
        return {}
    return _changed_below(lhs, rhs, node)


def _changed_below(lhs: Any, rhs: Any, node: Node) -> dict[str, Any]:
    """`_cmp_below`'s modified and added, in FieldsV1 form (the children of this value)."""
    out: dict[str, Any] = {}
    if isinstance(node, ListNode):
        lmap = dict(_index_items(node, lhs or [], (), None))
        rmap = dict(_index_items(node, rhs or [], (), None))
        elem = node.elem
        for pe in sorted(rmap, key=fp.sort_key):
            _changed_child(out, pe, lmap.get(pe, ABSENT), rmap[pe], elem)
        return out
    mnode = node if isinstance(node, MapNode) else None
    ld = lhs if isinstance(lhs, dict) else {}
    rd = rhs if isinstance(rhs, dict) else {}
    for k in sorted(rd):
        rv = rd[k]
        lv = ld.get(k, ABSENT)
        if rv is lv:
            continue
        if lv is ABSENT and not (rv and isinstance(rv, _CONTAINER)):
            out["f:" + k] = {}  # an added leaf (the common case on a create)
            continue
        cnode = UNTYPED if mnode is None else (mnode.child(k) or UNTYPED)
        _changed_child(out, "f:" + k, lv, rv, cnode)
    return out


def _changed_child(out: dict[str, Any], pe: str, lv: Any, rv: Any, cnode: Node) -> None:
    if lv is ABSENT:
        out[pe] = _every_member(rv, cnode) if rv and isinstance(rv, _CONTAINER) else {}
        return
    if equal(lv, rv):
        return
    if _is_leaf(lv, rv, cnode):
        out[pe] = {}
        return
    below = _changed_below(lv, rv, cnode)
    if below:
        out[pe] = below


def _every_member(v: Any, node: Node) -> dict[str, Any]:
    """The FieldsV1 value of an element that is a member holding `v` with every field
    below it (`_every_field`): `{}` for a leaf, else `.` and the children."""
    if isinstance(node, ListNode):
        if not v or not isinstance(v, list) or node.relationship == "atomic":
            return {}
        elem = node.elem
        items: dict[str, Any] = {}
        for pe, item in _index_items(node, v, (), None):
            below = _every_member(item, elem)
            if below or pe not in items:  # a repeated element keeps its last fields
                items[pe] = below
        out: dict[str, Any] = {".": {}}
        for pe in sorted(items, key=fp.sort_key):
            out[pe] = items[pe]
        return out
    if isinstance(node, ScalarNode) or not v or not isinstance(v, dict):
        return {}
    mnode: MapNode | None = None
    if isinstance(node, MapNode):
        if node.atomic:
            return {}
        mnode = node
    out = {".": {}}
    for k in sorted(v):
        child = v[k]
        if child and isinstance(child, _CONTAINER):
            out["f:" + k] = _every_member(child, UNTYPED if mnode is None else (
                mnode.child(k) or UNTYPED))
        else:
            out["f:" + k] = {}
    return out


# --- removal ------------------------------------------------------------------------------


def remove_items(v: Any, s: FieldSet, node: Node) -> Any:
    """`v` without the fields and items that are members of `s` (a member takes its
    whole subtree). A map or list emptied by the removal is itself ABSENT."""
    if s.empty():
        return v
    if isinstance(node, ListNode):
        if not isinstance(v, list) or not v or node.relationship == "atomic":
            return v
        out = []
        for pe, item in _index_items(node, v, (), None):
            if pe in s.members:
                continue
            sub = s.children.get(pe)
            if sub is not None:
                item = remove_items(item, sub, node.elem)
                if item is ABSENT:
                    continue
            out.append(item)
        return out if out else ABSENT
    if isinstance(node, MapNode) and node.atomic:
        return v
    if not isinstance(v, dict) or not v or isinstance(node, ScalarNode):
        return v
    mnode = node if isinstance(node, MapNode) else None
    res: dict[str, Any] = {}
    for k, child in v.items():
        pe = fp.field(k)
        if pe in s.members:
            continue
        sub = s.children.get(pe)
        if sub is not None:
            cnode = UNTYPED if mnode is None else (mnode.child(k) or UNTYPED)
            child = remove_items(child, sub, cnode)
            if child is ABSENT:
                continue
        res[k] = child
    return res if res else ABSENT

