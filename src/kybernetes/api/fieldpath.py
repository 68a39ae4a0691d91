"""Field paths and field sets in the FieldsV1 format of `metadata.managedFields`.

Upstream: sigs.k8s.io/structured-merge-diff `fieldpath` (Set, PathElement,
serialize.go, serialize-pe.go). A field set is a trie of path elements; each
element is kept as its FieldsV1 text, which is also its identity:

    f:<name>       a field of a struct, or a key of a map
    k:<json>       an item of a list of type map, by its key fields
                   (`k:{"name":"c"}`; a JSON object, keys sorted)
    v:<json>       an item of a list of type set, by value (`v:"a"`)
    i:<index>      an item of an atomic/positional list, by position

In FieldsV1 a key mapping to `{}` is a member of the set; `".": {}` inside an
object marks the element holding that object as a member too (a field that
is itself owned and also has owned children).

Set algebra follows upstream exactly, including its two differences:
`difference` removes members only (a parent minus its child is the parent;
a child minus its parent stays), `recursive_difference` also drops the whole
subtree of every member of the other set.

Contract: FieldSets are values; every operation returns a new set and never
mutates its operands (except `insert`, which builds a set in place).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import orjson

Path = tuple[str, ...]

_KIND_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


class FieldPathError(ValueError):
    """A FieldsV1 document or path element that cannot be parsed."""


# --- values ----------------------------------------------------------------------------


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, map keys sorted, `<`, `>`, `&`,
    U+2028 and U+2029 escaped, integral floats without a fraction."""
    text = orjson.dumps(_normalize(value), option=orjson.OPT_SORT_KEYS).decode()
    if "<" in text or ">" in text or "&" in text or (not text.isascii() and (
            "\u2028" in text or "\u2029" in text)):
        text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return text


