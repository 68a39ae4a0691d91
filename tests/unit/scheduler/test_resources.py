"""Pod requests (init containers, sidecars, overhead, non-zero defaults) and NodeInfo accounting."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.framework.resources import (
    NON_ZERO_DEFAULTS,
    Resource,
    is_scalar_resource_name,
    pod_requests,
)
from kybernetes.scheduler.framework.types import HostPortInfo, NodeInfo, PodInfo

from .builders import container, make_node, make_pod

GI = 1024**3

REQUEST_CASES = [
    pytest.param(make_pod(cpu="100m", memory="1Gi"), 100, GI, id="one-container"),
    pytest.param(make_pod(containers=[container(cpu="1"), container(cpu="500m")]), 1500, 0,
                 id="containers-sum"),
    # upstream's example: IC1 2/1G, IC2 2/3G, C1 2/1G, C2 1/1G -> 3 cpu, 3G
    pytest.param(make_pod(init_containers=[container(cpu="2", memory="1G"),
                                           container(cpu="2", memory="3G")],
                          containers=[container(cpu="2", memory="1G"),
                                      container(cpu="1", memory="1G")]),
                 3000, 3 * 10**9, id="init-max-rule"),
    pytest.param(make_pod(init_containers=[container(cpu="4")], containers=[container(cpu="1")]),
                 4000, 0, id="init-larger-than-sum"),
    pytest.param(make_pod(init_containers=[container(cpu="1", restart_policy="Always"),
                                           container(cpu="2")],
                          containers=[container(cpu="500m")]),
                 3000, 0, id="sidecar-adds-to-later-init"),
    pytest.param(make_pod(init_containers=[container(cpu="1", restart_policy="Always")],
                          containers=[container(cpu="500m")]),
                 1500, 0, id="sidecar-adds-to-containers"),
    pytest.param(make_pod(cpu="1", overhead={"cpu": "250m", "memory": "120Mi"}), 1250,
                 120 * 1024**2, id="overhead-added"),
    pytest.param(make_pod(containers=[container(cpu="1m"), container(cpu="0.5m")]), 2, 0,
                 id="sum-then-round-up"),
]


@pytest.mark.parametrize(("pod", "milli_cpu", "memory"), REQUEST_CASES)
def test_pod_requests(pod: dict[str, Any], milli_cpu: int, memory: int) -> None:
    requests = PodInfo(pod).requests
    assert (requests.milli_cpu, requests.memory) == (milli_cpu, memory)


@pytest.mark.parametrize(("pod", "non0_cpu", "non0_mem"), [
    pytest.param(make_pod(), 100, 200 * 1024**2, id="nothing-requested"),
    pytest.param(make_pod(cpu="0"), 0, 200 * 1024**2, id="explicit-zero-is-kept"),
    pytest.param(make_pod(containers=[container(cpu="1"), container()]), 1100, 400 * 1024**2,
                 id="per-container-defaults"),
    pytest.param(make_pod(init_containers=[container(cpu="3")], containers=[container()]),
                 3000, 200 * 1024**2, id="init-max-with-defaults"),
])
def test_non_zero_requests(pod: dict[str, Any], non0_cpu: int, non0_mem: int) -> None:
    info = PodInfo(pod)
    assert (info.non0_cpu, info.non0_mem) == (non0_cpu, non0_mem)
    assert set(NON_ZERO_DEFAULTS) == {"cpu", "memory"}


def test_extended_and_hugepages_are_scalar() -> None:
    spec = make_pod(**{"example.com/gpu": "2", "hugepages-2Mi": "4Mi"})["spec"]
    res = Resource.from_requests(pod_requests(spec))
    assert res.scalar == {"example.com/gpu": 2, "hugepages-2Mi": 4 * 1024**2}
    assert is_scalar_resource_name("example.com/gpu")
    assert not is_scalar_resource_name("kubernetes.io/foo")
    assert not is_scalar_resource_name("requests.example.com/x")


def test_node_info_accounts_pods_and_clones() -> None:
    node = NodeInfo(make_node(cpu="2", memory="4Gi", pods=10))
    a = PodInfo(make_pod("a", cpu="500m", memory="1Gi", ports=[{"containerPort": 80,
                                                                 "hostPort": 8080}]))
    b = PodInfo(make_pod("b"))
    node.add_pod(a)
    node.add_pod(b)
    assert node.requested == Resource(500, GI)
    assert (node.non_zero_requested.milli_cpu, node.non_zero_requested.memory) == (
        600, GI + 200 * 1024**2)
    assert node.allocatable == Resource(2000, 4 * GI, allowed_pod_number=10)
    copy = node.clone()
    copy.remove_pod(a)
    assert copy.requested == Resource(0, 0) and len(copy.used_ports) == 0
    assert node.requested == Resource(500, GI) and len(node.used_ports) == 1
    with pytest.raises(KeyError):
        copy.remove_pod(a)


PORT_CASES = [
    # existing (ip, proto, port), wanted (ip, proto, port), conflict
    pytest.param(("", "TCP", 80), ("", "TCP", 80), True, id="same-port-all-ips"),
    pytest.param(("", "TCP", 80), ("", "UDP", 80), False, id="other-protocol"),
    pytest.param(("", "TCP", 80), ("", "", 80), True, id="protocol-defaults-to-tcp"),
    pytest.param(("10.0.0.1", "TCP", 80), ("10.0.0.2", "TCP", 80), False, id="different-ips"),
    pytest.param(("10.0.0.1", "TCP", 80), ("10.0.0.1", "TCP", 80), True, id="same-ip"),
    pytest.param(("10.0.0.1", "TCP", 80), ("0.0.0.0", "TCP", 80), True, id="wildcard-vs-ip"),
    pytest.param(("0.0.0.0", "TCP", 80), ("10.0.0.1", "TCP", 80), True, id="ip-vs-wildcard"),
    pytest.param(("", "SCTP", 80), ("", "SCTP", 81), False, id="other-port"),
    pytest.param(("", "TCP", 80), ("", "TCP", 0), False, id="no-host-port"),
]


@pytest.mark.parametrize(("existing", "wanted", "conflict"), PORT_CASES)
def test_host_port_conflicts(existing: tuple[str, str, int], wanted: tuple[str, str, int],
                             conflict: bool) -> None:
    ports = HostPortInfo()
    ports.add(*existing)
    assert ports.check_conflict(*wanted) is conflict
