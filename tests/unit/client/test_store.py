"""The informer's Indexer: keys, namespace index, custom indexes kept in step with writes."""

from __future__ import annotations

import pytest

from kybernetes.client import (
    NAMESPACE_INDEX,
    DeletedFinalStateUnknown,
    Indexer,
    by_node_name,
    meta_namespace_key,
    object_of,
    split_key,
)

from .support import make_pod


@pytest.mark.parametrize(("obj", "key"), [
    ({"metadata": {"name": "a", "namespace": "ns"}}, "ns/a"),
    ({"metadata": {"name": "node-1"}}, "node-1"),
])
def test_keys(obj: dict, key: str) -> None:
    assert meta_namespace_key(obj) == key
    assert split_key(key) == ((obj["metadata"].get("namespace") or ""), obj["metadata"]["name"])


def test_indexes_follow_updates_and_deletes() -> None:
    store = Indexer({"node": by_node_name})
    store.put(make_pod("a", node="n1"))
    store.put(make_pod("b", node="n1"))
    store.put(make_pod("c", "other"))
    assert [p["metadata"]["name"] for p in store.by_index("node", "n1")] == ["a", "b"]
    assert store.index_keys("node", "") == ["other/c"]

    old = store.put(make_pod("a", node="n2"))  # moved
    assert old is not None and old["spec"]["nodeName"] == "n1"
    assert store.index_keys("node", "n1") == ["ns/b"]
    assert store.index_keys("node", "n2") == ["ns/a"]

    store.delete("ns/b")
    assert store.index_values("node") == ["", "n2"]
    assert store.index_keys(NAMESPACE_INDEX, "ns") == ["ns/a"]
    assert [p["metadata"]["name"] for p in store.list_namespace("other")] == ["c"]
    assert store.get_by_name("ns", "a") is store.get("ns/a")
    assert len(store) == 2 and "ns/a" in store


def test_index_added_later_covers_stored_objects() -> None:
    store = Indexer()
    store.put(make_pod("a", node="n1"))
    store.add_index("node", by_node_name)
    assert store.index_keys("node", "n1") == ["ns/a"]


def test_replace_rebuilds_everything() -> None:
    store = Indexer({"node": by_node_name})
    store.put(make_pod("a", node="n1"))
    store.replace([make_pod("b", node="n2")])
    assert store.keys() == ["ns/b"]
    assert store.index_values("node") == ["n2"]


def test_unknown_index() -> None:
    with pytest.raises(KeyError):
        Indexer().by_index("nope", "x")


def test_object_of_tombstone() -> None:
    pod = make_pod("a")
    assert object_of(DeletedFinalStateUnknown("ns/a", pod)) is pod
    assert object_of(pod) is pod
