"""Events: the correlator's decisions (pure) and the recorder's writes (in-memory transport)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from kybernetes.client import (
    Client,
    EventCorrelator,
    EventRecorder,
    FakeClock,
    HttpRequest,
    MockResponse,
    MockTransport,
    object_reference,
)
from kybernetes.client._eventcorrelator import AGGREGATE_PREFIX, CREATE, DROP, PATCH

from .support import config, make_pod, path_of, run, status


def event(message: str = "pulled", reason: str = "Pulled", name: str = "p.1",
          obj: str = "p") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "namespace": "ns", "name": obj, "uid": "u1"},
            "source": {"component": "kubelet", "host": "n1"}, "type": "Normal",
            "reason": reason, "message": message, "count": 1,
            "firstTimestamp": "T0", "lastTimestamp": "T0"}


# --- correlator ---------------------------------------------------------------------------


def test_identical_event_patches_the_first_one() -> None:
    c = EventCorrelator()
    first = c.observe(event(name="p.1"), now=0)
    second = c.observe(event(name="p.2") | {"lastTimestamp": "T5"}, now=5)
    third = c.observe(event(name="p.3") | {"lastTimestamp": "T9"}, now=9)
    assert first.action == CREATE
    assert (second.action, second.patch) == (
        PATCH, {"count": 2, "lastTimestamp": "T5", "message": "pulled"})
    assert second.event["metadata"]["name"] == "p.1"
    assert second.event["firstTimestamp"] == "T0"
    assert third.patch is not None and third.patch["count"] == 3


def test_identical_event_after_the_window_is_a_new_object() -> None:
    c = EventCorrelator(window_seconds=600)
    c.observe(event(name="p.1"), now=0)
    assert c.observe(event(name="p.2"), now=601).action == CREATE


@pytest.mark.parametrize("change", [
    {"message": "other"}, {"reason": "Other"}, {"type": "Warning"},
    {"involvedObject": {"kind": "Pod", "namespace": "ns", "name": "q", "uid": "u2"}},
    {"source": {"component": "scheduler"}},
], ids=["message", "reason", "type", "object", "source"])
def test_different_events_are_not_deduplicated(change: dict[str, Any]) -> None:
    c = EventCorrelator()
    c.observe(event(), now=0)
    assert c.observe(event(name="p.2") | change, now=1).action == CREATE


def test_many_similar_messages_are_combined_into_one_event() -> None:
    c = EventCorrelator(max_similar=10)
    decisions = [c.observe(event(message=f"m{i}", name=f"p.{i}"), now=i) for i in range(12)]
    assert [d.action for d in decisions[:10]] == [CREATE] * 10
    assert decisions[9].event["message"] == AGGREGATE_PREFIX + "m9"
    assert (decisions[10].action, decisions[10].event["metadata"]["name"]) == (PATCH, "p.9")
    assert decisions[11].patch == {"count": 3, "lastTimestamp": "T0",
                                   "message": AGGREGATE_PREFIX + "m11"}


def test_spam_filter_drops_beyond_the_burst_and_refills_slowly() -> None:
    c = EventCorrelator(spam_burst=3, spam_qps=1 / 300)
    actions = [c.observe(event(message=f"m{i}", name=f"p.{i}"), now=0).action for i in range(4)]
    assert actions == [CREATE, CREATE, CREATE, DROP]
    assert c.observe(event(message="late", name="p.late"), now=300).action == CREATE


# --- recorder -----------------------------------------------------------------------------


class Server:
    """Events by name; PATCH merges top-level fields. Optional failures by name."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.lose_next_patch = False

    def __call__(self, request: HttpRequest) -> MockResponse:
        path = path_of(request)
        body = orjson.loads(request.body or b"null")
        if request.method == "POST":
            self.events[body["metadata"]["name"]] = body
            return MockResponse.json(body, 201)
        name = path.rsplit("/", 1)[1]
        if self.lose_next_patch or name not in self.events:
            self.lose_next_patch = False
            return status(404, "NotFound", f'events "{name}" not found')
        self.events[name].update(body)
        return MockResponse.json(self.events[name])


def recorder_with(server: Server, clock: FakeClock) -> tuple[EventRecorder, MockTransport]:
    transport = MockTransport(server)
    client = Client(config(), transport=transport, clock=clock)
    return EventRecorder(client, "kubelet", "node-1", clock=clock), transport


def test_recorder_creates_then_patches_count_two() -> None:
    server, clock = Server(), FakeClock()
    rec, transport = recorder_with(server, clock)

    async def main() -> None:
        pod = make_pod("p") | {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}}
        rec.event(pod, "Normal", "Pulled", "image pulled")
        await rec.flush()
        await clock.advance(3)
        rec.event(pod, "Normal", "Pulled", "image pulled")
        await rec.close()

    run(main())
    assert [(r.method, path_of(r)) for r in transport.requests] == [
        ("POST", "/api/v1/namespaces/ns/events"),
        ("PATCH", f"/api/v1/namespaces/ns/events/{next(iter(server.events))}")]
    assert transport.requests[1].headers["Content-Type"] == (
        "application/strategic-merge-patch+json")
    (ev,) = server.events.values()
    assert ev["count"] == 2
    assert (ev["firstTimestamp"], ev["lastTimestamp"]) == (
        "2026-01-01T00:00:00Z", "2026-01-01T00:00:03Z")
    # Upstream's name: <object name>.<unix nanoseconds in hex>.
    assert ev["metadata"]["name"] == f"p.{1767225600 * 10**9:x}"
    assert ev["involvedObject"] == {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u1",
                                    "apiVersion": "v1"}
    assert ev["source"] == {"component": "kubelet", "host": "node-1"}
    assert (ev["reportingComponent"], ev["reportingInstance"]) == ("kubelet", "node-1")


def test_patch_of_a_vanished_event_creates_it_again() -> None:
    server, clock = Server(), FakeClock()
    rec, transport = recorder_with(server, clock)

    async def main() -> None:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
        rec.event(node, "Warning", "NotReady", "kubelet stopped posting")
        await rec.flush()
        server.events.clear()
        rec.event(node, "Warning", "NotReady", "kubelet stopped posting")
        await rec.close()

    run(main())
    assert [r.method for r in transport.requests] == ["POST", "PATCH", "POST"]
    (ev,) = server.events.values()
    assert ev["count"] == 2
    assert ev["metadata"]["namespace"] == "default"  # cluster-scoped object


def test_event_never_blocks_and_a_full_queue_drops() -> None:
    server, clock = Server(), FakeClock()
    transport = MockTransport(server)
    client = Client(config(), transport=transport, clock=clock)

    async def main() -> int:
        rec = EventRecorder(client, "c", clock=clock, queue_size=2)
        for i in range(5):
            rec.event(make_pod(f"p{i}"), "Normal", "R", "m")  # synchronous
        await rec.close()
        return rec.dropped

    assert run(main()) == 3
    assert len(server.events) == 2


def test_invalid_type_is_dropped() -> None:
    server, clock = Server(), FakeClock()
    rec, transport = recorder_with(server, clock)

    async def main() -> None:
        rec.event(make_pod("p"), "Info", "R", "m")
        await asyncio.sleep(0)
        await rec.close()

    run(main())
    assert transport.requests == []


def test_object_reference_from_object_or_reference() -> None:
    ref = {"kind": "Node", "name": "n1", "uid": "u"}
    assert object_reference(ref) == ref
    assert object_reference(make_pod("p"), field_path="spec.containers{c}") == {
        "kind": "Pod", "namespace": "ns", "name": "p", "apiVersion": "v1",
        "fieldPath": "spec.containers{c}"}
