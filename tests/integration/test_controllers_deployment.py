"""Deployments, ReplicaSets and ReplicationControllers on a real server, driven by kubectl.

Each test runs, in its own event loop, the controller manager with the deployment,
replicaset and replicationcontroller controllers (no leader election) and a tiny kubelet
that plays every node. kubectl runs in a thread so that both keep working while it
waits (`kubectl rollout status` watches until the controllers are done).

No sleeps: conditions are polled with a deadline (`eventually`); invariants of a rollout
are checked on every pod event the kubelet's informer sees (`watch_pods`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.client import (
    Client,
    SharedInformerFactory,
    ShutDown,
    StatusError,
    WorkQueue,
    builtin_resource,
    load_kubeconfig,
    meta_namespace_key,
    object_of,
)
from kybernetes.controllers.controller_utils import compute_hash
from kybernetes.controllers.manager import ControllerManager
from kybernetes.testing.server import ServerProcess

Obj = dict[str, Any]
PODS = builtin_resource("v1", "Pod")
DEPLOYMENTS = builtin_resource("apps/v1", "Deployment")
REPLICA_SETS = builtin_resource("apps/v1", "ReplicaSet")
RCS = builtin_resource("v1", "ReplicationController")
EVENTS = builtin_resource("v1", "Event")
CONTROLLERS = ["deployment", "replicaset", "replicationcontroller"]
DEADLINE = 60.0  # a safety net for polling, never an assertion on speed
NODE = "node-1"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, 240)

    return asyncio.run(guarded())


# --- a kubelet for every node -------------------------------------------------------------


class TinyKubelet:
    """Binds unscheduled pods to `node-1`, reports bound pods Running and Ready, and
    finishes graceful deletions (DELETE with grace 0), as a kubelet would. Pods whose
    image contains "unready" run but never become Ready. `observers` are called after
    every pod event, with the informer's store up to date."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.factory = SharedInformerFactory(client)
        self.pods = self.factory.informer(PODS)
        self.queue: WorkQueue[str] = WorkQueue(name="tiny-kubelet")
        self.observers: list[Callable[[], None]] = []
        self.pods.add_event_handler(on_add=self._seen, on_update=lambda _, new: self._seen(new),
                                    on_delete=self._seen)

    def _seen(self, obj: Any) -> None:
        self.queue.add(meta_namespace_key(object_of(obj)))
        for observe in list(self.observers):
            observe()

    async def run(self) -> None:
        self.factory.start()
        try:
            await asyncio.gather(*(self._worker() for _ in range(4)))
        finally:
            self.queue.shutdown()
            await self.factory.shutdown()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self._sync(key)
                self.queue.forget(key)
            except StatusError:
                self.queue.add_rate_limited(key)  # a stale cache: try again
            finally:
                self.queue.done(key)

    async def _sync(self, key: str) -> None:
        pod = self.pods.store.get(key)
        if pod is None:
            return
        meta, spec = pod["metadata"], pod["spec"]
        if meta.get("deletionTimestamp"):
            if spec.get("nodeName"):
                await self.client.delete(PODS, meta["name"], namespace=meta["namespace"],
                                         grace_period_seconds=0)
        elif not spec.get("nodeName"):
            await self.client.bind(meta["namespace"], meta["name"], NODE, uid=meta["uid"])
        elif (pod.get("status") or {}).get("phase") != "Running":
            await self.client.update(PODS, running(pod), subresource="status")


def running(pod: Obj) -> Obj:
    ready = all("unready" not in c["image"] for c in pod["spec"]["containers"])
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod = dict(pod)
    pod["status"] = {
        "phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.1.0.1", "startTime": now,
        "conditions": [{"type": t, "status": "True" if ok else "False",
                        "lastTransitionTime": now}
                       for t, ok in (("Initialized", True), ("Ready", ready),
                                     ("ContainersReady", ready), ("PodScheduled", True))],
        "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "",
                               "ready": ready, "restartCount": 0, "started": True,
                               "state": {"running": {"startedAt": now}}}
                              for c in pod["spec"]["containers"]],
    }
    return pod


# --- the harness --------------------------------------------------------------------------


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def image_of(pod: Obj) -> str:
    return str(pod["spec"]["containers"][0]["image"])


