"""Informer against an in-memory resource on virtual time: list, watch, re-watch, re-list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from kybernetes.client import (
    DeletedFinalStateUnknown,
    FakeClock,
    FakeListerWatcher,
    Informer,
    StatusError,
    TransportError,
    by_node_name,
)
from kybernetes.client._clock import settle

from .support import make_cm, make_pod, run


class Recorder:
    """A handler writing down what it was told, as short tuples."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.seen.append(("add", obj["metadata"]["name"]))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.seen.append(("update", new["metadata"]["name"], old["metadata"]["resourceVersion"],
                          new["metadata"]["resourceVersion"]))

    def on_delete(self, obj: Any) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.seen.append(("tombstone", obj.key))
        else:
            self.seen.append(("delete", obj["metadata"]["name"]))

    def take(self) -> list[tuple[str, ...]]:
        out, self.seen = self.seen, []
        return out


Scenario = Callable[[FakeListerWatcher, Informer, Recorder, FakeClock], Awaitable[None]]


def scenario(objects: list[dict[str, Any]], body: Scenario, **informer_kw: Any) -> None:
    """Run `body` with an informer over `objects`, started and synced, then stop it."""
    async def main() -> None:
        clock = FakeClock()
        lw = FakeListerWatcher(objects)
        kw: dict[str, Any] = {"page_size": 2, "backoff_initial": 1.0, "backoff_max": 1.0}
        kw.update(informer_kw)
        informer = Informer(lw, clock=clock, **kw)
        recorder = Recorder()
        informer.add_event_handler(recorder)
        informer.start()
        await clock.advance(0)
        try:
            await body(lw, informer, recorder, clock)
        finally:
            await informer.stop()
        assert lw.open_watches == 0

    run(main())


def test_initial_paged_list_then_watch_from_its_resource_version() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        assert inf.has_synced() and await inf.wait_for_sync(0)
        assert rec.take() == [("add", "a"), ("add", "b"), ("add", "c")]
        assert [c["continue"] for c in lw.list_calls] == [None, "3:2"]
        assert {c["limit"] for c in lw.list_calls} == {2}
        assert lw.watch_calls == [{"resource_version": "3", "allow_bookmarks": True,
                                   "timeout_seconds": lw.watch_calls[0]["timeout_seconds"]}]
        assert 300 <= lw.watch_calls[0]["timeout_seconds"] < 600
        assert sorted(inf.store.keys()) == ["ns/a", "ns/b", "ns/c"]

    scenario([make_cm("a"), make_cm("b"), make_cm("c")], body)


def test_watch_events_reach_store_and_handlers() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        rec.take()
        lw.add(make_cm("b"))
        lw.modify(make_cm("a", x="1"))
        lw.delete("ns/b")
        lw.bookmark()
        await settle()
        assert rec.take() == [("add", "b"), ("update", "a", "1", "3"), ("delete", "b")]
        assert inf.store.keys() == ["ns/a"]
        assert inf.store.get("ns/a")["data"] == {"x": "1"}  # type: ignore[index]
        assert inf.last_sync_resource_version == "4"

    scenario([make_cm("a")], body)


def test_bookmark_moves_the_resource_version_silently() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        rec.take()
        lw.delete_silently("ns/a")  # bumps the revision; nobody is told
        lw.bookmark()
        await settle()
        assert rec.take() == []
        assert inf.last_sync_resource_version == "2"

    scenario([make_cm("a")], body)


def test_stream_end_rewatches_from_the_last_resource_version_without_relisting() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        lw.modify(make_cm("a", x="1"))
        await settle()
        lw.close_watches()
        await settle()
        assert [c["resource_version"] for c in lw.watch_calls] == ["1", "2"]
        assert len(lw.list_calls) == 1
        lw.modify(make_cm("a", x="2"))
        await settle()
        assert rec.take()[-1] == ("update", "a", "2", "3")

    scenario([make_cm("a")], body)


def test_gone_relists_with_tombstones_for_deletions_it_missed() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        rec.take()
        lw.expire()  # the watch gets 410; the informer backs off before listing again
        await settle()
        # Meanwhile, unseen: b deleted, c changed, d created; a unchanged.
        lw.delete_silently("ns/b")
        lw.modify(make_cm("c", x="1"))
        lw.add(make_cm("d"))
        await clock.advance(1.0)
        assert inf.list_count == 2
        assert sorted(rec.take()) == [("add", "d"), ("tombstone", "ns/b"),
                                      ("update", "c", "3", "5")]
        assert sorted(inf.store.keys()) == ["ns/a", "ns/c", "ns/d"]
        assert lw.watch_calls[-1]["resource_version"] == "6"

    scenario([make_cm("a"), make_cm("b"), make_cm("c")], body)


