"""The garbage collector's graph and decisions (kybernetes.controllers.gcgraph), no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.gcgraph import (
    ADD,
    DELETE,
    DELETE_OBJECT,
    NOTHING,
    REMOVE_REFS,
    UPDATE,
    AbsentOwnerCache,
    Classified,
    Decision,
    Graph,
    GraphEvent,
    Identity,
    Node,
    alternate_owner_identity,
    classify_references,
    decide,
    references_diffs,
    remove_finalizer_patch,
    remove_refs_patch,
    unblock_refs_patch,
)

Obj = dict[str, Any]


def ref(uid: str, *, name: str = "", kind: str = "ConfigMap", api_version: str = "v1",
        block: bool | None = None) -> Obj:
    out: Obj = {"apiVersion": api_version, "kind": kind, "name": name or uid, "uid": uid}
    if block is not None:
        out["blockOwnerDeletion"] = block
    return out


def obj(uid: str, *, ns: str = "ns", owners: list[Obj] = (), finalizers: list[str] = (),
        deleting: bool = False, rv: str = "7") -> Obj:
    meta: Obj = {"name": uid, "uid": uid, "resourceVersion": rv}
    if ns:
        meta["namespace"] = ns
    if owners:
        meta["ownerReferences"] = list(owners)
    if finalizers:
        meta["finalizers"] = list(finalizers)
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def event(kind: str, o: Obj, old: Obj | None = None, *, virtual: bool = False) -> GraphEvent:
    return GraphEvent(kind, o["apiVersion"], o["kind"], o, old, virtual)


def uids(nodes: list[Node]) -> list[str]:
    return [n.identity.uid for n in nodes]


# --- the graph -----------------------------------------------------------------------------


def test_a_dependent_before_its_owner_makes_a_virtual_owner_to_verify() -> None:
    g = Graph()
    out = g.process(event(ADD, obj("child", owners=[ref("parent")])))
    parent = g.get("parent")
    assert parent is not None and parent.virtual
    assert parent.identity == Identity("v1", "ConfigMap", "parent", "parent", "ns")
    assert uids(out.attempt_to_delete) == ["parent"]
    assert [d.identity.uid for d in parent.dependents] == ["child"]

    # The owner shows up: observed, nothing queued (its coordinates match).
    out = g.process(event(ADD, obj("parent")))
    assert g.get("parent").observed
    assert out.attempt_to_delete == []


def test_an_owner_observed_with_other_coordinates_requeues_its_dependents() -> None:
    g = Graph()
    g.process(event(ADD, obj("child", owners=[ref("parent", name="old-name")])))
    out = g.process(event(ADD, obj("parent")))  # its real name is "parent"
    assert uids(out.attempt_to_delete) == ["child"]
    assert g.get("parent").identity.name == "parent"


def test_a_namespaced_owner_in_another_namespace_is_reported() -> None:
    g = Graph()
    g.process(event(ADD, obj("parent", ns="a")))
    out = g.process(event(ADD, obj("child", ns="b", owners=[ref("parent")])))
    assert uids(out.attempt_to_delete) == ["child"]
    (dependent, owner), = out.invalid_namespace_refs
    assert dependent.uid == "child"
    assert str(owner) == "[v1/ConfigMap, namespace: b, name: parent, uid: parent]"


def test_deleting_an_owner_queues_its_dependents_and_records_it_absent() -> None:
    g = Graph()
    parent = obj("parent")
    g.process(event(ADD, parent))
    g.process(event(ADD, obj("a", owners=[ref("parent")])))
    g.process(event(ADD, obj("b", owners=[ref("parent")])))
    out = g.process(event(DELETE, parent))
    assert uids(out.attempt_to_delete) == ["a", "b"]
    assert g.get("parent") is None
    assert Identity("v1", "ConfigMap", "parent", "parent", "ns") in g.absent


def test_a_dependent_going_requeues_an_owner_waiting_for_it() -> None:
    g = Graph()
    parent = obj("parent")
    g.process(event(ADD, parent))
    child = obj("child", owners=[ref("parent", block=True)])
    g.process(event(ADD, child))
    waiting = obj("parent", finalizers=["foregroundDeletion"], deleting=True)
    out = g.process(event(UPDATE, waiting, parent))
    assert g.get("parent").deleting_dependents
    assert uids(out.attempt_to_delete) == ["child", "parent"]
    out = g.process(event(DELETE, child))
    assert uids(out.attempt_to_delete) == ["parent"]
    assert g.get("parent").blocking_dependents() == []


@pytest.mark.parametrize(("finalizer", "orphan", "delete"), [
    ("orphan", ["parent"], []),
    ("foregroundDeletion", [], ["parent"]),
    ("example.com/other", [], []),
], ids=["orphan", "foreground", "other-finalizer"])
def test_starting_deletion_with_a_gc_finalizer(finalizer: str, orphan: list[str],
                                               delete: list[str]) -> None:
    g = Graph()
    parent = obj("parent")
    g.process(event(ADD, parent))
    out = g.process(event(UPDATE, obj("parent", finalizers=[finalizer], deleting=True), parent))
    assert uids(out.attempt_to_orphan) == orphan
    assert uids(out.attempt_to_delete) == delete
    assert g.get("parent").being_deleted
    # The same state again is no transition.
    again = obj("parent", finalizers=[finalizer], deleting=True)
    out = g.process(event(UPDATE, again, again))
    assert out.attempt_to_orphan == [] and out.attempt_to_delete == []


@pytest.mark.parametrize(("before", "after", "queued"), [
    ([ref("p", block=True)], [], ["p"]),
    ([ref("p", block=True)], [ref("p", block=False)], ["p"]),
    ([ref("p", block=False)], [], []),
    ([ref("p")], [ref("p"), ref("q")], ["q"]),
], ids=["blocking-ref-removed", "ref-unblocked", "non-blocking-removed", "owner-added"])
def test_owner_reference_changes(before: list[Obj], after: list[Obj], queued: list[str]) -> None:
    g = Graph()
    g.process(event(ADD, obj("p")))
    old = obj("child", owners=before)
    g.process(event(ADD, old))
    out = g.process(event(UPDATE, obj("child", owners=after), old))
    assert uids(out.attempt_to_delete) == queued
    assert [r["uid"] for r in g.get("child").owners] == [r["uid"] for r in after]
    assert ("child" in {d.identity.uid for d in g.get("p").dependents}) == any(
        r["uid"] == "p" for r in after)


def test_a_virtual_delete_removes_a_virtual_owner() -> None:
    g = Graph()
    g.process(event(ADD, obj("child", owners=[ref("parent")])))
    gone = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "parent", "namespace": "ns", "uid": "parent"}}
    out = g.process(event(DELETE, gone, virtual=True))
    assert g.get("parent") is None
    assert uids(out.attempt_to_delete) == ["child"]


def test_a_virtual_delete_with_disagreeing_dependents_tries_another_identity() -> None:
    g = Graph()
    g.process(event(ADD, obj("a", owners=[ref("parent", kind="Secret")])))
    g.process(event(ADD, obj("b", owners=[ref("parent", kind="ConfigMap")])))
    node = g.get("parent")
    assert node.identity.kind == "Secret"
    gone = {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "parent", "namespace": "ns", "uid": "parent"}}
    out = g.process(event(DELETE, gone, virtual=True))
    assert uids(out.attempt_to_delete) == ["a"]  # agreed on the verified-absent identity
    assert uids(out.attempt_to_delete_later) == ["parent"]
    assert g.get("parent").identity.kind == "ConfigMap"


def test_alternate_owner_identity_prefers_the_next_in_order() -> None:
    a = Node(Identity("v1", "Pod", "a", "a", "ns"), owners=[ref("o", kind="B")])
    b = Node(Identity("v1", "Pod", "b", "b", "ns"), owners=[ref("o", kind="D")])
    absent = Identity("v1", "C", "o", "o", "ns")
    assert alternate_owner_identity([a, b], absent).kind == "D"
    assert alternate_owner_identity([a], absent).kind == "B"


def test_references_diffs() -> None:
    added, removed, changed = references_diffs(
        [ref("a"), ref("b", block=True)], [ref("b", block=False), ref("c")])
    assert [r["uid"] for r in added] == ["c"]
    assert [r["uid"] for r in removed] == ["a"]
    assert [(o["blockOwnerDeletion"], n["blockOwnerDeletion"]) for o, n in changed] == [
        (True, False)]


def test_absent_owner_cache_is_bounded() -> None:
    cache = AbsentOwnerCache(size=2)
    ids = [Identity("v1", "Pod", n, n) for n in "abc"]
    for i in ids:
        cache.add(i)
    assert ids[0] not in cache and ids[1] in cache and ids[2] in cache


# --- decisions -----------------------------------------------------------------------------

LIVE = obj("owner")
WAITING = obj("owner", finalizers=["foregroundDeletion"], deleting=True)
LEAVING = obj("owner", finalizers=["orphan"], deleting=True)


@pytest.mark.parametrize(("owners", "want"), [
    ({"o1": LIVE}, Classified(solid=(ref("o1"),))),
    ({"o1": None}, Classified(dangling=(ref("o1"),))),
    ({"o1": WAITING}, Classified(waiting=(ref("o1"),))),
    ({"o1": LEAVING}, Classified(solid=(ref("o1"),))),
], ids=["live", "absent", "foreground", "orphaning-is-still-solid"])
def test_classify_references(owners: dict[str, Obj | None], want: Classified) -> None:
    assert classify_references([ref(u) for u in owners], owners) == want


def dependent(*, deleting_dependents: bool = False) -> Node:
    return Node(Identity("v1", "Pod", "d", "d", "ns"), deleting_dependents=deleting_dependents)


@pytest.mark.parametrize(("latest", "refs", "deps", "want"), [
    (obj("x"), Classified(solid=(ref("a"),)), [], Decision()),
    (obj("x"), Classified(solid=(ref("a"),), dangling=(ref("b"),), waiting=(ref("c"),)), [],
     Decision(REMOVE_REFS, uids=("b", "c"))),
    (obj("x"), Classified(dangling=(ref("a"),)), [],
     Decision(DELETE_OBJECT, policy="Background")),
    (obj("x", finalizers=["orphan"]), Classified(dangling=(ref("a"),)), [],
     Decision(DELETE_OBJECT, policy="Orphan")),
    (obj("x", finalizers=["foregroundDeletion"]), Classified(dangling=(ref("a"),)), [],
     Decision(DELETE_OBJECT, policy="Foreground")),
    (obj("x"), Classified(waiting=(ref("a"),)), [],
     Decision(DELETE_OBJECT, policy="Background")),
    (obj("x"), Classified(waiting=(ref("a"),)), [dependent()],
     Decision(DELETE_OBJECT, policy="Foreground")),
    (obj("x"), Classified(waiting=(ref("a"),)), [dependent(deleting_dependents=True)],
     Decision(DELETE_OBJECT, policy="Foreground", unblock=True)),
], ids=["solid-owner", "solid-and-stale-refs", "all-dangling", "honours-orphan-finalizer",
        "honours-foreground-finalizer", "owner-waits-no-dependents",
        "owner-waits-with-dependents", "possible-cycle-unblocks"])
def test_decide(latest: Obj, refs: Classified, deps: list[Node], want: Decision) -> None:
    assert decide(latest, refs, deps) == want
    assert want.action in (NOTHING, REMOVE_REFS, DELETE_OBJECT)


def test_patches_carry_the_resource_version() -> None:
    o = obj("x", owners=[ref("a", block=True), ref("b")], finalizers=["orphan", "keep"], rv="42")
    assert remove_refs_patch(o, ["a"]) == {"metadata": {"resourceVersion": "42",
                                                        "ownerReferences": [ref("b")]}}
    assert remove_refs_patch(o, ["a", "b"])["metadata"]["ownerReferences"] is None
    assert remove_refs_patch(o, ["zzz"]) is None
    assert unblock_refs_patch(o)["metadata"]["ownerReferences"] == [
        ref("a", block=False), {**ref("b"), "blockOwnerDeletion": False}]
    assert unblock_refs_patch(obj("y", owners=[ref("b")])) is None
    assert remove_finalizer_patch(o, "orphan") == {"metadata": {"resourceVersion": "42",
                                                                "finalizers": ["keep"]}}
    assert remove_finalizer_patch(o, "foregroundDeletion") is None
