"""Node lifecycle, taint eviction, node IPAM, disruption budgets and quotas against a real
`kyb server`, with the controllers running in the test's event loop.

Each test starts a `ControllerManager` (no leader election, short periods through
options) with the controllers it exercises, plays the kubelet where one is needed
(Lease renewals, pod readiness, finishing graceful deletions) and polls for the
outcome; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from kybernetes.client import Client, builtin_resource, is_not_found, load_kubeconfig
from kybernetes.controllers.manager import ControllerManager
from kybernetes.testing.server import ServerProcess

DEADLINE = 30.0
NODES = builtin_resource("v1", "Node")
PODS = builtin_resource("v1", "Pod")
LEASES = builtin_resource("coordination.k8s.io/v1", "Lease")
PDBS = builtin_resource("policy/v1", "PodDisruptionBudget")
REPLICA_SETS = builtin_resource("apps/v1", "ReplicaSet")
QUOTAS = builtin_resource("v1", "ResourceQuota")
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"

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


@contextlib.asynccontextmanager
async def controllers(kyb: ServerProcess, *names: str, **options: Any
                      ) -> AsyncIterator[Client]:
    """Run the named controllers until the block ends; yields a client for the test."""
    manager_client = Client(load_kubeconfig(kyb.kubeconfig))
    client = Client(load_kubeconfig(kyb.kubeconfig))
    manager = ControllerManager(manager_client, controllers=list(names), leader_elect=False,
                                options=options)
    task = asyncio.create_task(manager.run())
    try:
        yield client
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await manager_client.close()
        await client.close()


@contextlib.asynccontextmanager
async def background(fn: Callable[[], Awaitable[None]]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(fn())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_seconds() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- playing the kubelet ----------------------------------------------------------------


async def register_node(client: Client, name: str, *, ready: bool = True) -> Obj:
    node = await client.create(NODES, {"metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name}}})
    if ready:
        stamp = now_seconds()
        node["status"] = {"conditions": [{
            "type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp}]}
        node = await client.update(NODES, node, subresource="status")
    return node


async def renew_lease(client: Client, name: str) -> None:
    """Create the node's Lease, then renew it until cancelled (the kubelet's heartbeat)."""
    await client.create(LEASES, {"metadata": {"name": name, "namespace": "kube-node-lease"},
                                 "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                                          "renewTime": now_micro()}})
    while True:
        await asyncio.sleep(0.2)
        await client.patch(LEASES, name, {"spec": {"renewTime": now_micro()}},
                           namespace="kube-node-lease")


async def run_pod(client: Client, ns: str, name: str, node: str, *,
                  tolerations: list[Obj] | None = None, labels: dict[str, str] | None = None,
                  owner: Obj | None = None) -> Obj:
    """A pod bound to `node`, Running and Ready."""
    meta: Obj = {"name": name, "labels": labels or {}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"],
                                    "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True,
                                    "blockOwnerDeletion": True}]
    spec: Obj = {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    pod = await client.create(PODS, {"metadata": meta, "spec": spec}, namespace=ns)
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now_seconds()}]}
    return await client.update(PODS, pod, subresource="status")


async def finish_deletions(client: Client, ns: str) -> None:
    """The kubelet's part of a graceful delete: remove pods marked for deletion."""
    async for event in client.watch(PODS, namespace=ns):
        pod = event.object
        if event.type != "DELETED" and pod["metadata"].get("deletionTimestamp"):
            with contextlib.suppress(Exception):
                await client.delete(PODS, pod["metadata"]["name"], namespace=ns,
                                    grace_period_seconds=0)


async def get_or_none(client: Client, ref: Any, name: str, ns: str | None = None
                      ) -> Obj | None:
    try:
        return await client.get(ref, name, namespace=ns)
    except Exception as err:
        if is_not_found(err):
            return None
        raise


def condition(obj: Obj, kind: str) -> Obj:
    return next((c for c in (obj.get("status") or {}).get("conditions") or ()
                 if c.get("type") == kind), {})


def taints(node: Obj) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or ()}


def exists_for(seconds: int | None) -> list[Obj]:
    out = []
    for key in (NOT_READY, UNREACHABLE):
        t: Obj = {"key": key, "operator": "Exists", "effect": "NoExecute"}
        if seconds is not None:
            t["tolerationSeconds"] = seconds
        out.append(t)
    return out


# --- node lifecycle and taint eviction ----------------------------------------------------


