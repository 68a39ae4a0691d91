"""The informer's local cache: objects by key, plus secondary indexes (client-go's Indexer).

Keys are `namespace/name`, or `name` for cluster-scoped objects
(`meta_namespace_key`). An index function maps an object to the index values
it is found under (`by_namespace`; a pod by `spec.nodeName`). Invariant: for
every index, `by_index(index, v)` holds exactly the stored objects whose index
function returns `v`; each write updates the indexes of the old and the new
version together.

Stored objects are shared with every reader: treat them as read-only and
deep-copy before changing one (as with client-go listers). Single-threaded by
design (one asyncio loop); nothing here awaits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], Iterable[str]]

NAMESPACE_INDEX = "namespace"


def meta_namespace_key(obj: Obj) -> str:
    """`namespace/name`, or `name` when the object has no namespace."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name") or ""
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> tuple[str, str]:
    """`ns/name` -> ("ns", "name"); `name` -> ("", "name")."""
    ns, _, name = key.rpartition("/")
    return ns, name


def by_namespace(obj: Obj) -> list[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return [ns] if ns else []


def by_node_name(pod: Obj) -> list[str]:
    """Pods by `spec.nodeName` (unscheduled pods under "")."""
    return [str((pod.get("spec") or {}).get("nodeName") or "")]


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """A tombstone: the object was deleted while the watch was down, so its final
    state is unknown; `obj` is the last state the informer saw (possibly stale)."""

    key: str
    obj: Obj


def object_of(obj_or_tombstone: Obj | DeletedFinalStateUnknown) -> Obj:
    """The object of an on_delete argument, whether or not it is a tombstone."""
    if isinstance(obj_or_tombstone, DeletedFinalStateUnknown):
        return obj_or_tombstone.obj
    return obj_or_tombstone


class Indexer:
    """Objects by key with named secondary indexes. Index functions are fixed once
    objects are stored (as client-go, adding an index later re-indexes everything)."""

    def __init__(self, indexers: dict[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._funcs: dict[str, IndexFunc] = {NAMESPACE_INDEX: by_namespace}
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        for name, func in (indexers or {}).items():
            self.add_index(name, func)

    # --- indexes -------------------------------------------------------------------------

    def add_index(self, name: str, func: IndexFunc) -> None:
        if name in self._funcs and self._funcs[name] is not func:
            raise ValueError(f"index {name!r} already exists")
        self._funcs[name] = func
        index: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in func(obj):
                index.setdefault(value, set()).add(key)
        self._indices[name] = index

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, func in self._funcs.items():
            index = self._indices[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    def _index(self, key: str, obj: Obj) -> None:
        for name, func in self._funcs.items():
            index = self._indices[name]
            for value in func(obj):
                index.setdefault(value, set()).add(key)

    # --- writes (the informer's) ---------------------------------------------------------

    def put(self, obj: Obj) -> Obj | None:
        """Add or replace; returns the previous version."""
        key = meta_namespace_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        self._index(key, obj)
        return old

    def delete(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def replace(self, objs: Iterable[Obj]) -> None:
        self._items = {}
        self._indices = {name: {} for name in self._funcs}
        for obj in objs:
            self.put(obj)

    # --- reads ---------------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def get_by_name(self, namespace: str, name: str) -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def get_object(self, obj: Obj) -> Obj | None:
        """The stored version of the object with the same key."""
        return self._items.get(meta_namespace_key(obj))

    def keys(self) -> list[str]:
        return list(self._items)

    def list(self) -> list[Obj]:
        return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[Obj]:
        return iter(list(self._items.values()))

    def by_index(self, index: str, value: str) -> list[Obj]:
        return [self._items[k] for k in sorted(self._index_keys(index, value))]

    def index_keys(self, index: str, value: str) -> list[str]:
        return sorted(self._index_keys(index, value))

    def index_values(self, index: str) -> list[str]:
        self._check(index)
        return sorted(self._indices[index])

    def _index_keys(self, index: str, value: str) -> set[str]:
        self._check(index)
        return self._indices[index].get(value, set())

    def _check(self, index: str) -> None:
        if index not in self._funcs:
            raise KeyError(f"no index named {index!r}")

    def list_namespace(self, namespace: str) -> list[Obj]:
        return self.by_index(NAMESPACE_INDEX, namespace)
