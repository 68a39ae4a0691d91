"""The watch cache: every object in memory, a window of recent events, fan-out to watchers.

Upstream's cacher, shaped for one asyncio loop:

- At start the whole `/registry/` prefix is listed at one revision R, then one
  store watch from R+1 feeds every resource's cache. The cache's `revision` is
  the last store revision it has applied; a consistent read waits until it
  reaches the store's current revision.
- Each resource keeps its objects (decoded once, with `resourceVersion` set, and
  their JSON encoded once) and a bounded window of recent events. A watch from
  resourceVersion N replays the window after N; N older than the window is 410
  Expired.
- Events are pushed to watchers synchronously while the cache applies them, so
  a watcher registered at revision R sees exactly the events after R, in order.
  Each event's JSON line is encoded once and shared by all watchers. A watcher
  that falls `max_pending` events behind is closed (its client re-watches).

Objects in the cache are shared: callers must never mutate `CachedObject.obj`.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api.selectors import FieldSelector, LabelSelector, object_fields
from kybernetes.storage.interface import (
    CompactedError,
    Event,
    KeyValue,
    StorageError,
    Store,
    WatchOverflowError,
)

log = logging.getLogger(__name__)

ROOT = "/registry/"

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"


_META_HEAD = b'{"metadata":{'


class CachedObject:
    """One object version as served, encoded once. Immutable by contract.

    Stored values begin with their metadata (`rest.encode_for_store`), so the served
    JSON is the stored bytes with `resourceVersion` spliced in: no decode on the
    write path. The dict form is decoded on first use (Tables, label filters, gets).
    """

    __slots__ = ("_fields", "_labels", "_obj", "key", "name", "namespace", "raw", "revision")

    def __init__(self, key: str, obj: dict[str, Any] | None, revision: int, *,
                 raw: bytes | None = None, namespaced: bool | None = None) -> None:
        self.key = key
        self.revision = revision
        self._fields: dict[str, str] | None = None
        self._labels: dict[str, str] | None = None
        if obj is not None:
            meta = obj.setdefault("metadata", {})
            meta["resourceVersion"] = str(revision)
            self._obj: dict[str, Any] | None = obj
            self.raw = orjson.dumps(obj)
            self.namespace: str = meta.get("namespace") or ""
            self.name: str = meta.get("name") or ""
            return
        assert raw is not None and namespaced is not None
        self._obj = None
        self.raw = raw
        if namespaced:
            _, self.namespace, self.name = key.rsplit("/", 2)
        else:
            self.namespace, self.name = "", key.rsplit("/", 1)[1]

    @classmethod
    def from_kv(cls, kv: KeyValue, namespaced: bool | None = None) -> CachedObject:
        value = kv.value
        if namespaced is not None and value.startswith(_META_HEAD):
            rv = b'"resourceVersion":"%d"' % kv.mod_revision
            rest = value[len(_META_HEAD):]
            raw = _META_HEAD + rv + (rest if rest[:1] == b"}" else b"," + rest)
            return cls(kv.key, None, kv.mod_revision, raw=raw, namespaced=namespaced)
        return cls(kv.key, orjson.loads(value), kv.mod_revision)

    @property
    def obj(self) -> dict[str, Any]:
        if self._obj is None:
            self._obj = orjson.loads(self.raw)
        return self._obj

    @property
    def labels(self) -> dict[str, str]:
        if self._labels is None:
            self._labels = (self.obj.get("metadata") or {}).get("labels") or {}
        return self._labels

    def fields(self, group: str, kind: str, namespaced: bool) -> dict[str, str]:
        if self._fields is None:
            self._fields = object_fields(group, kind, self.obj, namespaced=namespaced)
        return self._fields

    def with_revision(self, revision: int) -> CachedObject:
        """A copy carrying another resourceVersion (a DELETED event for a filtered watch)."""
        return CachedObject(self.key, orjson.loads(self.raw), revision)


class WatchEvent:
    """One change of one object. `obj` is the new state (for DELETED: the last state,
    with the delete's revision); `prev` the state before (None for a create)."""

    __slots__ = ("_deleted_prev", "_lines", "obj", "prev", "revision", "type")

    def __init__(self, type_: str, obj: CachedObject, prev: CachedObject | None) -> None:
        self.type = type_
        self.obj = obj
        self.prev = prev
        self.revision = obj.revision
        self._lines: dict[str, bytes] = {}
        self._deleted_prev: CachedObject | None = None

    def line(self, type_: str) -> bytes:
        """The JSON event line (newline-terminated) as this watcher must see it."""
        cached = self._lines.get(type_)
        if cached is None:
            obj = self.object_for(type_)
            cached = b'{"type":"' + type_.encode() + b'","object":' + obj.raw + b"}\n"
            self._lines[type_] = cached
        return cached

    def object_for(self, type_: str) -> CachedObject:
        if type_ == DELETED and self.type == MODIFIED and self.prev is not None:
            # The object left the watcher's selection: upstream sends the old state
            # under the event's resourceVersion.
            if self._deleted_prev is None:
                self._deleted_prev = self.prev.with_revision(self.revision)
            return self._deleted_prev
        return self.obj


@dataclass(slots=True)
class Filter:
    """Which objects one list or watch wants."""

    namespace: str = ""
    name: str = ""
    labels: LabelSelector | None = None
    fields: FieldSelector | None = None

    def matches(self, o: CachedObject, cache: ResourceCache) -> bool:
        if self.namespace and o.namespace != self.namespace:
            return False
        if self.name and o.name != self.name:
            return False
        if self.labels is not None and not self.labels.matches(o.labels):
            return False
        if self.fields is not None:
            return self.fields.matches(o.fields(cache.group, cache.kind, cache.namespaced))
        return True


class Watcher:
    """One watch stream's queue. Filled by the cache, drained by the HTTP handler."""

    def __init__(self, cache: ResourceCache, flt: Filter, max_pending: int) -> None:
        self.cache = cache
        self.filter = flt
        self.max_pending = max_pending
        self.pending: deque[tuple[str, WatchEvent]] = deque()
        self.closed = False
        self.overflowed = False
        self._wakeup = asyncio.Event()

    def offer(self, ev: WatchEvent) -> None:
        """Queue `ev` as the watcher's filter turns it (ADDED/MODIFIED/DELETED or nothing)."""
        flt = self.filter
        cur_ok = flt.matches(ev.obj, self.cache)
        if ev.type == DELETED:
            type_ = DELETED if cur_ok else ""
        elif ev.type == ADDED:
            type_ = ADDED if cur_ok else ""
        else:
            prev_ok = ev.prev is not None and flt.matches(ev.prev, self.cache)
            if cur_ok:
                type_ = MODIFIED if prev_ok else ADDED
            else:
                type_ = DELETED if prev_ok else ""
        if type_:
            self.push(type_, ev)

    def push(self, type_: str, ev: WatchEvent) -> None:
        if self.closed:
            return
        if len(self.pending) >= self.max_pending:
            self.overflowed = True
            self.close()
            return
        self.pending.append((type_, ev))
        self._wakeup.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.cache.watchers.discard(self)
            self._wakeup.set()

    async def next_batch(
        self, timeout: float | None  # noqa: ASYNC109 - a poll interval, not a deadline
    ) -> list[tuple[str, WatchEvent]]:
        """Everything pending, waiting up to `timeout` seconds for something.

        Returns [] on timeout or when closed with nothing left."""
        if not self.pending and not self.closed:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                return []
        batch = list(self.pending)
        self.pending.clear()
        return batch


class ResourceCache:
    """The objects and recent events of one resource (one storage prefix)."""

    def __init__(self, prefix: str, *, group: str, kind: str, namespaced: bool,
                 window: int) -> None:
        self.prefix = prefix
        self.group = group
        self.kind = kind
        self.namespaced = namespaced
        self.objects: dict[str, CachedObject] = {}
        self.events: deque[WatchEvent] = deque()
        self.window = window
        # Every event with revision > floor is in `events`.
        self.floor = 0
        # Revision of the last change to this resource (for cheap pagination).
        self.last_change = 0
        self.watchers: set[Watcher] = set()
        self._sorted: list[str] | None = None

    def reset(self, items: Iterable[CachedObject], revision: int) -> None:
        for w in list(self.watchers):
            w.close()
        self.objects = {o.key: o for o in items}
        self.events.clear()
        self.floor = revision
        self.last_change = revision
        self._sorted = None

    def apply(self, ev: Event) -> None:
        key = ev.kv.key
        prev = self.objects.get(key)
        if ev.type == "DELETE":
            gone = CachedObject.from_kv(ev.kv, self.namespaced)
            self.objects.pop(key, None)
            self._sorted = None
            wev = WatchEvent(DELETED, gone, prev)
        else:
            cur = CachedObject.from_kv(ev.kv, self.namespaced)
            self.objects[key] = cur
            if prev is None:
                self._sorted = None
            wev = WatchEvent(MODIFIED if prev is not None else ADDED, cur, prev)
        self.last_change = wev.revision
        self.events.append(wev)
        if len(self.events) > self.window:
            self.floor = self.events.popleft().revision
        for w in list(self.watchers):
            w.offer(wev)

    def sorted_keys(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.objects)
        return self._sorted

    def list(self, flt: Filter, *, start_key: str = "", limit: int = 0
             ) -> tuple[list[CachedObject], str]:
        """Matching objects in key order from `start_key`; (items, last key if cut short)."""
        out: list[CachedObject] = []
        objects = self.objects
        if flt.name and not start_key and flt.namespace:
            # At most one key; the namespace-range loop below must not see other namespaces.
            key = self.prefix + flt.namespace + "/" + flt.name
            keys: Iterable[str] = [key] if key in objects else []
        elif flt.name and not start_key:
            keys = sorted(k for k, o in objects.items() if o.name == flt.name)
        else:
            keys = self.sorted_keys()
            if flt.namespace or start_key:
                lo = max(start_key, self.prefix + flt.namespace + "/" if flt.namespace else "")
                keys = keys[bisect.bisect_left(keys, lo):]  # type: ignore[index]
        ns_prefix = self.prefix + flt.namespace + "/" if flt.namespace else ""
        for k in keys:
            if ns_prefix and not k.startswith(ns_prefix):
                break
            o = objects[k]
            if flt.matches(o, self):
                if limit and len(out) == limit:
                    return out, out[-1].key
                out.append(o)
        return out, ""

    def watch_from(self, flt: Filter, revision: int, max_pending: int) -> Watcher:
        """Register a watcher seeing events after `revision` (which must be >= floor)."""
        w = Watcher(self, flt, max_pending=max(max_pending, 0) or 1 << 30)
        for ev in self.events:
            if ev.revision > revision:
                w.offer(ev)
        # Replays may exceed the bound; only live events count against it.
        w.max_pending = max(max_pending, len(w.pending) + max_pending)
        self.watchers.add(w)
        return w

    def watch_with_state(self, flt: Filter, max_pending: int) -> Watcher:
        """Register a watcher that first gets ADDED for every current matching object."""
        w = Watcher(self, flt, max_pending=1 << 30)
        items, _ = self.list(flt)
        for o in items:
            w.push(ADDED, WatchEvent(ADDED, o, None))
        w.max_pending = len(w.pending) + max_pending
        self.watchers.add(w)
        return w


@dataclass
class _Waiter:
    revision: int
    future: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop()
                                         .create_future())


