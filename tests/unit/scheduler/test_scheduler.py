"""The running scheduler in memory: `Scheduler` + `EventHandlers` against a fake cluster that
plays the API server and the informers (binding, status patches and deletes come back as
pod events). Time is a fake clock; `settle()` runs the loop's work stepwise."""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Mapping
from typing import Any

import pytest

from kybernetes.api.errors import conflict, internal, not_found
from kybernetes.scheduler.config import load_config
from kybernetes.scheduler.eventhandlers import EventHandlers
from kybernetes.scheduler.framework.events import EVENT_FORCE_ACTIVATE
from kybernetes.scheduler.framework.interface import MODE_OVERRIDE, NominatingInfo
from kybernetes.scheduler.queue import BACKOFF_Q, UNSCHEDULABLE_PODS
from kybernetes.scheduler.scheduler import Scheduler, pod_status_patch, truncate_message

from .builders import make_node, make_pod

Obj = dict[str, Any]
NOW = "2024-06-01T00:00:00Z"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(pod: Mapping[str, Any]) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


class FakeCluster:
    """Pods by namespace/name, written like the API server would and reported to the
    handlers like an informer would. `bind_errors` are raised by the next binds."""

    def __init__(self) -> None:
        self.pods: dict[str, Obj] = {}
        self.handlers: EventHandlers | None = None
        self.binds: list[tuple[str, str]] = []
        self.patches: list[tuple[str, Obj]] = []
        self.deletes: list[str] = []
        self.events: list[tuple[str, str, str, str, str]] = []  # profile, type, reason, obj, msg
        self.bind_errors: list[Exception] = []
        self.bind_gate: asyncio.Event | None = None
        self._rv = 0

    def _write(self, pod: Obj, old: Obj | None) -> None:
        self._rv += 1
        pod["metadata"]["resourceVersion"] = str(self._rv)
        self.pods[_key(pod)] = pod
        assert self.handlers is not None
        if old is None:
            self.handlers.on_pod_add(pod)
        else:
            self.handlers.on_pod_update(old, pod)

    def create(self, pod: Obj) -> Obj:
        self._write(copy.deepcopy(pod), None)
        return self.pods[_key(pod)]

    def remove(self, key: str) -> None:
        """The final delete (what the kubelet confirms for a bound pod)."""
        pod = self.pods.pop(key)
        assert self.handlers is not None
        self.handlers.on_pod_delete(pod)

    async def bind(self, binding: Mapping[str, Any]) -> None:
        if self.bind_gate is not None:
            await self.bind_gate.wait()
        if self.bind_errors:
            raise self.bind_errors.pop(0)
        meta = binding["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        old = self.pods.get(key)
        if old is None:
            raise not_found("pods", meta["name"])
        if old["spec"].get("nodeName"):
            raise conflict("pods", meta["name"], "already assigned")
        new = copy.deepcopy(old)
        new["spec"]["nodeName"] = binding["target"]["name"]
        self.binds.append((key, binding["target"]["name"]))
        self._write(new, old)

    async def patch_pod_status(self, namespace: str, name: str, patch: Mapping[str, Any]
                               ) -> None:
        key = f"{namespace}/{name}"
        self.patches.append((key, copy.deepcopy(dict(patch))))
        old = self.pods.get(key)
        if old is None:
            raise not_found("pods", name)
        new = copy.deepcopy(old)
        status = new.setdefault("status", {})
        for field, value in patch["status"].items():
            if field == "conditions":  # strategic merge by type
                by_type = {c["type"]: c for c in status.get("conditions") or ()}
                by_type.update({c["type"]: c for c in value})
                status["conditions"] = list(by_type.values())
            elif value is None:
                status.pop(field, None)
            else:
                status[field] = value
        self._write(new, old)

    async def delete_pod(self, namespace: str, name: str, uid: str) -> None:
        key = f"{namespace}/{name}"
        self.deletes.append(key)
        old = self.pods.get(key)
        if old is None:
            raise not_found("pods", name)
        if not old["spec"].get("nodeName"):
            self.remove(key)
            return
        new = copy.deepcopy(old)  # graceful: the kubelet finishes it
        new["metadata"]["deletionTimestamp"] = NOW
        self._write(new, old)

    def event(self, profile: str, obj: Mapping[str, Any], event_type: str, reason: str,
              message: str) -> None:
        self.events.append((profile, event_type, reason, obj["metadata"]["name"], message))

    def reasons(self, name: str) -> list[str]:
        return [e[2] for e in self.events if e[3] == name]


class Env:
    def __init__(self, config: Any = None) -> None:
        self.clock = Clock()
        self.cluster = FakeCluster()
        self.sched = Scheduler(self.cluster, config=load_config(config), clock=self.clock,
                               rng=random.Random(7), pod_lookup=lambda k: self.cluster.pods.get(k))
        self.handlers = EventHandlers(self.sched)
        self.cluster.handlers = self.handlers

    def node(self, name: str, **kwargs: Any) -> None:
        self.handlers.on_node_add(make_node(name, **kwargs))

    def later(self, seconds: float = 11.0) -> None:
        """Let back-off run out."""
        self.clock.now += seconds
        self.sched.queue.flush_backoff_completed()

    def node_of(self, name: str) -> str | None:
        return self.cluster.pods[f"default/{name}"]["spec"].get("nodeName")


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_binds_and_records_scheduled() -> None:
    async def scenario() -> None:
        env = Env()
        env.node("n1")
        env.cluster.create(make_pod("web", cpu="100m"))
        await env.sched.settle()
        assert env.cluster.binds == [("default/web", "n1")]
        assert ("default-scheduler", "Normal", "Scheduled", "web",
                "Successfully assigned default/web to n1") in env.cluster.events
        assert not env.sched.cache.is_assumed(env.cluster.pods["default/web"])  # confirmed
        assert env.sched.cache.get_pod(env.cluster.pods["default/web"]) is not None
        assert len(env.sched.queue) == 0 and env.sched.bound == 1
        assert env.sched.metrics.attempts("scheduled", "default-scheduler") == 1

    run(scenario())


def test_unschedulable_pod_waits_for_a_node_that_fits() -> None:
    async def scenario() -> None:
        env = Env()
        env.node("small", cpu="1")
        env.cluster.create(make_pod("big", cpu="2"))
        await env.sched.settle()
        message = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are "
                   "available: 1 No preemption victims found for incoming pod.")
        assert env.cluster.events == [("default-scheduler", "Warning", "FailedScheduling",
                                       "big", message)]
        condition = env.cluster.pods["default/big"]["status"]["conditions"][0]
        assert {k: condition[k] for k in ("type", "status", "reason", "message")} == {
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message}
        assert env.sched.queue.where(env.cluster.pods["default/big"]) == UNSCHEDULABLE_PODS
        assert env.sched.metrics.attempts("unschedulable", "default-scheduler") == 1

        env.node("large", cpu="4")
        env.later()
        await env.sched.settle()
        assert env.node_of("big") == "large"

    run(scenario())


