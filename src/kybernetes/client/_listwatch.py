"""The informer's source seam: `ListerWatcher` (LIST pages + WATCH), real and fake.

`ClientListerWatcher` lists and watches one resource through a `Client`,
with a fixed namespace and selectors. `FakeListerWatcher` is one resource held
in memory with its own resourceVersion counter and event history, for testing
informers and the components built on them without a server: it pages lists,
replays history to watches from an older resourceVersion, answers 410 Expired
below its `floor`, sends bookmarks, and can cut or expire open watches.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any, Protocol

from kybernetes.api.errors import expired
from kybernetes.client._client import Client, Selector
from kybernetes.client._discovery import ResourceRef
from kybernetes.client._store import meta_namespace_key
from kybernetes.client._watch import ADDED, BOOKMARK, DELETED, MODIFIED, WatchEvent

Obj = dict[str, Any]


class ListerWatcher(Protocol):
    async def list(self, *, resource_version: str | None, limit: int,
                   continue_token: str | None) -> Obj:
        """One page of the list (`metadata.resourceVersion`, `metadata.continue`, `items`)."""
        ...

    def watch(self, *, resource_version: str, timeout_seconds: int,
              allow_bookmarks: bool) -> AsyncIterator[WatchEvent]:
        """Events after `resource_version`; ends when the stream ends; raises
        `StatusError` for an ERROR event (410: too old)."""
        ...


class ClientListerWatcher:
    """List and watch `resource` through `client` (one namespace or all, selectors)."""

    def __init__(self, client: Client, resource: ResourceRef, *, namespace: str | None = None,
                 label_selector: Selector = None, field_selector: Selector = None) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector

    async def list(self, *, resource_version: str | None, limit: int,
                   continue_token: str | None) -> Obj:
        return await self.client.list(
            self.resource, namespace=self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector, limit=limit, continue_token=continue_token,
            resource_version=resource_version)

    def watch(self, *, resource_version: str, timeout_seconds: int,
              allow_bookmarks: bool) -> AsyncIterator[WatchEvent]:
        return self.client.watch(
            self.resource, namespace=self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector, resource_version=resource_version,
            allow_bookmarks=allow_bookmarks, timeout_seconds=timeout_seconds)


_CLOSE = object()


class FakeListerWatcher:
    """One resource in memory, with resourceVersions and a watch history. See module doc."""

    def __init__(self, objects: list[Obj] | None = None, *, kind: str = "ConfigMap",
                 api_version: str = "v1") -> None:
        self.kind = kind
        self.api_version = api_version
        self.revision = 0
        self.floor = 0  # watches from a resourceVersion below this get 410 Expired
        self.objects: dict[str, Obj] = {}
        self.history: list[tuple[int, WatchEvent]] = []
        self._watchers: list[tuple[asyncio.Queue[Any], bool]] = []
        self.list_calls: list[dict[str, Any]] = []
        self.watch_calls: list[dict[str, Any]] = []
        # Errors to raise from the next list calls / watch calls, in order.
        self.list_errors: list[BaseException] = []
        self.watch_errors: list[BaseException] = []
        for obj in objects or ():
            self.add(obj)

    # --- the "server" side, for tests --------------------------------------------------------

    def _record(self, type_: str, obj: Obj) -> Obj:
        self.revision += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", self.api_version)
        obj.setdefault("kind", self.kind)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.revision)
        ev = WatchEvent(type_, obj)
        self.history.append((self.revision, ev))
        for queue, _ in self._watchers:
            queue.put_nowait(ev)
        return obj

    def add(self, obj: Obj) -> Obj:
        stored = self._record(ADDED, obj)
        self.objects[meta_namespace_key(stored)] = stored
        return stored

    def modify(self, obj: Obj) -> Obj:
        stored = self._record(MODIFIED, obj)
        self.objects[meta_namespace_key(stored)] = stored
        return stored

    def delete(self, key: str) -> Obj:
        obj = self.objects.pop(key)
        return self._record(DELETED, obj)

    def delete_silently(self, key: str) -> None:
        """Remove an object without any event (it was deleted while nobody watched)."""
        del self.objects[key]
        self.revision += 1

    def bookmark(self) -> None:
        ev = WatchEvent(BOOKMARK, {"kind": self.kind, "apiVersion": self.api_version,
                                   "metadata": {"resourceVersion": str(self.revision)}})
        for queue, wants in self._watchers:
            if wants:
                queue.put_nowait(ev)

    def close_watches(self) -> None:
        """End every open watch stream (as a server timeout or restart does)."""
        for queue, _ in self._watchers:
            queue.put_nowait(_CLOSE)

    def expire(self) -> None:
        """Forget history: open watches fail with 410 Expired, and so does any new
        watch from an earlier resourceVersion (a compaction or a server restart)."""
        self.floor = self.revision
        self.history.clear()
        for queue, _ in self._watchers:
            queue.put_nowait(expired(f"too old resource version ({self.floor})"))

    @property
    def open_watches(self) -> int:
        return len(self._watchers)

    # --- the ListerWatcher side ------------------------------------------------------------

    async def list(self, *, resource_version: str | None, limit: int,
                   continue_token: str | None) -> Obj:
        self.list_calls.append({"resource_version": resource_version, "limit": limit,
                                "continue": continue_token})
        if self.list_errors:
            raise self.list_errors.pop(0)
        keys = sorted(self.objects)
        start = int(continue_token.split(":")[1]) if continue_token else 0
        revision = int(continue_token.split(":")[0]) if continue_token else self.revision
        page = keys[start:start + limit] if limit else keys[start:]
        meta: Obj = {"resourceVersion": str(revision)}
        if limit and start + limit < len(keys):
            meta["continue"] = f"{revision}:{start + limit}"
        return {"kind": self.kind + "List", "apiVersion": self.api_version, "metadata": meta,
                "items": [copy.deepcopy(self.objects[k]) for k in page]}

    def watch(self, *, resource_version: str, timeout_seconds: int,
              allow_bookmarks: bool) -> AsyncIterator[WatchEvent]:
        self.watch_calls.append({"resource_version": resource_version,
                                 "timeout_seconds": timeout_seconds,
                                 "allow_bookmarks": allow_bookmarks})
        if self.watch_errors:
            error = self.watch_errors.pop(0)
            return _raising(error)
        start = int(resource_version or 0)
        if start < self.floor:
            return _raising(expired(f"too old resource version: {start} ({self.floor})"))
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for rev, ev in self.history:
            if rev > start:
                queue.put_nowait(ev)
        entry = (queue, allow_bookmarks)
        self._watchers.append(entry)
        return self._stream(queue, entry)

    async def _stream(self, queue: asyncio.Queue[Any], entry: Any) -> AsyncIterator[WatchEvent]:
        try:
            while True:
                item = await queue.get()
                if item is _CLOSE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield WatchEvent(item.type, copy.deepcopy(item.object))
        finally:
            self._watchers.remove(entry)


async def _raising(error: BaseException) -> AsyncIterator[WatchEvent]:
    raise error
    yield  # pragma: no cover  (makes this an async generator)
