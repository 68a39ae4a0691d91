"""The garbage collector's dependency graph and its decisions: pure, no I/O.

Upstream's pkg/controller/garbagecollector (graph.go, graph_builder.go and the
decision half of garbagecollector.go), v1.32.

Glossary
--------

identity      an object's coordinates: apiVersion, kind, name, uid, namespace.
node          one object in the graph, keyed by uid; it lists its `owners` (the
              ownerReferences it carries) and its `dependents` (nodes whose
              ownerReferences name its uid).
virtual node  a node for an owner named by a dependent but not (yet) seen by an
              informer: its identity is what the dependent claims. The collector
              checks it against the API and, when it is absent, turns that into a
              "virtual delete" event.
observed      a node an informer has reported (a virtual node becomes observed when
              its object shows up).
attempt to delete  the queue of nodes whose ownerReferences must be verified: an
              object whose owners are all gone is deleted.
attempt to orphan  the queue of owners being deleted with the `orphan` finalizer.

Rules (graph_builder.go processGraphChanges)
------------------------------------------

- add/update of an unknown uid inserts a node and links it to its owners, making
  virtual nodes for owners not in the graph (each queued to attempt-to-delete).
- add/update of a known uid diffs the ownerReferences: relinks, and queues
  owners that a removed or unblocked reference may have unblocked.
- an object that starts being deleted with the `orphan` finalizer is queued to
  attempt-to-orphan; with `foregroundDeletion` it is marked deletingDependents
  and queued, with all its dependents, to attempt-to-delete.
- delete removes the node, records the identity as absent when it had
  dependents, queues its dependents and its owners that wait for their dependents.

`Graph.process(event)` applies one event and returns what to queue.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"

ADD, UPDATE, DELETE = "add", "update", "delete"


@dataclass(frozen=True, slots=True)
class Identity:
    """objectReference: an ownerReference's coordinates plus the namespace."""

    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str = ""

    def __str__(self) -> str:
        return (f"[{self.api_version}/{self.kind}, namespace: {self.namespace}, "
                f"name: {self.name}, uid: {self.uid}]")

    def sort_key(self) -> tuple[str, ...]:
        # referenceLessThan: kind/apiVersion before namespace, name, uid.
        return (self.kind, self.api_version, self.namespace, self.name, self.uid)


def identity_of(api_version: str, kind: str, obj: Obj) -> Identity:
    meta = obj.get("metadata") or {}
    return Identity(api_version, kind, str(meta.get("name") or ""), str(meta.get("uid") or ""),
                    str(meta.get("namespace") or ""))


def owner_identity(ref: Obj, namespace: str) -> Identity:
    """ownerReferenceCoordinates of `ref`, in the dependent's namespace."""
    return Identity(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""),
                    str(ref.get("name") or ""), str(ref.get("uid") or ""), namespace)


def ref_matches(ref: Obj, ident: Identity) -> bool:
    """ownerReferenceMatchesCoordinates."""
    return (ref.get("uid") == ident.uid and ref.get("name") == ident.name
            and ref.get("kind") == ident.kind and ref.get("apiVersion") == ident.api_version)