def test_the_same_failure_is_not_patched_twice() -> None:
    async def scenario() -> None:
        env = Env()
        env.node("small", cpu="1")
        env.cluster.create(make_pod("big", cpu="2"))
        await env.sched.settle()
        env.handlers.on_node_add(make_node("other", cpu="1"))
        # NodeResourcesFit's queueing hint: a node too small for the pod does not move it.
        assert env.sched.queue.where(env.cluster.pods["default/big"]) == UNSCHEDULABLE_PODS
        env.sched.queue.move_all_to_active_or_backoff(EVENT_FORCE_ACTIVATE)
        env.later()
        await env.sched.settle()
        # The message changed (2 nodes now): patched; the same again is not.
        assert len(env.cluster.patches) == 2
        env.sched.queue.move_all_to_active_or_backoff(EVENT_FORCE_ACTIVATE)
        env.later()
        await env.sched.settle()
        assert len(env.cluster.patches) == 2
        assert env.cluster.reasons("big").count("FailedScheduling") == 3

    run(scenario())


def test_a_failed_bind_is_forgotten_and_retried() -> None:
    async def scenario() -> None:
        env = Env()
        env.node("n1", cpu="1")
        env.cluster.bind_errors.append(internal("etcd is having a bad day"))
        env.cluster.create(make_pod("web", cpu="1"))
        await env.sched.settle()
        assert env.cluster.binds == []
        assert env.sched.cache.get_pod(env.cluster.pods["default/web"]) is None
        assert env.sched.cache.node_info("n1").requested.milli_cpu == 0
        assert env.sched.queue.where(env.cluster.pods["default/web"]) == BACKOFF_Q
        event = env.cluster.events[-1]
        assert event[2] == "FailedScheduling"
        assert event[4].startswith('running Bind plugin "DefaultBinder": 500 InternalError')
        assert env.cluster.pods["default/web"]["status"]["conditions"][0]["reason"] == (
            "SchedulerError")
        env.later()
        await env.sched.settle()
        assert env.node_of("web") == "n1"

    run(scenario())


