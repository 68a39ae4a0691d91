"""`HollowNodes`: N simulated kubelets in one asyncio process; `run_hollow_nodes` runs them.

Wiring (every piece talks to the cluster through the one `Client`):

    Heartbeats ── (register|lease|status, node) queue ── heartbeat_workers tasks
        │ on_registered(node)
        ▼
    PodWorker ─── pod-key queue ── pod_workers tasks
        ▲ handlers enqueue keys of pods on our nodes
    pod informer (spec.nodeName!=, indexed by node)   node informer: podCIDR from node
                                                      IPAM, deletions, our Ready
                                                      condition overwritten

Test hooks on the running object: `stop_heartbeats(*names)` silences nodes
(no Lease renewals, no status reports, and by default no pod updates: a dead
kubelet), so node-lifecycle tests can watch a node go NotReady;
`resume_heartbeats(*names)` brings them back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from kybernetes.client import (
    Client,
    DeletedFinalStateUnknown,
    SharedInformerFactory,
    by_node_name,
    object_of,
)
from kybernetes.hollow.addresses import node_internal_ip, node_pod_cidr
from kybernetes.hollow.heartbeat import Heartbeats
from kybernetes.hollow.lifecycle import Timing
from kybernetes.hollow.node_state import HollowNode, Stats
from kybernetes.hollow.nodes import NodeIdentity
from kybernetes.hollow.options import HollowOptions
from kybernetes.hollow.pod_worker import NODE_INDEX, PodWorker

log = logging.getLogger("kybernetes.hollow")

Obj = dict[str, Any]


def identities(options: HollowOptions) -> list[NodeIdentity]:
    """Who the nodes are: names, InternalIPs and the pod CIDRs we would assign."""
    out = []
    for i, name in enumerate(options.node_names()):
        cidr = ""
        if options.pod_cidr_base:
            assert options.node_cidr_mask_size is not None, "validate() first"
            cidr = node_pod_cidr(options.pod_cidr_base, options.node_cidr_mask_size, i)
        out.append(NodeIdentity(name=name, index=i,
                                internal_ip=node_internal_ip(options.node_ip_base, i),
                                pod_cidr=cidr))
    return out


class HollowNodes:
    """The running simulation. Create, then `await run()` (until cancelled); the
    other methods may be called meanwhile from the same event loop."""

    def __init__(self, client: Client, options: HollowOptions) -> None:
        self.options = options.validate()
        self.client = client
        self.stats = Stats()
        self.nodes: dict[str, HollowNode] = {
            ident.name: HollowNode(ident=ident) for ident in identities(self.options)}
        self.factory = SharedInformerFactory(client)
        pods = self.factory.informer(("v1", "Pod"), field_selector="spec.nodeName!=",
                                     indexers={NODE_INDEX: by_node_name})
        # All Nodes, not only instance-type=hollow ones: --label may change that label.
        self.node_informer = self.factory.informer(("v1", "Node"))
        self.pods = PodWorker(client, pods, self.nodes, self.stats,
                              timing=Timing(job_duration_seconds=self.options.job_duration_seconds,
                                            kill_delay_seconds=self.options.kill_delay_seconds),
                              workers=self.options.pod_workers)
        self.heartbeats = Heartbeats(client, self.options, self.nodes, self.stats,
                                     on_registered=lambda node: self.pods.enqueue_node(node.name))
        self.node_informer.add_event_handler(on_add=self._on_node, on_update=self._on_node_update,
                                             on_delete=self._on_node_delete)

    @property
    def node_names(self) -> list[str]:
        return list(self.nodes)

    async def run(self) -> None:
        """Register the nodes, keep them alive and run their pods, until cancelled."""
        log.info("starting %d hollow nodes prefix=%s", len(self.nodes), self.options.name_prefix)
        self.factory.start()
        try:
            await asyncio.gather(self.heartbeats.run(), self.pods.run())
        finally:
            await self.factory.shutdown()

    async def wait_registered(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """True once every node has registered (Node and Lease exist) and the pod
        informer has synced; False if `timeout` seconds pass first."""
        async def ready() -> None:
            await self.heartbeats.all_registered.wait()
            await self.factory.wait_for_sync()

        try:
            await asyncio.wait_for(ready(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop_heartbeats(self, *names: str, pods: bool = True) -> None:
        """Silence nodes: no Lease renewals and no status reports; with `pods`, their
        pods are frozen too. Returns once none of their heartbeats is in flight, so
        their Leases stay as they are from then on."""
        self._check(names)
        for name in names:
            self.nodes[name].pods_frozen = pods
        await self.heartbeats.silence(names)

    def resume_heartbeats(self, *names: str) -> None:
        """Undo `stop_heartbeats`: renew and report at once, and look at the pods again."""
        self._check(names)
        for name in names:
            node = self.nodes[name]
            node.pods_frozen = False
            self.pods.enqueue_node(name)
        self.heartbeats.unsilence(names)

    def _check(self, names: Iterable[str]) -> None:
        unknown = [n for n in names if n not in self.nodes]
        if unknown:
            raise KeyError(f"not hollow nodes of this process: {', '.join(unknown)}")

    # --- node events ---------------------------------------------------------------------

    def _on_node(self, obj: Obj) -> None:
        node = self.nodes.get(obj["metadata"]["name"])
        if node is None or node.gone:
            return
        if node.registered and node.uid and obj["metadata"].get("uid") != node.uid:
            self.heartbeats.forget(node, "the Node was replaced by another object")
            return
        cidr = str((obj.get("spec") or {}).get("podCIDR") or "")
        if cidr and cidr != node.pod_cidr:
            node.set_pod_cidr(cidr)  # node IPAM's choice (even before we finish registering)
            if node.registered:
                self.pods.enqueue_node(node.name)
        if not node.registered:
            return
        ready = next((c for c in (obj.get("status") or {}).get("conditions") or ()
                      if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") != "True":
            # Someone (the node lifecycle controller) wrote our Ready condition: answer.
            self.heartbeats.report_now(node.name)

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        self._on_node(new)

    def _on_node_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        node_obj = object_of(obj)
        node = self.nodes.get((node_obj.get("metadata") or {}).get("name", ""))
        if node is not None and node.registered and (
                not node.uid or (node_obj.get("metadata") or {}).get("uid") == node.uid):
            self.heartbeats.forget(node, "the Node was deleted")


async def run_hollow_nodes(client: Client, options: HollowOptions) -> None:
    """Run `options.count` hollow nodes against the cluster of `client` until cancelled.

    `client` should allow the request rate hollow nodes need: build its config
    with `hollow_client_config(config, options.validate())`."""
    await HollowNodes(client, options).run()