def test_watch_that_cannot_connect_backs_off_and_keeps_its_resource_version() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        lw.watch_errors = [TransportError("connection refused", maybe_sent=False)]
        lw.close_watches()  # a stream that ends without events: back off before watching
        await settle()
        assert len(lw.watch_calls) == 1
        await clock.advance(1.0)
        assert len(lw.watch_calls) == 2  # the failed one
        await clock.advance(1.0)
        assert [c["resource_version"] for c in lw.watch_calls] == ["1", "1", "1"]
        assert len(lw.list_calls) == 1 and lw.open_watches == 1

    scenario([make_cm("a")], body)


def test_other_watch_errors_relist() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        lw.watch_errors = [StatusError(403, "Forbidden", "no")]
        lw.close_watches()
        await clock.advance(1.0)  # back-off after an empty stream, then the 403
        assert inf.list_count == 1
        await clock.advance(1.0)  # back-off after the 403, then a new list
        assert inf.list_count == 2 and lw.open_watches == 1

    scenario([make_cm("a")], body)


def test_failed_list_is_retried_after_backoff() -> None:
    async def main() -> None:
        clock = FakeClock()
        lw = FakeListerWatcher([make_cm("a")])
        lw.list_errors = [TransportError("refused"), StatusError(500, "InternalError", "x")]
        informer = Informer(lw, clock=clock, backoff_initial=1.0, backoff_max=10.0)
        informer.start()
        await clock.advance(0)
        assert not informer.has_synced()
        await clock.advance(1.5)  # first back-off: 1 s (+ up to 50% jitter)
        assert len(lw.list_calls) == 2 and not informer.has_synced()
        await clock.advance(3.0)  # second: 2 s (+ jitter)
        assert informer.has_synced()
        await informer.stop()

    run(main())


def test_a_failing_handler_does_not_stop_the_others() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        def boom(obj: dict[str, Any]) -> None:
            raise RuntimeError("handler bug")

        inf.add_event_handler(on_add=boom)  # replays a: raises, logged
        second = Recorder()
        inf.add_event_handler(second)
        rec.take()
        lw.add(make_cm("b"))
        await settle()
        assert rec.take() == [("add", "b")]
        assert second.take() == [("add", "a"), ("add", "b")]

    scenario([make_cm("a")], body)


def test_resync_sends_updates_of_every_object_to_itself() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        rec.take()
        await clock.advance(29)
        assert rec.take() == []
        await clock.advance(1)
        assert sorted(rec.take()) == [("update", "a", "1", "1"), ("update", "b", "2", "2")]
        assert len(lw.list_calls) == 1  # a resync is not a re-list

    scenario([make_cm("a"), make_cm("b")], body, resync_period=30)


def test_custom_index_over_watched_pods() -> None:
    async def body(lw: FakeListerWatcher, inf: Informer, rec: Recorder, clock: FakeClock) -> None:
        lw.modify(make_pod("p1", node="n1"))
        await settle()
        assert inf.store.index_keys("node", "n1") == ["ns/p1"]
        assert inf.store.index_keys("node", "") == ["ns/p2"]

    scenario([make_pod("p1"), make_pod("p2")], body, indexers={"node": by_node_name})


def test_stop_closes_the_watch() -> None:
    async def main() -> None:
        lw = FakeListerWatcher([make_cm("a")])
        informer = Informer(lw, clock=FakeClock())
        informer.start()
        await settle()
        assert lw.open_watches == 1 and informer.running
        await informer.stop()
        assert lw.open_watches == 0 and not informer.running

    run(main())


def test_wait_for_sync_times_out() -> None:
    async def never(**kw: Any) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield

    async def main() -> bool:
        lw = FakeListerWatcher()
        lw.list = lambda **kw: asyncio.Event().wait()  # type: ignore[assignment,method-assign]
        informer = Informer(lw, clock=FakeClock())
        informer.start()
        try:
            return await informer.wait_for_sync(timeout=0.01)
        finally:
            await informer.stop()

    assert run(main()) is False
