"""Heartbeats on virtual time against an in-memory API: registration, the request budget
per node, silencing, adoption, conflicts, failures, and a Node deleted under us."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from kybernetes.client import FakeClock
from kybernetes.hollow import HollowOptions
from kybernetes.hollow.app import identities
from kybernetes.hollow.heartbeat import Heartbeats
from kybernetes.hollow.node_state import HollowNode, Stats
from kybernetes.hollow.nodes import build_node

from .support import FakeAPI, at, run

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"

Scenario = Callable[[FakeAPI, Heartbeats, FakeClock], Awaitable[None]]


def scenario(body: Scenario, *, count: int = 3, api: FakeAPI | None = None,
             **options: object) -> None:
    async def main() -> None:
        clock = FakeClock()
        fake = api or FakeAPI()
        opts = HollowOptions(count=count, heartbeat_workers=4, **options).validate()  # type: ignore[arg-type]
        nodes = {i.name: HollowNode(ident=i) for i in identities(opts)}
        async with fake.client(clock) as client:
            beats = Heartbeats(client, opts, nodes, Stats(), rng=random.Random(7))
            task = asyncio.create_task(beats.run())
            try:
                await clock.advance(0)
                await body(fake, beats, clock)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    run(main())


def renew_time(api: FakeAPI, name: str) -> str:
    return api.leases[name]["spec"]["renewTime"]


def test_registration_creates_each_node_and_lease_in_two_requests() -> None:
    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        assert beats.all_registered.is_set()
        assert sorted(api.nodes) == ["hollow-node-0", "hollow-node-1", "hollow-node-2"]
        assert api.count(lambda m, p: m == "POST") == 6 and len(api.requests) == 6
        lease = api.leases["hollow-node-1"]
        assert lease["metadata"]["ownerReferences"][0]["uid"] == "uid-hollow-node-1"
        assert lease["spec"]["renewTime"] == "2026-01-01T00:00:00.000000Z"
        assert all(n.registered and n.pod_cidr for n in beats.nodes.values())

    scenario(body)


def test_a_minute_costs_each_node_about_seven_requests() -> None:
    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        api.requests.clear()
        await clock.advance(60)
        for name in beats.nodes:
            puts = api.count(lambda m, p, n=name: m == "PUT" and p == f"{LEASES}/{n}")
            reports = api.count(lambda m, p, n=name: m == "PATCH" and
                                p == f"/api/v1/nodes/{n}/status")
            assert 5 <= puts <= 6, (name, puts)  # every 10 s x (1 + up to 4 % jitter)
            assert reports == 1
        assert len(api.requests) <= 7 * len(beats.nodes)
        # Renewals landed at their virtual instants, and the Node's heartbeat moved.
        renewed = {renew_time(api, n) for n in beats.nodes}
        assert all(t > "2026-01-01T00:00:45" for t in renewed)
        ready = next(c for c in api.nodes["hollow-node-0"]["status"]["conditions"]
                     if c["type"] == "Ready")
        assert ready["lastHeartbeatTime"] > ready["lastTransitionTime"]

    scenario(body, count=20)


def test_renewals_are_spread_over_the_interval() -> None:
    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        api.requests.clear()
        busiest = 0
        for _ in range(10):
            before = len(api.requests)
            await clock.advance(1)
            busiest = max(busiest, len(api.requests) - before)
        # 100 nodes renewing every 10 s: ~10 a second, never all at once.
        assert busiest < 30

    scenario(body, count=100)


def test_a_silenced_node_lets_its_lease_go_stale_until_resumed() -> None:
    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        await clock.advance(15)
        await beats.silence(["hollow-node-1"])
        frozen = renew_time(api, "hollow-node-1")
        other = renew_time(api, "hollow-node-0")
        await clock.advance(120)
        assert renew_time(api, "hollow-node-1") == frozen
        assert renew_time(api, "hollow-node-0") > other
        api.requests.clear()
        beats.unsilence(["hollow-node-1"])
        await clock.advance(0)
        assert renew_time(api, "hollow-node-1") == "2026-01-01T00:02:15.000000Z"
        assert ("PATCH", "/api/v1/nodes/hollow-node-1/status") in api.requests

    scenario(body)


def test_a_node_left_from_an_earlier_run_is_adopted() -> None:
    api = FakeAPI()
    opts = HollowOptions(count=1).validate()
    old = build_node(identities(opts)[0], opts, at(-3600))
    old["spec"] = {"podCIDR": "10.9.0.0/24", "podCIDRs": ["10.9.0.0/24"]}  # from node IPAM
    old["metadata"]["labels"]["node.kubernetes.io/instance-type"] = "old"
    api.nodes["hollow-node-0"] = api._stamp(old)

    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        assert [m for m, _ in api.requests] == ["POST", "GET", "PATCH", "PATCH", "POST"]
        node = api.nodes["hollow-node-0"]
        assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "hollow"
        assert beats.nodes["hollow-node-0"].pod_cidr == "10.9.0.0/24"
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["lastHeartbeatTime"] == "2026-01-01T00:00:00Z"

    scenario(body, count=1, api=api)


def test_a_lease_changed_behind_our_back_is_read_again() -> None:
    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        api.leases["hollow-node-0"] = api._stamp(api.leases["hollow-node-0"])  # bump its RV
        api.requests.clear()
        await clock.advance(10.5)
        mine = [(m, p) for m, p in api.requests if p.startswith(f"{LEASES}")
                and (p.endswith("/hollow-node-0") or m == "POST")]
        assert [m for m, _ in mine] == ["PUT", "POST", "GET", "PUT"]
        assert renew_time(api, "hollow-node-0") > "2026-01-01T00:00:00.000000Z"

    scenario(body, count=1)


def test_a_failed_renewal_is_retried_with_backoff() -> None:
    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        api.fail[("PUT", f"{LEASES}/hollow-node-0")] = 500
        await clock.advance(10.5)
        assert beats.stats.errors["lease"] == 1
        assert renew_time(api, "hollow-node-0") > "2026-01-01T00:00:00.000000Z"

    scenario(body, count=1)


def test_a_deleted_node_is_left_alone() -> None:
    async def body(api: FakeAPI, beats: Heartbeats, clock: FakeClock) -> None:
        del api.nodes["hollow-node-0"]
        await clock.advance(61)
        assert beats.nodes["hollow-node-0"].gone
        api.requests.clear()
        await clock.advance(120)
        assert api.requests == []

    scenario(body, count=1)
