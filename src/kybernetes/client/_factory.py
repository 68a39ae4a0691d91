"""`SharedInformerFactory`: one informer per (resource, namespace, selectors), shared.

Components ask the factory for informers while they are being wired up; every
caller asking for the same resource with the same namespace and selectors gets
the same `Informer`, so one process keeps one cache and one watch per
resource (client-go's sharedInformerFactory). `start()` starts every informer
not yet started (call it again after asking for more); `wait_for_sync()`
waits for all of them.
"""

from __future__ import annotations

import asyncio

from kybernetes.api.registry import ResourceInfo
from kybernetes.client._client import Client, Selector, selector_text
from kybernetes.client._clock import Clock
from kybernetes.client._discovery import ResourceRef, builtin_resource
from kybernetes.client._errors import NoMatchError
from kybernetes.client._informer import Informer
from kybernetes.client._listwatch import ClientListerWatcher
from kybernetes.client._store import IndexFunc


def _ref_key(ref: ResourceRef) -> tuple[str, ...]:
    if isinstance(ref, tuple):
        try:
            ref = builtin_resource(*ref)
        except NoMatchError:
            return ("ref", *ref)
    assert isinstance(ref, ResourceInfo)
    return ("gvr", ref.group, ref.version, ref.plural)


def _describe(ref: ResourceRef) -> str:
    if isinstance(ref, ResourceInfo):
        return f"{ref.group_version}/{ref.plural}"
    return "/".join(ref)


class SharedInformerFactory:
    """Informers over one `client`. `namespace=None` watches all namespaces;
    `resync_period` (seconds, 0 = never) is the default for every informer."""

    def __init__(self, client: Client, *, resync_period: float = 0.0,
                 namespace: str | None = None, clock: Clock | None = None,
                 page_size: int = 500, backoff_initial: float = 0.8,
                 backoff_max: float = 30.0) -> None:
        self.client = client
        self.resync_period = resync_period
        self.namespace = namespace
        self.clock = clock or client.clock
        self._options = {"page_size": page_size, "backoff_initial": backoff_initial,
                         "backoff_max": backoff_max}
        self._informers: dict[tuple[object, ...], Informer] = {}

    def informer(self, resource: ResourceRef, *, namespace: str | None = None,
                 label_selector: Selector = None, field_selector: Selector = None,
                 indexers: dict[str, IndexFunc] | None = None,
                 resync_period: float | None = None) -> Informer:
        """The shared informer for `resource` (created on first request). `indexers`
        are added to it; `resync_period` only applies when it is created."""
        ns = namespace if namespace is not None else self.namespace
        key = (_ref_key(resource), ns or "", selector_text(label_selector),
               selector_text(field_selector))
        inf = self._informers.get(key)
        if inf is None:
            lw = ClientListerWatcher(self.client, resource, namespace=ns,
                                     label_selector=label_selector,
                                     field_selector=field_selector)
            inf = Informer(lw, resync_period=(self.resync_period if resync_period is None
                                              else resync_period),
                           clock=self.clock, name=_describe(resource) + (f" in {ns}" if ns else ""),
                           **self._options)  # type: ignore[arg-type]
            self._informers[key] = inf
        if indexers:
            inf.add_indexers(indexers)
        return inf

    @property
    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer that is not running yet."""
        for inf in self._informers.values():
            inf.start()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """True once every informer has synced; False if `timeout` seconds pass first."""
        results = await asyncio.gather(*(inf.wait_for_sync(timeout)
                                         for inf in self._informers.values()))
        return all(results)

    async def shutdown(self) -> None:
        """Stop every informer."""
        await asyncio.gather(*(inf.stop() for inf in self._informers.values()))
