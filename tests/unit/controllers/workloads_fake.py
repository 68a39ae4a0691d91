"""An in-memory API for driving the workload controllers on virtual time.

`FakeAPI` stands in for the `Client` (create/get/list/update/patch/delete of
the few shapes the controllers send) and `FakeInformers` for the shared
informer factory: every write lands in the informer's store at once and calls
its handlers, like a watch with no delay. Time is a `FakeClock`; creation and
deletion timestamps come from its wall clock.

Only what the controllers under test need is here: merge patches of maps, the
strategic `$deleteFromPrimitiveList/finalizers` directive and
`ownerReferences`; a delete of an object with finalizers sets its
deletionTimestamp. It is a fake for unit tests of the controllers' decisions;
the integration tests run them against the real server.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Callable, Coroutine
from typing import Any

from kybernetes.api.errors import already_exists, conflict, not_found
from kybernetes.client import FakeClock, Indexer, meta_namespace_key
from kybernetes.controllers.base import ControllerContext

Obj = dict[str, Any]
TIMEOUT = 20.0


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(guarded())


def _plural(resource: Any) -> str:
    if isinstance(resource, tuple):
        return resource[1].lower() + ("s" if not resource[1].endswith("s") else "")
    return str(resource.plural)


class FakeInformer:
    def __init__(self) -> None:
        self.store = Indexer()
        self.handlers: list[dict[str, Callable[..., None] | None]] = []

    def add_event_handler(self, handler: Any = None, *, on_add: Any = None,
                          on_update: Any = None, on_delete: Any = None) -> None:
        self.handlers.append({"on_add": on_add, "on_update": on_update, "on_delete": on_delete})

    def add_indexers(self, indexers: dict[str, Any]) -> None:
        for name, func in indexers.items():
            self.store.add_index(name, func)

    def dispatch(self, method: str, *args: Any) -> None:
        for handler in self.handlers:
            fn = handler.get(method)
            if fn is not None:
                fn(*args)


class FakeInformers:
    def __init__(self) -> None:
        self.by_plural: dict[str, FakeInformer] = {}

    def informer(self, resource: Any, *, indexers: dict[str, Any] | None = None,
                 **_: Any) -> FakeInformer:
        inf = self.by_plural.setdefault(_plural(resource), FakeInformer())
        if indexers:
            for name, func in indexers.items():
                try:
                    inf.store.add_index(name, func)
                except ValueError:
                    pass
        return inf


class FakeAPI:
    def __init__(self, clock: FakeClock, informers: FakeInformers) -> None:
        self.clock = clock
        self.informers = informers
        self._rv = itertools.count(1)
        self._ids = itertools.count(1)
        self.writes: list[tuple[str, str, str]] = []  # (verb, plural, name)

    # --- plumbing ------------------------------------------------------------------------

    def _store(self, resource: Any) -> FakeInformer:
        return self.informers.informer(resource)

    def _stamp(self) -> str:
        return self.clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _put(self, plural: str, obj: Obj) -> Obj:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        inf = self.informers.by_plural.setdefault(plural, FakeInformer())
        old = inf.store.put(copy.deepcopy(obj))
        stored = inf.store.get_object(obj)
        if old is None:
            inf.dispatch("on_add", stored)
        else:
            inf.dispatch("on_update", old, stored)
        return copy.deepcopy(obj)

    def _remove(self, plural: str, obj: Obj) -> None:
        inf = self.informers.by_plural[plural]
        old = inf.store.delete(meta_namespace_key(obj))
        if old is not None:
            inf.dispatch("on_delete", old)

    def _find(self, resource: Any, name: str, namespace: str | None) -> Obj:
        key = f"{namespace}/{name}" if namespace else name
        obj = self._store(resource).store.get(key)
        if obj is None:
            raise not_found(_plural(resource), name)
        return copy.deepcopy(obj)

    # --- the client's verbs -------------------------------------------------------------

    async def create(self, resource: Any, obj: Obj, *, namespace: str | None = None,
                     **_: Any) -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        if not meta.get("name"):
            meta["name"] = f"{meta.get('generateName', 'x-')}{next(self._ids):05d}"
        plural = _plural(resource)
        if plural == "events":
            return obj
        key = meta_namespace_key(obj)
        if self._store(resource).store.get(key) is not None:
            raise already_exists(plural, meta["name"])
        meta["uid"] = f"uid-{meta['name']}"
        meta["creationTimestamp"] = self._stamp()
        meta.setdefault("generation", 1)
        if plural == "pods":
            obj.setdefault("status", {"phase": "Pending"})
        self.writes.append(("create", plural, meta["name"]))
        return self._put(plural, obj)

    async def get(self, resource: Any, name: str, *, namespace: str | None = None,
                  **_: Any) -> Obj:
        return self._find(resource, name, namespace)

    async def list(self, resource: Any, *, namespace: str | None = None, **_: Any) -> Obj:
        items = self._store(resource).store.list()
        if namespace:
            items = [o for o in items if o["metadata"].get("namespace") == namespace]
        return {"items": copy.deepcopy(items)}

    async def update(self, resource: Any, obj: Obj, *, namespace: str | None = None,
                     subresource: str = "", **_: Any) -> Obj:
        name = obj["metadata"]["name"]
        current = self._find(resource, name, namespace or obj["metadata"].get("namespace"))
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise conflict(_plural(resource), name, "the object has been modified")
        if subresource == "status":
            current["status"] = copy.deepcopy(obj.get("status") or {})
        else:
            new = copy.deepcopy(obj)
            new["metadata"]["uid"] = current["metadata"]["uid"]
            new["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"]
            new["status"] = current.get("status", {})
            if new.get("spec") != current.get("spec"):
                new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            current = new
        self.writes.append(("update" + (f"/{subresource}" if subresource else ""),
                            _plural(resource), name))
        return self._put(_plural(resource), current)

    async def patch(self, resource: Any, name: str, patch: Obj, *,
                    namespace: str | None = None, **_: Any) -> Obj:
        current = self._find(resource, name, namespace)
        _merge(current, patch)
        self.writes.append(("patch", _plural(resource), name))
        plural = _plural(resource)
        meta = current["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._remove(plural, current)
            return current
        return self._put(plural, current)

    async def delete(self, resource: Any, name: str, *, namespace: str | None = None,
                     preconditions: dict[str, str] | None = None, **_: Any) -> Obj:
        current = self._find(resource, name, namespace)
        if preconditions and preconditions.get("uid") not in (None, current["metadata"]["uid"]):
            raise conflict(_plural(resource), name, "precondition failed: uid")
        self.writes.append(("delete", _plural(resource), name))
        if current["metadata"].get("finalizers"):
            current["metadata"].setdefault("deletionTimestamp", self._stamp())
            return self._put(_plural(resource), current)
        self._remove(_plural(resource), current)
        return current

    # --- test hooks ----------------------------------------------------------------------

    async def set_pod_phase(self, namespace: str, name: str, phase: str, *,
                            ready: bool = False, exit_code: int | None = None) -> Obj:
        pod = self._find(("v1", "Pod"), name, namespace)
        now = self._stamp()
        status: Obj = {"phase": phase, "conditions": [
            {"type": "Ready", "status": "True" if ready else "False",
             "lastTransitionTime": now}]}
        if exit_code is not None:
            status["containerStatuses"] = [{"name": "main", "state": {"terminated": {
                "exitCode": exit_code, "finishedAt": now}}}]
        pod["status"] = status
        return await self.update(("v1", "Pod"), pod, subresource="status")

    def objects(self, plural: str, namespace: str = "ns") -> list[Obj]:
        """Copies of the stored objects (safe to change)."""
        inf = self.informers.by_plural.get(plural)
        return [] if inf is None else copy.deepcopy(inf.store.list_namespace(namespace))


def _merge(target: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if key == "$deleteFromPrimitiveList/finalizers":
            target["finalizers"] = [f for f in target.get("finalizers") or ()
                                    if f not in value]
        elif key == "ownerReferences":
            refs = [r for r in target.get("ownerReferences") or ()
                    if r.get("uid") not in {v.get("uid") for v in value}]
            target["ownerReferences"] = refs + [v for v in value if v.get("$patch") != "delete"]
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(value)


def make_context(clock: FakeClock, *, options: Obj | None = None
                 ) -> tuple[ControllerContext, FakeAPI]:
    informers = FakeInformers()
    api = FakeAPI(clock, informers)
    ctx = ControllerContext(client=api, informers=informers, clock=clock,  # type: ignore[arg-type]
                            options=options or {})
    return ctx, api


async def drain(controller: Any) -> list[str]:
    """Reconcile every key that is ready in the controller's queue (not the delayed
    ones), until none is left; returns the keys in order."""
    done = []
    while len(controller.queue):
        key = await controller.queue.get()
        try:
            await controller.reconcile(key)
            controller.queue.forget(key)
        finally:
            controller.queue.done(key)
        done.append(key)
    return done
