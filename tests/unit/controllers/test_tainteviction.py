"""The taint-eviction controller: who tolerates what, and for how long (virtual time)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kybernetes.client import FakeClock, builtin_resource
from kybernetes.controllers.tainteviction import (
    FOREVER,
    TaintEvictionController,
    eviction_delay,
    tolerates,
)

from .fake_api import FakeApi, context, fill

Obj = dict[str, Any]
PODS, NODES = builtin_resource("v1", "Pod"), builtin_resource("v1", "Node")
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}


def tol(key: str = "", op: str = "Exists", effect: str = "", value: str = "",
        seconds: int | None = None) -> Obj:
    t: Obj = {"key": key, "operator": op, "effect": effect, "value": value}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


@pytest.mark.parametrize(("toleration", "taint", "expected"), [
    (tol(UNREACHABLE["key"]), UNREACHABLE, True),
    (tol(), UNREACHABLE, True),
    (tol(UNREACHABLE["key"], effect="NoSchedule"), UNREACHABLE, False),
    (tol("other"), UNREACHABLE, False),
    (tol("k", op="Equal", value="v"), {"key": "k", "value": "v", "effect": "NoExecute"}, True),
    (tol("k", op="Equal", value="v"), {"key": "k", "effect": "NoExecute"}, False),
    (tol("k", op="Equal"), {"key": "k", "effect": "NoExecute"}, True),
])
def test_tolerates(toleration: Obj, taint: Obj, expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


@pytest.mark.parametrize(("taints", "tolerations", "delay"), [
    pytest.param([], [], None, id="no NoExecute taint"),
    pytest.param([UNREACHABLE], [], 0.0, id="untolerated: now"),
    pytest.param([UNREACHABLE], [tol(UNREACHABLE["key"], seconds=30)], 30.0, id="30 s"),
    pytest.param([UNREACHABLE], [tol(UNREACHABLE["key"])], FOREVER, id="forever"),
    pytest.param([UNREACHABLE, NOT_READY], [tol(UNREACHABLE["key"], seconds=300)], 0.0,
                 id="one of two taints untolerated"),
    pytest.param([UNREACHABLE, NOT_READY], [tol(UNREACHABLE["key"], seconds=300),
                                            tol(NOT_READY["key"], seconds=60)], 60.0,
                 id="least seconds win"),
    pytest.param([UNREACHABLE], [tol(UNREACHABLE["key"], seconds=-5)], 0.0,
                 id="negative seconds: now"),
    pytest.param([UNREACHABLE], [tol(UNREACHABLE["key"], seconds=10), tol(seconds=1)], 10.0,
                 id="first matching toleration is the one used"),
])
def test_eviction_delay(taints: list[Obj], tolerations: list[Obj], delay: float | None
                        ) -> None:
    assert eviction_delay(taints, tolerations) == delay


def make_node(*taints: Obj) -> Obj:
    return {"metadata": {"name": "n1", "uid": "node-uid"}, "spec": {"taints": list(taints)}}


def make_pod(name: str, *tolerations: Obj) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
            "spec": {"nodeName": "n1", "tolerations": list(tolerations)},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


class Harness:
    def __init__(self, node: Obj, *pods: Obj) -> None:
        self.clock = FakeClock()
        self.api = FakeApi(self.clock)
        self.ctrl = TaintEvictionController(context(self.api))
        self.set_node(node)
        for pod in pods:
            fill(self.ctrl.pods, [self.api.put(PODS, pod)])

    def set_node(self, node: Obj) -> None:
        fill(self.ctrl.nodes, [self.api.put(NODES, node)])

    async def reconcile(self, name: str) -> None:
        await self.ctrl.reconcile(f"ns/{name}")
        await self.ctrl.recorder.flush()

    def deleted(self) -> list[str]:
        return [c[2] for c in self.api.writes("delete")]


def test_untolerated_pod_is_marked_and_deleted_at_once() -> None:
    async def main() -> None:
        h = Harness(make_node(UNREACHABLE), make_pod("p"))
        await h.reconcile("p")
        assert h.api.writes() == [("update", "pods", "p", "status"),
                                  ("delete", "pods", "p", {"uid": "uid-p"})]
        last = h.api.deleted[("pods", "ns", "p")]
        target = [c for c in last["status"]["conditions"] if c["type"] == "DisruptionTarget"]
        assert [(c["status"], c["reason"]) for c in target] == [
            ("True", "DeletionByTaintManager")]
        assert ("TaintManagerEviction", "Marking for deletion Pod ns/p") in h.api.events()

    asyncio.run(main())


def test_toleration_seconds_are_honoured_on_virtual_time() -> None:
    async def main() -> None:
        h = Harness(make_node(UNREACHABLE), make_pod("p", tol(UNREACHABLE["key"], seconds=2)))
        await h.reconcile("p")
        assert h.deleted() == [] and h.ctrl.queue.waiting == 1
        await h.clock.advance(1.5)
        assert len(h.ctrl.queue) == 0
        await h.reconcile("p")  # an unrelated event meanwhile: still not due
        assert h.deleted() == []
        await h.clock.advance(0.5)
        assert len(h.ctrl.queue) == 1
        await h.reconcile("p")
        assert h.deleted() == ["p"]

    asyncio.run(main())


def test_eviction_is_cancelled_when_the_taint_goes() -> None:
    async def main() -> None:
        h = Harness(make_node(UNREACHABLE), make_pod("p", tol(UNREACHABLE["key"], seconds=2)))
        await h.reconcile("p")
        h.set_node(make_node())
        await h.clock.advance(5)
        await h.reconcile("p")
        assert h.deleted() == []
        assert ("TaintManagerEviction", "Cancelling deletion of Pod ns/p") in h.api.events()

    asyncio.run(main())


def test_forever_tolerations_and_pods_already_going_are_left_alone() -> None:
    async def main() -> None:
        going = make_pod("going")
        going["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        h = Harness(make_node(UNREACHABLE), make_pod("stay", tol(UNREACHABLE["key"])), going)
        await h.reconcile("stay")
        await h.reconcile("going")
        assert h.api.writes() == []

    asyncio.run(main())


def test_the_live_pod_decides() -> None:
    async def main() -> None:
        h = Harness(make_node(UNREACHABLE), make_pod("p"))
        replaced = make_pod("p")
        replaced["metadata"]["uid"] = "new-uid"
        h.api.put(PODS, replaced)  # re-created under the same name; the cache lags
        await h.reconcile("p")
        assert h.deleted() == []

    asyncio.run(main())
