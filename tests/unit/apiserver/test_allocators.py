"""Service cluster IP and node port allocation over the memory store."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.apiserver.allocators import IP_PREFIX, PORT_PREFIX, ServiceAllocator
from kybernetes.storage.memory import MemoryStore


def svc(name: str, **spec: object) -> dict:
    base = {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}]}
    base.update(spec)
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": base}


def run(fn: Callable[[ServiceAllocator, MemoryStore], Awaitable[None]],
        cidr: str = "10.96.0.0/12") -> None:
    async def main() -> None:
        store = MemoryStore()
        await store.start()
        await fn(ServiceAllocator(store, cidr), store)
        await store.close()

    asyncio.run(main())


async def keys(store: MemoryStore, prefix: str) -> set[str]:
    return {kv.key[len(prefix):] for kv in (await store.list(prefix)).items}


def test_allocates_unique_ips_in_range() -> None:
    async def body(alloc: ServiceAllocator, store: MemoryStore) -> None:
        ips = set()
        for i in range(20):
            s = svc(f"s{i}")
            await alloc.allocate(s, None, dry_run=False)
            ips.add(s["spec"]["clusterIP"])
            assert s["spec"]["clusterIPs"] == [s["spec"]["clusterIP"]]
        assert len(ips) == 20
        assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12") for ip in ips)
        assert "10.96.0.1" not in ips  # the kubernetes service's
        assert await keys(store, IP_PREFIX) == ips

    run(body)


def test_small_range_fills_then_errors() -> None:
    async def body(alloc: ServiceAllocator, store: MemoryStore) -> None:
        # /29: 8 addresses, minus network, kubernetes and broadcast = 5 usable.
        for i in range(5):
            await alloc.allocate(svc(f"s{i}"), None, dry_run=False)
        with pytest.raises(StatusError) as err:
            await alloc.allocate(svc("full"), None, dry_run=False)
        assert "range is full" in err.value.message

    run(body, cidr="10.0.0.0/29")


def test_explicit_ip_taken_is_invalid() -> None:
    async def body(alloc: ServiceAllocator, store: MemoryStore) -> None:
        await alloc.allocate(svc("a", clusterIP="10.96.5.5"), None, dry_run=False)
        with pytest.raises(StatusError) as err:
            await alloc.allocate(svc("b", clusterIP="10.96.5.5"), None, dry_run=False)
        assert err.value.code == 422
        assert "provided IP is already allocated" in err.value.message
        with pytest.raises(StatusError):
            await alloc.allocate(svc("c", clusterIP="192.168.0.1"), None, dry_run=False)

    run(body)


@pytest.mark.parametrize("spec", [{"clusterIP": "None"}, {"type": "ExternalName",
                                                          "externalName": "x.example"}],
                         ids=["headless", "external-name"])
def test_no_ip_needed(spec: dict) -> None:
    async def body(alloc: ServiceAllocator, store: MemoryStore) -> None:
        s = svc("h", **spec)
        assert await alloc.allocate(s, None, dry_run=False) == []
        assert await keys(store, IP_PREFIX) == set()

    run(body)


def test_node_ports_and_release() -> None:
    async def body(alloc: ServiceAllocator, store: MemoryStore) -> None:
        s = svc("np", type="NodePort")
        await alloc.allocate(s, None, dry_run=False)
        port = s["spec"]["ports"][0]["nodePort"]
        assert 30000 <= port <= 32767
        assert await keys(store, PORT_PREFIX) == {str(port)}
        # An update that omits clusterIP and nodePort keeps both.
        new = svc("np", type="NodePort")
        taken = await alloc.allocate(new, s, dry_run=False)
        assert taken == []
        assert new["spec"]["clusterIP"] == s["spec"]["clusterIP"]
        assert new["spec"]["ports"][0]["nodePort"] == port
        # Switching to ClusterIP drops the node port once the write is done.
        plain = svc("np")
        await alloc.allocate(plain, new, dry_run=False)
        await alloc.release_unused(new, plain)
        assert await keys(store, PORT_PREFIX) == set()
        await alloc.release_unused(plain, None)
        assert await keys(store, IP_PREFIX) == set()

    run(body)


def test_dry_run_reserves_nothing() -> None:
    async def body(alloc: ServiceAllocator, store: MemoryStore) -> None:
        s = svc("d", type="NodePort")
        assert await alloc.allocate(s, None, dry_run=True) == []
        assert s["spec"]["clusterIP"]
        assert await keys(store, IP_PREFIX) == set()

    run(body)
