"""The `Store` contract, run against every backend (memory fake and SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from kybernetes.storage.interface import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyValue,
    NotFoundError,
    Store,
    WatchOverflowError,
    prefix_end,
)
from kybernetes.storage.memory import MemoryStore
from kybernetes.storage.sqlite import SQLiteStore

StoreFactory = Callable[..., Store]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """make_store(**options) -> an unstarted store of the parametrized backend.

    Successive SQLite stores share one file, so a second one is a restart.
    """

    def factory(**options: object) -> Store:
        if request.param == "memory":
            return MemoryStore(**options)  # type: ignore[arg-type]
        options.setdefault("compact_interval_seconds", 0)
        return SQLiteStore(str(tmp_path / "state.db"), **options)  # type: ignore[arg-type]

    return factory


def run_with(make_store: StoreFactory, body: Callable[[Store], Awaitable[None]]) -> None:
    """Start a store, run body(store) under a time limit, close the store."""

    async def main() -> None:
        store = make_store()
        await store.start()
        try:
            await asyncio.wait_for(body(store), timeout=20)
        finally:
            await store.close()

    asyncio.run(main())


async def next_events(it: AsyncIterator[list[Event]], count: int) -> list[Event]:
    """Collect at least `count` events from a watch iterator (in whatever batches)."""
    events: list[Event] = []
    while len(events) < count:
        events.extend(await asyncio.wait_for(anext(it), timeout=5))
    return events


def summary(events: list[Event]) -> list[tuple[str, str, int, bytes, int | None]]:
    return [
        (e.type, e.kv.key, e.kv.mod_revision, e.kv.value, e.prev_kv and e.prev_kv.mod_revision)
        for e in events
    ]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/a/", "/a0"),
        ("", None),
        ("a\U0010ffff", "b"),
        ("\ud7ff", "\ue000"),
    ],
    ids=["simple", "empty", "max-code-point", "skip-surrogates"],
)
def test_prefix_end(prefix: str, expected: str | None) -> None:
    assert prefix_end(prefix) == expected


def test_create_get_and_revisions(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        assert await store.current_revision() == 0
        a = await store.create("/r/a", b"1")
        b = await store.create("/r/b", b"2")
        assert (a.create_revision, a.mod_revision) == (1, 1)
        assert (b.create_revision, b.mod_revision) == (2, 2)
        assert await store.get("/r/a") == a
        assert await store.get("/r/missing") is None
        with pytest.raises(KeyExistsError):
            await store.create("/r/a", b"again")
        assert await store.current_revision() == 2  # a failed write consumes no revision
        with pytest.raises(FutureRevisionError):
            await store.get("/r/a", revision=3)

    run_with(make_store, body)


def test_list_limit_start_key_and_old_revision(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        for name in ["c", "a", "e", "b", "d"]:
            await store.create(f"/p/{name}", name.encode())
        await store.create("/q/x", b"other prefix")
        await store.create("/p", b"the prefix itself is not under /p/")
        full = await store.list("/p/")
        assert [kv.key for kv in full.items] == ["/p/a", "/p/b", "/p/c", "/p/d", "/p/e"]
        assert full.revision == 7 and not full.more
        assert await store.count("/p/") == 5

        page1 = await store.list("/p/", limit=2)
        assert [kv.key for kv in page1.items] == ["/p/a", "/p/b"] and page1.more
        page2 = await store.list("/p/", start_key=page1.items[-1].key + "\x00", limit=2)
        assert [kv.key for kv in page2.items] == ["/p/c", "/p/d"] and page2.more
        page3 = await store.list("/p/", start_key="/p/e", limit=2)
        assert [kv.key for kv in page3.items] == ["/p/e"] and not page3.more

        old = full.revision
        c = await store.get("/p/c")
        assert c is not None
        await store.update("/p/c", b"c2", expected_mod_revision=c.mod_revision)
        await store.delete("/p/a")
        await store.create("/p/f", b"f")
        at_old = await store.list("/p/", revision=old)
        assert [(kv.key, kv.value) for kv in at_old.items] == [
            ("/p/a", b"a"),
            ("/p/b", b"b"),
            ("/p/c", b"c"),
            ("/p/d", b"d"),
            ("/p/e", b"e"),
        ]
        assert at_old.revision == old
        paged = await store.list("/p/", revision=old, start_key="/p/b", limit=2)
        assert [kv.key for kv in paged.items] == ["/p/b", "/p/c"] and paged.more
        latest = await store.list("/p/")
        assert [(kv.key, kv.value) for kv in latest.items] == [
            ("/p/b", b"b"),
            ("/p/c", b"c2"),
            ("/p/d", b"d"),
            ("/p/e", b"e"),
            ("/p/f", b"f"),
        ]
        assert (await store.get("/p/a", revision=old)) is not None
        assert (await store.get("/p/a")) is None
        assert len((await store.list("")).items) == 7

    run_with(make_store, body)


def test_update_conflict_and_not_found(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        v1 = await store.create("/u/x", b"1")
        v2 = await store.update("/u/x", b"2", expected_mod_revision=v1.mod_revision)
        assert (v2.create_revision, v2.mod_revision, v2.value) == (1, 2, b"2")
        with pytest.raises(ConflictError) as caught:
            await store.update("/u/x", b"3", expected_mod_revision=v1.mod_revision)
        assert caught.value.current == v2
        with pytest.raises(NotFoundError):
            await store.update("/u/missing", b"1", expected_mod_revision=1)
        assert await store.current_revision() == 2

    run_with(make_store, body)


def test_delete(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        v1 = await store.create("/d/x", b"1")
        v2 = await store.update("/d/x", b"2", expected_mod_revision=v1.mod_revision)
        with pytest.raises(ConflictError) as caught:
            await store.delete("/d/x", expected_mod_revision=v1.mod_revision)
        assert caught.value.current == v2
        gone = await store.delete("/d/x", expected_mod_revision=v2.mod_revision)
        assert (gone.key, gone.value, gone.create_revision, gone.mod_revision) == (
            "/d/x",
            b"2",
            1,
            3,
        )
        assert await store.get("/d/x") is None
        with pytest.raises(NotFoundError):
            await store.delete("/d/x")
        again = await store.create("/d/x", b"new")
        assert again.create_revision == again.mod_revision == 4
        assert (await store.delete("/d/x")).mod_revision == 5  # unconditional

    run_with(make_store, body)


def test_watch_events_in_order_with_prev_kv(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        await store.create("/other/z", b"ignored")
        it = store.watch("/w/", start_revision=2)
        first = asyncio.ensure_future(anext(it))
        await asyncio.sleep(0.05)  # the watch is registered before the writes
        a = await store.create("/w/a", b"1")
        a2 = await store.update("/w/a", b"2", expected_mod_revision=a.mod_revision)
        await store.create("/other/y", b"ignored")
        await store.delete("/w/a")
        events = list(await asyncio.wait_for(first, 5))
        events += await next_events(it, 3 - len(events))
        assert summary(events) == [
            ("PUT", "/w/a", 2, b"1", None),
            ("PUT", "/w/a", 3, b"2", 2),
            ("DELETE", "/w/a", 5, b"2", 3),
        ]
        assert events[0].is_create and not events[1].is_create
        assert events[1].prev_kv is not None and events[1].prev_kv.value == b"1"
        assert events[2].prev_kv == a2
        assert events[2].kv.create_revision == 2
        await it.aclose()  # type: ignore[attr-defined]

    run_with(make_store, body)


def test_watch_from_old_revision_replays_then_follows(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        a = await store.create("/h/a", b"1")
        await store.update("/h/a", b"2", expected_mod_revision=a.mod_revision)
        await store.create("/h/b", b"1")
        it = store.watch("/h/", start_revision=2)
        replay = await next_events(it, 2)
        assert summary(replay) == [("PUT", "/h/a", 2, b"2", 1), ("PUT", "/h/b", 3, b"1", None)]
        await store.delete("/h/b")
        live = await next_events(it, 1)
        assert summary(live) == [("DELETE", "/h/b", 4, b"1", 3)]
        await it.aclose()  # type: ignore[attr-defined]

    run_with(make_store, body)


def test_watch_from_now(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        await store.create("/n/old", b"1")
        it = store.watch("/n/", start_revision=0)
        pending = asyncio.ensure_future(anext(it))
        await asyncio.sleep(0.05)
        await store.create("/n/new", b"1")
        events = await asyncio.wait_for(pending, 5)
        assert [e.kv.key for e in events] == ["/n/new"]
        await it.aclose()  # type: ignore[attr-defined]

    run_with(make_store, body)


def test_many_concurrent_writes_arrive_in_revision_order(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        it = store.watch("/c/", start_revision=1)
        await asyncio.gather(*(store.create(f"/c/{i}", b"x") for i in range(300)))
        events = await next_events(it, 300)
        assert [e.kv.mod_revision for e in events] == list(range(1, 301))
        await it.aclose()  # type: ignore[attr-defined]

    run_with(make_store, body)


def test_compaction(make_store: StoreFactory) -> None:
    async def body(store: Store) -> None:
        a = await store.create("/k/a", b"1")  # 1
        a = await store.update("/k/a", b"2", expected_mod_revision=a.mod_revision)  # 2
        await store.create("/k/b", b"1")  # 3
        await store.delete("/k/b")  # 4
        a = await store.update("/k/a", b"3", expected_mod_revision=a.mod_revision)  # 5
        await store.create("/k/c", b"1")  # 6
        with pytest.raises(FutureRevisionError):
            await store.compact(7)
        await store.compact(4)
        assert store.compacted_revision == 4
        with pytest.raises(CompactedError) as caught:
            await store.get("/k/a", revision=3)
        assert caught.value.compacted_revision == 4
        with pytest.raises(CompactedError):
            await store.list("/k/", revision=1)
        it = store.watch("/k/", start_revision=4)
        with pytest.raises(CompactedError):
            await anext(it)
        # reads at and after the compacted revision are still exact
        assert [(kv.key, kv.value) for kv in (await store.list("/k/", revision=4)).items] == [
            ("/k/a", b"2"),
        ]
        assert (await store.get("/k/a", revision=4)) == KeyValue("/k/a", b"2", 1, 2)
        assert (await store.get("/k/b", revision=4)) is None
        # a watch from compacted + 1 works and carries prev_kv from below the cut
        it = store.watch("/k/", start_revision=5)
        events = await next_events(it, 2)
        assert summary(events) == [("PUT", "/k/a", 5, b"3", 2), ("PUT", "/k/c", 6, b"1", None)]
        assert events[0].prev_kv is not None and events[0].prev_kv.value == b"2"
        await it.aclose()  # type: ignore[attr-defined]
        await store.compact(2)  # at or below the compacted revision: no-op
        assert store.compacted_revision == 4
        assert (await store.create("/k/d", b"1")).mod_revision == 7

    run_with(make_store, body)


def test_close_ends_watches(make_store: StoreFactory) -> None:
    async def main() -> None:
        store = make_store()
        await store.start()
        it = store.watch("/", start_revision=0)
        pending = asyncio.ensure_future(anext(it))
        await asyncio.sleep(0.05)
        await store.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(pending, 5)

    asyncio.run(main())


def test_slow_watcher_overflows_without_blocking_writers(make_store: StoreFactory) -> None:
    async def main() -> None:
        store = make_store(max_pending_events=50)
        await store.start()
        try:
            slow = store.watch("/s/", start_revision=0)
            fast = store.watch("/s/", start_revision=0)
            slow_first = asyncio.ensure_future(anext(slow))
            fast_first = asyncio.ensure_future(anext(fast))
            await asyncio.sleep(0.05)
            await store.create("/s/first", b"x")
            assert len(await asyncio.wait_for(slow_first, 5)) == 1
            assert len(await asyncio.wait_for(fast_first, 5)) == 1
            got = 0
            for i in range(200):  # the slow watcher never reads; the writer is not held up
                await store.create(f"/s/{i}", b"x")
                got += len(await asyncio.wait_for(anext(fast), 5))
            assert got == 200
            with pytest.raises(WatchOverflowError):
                await asyncio.wait_for(anext(slow), 5)
            await fast.aclose()  # type: ignore[attr-defined]
        finally:
            await store.close()

    asyncio.run(main())


def test_restart_keeps_data_and_revision_grows(make_store: StoreFactory) -> None:
    async def main() -> None:
        first = make_store()
        if isinstance(first, MemoryStore):
            pytest.skip("the memory fake persists nothing")
        await first.start()
        a = await first.create("/x/a", b"1")
        await first.update("/x/a", b"2", expected_mod_revision=a.mod_revision)
        await first.create("/x/b", b"1")
        await first.delete("/x/b")  # the latest revision (4) is a tombstone...
        await first.compact(4)  # ...and compaction removes it
        await first.close()

        second = make_store()
        await second.start()
        try:
            assert await second.current_revision() == 4
            assert second.compacted_revision == 4
            got = await second.get("/x/a")
            assert got is not None and (got.value, got.mod_revision) == (b"2", 2)
            assert (await second.create("/x/c", b"1")).mod_revision == 5  # 4 is never reused
        finally:
            await second.close()

    asyncio.run(main())