def owner_refs(obj: Obj) -> list[Obj]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def finalizers(obj: Obj) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def being_deleted(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def has_orphan_finalizer(obj: Obj) -> bool:
    return ORPHAN_FINALIZER in finalizers(obj)


def has_foreground_finalizer(obj: Obj) -> bool:
    return FOREGROUND_FINALIZER in finalizers(obj)


def blocks(ref: Obj) -> bool:
    return ref.get("blockOwnerDeletion") is True


@dataclass(eq=False)
class Node:
    identity: Identity
    owners: list[Obj] = field(default_factory=list)
    dependents: set[Node] = field(default_factory=set)
    deleting_dependents: bool = False
    being_deleted: bool = False
    # Made up from a dependent's ownerReference, never reported by an informer.
    virtual: bool = False

    def __hash__(self) -> int:
        return id(self)

    @property
    def observed(self) -> bool:
        return not self.virtual

    def clone(self) -> Node:
        return Node(self.identity, list(self.owners), set(self.dependents),
                    self.deleting_dependents, self.being_deleted, self.virtual)

    def blocking_dependents(self) -> list[Node]:
        """Dependents whose reference to this node has blockOwnerDeletion=true."""
        out = []
        for dep in self.dependents:
            if any(ref.get("uid") == self.identity.uid and blocks(ref) for ref in dep.owners):
                out.append(dep)
        return sorted(out, key=lambda n: n.identity.sort_key())


@dataclass(frozen=True, slots=True)
class GraphEvent:
    """One change for the graph: from an informer, or `virtual` from the collector
    (an owner it verified absent). `obj` needs only metadata; `api_version`/`kind`
    are the informer's resource (or the verified identity's)."""

    type: str
    api_version: str
    kind: str
    obj: Obj
    old: Obj | None = None
    virtual: bool = False


@dataclass
class Actions:
    """What processing one event asks for: nodes to verify or orphan, and invalid
    owner references to report as Warning events on the dependent."""

    attempt_to_delete: list[Node] = field(default_factory=list)
    # Queued with back-off: a virtual node given another identity to verify.
    attempt_to_delete_later: list[Node] = field(default_factory=list)
    attempt_to_orphan: list[Node] = field(default_factory=list)
    # (dependent, the owner coordinates it names) for OwnerRefInvalidNamespace events.
    invalid_namespace_refs: list[tuple[Identity, Identity]] = field(default_factory=list)

    def report_invalid(self, dependent: Node, owner_uid: str) -> None:
        for ref in dependent.owners:
            if ref.get("uid") == owner_uid:
                self.invalid_namespace_refs.append(
                    (dependent.identity, owner_identity(ref, dependent.identity.namespace)))
                return


class AbsentOwnerCache:
    """An LRU set of identities verified absent (upstream: 500 entries)."""

    def __init__(self, size: int = 500) -> None:
        self.size = size
        self._items: OrderedDict[Identity, None] = OrderedDict()

    def add(self, ident: Identity) -> None:
        self._items[ident] = None
        self._items.move_to_end(ident)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, ident: object) -> bool:
        if ident in self._items:
            self._items.move_to_end(ident)  # type: ignore[arg-type]
            return True
        return False


def references_diffs(old: list[Obj], new: list[Obj]
                     ) -> tuple[list[Obj], list[Obj], list[tuple[Obj, Obj]]]:
    """(added, removed, changed) ownerReferences, matched by uid."""
    old_by_uid = {r.get("uid"): r for r in old}
    new_by_uid = {r.get("uid"): r for r in new}
    added = [r for u, r in new_by_uid.items() if u not in old_by_uid]
    removed = [r for u, r in old_by_uid.items() if u not in new_by_uid]
    changed = [(old_by_uid[u], r) for u, r in new_by_uid.items()
               if u in old_by_uid and old_by_uid[u] != r]
    return added, removed, changed


def partition_dependents(dependents: Iterable[Node], owner: Identity
                         ) -> tuple[list[Node], list[Node]]:
    """Dependents whose reference to `owner.uid` matches its coordinates, and those
    whose reference does not (a dependent may be in both)."""
    matching, nonmatching = [], []
    for dep in dependents:
        found_match = found_mismatch = False
        if owner.namespace and owner.namespace != dep.identity.namespace:
            found_mismatch = True
        else:
            for ref in dep.owners:
                if ref.get("uid") == owner.uid:
                    if ref_matches(ref, owner):
                        found_match = True
                    else:
                        found_mismatch = True
        if found_match:
            matching.append(dep)
        if found_mismatch:
            nonmatching.append(dep)
    return matching, nonmatching


