"""Objects of one resource as admission plug-ins read them: from the watch cache.

Upstream's admission plug-ins read informer listers and, when a namespace seems to have
none of the objects they enforce (LimitRanges, ResourceQuotas), do a live lookup whose
answer is kept for 30 s, so a policy object created a moment ago already applies. Here
the live lookup is `WatchCache.sync()` (wait until the cache holds everything the store
has committed), done at most once per namespace per `ttl` seconds.

Objects returned are the cache's own: callers must never mutate them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kybernetes.apiserver.watchcache import Filter, TooLargeResourceVersion, WatchCache

Obj = dict[str, Any]

LIVE_LOOKUP_TTL_SECONDS = 30.0
_MAX_REMEMBERED = 10_000


class CacheLister:
    def __init__(self, cache: WatchCache, prefix: str, *,
                 ttl: float = LIVE_LOOKUP_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cache = cache
        self.prefix = prefix
        self.ttl = ttl
        self.clock = clock
        self._synced_at: dict[str, float] = {}

    def cached(self, namespace: str = "") -> list[Obj]:
        """What the cache holds now (all namespaces for "")."""
        rc = self.cache.caches.get(self.prefix)
        if rc is None:
            return []
        items, _ = rc.list(Filter(namespace=namespace))
        return [o.obj for o in items]

    def get(self, name: str, namespace: str = "") -> Obj | None:
        rc = self.cache.caches.get(self.prefix)
        if rc is None:
            return None
        o = rc.objects.get(self.prefix + (f"{namespace}/{name}" if namespace else name))
        return o.obj if o is not None else None

    async def list(self, namespace: str = "") -> list[Obj]:
        """The objects, after a (rate-limited) consistent read when there are none."""
        found = self.cached(namespace)
        if found:
            return found
        now = self.clock()
        last = self._synced_at.get(namespace)
        if last is not None and now - last < self.ttl:
            return found
        if len(self._synced_at) > _MAX_REMEMBERED:
            self._synced_at = {ns: t for ns, t in self._synced_at.items()
                               if now - t < self.ttl}
        self._synced_at[namespace] = now
        await self.sync()
        return self.cached(namespace)

    async def sync(self) -> None:
        try:
            await self.cache.sync()
        except TooLargeResourceVersion:
            pass  # answer from what the cache has, as a lister would