def test_a_pod_bound_by_someone_else_is_not_requeued() -> None:
    async def scenario() -> None:
        env = Env()
        env.node("n1")
        env.cluster.bind_gate = asyncio.Event()
        pod = env.cluster.create(make_pod("web"))
        assert env.sched.schedule_next()  # assumed on n1, the bind waits
        elsewhere = copy.deepcopy(pod)
        elsewhere["spec"]["nodeName"] = "n2"
        env.cluster.pods["default/web"] = elsewhere  # the informer has not told us yet
        env.cluster.bind_gate.set()
        await env.sched.settle()
        assert env.cluster.binds == [] and env.sched.queue.where(pod) is None
        assert env.sched.cache.get_pod(pod) is None  # forgotten
        env.handlers.on_pod_update(pod, elsewhere)
        assert env.sched.cache.get_pod(pod).node_name == "n2"

    run(scenario())


def test_preemption_deletes_victims_and_nominates_the_preemptor() -> None:
    async def scenario() -> None:
        env = Env()
        env.node("n1", cpu="1")
        env.cluster.create(make_pod("low", cpu="800m", priority=1, node="n1"))
        env.cluster.create(make_pod("high", cpu="800m", priority=100, uid="uid-high"))
        await env.sched.settle()
        low = env.cluster.pods["default/low"]
        assert env.cluster.deletes == ["default/low"]
        assert low["metadata"]["deletionTimestamp"]  # graceful: still there
        disruption = next(c for c in low["status"]["conditions"]
                          if c["type"] == "DisruptionTarget")
        assert disruption["reason"] == "PreemptionByScheduler"
        assert disruption["message"] == ("default-scheduler: preempting to accommodate a "
                                         "higher priority pod")
        assert ("default-scheduler", "Normal", "Preempted", "low",
                "Preempted by pod uid-high on node n1") in env.cluster.events
        high = env.cluster.pods["default/high"]
        assert high["status"]["nominatedNodeName"] == "n1"
        assert env.sched.queue.nominated_node(high) == "n1"
        assert env.sched.metrics.preemption_attempts._value.get() == 1

        env.later()  # terminating, the victim still holds the node: no second round
        await env.sched.settle()
        assert env.cluster.deletes == ["default/low"] and env.node_of("high") is None

        env.cluster.remove("default/low")  # the kubelet finished it
        env.later()
        await env.sched.settle()
        assert env.node_of("high") == "n1"

    run(scenario())


def test_profiles_serve_their_scheduler_names_only() -> None:
    config = {"profiles": [{"schedulerName": "default-scheduler"},
                           {"schedulerName": "packer"}]}

    async def scenario() -> None:
        env = Env(config)
        env.node("n1")
        env.cluster.create(make_pod("a"))
        env.cluster.create(make_pod("b", scheduler_name="packer"))
        env.cluster.create(make_pod("c", scheduler_name="somebody-else"))
        await env.sched.settle()
        assert sorted(env.cluster.binds) == [("default/a", "n1"), ("default/b", "n1")]
        assert {(e[0], e[3]) for e in env.cluster.events} == {("default-scheduler", "a"),
                                                               ("packer", "b")}
        assert env.node_of("c") is None and env.sched.queue.where(
            env.cluster.pods["default/c"]) is None

    run(scenario())