@dataclass
class Harness:
    kyb: ServerProcess
    client: Client
    kubelet: TinyKubelet
    ns: str

    async def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> Any:
        return await asyncio.to_thread(self.kyb.kubectl, "-n", self.ns, *args, input=input,
                                       check=check)

    async def apply(self, obj: Obj) -> None:
        await self.kubectl("apply", "-f", "-", input=json.dumps(obj))

    async def rollout_status(self, kind_name: str) -> str:
        res = await self.kubectl("rollout", "status", kind_name, "--timeout=90s")
        assert "successfully rolled out" in res.stdout, res.stdout
        return str(res.stdout)

    def pods(self, app: str, *, terminating: bool = False) -> list[Obj]:
        """The pods labelled app=<app> (by default not those being deleted)."""
        return [p for p in self.kubelet.pods.store.list_namespace(self.ns)
                if (p["metadata"].get("labels") or {}).get("app") == app
                and (terminating or not p["metadata"].get("deletionTimestamp"))]

    def ready(self, app: str) -> list[Obj]:
        return [p for p in self.pods(app) if is_ready(p)]

    async def get(self, resource: Any, name: str) -> Obj:
        return await self.client.get(resource, name, namespace=self.ns)

    async def replica_sets(self) -> list[Obj]:
        return list((await self.client.list(REPLICA_SETS, namespace=self.ns))["items"])

    async def events(self, reason: str) -> list[Obj]:
        items = (await self.client.list(EVENTS, namespace=self.ns))["items"]
        return [e for e in items if e.get("reason") == reason]

    @contextmanager
    def watch_pods(self, observe: Callable[[], None]) -> Any:
        """Call `observe` on every pod event while the block runs."""
        self.kubelet.observers.append(observe)
        try:
            yield
        finally:
            self.kubelet.observers.remove(observe)


async def eventually(check: Callable[[], Any], message: str = "") -> Any:
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


@asynccontextmanager
async def cluster(kyb: ServerProcess, ns: str) -> AsyncIterator[Harness]:
    async with Client(load_kubeconfig(kyb.kubeconfig)) as client:
        manager = ControllerManager(client, controllers=CONTROLLERS, leader_elect=False)
        kubelet = TinyKubelet(client)
        tasks = [asyncio.create_task(manager.run()), asyncio.create_task(kubelet.run())]
        try:
            await kubelet.factory.wait_for_sync()
            yield Harness(kyb, client, kubelet, ns)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def deployment(name: str, replicas: int, image: str, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}},
                     **spec}}


def controller_of(obj: Obj) -> Obj:
    refs = [r for r in obj["metadata"].get("ownerReferences") or () if r.get("controller")]
    assert len(refs) == 1, obj["metadata"]
    return refs[0]


# --- Deployments --------------------------------------------------------------------------