def _normalize(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def value_key(value: Any) -> tuple:
    """A sort key giving upstream's total order of values (value.Compare): numbers,
    then strings, booleans, lists, maps, null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, float(value) if not (isinstance(value, float) and math.isnan(value))
                else -math.inf)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(value_key(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, value_key(value[k])) for k in sorted(value)))
    return (5,)


def value_string(value: Any) -> str:
    """Upstream's value.ToString, as conflict paths print values (`"c"`, `80`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_json(value)
    if isinstance(value, int | float):
        return go_json(value)
    if isinstance(value, list):
        return "[" + ",".join(value_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ";".join(f"{k}={value_string(value[k])}" for k in sorted(value)) + "}"
    return str(value)


# --- path elements ---------------------------------------------------------------------


def field(name: str) -> str:
    return "f:" + name


def key(fields: dict[str, Any]) -> str:
    """The element of a map-list item with these key field values."""
    # The types are part of the cache key: True and 1 hash alike.
    items = tuple((k, type(v), v) for k, v in sorted(fields.items()))
    try:
        return _key(items)
    except TypeError:  # an unhashable key value (a list or map): not cached
        return "k:" + go_json(fields)


@functools.lru_cache(maxsize=65536)
def _key(items: tuple[tuple[str, type, Any], ...]) -> str:
    return "k:" + go_json({k: v for k, _, v in items})


def value(v: Any) -> str:
    """The element of a set item with this value."""
    if isinstance(v, str | int | float):
        return _value(type(v), v)
    return "v:" + go_json(v)


@functools.lru_cache(maxsize=65536)
def _value(_type: type, v: Any) -> str:
    return "v:" + go_json(v)


def index(i: int) -> str:
    return f"i:{i}"


@functools.lru_cache(maxsize=65536)
def canonical(pe: str) -> str:
    """The canonical text of a FieldsV1 path element; FieldPathError if malformed."""
    kind, sep, rest = pe.partition(":")
    if not sep:
        raise FieldPathError(f"unexpected path element {pe!r}")
    if kind == "f":
        return pe
    if kind == "i":
        try:
            return index(int(rest))
        except ValueError:
            raise FieldPathError(f"invalid index in path element {pe!r}") from None
    if kind not in ("k", "v"):
        raise FieldPathError(f"unknown path element type {kind!r} in {pe!r}")
    try:
        parsed = orjson.loads(rest)
    except orjson.JSONDecodeError:
        raise FieldPathError(f"invalid JSON in path element {pe!r}") from None
    if kind == "k":
        if not isinstance(parsed, dict) or not parsed:
            raise FieldPathError(f"key path element {pe!r} is not a non-empty JSON object")
        return key(parsed)
    return value(parsed)


@functools.lru_cache(maxsize=65536)
def _parsed(pe: str) -> tuple[str, Any]:
    kind, _, rest = pe.partition(":")
    if kind == "f":
        return kind, rest
    if kind == "i":
        return kind, int(rest)
    return kind, orjson.loads(rest)


@functools.lru_cache(maxsize=65536)
def sort_key(pe: str) -> tuple:
    """Upstream's PathElement order: field names, then keys, values, indexes."""
    kind, parsed = _parsed(pe)
    if kind == "f":
        return (0, parsed)
    if kind == "k":
        return (1, tuple((n, value_key(parsed[n])) for n in sorted(parsed)))
    if kind == "v":
        return (2, value_key(parsed))
    return (3, parsed)


def element_string(pe: str) -> str:
    """Upstream's PathElement.String: `.name`, `[name="c"]`, `[="v"]`, `[0]`."""
    kind, parsed = _parsed(pe)
    if kind == "f":
        return "." + parsed
    if kind == "k":
        return "[" + ",".join(f"{n}={value_string(parsed[n])}" for n in sorted(parsed)) + "]"
    if kind == "v":
        return "[=" + value_string(parsed) + "]"
    return f"[{parsed}]"


def path_string(path: Path) -> str:
    return "".join(element_string(pe) for pe in path)


def element_name(pe: str) -> str | None:
    """The field name of an `f:` element, else None."""
    return pe[2:] if pe.startswith("f:") else None


def key_fields(pe: str) -> dict[str, Any]:
    kind, parsed = _parsed(pe)
    return dict(parsed) if kind == "k" else {}


def element_value(pe: str) -> Any:
    return _parsed(pe)[1]


# --- sets ------------------------------------------------------------------------------


class FieldSet:
    """A set of field paths, as a trie: `members` are the elements at this level that
    are in the set, `children` the subsets below elements that have members under
    them. A child is never empty."""

    __slots__ = ("children", "members")

    def __init__(self, members: set[str] | None = None,
                 children: dict[str, FieldSet] | None = None) -> None:
        self.members: set[str] = members if members is not None else set()
        self.children: dict[str, FieldSet] = children if children is not None else {}

    @classmethod
    def of(cls, *paths: Path) -> FieldSet:
        s = cls()
        for p in paths:
            s.insert(p)
        return s

    def __repr__(self) -> str:
        return f"FieldSet({sorted(path_string(p) for p in self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSet):
            return NotImplemented
        return self.members == other.members and self.children == other.children

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[Path]:
        """Every member path (members of a level before those of its children)."""
        for pe in self.members:
            yield (pe,)
        for pe, child in self.children.items():
            for p in child:
                yield (pe, *p)

    def __len__(self) -> int:
        return len(self.members) + sum(len(c) for c in self.children.values())

    def empty(self) -> bool:
        return not self.members and not self.children

    def copy(self) -> FieldSet:
        return FieldSet(set(self.members), {pe: c.copy() for pe, c in self.children.items()})

    def insert(self, path: Path) -> None:
        """Add one path (its parents are not added). The empty path is ignored, as
        upstream: nobody owns the whole object."""
        if not path:
            return
        node = self
        for pe in path[:-1]:
            child = node.children.get(pe)
            if child is None:
                child = node.children[pe] = FieldSet()
            node = child
        node.members.add(path[-1])

    def has(self, path: Path) -> bool:
        if not path:
            return False
        node: FieldSet | None = self
        for pe in path[:-1]:
            node = node.children.get(pe) if node is not None else None
            if node is None:
                return False
        return node is not None and path[-1] in node.members

    def with_prefix(self, pe: str) -> FieldSet:
        """The paths below element `pe`, without it (empty when there are none)."""
        return self.children.get(pe) or FieldSet()

    def union(self, other: FieldSet) -> FieldSet:
        if other.empty():
            return self
        if self.empty():
            return other
        children = dict(self.children)
        for pe, c in other.children.items():
            mine = children.get(pe)
            children[pe] = c if mine is None else mine.union(c)
        return FieldSet(self.members | other.members, children)

    def intersection(self, other: FieldSet) -> FieldSet:
        children = {}
        for pe, c in self.children.items():
            theirs = other.children.get(pe)
            if theirs is not None:
                both = c.intersection(theirs)
                if not both.empty():
                    children[pe] = both
        return FieldSet(self.members & other.members, children)

    def difference(self, other: FieldSet) -> FieldSet:
        """Members of self not in other; a subtree is not removed with its parent."""
        if other.empty():
            return self
        children = {}
        for pe, c in self.children.items():
            theirs = other.children.get(pe)
            if theirs is None:
                children[pe] = c
            else:
                rest = c.difference(theirs)
                if not rest.empty():
                    children[pe] = rest
        return FieldSet(self.members - other.members, children)

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """Like `difference`, and every member of other takes its subtree with it."""
        if other.empty():
            return self
        children = {}
        for pe, c in self.children.items():
            if pe in other.members:
                continue
            theirs = other.children.get(pe)
            if theirs is None:
                children[pe] = c
            else:
                rest = c.recursive_difference(theirs)
                if not rest.empty():
                    children[pe] = rest
        return FieldSet(self.members - other.members, children)

    def paths(self) -> list[Path]:
        """Member paths in upstream's order (depth first, elements sorted)."""
        out: list[Path] = []
        self._collect((), out)
        return out

    def _collect(self, prefix: Path, out: list[Path]) -> None:
        for pe in sorted(self.members | set(self.children), key=sort_key):
            if pe in self.members:
                out.append((*prefix, pe))
            child = self.children.get(pe)
            if child is not None:
                child._collect((*prefix, pe), out)

    # --- FieldsV1 ----------------------------------------------------------------------

    def to_fields_v1(self) -> dict[str, Any]:
        """The FieldsV1 object (keys in upstream's order, `.` first)."""
        return self._emit(False)

    def _emit(self, include_self: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if include_self:
            out["."] = {}
        for pe in sorted(self.members | set(self.children), key=sort_key):
            child = self.children.get(pe)
            out[pe] = child._emit(pe in self.members) if child is not None else {}
        return out

    @classmethod
    def from_fields_v1(cls, doc: Any) -> FieldSet:
        """Parse a FieldsV1 object; FieldPathError when it is not one."""
        if not isinstance(doc, dict):
            raise FieldPathError("FieldsV1 must be a JSON object")
        s, _ = cls._parse(doc)
        return s

    @classmethod
    def _parse(cls, doc: dict[str, Any]) -> tuple[FieldSet, bool]:
        """(set below, whether `.` marked the holder itself)."""
        out = cls()
        dot = False
        for raw, sub in doc.items():
            if not isinstance(sub, dict):
                raise FieldPathError(f"FieldsV1 value of {raw!r} is not an object")
            if raw == ".":
                dot = True
                continue
            pe = canonical(raw)
            if not sub:
                out.members.add(pe)
                continue
            child, self_member = cls._parse(sub)
            if self_member:
                out.members.add(pe)
            if not child.empty():
                existing = out.children.get(pe)
                out.children[pe] = child if existing is None else existing.union(child)
        return out, dot


def empty() -> FieldSet:
    return FieldSet()


# --- FieldsV1 objects in place -------------------------------------------------------------
# For FieldsV1 objects this process built (canonical elements, `.` first, no sharing):
# the set operations without parsing them into FieldSets and emitting them again.


def v1_difference(doc: dict[str, Any], other: FieldSet) -> dict[str, Any]:
    """`FieldSet.difference` on a FieldsV1 object, in place (returns `doc`)."""
    for pe in other.members:
        sub = doc.get(pe)
        if sub is None:
            continue
        if not sub:
            del doc[pe]  # a leaf member
        else:
            sub.pop(".", None)  # a member with children: the children stay
    for pe, theirs in other.children.items():
        sub = doc.get(pe)
        if not sub:
            continue
        v1_difference(sub, theirs)
        _settle(doc, pe, sub)
    return doc


def v1_recursive_difference(doc: dict[str, Any], other: FieldSet) -> dict[str, Any]:
    """`FieldSet.recursive_difference` on a FieldsV1 object, in place (returns `doc`)."""
    for pe in other.members:
        doc.pop(pe, None)
    for pe, theirs in other.children.items():
        sub = doc.get(pe)
        if not sub:
            continue
        v1_recursive_difference(sub, theirs)
        _settle(doc, pe, sub)
    return doc


def _settle(doc: dict[str, Any], pe: str, sub: dict[str, Any]) -> None:
    """After removing below `pe`: a member left without children is `{}`, a non-member
    without children goes."""
    if not sub:
        del doc[pe]
    elif len(sub) == 1 and "." in sub:
        doc[pe] = {}
