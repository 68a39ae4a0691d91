"""Hollow nodes against a real `kyb server`, driven by the real kubectl: 50 nodes register
and stay Ready, pods bound to them run, finish and are deleted promptly, a silenced node's
Lease goes stale, and `kyb hollow-nodes` runs as a command.

Leases here last 4 s (renewed every second) so that freshness shows within seconds; no
timing is asserted: conditions are polled with a deadline (`eventually`).
"""

from __future__ import annotations

import ipaddress
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kybernetes.testing.hollow import HollowCluster
from kybernetes.testing.server import ServerProcess

COUNT = 50
PREFIX = "hollow-"
DEADLINE = 60.0


def eventually(check: Callable[[], Any], message: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline}s: {message}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def hollow(kyb: ServerProcess) -> Iterator[HollowCluster]:
    with HollowCluster(kyb, count=COUNT, name_prefix=PREFIX, lease_duration_seconds=4,
                       node_status_report_seconds=10, job_duration_seconds=0.5,
                       zones=("zone-a", "zone-b")) as cluster:
        yield cluster


def get_json(kyb: ServerProcess, *args: str) -> Any:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


def renew_times(kyb: ServerProcess) -> dict[str, str]:
    leases = get_json(kyb, "leases", "-n", "kube-node-lease")["items"]
    return {lease["metadata"]["name"]: lease["spec"]["renewTime"] for lease in leases
            if lease["metadata"]["name"].startswith(PREFIX)}


def create_pod(kyb: ServerProcess, ns: str, name: str, node: str, **spec: Any) -> None:
    annotations = spec.pop("annotations", {})
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "annotations": annotations},
           "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}],
                    **spec}}
    kyb.kubectl("apply", "-f", "-", input=json.dumps(pod))


def wait_phase(kyb: ServerProcess, ns: str, name: str, phase: str) -> dict[str, Any]:
    kyb.kubectl("wait", "-n", ns, f"pod/{name}", f"--for=jsonpath={{.status.phase}}={phase}",
                "--timeout=60s")
    return get_json(kyb, "pod", "-n", ns, name)


def test_nodes_register_and_stay_ready(kyb: ServerProcess, hollow: HollowCluster) -> None:
    nodes = get_json(kyb, "nodes", "-l", "node.kubernetes.io/instance-type=hollow")["items"]
    names = sorted(n["metadata"]["name"] for n in nodes)
    assert names == sorted(hollow.node_names) and len(names) == COUNT
    for node in nodes:
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
        assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0"
        assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] in ("zone-a", "zone-b")
    wide = kyb.kubectl("get", "nodes", f"{PREFIX}0", "-o", "wide").stdout
    assert "Ready" in wide and "hollow://1.0" in wide and "172.16.0.1" in wide
    # Every Lease is renewed again and again (each one at least twice from here).
    first = renew_times(kyb)
    assert len(first) == COUNT
    eventually(lambda: all(t > first[n] for n, t in renew_times(kyb).items()),
               "every lease renewed once")
    second = renew_times(kyb)
    eventually(lambda: all(t > second[n] for n, t in renew_times(kyb).items()),
               "every lease renewed twice")
    assert not hollow.stats.errors, dict(hollow.stats.errors)


def test_a_pod_runs_with_an_ip_from_its_nodes_cidr(kyb: ServerProcess, hollow: HollowCluster,
                                                   ns: str) -> None:
    node = f"{PREFIX}7"
    create_pod(kyb, ns, "web", node)
    kyb.kubectl("wait", "-n", ns, "pod/web", "--for=condition=Ready", "--timeout=60s")
    pod = get_json(kyb, "pod", "-n", ns, "web")
    cidr = get_json(kyb, "node", node)["spec"]["podCIDR"]
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(cidr)
    assert pod["status"]["hostIP"] == "172.16.0.8"
    cs = pod["status"]["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and "running" in cs["state"]
    out = kyb.kubectl("get", "pod", "-n", ns, "web", "-o", "wide").stdout
    assert "Running" in out and "1/1" in out


def test_a_run_to_completion_pod_succeeds_or_fails(kyb: ServerProcess, hollow: HollowCluster,
                                                   ns: str) -> None:
    create_pod(kyb, ns, "ok", f"{PREFIX}1", restartPolicy="Never")
    create_pod(kyb, ns, "bad", f"{PREFIX}2", restartPolicy="Never",
               annotations={"hollow.kybernetes.io/exit-code": "3"})
    ok = wait_phase(kyb, ns, "ok", "Succeeded")
    assert ok["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    bad = wait_phase(kyb, ns, "bad", "Failed")
    assert bad["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    out = kyb.kubectl("get", "pods", "-n", ns).stdout
    assert "Completed" in out and "Error" in out


def test_kubectl_delete_pod_completes_promptly(kyb: ServerProcess, hollow: HollowCluster,
                                               ns: str) -> None:
    create_pod(kyb, ns, "web", f"{PREFIX}3")
    kyb.kubectl("wait", "-n", ns, "pod/web", "--for=condition=Ready", "--timeout=60s")
    # kubectl waits until the pod is gone; the pod's grace period is 30 s, the kubelet's
    # final delete comes after min(30, 1) s.
    kyb.kubectl("delete", "pod", "-n", ns, "web", "--timeout=20s")
    gone = kyb.kubectl("get", "pod", "-n", ns, "web", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_a_silenced_node_lets_its_lease_go_stale(kyb: ServerProcess,
                                                 hollow: HollowCluster) -> None:
    quiet, loud = f"{PREFIX}5", f"{PREFIX}6"
    hollow.stop_heartbeats(quiet)
    try:
        before = renew_times(kyb)
        eventually(lambda: renew_times(kyb)[loud] > before[loud], "another node renews")
        middle = renew_times(kyb)
        eventually(lambda: renew_times(kyb)[loud] > middle[loud], "another node renews again")
        assert renew_times(kyb)[quiet] == before[quiet]
    finally:
        hollow.resume_heartbeats(quiet)
    eventually(lambda: renew_times(kyb)[quiet] > before[quiet], "renewals resume")


def test_kyb_hollow_nodes_runs_until_sigterm(kyb: ServerProcess, tmp_path: Any) -> None:
    log = open(tmp_path / "hollow.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kybernetes.cli.main", "hollow-nodes", "--kubeconfig",
         str(kyb.kubeconfig), "--count", "3", "--name-prefix", "cli-", "--label", "team=cli",
         "--taint", "dedicated=cli:NoSchedule"],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        def ready() -> bool:
            nodes = get_json(kyb, "nodes", "-l", "team=cli")["items"]
            return len(nodes) == 3 and all(
                any(c["type"] == "Ready" and c["status"] == "True"
                    for c in n["status"]["conditions"]) for n in nodes)

        eventually(ready, "3 nodes from `kyb hollow-nodes` Ready")
        node = get_json(kyb, "node", "cli-0")
        assert node["spec"]["taints"] == [{"key": "dedicated", "value": "cli",
                                           "effect": "NoSchedule"}]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    output = (tmp_path / "hollow.log").read_text()
    assert code == 0, output
    assert "Traceback" not in output, output