ROLLING = [
    # (replicas, strategy as kubectl/apply sets it, the least pods that must stay ready)
    pytest.param(3, None, 3, id="defaults 25%/25% of 3: never below 3"),
    pytest.param(4, {"type": "RollingUpdate",
                     "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}, 3,
                 id="surge 1, unavailable 1 of 4: never below 3"),
]


@pytest.mark.parametrize(("replicas", "strategy", "least_ready"), ROLLING)
def test_rolling_update_keeps_availability_and_rolls_back(
        kyb: ServerProcess, ns: str, replicas: int, strategy: Obj | None,
        least_ready: int) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            if strategy is None:
                await h.kubectl("create", "deployment", "web", "--image=nginx:1",
                                f"--replicas={replicas}")
            else:
                await h.apply(deployment("web", replicas, "nginx:1", strategy=strategy))
            await h.rollout_status("deployment/web")
            assert len(h.ready("web")) == replicas
            await check_ownership(h, replicas)

            lowest, samples = [replicas], [0]

            def sample() -> None:
                lowest[0] = min(lowest[0], len(h.ready("web")))
                samples[0] += 1

            # The new image and its change-cause in one write (what `--record` did).
            container = "nginx" if strategy is None else "app"
            change = {"metadata": {"annotations": {"kubernetes.io/change-cause": "to v2"}},
                      "spec": {"template": {"spec": {"containers": [
                          {"name": container, "image": "nginx:2"}]}}}}
            with h.watch_pods(sample):
                await h.kubectl("patch", "deployment/web", "-p", json.dumps(change))
                await h.rollout_status("deployment/web")
            # Every pod create, bind, status and delete of the rollout was looked at.
            assert samples[0] >= 4 * replicas
            assert lowest[0] >= least_ready, f"only {lowest[0]} pods were ready at one point"
            await eventually(lambda: {image_of(p) for p in h.pods("web", terminating=True)}
                             == {"nginx:2"} and len(h.pods("web")) == replicas,
                             "only new pods left")

            history = (await h.kubectl("rollout", "history", "deployment/web")).stdout
            assert re.findall(r"^(\d+)\s+(.*?)\s*$", history, re.M) == \
                [("1", "<none>"), ("2", "to v2")], history

            await h.kubectl("rollout", "undo", "deployment/web")
            await h.rollout_status("deployment/web")
            await eventually(lambda: {image_of(p) for p in h.pods("web", terminating=True)}
                             == {"nginx:1"}, "image A back")
            await check_revisions_after_undo(h)

    run(scenario())


async def check_ownership(h: Harness, replicas: int) -> None:
    d = await h.get(DEPLOYMENTS, "web")
    [rs] = await h.replica_sets()
    ref = controller_of(rs)
    assert (ref["kind"], ref["name"], ref["uid"], ref["blockOwnerDeletion"]) == \
        ("Deployment", "web", d["metadata"]["uid"], True)
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
    ann = rs["metadata"]["annotations"]
    max_replicas = str(replicas + 1)  # maxSurge is 1 in both cases
    assert (ann["deployment.kubernetes.io/revision"],
            ann["deployment.kubernetes.io/desired-replicas"],
            ann["deployment.kubernetes.io/max-replicas"]) == ("1", str(replicas), max_replicas)
    for pod in h.pods("web"):
        assert re.fullmatch(rf"web-{pod_hash}-[a-z0-9]{{5}}", pod["metadata"]["name"])
        assert controller_of(pod)["uid"] == rs["metadata"]["uid"]
        assert controller_of(pod)["blockOwnerDeletion"] is True
    status = d["status"]
    assert {k: status.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas",
                                       "availableReplicas", "observedGeneration")} == \
        {"replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
         "availableReplicas": replicas, "observedGeneration": d["metadata"]["generation"]}
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert reasons == {"Available": "MinimumReplicasAvailable",
                       "Progressing": "NewReplicaSetAvailable"}
    assert await eventually(lambda: h.events("ScalingReplicaSet"), "ScalingReplicaSet event")
    assert await eventually(lambda: h.events("SuccessfulCreate"), "SuccessfulCreate event")


async def check_revisions_after_undo(h: Harness) -> None:
    """Undo brought revision 1's RS back as revision 3 (and the Deployment with it)."""
    d = await h.get(DEPLOYMENTS, "web")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    by_image = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs
                for rs in await h.replica_sets()}
    ann = by_image["nginx:1"]["metadata"]["annotations"]
    assert (ann["deployment.kubernetes.io/revision"],
            ann["deployment.kubernetes.io/revision-history"]) == ("3", "1")
    assert by_image["nginx:2"]["spec"]["replicas"] == 0


