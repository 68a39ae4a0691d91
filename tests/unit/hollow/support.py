"""Helpers for the hollow-node unit tests: builders, times, and `FakeAPI`, an in-memory API
server (Nodes, Leases, Pods) behind the client's `MockTransport`, so the heartbeat and pod
loops run their real requests on virtual time."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from kybernetes.api.patch import apply_merge_patch, apply_strategic_merge_patch
from kybernetes.api.schema import for_kind
from kybernetes.client import (
    Client,
    Config,
    FakeClock,
    FakeListerWatcher,
    HttpRequest,
    MockResponse,
    MockTransport,
)
from kybernetes.hollow.timefmt import rfc3339

Obj = dict[str, Any]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TEST_TIMEOUT = 20.0  # a safety net against a hung test, never an assertion


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)

    return asyncio.run(guarded())


def at(seconds: float) -> datetime:
    """T0 + seconds: the virtual instants the tests speak in."""
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return rfc3339(at(seconds))


def make_pod(name: str = "p", *, node: str = "n0", uid: str = "", restart: str = "",
             annotations: dict[str, str] | None = None, owner_kind: str = "",
             containers: tuple[str, ...] = ("app",), init: tuple[str, ...] = (),
             sidecars: tuple[str, ...] = (), gates: tuple[str, ...] = (),
             host_network: bool = False, namespace: str = "ns") -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}"}
    if annotations:
        meta["annotations"] = dict(annotations)
    if owner_kind:
        meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": owner_kind,
                                    "name": "owner", "uid": "owner-uid", "controller": True}]
    spec: Obj = {"nodeName": node, "containers": [{"name": c, "image": f"img/{c}:1"}
                                                  for c in containers]}
    inits = [{"name": c, "image": "img/init"} for c in init]
    inits += [{"name": c, "image": "img/side", "restartPolicy": "Always"} for c in sidecars]
    if inits:
        spec["initContainers"] = inits
    if restart:
        spec["restartPolicy"] = restart
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    if host_network:
        spec["hostNetwork"] = True
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort"}}


POD_SCHEMA = for_kind("", "v1", "Pod")
NODE_SCHEMA = for_kind("", "v1", "Node")


def apply_status_patch(pod: Obj, patch: Obj) -> Obj:
    """What the apiserver does with a strategic-merge PATCH of pods/status."""
    merged = apply_strategic_merge_patch(pod, patch, POD_SCHEMA)
    return {**pod, "status": merged.get("status") or {}}


def deleting(pod: Obj, *, requested: float, grace: int) -> Obj:
    """`pod` as the apiserver marks it when a DELETE with `grace` arrives at `requested`."""
    out = copy.deepcopy(pod)
    out["metadata"]["deletionTimestamp"] = stamp(requested + grace)
    out["metadata"]["deletionGracePeriodSeconds"] = grace
    return out


def _status(code: int, reason: str, message: str = "") -> MockResponse:
    return MockResponse.json({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                              "code": code, "reason": reason, "message": message or reason},
                             code)


class FakeAPI:
    """Nodes and Leases in dicts, Pods in a `FakeListerWatcher` (for an informer).

    Supports what hollow nodes send: POST/GET/PUT (with resourceVersion checks) of
    Nodes and Leases, merge and strategic PATCH of nodes and nodes/status, strategic
    PATCH of pods/status, DELETE of pods. `requests` logs (method, path) in order;
    `fail` maps (method, path) to a status code to answer once.
    """

    def __init__(self, pods: list[Obj] | None = None) -> None:
        self.revision = 100
        self.nodes: dict[str, Obj] = {}
        self.leases: dict[str, Obj] = {}
        self.pods = FakeListerWatcher(pods, kind="Pod")
        self.requests: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], int] = {}

    def client(self, clock: FakeClock) -> Client:
        config = Config(server="https://kyb.test:6443", token="t", qps=0, max_retries=0,
                        user_agent="unit-test")
        return Client(config, transport=MockTransport(self.handle), clock=clock)

    def _stamp(self, obj: Obj) -> Obj:
        self.revision += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.revision)
        obj["metadata"].setdefault("uid", f"uid-{obj['metadata'].get('name')}")
        return obj

    def handle(self, request: HttpRequest) -> MockResponse:
        path = "/" + request.url.split("://", 1)[1].split("/", 1)[1]
        self.requests.append((request.method, path))
        code = self.fail.pop((request.method, path), None)
        if code is not None:
            return _status(code, {409: "Conflict", 404: "NotFound"}.get(code, "InternalError"))
        body = orjson.loads(request.body) if request.body else None
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "nodes"]:
            return self._store(self.nodes, request, parts[3:], body, NODE_SCHEMA)
        if parts[:2] == ["apis", "coordination.k8s.io"]:
            return self._store(self.leases, request, parts[6:], body, None)
        if parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            return self._pod(request, f"{parts[3]}/{parts[5]}", parts[6:], body)
        return _status(404, "NotFound", path)

    def _store(self, objects: dict[str, Obj], request: HttpRequest, rest: list[str],
               body: Any, schema: Any) -> MockResponse:
        method = request.method
        if method == "POST":
            name = body["metadata"]["name"]
            if name in objects:
                return _status(409, "AlreadyExists")
            objects[name] = self._stamp(body)
            return MockResponse.json(objects[name], 201)
        name = rest[0]
        if name not in objects:
            return _status(404, "NotFound")
        current = objects[name]
        if method == "GET":
            return MockResponse.json(current)
        if method == "PUT":
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if rv and rv != current["metadata"]["resourceVersion"]:
                return _status(409, "Conflict")
            objects[name] = self._stamp(body)
        elif method == "PATCH":
            strategic = "strategic" in request.headers.get("Content-Type", "")
            merged = (apply_strategic_merge_patch(current, body, schema) if strategic
                      else apply_merge_patch(current, body))
            if rest[1:] == ["status"]:
                merged = {**current, "status": merged.get("status")}
            objects[name] = self._stamp(merged)
        return MockResponse.json(objects[name])

    def _pod(self, request: HttpRequest, key: str, rest: list[str], body: Any) -> MockResponse:
        pod = self.pods.objects.get(key)
        if pod is None:
            return _status(404, "NotFound")
        if request.method == "PATCH" and rest == ["status"]:
            return MockResponse.json(self.pods.modify(apply_status_patch(pod, body)))
        if request.method == "DELETE":
            uid = ((body or {}).get("preconditions") or {}).get("uid")
            if uid and uid != pod["metadata"].get("uid"):
                return _status(409, "Conflict")
            return MockResponse.json(self.pods.delete(key))
        return _status(405, "MethodNotAllowed")

    def count(self, predicate: Callable[[str, str], bool]) -> int:
        return sum(1 for method, path in self.requests if predicate(method, path))
