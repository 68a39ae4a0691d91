"""Watch fan-out shared by the backends: one `WatchHub`, one bounded `WatchStream` per watcher.

The backend publishes committed events to the hub in revision order. Each stream
keeps its own position (the last revision it accepted), so an event offered twice
(e.g. once from history and once live) is delivered once. A stream holds at most
`max_pending_events` undelivered events; past that it is failed with
`WatchOverflowError` rather than slowing the writer or the other watchers (kine
drops a blocking subscriber the same way). History replayed at watch start is not
counted against the bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable

from kybernetes.storage.errors import StorageError, WatchOverflowError
from kybernetes.storage.interface import Event

DEFAULT_MAX_PENDING_EVENTS = 10_000


class WatchStream:
    """The queue between the hub and one consumer."""

    def __init__(self, prefix: str, *, position: int, max_pending_events: int) -> None:
        self.prefix = prefix
        self.position = position
        self._max = max_pending_events
        self._batches: deque[list[Event]] = deque()
        self._pending = 0
        self._error: StorageError | None = None
        self._closed = False
        self._wakeup = asyncio.Event()

    def push(self, events: Iterable[Event], *, history: bool = False) -> None:
        """Queue the events under our prefix that are newer than our position."""
        if self._closed or self._error is not None:
            return
        prefix, position = self.prefix, self.position
        fresh = [e for e in events if e.kv.mod_revision > position and e.kv.key.startswith(prefix)]
        if not fresh:
            return
        if not history and self._pending + len(fresh) > self._max:
            msg = f"watch on {prefix!r} fell more than {self._max} events behind"
            self.fail(WatchOverflowError(msg))
            return
        self._batches.append(fresh)
        self._pending += len(fresh)
        self.position = fresh[-1].kv.mod_revision
        self._wakeup.set()

    def fail(self, error: StorageError) -> None:
        """End the stream with `error` at once, dropping what is queued."""
        if self._error is None and not self._closed:
            self._error = error
            self._batches.clear()
            self._pending = 0
            self._wakeup.set()

    def close(self) -> None:
        """End the stream cleanly after the queued events."""
        self._closed = True
        self._wakeup.set()

    async def next_batch(self) -> list[Event] | None:
        """All queued events as one batch; None when the stream ended cleanly."""
        while not self._batches:
            if self._error is not None:
                raise self._error
            if self._closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        if len(self._batches) == 1:
            batch = self._batches.popleft()
        else:
            batch = [e for b in self._batches for e in b]
            self._batches.clear()
        self._pending = 0
        return batch


class WatchHub:
    """The set of open streams of one store."""

    def __init__(self, *, max_pending_events: int = DEFAULT_MAX_PENDING_EVENTS) -> None:
        self._streams: set[WatchStream] = set()
        self._max = max_pending_events

    def __len__(self) -> int:
        return len(self._streams)

    def open(self, prefix: str, *, position: int) -> WatchStream:
        stream = WatchStream(prefix, position=position, max_pending_events=self._max)
        self._streams.add(stream)
        return stream

    def remove(self, stream: WatchStream) -> None:
        self._streams.discard(stream)

    def publish(self, events: list[Event]) -> None:
        """Offer committed events (in revision order) to every stream."""
        if events:
            for stream in list(self._streams):
                stream.push(events)

    def fail_all(self, error: StorageError) -> None:
        for stream in list(self._streams):
            stream.fail(error)
        self._streams.clear()

    def close_all(self) -> None:
        for stream in list(self._streams):
            stream.close()
        self._streams.clear()


async def iterate(hub: WatchHub, stream: WatchStream) -> AsyncIterator[list[Event]]:
    """Yield the stream's batches; unregister when the consumer stops iterating."""
    try:
        while True:
            batch = await stream.next_batch()
            if batch is None:
                return
            yield batch
    finally:
        hub.remove(stream)
