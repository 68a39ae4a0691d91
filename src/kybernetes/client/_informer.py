"""`Informer`: keep a local cache of one resource in step with the server, and tell handlers.

client-go's Reflector + DeltaFIFO + sharedIndexInformer, for one asyncio loop:

    LIST (pages of `page_size`) ──replace──▶ store ──▶ on_add / on_update / on_delete
      │ resourceVersion R                      ▲
      ▼                                        │
    WATCH from R, allowWatchBookmarks ──apply──┘   every event moves R forward

State rules (the reflector's):

| what happens                               | next step                                   |
|--------------------------------------------|---------------------------------------------|
| list succeeds                              | replace the store; synced; watch from its RV |
| watch stream ends (timeout, cut)           | watch again from the last RV seen            |
| ERROR 410 Expired/Gone                     | back off, then list again (the RV is too old) |
| watch cannot start: no connection, 429, 5xx| back off, watch again from the same RV       |
| any other failure (list or watch)          | back off, then list again                    |

Back-off doubles from `backoff_initial` to `backoff_max` and resets once
events flow again. A re-list compares with the store: new keys are adds,
changed resourceVersions updates, and keys that vanished are deletes carrying
a `DeletedFinalStateUnknown` tombstone (the final state was never seen).

Handlers are plain functions called inline, in order, by the informer's task:
they must not block (a controller's handler only enqueues a key). A handler
that raises is logged and does not stop the informer or the other handlers.
A handler added after the first sync first receives on_add for every object
already in the store. Every `resync_period` seconds, each handler gets
on_update(obj, obj) for every stored object (a level-triggered nudge).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kybernetes.api.errors import StatusError
from kybernetes.client._clock import REAL_CLOCK, Clock
from kybernetes.client._errors import ClientError, TransportError, is_gone
from kybernetes.client._listwatch import ListerWatcher
from kybernetes.client._ratelimit import Backoff
from kybernetes.client._store import (
    DeletedFinalStateUnknown,
    Indexer,
    IndexFunc,
    meta_namespace_key,
)
from kybernetes.client._watch import ADDED, BOOKMARK, DELETED, MODIFIED, WatchEvent

log = logging.getLogger("kybernetes.client.informer")

Obj = dict[str, Any]


class ResourceEventHandler(Protocol):
    def on_add(self, obj: Obj) -> None: ...

    def on_update(self, old: Obj, new: Obj) -> None: ...

    def on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None: ...


@dataclass(frozen=True, kw_only=True)
class EventHandlerFuncs:
    """A handler from up to three functions (client-go's ResourceEventHandlerFuncs)."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj | DeletedFinalStateUnknown], None] | None = None


Handler = ResourceEventHandler | EventHandlerFuncs


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Informer:
    """One resource's list+watch loop, its `store` (an `Indexer`) and its handlers.

    `start()` runs it as a task of the running loop; `stop()` ends it. Time
    (back-off, resync) comes from `clock`.
    """

    def __init__(self, lister_watcher: ListerWatcher, *, resync_period: float = 0.0,
                 indexers: dict[str, IndexFunc] | None = None, page_size: int = 500,
                 watch_timeout_seconds: int = 300, backoff_initial: float = 0.8,
                 backoff_max: float = 30.0, clock: Clock | None = None, name: str = "") -> None:
        self.lister_watcher = lister_watcher
        self.store = Indexer(indexers)
        self.resync_period = resync_period
        self.page_size = page_size
        self.watch_timeout_seconds = watch_timeout_seconds
        self.clock: Clock = clock or REAL_CLOCK
        self.name = name or type(lister_watcher).__name__
        self._backoff = Backoff(initial=backoff_initial, cap=backoff_max, jitter=0.5)
        self._handlers: list[Handler] = []
        self._synced = asyncio.Event()
        self._rv = ""
        self._tasks: list[asyncio.Task[None]] = []
        self.list_count = 0  # completed LISTs (1 + re-lists), for observability and tests

    # --- public --------------------------------------------------------------------------

    @property
    def last_sync_resource_version(self) -> str:
        """The resourceVersion the informer is up to date with ("" before the first list)."""
        return self._rv

    def has_synced(self) -> bool:
        """True once the first LIST is in the store and handlers have seen it."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait (real time) until synced; False if `timeout` seconds pass first."""
        if self._synced.is_set():
            return True
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def add_event_handler(self, handler: Handler | None = None, *,
                          on_add: Callable[[Obj], None] | None = None,
                          on_update: Callable[[Obj, Obj], None] | None = None,
                          on_delete: Callable[[Obj | DeletedFinalStateUnknown], None] | None
                          = None) -> Handler:
        """Register a handler object, or functions. Returns the registered handler."""
        if handler is None:
            handler = EventHandlerFuncs(on_add=on_add, on_update=on_update, on_delete=on_delete)
        elif on_add or on_update or on_delete:
            raise TypeError("pass a handler or functions, not both")
        self._handlers.append(handler)
        if self.has_synced():
            for obj in self.store.list():
                self._call(handler, "on_add", obj)
        return handler

    def remove_event_handler(self, handler: Handler) -> None:
        self._handlers.remove(handler)

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        for name, func in indexers.items():
            self.store.add_index(name, func)

    def start(self) -> None:
        """Start the list/watch (and resync) tasks on the running loop; idempotent."""
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._run(), name=f"informer {self.name}"))
        if self.resync_period > 0:
            self._tasks.append(asyncio.create_task(self._resync_loop(),
                                                   name=f"informer {self.name} resync"))

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass

    # --- dispatch ------------------------------------------------------------------------

    def _call(self, handler: Handler, method: str, *args: Any) -> None:
        fn = getattr(handler, method, None)
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            log.exception("informer %s: %s handler failed", self.name, method)

    def _dispatch(self, method: str, *args: Any) -> None:
        for handler in list(self._handlers):
            self._call(handler, method, *args)

    # --- the reflector -------------------------------------------------------------------

    async def _run(self) -> None:
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                if await self._watch():
                    self._backoff.reset()
                    continue  # the stream ended after events flowed: watch again at once
            except asyncio.CancelledError:
                raise
            except StatusError as err:
                if is_gone(err):
                    log.info("informer %s: watch from %s expired (%s); listing again",
                             self.name, self._rv, err.message)
                    need_list = True
                elif err.code == 429 or err.code >= 500:
                    log.warning("informer %s: %s; retrying", self.name, err)
                else:
                    log.warning("informer %s: %s; listing again", self.name, err)
                    need_list = True
            except TransportError as err:
                log.warning("informer %s: %s; retrying", self.name, err)
            except ClientError as err:  # e.g. NoMatchError: a CRD not created yet
                log.warning("informer %s: %s; listing again", self.name, err)
                need_list = True
            except Exception:
                log.exception("informer %s: list/watch failed; listing again", self.name)
                need_list = True
            await self.clock.sleep(self._backoff.next())

    async def _list(self) -> None:
        items: list[Obj] = []
        token: str | None = None
        revision = ""
        while True:
            page = await self.lister_watcher.list(resource_version=None, limit=self.page_size,
                                                  continue_token=token)
            meta = page.get("metadata") or {}
            if token is None:
                revision = str(meta.get("resourceVersion") or "")
            items.extend(page.get("items") or ())
            token = meta.get("continue") or None
            if not token:
                break
        self._replace(items, revision)
        self.list_count += 1
        self._backoff.reset()

    def _replace(self, items: list[Obj], revision: str) -> None:
        fresh: dict[str, Obj] = {}
        for obj in items:
            fresh[meta_namespace_key(obj)] = obj
        gone = [k for k in self.store.keys() if k not in fresh]
        for obj in fresh.values():
            old = self.store.put(obj)
            if old is None:
                self._dispatch("on_add", obj)
            elif _rv(old) != _rv(obj):
                self._dispatch("on_update", old, obj)
        for key in gone:
            old = self.store.delete(key)
            if old is not None:
                self._dispatch("on_delete", DeletedFinalStateUnknown(key, old))
        self._rv = revision
        self._synced.set()

    async def _watch(self) -> bool:
        """One watch from the current RV until the stream ends; True if events came."""
        # Spread reconnects over time as client-go does: timeout in [t, 2t).
        timeout = int(self.watch_timeout_seconds * (1 + random.random()))
        stream = self.lister_watcher.watch(resource_version=self._rv, timeout_seconds=timeout,
                                           allow_bookmarks=True)
        got_events = False
        try:
            async for event in stream:
                got_events = True
                self._apply(event)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        return got_events

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object
        rv = _rv(obj)
        if event.type in (ADDED, MODIFIED):
            old = self.store.put(obj)
            if old is None:
                self._dispatch("on_add", obj)
            else:
                self._dispatch("on_update", old, obj)
        elif event.type == DELETED:
            self.store.delete(meta_namespace_key(obj))
            self._dispatch("on_delete", obj)
        elif event.type != BOOKMARK:
            log.warning("informer %s: ignoring a %s event", self.name, event.type)
            return
        if rv:
            self._rv = rv

    async def _resync_loop(self) -> None:
        while True:
            await self.clock.sleep(self.resync_period)
            if self.has_synced():
                for obj in self.store.list():
                    self._dispatch("on_update", obj, obj)
