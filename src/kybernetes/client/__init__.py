"""kybernetes.client: what client-go is to Kubernetes.

Every component other than the apiserver talks to the cluster only through
this package. Objects are plain JSON-shaped dicts everywhere.

What is here
------------

- Configuration: `load_kubeconfig`, `load_incluster_config`, `load_config`
  -> a frozen `Config` (server, credentials, TLS, QPS/burst, timeouts).
- `Client`: async REST verbs (`get list list_pages list_all create update
  patch apply delete delete_collection watch`, plus `bind`, `evict` and
  `request`) addressed by a `ResourceRef`: `("apps/v1", "Deployment")`,
  `("v1", "pods")` (resolved through cached discovery) or a `ResourceInfo`
  (`builtin_resource("v1", "Pod")`, no discovery). Client-side rate limit
  (token bucket, default 50 qps / burst 100), retries with back-off, errors
  as `StatusError`. `client.discovery` (a `Discovery`) also lists what the
  server serves: `groups()`, `preferred_resources()`.
- Informers: `SharedInformerFactory` -> `Informer` (paged list, watch with
  bookmarks, reconnect, re-list on 410, local `Indexer`, handlers, resync).
- `WorkQueue`: dedup, delays, per-item exponential back-off + overall bucket.
- `LeaderElector` on a `LeaseLock` (coordination.k8s.io/v1 Lease).
- `EventRecorder`: core/v1 Events, aggregated and deduplicated as upstream.
- Test aids: `FakeClock` (virtual time for everything above),
  `FakeListerWatcher` (an in-memory resource for informers), `MockTransport`
  (an in-memory HTTP server for the client).

Errors
------

    Exception
    ├── StatusError       the server answered with a failure Status (code, reason)
    └── ClientError       the client's own failures
        ├── ConfigError   unusable kubeconfig / in-cluster config
        ├── TransportError  no answer (connect, TLS, reset, timeout), after retries
        └── NoMatchError  discovery knows no such kind or resource

`is_not_found`, `is_conflict`, `is_already_exists`, `is_gone`,
`is_too_many_requests`, `is_forbidden` and `is_invalid` take any exception.

Glossary
--------

key          `namespace/name` (or `name`, cluster-scoped): what a work queue holds.
informer     list+watch loop keeping a local cache of one resource up to date.
resync       periodic on_update(obj, obj) for every cached object: a nudge to
             re-reconcile, not a re-list.
tombstone    `DeletedFinalStateUnknown(key, obj)`: a delete noticed on re-list,
             with the last state seen.
reconcile    level-triggered: read the desired state from the cache, compare,
             write; on error `add_rate_limited(key)`, on success `forget(key)`.

Example controller
------------------

It labels every ConfigMap it sees; the whole shape of a controller: handlers
only enqueue keys, workers reconcile from the cache, errors retry with
back-off. (This code is run by tests/integration/test_client.py.)

    import asyncio

    from kybernetes.client import (
        Client, ShutDown, SharedInformerFactory, WorkQueue, is_not_found,
        meta_namespace_key, split_key,
    )

    LABEL = "example.kybernetes.io/seen"
    CONFIGMAPS = ("v1", "ConfigMap")


    async def reconcile(client, informer, key):
        cm = informer.store.get(key)
        if cm is None or LABEL in (cm["metadata"].get("labels") or {}):
            return  # deleted, or already done: nothing to do
        namespace, name = split_key(key)
        patch = {"metadata": {"labels": {LABEL: "true"}}}
        await client.patch(CONFIGMAPS, name, patch, namespace=namespace)


    async def worker(client, informer, queue):
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            try:
                await reconcile(client, informer, key)
                queue.forget(key)
            except Exception as err:
                if is_not_found(err):
                    queue.forget(key)  # gone meanwhile; its delete event follows
                else:
                    queue.add_rate_limited(key)
            finally:
                queue.done(key)


    async def run_labeller(client: Client, *, namespace=None, workers=2):
        factory = SharedInformerFactory(client, namespace=namespace)
        informer = factory.informer(CONFIGMAPS)
        queue = WorkQueue(name="labeller")
        enqueue = lambda obj: queue.add(meta_namespace_key(obj))  # noqa: E731
        informer.add_event_handler(on_add=enqueue,
                                   on_update=lambda old, new: enqueue(new))
        factory.start()
        await factory.wait_for_sync()
        try:
            await asyncio.gather(*(worker(client, informer, queue)
                                   for _ in range(workers)))
        finally:
            queue.shutdown()
            await factory.shutdown()

Run it with `async with Client(load_config()) as client: await run_labeller(client)`.
"""

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import ResourceInfo
from kybernetes.client._client import Client, Selector
from kybernetes.client._clock import Clock, FakeClock, LoopClock
from kybernetes.client._config import (
    Config,
    load_config,
    load_incluster_config,
    load_kubeconfig,
)
from kybernetes.client._discovery import Discovery, ResourceRef, builtin_resource
from kybernetes.client._errors import (
    ClientError,
    ConfigError,
    NoMatchError,
    TransportError,
    is_already_exists,
    is_conflict,
    is_forbidden,
    is_gone,
    is_invalid,
    is_not_found,
    is_too_many_requests,
)
from kybernetes.client._eventcorrelator import EventCorrelator
from kybernetes.client._events import NORMAL, WARNING, EventRecorder, object_reference
from kybernetes.client._factory import SharedInformerFactory
from kybernetes.client._informer import EventHandlerFuncs, Informer, ResourceEventHandler
from kybernetes.client._leaderelection import (
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
    LeaseLock,
    ResourceLock,
)
from kybernetes.client._listwatch import ClientListerWatcher, FakeListerWatcher, ListerWatcher
from kybernetes.client._ratelimiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from kybernetes.client._store import (
    NAMESPACE_INDEX,
    DeletedFinalStateUnknown,
    Indexer,
    IndexFunc,
    by_namespace,
    by_node_name,
    meta_namespace_key,
    object_of,
    split_key,
)
from kybernetes.client._transport import HttpRequest, MockResponse, MockTransport, Transport
from kybernetes.client._watch import (
    ADDED,
    BOOKMARK,
    DELETED,
    ERROR,
    MODIFIED,
    WatchEvent,
    WatchStream,
)
from kybernetes.client._workqueue import ShutDown, WorkQueue