def alternate_owner_identity(dependents: Iterable[Node], absent: Identity) -> Identity | None:
    """Another identity the dependents give the same owner uid: the first following
    `absent` in reference order, else the first (getAlternateOwnerIdentity)."""
    seen = {absent}
    first: Identity | None = None
    following: Identity | None = None
    for dep in dependents:
        for ref in dep.owners:
            if ref.get("uid") != absent.uid or ref_matches(ref, absent):
                continue
            alt = owner_identity(ref, dep.identity.namespace)
            if not absent.namespace and (alt.api_version, alt.kind) == (absent.api_version,
                                                                        absent.kind):
                alt = Identity(alt.api_version, alt.kind, alt.name, alt.uid, "")
            if alt in seen:
                continue
            seen.add(alt)
            if first is None or alt.sort_key() < first.sort_key():
                first = alt
            if absent.sort_key() < alt.sort_key() and (
                    following is None or alt.sort_key() < following.sort_key()):
                following = alt
    return following or first


class Graph:
    """uid -> Node, kept by `process()`; single writer (the graph-changes task)."""

    def __init__(self, absent: AbsentOwnerCache | None = None) -> None:
        self.nodes: dict[str, Node] = {}
        self.absent = absent if absent is not None else AbsentOwnerCache()

    def get(self, uid: str) -> Node | None:
        return self.nodes.get(uid)

    def __len__(self) -> int:
        return len(self.nodes)

    # --- events --------------------------------------------------------------------------

    def process(self, event: GraphEvent) -> Actions:
        out = Actions()
        meta = event.obj.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if not uid:
            return out
        ident = identity_of(event.api_version, event.kind, event.obj)
        existing = self.nodes.get(uid)
        if existing is not None and not event.virtual and not existing.observed:
            existing = self._observe(existing, ident, out)
        if event.type in (ADD, UPDATE):
            if existing is None:
                self._add(event, ident, out)
            else:
                self._update(existing, event, out)
        elif event.type == DELETE and existing is not None:
            self._delete(existing, event, ident, out)
        return out

    def _observe(self, node: Node, observed: Identity, out: Actions) -> Node:
        """A virtual node's object shows up: dependents that named it with other
        coordinates are re-verified; the node takes the observed identity."""
        if observed != node.identity:
            _, suspects = partition_dependents(node.dependents, observed)
            for dep in suspects:
                if observed.namespace and dep.identity.namespace != observed.namespace:
                    out.report_invalid(dep, observed.uid)
                out.attempt_to_delete.append(dep)
            node = node.clone()
            node.identity = observed
            self.nodes[observed.uid] = node
        node.virtual = False
        return node

    def _add(self, event: GraphEvent, ident: Identity, out: Actions) -> None:
        obj = event.obj
        node = Node(ident, owners=owner_refs(obj),
                    deleting_dependents=being_deleted(obj) and has_foreground_finalizer(obj),
                    being_deleted=being_deleted(obj), virtual=event.virtual)
        self.nodes[ident.uid] = node
        self._add_dependent_to_owners(node, node.owners, out)
        self._transitions(event.old, obj, node, out)

    def _update(self, node: Node, event: GraphEvent, out: Actions) -> None:
        obj = event.obj
        added, removed, changed = references_diffs(node.owners, owner_refs(obj))
        if added or removed or changed:
            self._unblocked_owners(removed, changed, out)
            node.owners = owner_refs(obj)
            self._add_dependent_to_owners(node, added, out)
            self._remove_dependent_from_owners(node, removed)
        if being_deleted(obj):
            node.being_deleted = True
        self._transitions(event.old, obj, node, out)

    def _delete(self, node: Node, event: GraphEvent, ident: Identity, out: Actions) -> None:
        if event.virtual and not self._virtual_delete_removes(node, ident, out):
            return
        self.nodes.pop(node.identity.uid, None)
        self._remove_dependent_from_owners(node, node.owners)
        if node.dependents:
            self.absent.add(ident)
        out.attempt_to_delete.extend(sorted(node.dependents, key=lambda n: n.identity.sort_key()))
        for ref in node.owners:
            owner = self.nodes.get(str(ref.get("uid") or ""))
            if owner is not None and owner.deleting_dependents:
                out.attempt_to_delete.append(owner)

    def _virtual_delete_removes(self, node: Node, deleted: Identity, out: Actions) -> bool:
        """A virtual delete (the collector found `deleted` absent) removes the node
        only when every dependent agrees on those coordinates."""
        matching, nonmatching = partition_dependents(node.dependents, deleted)
        if node.virtual:
            if not nonmatching:
                return True
        elif node.identity == deleted:
            return True
        if matching:
            self.absent.add(deleted)
            out.attempt_to_delete.extend(matching)
        if node.virtual and node.identity == deleted:
            alt = alternate_owner_identity(nonmatching, deleted)
            if alt is not None:
                replacement = node.clone()
                replacement.identity = alt
                self.nodes[alt.uid] = replacement
                out.attempt_to_delete_later.append(replacement)
        return False

    # --- links ---------------------------------------------------------------------------

    def _add_dependent_to_owners(self, node: Node, refs: list[Obj], out: Actions) -> None:
        suspect = False
        for ref in refs:
            owner = self.nodes.get(str(ref.get("uid") or ""))
            if owner is None:
                owner = Node(owner_identity(ref, node.identity.namespace), virtual=True)
                self.nodes[owner.identity.uid] = owner
                owner.dependents.add(node)
                out.attempt_to_delete.append(owner)
                continue
            owner.dependents.add(node)
            if suspect:
                continue
            owner_ns = owner.identity.namespace
            if owner_ns and owner_ns != node.identity.namespace:
                if owner.observed:
                    out.report_invalid(node, owner.identity.uid)
                suspect = True
            elif not ref_matches(ref, owner.identity):
                suspect = True
            elif not owner_ns and node.identity.namespace and not owner.observed:
                # A virtual cluster-scoped owner of a namespaced dependent may be a
                # namespaced kind named from the wrong scope (issue #98040): verify.
                suspect = True
        if suspect:
            out.attempt_to_delete.append(node)

    def _remove_dependent_from_owners(self, node: Node, refs: list[Obj]) -> None:
        for ref in refs:
            owner = self.nodes.get(str(ref.get("uid") or ""))
            if owner is not None:
                owner.dependents.discard(node)

    def _unblocked_owners(self, removed: list[Obj], changed: list[tuple[Obj, Obj]],
                          out: Actions) -> None:
        """Owners waiting for their dependents may be unblocked by a reference that
        went away or stopped blocking."""
        uids = [r.get("uid") for r in removed if blocks(r)]
        uids += [new.get("uid") for old, new in changed if blocks(old) and not blocks(new)]
        for uid in uids:
            owner = self.nodes.get(str(uid or ""))
            if owner is not None:
                out.attempt_to_delete.append(owner)

    def _transitions(self, old: Obj | None, new: Obj, node: Node, out: Actions) -> None:
        if starts_waiting(old, new, ORPHAN_FINALIZER):
            out.attempt_to_orphan.append(node)
            return
        if starts_waiting(old, new, FOREGROUND_FINALIZER):
            node.deleting_dependents = True
            out.attempt_to_delete.extend(sorted(node.dependents,
                                                key=lambda n: n.identity.sort_key()))
            out.attempt_to_delete.append(node)


