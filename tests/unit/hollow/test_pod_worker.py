"""PodWorker on virtual time: a real Informer over an in-memory pod list, real requests to
`FakeAPI`. Pods on our nodes start, finish, and are deleted; others are not touched."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
from collections.abc import Awaitable, Callable
from datetime import timedelta

from kybernetes.client import FakeClock, Informer, by_node_name
from kybernetes.hollow import HollowOptions
from kybernetes.hollow.app import identities
from kybernetes.hollow.lifecycle import Timing
from kybernetes.hollow.node_state import HollowNode, Stats
from kybernetes.hollow.pod_worker import NODE_INDEX, PodWorker
from kybernetes.hollow.timefmt import rfc3339

from .support import FakeAPI, make_pod, run

Scenario = Callable[[FakeAPI, PodWorker, FakeClock], Awaitable[None]]


def scenario(body: Scenario, *, cidr: bool = True) -> None:
    async def main() -> None:
        clock = FakeClock()
        api = FakeAPI()
        opts = HollowOptions(count=2, name_prefix="n").validate()
        nodes = {}
        for ident in identities(opts):
            node = HollowNode(ident=ident, registered=True, uid=f"uid-{ident.name}")
            if cidr:
                node.set_pod_cidr(ident.pod_cidr)
            nodes[ident.name] = node
        informer = Informer(api.pods, clock=clock, indexers={NODE_INDEX: by_node_name})
        async with api.client(clock) as client:
            worker = PodWorker(client, informer, nodes, Stats(), workers=2,
                               timing=Timing(job_duration_seconds=1, kill_delay_seconds=1))
            informer.start()
            task = asyncio.create_task(worker.run())
            try:
                await clock.advance(0)
                await body(api, worker, clock)
            finally:
                task.cancel()
                await informer.stop()
                await asyncio.gather(task, return_exceptions=True)

    run(main())


def status(api: FakeAPI, name: str) -> dict:
    return api.pods.objects[f"ns/{name}"]["status"]


def test_a_pod_runs_with_an_address_from_its_nodes_cidr() -> None:
    async def body(api: FakeAPI, worker: PodWorker, clock: FakeClock) -> None:
        api.pods.add(make_pod("web", node="n1"))
        api.pods.add(make_pod("host", node="n1", host_network=True))
        await clock.advance(0)
        web = status(api, "web")
        assert web["phase"] == "Running" and web["hostIP"] == "172.16.0.2"
        assert ipaddress.ip_address(web["podIP"]) in ipaddress.ip_network("10.244.1.0/24")
        assert status(api, "host")["podIP"] == "172.16.0.2"
        # One PATCH each, and nothing more while nothing changes.
        assert api.count(lambda m, p: m == "PATCH") == 2
        await clock.advance(3600)
        assert api.count(lambda m, p: m == "PATCH") == 2

    scenario(body)


def test_pods_of_other_nodes_are_not_ours() -> None:
    async def body(api: FakeAPI, worker: PodWorker, clock: FakeClock) -> None:
        api.pods.add(make_pod("elsewhere", node="real-node"))
        await clock.advance(10)
        assert status(api, "elsewhere")["phase"] == "Pending"
        assert api.requests == []

    scenario(body)


def test_a_job_pod_completes_on_time_and_frees_its_address() -> None:
    async def body(api: FakeAPI, worker: PodWorker, clock: FakeClock) -> None:
        api.pods.add(make_pod("job", node="n0", owner_kind="Job", restart="Never"))
        await clock.advance(0.5)
        assert status(api, "job")["phase"] == "Running"
        assert len(worker.nodes["n0"].allocator or ()) == 1
        await clock.advance(0.5)
        assert status(api, "job")["phase"] == "Succeeded"
        assert len(worker.nodes["n0"].allocator or ()) == 0

    scenario(body)


def test_graceful_deletion_ends_with_the_kubelets_final_delete() -> None:
    async def body(api: FakeAPI, worker: PodWorker, clock: FakeClock) -> None:
        api.pods.add(make_pod("web", node="n0"))
        await clock.advance(5)
        pod = copy.deepcopy(api.pods.objects["ns/web"])
        pod["metadata"]["deletionTimestamp"] = rfc3339(clock.wall() + timedelta(seconds=30))
        pod["metadata"]["deletionGracePeriodSeconds"] = 30
        api.pods.modify(pod)  # what `kubectl delete pod web` does
        await clock.advance(0.5)
        assert "ns/web" in api.pods.objects
        await clock.advance(0.5)
        assert "ns/web" not in api.pods.objects
        methods = [(m, p.rsplit("/", 1)[-1]) for m, p in api.requests]
        assert methods[-2:] == [("PATCH", "status"), ("DELETE", "web")]
        assert len(worker.nodes["n0"].allocator or ()) == 0

    scenario(body)


def test_without_a_cidr_pods_wait_for_node_ipam() -> None:
    async def body(api: FakeAPI, worker: PodWorker, clock: FakeClock) -> None:
        api.pods.add(make_pod("web", node="n0"))
        await clock.advance(10)
        assert status(api, "web")["phase"] == "Pending"
        worker.nodes["n0"].set_pod_cidr("10.99.0.0/24")  # the node informer saw IPAM's write
        worker.enqueue_node("n0")
        await clock.advance(0)
        assert status(api, "web")["podIP"] == "10.99.0.2"

    scenario(body, cidr=False)


def test_a_frozen_node_leaves_its_pods_until_resumed() -> None:
    async def body(api: FakeAPI, worker: PodWorker, clock: FakeClock) -> None:
        worker.nodes["n0"].pods_frozen = True
        api.pods.add(make_pod("web", node="n0"))
        await clock.advance(10)
        assert status(api, "web")["phase"] == "Pending"
        worker.nodes["n0"].pods_frozen = False
        worker.enqueue_node("n0")
        await clock.advance(0)
        assert status(api, "web")["phase"] == "Running"

    scenario(body)


def test_addresses_pods_already_have_are_not_handed_out_again() -> None:
    async def body(api: FakeAPI, worker: PodWorker, clock: FakeClock) -> None:
        old = make_pod("old", node="n0")
        old["status"] = {"phase": "Running", "podIP": "10.244.0.2"}
        api.pods.add(old)
        await clock.advance(0)
        api.pods.add(make_pod("new", node="n0"))
        await clock.advance(0)
        assert status(api, "new")["podIP"] == "10.244.0.3"

    scenario(body)
