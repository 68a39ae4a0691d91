"""An in-memory stand-in for `kybernetes.client.Client`, for controller unit tests.

Holds objects by (resource, namespace, name), records every write as
`(verb, resource, name, detail)` in `calls`, bumps resourceVersions, applies merge
patches. Controllers under test get it in their `ControllerContext` together with a
`FakeClock`; their informers are never started: tests put objects into the informer
stores and call `reconcile` themselves.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from kybernetes.api.errors import StatusError, conflict, not_found
from kybernetes.api.patch import apply_merge_patch
from kybernetes.client import FakeClock, Informer, SharedInformerFactory
from kybernetes.controllers.base import ControllerContext

Obj = dict[str, Any]


def _plural(ref: Any) -> str:
    return ref.plural if hasattr(ref, "plural") else str(ref[1]).lower()


class FakeApi:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.calls: list[tuple[str, str, str, Any]] = []
        self.deleted: dict[tuple[str, str, str], Obj] = {}  # last state of deleted objects
        self._rv = 100

    def _key(self, ref: Any, name: str, namespace: str | None) -> tuple[str, str, str]:
        return _plural(ref), namespace or "", name

    def put(self, ref: Any, obj: Obj) -> Obj:
        """Store `obj` as the server's current state (returns a copy with a new RV)."""
        self._rv += 1
        stored = copy.deepcopy(obj)
        stored.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        meta = stored["metadata"]
        self.objects[self._key(ref, meta["name"], meta.get("namespace"))] = stored
        return copy.deepcopy(stored)

    def writes(self, verb: str | None = None) -> list[tuple[str, str, str, Any]]:
        return [c for c in self.calls if c[1] != "events" and (verb is None or c[0] == verb)]

    def events(self) -> list[tuple[str, str]]:
        return [(c[3]["reason"], c[3]["message"]) for c in self.calls if c[1] == "events"]

    # --- the Client surface controllers use ----------------------------------------------

    async def get(self, ref: Any, name: str, *, namespace: str | None = None,
                  subresource: str = "", **_: Any) -> Obj:
        obj = self.objects.get(self._key(ref, name, namespace))
        if obj is None:
            raise not_found(_plural(ref), name)
        return copy.deepcopy(obj)

    async def update(self, ref: Any, obj: Obj, *, namespace: str | None = None,
                     subresource: str = "", **_: Any) -> Obj:
        meta = obj["metadata"]
        key = self._key(ref, meta["name"], namespace or meta.get("namespace"))
        current = self.objects.get(key)
        if current is None:
            raise not_found(_plural(ref), meta["name"])
        if meta.get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
            raise conflict(_plural(ref), meta["name"], "the object has been modified")
        self.calls.append(("update", _plural(ref), meta["name"], subresource))
        return self.put(ref, obj)

    async def patch(self, ref: Any, name: str, patch: Any, *, namespace: str | None = None,
                    **_: Any) -> Obj:
        current = await self.get(ref, name, namespace=namespace)
        rv = ((patch.get("metadata") or {}) if isinstance(patch, dict) else {}).get(
            "resourceVersion")
        if rv is not None and rv != current["metadata"]["resourceVersion"]:
            raise conflict(_plural(ref), name, "the object has been modified")
        self.calls.append(("patch", _plural(ref), name, patch))
        return self.put(ref, apply_merge_patch(current, patch))

    async def delete(self, ref: Any, name: str, *, namespace: str | None = None,
                     preconditions: Obj | None = None, **_: Any) -> Obj:
        key = self._key(ref, name, namespace)
        current = self.objects.get(key)
        if current is None:
            raise not_found(_plural(ref), name)
        uid = (preconditions or {}).get("uid")
        if uid is not None and uid != current["metadata"].get("uid"):
            raise conflict(_plural(ref), name, "Precondition failed")
        self.calls.append(("delete", _plural(ref), name, preconditions))
        self.deleted[key] = self.objects.pop(key)
        return self.deleted[key]

    async def create(self, ref: Any, obj: Obj, *, namespace: str | None = None,
                     **_: Any) -> Obj:
        self.calls.append(("create", _plural(ref), obj["metadata"].get("name", ""), obj))
        return copy.deepcopy(obj)

    async def resolve(self, ref: Any) -> Any:
        raise StatusError(404, "NotFound", "no discovery in the fake")


def context(api: FakeApi, **options: Any) -> ControllerContext:
    return ControllerContext(client=api,  # type: ignore[arg-type]
                             informers=SharedInformerFactory(api, clock=api.clock),  # type: ignore[arg-type]
                             clock=api.clock, options=options)


def fill(informer: Informer, objects: Iterable[Obj]) -> None:
    for obj in objects:
        informer.store.put(copy.deepcopy(obj))