def test_lost_node_is_tainted_and_its_pods_evicted(kyb: ServerProcess, ns: str) -> None:
    name = f"lost-{ns}"[:63]

    async def main() -> None:
        async with controllers(kyb, "nodelifecycle", "taint-eviction-controller",
                               node_monitor_grace_period=2.0, node_startup_grace_period=2.0,
                               node_monitor_period=0.2) as client:
            await register_node(client, name)
            async with background(lambda: renew_lease(client, name)):
                # DefaultTolerationSeconds gives every pod 300 s tolerations unless it has
                # its own for the key; one that names the key but does not match the taint
                # (Equal to a value the taint lacks) leaves the pod untolerated.
                doomed = await run_pod(client, ns, "doomed", name, tolerations=[
                    {"key": k, "operator": "Equal", "value": "never", "effect": "NoExecute"}
                    for k in (NOT_READY, UNREACHABLE)])
                await run_pod(client, ns, "patient", name, tolerations=exists_for(2))
                defaulted = await run_pod(client, ns, "defaulted", name)
            assert exists_for(300) == [t for t in defaulted["spec"]["tolerations"]]
            assert len(doomed["spec"]["tolerations"]) == 2

            async def node_lost() -> Obj | None:
                node = await client.get(NODES, name)
                lost = condition(node, "Ready").get("status") == "Unknown" and {
                    (UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")} <= taints(node)
                return node if lost else None

            node = await eventually(node_lost, message="node Unknown and tainted unreachable")
            ready = condition(node, "Ready")
            assert (ready["reason"], ready["message"]) == (
                "NodeStatusUnknown", "Kubelet stopped posting node status.")
            assert all(t.get("timeAdded") for t in node["spec"]["taints"])

            async def marked(pod: str) -> Obj | None:
                p = await get_or_none(client, PODS, pod, ns)
                return p if p is None or p["metadata"].get("deletionTimestamp") else None

            gone = await eventually(lambda: marked("doomed"), message="doomed pod deleted")
            if gone is not None:
                assert condition(gone, "DisruptionTarget")["reason"] == "DeletionByTaintManager"
            await eventually(lambda: marked("patient"), message="pod deleted after 2 s")

            async def not_ready() -> bool:
                p = await client.get(PODS, "defaulted", namespace=ns)
                return condition(p, "Ready").get("status") == "False"

            await eventually(not_ready, message="pods on the lost node marked not ready")
            survivor = await client.get(PODS, "defaulted", namespace=ns)
            assert not survivor["metadata"].get("deletionTimestamp")
            await client.delete(NODES, name)

    run(main())


def test_nodes_get_pod_cidrs(kyb: ServerProcess, ns: str) -> None:
    names = [f"ipam-{i}-{ns}"[:63] for i in range(3)]

    async def main() -> None:
        async with controllers(kyb, "nodeipam") as client:
            for n in names:
                await register_node(client, n, ready=False)

            async def cidrs() -> list[str] | None:
                nodes = [await client.get(NODES, n) for n in names]
                got = [(node.get("spec") or {}).get("podCIDR") for node in nodes]
                if not all(got):
                    return None
                for node in nodes:
                    assert node["spec"]["podCIDRs"] == [node["spec"]["podCIDR"]]
                return got

            got = await eventually(cidrs, message="every node has a pod CIDR")
            nets = [ipaddress.ip_network(c) for c in got]
            assert len(set(nets)) == 3
            assert all(n.prefixlen == 24 and n.subnet_of(ipaddress.ip_network("10.42.0.0/16"))
                       for n in nets)
            for n in names:
                await client.delete(NODES, n)

    run(main())


# --- disruption budgets and drain ----------------------------------------------------------


def _replica_set(name: str, replicas: int) -> Obj:
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


async def pdb_status(client: Client, ns: str, name: str, **want: Any) -> Obj | None:
    pdb = await client.get(PDBS, name, namespace=ns)
    status = pdb.get("status") or {}
    return pdb if all(status.get(k) == v for k, v in want.items()) else None


def test_budget_status_and_drain(kyb: ServerProcess, ns: str) -> None:
    node_a, node_b = f"drain-a-{ns}"[:63], f"drain-b-{ns}"[:63]

    def drain(node: str) -> Any:
        return kyb.kubectl("drain", node, "--delete-emptydir-data", "--ignore-daemonsets",
                           "--timeout=8s", check=False)

    async def main() -> None:
        async with controllers(kyb, "disruption") as client, \
                background(lambda: finish_deletions(client, ns)):
            for n in (node_a, node_b):
                await register_node(client, n)
            rs = await client.create(REPLICA_SETS, _replica_set("web", 2), namespace=ns)
            for i in range(2):
                await run_pod(client, ns, f"web-{i}", node_a, labels={"app": "web"}, owner=rs)
            await client.create(PDBS, {"metadata": {"name": "web"}, "spec": {
                "minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}, namespace=ns)
            pdb = await eventually(lambda: pdb_status(
                client, ns, "web", expectedPods=2, currentHealthy=2, desiredHealthy=2,
                disruptionsAllowed=0, observedGeneration=1), message="budget status")
            cond = condition(pdb, "DisruptionAllowed")
            assert (cond["status"], cond["reason"]) == ("False", "InsufficientPods")

            refused = await asyncio.to_thread(drain, node_a)
            assert refused.returncode != 0
            assert "would violate the pod's disruption budget" in refused.stderr
            assert (await client.get(PODS, "web-0", namespace=ns))["metadata"].get(
                "deletionTimestamp") is None
            kyb.kubectl("uncordon", node_a)

            # Spread: one pod on A, two on B; the budget now allows one disruption.
            await client.delete(PODS, "web-1", namespace=ns, grace_period_seconds=0)
            await eventually(lambda: _absent(client, "web-1", ns), message="web-1 gone")
            await client.patch(REPLICA_SETS, "web", {"spec": {"replicas": 3}}, namespace=ns)
            for i in (1, 2):
                await run_pod(client, ns, f"web-{i}", node_b, labels={"app": "web"}, owner=rs)
            pdb = await eventually(lambda: pdb_status(
                client, ns, "web", expectedPods=3, currentHealthy=3, disruptionsAllowed=1),
                message="one disruption allowed")
            assert condition(pdb, "DisruptionAllowed")["reason"] == "SufficientPods"

            drained = await asyncio.to_thread(drain, node_a)
            assert drained.returncode == 0, drained.stderr
            assert "evicting pod" in drained.stdout + drained.stderr
            assert await _absent(client, "web-0", ns)
            await eventually(lambda: pdb_status(
                client, ns, "web", expectedPods=2, currentHealthy=2, disruptionsAllowed=0),
                message="budget spent")
            for n in (node_a, node_b):
                await client.delete(NODES, n)

    run(main())


async def _absent(client: Client, pod: str, ns: str) -> bool:
    return await get_or_none(client, PODS, pod, ns) is None


def test_budget_percentages_follow_the_controllers_scale(kyb: ServerProcess, ns: str
                                                          ) -> None:
    async def main() -> None:
        async with controllers(kyb, "disruption") as client:
            rs = await client.create(REPLICA_SETS, _replica_set("api", 4), namespace=ns)
            for i in range(3):  # one replica is missing: expectedPods still follows scale
                await run_pod(client, ns, f"api-{i}", "nowhere", labels={"app": "api"},
                              owner=rs)
            await client.create(PDBS, {"metadata": {"name": "api"}, "spec": {
                "maxUnavailable": "50%", "selector": {"matchLabels": {"app": "api"}}}},
                namespace=ns)
            await eventually(lambda: pdb_status(
                client, ns, "api", expectedPods=4, desiredHealthy=2, currentHealthy=3,
                disruptionsAllowed=1), message="scale-based budget")

    run(main())


# --- quota and limit ranges --------------------------------------------------------------


def test_quota_blocks_third_pod_and_limit_range_defaults(kyb: ServerProcess, ns: str
                                                         ) -> None:
    async def main() -> None:
        async with controllers(kyb, "resourcequota") as client:
            kyb.kubectl("apply", "-n", ns, "-f", "-", input=QUOTA_AND_LIMITS)
            for pod in ("p1", "p2"):
                await asyncio.to_thread(kyb.kubectl, "run", pod, "-n", ns, "--image=busybox")
            third = await asyncio.to_thread(kyb.kubectl, "run", "p3", "-n", ns,
                                            "--image=busybox", check=False)
            assert third.returncode != 0
            assert ('pods "p3" is forbidden: exceeded quota: compute, requested: pods=1, '
                    "used: pods=2, limited: pods=2") in third.stderr

            p1 = await client.get(PODS, "p1", namespace=ns)
            resources = p1["spec"]["containers"][0]["resources"]
            assert resources["requests"] == {"cpu": "100m", "memory": "128Mi"}
            assert resources["limits"] == {"cpu": "500m", "memory": "256Mi"}
            assert p1["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
                "LimitRanger plugin set: cpu, memory request for container p1; "
                "cpu, memory limit for container p1")

            async def used(**want: str) -> Obj | None:
                q = await client.get(QUOTAS, "compute", namespace=ns)
                status = q.get("status") or {}
                return q if status.get("used") == want else None

            q = await eventually(lambda: used(pods="2", **{
                "requests.cpu": "200m", "requests.memory": "256Mi",
                "count/configmaps": "0"}), message="quota usage")
            assert q["status"]["hard"] == q["spec"]["hard"]

            kyb.kubectl("delete", "pod", "p1", "-n", ns, "--grace-period=0", "--force")
            kyb.kubectl("create", "configmap", "settings", "-n", ns)
            await eventually(lambda: used(pods="1", **{
                "requests.cpu": "100m", "requests.memory": "128Mi",
                "count/configmaps": "1"}), message="usage follows deletes and creates")
            await asyncio.to_thread(kyb.kubectl, "run", "p3", "-n", ns, "--image=busybox")

    run(main())


QUOTA_AND_LIMITS = """
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec:
  hard: {pods: "2", requests.cpu: "1", requests.memory: 1Gi, count/configmaps: "5"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
"""
