"""Watch streams: one JSON event per line in, `WatchEvent(type, object)` out.

Contract of `WatchStream` (client-go's StreamWatcher, for asyncio):

- iterate it (`async for type_, obj in stream`); the request is sent on the
  first iteration (or on `async with`);
- the iteration ends (StopAsyncIteration) when the server ends the stream,
  normally at its `timeoutSeconds`, and also when the connection is cut
  mid-stream: both mean "watch again from the last resourceVersion you saw";
- an `ERROR` event raises `StatusError` built from its Status (410 Expired:
  the resourceVersion is too old, `is_gone(err)` is true: list again);
- BOOKMARK events are yielded too (only sent when asked for): their object
  carries just `metadata.resourceVersion`;
- `aclose()` (or leaving `async with`) drops the connection at any point.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple

import orjson

from kybernetes.client._errors import TransportError, status_error
from kybernetes.client._transport import HttpResponse

log = logging.getLogger("kybernetes.client.watch")

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"


class WatchEvent(NamedTuple):
    type: str
    object: dict[str, Any]


async def split_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Re-frame a byte stream as lines, whatever the chunking (events may be megabytes)."""
    pending = b""
    async for chunk in chunks:
        if b"\n" not in chunk:
            pending += chunk
            continue
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


class WatchStream:
    """An async iterator of `WatchEvent` over one watch request. See the module doc."""

    def __init__(self, open_: Callable[[], Awaitable[HttpResponse]]) -> None:
        self._open = open_
        self._resp: HttpResponse | None = None
        self._lines: AsyncIterator[bytes] | None = None
        self._closed = False

    async def _ensure_open(self) -> AsyncIterator[bytes]:
        if self._lines is None:
            self._resp = await self._open()
            self._lines = split_lines(self._resp.chunks())
        return self._lines

    async def __aenter__(self) -> WatchStream:
        await self._ensure_open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._closed:
            raise StopAsyncIteration
        try:
            lines = await self._ensure_open()
        except BaseException:
            await self.aclose()
            raise
        try:
            line = await anext(lines)
        except StopAsyncIteration:
            await self.aclose()
            raise
        except TransportError as exc:
            log.debug("watch stream cut: %s", exc)
            await self.aclose()
            raise StopAsyncIteration from None
        except BaseException:
            await self.aclose()
            raise
        try:
            doc = orjson.loads(line)
            type_, obj = doc["type"], doc["object"]
            if not isinstance(type_, str) or not isinstance(obj, dict):
                raise TypeError("event type or object has the wrong type")
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            # client-go ends the watch on an undecodable event; the caller re-watches.
            log.error("ending a watch on an undecodable event (%s): %.200r", exc, line)
            await self.aclose()
            raise StopAsyncIteration from None
        if type_ == ERROR:
            await self.aclose()
            raise status_error(obj)
        return WatchEvent(type_, obj)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Drop the connection first: a task blocked reading the stream (closed
        # from another task) then sees the stream end.
        if self._resp is not None:
            self._resp.release()
        if self._lines is not None:
            try:
                await self._lines.aclose()  # type: ignore[attr-defined]
            except RuntimeError:
                pass  # being iterated by another task, which now sees the end
