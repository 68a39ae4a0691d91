"""kube-scheduler against a real `kyb server`: placement by nodeSelector, node affinity,
taints, pod (anti-)affinity and resources; the upstream FailedScheduling event in `kubectl
describe pod` and scheduling as soon as a node fits; preemption through PriorityClasses;
two profiles; leader election between two schedulers; and `kyb scheduler` as a process.

One server per module. Each test runs its own scheduler (the `SchedulerApp` that `kyb
scheduler` runs) in its event loop, creates its Nodes through the API (allocatable,
labels, taints, a Ready condition: no kubelet is needed to schedule) and deletes them
and its pods at the end, so each test's scheduler sees only that test's nodes. Where a
deleted pod must actually go, the test finishes the deletion as its kubelet would.
No sleeps: conditions are polled with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.client import (
    Client,
    LeaderElectionConfig,
    StatusError,
    is_not_found,
    load_kubeconfig,
)
from kybernetes.scheduler import load_config
from kybernetes.scheduler.app import SchedulerApp
from kybernetes.testing.server import ServerProcess

DEADLINE = 30.0
PODS = ("v1", "Pod")
NODES = ("v1", "Node")
PRIORITY_CLASSES = ("scheduling.k8s.io/v1", "PriorityClass")
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"

Obj = dict[str, Any]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, 120)

    return asyncio.run(guarded())


async def eventually(check: Callable[[], Any], *, message: str = "") -> Any:
    """Poll `check` (sync or async) until it returns something truthy, within DEADLINE."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {DEADLINE}s: {message}")
        await asyncio.sleep(0.05)


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi",
              labels: dict[str, str] | None = None,
              taints: list[dict[str, str]] | None = None) -> Obj:
    resources = {"cpu": cpu, "memory": memory, "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {HOSTNAME: name, **(labels or {})}},
            "spec": {"taints": taints or []},
            "status": {"capacity": resources, "allocatable": resources,
                       "conditions": [{"type": "Ready", "status": "True",
                                       "reason": "KubeletReady"}]}}


