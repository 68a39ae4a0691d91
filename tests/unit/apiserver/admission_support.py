"""Builders for admission plug-in tests: requests, and a watch cache holding given objects."""

from __future__ import annotations

import copy
from typing import Any

from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.watchcache import CachedObject, ResourceCache

Obj = dict[str, Any]


class FakeCache:
    """What admission plug-ins read of a `WatchCache`: `caches` and `sync()`."""

    def __init__(self) -> None:
        self.caches: dict[str, ResourceCache] = {}
        self.revision = 0
        self.syncs = 0
        self._objects: dict[str, dict[str, CachedObject]] = {}

    def put(self, prefix: str, obj: Obj) -> CachedObject:
        meta = obj["metadata"]
        ns = meta.get("namespace")
        key = prefix + (f"{ns}/{meta['name']}" if ns else meta["name"])
        self.revision += 1
        cached = CachedObject(key, copy.deepcopy(obj), self.revision)
        objects = self._objects.setdefault(prefix, {})
        objects[key] = cached
        rc = self.caches.setdefault(prefix, ResourceCache(
            prefix, group="", kind="", namespaced=bool(ns), window=100))
        rc.reset(objects.values(), self.revision)
        return cached

    def remove(self, prefix: str, key: str) -> None:
        objects = self._objects.get(prefix, {})
        objects.pop(key, None)
        self.caches[prefix].reset(objects.values(), self.revision)

    async def sync(self) -> None:
        self.syncs += 1


def request(op: Operation, obj: Obj | None, *, resource: str = "pods", group: str = "",
            version: str = "v1", kind: str = "Pod", namespace: str = "ns",
            old: Obj | None = None, subresource: str = "", dry_run: bool = False
            ) -> AdmissionRequest:
    name = ((obj or old or {}).get("metadata") or {}).get("name") or ""
    return AdmissionRequest(operation=op, group=group, version=version, resource=resource,
                            kind=kind, namespaced=bool(namespace), user=UserInfo(name="u"),
                            subresource=subresource, namespace=namespace, name=name, obj=obj,
                            old_obj=old, dry_run=dry_run)


def make_pod(name: str = "p", *containers: Obj, namespace: str = "ns", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
            "spec": {"containers": list(containers) or [{"name": "c", "image": "i"}],
                     **spec}}


def container(name: str = "c", requests: Obj | None = None, limits: Obj | None = None
              ) -> Obj:
    resources: Obj = {}
    if requests is not None:
        resources["requests"] = dict(requests)
    if limits is not None:
        resources["limits"] = dict(limits)
    return {"name": name, "image": "i", "resources": resources}
