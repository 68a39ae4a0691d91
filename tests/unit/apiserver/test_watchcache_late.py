"""WatchCache.register_filled: a storage prefix registered after start (a CRD's) is loaded
from the store at the cache's revision and merged with the events that raced the load."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from kybernetes.apiserver.watchcache import ADDED, DELETED, MODIFIED, Filter, WatchCache
from kybernetes.storage.memory import MemoryStore

CRS = "/registry/example.com/widgets/"


def widget(ns: str, name: str, size: int = 1) -> bytes:
    return orjson.dumps({"metadata": {"name": name, "namespace": ns}, "spec": {"size": size}})


class RacingStore(MemoryStore):
    """Runs `during_list` (writes) while a list of CRS is in flight, before it answers."""

    during_list: Callable[[], Awaitable[None]] | None = None

    async def list(self, prefix: str, **kw: Any) -> Any:
        result = await super().list(prefix, **kw)
        hook, self.during_list = self.during_list, None
        if prefix == CRS and hook is not None:
            await hook()
        return result


def run(body: Callable[[RacingStore, WatchCache], Awaitable[None]]) -> None:
    async def main() -> None:
        store = RacingStore()
        await store.start()
        cache = WatchCache(store, window=100, max_pending=100)
        cache.register("/registry/pods/", group="", kind="Pod", namespaced=True)
        await cache.start()
        try:
            await body(store, cache)
        finally:
            await cache.close()
            await store.close()

    asyncio.run(main())


def test_objects_stored_before_registration_are_loaded() -> None:
    async def body(store: RacingStore, cache: WatchCache) -> None:
        await store.create(CRS + "a/one", widget("a", "one"))
        await store.create(CRS + "b/two", widget("b", "two"))
        await cache.sync()  # the cache routed nothing for this prefix so far
        rc = await cache.register_filled(CRS, group="example.com", kind="Widget",
                                         namespaced=True)
        assert [o.name for o in rc.list(Filter())[0]] == ["one", "two"]
        await store.create(CRS + "a/three", widget("a", "three"))
        await cache.sync()
        assert [o.name for o in rc.list(Filter(namespace="a"))[0]] == ["one", "three"]
        again = await cache.register_filled(CRS, group="example.com", kind="Widget",
                                            namespaced=True)
        assert again is rc

    run(body)


def test_writes_racing_the_load_are_merged_with_their_types() -> None:
    async def body(store: RacingStore, cache: WatchCache) -> None:
        one = await store.create(CRS + "a/one", widget("a", "one"))
        await store.create(CRS + "a/gone", widget("a", "gone"))
        await cache.sync()
        revision = cache.revision

        async def race() -> None:
            await store.update(CRS + "a/one", widget("a", "one", 2),
                               expected_mod_revision=one.mod_revision)
            await store.delete(CRS + "a/gone")
            await store.create(CRS + "a/new", widget("a", "new"))
            await cache.sync()

        store.during_list = race
        rc = await cache.register_filled(CRS, group="example.com", kind="Widget",
                                         namespaced=True)
        items = {o.name: o.obj for o in rc.list(Filter())[0]}
        assert sorted(items) == ["new", "one"]
        assert items["one"]["spec"] == {"size": 2}
        watcher = rc.watch_from(Filter(), revision, 100)
        assert [(t, ev.obj.name) for t, ev in watcher.pending] == [
            (MODIFIED, "one"), (DELETED, "gone"), (ADDED, "new")]

    run(body)
