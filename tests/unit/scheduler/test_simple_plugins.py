"""NodeUnschedulable, NodeName, NodePorts, SchedulingGates, PrioritySort, ImageLocality."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.scheduler.framework.status import Code
from kybernetes.scheduler.framework.types import PodInfo, QueuedPodInfo
from kybernetes.scheduler.plugins import imagelocality, nodename, nodeports, nodeunschedulable
from kybernetes.scheduler.plugins.prioritysort import PrioritySort
from kybernetes.scheduler.plugins.schedulinggates import SchedulingGates

from .builders import (
    FakeHandle,
    container,
    filter_nodes,
    make_node,
    make_pod,
    reasons,
    score_nodes,
    snapshot,
    toleration,
)

UNSCHEDULABLE_TOLERATION = toleration("node.kubernetes.io/unschedulable", effect="NoSchedule",
                                      operator="Exists")


@pytest.mark.parametrize(("cordoned", "tolerations", "fits"), [
    pytest.param(False, [], True, id="schedulable-node"),
    pytest.param(True, [], False, id="cordoned"),
    pytest.param(True, [UNSCHEDULABLE_TOLERATION], True, id="cordoned-tolerated"),
    pytest.param(True, [toleration(operator="Exists")], True, id="tolerate-everything"),
    pytest.param(True, [toleration("node.kubernetes.io/unschedulable", effect="NoExecute",
                                   operator="Exists")], False, id="wrong-effect"),
])
def test_node_unschedulable(cordoned: bool, tolerations: list[Any], fits: bool) -> None:
    statuses = filter_nodes(nodeunschedulable.new(None, FakeHandle()),
                            make_pod(tolerations=tolerations),
                            snapshot([make_node("n1", unschedulable=cordoned)]))
    status = statuses["n1"]
    if fits:
        assert status is None
    else:
        assert status is not None
        assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == ("node(s) were unschedulable",)


def test_node_name() -> None:
    snap = snapshot([make_node("n1"), make_node("n2")])
    plugin = nodename.new(None, FakeHandle())
    assert reasons(filter_nodes(plugin, make_pod(), snap)) == {"n1": (), "n2": ()}
    statuses = filter_nodes(plugin, make_pod(node="n2"), snap)
    assert reasons(statuses) == {"n1": ("node(s) didn't match the requested node name",),
                                 "n2": ()}
    assert statuses["n1"].code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def _port(host_port: int, protocol: str = "", host_ip: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"containerPort": 80, "hostPort": host_port}
    if protocol:
        out["protocol"] = protocol
    if host_ip:
        out["hostIP"] = host_ip
    return out


NODE_PORT_CASES = [
    pytest.param([_port(8080)], [_port(8080)], False, id="tcp-conflict"),
    pytest.param([_port(8080, "UDP")], [_port(8080)], True, id="udp-vs-tcp"),
    pytest.param([_port(8080, "UDP")], [_port(8080, "UDP")], False, id="udp-conflict"),
    pytest.param([_port(8080, host_ip="10.0.0.1")], [_port(8080, host_ip="10.0.0.2")], True,
                 id="different-host-ips"),
    pytest.param([_port(8080, host_ip="10.0.0.1")], [_port(8080)], False,
                 id="wildcard-wants-bound-ip"),
    pytest.param([_port(8080)], [_port(8080, host_ip="10.0.0.1")], False,
                 id="bound-ip-vs-existing-wildcard"),
    pytest.param([_port(8080)], [_port(9090)], True, id="other-port"),
    pytest.param([_port(8080)], [], True, id="no-host-ports"),
]


@pytest.mark.parametrize(("existing", "wanted", "fits"), NODE_PORT_CASES)
def test_node_ports(existing: list[Any], wanted: list[Any], fits: bool) -> None:
    snap = snapshot([make_node("n1")], [make_pod("old", node="n1", ports=existing)])
    status = filter_nodes(nodeports.new(None, FakeHandle()), make_pod(ports=wanted), snap)["n1"]
    if fits:
        assert status is None
    else:
        assert status is not None and status.code == Code.UNSCHEDULABLE
        assert status.reasons == ("node(s) didn't have free ports for the requested pod ports",)


def test_node_ports_counts_sidecar_ports() -> None:
    sidecar = container("proxy", restart_policy="Always", ports=[_port(15001)])
    snap = snapshot([make_node("n1")], [make_pod("old", node="n1", init_containers=[sidecar])])
    status = filter_nodes(nodeports.new(None, FakeHandle()), make_pod(ports=[_port(15001)]),
                          snap)["n1"]
    assert status is not None


@pytest.mark.parametrize(("gates", "message"), [
    pytest.param([], None, id="no-gates"),
    pytest.param(["example.com/a"], "waiting for scheduling gates: [example.com/a]", id="one"),
    pytest.param(["a", "b"], "waiting for scheduling gates: [a b]", id="two"),
])
def test_scheduling_gates(gates: list[str], message: str | None) -> None:
    status = SchedulingGates().pre_enqueue(PodInfo(make_pod(gates=gates)))
    if message is None:
        assert status is None
    else:
        assert status is not None and status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.message == message


@pytest.mark.parametrize(("a", "b", "a_first"), [
    pytest.param((10, 5.0), (0, 1.0), True, id="higher-priority-first"),
    pytest.param((0, 1.0), (10, 5.0), False, id="lower-priority-later"),
    pytest.param((5, 1.0), (5, 2.0), True, id="same-priority-older-first"),
    pytest.param((5, 2.0), (5, 1.0), False, id="same-priority-newer-later"),
])
def test_priority_sort(a: tuple[int, float], b: tuple[int, float], a_first: bool) -> None:
    qa = QueuedPodInfo(PodInfo(make_pod("a", priority=a[0])), timestamp=a[1])
    qb = QueuedPodInfo(PodInfo(make_pod("b", priority=b[0])), timestamp=b[1])
    assert PrioritySort().less(qa, qb) is a_first


MB = 1024 * 1024


@pytest.mark.parametrize(("image", "expected"), [
    pytest.param("nginx", {"n1": 7, "n2": 0, "n3": 0}, id="untagged-means-latest"),
    pytest.param("nginx:1.25", {"n1": 0, "n2": 0, "n3": 0}, id="absent-tag"),
    pytest.param("registry.io/app:v1", {"n1": 18, "n2": 18, "n3": 0}, id="spread-scales-down"),
])
def test_image_locality(image: str, expected: dict[str, int]) -> None:
    snap = snapshot([
        make_node("n1", images=[(["nginx:latest"], 300 * MB), (["registry.io/app:v1"], 300 * MB)]),
        make_node("n2", images=[(["registry.io/app:v1"], 300 * MB)]),
        make_node("n3"),
    ])
    handle = FakeHandle()
    scores = score_nodes(imagelocality.new(None, handle), make_pod(image=image), snap)
    assert scores == expected


def test_image_locality_priority_bounds() -> None:
    assert imagelocality.calculate_priority(0, 1) == 0
    assert imagelocality.calculate_priority(10**12, 1) == 100
    assert imagelocality.normalized_image_name("localhost:5000/app") == "localhost:5000/app:latest"
