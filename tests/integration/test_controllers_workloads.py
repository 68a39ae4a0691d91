"""The workload controllers (job, cronjob, daemonset, statefulset) against a real server.

Each test runs a `ControllerManager` (leader_elect=False, just these four
controllers) in its own event loop, next to `FakeKubelet`: a few lines that
play scheduler and kubelet for the Node objects the test creates. It binds
pending pods to its nodes (a DaemonSet pod only to the node its affinity
names), moves bound pods to Running and Ready, finishes pods that run to
completion (restartPolicy Never/OnFailure) with exit code 0, and completes
graceful deletions with the kubelet's final DELETE. Every step is a write
through the API, so the controllers see exactly what a real kubelet would show
them.

No sleeps: conditions are polled (`eventually`) or waited for by kubectl;
ordering is checked on the resourceVersion order of watch events.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import textwrap
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from kybernetes.client import (
    Client,
    SharedInformerFactory,
    ShutDown,
    WatchEvent,
    WorkQueue,
    builtin_resource,
    is_conflict,
    is_not_found,
    load_kubeconfig,
    meta_namespace_key,
    object_of,
)
from kybernetes.controllers.manager import ControllerManager
from kybernetes.testing.server import ServerProcess

PODS = builtin_resource("v1", "Pod")
NODES = builtin_resource("v1", "Node")
JOBS = builtin_resource("batch/v1", "Job")
CRONJOBS = builtin_resource("batch/v1", "CronJob")
DAEMONSETS = builtin_resource("apps/v1", "DaemonSet")
STATEFULSETS = builtin_resource("apps/v1", "StatefulSet")
PVCS = builtin_resource("v1", "PersistentVolumeClaim")
REVISIONS = builtin_resource("apps/v1", "ControllerRevision")
DEADLINE = 60.0
WORKLOAD_CONTROLLERS = ["job", "cronjob", "daemonset", "statefulset"]
_node_ids = itertools.count()

Obj = dict[str, Any]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, 240)

    return asyncio.run(guarded())


async def eventually(check: Callable[[], Any], *, message: str = "") -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
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


def stamp(t: datetime | None = None) -> str:
    return (t or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def container(name: str = "main", image: str = "busybox") -> Obj:
    return {"name": name, "image": image, "command": ["true"]}


# --- the fake kubelet ------------------------------------------------------------------


class FakeKubelet:
    """Scheduler and kubelet for `nodes` (see the module docstring)."""

    def __init__(self, client: Client, nodes: list[str]) -> None:
        self.client = client
        self.nodes = list(nodes)
        self.factory = SharedInformerFactory(client)
        self.informer = self.factory.informer(PODS)
        self.queue: WorkQueue[str] = WorkQueue(name="fake-kubelet")
        self._next = itertools.count()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        enqueue = lambda obj: self.queue.add(meta_namespace_key(object_of(obj)))  # noqa: E731
        self.informer.add_event_handler(on_add=enqueue, on_update=lambda _, new: enqueue(new))
        self.factory.start()
        await self.factory.wait_for_sync()
        self._task = asyncio.create_task(self._work())

    async def stop(self) -> None:
        self.queue.shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.factory.shutdown()

    async def _work(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                pod = self.informer.store.get(key)
                if pod is not None:
                    await self._step(pod)
                self.queue.forget(key)
            except Exception as err:
                if not (is_conflict(err) or is_not_found(err)):
                    print(f"fake kubelet: {key}: {err}")
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def _target(self, pod: Obj) -> str | None:
        affinity = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
        for term in affinity.get("nodeSelectorTerms") or ():
            for req in term.get("matchFields") or ():
                if req.get("key") == "metadata.name":
                    return req["values"][0] if req["values"][0] in self.nodes else None
        return self.nodes[next(self._next) % len(self.nodes)] if self.nodes else None

    async def _step(self, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        ns, name = meta["namespace"], meta["name"]
        phase = (pod.get("status") or {}).get("phase")
        if meta.get("deletionTimestamp"):
            if meta.get("deletionGracePeriodSeconds"):  # the kubelet's final delete
                await self.client.delete(PODS, name, namespace=ns, grace_period_seconds=0,
                                         preconditions={"uid": meta["uid"]})
            return
        if not spec.get("nodeName"):
            node = self._target(pod)
            if node is not None:
                await self.client.bind(ns, name, node, uid=meta["uid"])
            return
        if spec["nodeName"] not in self.nodes:
            return
        if phase == "Pending":
            await self._set_status(pod, "Running", ready=True)
        elif phase == "Running" and spec.get("restartPolicy") in ("Never", "OnFailure"):
            await self._set_status(pod, "Succeeded", ready=False)

    async def _set_status(self, pod: Obj, phase: str, *, ready: bool) -> None:
        now = stamp()
        names = [c["name"] for c in pod["spec"]["containers"]]
        if phase == "Running":
            state: Obj = {"running": {"startedAt": now}}
        else:
            state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now,
                                    "finishedAt": now}}
        body = dict(pod)
        body["status"] = {
            **(pod.get("status") or {}), "phase": phase, "startTime": now,
            "conditions": [{"type": t, "status": "True" if ready or t == "PodScheduled"
                            else "False", "lastTransitionTime": now}
                           for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
            "containerStatuses": [{"name": n, "image": "busybox", "imageID": "", "ready": ready,
                                   "restartCount": 0, "state": state} for n in names]}
        await self.client.update(PODS, body, subresource="status")


@contextlib.asynccontextmanager
async def cluster(kyb: ServerProcess, ns: str, *, nodes: int = 1,
                  options: Obj | None = None) -> AsyncIterator[tuple[Client, FakeKubelet]]:
    """A client, `nodes` Node objects run by a FakeKubelet, and the controllers."""
    client = Client(load_kubeconfig(kyb.kubeconfig))
    names = [f"{ns}-n{next(_node_ids)}" for _ in range(nodes)]
    for name in names:
        await create_node(client, name)
    kubelet = FakeKubelet(client, names)
    await kubelet.start()
    manager = ControllerManager(client, controllers=WORKLOAD_CONTROLLERS, leader_elect=False,
                                options={"job_sync_batch_period_seconds": 0.05,
                                         **(options or {})})
    task = asyncio.create_task(manager.run())
    try:
        yield client, kubelet
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await kubelet.stop()
        for name in names:
            with contextlib.suppress(Exception):
                await client.delete(NODES, name)
        await client.close()


async def create_node(client: Client, name: str, *, taints: list[Obj] | None = None,
                      labels: dict[str, str] | None = None) -> Obj:
    node: Obj = {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                       **(labels or {})}},
                 "spec": {"taints": taints} if taints else {}}
    return await client.create(NODES, node)


class Recorder:
    """Collects the watch events of one resource in a namespace, in order."""

    def __init__(self, client: Client, resource: Any, ns: str) -> None:
        self.events: list[WatchEvent] = []
        self._stream = client.watch(resource, namespace=ns)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self._stream:
            self.events.append(event)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def first(self, pred: Callable[[WatchEvent], bool]) -> int:
        """The position of the first event matching `pred` (a large number if none)."""
        return next((i for i, e in enumerate(self.events) if pred(e)), 10**9)


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


async def pods_in(client: Client, ns: str, selector: str | None = None) -> list[Obj]:
    return (await client.list(PODS, namespace=ns, label_selector=selector))["items"]


async def wait_kubectl(kyb: ServerProcess, *args: str) -> str:
    res = await asyncio.to_thread(kyb.kubectl, *args, timeout=DEADLINE + 30)
    return res.stdout


# --- Job -------------------------------------------------------------------------------


def test_job_with_parallelism_3_runs_6_completions(kyb: ServerProcess, ns: str) -> None:
    manifest = textwrap.dedent(f"""
        apiVersion: batch/v1
        kind: Job
        metadata: {{name: work, namespace: {ns}}}
        spec:
          completions: 6
          parallelism: 3
          template:
            spec:
              restartPolicy: Never
              containers: [{{name: main, image: busybox, command: ["true"]}}]
    """)

    async def scenario() -> None:
        async with cluster(kyb, ns, nodes=2) as (client, _):
            jobs = Recorder(client, JOBS, ns)
            await asyncio.to_thread(kyb.kubectl, "apply", "-f", "-", input=manifest)
            out = await wait_kubectl(kyb, "wait", "--for=condition=complete", "job/work",
                                     "-n", ns, f"--timeout={int(DEADLINE)}s")
            assert "condition met" in out
            job = await client.get(JOBS, "work", namespace=ns)
            status = job["status"]
            assert status["succeeded"] == 6 and "failed" not in status
            assert status.get("active", 0) == 0 and status["ready"] == 0
            assert status["completionTime"] and status["startTime"]
            types = [c["type"] for c in status["conditions"]]
            assert types == ["SuccessCriteriaMet", "Complete"]
            assert status["conditions"][1]["reason"] == "CompletionsReached"
            pods = await pods_in(client, ns, "batch.kubernetes.io/job-name=work")
            assert len(pods) == 6
            for pod in pods:
                assert pod["status"]["phase"] == "Succeeded"
                assert "batch.kubernetes.io/job-tracking" not in (
                    pod["metadata"].get("finalizers") or ())
                ref = pod["metadata"]["ownerReferences"][0]
                assert (ref["kind"], ref["name"], ref["controller"]) == ("Job", "work", True)
                assert pod["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == (
                    job["metadata"]["uid"])
            await jobs.close()
            actives = [(e.object.get("status") or {}).get("active", 0) for e in jobs.events]
            assert max(actives) == 3, actives

    run(scenario())


def test_indexed_job_gives_each_index_one_pod(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as (client, _):
            await client.create(JOBS, {
                "metadata": {"name": "idx", "namespace": ns},
                "spec": {"completions": 4, "parallelism": 2, "completionMode": "Indexed",
                         "template": {"spec": {"restartPolicy": "Never", "subdomain": "idx",
                                               "containers": [container()]}}}})
            await wait_kubectl(kyb, "wait", "--for=condition=complete", "job/idx", "-n", ns,
                               f"--timeout={int(DEADLINE)}s")
            job = await client.get(JOBS, "idx", namespace=ns)
            assert job["status"]["completedIndexes"] == "0-3"
            assert job["status"]["succeeded"] == 4
            pods = await pods_in(client, ns, "batch.kubernetes.io/job-name=idx")
            indexes = sorted(int(p["metadata"]["annotations"][
                "batch.kubernetes.io/job-completion-index"]) for p in pods)
            assert indexes == [0, 1, 2, 3]
            for pod in pods:
                ix = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                assert pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == ix
                assert pod["metadata"]["name"].startswith(f"idx-{ix}-")
                assert pod["spec"]["hostname"] == f"idx-{ix}"
                assert pod["spec"]["subdomain"] == "idx"
                env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
                assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == (
                    "metadata.labels['batch.kubernetes.io/job-completion-index']")

    run(scenario())


def test_suspended_job_creates_no_pods_until_resumed(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as (client, _):
            await client.create(JOBS, {
                "metadata": {"name": "later", "namespace": ns},
                "spec": {"suspend": True, "template": {"spec": {
                    "restartPolicy": "Never", "containers": [container()]}}}})

            async def suspended() -> bool:
                job = await client.get(JOBS, "later", namespace=ns)
                conds = (job.get("status") or {}).get("conditions") or []
                return any(c["type"] == "Suspended" and c["status"] == "True" for c in conds)

            await eventually(suspended, message="Suspended condition")
            assert await pods_in(client, ns) == []
            await client.patch(JOBS, "later", {"spec": {"suspend": False}}, namespace=ns)
            await wait_kubectl(kyb, "wait", "--for=condition=complete", "job/later", "-n", ns,
                               f"--timeout={int(DEADLINE)}s")
            job = await client.get(JOBS, "later", namespace=ns)
            resumed = [c for c in job["status"]["conditions"] if c["type"] == "Suspended"]
            assert resumed[0]["status"] == "False" and resumed[0]["reason"] == "JobResumed"

    run(scenario())


# --- CronJob ---------------------------------------------------------------------------


def test_cronjob_starts_the_job_of_a_due_schedule(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as (client, _):
            # Created suspended; a lastScheduleTime three minutes ago makes a run due
            # the moment it is resumed (no waiting for the next minute).
            await client.create(CRONJOBS, {
                "metadata": {"name": "tick", "namespace": ns},
                "spec": {"schedule": "*/1 * * * *", "suspend": True, "timeZone": "Etc/UTC",
                         "jobTemplate": {"metadata": {"labels": {"app": "tick"}}, "spec": {
                             "template": {"spec": {"restartPolicy": "Never",
                                                   "containers": [container()]}}}}}})
            cron = await client.get(CRONJOBS, "tick", namespace=ns)
            last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
            cron["status"] = {"lastScheduleTime": stamp(last)}
            await client.update(CRONJOBS, cron, subresource="status")
            await client.patch(CRONJOBS, "tick", {"spec": {"suspend": False}}, namespace=ns)

            async def started() -> Obj | None:
                jobs = (await client.list(JOBS, namespace=ns))["items"]
                return jobs[0] if jobs else None

            job = await eventually(started, message="a Job of the CronJob")
            scheduled = datetime.fromisoformat(job["metadata"]["annotations"][
                "batch.kubernetes.io/cronjob-scheduled-timestamp"].replace("Z", "+00:00"))
            assert scheduled > last and scheduled.second == 0
            assert job["metadata"]["name"] == f"tick-{int(scheduled.timestamp()) // 60}"
            assert job["metadata"]["labels"]["app"] == "tick"
            ref = job["metadata"]["ownerReferences"][0]
            assert (ref["kind"], ref["name"], ref["controller"]) == ("CronJob", "tick", True)

            async def succeeded() -> Obj | None:
                cron = await client.get(CRONJOBS, "tick", namespace=ns)
                status = cron.get("status") or {}
                return status if status.get("lastSuccessfulTime") and not status.get(
                    "active") else None

            status = await eventually(succeeded, message="the Job completes and is seen")
            assert status["lastScheduleTime"] == stamp(scheduled)

    run(scenario())


# --- DaemonSet -------------------------------------------------------------------------


def test_daemonset_covers_untainted_nodes_and_follows_them(kyb: ServerProcess, ns: str
                                                           ) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns, nodes=2) as (client, kubelet):
            tainted = f"{ns}-tainted"
            await create_node(client, tainted, taints=[
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
            await client.create(DAEMONSETS, {
                "metadata": {"name": "agent", "namespace": ns},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                         "template": {"metadata": {"labels": {"app": "agent"}},
                                      "spec": {"containers": [container()]}}}})

            async def status_is(**want: int) -> Obj | None:
                ds = await client.get(DAEMONSETS, "agent", namespace=ns)
                status = ds.get("status") or {}
                ok = all(status.get(k, 0) == v for k, v in want.items())
                return ds if ok and status.get("observedGeneration") == ds["metadata"][
                    "generation"] else None

            await eventually(lambda: status_is(desiredNumberScheduled=2, numberReady=2,
                                               currentNumberScheduled=2, numberAvailable=2,
                                               updatedNumberScheduled=2),
                             message="a ready pod on each untainted node")
            pods = await pods_in(client, ns, "app=agent")
            assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(kubelet.nodes)
            for pod in pods:
                terms = pod["spec"]["affinity"]["nodeAffinity"][
                    "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                   "values": [pod["spec"]["nodeName"]]}]}]
                keys = {t["key"] for t in pod["spec"]["tolerations"]}
                assert "node.kubernetes.io/unreachable" in keys
                assert "node.kubernetes.io/unschedulable" in keys
                assert pod["metadata"]["labels"]["controller-revision-hash"]
            revisions = (await client.list(REVISIONS, namespace=ns))["items"]
            assert [r["revision"] for r in revisions] == [1]

            # A node nobody runs: its pod is created, pinned, never bound.
            extra = f"{ns}-extra"
            await create_node(client, extra)
            await eventually(lambda: status_is(desiredNumberScheduled=3,
                                               currentNumberScheduled=3, numberReady=2),
                             message="a pod for the new node")
            pinned = [p for p in await pods_in(client, ns, "app=agent")
                      if not p["spec"].get("nodeName")]
            assert len(pinned) == 1
            # The node goes: its never-scheduled pod goes too.
            await client.delete(NODES, extra)
            await eventually(lambda: status_is(desiredNumberScheduled=2,
                                               currentNumberScheduled=2),
                             message="the node's pod removed")

            async def pods_left() -> bool:
                return len(await pods_in(client, ns, "app=agent")) == 2

            await eventually(pods_left, message="two pods left")
            await client.delete(NODES, tainted)

    run(scenario())


def test_daemonset_rolling_update_replaces_every_pod(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns, nodes=3) as (client, _):
            await client.create(DAEMONSETS, {
                "metadata": {"name": "roll", "namespace": ns},
                "spec": {"selector": {"matchLabels": {"app": "roll"}},
                         "template": {"metadata": {"labels": {"app": "roll"}},
                                      "spec": {"containers": [container()]}}}})

            async def converged(image: str) -> bool:
                ds = await client.get(DAEMONSETS, "roll", namespace=ns)
                status = ds.get("status") or {}
                pods = await pods_in(client, ns, "app=roll")
                return (status.get("observedGeneration") == ds["metadata"]["generation"]
                        and status.get("updatedNumberScheduled") == 3
                        and status.get("numberAvailable") == 3 and len(pods) == 3
                        and all(p["spec"]["containers"][0]["image"] == image for p in pods))

            await eventually(lambda: converged("busybox"), message="first rollout")
            events = Recorder(client, PODS, ns)
            await client.patch(DAEMONSETS, "roll", {"spec": {"template": {"spec": {
                "containers": [{"name": "main", "image": "busybox:2"}]}}}},
                namespace=ns, patch_type="strategic")
            await eventually(lambda: converged("busybox:2"), message="second rollout")
            await events.close()
            revisions = (await client.list(REVISIONS, namespace=ns))["items"]
            assert sorted(r["revision"] for r in revisions) == [1, 2]
            # maxUnavailable 1: never two old pods being deleted at the same time.
            deleting: set[str] = set()
            most = 0
            for event in events.events:
                name = event.object["metadata"]["name"]
                if event.type == "DELETED":
                    deleting.discard(name)
                elif event.object["metadata"].get("deletionTimestamp"):
                    deleting.add(name)
                most = max(most, len(deleting))
            assert most == 1

    run(scenario())


# --- StatefulSet -----------------------------------------------------------------------


def test_statefulset_scales_up_and_down_in_order(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns, nodes=2) as (client, _):
            await client.create(STATEFULSETS, {
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"replicas": 0, "serviceName": "web",
                         "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [container()]}},
                         "volumeClaimTemplates": [{
                             "metadata": {"name": "data"},
                             "spec": {"accessModes": ["ReadWriteOnce"],
                                      "resources": {"requests": {"storage": "1Gi"}}}}]}})

            async def status(replicas: int) -> Obj | None:
                sts = await client.get(STATEFULSETS, "web", namespace=ns)
                st = sts.get("status") or {}
                done = (st.get("observedGeneration") == sts["metadata"]["generation"]
                        and st.get("replicas", 0) == replicas
                        and st.get("readyReplicas", 0) == replicas
                        and st.get("availableReplicas", 0) == replicas)
                return st if done else None

            await eventually(lambda: status(0), message="an empty set")
            events = Recorder(client, PODS, ns)
            await asyncio.to_thread(kyb.kubectl, "scale", "statefulset/web", "--replicas=3",
                                    "-n", ns)
            st = await eventually(lambda: status(3), message="three ready pods")
            assert st["currentRevision"] == st["updateRevision"]
            pods = {p["metadata"]["name"]: p for p in await pods_in(client, ns, "app=web")}
            assert sorted(pods) == ["web-0", "web-1", "web-2"]
            for i in range(3):
                pod = pods[f"web-{i}"]
                labels = pod["metadata"]["labels"]
                assert labels["statefulset.kubernetes.io/pod-name"] == f"web-{i}"
                assert labels["apps.kubernetes.io/pod-index"] == str(i)
                assert labels["controller-revision-hash"] == st["updateRevision"]
                assert pod["spec"]["hostname"] == f"web-{i}"
                assert pod["spec"]["subdomain"] == "web"
                volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
                assert volumes["data"]["persistentVolumeClaim"]["claimName"] == f"data-web-{i}"
            claims = (await client.list(PVCS, namespace=ns))["items"]
            assert sorted(c["metadata"]["name"] for c in claims) == [
                "data-web-0", "data-web-1", "data-web-2"]
            assert all(c["metadata"]["labels"] == {"app": "web"} for c in claims)

            def added(name: str) -> Callable[[WatchEvent], bool]:
                return lambda e: e.type == "ADDED" and e.object["metadata"]["name"] == name

            def ready(name: str) -> Callable[[WatchEvent], bool]:
                return lambda e: e.object["metadata"]["name"] == name and is_ready(e.object)

            for i in (1, 2):  # pod N+1 appears only after pod N is Ready
                assert events.first(ready(f"web-{i - 1}")) < events.first(added(f"web-{i}"))

            await asyncio.to_thread(kyb.kubectl, "scale", "statefulset/web", "--replicas=0",
                                    "-n", ns)
            await eventually(lambda: status(0), message="scaled to zero")

            async def no_pods() -> bool:
                return not await pods_in(client, ns, "app=web")

            await eventually(no_pods, message="every pod gone")
            await events.close()

            def deleting(name: str) -> Callable[[WatchEvent], bool]:
                return lambda e: e.object["metadata"]["name"] == name and bool(
                    e.object["metadata"].get("deletionTimestamp"))

            def deleted(name: str) -> Callable[[WatchEvent], bool]:
                return lambda e: e.type == "DELETED" and e.object["metadata"]["name"] == name

            for i in (2, 1):  # pod N-1 is deleted only after pod N is gone
                assert events.first(deleted(f"web-{i}")) < events.first(deleting(f"web-{i - 1}"))
            # Retain (the default): the claims outlive the pods.
            claims = (await client.list(PVCS, namespace=ns))["items"]
            assert len(claims) == 3

    run(scenario())


def test_parallel_statefulset_creates_all_pods_at_once(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as (client, kubelet):
            kubelet.nodes.clear()  # nothing runs: pods stay Pending
            await client.create(STATEFULSETS, {
                "metadata": {"name": "par", "namespace": ns},
                "spec": {"replicas": 3, "serviceName": "par",
                         "podManagementPolicy": "Parallel",
                         "selector": {"matchLabels": {"app": "par"}},
                         "template": {"metadata": {"labels": {"app": "par"}},
                                      "spec": {"containers": [container()]}}}})

            async def three() -> bool:
                return len(await pods_in(client, ns, "app=par")) == 3

            await eventually(three, message="three pending pods")
            pods = await pods_in(client, ns, "app=par")
            assert all(p["status"]["phase"] == "Pending" for p in pods)

    run(scenario())