class TooLargeResourceVersion(Exception):
    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"Too large resource version: {requested}, current: {current}")
        self.requested = requested
        self.current = current


ResourceLookup = Callable[[str], "tuple[str, str, bool] | None"]


class WatchCache:
    """All resources' caches, fed by one store watch on `/registry/`."""

    def __init__(self, store: Store, *, window: int = 10_000, max_pending: int = 10_000) -> None:
        self.store = store
        self.window = window
        self.max_pending = max_pending
        self.revision = 0
        self.caches: dict[str, ResourceCache] = {}
        self._kinds: dict[str, tuple[str, str, bool]] = {}
        self._waiters: list[_Waiter] = []
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def register(self, prefix: str, *, group: str, kind: str, namespaced: bool) -> ResourceCache:
        """Declare a resource's storage prefix (`/registry/pods/`). Must be called before start
        for built-ins; later registrations start empty until the next re-list (CRDs use
        `register_filled`)."""
        self._kinds[prefix] = (group, kind, namespaced)
        cache = self.caches.get(prefix)
        if cache is None:
            cache = ResourceCache(prefix, group=group, kind=kind, namespaced=namespaced,
                                  window=self.window)
            cache.floor = self.revision
            self.caches[prefix] = cache
        return cache

    async def register_filled(self, prefix: str, *, group: str, kind: str, namespaced: bool
                              ) -> ResourceCache:
        """Register a prefix after start (a CRD's) and load what the store holds under it.

        The cache is routed at once, so events after the current revision R reach it
        while the store is listed at R; the listing is then merged with those events
        (their types recomputed against it). A prefix already registered is kept as is:
        it has been fed all along."""
        cache = self.caches.get(prefix)
        if cache is not None:
            if not cache.objects:  # a CRD re-created under another kind or scope
                cache.group, cache.kind, cache.namespaced = group, kind, namespaced
                self._kinds[prefix] = (group, kind, namespaced)
            return cache
        cache = self.register(prefix, group=group, kind=kind, namespaced=namespaced)
        revision = self.revision
        while True:
            try:
                result = await self.store.list(prefix, revision=revision)
                break
            except CompactedError:  # fell out of history: start over from now
                await self.sync()
                cache.reset((), self.revision)
                revision = self.revision
        objects = {kv.key: CachedObject.from_kv(kv, namespaced) for kv in result.items}
        events: deque[WatchEvent] = deque()
        for ev in cache.events:
            if ev.revision <= revision:
                continue
            prev = objects.get(ev.obj.key)
            if ev.type == DELETED:
                objects.pop(ev.obj.key, None)
                events.append(WatchEvent(DELETED, ev.obj, prev))
            else:
                objects[ev.obj.key] = ev.obj
                events.append(WatchEvent(MODIFIED if prev is not None else ADDED, ev.obj, prev))
        cache.objects = objects
        cache.events = events
        cache.floor = revision
        cache.last_change = events[-1].revision if events else revision
        cache._sorted = None
        return cache

    def cache_for(self, prefix: str) -> ResourceCache:
        return self.caches[prefix]

    def _route(self, key: str) -> ResourceCache | None:
        # /registry/<group>/<plural>/... or /registry/<plural>/...
        rest = key[len(ROOT):]
        first, _, tail = rest.partition("/")
        second = tail.partition("/")[0]
        cache = self.caches.get(f"{ROOT}{first}/{second}/")
        if cache is None:
            cache = self.caches.get(f"{ROOT}{first}/")
        return cache

    async def start(self) -> None:
        await self._fill()
        self._task = asyncio.create_task(self._run(), name="watch-cache")
        self.ready.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        for cache in self.caches.values():
            for w in list(cache.watchers):
                w.close()

    async def _fill(self) -> None:
        result = await self.store.list(ROOT)
        by_cache: dict[str, list[CachedObject]] = {p: [] for p in self.caches}
        for kv in result.items:
            cache = self._route(kv.key)
            if cache is not None:
                by_cache[cache.prefix].append(CachedObject.from_kv(kv, cache.namespaced))
        for prefix, cache in self.caches.items():
            cache.reset(by_cache[prefix], result.revision)
        self.revision = result.revision

    async def _run(self) -> None:
        while True:
            try:
                async for batch in self.store.watch(ROOT, start_revision=self.revision + 1):
                    self._apply(batch)
                return  # the store closed
            except (WatchOverflowError, CompactedError) as exc:
                log.warning("watch cache fell behind the store (%s); re-listing", exc)
                await self._fill()
            except StorageError:
                log.exception("watch cache: store watch failed; re-listing in 1 s")
                await asyncio.sleep(1)
                await self._fill()

    def _apply(self, batch: list[Event]) -> None:
        for ev in batch:
            cache = self._route(ev.kv.key)
            if cache is not None:
                cache.apply(ev)
            self.revision = ev.revision
        self._wake()

    def _wake(self) -> None:
        if not self._waiters:
            return
        keep = []
        for w in self._waiters:
            if w.revision <= self.revision:
                if not w.future.done():
                    w.future.set_result(None)
            else:
                keep.append(w)
        self._waiters = keep

    async def wait_for(self, revision: int, timeout: float = 3.0) -> None:  # noqa: ASYNC109
        """Return once the cache has applied `revision`; TooLargeResourceVersion on timeout."""
        if self.revision >= revision:
            return
        waiter = _Waiter(revision)
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError:
            raise TooLargeResourceVersion(revision, self.revision) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def sync(self) -> None:
        """Wait until everything the store has committed is in the cache (consistent read)."""
        await self.wait_for(await self.store.current_revision(), timeout=10.0)
