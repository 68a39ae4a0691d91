"""Node IPAM: pod CIDRs handed out round-robin, once per node, per IP family."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from kybernetes.client import FakeClock, builtin_resource
from kybernetes.controllers.nodeipam import CidrSet, NodeIpamController, cidr_sets

from .fake_api import FakeApi, context, fill

NODES = builtin_resource("v1", "Node")


def test_cidr_set_hands_out_after_the_last_one() -> None:
    s = CidrSet(ipaddress.ip_network("10.42.0.0/22"), 24)
    assert [s.allocate([]) for _ in range(2)] == ["10.42.0.0/24", "10.42.1.0/24"]
    # 10.42.0.0/24 freed: not reused before the others
    assert s.allocate(["10.42.1.0/24", "10.42.2.0/24"]) == "10.42.3.0/24"
    assert s.allocate(["10.42.1.0/24", "10.42.2.0/24", "10.42.3.0/24"]) == "10.42.0.0/24"
    assert s.allocate(["10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24", "10.42.3.0/24"]) is None


def test_foreign_cidrs_are_ignored() -> None:
    s = CidrSet(ipaddress.ip_network("10.42.0.0/23"), 24)
    assert s.allocate(["192.168.0.0/24", "10.42.0.0/25", "garbage"]) == "10.42.0.0/24"


@pytest.mark.parametrize(("cidr", "families"), [
    ("10.42.0.0/16", [(4, 24)]),
    ("10.42.0.0/16,fd42::/56", [(4, 24), (6, 64)]),
])
def test_cluster_cidrs(cidr: str, families: list[tuple[int, int]]) -> None:
    assert [(s.cluster.version, s.mask) for s in cidr_sets(cidr)] == families


@pytest.mark.parametrize("cidr", ["10.0.0.0/16,10.1.0.0/16", "10.0.0.0/25", ""])
def test_bad_cluster_cidrs(cidr: str) -> None:
    with pytest.raises(ValueError):
        cidr_sets(cidr)


def test_nodes_get_one_cidr_each_once() -> None:
    async def main() -> None:
        api = FakeApi(FakeClock())
        ctrl = NodeIpamController(context(api, cluster_cidr="10.42.0.0/16,fd42::/56"))
        nodes = [api.put(NODES, {"metadata": {"name": n, "uid": n}}) for n in ("a", "b")]
        done = api.put(NODES, {"metadata": {"name": "c", "uid": "c"},
                               "spec": {"podCIDR": "10.42.0.0/24"}})
        fill(ctrl.nodes, [*nodes, done])
        for name in ("a", "b", "c", "a"):  # "a" again before the cache shows its CIDRs
            await ctrl.reconcile(name)
        patches = {c[2]: c[3]["spec"] for c in api.writes("patch")}
        assert patches == {
            "a": {"podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24", "fd42::/64"]},
            "b": {"podCIDR": "10.42.2.0/24", "podCIDRs": ["10.42.2.0/24", "fd42:0:0:1::/64"]}}

    asyncio.run(main())


def test_no_cidr_left_is_an_event() -> None:
    async def main() -> None:
        api = FakeApi(FakeClock())
        ctrl = NodeIpamController(context(api, cluster_cidr="10.42.0.0/24"))
        fill(ctrl.nodes, [api.put(NODES, {"metadata": {"name": "a", "uid": "a"},
                                          "spec": {"podCIDR": "10.42.0.0/24"}}),
                          api.put(NODES, {"metadata": {"name": "b", "uid": "b"}})])
        await ctrl.reconcile("b")
        await ctrl.recorder.flush()
        assert api.writes() == []
        assert api.events() == [("CIDRNotAvailable", "Node b status is now: CIDRNotAvailable")]

    asyncio.run(main())
