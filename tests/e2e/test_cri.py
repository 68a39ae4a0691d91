"""kybernetes.cri against a real containerd: managed daemon, offline images, CNI, pods.

Each xdist worker runs its own managed containerd in a temporary data directory, with
its own bridge, pod subnet and cgroup parent, so workers never meet. Everything the
tests create is removed at the end, also after a failure: sandboxes through CRI, then
the daemon, then (k3s-killall style) any container, shim or mount left under the data
directory, the cgroups and the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kybernetes.cri import (
    Containerd,
    ContainerdConfig,
    NotFound,
    RuntimeClient,
    killall,
)
from kybernetes.cri.images import (
    BUSYBOX_IMAGE,
    PAUSE_IMAGE,
    PINNED_LABEL,
    build_busybox,
    import_builtin_images,
    import_dir,
)
from kybernetes.cri.images.builtin import INDEX_HTML

T = TypeVar("T")
MiB = 1024 * 1024
CRI_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (stdout|stderr) (F|P) "
)


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (containerd, CNI, cgroups): run the tests as root"
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        return "containerd is not installed: run scripts/deps.sh as root"
    if shutil.which("runc") is None and not Path("/usr/sbin/runc").exists():
        return "runc is not installed: run scripts/deps.sh as root"
    if not Path("/usr/lib/cni/bridge").exists():
        return "the CNI plugins are not installed: run scripts/deps.sh as root"
    if shutil.which("iptables") is None and not Path("/usr/sbin/iptables").exists():
        return "iptables is not installed: run scripts/deps.sh as root"
    if (
        not Path("/sys/fs/cgroup/memory").is_dir()
        and not Path("/sys/fs/cgroup/cgroup.controllers").exists()
    ):
        return "no memory cgroup on this host"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@dataclass
class Node:
    """One managed containerd with its client, on a private event loop."""

    loop: asyncio.AbstractEventLoop
    containerd: Containerd
    client: RuntimeClient
    data_dir: Path
    subnet: ipaddress.IPv4Network
    cgroup_root: str  # cgroupfs parent of this worker's pods, e.g. /kyb-e2e-gw0
    host_port: int

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def sandbox_config(self, name: str, **extra: Any) -> dict[str, Any]:
        """A PodSandboxConfig as the kubelet builds it (cgroupfs driver)."""
        uid = str(uuid.uuid4())
        log_dir = self.data_dir / "pods" / f"e2e_{name}_{uid}"
        log_dir.mkdir(parents=True)  # the kubelet creates the pod's log directory
        return {
            "metadata": {"name": name, "uid": uid, "namespace": "e2e", "attempt": 0},
            "hostname": name,
            "log_directory": str(log_dir),
            "dns_config": {"servers": ["10.43.0.10"], "searches": ["e2e.svc.cluster.local"]},
            "labels": {"kyb-e2e": "1", "io.kubernetes.pod.name": name},
            "linux": {
                "cgroup_parent": f"{self.cgroup_root}/pod{uid}",
                "security_context": {
                    "namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}
                },
            },
            **extra,
        }


def container_config(name: str, command: list[str], *, memory: int = 0) -> dict[str, Any]:
    resources: dict[str, Any] = {"cpu_period": 100000, "cpu_quota": 50000, "cpu_shares": 512}
    if memory:
        # cgroup v1: the kubelet sets the swap limit to the memory limit (no swap)
        resources |= {"memory_limit_in_bytes": memory, "memory_swap_limit_in_bytes": memory}
    return {
        "metadata": {"name": name, "attempt": 0},
        "image": {"image": BUSYBOX_IMAGE},
        "command": command,
        "envs": [{"key": "GREETING", "value": "hi"}],
        "log_path": f"{name}/0.log",
        "labels": {"kyb-e2e": "1"},
        "linux": {"resources": resources},
    }


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in worker if ch.isdigit())
    return int(digits or 0) % 200


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    index = _worker_index()
    data_dir = tmp_path_factory.mktemp("cri")
    bridge = f"kybe2e{index}"
    subnet = ipaddress.ip_network(f"10.213.{index}.0/24")
    cfg = ContainerdConfig(data_dir=data_dir, log_level="info")
    containerd = Containerd(cfg)
    loop = asyncio.new_event_loop()
    node = Node(
        loop=loop,
        containerd=containerd,
        client=containerd.client(timeout=60.0),
        data_dir=data_dir,
        subnet=subnet,
        cgroup_root=f"/kyb-e2e-{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}",
        host_port=18080 + index,
    )
    try:
        containerd.write_cni_config([str(subnet)], bridge=bridge)
        node.run(containerd.start())
        node.run(import_builtin_images(address=containerd.address, work_dir=data_dir / "images"))
        yield node
    finally:
        _teardown(node, cfg, bridge)


def _teardown(node: Node, cfg: ContainerdConfig, bridge: str) -> None:
    async def remove_pods() -> None:
        if node.containerd.pid is None:
            return
        for sandbox in await node.client.list_pod_sandbox():
            with contextlib.suppress(Exception):
                await node.client.stop_pod_sandbox(sandbox["id"])
                await node.client.remove_pod_sandbox(sandbox["id"])

    try:
        with contextlib.suppress(Exception):
            node.run(asyncio.wait_for(remove_pods(), 60))
        node.run(node.client.close())
        node.run(node.containerd.stop())
    finally:
        node.loop.close()
        killall(cfg)
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            top = hierarchy / node.cgroup_root.lstrip("/")
            if top.is_dir():
                for directory in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                    if directory.is_dir():
                        with contextlib.suppress(OSError):
                            directory.rmdir()
                with contextlib.suppress(OSError):
                    top.rmdir()
        if shutil.which("ip"):
            subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)


async def wait_state(client: RuntimeClient, container_id: str, state: str, limit: float = 20):
    deadline = time.monotonic() + limit
    while True:
        status = (await client.container_status(container_id))["status"]
        if status["state"] == state or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.02)


def http_get(url: str, attempts: int = 50) -> bytes:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.05)
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read()


# ---------------------------------------------------------------------------- tests


def test_runtime_is_ready_with_the_builtin_images(node: Node) -> None:
    version = node.run(node.client.version())
    assert version.runtime_name == "containerd"
    assert version.runtime_api_version == "v1"
    status = node.run(node.client.status())
    conditions = {c["type"]: c["status"] for c in status["status"]["conditions"]}
    assert conditions == {"RuntimeReady": True, "NetworkReady": True}
    tags = {tag for image in node.run(node.client.list_images()) for tag in image["repo_tags"]}
    assert {PAUSE_IMAGE, BUSYBOX_IMAGE} <= tags
    assert node.run(node.client.image_status(BUSYBOX_IMAGE))["image"]["size"] > 0
    assert node.run(node.client.image_status("kyb.local/nothing:1"))["image"] is None
    labels = subprocess.run(
        ["ctr", "--address", node.containerd.address, "-n", "k8s.io", "images", "ls"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pinned = [line for line in labels.splitlines() if f"{PINNED_LABEL}=pinned" in line]
    assert {line.split()[0] for line in pinned} >= {PAUSE_IMAGE, BUSYBOX_IMAGE}


def test_pod_serves_http_execs_and_logs(node: Node) -> None:
    client = node.client
    sandbox = node.sandbox_config(
        "web",
        port_mappings=[{"protocol": "TCP", "container_port": 80, "host_port": node.host_port}],
    )
    httpd = ["sh", "-c", 'echo "httpd up GREETING=$GREETING"; exec httpd -f -v -p 80 -h /var/www']
    started = time.perf_counter()
    sandbox_id = node.run(client.run_pod_sandbox(sandbox))
    container_id = node.run(
        client.create_container(sandbox_id, container_config("web", httpd), sandbox)
    )
    node.run(client.start_container(container_id))
    status = node.run(wait_state(client, container_id, "CONTAINER_RUNNING"))
    elapsed = time.perf_counter() - started
    assert status["state"] == "CONTAINER_RUNNING", status
    print(f"RunPodSandbox -> container RUNNING: {elapsed * 1000:.0f} ms")

    pod = node.run(client.pod_sandbox_status(sandbox_id))["status"]
    assert pod["state"] == "SANDBOX_READY"
    ip = pod["network"]["ip"]
    assert ipaddress.ip_address(ip) in node.subnet
    assert http_get(f"http://{ip}/") == INDEX_HTML
    assert http_get(f"http://127.0.0.1:{node.host_port}/") == INDEX_HTML  # hostPort (portmap)

    result = node.run(client.exec_sync(container_id, ["echo", "hi"], timeout=10))
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"hi\n", b"")
    failed = node.run(client.exec_sync(container_id, ["sh", "-c", "echo oops >&2; exit 3"]))
    assert (failed.exit_code, failed.stderr) == (3, b"oops\n")

    log_path = Path(sandbox["log_directory"]) / "web" / "0.log"
    assert status["log_path"] == str(log_path)
    lines = log_path.read_text().splitlines()
    assert lines and all(CRI_LOG_LINE.match(line) for line in lines), lines
    assert lines[0].endswith(" stdout F httpd up GREETING=hi")

    listed = node.run(client.list_containers(pod_sandbox_id=sandbox_id))
    assert [c["id"] for c in listed] == [container_id]
    node.run(client.stop_container(container_id, grace_period=5))
    stopped = node.run(client.container_status(container_id))["status"]
    assert stopped["state"] == "CONTAINER_EXITED"
    node.run(client.remove_container(container_id))
    with pytest.raises(NotFound):
        node.run(client.container_status(container_id))
    node.run(client.stop_pod_sandbox(sandbox_id))
    node.run(client.remove_pod_sandbox(sandbox_id))
    node.run(client.remove_pod_sandbox(sandbox_id))  # idempotent, as CRI requires
    assert node.run(client.list_pod_sandbox(id=sandbox_id)) == []


def test_memory_limit_ooms_the_container(node: Node) -> None:
    client = node.client
    sandbox = node.sandbox_config("oom")
    hog = ["sh", "-c", "echo allocating; exec dd if=/dev/zero of=/dev/null bs=100M count=1"]
    config = container_config("hog", hog, memory=64 * MiB)
    sandbox_id = node.run(client.run_pod_sandbox(sandbox))
    try:
        container_id = node.run(client.create_container(sandbox_id, config, sandbox))
        node.run(client.start_container(container_id))
        status = node.run(wait_state(client, container_id, "CONTAINER_EXITED"))
        assert status["state"] == "CONTAINER_EXITED", status
        assert (status["reason"], status["exit_code"]) == ("OOMKilled", 137)
        assert status["resources"]["linux"]["memory_limit_in_bytes"] == 64 * MiB
    finally:
        node.run(client.stop_pod_sandbox(sandbox_id))
        node.run(client.remove_pod_sandbox(sandbox_id))


def test_image_archives_import_from_a_directory(node: Node, tmp_path: Path) -> None:
    name = "kyb.local/e2e-import:1"
    archive = build_busybox(tmp_path / "plain.tar", name=name)
    gzipped = tmp_path / "dir" / "image.tar.gz"
    gzipped.parent.mkdir()
    gzipped.write_bytes(gzip.compress(archive.read_bytes()))
    (tmp_path / "dir" / "notes.txt").write_text("not an image")
    assert node.run(import_dir(tmp_path / "dir", address=node.containerd.address)) == [name]
    image = node.run(node.client.image_status(name))["image"]
    assert image is not None and name in image["repo_tags"]
    node.run(node.client.remove_image(name))
    assert node.run(node.client.image_status(name))["image"] is None