def make_pod(name: str, *, cpu: str = "100m", labels: dict[str, str] | None = None,
             **spec: Any) -> Obj:
    container = {"name": "c", "image": "busybox",
                 "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [container], **spec}}


class Cluster:
    """The test's view of the cluster: its namespace, a client, what to clean up."""

    def __init__(self, kyb: ServerProcess, ns: str) -> None:
        self.kyb = kyb
        self.ns = ns
        self.node_names: list[str] = []
        self.priority_classes: list[str] = []
        self.client: Client | None = None

    def name(self, suffix: str) -> str:
        """A cluster-scoped name of this test's own."""
        return f"{self.ns}-{suffix}"

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[Client]:
        self.client = Client(load_kubeconfig(self.kyb.kubeconfig))
        try:
            yield self.client
        finally:
            await self.client.close()
            self.client = None

    @property
    def api(self) -> Client:
        assert self.client is not None, "use `async with cluster.connected()`"
        return self.client

    async def add_node(self, suffix: str, **kwargs: Any) -> str:
        name = self.name(suffix)
        self.node_names.append(name)
        await self.api.create(NODES, make_node(name, **kwargs))
        return name

    async def add_pod(self, pod: Obj) -> Obj:
        created: Obj = await self.api.create(PODS, pod, namespace=self.ns)
        return created

    async def pod(self, name: str) -> Obj | None:
        try:
            found: Obj = await self.api.get(PODS, name, namespace=self.ns)
        except StatusError as err:
            if is_not_found(err):
                return None
            raise
        return found

    async def node_of(self, name: str) -> str | None:
        pod = await self.pod(name)
        return (pod or {}).get("spec", {}).get("nodeName")

    async def wait_bound(self, name: str) -> str:
        node: str = await eventually(lambda: self.node_of(name), message=f"{name} bound")
        return node

    async def events(self, **fields: str) -> list[Obj]:
        selector = ",".join(f"{k}={v}" for k, v in fields.items())
        page = await self.api.list(("v1", "Event"), namespace=self.ns, field_selector=selector)
        items: list[Obj] = page.get("items") or []
        return items

    async def describe_matching(self, pod: str, pattern: re.Pattern[str]) -> str | None:
        """`kubectl describe pod` if it matches `pattern` (kubectl runs in a thread, so the
        scheduler in this event loop goes on meanwhile)."""
        res = await asyncio.to_thread(self.kyb.kubectl, "describe", "pod", pod, "-n", self.ns)
        return res.stdout if pattern.search(res.stdout) else None

    def cleanup(self) -> None:
        self.kyb.kubectl("delete", "pods", "--all", "-n", self.ns, "--grace-period=0",
                         "--force", "--wait=false", check=False)
        if self.node_names:
            self.kyb.kubectl("delete", "nodes", *self.node_names, "--wait=false", check=False)
        if self.priority_classes:
            self.kyb.kubectl("delete", "priorityclasses", *self.priority_classes,
                             "--wait=false", check=False)


@pytest.fixture
def cluster(kyb: ServerProcess, ns: str) -> Iterator[Cluster]:
    c = Cluster(kyb, ns)
    try:
        yield c
    finally:
        c.cleanup()


@contextlib.asynccontextmanager
async def running(cluster: Cluster, **kwargs: Any) -> AsyncIterator[SchedulerApp]:
    """A scheduler in this event loop, on a client of its own, informers synced."""
    client = Client(load_kubeconfig(cluster.kyb.kubeconfig))
    kwargs.setdefault("leader_elect", False)
    app = SchedulerApp(client, **kwargs)
    task = asyncio.create_task(app.run())
    try:
        await eventually(lambda: (task.done() and task.result()) or app.ready(),
                         message="scheduler informers synced")
        yield app
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()


def test_pods_land_where_selectors_affinity_taints_and_resources_say(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with cluster.connected(), running(cluster):
            ssd = await cluster.add_node("ssd", cpu="2", labels={ZONE: "a", "disk": "ssd"})
            gpu = await cluster.add_node("gpu", cpu="8", labels={ZONE: "b", "accelerator": "gpu"},
                                         taints=[{"key": "dedicated", "value": "gpu",
                                                  "effect": "NoSchedule"}])
            tiny = await cluster.add_node("tiny", cpu="1", labels={ZONE: "c"})
            want = {"web": ssd, "trainer": gpu, "hungry": ssd, "near-web": ssd,
                    "away-from-web": tiny}
            await cluster.add_pod(make_pod("web", labels={"app": "web"},
                                           nodeSelector={"disk": "ssd"}))
            # First web: a pod avoiding it could otherwise take ssd and keep web out.
            assert await cluster.wait_bound("web") == ssd
            await cluster.add_pod(make_pod("trainer", tolerations=[
                {"key": "dedicated", "operator": "Equal", "value": "gpu",
                 "effect": "NoSchedule"}], affinity={"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "accelerator", "operator": "In",
                                               "values": ["gpu"]}]}]}}}))
            # 1500m fits only on ssd: tiny is too small, gpu is tainted.
            await cluster.add_pod(make_pod("hungry", cpu="1500m"))
            on_web_node = {"labelSelector": {"matchLabels": {"app": "web"}},
                           "topologyKey": HOSTNAME}
            await cluster.add_pod(make_pod("near-web", affinity={"podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [on_web_node]}}))
            await cluster.add_pod(make_pod("away-from-web", affinity={"podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [on_web_node]}}))
            got = {name: await cluster.wait_bound(name) for name in want}
            assert got == want

    run(scenario())


def test_unschedulable_pod_says_why_and_runs_once_a_node_fits(cluster: Cluster) -> None:
    failed = re.compile(
        r"Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0/1 nodes are available: "
        r"1 Insufficient cpu\. preemption: 0/1 nodes are available: 1 No preemption victims "
        r"found for incoming pod\.")

    async def scenario() -> None:
        async with cluster.connected(), running(cluster):
            await cluster.add_node("small", cpu="1")
            await cluster.add_pod(make_pod("big", cpu="2"))
            text = await eventually(lambda: cluster.describe_matching("big", failed),
                                    message="FailedScheduling in kubectl describe")
            assert re.search(r"PodScheduled\s+False", text)
            pod = await cluster.pod("big")
            assert pod is not None
            condition = next(c for c in pod["status"]["conditions"]
                             if c["type"] == "PodScheduled")
            assert condition["reason"] == "Unschedulable"
            assert condition["message"].startswith("0/1 nodes are available: 1 Insufficient")

            large = await cluster.add_node("large", cpu="4")
            assert await cluster.wait_bound("big") == large
            scheduled = re.compile(rf"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+"
                                   rf"Successfully assigned {cluster.ns}/big to {large}")
            await eventually(lambda: cluster.describe_matching("big", scheduled),
                             message="Scheduled in kubectl describe")

    run(scenario())


def test_high_priority_pod_preempts_a_low_priority_one(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with cluster.connected(), running(cluster):
            low, high = cluster.name("low"), cluster.name("high")
            for name, value in ((low, 100), (high, 1_000_000)):
                cluster.priority_classes.append(name)
                await cluster.api.create(PRIORITY_CLASSES, {
                    "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                    "metadata": {"name": name}, "value": value})
            node = await cluster.add_node("only", cpu="1")
            await cluster.add_pod(make_pod("victim", cpu="800m", priorityClassName=low))
            assert await cluster.wait_bound("victim") == node
            preemptor = await cluster.add_pod(make_pod("preemptor", cpu="800m",
                                                       priorityClassName=high))

            async def preempting() -> bool:
                victim, pod = await cluster.pod("victim"), await cluster.pod("preemptor")
                if victim is None or pod is None:
                    return False
                marked = any(c["type"] == "DisruptionTarget" and
                             c.get("reason") == "PreemptionByScheduler"
                             for c in victim["status"].get("conditions") or ())
                return (marked and bool(victim["metadata"].get("deletionTimestamp"))
                        and pod["status"].get("nominatedNodeName") == node)

            await eventually(preempting, message="victim terminating, preemptor nominated")
            assert await cluster.node_of("preemptor") is None  # the victim still holds it
            # As the victim's kubelet would, once its containers stopped:
            await cluster.api.delete(PODS, "victim", namespace=cluster.ns,
                                     grace_period_seconds=0)
            assert await cluster.wait_bound("preemptor") == node
            events = await eventually(lambda: cluster.events(reason="Preempted"))
            assert events[0]["involvedObject"]["name"] == "victim"
            assert events[0]["message"] == (f"Preempted by pod {preemptor['metadata']['uid']} "
                                            f"on node {node}")

    run(scenario())


def test_two_profiles_serve_two_scheduler_names(cluster: Cluster) -> None:
    config = load_config("""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
""")

    async def scenario() -> None:
        async with cluster.connected(), running(cluster, config=config) as app:
            assert sorted(app.scheduler.frameworks) == ["bin-packer", "default-scheduler"]
            await cluster.add_node("a")
            await cluster.add_node("b")
            await cluster.add_pod(make_pod("plain"))
            await cluster.add_pod(make_pod("packed", schedulerName="bin-packer"))
            await cluster.add_pod(make_pod("foreign", schedulerName="somebody-else"))
            await cluster.wait_bound("plain")
            await cluster.wait_bound("packed")

            async def sources() -> dict[str, str] | None:
                events = await cluster.events(reason="Scheduled")
                found = {e["involvedObject"]["name"]: e["source"]["component"] for e in events}
                return found if len(found) == 2 else None

            assert await eventually(sources) == {"plain": "default-scheduler",
                                                 "packed": "bin-packer"}
            assert await cluster.node_of("foreign") is None
            assert await cluster.events(**{"involvedObject.name": "foreign"}) == []

    run(scenario())


def test_leader_election_only_the_leader_binds(cluster: Cluster) -> None:
    election = LeaderElectionConfig(lease_duration=4, renew_deadline=3, retry_period=0.5)

    def candidate(name: str) -> contextlib.AbstractAsyncContextManager[SchedulerApp]:
        return running(cluster, leader_elect=True, election=election,
                       identity=cluster.name(name))

    async def scenario() -> None:
        async with cluster.connected(), contextlib.AsyncExitStack() as first_term:
            first = await first_term.enter_async_context(candidate("first"))
            await eventually(first.is_leader, message="the first candidate leads")
            async with candidate("second") as second:
                lease = await cluster.api.get(("coordination.k8s.io/v1", "Lease"),
                                              "kube-scheduler", namespace="kube-system")
                assert lease["spec"]["holderIdentity"] == first.identity
                assert not second.is_leader()
                await cluster.add_node("n", cpu="8")
                names = [f"p{i}" for i in range(5)]
                for name in names:
                    await cluster.add_pod(make_pod(name))
                for name in names:
                    await cluster.wait_bound(name)
                assert first.scheduler is not None and second.scheduler is not None
                assert (first.scheduler.bound, second.scheduler.bound) == (5, 0)
                assert second.metrics.attempts("scheduled", "default-scheduler") == 0

                await first_term.aclose()  # stops, releasing the lease: no 4 s wait
                await eventually(second.is_leader, message="the second candidate took over")
                await cluster.add_pod(make_pod("after"))
                await cluster.wait_bound("after")
                assert second.scheduler.bound == 1

    run(scenario())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        text: str = resp.read().decode()
        return text


def test_kyb_scheduler_process(cluster: Cluster, tmp_path: Path) -> None:
    config = tmp_path / "scheduler.yaml"
    config.write_text("apiVersion: kubescheduler.config.k8s.io/v1\n"
                      "kind: KubeSchedulerConfiguration\n"
                      "clientConnection: {qps: 100, burst: 200}\n"
                      "leaderElection: {leaderElect: true}\n")
    port = _free_port()
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kybernetes.cli.main", "scheduler", "--kubeconfig",
             str(cluster.kyb.kubeconfig), "--config", str(config), "--leader-elect=false",
             "--metrics-port", str(port)], stdout=log, stderr=subprocess.STDOUT)

    async def scenario() -> None:
        async with cluster.connected():
            node = await cluster.add_node("n")
            await cluster.add_pod(make_pod("web"))
            assert await cluster.wait_bound("web") == node
            metrics = 'scheduler_schedule_attempts_total{profile="default-scheduler",' \
                      'result="scheduled"} 1.0'
            await eventually(lambda: metrics in _http_get(f"http://127.0.0.1:{port}/metrics"),
                             message="the scheduled attempt in /metrics")
            assert _http_get(f"http://127.0.0.1:{port}/healthz") == "ok"

    try:
        run(scenario())
    finally:
        if proc.poll() is None:
            proc.terminate()
        code = proc.wait(20)
    output = log_path.read_text()
    assert code == 0, output[-4000:]
    assert "Traceback" not in output, output[-8000:]


def test_describe_json_event_shape(cluster: Cluster) -> None:
    """The FailedScheduling event as upstream writes it: on the pod, from the profile."""

    async def scenario() -> None:
        async with cluster.connected(), running(cluster):
            await cluster.add_pod(make_pod("nowhere"))
            events = await eventually(lambda: cluster.events(reason="FailedScheduling"))
            event = events[0]
            assert (event["type"], event["source"]["component"]) == ("Warning",
                                                                     "default-scheduler")
            assert event["involvedObject"]["kind"] == "Pod"
            assert event["involvedObject"]["name"] == "nowhere"
            assert event["message"] == "no nodes available to schedule pods"

    run(scenario())
    out = cluster.kyb.kubectl("get", "pod", "nowhere", "-n", cluster.ns, "-o", "json").stdout
    assert json.loads(out)["status"]["conditions"][0]["reason"] == "Unschedulable"

