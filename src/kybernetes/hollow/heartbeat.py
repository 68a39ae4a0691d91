"""`Heartbeats`: registration, Lease renewals and node status reports for every node.

Hundreds of nodes, a handful of tasks: one delaying `WorkQueue` holds items
`(task, node)`, `task` in {register, lease, status}; `heartbeat_workers` tasks
take items and send one request (or two) each. A node's next heartbeat is a
timer on the queue, not a sleeping task.

    register --ok--> lease  every lease_duration/4 x (1 + 4 % jitter), first at a random
                            point of the interval so renewals spread evenly
                     status every node_status_report_seconds x (1 + 4 % jitter), and at
                            once when our Ready condition was overwritten or on resume
    any failure: the same item again after a per-item back-off (0.2 s doubling to 7 s,
    the kubelet's heartbeat retry)

Lease renewal is the kubelet's: PUT of the last Lease we hold (one request).
With no Lease in hand (first beat, or a 409/404 on the PUT): POST a new one,
and if it exists already, GET it and PUT.

`silence(names)` stops a node's items from doing anything (they are dropped
when taken); `unsilence(names)` queues a renewal and a status report at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from typing import Any

from kybernetes.client import (
    Client,
    ItemExponentialFailureRateLimiter,
    ShutDown,
    StatusError,
    WorkQueue,
    builtin_resource,
    is_already_exists,
    is_conflict,
    is_not_found,
)
from kybernetes.hollow.node_state import HollowNode, Stats
from kybernetes.hollow.nodes import (
    NODE_LEASE_NAMESPACE,
    adoption_patch,
    build_lease,
    build_node,
    renewed_lease,
    status_report_patch,
)
from kybernetes.hollow.options import HollowOptions

log = logging.getLogger("kybernetes.hollow.heartbeat")

Obj = dict[str, Any]
Item = tuple[str, str]

NODES = builtin_resource("v1", "Node")
LEASES = builtin_resource("coordination.k8s.io/v1", "Lease")
JITTER = 0.04  # kubelet's lease controller: wait.JitterUntil(..., 0.04, ...)
FORCED_REPORT_SECONDS = 5.0


class Heartbeats:
    """See the module docstring. `on_registered(node)` is called once per node when
    its Node and Lease exist (the pod loop starts on its pods then)."""

    def __init__(self, client: Client, options: HollowOptions, nodes: dict[str, HollowNode],
                 stats: Stats, *, on_registered: Callable[[HollowNode], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self.client = client
        self.options = options
        self.nodes = nodes
        self.stats = stats
        self.clock = client.clock
        self.on_registered = on_registered
        self.rng = rng or random.Random()
        self.queue: WorkQueue[Item] = WorkQueue(
            rate_limiter=ItemExponentialFailureRateLimiter(0.2, 7.0), clock=self.clock,
            name="hollow-heartbeats")
        self._inflight: dict[str, int] = {}
        self._idle = asyncio.Condition()
        self.all_registered = asyncio.Event()

    # --- control -------------------------------------------------------------------------

    async def run(self) -> None:
        """Register every node and keep them alive until cancelled."""
        for name in self.nodes:
            self.queue.add(("register", name))
        if not self.nodes:
            self.all_registered.set()
        workers = [asyncio.create_task(self._worker(), name=f"hollow heartbeat worker {i}")
                   for i in range(self.options.heartbeat_workers or 1)]
        try:
            await asyncio.gather(*workers)
        finally:
            self.queue.shutdown()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def silence(self, names: Iterable[str]) -> None:
        """Stop the heartbeats of `names`; returns once none of theirs is in flight."""
        wanted = set(names)
        for name in wanted:
            self.nodes[name].silenced = True
        async with self._idle:
            await self._idle.wait_for(lambda: not any(self._inflight.get(n) for n in wanted))

    def unsilence(self, names: Iterable[str]) -> None:
        for name in names:
            node = self.nodes[name]
            if node.silenced:
                node.silenced = False
                if node.registered:
                    self.queue.add(("lease", name))
                    self.queue.add(("status", name))

    def report_now(self, name: str) -> None:
        """A status report as soon as a worker is free (our condition was overwritten);
        at most one per FORCED_REPORT_SECONDS per node, so that a writer who keeps
        overwriting it does not get into a fast duel with us."""
        node = self.nodes.get(name)
        if node is None or not node.registered or node.silenced or node.gone:
            return
        now = self.clock.now()
        last = node.forced_report_at
        if last is not None and now - last < FORCED_REPORT_SECONDS:
            return
        node.forced_report_at = now
        self.queue.add(("status", name))

    # --- the worker ----------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            try:
                item = await self.queue.get()
            except ShutDown:
                return
            task, name = item
            node = self.nodes[name]
            self._inflight[name] = self._inflight.get(name, 0) + 1
            try:
                if node.gone or (node.silenced and task != "register"):
                    continue
                await self._do(task, node)
                self.queue.forget(item)
                self._schedule_next(task, node)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.stats.errors[task] += 1
                if self.queue.num_requeues(item) % 10 == 0:  # the first, then every 10th
                    log.warning("heartbeat failed task=%s node=%s error=%s", task, name, err)
                self.queue.add_rate_limited(item)
            finally:
                self._inflight[name] -= 1
                self.queue.done(item)
                async with self._idle:
                    self._idle.notify_all()

    async def _do(self, task: str, node: HollowNode) -> None:
        if task == "register":
            await self._register(node)
        elif task == "lease":
            await self._renew(node)
        elif task == "status":
            await self._report(node)

    def _schedule_next(self, task: str, node: HollowNode) -> None:
        if node.gone:
            return
        lease_every = self.options.lease_renew_interval_seconds
        status_every = self.options.node_status_report_seconds
        if task == "register":
            # Spread the nodes' beats evenly over their periods.
            self.queue.add_after(("lease", node.name), lease_every * self.rng.random())
            self.queue.add_after(("status", node.name), status_every * self.rng.random())
        elif task == "lease":
            self.queue.add_after(("lease", node.name),
                                 lease_every * (1 + JITTER * self.rng.random()))
        elif task == "status":
            self.queue.add_after(("status", node.name),
                                 status_every * (1 + JITTER * self.rng.random()))

    # --- requests ------------------------------------------------------------------------

    async def _register(self, node: HollowNode) -> None:
        now = self.clock.wall()
        try:
            self.stats.requests["node_create"] += 1
            created = await self.client.create(NODES, build_node(node.ident, self.options, now))
            node.reported_full = True
            node.conditions = (created.get("status") or {}).get("conditions")
            self._take_node(node, created)
        except StatusError as err:
            if not is_already_exists(err):
                raise
            await self._adopt(node)
        await self._renew(node)
        if not node.registered:
            node.registered = True
            log.debug("registered node=%s podCIDR=%s", node.name, node.pod_cidr or "-")
            if self.on_registered is not None:
                self.on_registered(node)
            if all(n.registered for n in self.nodes.values()):
                self.all_registered.set()
                log.info("registered %d hollow nodes", len(self.nodes))

    async def _adopt(self, node: HollowNode) -> None:
        """The Node is left from an earlier run: make it ours again (labels, CIDR, full
        status), as the kubelet reconciles an existing Node on re-registration."""
        self.stats.requests["node_get"] += 1
        existing = await self.client.get(NODES, node.name)
        patch = adoption_patch(existing, node.ident, self.options)
        if patch is not None:
            self.stats.requests["node_patch"] += 1
            existing = await self.client.patch(NODES, node.name, patch)
        self._take_node(node, existing)
        node.conditions = (existing.get("status") or {}).get("conditions")
        node.reported_full = False
        await self._report(node)

    @staticmethod
    def _take_node(node: HollowNode, obj: Obj) -> None:
        node.uid = str((obj.get("metadata") or {}).get("uid") or "")
        node.set_pod_cidr(str((obj.get("spec") or {}).get("podCIDR") or ""))

    async def _renew(self, node: HollowNode) -> None:
        now = self.clock.wall()
        duration = self.options.lease_duration_seconds
        if node.lease is not None:
            try:
                self.stats.requests["lease_update"] += 1
                node.lease = await self.client.update(
                    LEASES, renewed_lease(node.lease, node.name, node.uid, now, duration))
                return
            except StatusError as err:
                if not (is_conflict(err) or is_not_found(err)):
                    raise
                node.lease = None
        # No Lease in hand (first beat of this run, or ours was stale): create it, and
        # if it exists, renew the current one.
        try:
            self.stats.requests["lease_create"] += 1
            node.lease = await self.client.create(
                LEASES, build_lease(node.name, node.uid, now, duration))
            return
        except StatusError as err:
            if not is_already_exists(err):
                raise
        self.stats.requests["lease_get"] += 1
        current = await self.client.get(LEASES, node.name, namespace=NODE_LEASE_NAMESPACE)
        self.stats.requests["lease_update"] += 1
        node.lease = await self.client.update(
            LEASES, renewed_lease(current, node.name, node.uid, now, duration))

    async def _report(self, node: HollowNode) -> None:
        patch = status_report_patch(node.ident, self.options, self.clock.wall(), node.conditions,
                                    full=not node.reported_full)
        self.stats.requests["node_status"] += 1
        try:
            updated = await self.client.patch(NODES, node.name, patch,
                                              patch_type="strategic", subresource="status")
        except StatusError as err:
            if is_not_found(err) and node.registered:
                self.forget(node, "the Node was deleted")
                return
            raise
        node.reported_full = True
        node.conditions = (updated.get("status") or {}).get("conditions")
        node.set_pod_cidr(str((updated.get("spec") or {}).get("podCIDR") or ""))

    def forget(self, node: HollowNode, why: str) -> None:
        """Stop all work for a node that someone else deleted."""
        if not node.gone:
            node.gone = True
            log.warning("node=%s: %s; no more heartbeats for it (restart the process to "
                        "register it again)", node.name, why)