def test_pause_and_resume(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.apply(deployment("paused", 2, "nginx:1"))
            await h.rollout_status("deployment/paused")
            await h.kubectl("rollout", "pause", "deployment/paused")
            await h.kubectl("set", "image", "deployment/paused", "app=nginx:2")

            async def paused_observed() -> bool:
                d = await h.get(DEPLOYMENTS, "paused")
                progressing = [c for c in d["status"].get("conditions", ())
                               if c["type"] == "Progressing"]
                return (d["status"].get("observedGeneration") == d["metadata"]["generation"]
                        and progressing[0]["reason"] == "DeploymentPaused")

            await eventually(paused_observed, "the paused template change is observed")
            assert len(await h.replica_sets()) == 1
            assert {image_of(p) for p in h.pods("paused")} == {"nginx:1"}

            await h.kubectl("rollout", "resume", "deployment/paused")
            await h.rollout_status("deployment/paused")
            await eventually(lambda: {image_of(p) for p in h.pods("paused", terminating=True)}
                             == {"nginx:2"}, "rolled out after resume")
            assert len(await h.replica_sets()) == 2

    run(scenario())


def test_scale_and_replace_deleted_pods(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.kubectl("create", "deployment", "scaled", "--image=nginx:1",
                            "--replicas=2")
            await h.rollout_status("deployment/scaled")
            await h.kubectl("scale", "deployment/scaled", "--replicas=5")
            await eventually(lambda: len(h.ready("scaled")) == 5, "scaled up to 5")
            await h.rollout_status("deployment/scaled")

            victim = h.pods("scaled")[0]["metadata"]["name"]
            await h.kubectl("delete", "pod", victim)
            await eventually(lambda: len(h.ready("scaled")) == 5
                             and victim not in {p["metadata"]["name"] for p in h.pods("scaled")},
                             "the deleted pod is replaced")

            await h.kubectl("scale", "deployment/scaled", "--replicas=1")
            await eventually(lambda: len(h.pods("scaled", terminating=True)) == 1,
                             "scaled down to 1")
            await h.rollout_status("deployment/scaled")
            [rs] = await h.replica_sets()
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] \
                == "1"

    run(scenario())


def test_recreate_never_runs_old_and_new_pods_together(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.apply(deployment("recreate", 3, "nginx:1", strategy={"type": "Recreate"}))
            await h.rollout_status("deployment/recreate")
            mixed: list[set[str]] = []

            def sample() -> None:
                images = {image_of(p) for p in h.pods("recreate", terminating=True)}
                if len(images) > 1:
                    mixed.append(images)

            with h.watch_pods(sample):
                await h.kubectl("set", "image", "deployment/recreate", "app=nginx:2")
                await h.rollout_status("deployment/recreate")
            assert mixed == []
            assert {image_of(p) for p in h.ready("recreate")} == {"nginx:2"}

    run(scenario())


def test_revision_history_limit_and_restart(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.apply(deployment("hist", 1, "nginx:1", revisionHistoryLimit=1))
            await h.rollout_status("deployment/hist")
            for image in ("nginx:2", "nginx:3"):
                await h.kubectl("set", "image", "deployment/hist", f"app={image}")
                await h.rollout_status("deployment/hist")
            await h.kubectl("rollout", "restart", "deployment/hist")
            await h.rollout_status("deployment/hist")

            async def history_trimmed() -> list[Obj] | None:
                rss = await h.replica_sets()
                return rss if len(rss) == 2 else None

            rss = await eventually(history_trimmed, "old replica sets beyond the limit deleted")
            revisions = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                               for rs in rss)
            assert revisions == ["3", "4"]
            d = await h.get(DEPLOYMENTS, "hist")
            assert "kubectl.kubernetes.io/restartedAt" in \
                d["spec"]["template"]["metadata"]["annotations"]
            assert all("kubectl.kubernetes.io/restartedAt" in p["metadata"]["annotations"]
                       for p in h.pods("hist"))

    run(scenario())


def test_progress_deadline_exceeded(kyb: ServerProcess, ns: str) -> None:
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.apply(deployment("stuck", 2, "unready:1", progressDeadlineSeconds=2))
            res = await h.kubectl("rollout", "status", "deployment/stuck", "--timeout=90s",
                                  check=False)
            assert res.returncode != 0
            assert 'deployment "stuck" exceeded its progress deadline' in res.stderr
            d = await h.get(DEPLOYMENTS, "stuck")
            conditions = {c["type"]: c for c in d["status"]["conditions"]}
            progressing, available = conditions["Progressing"], conditions["Available"]
            assert (progressing["status"], progressing["reason"]) == \
                ("False", "ProgressDeadlineExceeded")
            assert re.fullmatch(r'ReplicaSet "stuck-\w+" has timed out progressing\.',
                                progressing["message"])
            assert (available["status"], available["reason"]) == \
                ("False", "MinimumReplicasUnavailable")
            assert d["status"]["unavailableReplicas"] == 2

    run(scenario())


def test_hash_collision_bumps_collision_count(kyb: ServerProcess, ns: str) -> None:
    """Another RS already has the new RS's name: status.collisionCount goes up and the
    new RS is named after the hash of the template and that count."""
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            create = ("create", "deployment", "coll", "--image=nginx:1", "--replicas=1")
            dry = json.loads((await h.kubectl(*create, "--dry-run=server", "-o", "json")).stdout)
            template = dry["spec"]["template"]
            squatter = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": f"coll-{compute_hash(template, None)}"},
                        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "other"}},
                                 "template": {"metadata": {"labels": {"app": "other"}},
                                              "spec": template["spec"]}}}
            await h.apply(squatter)
            await h.kubectl(*create)
            await h.rollout_status("deployment/coll")
            d = await h.get(DEPLOYMENTS, "coll")
            assert d["status"]["collisionCount"] == 1
            names = {rs["metadata"]["name"]: rs for rs in await h.replica_sets()}
            ours = names[f"coll-{compute_hash(template, 1)}"]
            assert controller_of(ours)["uid"] == d["metadata"]["uid"]
            assert not names[squatter["metadata"]["name"]]["metadata"].get("ownerReferences")

    run(scenario())


