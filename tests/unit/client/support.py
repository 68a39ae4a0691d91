"""Helpers for the client unit tests: run a coroutine, canned API answers, object builders."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from kybernetes.client import Config, HttpRequest, MockResponse

# A safety net against a hung test, never an assertion on how long something takes.
TEST_TIMEOUT = 20.0


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, TEST_TIMEOUT)

    return asyncio.run(guarded())


def config(**kw: Any) -> Config:
    fields: dict[str, Any] = {"server": "https://kyb.test:6443", "token": "t0k3n",
                              "user_agent": "unit-test"}
    fields.update(kw)
    return Config(**fields)


def make_cm(name: str, namespace: str = "ns", rv: str = "", **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if rv:
        meta["resourceVersion"] = rv
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


def make_pod(name: str, namespace: str = "ns", node: str = "") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": node} if node else {}}


def status(code: int, reason: str, message: str = "", **details: Any) -> MockResponse:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "code": code, "reason": reason, "message": message or reason}
    if details:
        body["details"] = details
    return MockResponse.json(body, code)


APPS_V1 = {
    "kind": "APIResourceList", "groupVersion": "apps/v1",
    "resources": [
        {"name": "deployments", "singularName": "deployment", "namespaced": True,
         "kind": "Deployment", "verbs": ["get", "list"], "shortNames": ["deploy"],
         "categories": ["all"]},
        {"name": "deployments/scale", "singularName": "", "namespaced": True,
         "group": "autoscaling", "version": "v1", "kind": "Scale",
         "verbs": ["get", "patch", "update"]},
        {"name": "deployments/status", "singularName": "", "namespaced": True,
         "kind": "Deployment", "verbs": ["get"]},
    ],
}
CORE_V1 = {
    "kind": "APIResourceList", "groupVersion": "v1",
    "resources": [
        {"name": "configmaps", "singularName": "configmap", "namespaced": True,
         "kind": "ConfigMap", "verbs": ["create", "get", "list"], "shortNames": ["cm"]},
        {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
         "verbs": ["get", "list"], "shortNames": ["no"]},
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["get"]},
        {"name": "pods/binding", "singularName": "", "namespaced": True, "kind": "Binding",
         "verbs": ["create"]},
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event",
         "verbs": ["create", "patch"]},
    ],
}


def discovery_answer(request: HttpRequest) -> MockResponse | None:
    """The discovery documents above, by path; None for any other request."""
    path = request.url.split("://", 1)[1].split("/", 1)[1]
    docs = {"api/v1": CORE_V1, "apis/apps/v1": APPS_V1}
    if path in docs:
        return MockResponse.json(docs[path])
    parts = path.split("/")
    if (parts[0], len(parts)) in (("api", 2), ("apis", 3)):
        return status(404, "NotFound", "the server could not find the requested resource")
    return None


def path_of(request: HttpRequest) -> str:
    return "/" + request.url.split("://", 1)[1].split("/", 1)[1]
