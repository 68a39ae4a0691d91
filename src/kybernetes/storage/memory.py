"""In-memory `Store`: a fake with the full contract (history, watch, compaction).

For testing neighbours of the storage layer (the apiserver, the watch cache);
never a stand-in for the real backend in integration or e2e tests. Nothing is
persisted. Every method completes without yielding to the loop except `watch`
iteration, so operations are atomic with respect to each other.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator

from kybernetes.storage._watch import DEFAULT_MAX_PENDING_EVENTS, WatchHub, iterate
from kybernetes.storage.errors import (
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    NotFoundError,
    StorageError,
)
from kybernetes.storage.interface import Event, KeyValue, ListResult

# One key's versions: (revision, value or None for a deletion), oldest first.
_Versions = list[tuple[int, KeyValue | None]]


class MemoryStore:
    """Satisfies `kybernetes.storage.interface.Store`."""

    def __init__(self, *, max_pending_events: int = DEFAULT_MAX_PENDING_EVENTS) -> None:
        self._revision = 0
        self._compacted = 0
        self._live: dict[str, KeyValue] = {}
        self._versions: dict[str, _Versions] = {}
        self._events: list[Event] = []  # revision order; events[i] has revision _events_base+i
        self._hub = WatchHub(max_pending_events=max_pending_events)
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        self._hub.close_all()

    async def current_revision(self) -> int:
        return self._revision

    @property
    def compacted_revision(self) -> int:
        return self._compacted

    # ---- reads -------------------------------------------------------------

    def _check_revision(self, revision: int) -> None:
        if self._closed:
            raise StorageError("store is closed")
        if revision and revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        if revision > self._revision:
            raise FutureRevisionError(revision, self._revision)

    def _at(self, key: str, revision: int) -> KeyValue | None:
        versions = self._versions.get(key)
        if not versions:
            return None
        i = bisect.bisect_right(versions, revision, key=lambda v: v[0])
        return versions[i - 1][1] if i else None

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        self._check_revision(revision)
        if not revision:
            return self._live.get(key)
        return self._at(key, revision)

    async def list(
        self, prefix: str, *, revision: int = 0, start_key: str = "", limit: int = 0
    ) -> ListResult:
        self._check_revision(revision)
        lower = max(prefix, start_key)
        source = self._live if not revision else self._versions
        items: list[KeyValue] = []
        more = False
        for key in sorted(k for k in source if k >= lower and k.startswith(prefix)):
            kv = self._live.get(key) if not revision else self._at(key, revision)
            if kv is None:
                continue
            if limit and len(items) == limit:
                more = True
                break
            items.append(kv)
        return ListResult(items=items, revision=revision or self._revision, more=more)

    async def count(self, prefix: str) -> int:
        self._check_revision(0)
        return sum(1 for k in self._live if k.startswith(prefix))

    # ---- writes ------------------------------------------------------------

    def _commit(self, event: Event) -> KeyValue:
        key = event.kv.key
        self._revision = event.kv.mod_revision
        stored = event.kv if event.type == "PUT" else None
        if stored is None:
            del self._live[key]
        else:
            self._live[key] = stored
        self._versions.setdefault(key, []).append((self._revision, stored))
        self._events.append(event)
        self._hub.publish([event])
        return event.kv

    def _current(self, key: str, expected_mod_revision: int) -> KeyValue:
        current = self._live.get(key)
        if current is None:
            raise NotFoundError(key)
        if expected_mod_revision and current.mod_revision != expected_mod_revision:
            raise ConflictError(current)
        return current

    async def create(self, key: str, value: bytes) -> KeyValue:
        self._check_revision(0)
        if key in self._live:
            raise KeyExistsError(key)
        rev = self._revision + 1
        return self._commit(Event("PUT", KeyValue(key, bytes(value), rev, rev), None))

    async def update(self, key: str, value: bytes, *, expected_mod_revision: int) -> KeyValue:
        self._check_revision(0)
        prev = self._current(key, expected_mod_revision)
        kv = KeyValue(key, bytes(value), prev.create_revision, self._revision + 1)
        return self._commit(Event("PUT", kv, prev))

    async def delete(self, key: str, *, expected_mod_revision: int = 0) -> KeyValue:
        self._check_revision(0)
        prev = self._current(key, expected_mod_revision)
        kv = KeyValue(key, prev.value, prev.create_revision, self._revision + 1)
        return self._commit(Event("DELETE", kv, prev))

    # ---- watch and compaction ------------------------------------------------

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[list[Event]]:
        return self._watch(prefix, start_revision)

    async def _watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        self._check_revision(0)
        if start_revision and start_revision <= self._compacted:
            raise CompactedError(start_revision, self._compacted)
        if not start_revision:
            stream = self._hub.open(prefix, position=self._revision)
        else:
            stream = self._hub.open(prefix, position=start_revision - 1)
            i = bisect.bisect_left(self._events, start_revision, key=lambda e: e.kv.mod_revision)
            stream.push(self._events[i:], history=True)
        async for batch in iterate(self._hub, stream):
            yield batch

    async def compact(self, revision: int) -> None:
        self._check_revision(0)
        if revision > self._revision:
            raise FutureRevisionError(revision, self._revision)
        if revision <= self._compacted:
            return
        self._compacted = revision
        i = bisect.bisect_right(self._events, revision, key=lambda e: e.kv.mod_revision)
        del self._events[:i]
        for key in list(self._versions):
            versions = self._versions[key]
            j = bisect.bisect_right(versions, revision, key=lambda v: v[0])
            # keep the latest version at or below the target unless it is a deletion
            keep_from = j - 1 if j and versions[j - 1][1] is not None else j
            del versions[:keep_from]
            if not versions:
                del self._versions[key]