def test_min_ready_seconds(kyb: ServerProcess, ns: str) -> None:
    """Pods become available minReadySeconds after they are ready, with no pod event then:
    the rollout completes only if the controllers look again by themselves."""
    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.apply(deployment("slow", 2, "nginx:1", minReadySeconds=1))
            await h.rollout_status("deployment/slow")
            [rs] = await h.replica_sets()
            assert rs["spec"]["minReadySeconds"] == 1
            assert rs["status"]["availableReplicas"] == 2

    run(scenario())


# --- ReplicaSets and ReplicationControllers -----------------------------------------------


def test_replication_controller(kyb: ServerProcess, ns: str) -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy"},
          "spec": {"replicas": 2, "template": {
              "metadata": {"labels": {"app": "legacy"}},
              "spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}}

    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.apply(rc)
            await eventually(lambda: len(h.ready("legacy")) == 2, "2 pods ready")
            live = await h.get(RCS, "legacy")
            for pod in h.pods("legacy"):
                ref = controller_of(pod)
                assert (ref["apiVersion"], ref["kind"], ref["uid"]) == \
                    ("v1", "ReplicationController", live["metadata"]["uid"])
                assert re.fullmatch(r"legacy-[a-z0-9]{5}", pod["metadata"]["name"])

            await h.kubectl("scale", "rc/legacy", "--replicas=3")
            await eventually(lambda: len(h.ready("legacy")) == 3, "scaled to 3")
            victim = h.pods("legacy")[0]["metadata"]["name"]
            await h.kubectl("delete", "pod", victim)
            await eventually(lambda: len(h.ready("legacy")) == 3 and victim not in
                             {p["metadata"]["name"] for p in h.pods("legacy")}, "replaced")

            await h.kubectl("scale", "rc/legacy", "--replicas=2")
            await eventually(lambda: len(h.pods("legacy", terminating=True)) == 2, "scaled down")

            async def status_caught_up() -> Obj | None:
                st = (await h.get(RCS, "legacy")).get("status") or {}
                return st if st.get("replicas") == 2 and st.get("observedGeneration") == 3 \
                    else None

            st = await eventually(status_caught_up, "RC status")
            assert {k: st.get(k) for k in ("replicas", "fullyLabeledReplicas", "readyReplicas",
                                           "availableReplicas")} == \
                {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2,
                 "availableReplicas": 2}
            created = await eventually(lambda: h.events("SuccessfulCreate"), "events")
            assert {e["source"]["component"] for e in created} == {"replication-controller"}
            deleted = await eventually(lambda: h.events("SuccessfulDelete"), "delete event")
            [gone] = [e["message"].removeprefix("Deleted pod: ") for e in deleted]
            assert gone not in {p["metadata"]["name"] for p in h.pods("legacy")}

    run(scenario())


def test_replica_set_adopts_and_releases_pods(kyb: ServerProcess, ns: str) -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "adopter"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "adopt"}},
                   "template": {"metadata": {"labels": {"app": "adopt"}},
                                "spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}}

    async def scenario() -> None:
        async with cluster(kyb, ns) as h:
            await h.kubectl("run", "orphan", "--image=nginx:1", "--labels=app=adopt")
            await eventually(lambda: h.ready("adopt"), "the orphan runs")
            await h.apply(rs)
            live = await h.get(REPLICA_SETS, "adopter")

            def adopted() -> bool:
                pods = h.pods("adopt")
                return len(pods) == 2 and all(
                    (controller_of(p)["uid"] if p["metadata"].get("ownerReferences") else None)
                    == live["metadata"]["uid"] for p in pods)

            await eventually(adopted, "the orphan adopted, one pod created")
            assert "orphan" in {p["metadata"]["name"] for p in h.pods("adopt")}

            await h.kubectl("label", "pod", "orphan", "app=gone", "--overwrite")
            await eventually(lambda: len(h.ready("adopt")) == 2
                             and "orphan" not in {p["metadata"]["name"] for p in h.pods("adopt")},
                             "released and replaced")
            released = await h.get(PODS, "orphan")
            assert not released["metadata"].get("ownerReferences")

    run(scenario())