__all__ = [
    "ADDED",
    "BOOKMARK",
    "DELETED",
    "ERROR",
    "MODIFIED",
    "NAMESPACE_INDEX",
    "NORMAL",
    "WARNING",
    "BucketRateLimiter",
    "Client",
    "ClientError",
    "ClientListerWatcher",
    "Clock",
    "Config",
    "ConfigError",
    "DeletedFinalStateUnknown",
    "Discovery",
    "EventCorrelator",
    "EventHandlerFuncs",
    "EventRecorder",
    "FakeClock",
    "FakeListerWatcher",
    "HttpRequest",
    "IndexFunc",
    "Indexer",
    "Informer",
    "ItemExponentialFailureRateLimiter",
    "LeaderElectionConfig",
    "LeaderElectionRecord",
    "LeaderElector",
    "LeaseLock",
    "ListerWatcher",
    "LoopClock",
    "MaxOfRateLimiter",
    "MockResponse",
    "MockTransport",
    "NoMatchError",
    "RateLimiter",
    "ResourceEventHandler",
    "ResourceInfo",
    "ResourceLock",
    "ResourceRef",
    "Selector",
    "SharedInformerFactory",
    "ShutDown",
    "StatusError",
    "Transport",
    "TransportError",
    "WatchEvent",
    "WatchStream",
    "WorkQueue",
    "builtin_resource",
    "by_namespace",
    "by_node_name",
    "default_controller_rate_limiter",
    "is_already_exists",
    "is_conflict",
    "is_forbidden",
    "is_gone",
    "is_invalid",
    "is_not_found",
    "is_too_many_requests",
    "load_config",
    "load_incluster_config",
    "load_kubeconfig",
    "meta_namespace_key",
    "object_of",
    "object_reference",
    "split_key",
]
