"""The watch cache over the in-memory store: consistency, filtering, windows, fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson

from kybernetes.api.selectors import parse_field_selector, parse_label_selector
from kybernetes.apiserver.watchcache import ADDED, DELETED, MODIFIED, Filter, WatchCache
from kybernetes.storage.memory import MemoryStore

PODS = "/registry/pods/"


def cm(ns: str, name: str, **labels: str) -> bytes:
    return orjson.dumps({"kind": "Pod", "apiVersion": "v1",
                         "metadata": {"name": name, "namespace": ns, "labels": labels}})


def run(fn: Callable[[MemoryStore, WatchCache], Awaitable[None]], *, window: int = 100) -> None:
    async def main() -> None:
        store = MemoryStore()
        await store.start()
        await store.create(PODS + "a/before", cm("a", "before"))
        cache = WatchCache(store, window=window, max_pending=5)
        cache.register(PODS, group="", kind="Pod", namespaced=True)
        cache.register("/registry/apps/deployments/", group="apps", kind="Deployment",
                       namespaced=True)
        await cache.start()
        try:
            await fn(store, cache)
        finally:
            await cache.close()
            await store.close()

    asyncio.run(main())


def names(items: list) -> list[str]:
    return [o.name for o in items]


def test_fill_then_follow_and_sync() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        rc = cache.cache_for(PODS)
        assert names(rc.list(Filter())[0]) == ["before"]
        kv = await store.create(PODS + "b/x", cm("b", "x", app="web"))
        await cache.sync()
        assert cache.revision == kv.mod_revision
        items, _ = rc.list(Filter(namespace="b"))
        assert names(items) == ["x"]
        assert items[0].obj["metadata"]["resourceVersion"] == str(kv.mod_revision)
        assert orjson.loads(items[0].raw) == items[0].obj

    run(body)


def test_routes_by_prefix() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        await store.create("/registry/apps/deployments/a/d", cm("a", "d"))
        await cache.sync()
        assert names(cache.cache_for("/registry/apps/deployments/").list(Filter())[0]) == ["d"]
        assert names(cache.cache_for(PODS).list(Filter())[0]) == ["before"]

    run(body)


def test_list_pages_in_key_order() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        for i in range(5):
            await store.create(f"{PODS}a/p{i}", cm("a", f"p{i}"))
        await cache.sync()
        rc = cache.cache_for(PODS)
        page, last = rc.list(Filter(namespace="a"), limit=3)
        assert names(page) == ["before", "p0", "p1"]
        page, last = rc.list(Filter(namespace="a"), start_key=last + "\x00", limit=3)
        assert names(page) == ["p2", "p3", "p4"]
        assert last == ""

    run(body)


def test_label_and_field_filters() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        await store.create(PODS + "a/web", cm("a", "web", app="web"))
        await store.create(PODS + "a/db", cm("a", "db", app="db"))
        await cache.sync()
        rc = cache.cache_for(PODS)
        assert names(rc.list(Filter(labels=parse_label_selector("app=web")))[0]) == ["web"]
        flt = Filter(fields=parse_field_selector("metadata.name!=web"))
        assert names(rc.list(flt)[0]) == ["before", "db"]
        assert names(rc.list(Filter(name="db"))[0]) == ["db"]

    run(body)


def test_watch_with_state_then_events() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        w = cache.cache_for(PODS).watch_with_state(Filter(), cache.max_pending)
        kv = await store.create(PODS + "a/x", cm("a", "x"))
        await store.update(PODS + "a/x", cm("a", "x", v="2"), expected_mod_revision=kv.mod_revision)
        await store.delete(PODS + "a/x")
        await cache.sync()
        batch = await w.next_batch(1.0)
        assert [(t, ev.obj.name) for t, ev in batch] == [
            (ADDED, "before"), (ADDED, "x"), (MODIFIED, "x"), (DELETED, "x")]
        deleted = batch[-1][1]
        assert deleted.obj.obj["metadata"]["labels"] == {"v": "2"}
        assert deleted.revision == cache.revision
        line = orjson.loads(batch[1][1].line(ADDED))
        assert line["type"] == ADDED and line["object"]["metadata"]["name"] == "x"

    run(body)


def test_watch_from_revision_replays_window() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        k1 = await store.create(PODS + "a/x", cm("a", "x"))
        await store.create(PODS + "a/y", cm("a", "y"))
        await cache.sync()
        w = cache.cache_for(PODS).watch_from(Filter(), k1.mod_revision, cache.max_pending)
        batch = await w.next_batch(1.0)
        assert [(t, ev.obj.name) for t, ev in batch] == [(ADDED, "y")]

    run(body)


def test_window_floor_moves() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        rc = cache.cache_for(PODS)
        start = rc.floor
        for i in range(4):
            await store.create(f"{PODS}a/p{i}", cm("a", f"p{i}"))
        await cache.sync()
        assert rc.floor > start  # older events fell out of a window of 2
        assert len(rc.events) == 2

    run(body, window=2)


def test_selector_turns_modify_into_added_and_deleted() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        kv = await store.create(PODS + "a/x", cm("a", "x", app="db"))
        await cache.sync()
        w = cache.cache_for(PODS).watch_with_state(
            Filter(labels=parse_label_selector("app=web")), cache.max_pending)
        kv = await store.update(PODS + "a/x", cm("a", "x", app="web"),
                                expected_mod_revision=kv.mod_revision)
        await store.update(PODS + "a/x", cm("a", "x", app="db"),
                           expected_mod_revision=kv.mod_revision)
        await cache.sync()
        batch = await w.next_batch(1.0)
        assert [t for t, _ in batch] == [ADDED, DELETED]
        gone = batch[1][1].object_for(DELETED)
        # The DELETED event shows the last state that matched, at the event's revision.
        assert gone.labels == {"app": "web"}
        assert gone.revision == cache.revision

    run(body)


def test_slow_watcher_is_closed() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        w = cache.cache_for(PODS).watch_from(Filter(), cache.revision, 5)
        for i in range(10):
            await store.create(f"{PODS}a/p{i}", cm("a", f"p{i}"))
        await cache.sync()
        assert w.closed and w.overflowed
        assert w not in cache.cache_for(PODS).watchers

    run(body)


def test_wait_for_future_revision_times_out() -> None:
    async def body(store: MemoryStore, cache: WatchCache) -> None:
        from kybernetes.apiserver.watchcache import TooLargeResourceVersion

        try:
            await cache.wait_for(cache.revision + 100, timeout=0.05)
        except TooLargeResourceVersion as exc:
            assert exc.requested == cache.revision + 100
        else:
            raise AssertionError("expected TooLargeResourceVersion")

    run(body)


def test_stored_bytes_are_served_with_the_resource_version_spliced_in() -> None:
    from kybernetes.apiserver.rest import encode_for_store
    from kybernetes.apiserver.watchcache import CachedObject
    from kybernetes.storage.interface import KeyValue

    obj = {"kind": "Pod", "apiVersion": "v1", "spec": {"x": 1},
           "metadata": {"name": "p", "namespace": "a", "resourceVersion": "3",
                        "labels": {"k": "v"}}}
    value = encode_for_store(obj)
    assert value.startswith(b'{"metadata":{') and b"resourceVersion" not in value
    o = CachedObject.from_kv(KeyValue("/registry/pods/a/p", value, 5, 9), namespaced=True)
    assert (o.namespace, o.name, o.labels) == ("a", "p", {"k": "v"})
    assert orjson.loads(o.raw) == {**obj, "metadata": {**obj["metadata"], "resourceVersion": "9"}}
    empty = CachedObject.from_kv(KeyValue("/registry/namespaces/x", encode_for_store(
        {"metadata": {}, "kind": "Namespace"}), 1, 2), namespaced=False)
    assert (empty.namespace, empty.name) == ("", "x")
    assert orjson.loads(empty.raw) == {"metadata": {"resourceVersion": "2"}, "kind": "Namespace"}