def starts_waiting(old: Obj | None, new: Obj, finalizer: str) -> bool:
    """The object is being deleted with `finalizer` now and was not before
    (startsWaitingForDependentsOrphaned / ...Deleted)."""
    if not being_deleted(new) or finalizer not in finalizers(new):
        return False
    return old is None or not (being_deleted(old) and finalizer in finalizers(old))


# --- decisions (garbagecollector.go attemptToDeleteItem) ------------------------------------

NOTHING, REMOVE_REFS, DELETE_OBJECT = "nothing", "remove-refs", "delete"


@dataclass(frozen=True, slots=True)
class Classified:
    """An object's ownerReferences sorted by what the live owners say."""

    solid: tuple[Obj, ...] = ()  # the owner exists and is not waiting for dependents
    dangling: tuple[Obj, ...] = ()  # the owner is gone (or a different object now)
    waiting: tuple[Obj, ...] = ()  # the owner is being deleted in the foreground


def classify_references(refs: Iterable[Obj], owners: dict[str, Obj | None]) -> Classified:
    """`owners` maps each reference's uid to its live owner, None when dangling."""
    solid, dangling, waiting = [], [], []
    for ref in refs:
        owner = owners.get(str(ref.get("uid") or ""))
        if owner is None:
            dangling.append(ref)
        elif being_deleted(owner) and has_foreground_finalizer(owner):
            waiting.append(ref)
        else:
            solid.append(ref)
    return Classified(tuple(solid), tuple(dangling), tuple(waiting))


