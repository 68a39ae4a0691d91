"""The shape every controller has: handlers enqueue keys, workers reconcile them.

`ControllerContext` is what the manager hands each controller: one client, one
shared informer factory (so two controllers watching pods share one watch),
an event recorder per controller and the clock. `ReconcileController` is the
loop of client-go's controllers: `reconcile(key)` reads the informer caches,
computes and writes; an exception re-queues the key with rate-limited
back-off; success forgets it. Keys are `namespace/name` (or `name`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kybernetes.client import (
    Client,
    Clock,
    EventRecorder,
    LoopClock,
    SharedInformerFactory,
    ShutDown,
    WorkQueue,
    is_conflict,
    is_not_found,
    meta_namespace_key,
)

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers")


@dataclass
class ControllerContext:
    """Shared by all controllers of one manager."""

    client: Client
    informers: SharedInformerFactory
    clock: Clock = field(default_factory=LoopClock)
    host: str = ""
    # Settings a controller may read (e.g. "cluster_cidr", "node_monitor_grace_period").
    options: dict[str, Any] = field(default_factory=dict)
    _recorders: dict[str, EventRecorder] = field(default_factory=dict)

    def recorder(self, component: str) -> EventRecorder:
        rec = self._recorders.get(component)
        if rec is None:
            rec = EventRecorder(self.client, component, self.host)
            self._recorders[component] = rec
        return rec

    async def close(self) -> None:
        for rec in self._recorders.values():
            await rec.close()


class ReconcileController:
    """Base class: subclasses set `name`, register informers/handlers in `__init__`
    (handlers call `self.enqueue(obj)` or `self.queue.add(key)`) and implement
    `reconcile(key)`. `run(workers)` blocks until cancelled."""

    name = "controller"
    workers = 2

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.queue: WorkQueue[str] = WorkQueue(name=self.name, clock=ctx.clock)
        self.recorder = ctx.recorder(f"{self.name}-controller")

    # --- handlers -------------------------------------------------------------------

    def enqueue(self, obj: Obj) -> None:
        self.queue.add(meta_namespace_key(obj))

    def enqueue_after(self, obj: Obj, seconds: float) -> None:
        self.queue.add_after(meta_namespace_key(obj), seconds)

    def handlers(self, key_of: Callable[[Obj], str | None] | None = None
                 ) -> dict[str, Callable[..., None]]:
        """on_add/on_update/on_delete handlers that enqueue `key_of(obj)` (default: the
        object's own key); tombstones are unwrapped."""
        from kybernetes.client import object_of

        def add(obj: Any) -> None:
            o = object_of(obj)
            key = key_of(o) if key_of is not None else meta_namespace_key(o)
            if key:
                self.queue.add(key)

        return {"on_add": add, "on_update": lambda old, new: add(new), "on_delete": add}

    # --- the loop -------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        raise NotImplementedError

    async def run(self, workers: int | None = None) -> None:
        n = workers or self.workers
        try:
            await asyncio.gather(*(self._worker() for _ in range(n)))
        finally:
            self.queue.shutdown()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.reconcile(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if is_not_found(err) or is_conflict(err):
                    log.debug("%s: %s: %s; retrying", self.name, key, err)
                else:
                    log.warning("%s: reconcile %s failed: %s", self.name, key, err,
                                exc_info=not hasattr(err, "code"))
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)
