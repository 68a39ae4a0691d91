"""RuntimeClient against an in-process CRI server on a unix socket (no containerd)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from kybernetes.cri import (
    CRIError,
    InvalidArgument,
    NotFound,
    RuntimeClient,
    RuntimeFailure,
    Unavailable,
    Unimplemented,
)
from kybernetes.cri.client import ExecResult, Version, normalize_endpoint
from kybernetes.cri.gen import cri_api_pb2 as pb
from kybernetes.cri.gen import cri_api_pb2_grpc as pb_grpc


class FakeRuntime(pb_grpc.RuntimeServiceServicer):
    """Answers a few RPCs and records requests; the others are UNIMPLEMENTED."""

    def __init__(self) -> None:
        self.requests: dict[str, Any] = {}
        self.deadlines: dict[str, float | None] = {}

    def _record(self, name: str, request: Any, context: grpc.aio.ServicerContext) -> None:
        self.requests[name] = request
        self.deadlines[name] = context.time_remaining()

    async def Version(self, request, context):
        self._record("Version", request, context)
        return pb.VersionResponse(
            version="0.1.0",
            runtime_name="fake",
            runtime_version="1.2.3",
            runtime_api_version="v1",
        )

    async def RunPodSandbox(self, request, context):
        self._record("RunPodSandbox", request, context)
        return pb.RunPodSandboxResponse(pod_sandbox_id="sb-1")

    async def PodSandboxStatus(self, request, context):
        if request.pod_sandbox_id != "sb-1":
            await context.abort(grpc.StatusCode.NOT_FOUND, "an error occurred: not found")
        status = pb.PodSandboxStatus(
            id="sb-1",
            state=pb.SANDBOX_NOTREADY,
            created_at=1_700_000_000_123_456_789,
            network=pb.PodSandboxNetworkStatus(ip="10.42.0.7"),
            labels={"app": "web"},
        )
        return pb.PodSandboxStatusResponse(
            status=status, info={"k": "v"} if request.verbose else {}
        )

    async def ListContainers(self, request, context):
        self._record("ListContainers", request, context)
        return pb.ListContainersResponse(
            containers=[pb.Container(id="c-1", state=pb.CONTAINER_RUNNING)]
        )

    async def StopContainer(self, request, context):
        self._record("StopContainer", request, context)
        return pb.StopContainerResponse()

    async def ExecSync(self, request, context):
        self._record("ExecSync", request, context)
        out = " ".join(request.cmd[1:]).encode() + b"\n"
        return pb.ExecSyncResponse(stdout=out, stderr=b"", exit_code=0)

    async def Status(self, request, context):
        await context.abort(grpc.StatusCode.INTERNAL, "runc did not terminate successfully")


class FakeImages(pb_grpc.ImageServiceServicer):
    def __init__(self) -> None:
        self.pulls: list[pb.PullImageRequest] = []

    async def ImageStatus(self, request, context):
        if request.image.image == "present:1":
            return pb.ImageStatusResponse(
                image=pb.Image(id="sha256:abc", repo_tags=["present:1"], size=42, pinned=True)
            )
        return pb.ImageStatusResponse()

    async def PullImage(self, request, context):
        self.pulls.append(request)
        return pb.PullImageResponse(image_ref="sha256:abc")


Scenario = Callable[[RuntimeClient, FakeRuntime, FakeImages], Awaitable[None]]


def serve(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        runtime, images = FakeRuntime(), FakeImages()
        server = grpc.aio.server()
        pb_grpc.add_RuntimeServiceServicer_to_server(runtime, server)
        pb_grpc.add_ImageServiceServicer_to_server(images, server)
        socket = tmp_path / "cri.sock"
        server.add_insecure_port(f"unix://{socket}")
        await server.start()
        try:
            async with RuntimeClient(str(socket), timeout=5.0) as client:
                await scenario(client, runtime, images)
        finally:
            await server.stop(None)

    asyncio.run(main())


def test_version_is_a_dataclass(tmp_path: Path) -> None:
    async def scenario(client: RuntimeClient, runtime: FakeRuntime, _: FakeImages) -> None:
        assert await client.version() == Version("0.1.0", "fake", "1.2.3", "v1")
        assert runtime.requests["Version"].version == "v1"
        assert 0 < runtime.deadlines["Version"] <= 5.0  # the client's default timeout

    serve(tmp_path, scenario)


def test_requests_are_built_from_cri_shaped_dicts(tmp_path: Path) -> None:
    config = {
        "metadata": {"name": "web", "uid": "u-1", "namespace": "default", "attempt": 1},
        "log_directory": "/var/log/pods/default_web_u-1",
        "port_mappings": [{"protocol": "UDP", "container_port": 53, "host_port": 5353}],
        "labels": {"app": "web"},
        "linux": {
            "cgroup_parent": "/kubepods/podu-1",
            "security_context": {
                "namespace_options": {"pid": "CONTAINER"},
                "run_as_user": {"value": 1000},
            },
        },
    }

    async def scenario(client: RuntimeClient, runtime: FakeRuntime, _: FakeImages) -> None:
        assert await client.run_pod_sandbox(config, runtime_handler="runc") == "sb-1"
        request = runtime.requests["RunPodSandbox"]
        assert request.runtime_handler == "runc"
        assert request.config.metadata.attempt == 1
        assert request.config.port_mappings[0].protocol == pb.UDP
        assert request.config.linux.security_context.namespace_options.pid == pb.CONTAINER
        assert request.config.linux.security_context.run_as_user.value == 1000
        with pytest.raises(InvalidArgument, match="PodSandboxConfig"):
            await client.run_pod_sandbox({"metadata": {"nmae": "typo"}})

    serve(tmp_path, scenario)


def test_responses_are_complete_dicts(tmp_path: Path) -> None:
    async def scenario(client: RuntimeClient, _: FakeRuntime, __: FakeImages) -> None:
        response = await client.pod_sandbox_status("sb-1", verbose=True)
        status = response["status"]
        assert status["state"] == "SANDBOX_NOTREADY"  # enums by name
        assert status["created_at"] == 1_700_000_000_123_456_789  # int64 as int
        assert status["network"] == {"ip": "10.42.0.7", "additional_ips": []}
        assert status["metadata"] is None  # unset message
        assert status["annotations"] == {} and status["labels"] == {"app": "web"}
        assert status["runtime_handler"] == ""  # proto3 default, still present
        assert response["info"] == {"k": "v"}
        assert response["containers_statuses"] == [] and response["timestamp"] == 0

    serve(tmp_path, scenario)


def test_list_filters(tmp_path: Path) -> None:
    async def scenario(client: RuntimeClient, runtime: FakeRuntime, _: FakeImages) -> None:
        containers = await client.list_containers(
            state="CONTAINER_RUNNING", pod_sandbox_id="sb-1", label_selector={"app": "web"}
        )
        assert [(c["id"], c["state"]) for c in containers] == [("c-1", "CONTAINER_RUNNING")]
        sent = runtime.requests["ListContainers"].filter
        assert sent.state.state == pb.CONTAINER_RUNNING and sent.pod_sandbox_id == "sb-1"
        assert dict(sent.label_selector) == {"app": "web"}
        await client.list_containers()
        assert not runtime.requests["ListContainers"].filter.HasField("state")

    serve(tmp_path, scenario)


def test_time_limits(tmp_path: Path) -> None:
    async def scenario(client: RuntimeClient, runtime: FakeRuntime, _: FakeImages) -> None:
        await client.stop_container("c-1", grace_period=30)
        assert runtime.requests["StopContainer"].timeout == 30
        assert runtime.deadlines["StopContainer"] > 30  # the call outlives the grace period
        assert await client.exec_sync("c-1", ["echo", "hi"], timeout=3) == ExecResult(
            0, b"hi\n", b""
        )
        assert runtime.requests["ExecSync"].timeout == 3
        await client.exec_sync("c-1", ["echo"])
        assert runtime.deadlines["ExecSync"] is None  # timeout 0: no limit at all

    serve(tmp_path, scenario)


def test_images(tmp_path: Path) -> None:
    async def scenario(client: RuntimeClient, _: FakeRuntime, images: FakeImages) -> None:
        present = (await client.image_status("present:1"))["image"]
        assert (present["id"], present["size"], present["pinned"]) == ("sha256:abc", 42, True)
        assert present["uid"] is None
        assert (await client.image_status("absent:1"))["image"] is None
        ref = await client.pull_image("present:1", auth={"username": "u", "password": "p"})
        assert ref == "sha256:abc"
        assert images.pulls[0].auth.username == "u"
        assert not images.pulls[0].HasField("sandbox_config")

    serve(tmp_path, scenario)


@pytest.mark.parametrize(
    ("call", "error", "code"),
    [
        (lambda c: c.pod_sandbox_status("nope"), NotFound, "NOT_FOUND"),
        (lambda c: c.runtime_config(), Unimplemented, "UNIMPLEMENTED"),
        (lambda c: c.status(), RuntimeFailure, "INTERNAL"),
    ],
    ids=["not-found", "unimplemented", "internal"],
)
def test_grpc_errors_are_translated(tmp_path: Path, call, error, code) -> None:
    async def scenario(client: RuntimeClient, _: FakeRuntime, __: FakeImages) -> None:
        with pytest.raises(error) as info:
            await call(client)
        assert isinstance(info.value, CRIError)
        assert info.value.code == code and info.value.method
        assert info.value.method in str(info.value)

    serve(tmp_path, scenario)


def test_nothing_listening_is_unavailable(tmp_path: Path) -> None:
    async def main() -> None:
        async with RuntimeClient(str(tmp_path / "none.sock"), timeout=2.0) as client:
            with pytest.raises(Unavailable):
                await client.version()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("endpoint", "target"),
    [
        ("unix:///run/containerd/containerd.sock", "unix:///run/containerd/containerd.sock"),
        ("/run/crio/crio.sock", "unix:///run/crio/crio.sock"),
        ("tcp://127.0.0.1:10010", "127.0.0.1:10010"),
    ],
    ids=["unix-url", "path", "tcp"],
)
def test_endpoints(endpoint: str, target: str) -> None:
    assert normalize_endpoint(endpoint) == target