@dataclass(frozen=True, slots=True)
class Decision:
    action: str = NOTHING
    uids: tuple[str, ...] = ()  # REMOVE_REFS: the references to drop
    policy: str = ""  # DELETE_OBJECT: propagationPolicy
    unblock: bool = False  # DELETE_OBJECT: first make own references non-blocking


def decide(latest: Obj, refs: Classified, dependents: Iterable[Node]) -> Decision:
    """What to do with an object whose owners are `refs` (it has owner references).

    - Some owner is solid: keep it, but drop references to dangling owners and to
      owners waiting for it (they would wait forever otherwise).
    - No solid owner, an owner waits for its dependents, and the object has
      dependents itself: delete it in the foreground too (after making its own
      references non-blocking if a dependent also waits: a possible cycle).
    - Otherwise it is garbage: delete it, honouring a GC finalizer it already has.
    """
    deps = list(dependents)
    if refs.solid:
        if not refs.dangling and not refs.waiting:
            return Decision()
        uids = tuple(str(r.get("uid")) for r in (*refs.dangling, *refs.waiting))
        return Decision(REMOVE_REFS, uids=uids)
    if refs.waiting and deps:
        return Decision(DELETE_OBJECT, policy="Foreground",
                        unblock=any(d.deleting_dependents for d in deps))
    if has_orphan_finalizer(latest):
        policy = "Orphan"
    elif has_foreground_finalizer(latest):
        policy = "Foreground"
    else:
        policy = "Background"
    return Decision(DELETE_OBJECT, policy=policy)


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def remove_refs_patch(obj: Obj, uids: Iterable[str]) -> Obj | None:
    """JSON merge patch dropping the ownerReferences to `uids` (guarded by the
    resourceVersion), or None when the object has none of them."""
    drop = set(uids)
    refs = owner_refs(obj)
    kept = [r for r in refs if r.get("uid") not in drop]
    if len(kept) == len(refs):
        return None
    return {"metadata": {"resourceVersion": _rv(obj), "ownerReferences": kept or None}}


def unblock_refs_patch(obj: Obj) -> Obj | None:
    """JSON merge patch making every ownerReference non-blocking, or None."""
    refs = owner_refs(obj)
    if not any(blocks(r) for r in refs):
        return None
    return {"metadata": {"resourceVersion": _rv(obj),
                         "ownerReferences": [{**r, "blockOwnerDeletion": False} for r in refs]}}


def remove_finalizer_patch(obj: Obj, finalizer: str) -> Obj | None:
    """JSON merge patch removing `finalizer`, or None when it is not there."""
    current = finalizers(obj)
    if finalizer not in current:
        return None
    kept = [f for f in current if f != finalizer]
    return {"metadata": {"resourceVersion": _rv(obj), "finalizers": kept or None}}
