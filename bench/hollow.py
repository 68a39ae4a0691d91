"""Hollow-node scale check: N nodes in one `kyb hollow-nodes` process keep their Leases fresh.
Prints figures, asserts nothing.

.venv/bin/python bench/hollow.py [--nodes 500] [--seconds 60] [--pods 0]

1. starts a real `kyb server` and `kyb hollow-nodes --count N` (default heartbeats:
   Lease renewed every 10 s, node status every 60 s), each its own process;
2. times registration (all N Nodes Ready);
3. for --seconds, samples every Lease in kube-node-lease every 2 s: the oldest
   renewTime's age (a kubelet-like process keeps it under ~10 s; the node lifecycle
   controller's grace period is 40 s);
4. optionally binds --pods pods round-robin to the nodes and times until all Run;
5. reports CPU seconds used by the hollow process and the server (from /proc) per
   wall second, and the hollow process's requests per node per minute (its own count,
   logged when it stops).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import uvloop

from kybernetes.client import Client, load_kubeconfig
from kybernetes.testing.server import ServerProcess

LEASES = ("coordination.k8s.io/v1", "Lease")
NODES = ("v1", "Node")
PODS = ("v1", "Pod")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def wait_ready(client: Client, count: int) -> float:
    start = time.monotonic()
    while True:
        nodes = await client.list_all(NODES, label_selector="node.kubernetes.io/instance-type="
                                      "hollow")
        ready = sum(1 for n in nodes["items"] for c in n["status"].get("conditions") or ()
                    if c["type"] == "Ready" and c["status"] == "True")
        if ready >= count:
            return time.monotonic() - start
        await asyncio.sleep(0.2)


async def sample_leases(client: Client, seconds: float) -> list[float]:
    """The oldest Lease's age at each sample."""
    ages = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        leases = await client.list_all(LEASES, namespace="kube-node-lease")
        now = datetime.now(UTC)
        oldest = min(parse_time(item["spec"]["renewTime"]) for item in leases["items"])
        ages.append((now - oldest).total_seconds())
        await asyncio.sleep(2.0)
    return ages


async def run_pods(client: Client, nodes: int, pods: int) -> float:
    await client.create(("v1", "Namespace"), {"metadata": {"name": "bench-hollow"}})
    start = time.monotonic()
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem:
            await client.create(PODS, {
                "metadata": {"name": f"p{i}", "namespace": "bench-hollow"},
                "spec": {"nodeName": f"hollow-node-{i % nodes}",
                         "containers": [{"name": "c", "image": "busybox"}]}})

    await asyncio.gather(*(one(i) for i in range(pods)))
    while True:
        listed = await client.list_all(PODS, namespace="bench-hollow",
                                       field_selector="status.phase=Running")
        if len(listed["items"]) >= pods:
            return time.monotonic() - start
        await asyncio.sleep(0.2)


async def measure(kubeconfig: Path, args: argparse.Namespace, pids: dict[str, int]) -> None:
    async with Client(load_kubeconfig(kubeconfig, qps=100, burst=200)) as client:
        took = await wait_ready(client, args.nodes)
        print(f"registration: {args.nodes} nodes Ready in {took:.1f} s")
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.monotonic()
        ages = await sample_leases(client, args.seconds)
        wall = time.monotonic() - t0
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        print(f"steady state over {wall:.0f} s: oldest Lease age max {max(ages):.1f} s, "
              f"mean {sum(ages) / len(ages):.1f} s ({len(ages)} samples; renew period 10 s)")
        for name, used in cpu.items():
            print(f"  CPU {name}: {used:.1f} s = {100 * used / wall:.1f}% of one core "
                  f"({1000 * used / wall / args.nodes:.2f} ms/s per node)")
        if args.pods:
            took = await run_pods(client, args.nodes, args.pods)
            print(f"pods: {args.pods} bound pods Running in {took:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pods", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kyb-bench-hollow-") as tmp:
        server = ServerProcess(Path(tmp) / "server").start()
        log_path = Path(tmp) / "hollow.log"
        with open(log_path, "wb") as log:
            hollow = subprocess.Popen(
                [sys.executable, "-m", "kybernetes.cli.main", "hollow-nodes", "--kubeconfig",
                 str(server.kubeconfig), "--count", str(args.nodes),
                 "--pod-cidr-base", "10.0.0.0/8"], stdout=log, stderr=subprocess.STDOUT)
        start = time.monotonic()
        try:
            assert server.proc is not None
            uvloop.run(measure(server.kubeconfig, args,
                               {"hollow-nodes": hollow.pid, "server": server.proc.pid}))
        finally:
            hollow.send_signal(signal.SIGTERM)
            hollow.wait(30)
            lifetime = time.monotonic() - start
            server.stop()
        text = log_path.read_text()
        found = re.search(r"requests sent: (\{.*\})", text)
        if found:
            sent = ast.literal_eval(found.group(1))
            total = sum(sent.values())
            print(f"hollow requests over its {lifetime:.0f} s life: {total} "
                  f"({60 * total / lifetime / args.nodes:.1f} per node per minute, "
                  "registration included)")
            print("  by kind: " + ", ".join(f"{k}={v}" for k, v in sorted(sent.items())))
        if "Traceback" in text:
            print("hollow-nodes logged an exception:\n" + text[-4000:])


if __name__ == "__main__":
    main()
