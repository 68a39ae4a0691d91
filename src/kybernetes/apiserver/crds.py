"""The apiextensions controllers inside the apiserver: CRDs in, served resources out.

Upstream's naming, establishing, CRD handler and finalizer controllers as one
level-triggered loop over the CRDs in the watch cache:

- `reconcile(name)` reads the CRD from the cache. While it lives and is not
  being deleted, its accepted names are decided against the other names of its
  group (`NamesAccepted`, then `Established`, written through the status
  subresource), and once Established each served version is added to the
  `Registry` (discovery and OpenAPI follow its `generation`) after the storage
  prefix `/registry/<group>/<plural>/` has been loaded into the watch cache.
- A deleted CRD carries the `customresourcecleanup.apiextensions.k8s.io`
  finalizer (rest.delete adds it): its custom objects are deleted through the
  generic registry (their own finalizers honoured), polled until none is left,
  then the finalizer is removed and the CRD goes. While it terminates, creating
  custom objects is refused with 405 (`TerminatingAdmission`).
- When the CRD is gone its resources leave the Registry (requests answer 404).

Events only enqueue names; failures (a lost write race, an admission error) are
retried a second later. The watch-cache prefix of a CRD stays registered after
the CRD goes: it stays correct (it sees the deletes) and a re-created CRD of
the same name needs no reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from typing import Any

from kybernetes.api import crd as crd_api
from kybernetes.api.errors import StatusError
from kybernetes.api.registry import Registry, ResourceInfo
from kybernetes.apiserver import strategy
from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.rest import RestStorage, WriteOptions
from kybernetes.apiserver.watchcache import CachedObject, Filter, WatchCache, Watcher

log = logging.getLogger("kybernetes.apiserver.crds")

Obj = dict[str, Any]

RETRY_SECONDS = 1.0
_SYSTEM = UserInfo(name="system:apiserver", groups=("system:masters",))


class CrdController:
    """Serves every Established CRD's versions; finalizes deleted CRDs."""

    def __init__(self, registry: Registry, rest: RestStorage, cache: WatchCache) -> None:
        self.registry = registry
        self.rest = rest
        self.cache = cache
        info = registry.get(crd_api.GROUP, "v1", "customresourcedefinitions")
        assert info is not None
        self.info: ResourceInfo = info
        self.prefix = info.key_prefix()
        # CRD name -> the ResourceInfos it added to the registry.
        self.installed: dict[str, list[ResourceInfo]] = {}
        # "<plural>.<group>" of CRDs being deleted (no creates of their objects).
        self.terminating: set[str] = set()
        self._retry: set[str] = set()
        self._watcher: _NameWatcher | None = None
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Serve the CRDs stored now (before the server reports ready), then follow."""
        self._watcher = self._watch()
        await self._drain(self._watcher.pending_names())
        self._task = asyncio.create_task(self._run(), name="crd-controller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._watcher is not None:
            self._watcher.close()

    def _watch(self) -> _NameWatcher:
        rc = self.cache.cache_for(self.prefix)
        return _NameWatcher(rc.watch_with_state(Filter(), self.cache.max_pending))

    async def _run(self) -> None:
        while True:
            watcher = self._watcher
            assert watcher is not None
            if watcher.closed:  # overflow or cache re-list: start over from the state
                self._watcher = watcher = self._watch()
            names = await watcher.next_names(RETRY_SECONDS if self._retry else None)
            if not names and self._retry:
                names, self._retry = set(self._retry), set()
            await self._drain(names)

    async def _drain(self, names: set[str]) -> None:
        for name in sorted(names):
            try:
                await self.reconcile(name)
            except StatusError as err:
                if err.code == 404:  # deleted meanwhile: its DELETED event follows
                    continue
                if err.code != 409:  # a lost write race is routine
                    log.info("crd %s: %s; retrying", name, err)
                self._retry.add(name)
            except Exception:
                log.exception("crd %s: reconcile failed; retrying", name)
                self._retry.add(name)

    # --- reconcile -------------------------------------------------------------------

    def _cached(self, name: str) -> Obj | None:
        o = self.cache.cache_for(self.prefix).objects.get(self.prefix + name)
        return copy.deepcopy(o.obj) if o is not None else None

    async def reconcile(self, name: str) -> None:
        crd = self._cached(name)
        if crd is None:
            self._uninstall(name)
            self.terminating.discard(name)
            return
        if (crd.get("metadata") or {}).get("deletionTimestamp"):
            self.terminating.add(name)
            await self._finalize(name, crd)
            return
        self.terminating.discard(name)
        crd = await self._update_names(name, crd)
        if crd_api.is_true(crd, "Established"):
            await self._install(name, crd)
        else:
            self._uninstall(name)

    async def _update_names(self, name: str, crd: Obj) -> Obj:
        """NamesAccepted and Established (naming and establishing controllers)."""
        group = (crd.get("spec") or {}).get("group", "")
        builtins = [i for i in self.registry if i.group == group and i.custom is None]
        others = [o.obj for o in self.cache.cache_for(self.prefix).objects.values()
                  if o.name != name and ((o.obj.get("spec") or {}).get("group") == group)]
        accepted, status, reason, message = crd_api.accept_names(
            crd, crd_api.names_in_use(builtins, others))
        new = copy.deepcopy(crd)
        now = strategy.now_rfc3339()
        new.setdefault("status", {})["acceptedNames"] = accepted
        crd_api.set_condition(new, "NamesAccepted", status, reason, message, now)
        if status == "True":
            crd_api.set_condition(new, "Established", "True", "InitialNamesAccepted",
                                  "the initial names have been accepted", now)
        elif not crd_api.is_true(crd, "Established"):
            crd_api.set_condition(new, "Established", "False", "NotAccepted",
                                  "not all names are accepted", now)
        return await self._write_status(name, crd, new)

    async def _write_status(self, name: str, crd: Obj, new: Obj) -> Obj:
        if new.get("status") == crd.get("status"):
            return crd
        out, _ = await self.rest.update(self.info, "", name, new, WriteOptions(user=_SYSTEM),
                                        "status")
        return out

    # --- serving ---------------------------------------------------------------------

    async def _install(self, name: str, crd: Obj) -> None:
        infos = crd_api.resource_infos(crd)
        if not infos:
            self._uninstall(name)
            return
        first = infos[0]
        prefix = first.key_prefix()
        await self.cache.register_filled(prefix, group=first.group, kind=first.kind,
                                         namespaced=first.namespaced)
        self.rest.storage_versions[prefix] = (
            f"{first.group}/{first.custom.storage_version}")
        keep = {(i.group, i.version, i.plural) for i in infos}
        changed = False
        for old in self.installed.get(name, []):
            if (old.group, old.version, old.plural) not in keep:
                self.registry.remove(old.group, old.version, old.plural)
                changed = True
        for info in infos:
            if self.registry.get(info.group, info.version, info.plural) != info:
                self.registry.add(info)
                changed = True
        self.installed[name] = infos
        if changed:
            log.info("crd %s: serving %s", name, ", ".join(i.group_version for i in infos))

    def _uninstall(self, name: str) -> None:
        infos = self.installed.pop(name, [])
        for info in infos:
            self.registry.remove(info.group, info.version, info.plural)
        if infos:
            self.rest.storage_versions.pop(infos[0].key_prefix(), None)
            log.info("crd %s: no longer served", name)

    # --- deletion ----------------------------------------------------------------------

    async def _finalize(self, name: str, crd: Obj) -> None:
        """Delete the CRD's objects, then drop the cleanup finalizer (finalizer controller)."""
        finalizers = (crd.get("metadata") or {}).get("finalizers") or []
        if crd_api.CLEANUP_FINALIZER not in finalizers:
            return  # another finalizer holds it; keep serving until it goes
        now = strategy.now_rfc3339()
        info = self._storage_info(name, crd)
        remaining = await self._delete_objects(info) if info is not None else 0
        new = copy.deepcopy(crd)
        if remaining:
            crd_api.set_condition(new, "Terminating", "True", "InstanceDeletionInProgress",
                                  "CustomResource deletion is in progress", now)
            await self._write_status(name, crd, new)
            self._retry.add(name)
            return
        crd_api.set_condition(new, "Terminating", "True", "InstanceDeletionCompleted",
                              "removed all instances", now)
        new = await self._write_status(name, crd, new)
        new["metadata"]["finalizers"] = [
            f for f in new["metadata"].get("finalizers") or [] if f != crd_api.CLEANUP_FINALIZER]
        await self.rest.update(self.info, "", name, new, WriteOptions(user=_SYSTEM))

    def _storage_info(self, name: str, crd: Obj) -> ResourceInfo | None:
        infos = self.installed.get(name) or crd_api.resource_infos(crd)
        for info in infos:
            if info.custom is not None and info.version == info.custom.storage_version:
                return info
        return infos[0] if infos else None

    async def _delete_objects(self, info: ResourceInfo) -> int:
        """Delete every stored object of the resource; how many are still there."""
        rc = self.cache.caches.get(info.key_prefix())
        if rc is None:
            return 0
        for o in list(rc.objects.values()):
            if (o.obj.get("metadata") or {}).get("deletionTimestamp"):
                continue
            with contextlib.suppress(StatusError):  # gone meanwhile, or a webhook refused
                await self.rest.delete(info, o.namespace, o.name, {}, WriteOptions(user=_SYSTEM))
        await self.cache.sync()
        return len(rc.objects)

    # --- admission -----------------------------------------------------------------------

    def admission(self) -> TerminatingAdmission:
        return TerminatingAdmission(self)


class TerminatingAdmission:
    """No new custom objects of a CRD being deleted (crdHandler: 405 on create)."""

    def __init__(self, controller: CrdController) -> None:
        self.controller = controller

    async def validate(self, req: AdmissionRequest) -> None:
        if req.operation != Operation.CREATE or req.subresource:
            return
        if f"{req.resource}.{req.group}" in self.controller.terminating:
            raise StatusError(405, "MethodNotAllowed",
                              "create not allowed while custom resource definition is "
                              "terminating")


class _NameWatcher:
    """A cache watcher reduced to the names of the objects that changed."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    @property
    def closed(self) -> bool:
        return self.watcher.closed

    def close(self) -> None:
        self.watcher.close()

    def pending_names(self) -> set[str]:
        batch = list(self.watcher.pending)
        self.watcher.pending.clear()
        return {_name(ev.object_for(t)) for t, ev in batch}

    async def next_names(self, timeout: float | None) -> set[str]:  # noqa: ASYNC109
        batch = await self.watcher.next_batch(timeout)
        return {_name(ev.object_for(t)) for t, ev in batch}


def _name(o: CachedObject) -> str:
    return o.name