def test_priority_comes_from_the_priority_class_when_admission_did_not_set_it() -> None:
    env = Env()
    env.handlers._put_class({"metadata": {"name": "high"}, "value": 1000,
                             "preemptionPolicy": "Never"})
    env.handlers._put_class({"metadata": {"name": "base"}, "value": 5, "globalDefault": True})
    named = make_pod("named")
    named["spec"]["priorityClassName"] = "high"
    resolved = env.handlers.resolve_priority(named)
    assert resolved["spec"]["priority"] == 1000
    assert resolved["spec"]["preemptionPolicy"] == "Never"
    assert env.handlers.resolve_priority(make_pod("plain"))["spec"]["priority"] == 5
    critical = make_pod("critical")
    critical["spec"]["priorityClassName"] = "system-node-critical"
    assert env.handlers.resolve_priority(critical)["spec"]["priority"] == 2000001000
    admitted = make_pod("admitted", priority=7)
    assert env.handlers.resolve_priority(admitted) is admitted


def test_an_assumed_pod_deleted_while_binding_frees_its_node() -> None:
    async def scenario() -> None:
        env = Env()
        env.node("n1", cpu="1")
        env.cluster.bind_gate = asyncio.Event()
        env.cluster.create(make_pod("web", cpu="1"))
        assert env.sched.schedule_next()
        assert env.sched.cache.node_info("n1").requested.milli_cpu == 1000
        env.cluster.remove("default/web")  # deleted before the bind went through
        assert env.sched.cache.node_info("n1").requested.milli_cpu == 0
        env.cluster.bind_gate.set()
        await env.sched.settle()
        assert env.cluster.binds == [] and len(env.sched.queue) == 0
        assert env.sched.cache.num_pods == 0

    run(scenario())


def test_terminating_pods_are_not_queued() -> None:
    env = Env()
    env.cluster.create(make_pod("going", deleting=True))
    assert len(env.sched.queue) == 0
    pod = env.cluster.create(make_pod("staying"))
    assert len(env.sched.queue) == 1
    gone = copy.deepcopy(pod)
    gone["metadata"]["deletionTimestamp"] = NOW
    env.cluster._write(gone, pod)
    assert len(env.sched.queue) == 0


@pytest.mark.parametrize(("conditions", "nominated", "nominating", "want"), [
    pytest.param([], "", None,
                 {"conditions": [{"type": "PodScheduled", "status": "False",
                                  "reason": "Unschedulable", "message": "m",
                                  "lastTransitionTime": NOW}]}, id="new-condition"),
    pytest.param([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "m", "lastTransitionTime": "T0"}], "", None, None,
                 id="unchanged"),
    pytest.param([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "old", "lastTransitionTime": "T0"}], "", None,
                 {"conditions": [{"type": "PodScheduled", "status": "False",
                                  "reason": "Unschedulable", "message": "m",
                                  "lastTransitionTime": "T0"}]}, id="new-message-same-status"),
    pytest.param([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "m", "lastTransitionTime": "T0"}], "", NominatingInfo(
                       "n1", MODE_OVERRIDE), {"nominatedNodeName": "n1"}, id="nominate"),
    pytest.param([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "m", "lastTransitionTime": "T0"}], "n1", NominatingInfo(
                       "", MODE_OVERRIDE), {"nominatedNodeName": None}, id="clear-nomination"),
])
def test_pod_status_patch(conditions: list[Obj], nominated: str,
                          nominating: NominatingInfo | None, want: Obj | None) -> None:
    pod = make_pod("p", conditions=conditions, nominated=nominated or None)
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "m"}
    patch = pod_status_patch(pod, condition, nominating, NOW)
    assert patch == (None if want is None else {"status": want})


def test_long_messages_are_truncated() -> None:
    assert truncate_message("x" * 10) == "x" * 10
    long = truncate_message("x" * 2000)
    assert len(long) == 1024 and long.endswith("...")
