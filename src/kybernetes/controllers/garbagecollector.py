"""The garbage collector: deletes objects whose owners are gone, and carries out
foreground deletion and orphaning (upstream pkg/controller/garbagecollector, v1.32).

Shape
-----

- Monitors: one informer per resource that supports list, watch and delete
  (built-ins and custom resources alike, from discovery; events are ignored as
  upstream). Built-in resources share the manager's informers; custom
  resources get informers of their own, stopped when the resource goes away.
  Discovery is read again every `gc_discovery_period` seconds (default 30, as
  kube-controller-manager) and soon after any CRD changes.
- Monitor handlers only put a `GraphEvent` on `changes`; one task applies them to
  the `Graph` (kybernetes.controllers.gcgraph) in order and queues node uids.
- `attempt_to_delete` workers verify a node against the live API (never the
  cache): an object whose owners are all absent is deleted; references to
  absent owners are dropped; a node deleting its dependents in the foreground
  loses its `foregroundDeletion` finalizer once no blocking dependent is left.
- `attempt_to_orphan` workers remove an owner's uid from its dependents'
  ownerReferences, then its `orphan` finalizer.

Every write is guarded by the object's uid (delete precondition) or its
resourceVersion (JSON merge patches), so a stale graph never harms a newer object.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kybernetes.client import (
    WARNING,
    ClientListerWatcher,
    Informer,
    NoMatchError,
    ResourceInfo,
    ShutDown,
    WorkQueue,
    builtin_resource,
    is_conflict,
    is_not_found,
    object_of,
)
from kybernetes.controllers.base import ControllerContext
from kybernetes.controllers.gcgraph import (
    ADD,
    DELETE,
    DELETE_OBJECT,
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    REMOVE_REFS,
    UPDATE,
    Actions,
    Graph,
    GraphEvent,
    Identity,
    Node,
    classify_references,
    decide,
    owner_identity,
    owner_refs,
    remove_finalizer_patch,
    remove_refs_patch,
    unblock_refs_patch,
)
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers.garbagecollector")

# upstream garbagecollector.DefaultIgnoredResources
IGNORED_RESOURCES = frozenset({("", "events"), ("events.k8s.io", "events")})
NEEDED_VERBS = frozenset({"list", "watch", "delete"})
_CONFLICT_RETRIES = 5


class _InvalidOwnerScope(Exception):
    """A cluster-scoped object names a namespaced owner: never resolvable, no retry."""


@dataclass
class _Monitor:
    info: ResourceInfo
    informer: Informer
    handler: Any
    shared: bool


def deletable(info: ResourceInfo) -> bool:
    """Whether the collector monitors this resource (GetDeletableResources)."""
    return NEEDED_VERBS <= set(info.verbs) and (info.group, info.plural) not in IGNORED_RESOURCES


def _monitor_key(info: ResourceInfo) -> tuple[str, str, str]:
    return (info.group, info.version, info.plural)


@register("garbagecollector")
class GarbageCollector:
    name = "garbagecollector"

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.graph = Graph()
        self.changes: asyncio.Queue[GraphEvent] = asyncio.Queue()
        self.attempt_to_delete: WorkQueue[str] = WorkQueue(
            name="garbage_collector_attempt_to_delete", clock=ctx.clock)
        self.attempt_to_orphan: WorkQueue[str] = WorkQueue(
            name="garbage_collector_attempt_to_orphan", clock=ctx.clock)
        self.monitors: dict[tuple[str, str, str], _Monitor] = {}
        self.recorder = ctx.recorder("garbage-collector-controller")
        self.workers = int(ctx.options.get("concurrent_gc_syncs", 20))
        self.discovery_period = float(ctx.options.get("gc_discovery_period", 30.0))
        self.sync_timeout = float(ctx.options.get("gc_sync_timeout", 60.0))
        self._discovery_changed = asyncio.Event()
        crds = ctx.informers.informer(("apiextensions.k8s.io/v1", "CustomResourceDefinition"))
        crds.add_event_handler(on_add=lambda _: self._discovery_changed.set(),
                               on_update=lambda _o, _n: self._discovery_changed.set(),
                               on_delete=lambda _: self._discovery_changed.set())

    # --- running -------------------------------------------------------------------------

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._process_graph_changes(), name="gc-graph")]
        try:
            while not await self._sync_monitors():
                await self.ctx.clock.sleep(1.0)
            await self._wait_for_monitors()
            tasks.append(asyncio.create_task(self._discovery_loop(), name="gc-discovery"))
            tasks += [asyncio.create_task(self._worker(self.attempt_to_delete,
                                                       self._attempt_to_delete))
                      for _ in range(self.workers)]
            tasks += [asyncio.create_task(self._worker(self.attempt_to_orphan,
                                                       self._attempt_to_orphan))
                      for _ in range(self.workers)]
            await asyncio.gather(*tasks)
        finally:
            self.attempt_to_delete.shutdown()
            self.attempt_to_orphan.shutdown()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for key in list(self.monitors):
                await self._stop_monitor(key)

    async def _wait_for_monitors(self) -> None:
        infs = [m.informer for m in self.monitors.values()]
        ok = await asyncio.gather(*(i.wait_for_sync(self.sync_timeout) for i in infs))
        if not all(ok):
            log.warning("garbagecollector: not every monitor synced within %.0fs; "
                        "starting anyway", self.sync_timeout)

    async def _discovery_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._discovery_changed.wait(), self.discovery_period)
                await self.ctx.clock.sleep(0.5)  # let a new CRD become established
            except TimeoutError:
                pass
            self._discovery_changed.clear()
            await self._sync_monitors()

    # --- monitors ------------------------------------------------------------------------

    async def _sync_monitors(self) -> bool:
        """Start monitors for new deletable resources, stop those for vanished ones.
        False when discovery failed (the monitors stay as they were)."""
        self.client.discovery.invalidate()
        try:
            infos = [i for i in await self.client.discovery.preferred_resources()
                     if deletable(i)]
        except Exception as err:
            log.warning("garbagecollector: discovery failed: %s", err)
            return False
        wanted = {_monitor_key(i): i for i in infos}
        for key in [k for k in self.monitors if k not in wanted]:
            await self._stop_monitor(key)
        added = [i for k, i in wanted.items() if k not in self.monitors]
        for info in added:
            self._start_monitor(info)
        if added:
            self.ctx.informers.start()
            log.info("garbagecollector: monitoring %d resources (%d new)", len(self.monitors),
                     len(added))
        return True

    def _start_monitor(self, info: ResourceInfo) -> None:
        try:
            builtin_resource(info.api_version, info.plural)
            shared = True
        except NoMatchError:
            shared = False
        if shared:
            informer = self.ctx.informers.informer(info)
        else:
            informer = Informer(ClientListerWatcher(self.client, info), clock=self.ctx.clock,
                                name=f"gc {info.group_version}/{info.plural}")
        handler = informer.add_event_handler(**self._handlers(info))
        if not shared:
            informer.start()
        self.monitors[_monitor_key(info)] = _Monitor(info, informer, handler, shared)

    async def _stop_monitor(self, key: tuple[str, str, str]) -> None:
        mon = self.monitors.pop(key)
        mon.informer.remove_event_handler(mon.handler)
        if not mon.shared:
            await mon.informer.stop()

    def _handlers(self, info: ResourceInfo) -> dict[str, Callable[..., None]]:
        av, kind = info.api_version, info.kind
        put = self.changes.put_nowait
        return {
            "on_add": lambda obj: put(GraphEvent(ADD, av, kind, obj)),
            "on_update": lambda old, new: put(GraphEvent(UPDATE, av, kind, new, old)),
            "on_delete": lambda obj: put(GraphEvent(DELETE, av, kind, object_of(obj))),
        }

    # --- the graph -----------------------------------------------------------------------

    async def _process_graph_changes(self) -> None:
        while True:
            event = await self.changes.get()
            try:
                self._apply(self.graph.process(event))
            except Exception:
                log.exception("garbagecollector: graph change failed")

    def _apply(self, actions: Actions) -> None:
        for node in actions.attempt_to_delete:
            self.attempt_to_delete.add(node.identity.uid)
        for node in actions.attempt_to_delete_later:
            self.attempt_to_delete.add_rate_limited(node.identity.uid)
        for node in actions.attempt_to_orphan:
            self.attempt_to_orphan.add(node.identity.uid)
        for dependent, owner in actions.invalid_namespace_refs:
            self.recorder.event(_reference(dependent), WARNING, "OwnerRefInvalidNamespace",
                                f"ownerRef {owner} does not resolve to a parent with "
                                "matching namespace")

    def _virtual_delete(self, ident: Identity) -> None:
        """The API says `ident` is gone: tell the graph as if an informer had."""
        obj = {"metadata": {"name": ident.name, "namespace": ident.namespace, "uid": ident.uid}}
        self.changes.put_nowait(GraphEvent(DELETE, ident.api_version, ident.kind, obj,
                                           virtual=True))

    # --- workers -------------------------------------------------------------------------

    async def _worker(self, queue: WorkQueue[str],
                      process: Callable[[str], Any]) -> None:
        while True:
            try:
                uid = await queue.get()
            except ShutDown:
                return
            try:
                if await process(uid):
                    queue.add_rate_limited(uid)
                else:
                    queue.forget(uid)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                level = logging.DEBUG if isinstance(err, NoMatchError) or is_conflict(
                    err) else logging.WARNING
                log.log(level, "garbagecollector: syncing %s: %s", self._describe(uid), err)
                queue.add_rate_limited(uid)
            finally:
                queue.done(uid)

    def _describe(self, uid: str) -> str:
        node = self.graph.get(uid)
        return str(node.identity) if node is not None else uid

    async def _attempt_to_delete(self, uid: str) -> bool:
        """One pass over a node; True asks for a retry with back-off."""
        node = self.graph.get(uid)
        if node is None:
            return False
        if node.being_deleted and not node.deleting_dependents:
            return False  # a one-way trip: its dependents are handled once it is gone
        latest = await self._get_live(node.identity)
        if latest is None:
            self._virtual_delete(node.identity)
            return False
        if node.deleting_dependents:
            await self._process_deleting_dependents(node)
        elif owner_refs(latest):
            try:
                await self._collect(node, latest)
            except _InvalidOwnerScope:
                return False
        current = self.graph.get(uid)
        return current is not None and current.virtual  # not observed yet: check again

    async def _process_deleting_dependents(self, node: Node) -> None:
        blocking = node.blocking_dependents()
        if not blocking:
            log.info("garbagecollector: removing %s from %s", FOREGROUND_FINALIZER,
                     node.identity)
            await self._remove_finalizer(node.identity, FOREGROUND_FINALIZER)
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.attempt_to_delete.add(dep.identity.uid)

    async def _collect(self, node: Node, latest: Obj) -> None:
        refs = owner_refs(latest)
        owners: dict[str, Obj | None] = {}
        for ref in refs:
            owners[str(ref.get("uid") or "")] = await self._live_owner(ref, node)
        decision = decide(latest, classify_references(refs, owners), node.dependents)
        if decision.action == REMOVE_REFS:
            log.info("garbagecollector: removing dangling owner references %s from %s",
                     list(decision.uids), node.identity)
            await self._patch_refs(node.identity, lambda o: remove_refs_patch(o, decision.uids))
        elif decision.action == DELETE_OBJECT:
            if decision.unblock:
                await self._patch_refs(node.identity, unblock_refs_patch)
            log.info("garbagecollector: deleting %s (propagationPolicy %s)", node.identity,
                     decision.policy)
            await self._delete(node.identity, decision.policy)

    async def _attempt_to_orphan(self, uid: str) -> bool:
        owner = self.graph.get(uid)
        if owner is None:
            return False
        dependents = sorted(owner.dependents, key=lambda n: n.identity.sort_key())
        results = await asyncio.gather(
            *(self._patch_refs(d.identity, lambda o: remove_refs_patch(o, [uid]))
              for d in dependents), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException) and not is_not_found(r)]
        if failed:
            log.warning("garbagecollector: orphaning dependents of %s: %s", owner.identity,
                        failed[0])
            return True
        log.info("garbagecollector: orphaned %d dependents of %s", len(dependents),
                 owner.identity)
        await self._remove_finalizer(owner.identity, ORPHAN_FINALIZER)
        return False

    # --- the API -------------------------------------------------------------------------

    async def _resolve(self, api_version: str, kind: str) -> ResourceInfo:
        return await self.client.resolve((api_version, kind))

    async def _get_live(self, ident: Identity) -> Obj | None:
        """The live object of `ident`; None when it is gone or another object (uid)."""
        info = await self._resolve(ident.api_version, ident.kind)
        if info.namespaced and not ident.namespace:
            return None
        try:
            obj = await self.client.get(info, ident.name, namespace=ident.namespace or None)
        except Exception as err:
            if is_not_found(err):
                return None
            raise
        if (obj.get("metadata") or {}).get("uid") != ident.uid:
            return None
        return obj

    async def _live_owner(self, ref: Obj, node: Node) -> Obj | None:
        """isDangling: the owner `ref` names, None when it is absent."""
        cluster_key = owner_identity(ref, "")
        ns_key = owner_identity(ref, node.identity.namespace)
        if cluster_key in self.graph.absent or ns_key in self.graph.absent:
            return None
        info = await self._resolve(cluster_key.api_version, cluster_key.kind)
        if not info.namespaced:
            ns_key = cluster_key
        elif not node.identity.namespace:
            log.info("garbagecollector: %s is cluster-scoped but names a namespaced owner %s",
                     node.identity, cluster_key)
            raise _InvalidOwnerScope
        try:
            owner = await self.client.get(info, ns_key.name, namespace=ns_key.namespace or None)
        except Exception as err:
            if is_not_found(err):
                self.graph.absent.add(ns_key)
                return None
            raise
        if (owner.get("metadata") or {}).get("uid") != ns_key.uid:
            self.graph.absent.add(ns_key)
            return None
        return owner

    async def _patch_refs(self, ident: Identity, make: Callable[[Obj], Obj | None]) -> None:
        """Merge-patch the live object with `make(live)` (None: nothing to do),
        retrying on conflict as upstream's RetryOnConflict."""
        for attempt in range(_CONFLICT_RETRIES):
            obj = await self._get_live(ident)
            patch = make(obj) if obj is not None else None
            if patch is None:
                return
            info = await self._resolve(ident.api_version, ident.kind)
            try:
                await self.client.patch(info, ident.name, patch,
                                        namespace=ident.namespace or None, patch_type="merge")
                return
            except Exception as err:
                if is_not_found(err):
                    return
                if not is_conflict(err) or attempt == _CONFLICT_RETRIES - 1:
                    raise

    async def _remove_finalizer(self, ident: Identity, finalizer: str) -> None:
        await self._patch_refs(ident, lambda o: remove_finalizer_patch(o, finalizer))

    async def _delete(self, ident: Identity, policy: str) -> None:
        info = await self._resolve(ident.api_version, ident.kind)
        try:
            await self.client.delete(info, ident.name, namespace=ident.namespace or None,
                                     propagation_policy=policy,
                                     preconditions={"uid": ident.uid})
        except Exception as err:
            if not is_not_found(err):
                raise


def _reference(ident: Identity) -> Obj:
    ref = {"kind": ident.kind, "apiVersion": ident.api_version, "name": ident.name,
           "uid": ident.uid}
    if ident.namespace:
        ref["namespace"] = ident.namespace
    return ref
