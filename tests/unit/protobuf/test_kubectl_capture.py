"""Decode the protobuf bodies real kubectl 1.32 sends, captured by a loopback stub server."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kybernetes.api.protobuf import CONTENT_TYPE, decode

_SDK = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
KUBECTL = str(_SDK) if _SDK.exists() else shutil.which("kubectl.1.32") or shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")

_RESOURCES = {
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": False,
                "kind": "Namespace",
                "verbs": ["create", "get", "list", "delete"],
            },
            {
                "name": "configmaps",
                "singularName": "configmap",
                "namespaced": True,
                "kind": "ConfigMap",
                "verbs": ["create", "get", "list", "delete"],
            },
            {
                "name": "secrets",
                "singularName": "secret",
                "namespaced": True,
                "kind": "Secret",
                "verbs": ["create", "get", "list", "delete"],
            },
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "singularName": "deployment",
                "namespaced": True,
                "kind": "Deployment",
                "verbs": ["create", "get", "list", "delete"],
            },
        ],
    },
}
_STATIC = {
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
    "/api": {"kind": "APIVersions", "versions": ["v1"]},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            }
        ],
    },
    **_RESOURCES,
}
_KINDS = {
    "namespaces": ("v1", "Namespace"),
    "configmaps": ("v1", "ConfigMap"),
    "secrets": ("v1", "Secret"),
    "deployments": ("apps/v1", "Deployment"),
}


class _Stub(BaseHTTPRequestHandler):
    captured: list[tuple[str, str, bytes]]

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in _STATIC:
            self._reply(200, _STATIC[path])
        else:
            self._reply(
                404,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                    "message": "not found",
                },
            )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.captured.append(  # type: ignore[attr-defined]
            (self.path, self.headers.get("Content-Type", ""), body)
        )
        resource = self.path.split("?")[0].rstrip("/").split("/")[-1]
        api_version, kind = _KINDS.get(resource, ("v1", "Status"))
        self._reply(201, {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}})


@pytest.fixture()
def stub(tmp_path: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.captured = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"},
                    }
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    try:
        yield server, kubeconfig, tmp_path / "cache"
    finally:
        server.shutdown()
        server.server_close()


def _run(stub: Any, *args: str) -> tuple[str, str, bytes]:
    server, kubeconfig, cache = stub
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cache.parent)},
    )
    assert proc.returncode == 0, proc.stderr
    posts = server.captured
    assert len(posts) == 1, posts
    return posts[0]


def test_create_configmap(stub: Any) -> None:
    path, ctype, body = _run(
        stub, "create", "configmap", "x", "--from-literal=a=b", "-n", "default"
    )
    assert path.startswith("/api/v1/namespaces/default/configmaps")
    assert ctype == CONTENT_TYPE
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "default", "creationTimestamp": None},
        "data": {"a": "b"},
    }


def test_create_namespace(stub: Any) -> None:
    _, ctype, body = _run(stub, "create", "namespace", "ns1")
    assert ctype == CONTENT_TYPE
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ns1", "creationTimestamp": None},
        "spec": {},
        "status": {},
    }


def test_create_secret(stub: Any) -> None:
    _, _, body = _run(
        stub, "create", "secret", "generic", "s", "--from-literal=k=v", "-n", "default"
    )
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default", "creationTimestamp": None},
        "data": {"k": "dg=="},
    }


def test_create_deployment(stub: Any) -> None:
    _, _, body = _run(
        stub, "create", "deployment", "d", "--image=nginx", "--replicas=2", "-n", "default"
    )
    assert decode(body) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "d",
            "namespace": "default",
            "labels": {"app": "d"},
            "creationTimestamp": None,
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}, "creationTimestamp": None},
                "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]},
            },
            "strategy": {},
        },
        "status": {},
    }
