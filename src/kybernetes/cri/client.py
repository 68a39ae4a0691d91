"""`RuntimeClient`: an asyncio CRI v1 client (``grpc.aio``) for containerd or CRI-O.

One client holds one channel to one endpoint and serves both CRI services
(RuntimeService and ImageService), as the kubelet's remote runtime does.

Conventions, the same for every method:

* Requests take plain dicts in CRI shape with upstream's field names
  (``{"metadata": {"name": "web", "uid": ..., "namespace": "default"}, ...}``) or ready
  protobuf messages; see :mod:`kybernetes.cri._convert` for the dict rules.
* Calls that create something return its id; ``*_status`` calls return the whole
  response as a dict (``status``, ``info``, ...); ``list_*`` calls return a list of
  dicts; :meth:`version` and :meth:`exec_sync` return small dataclasses.
* Every gRPC error is raised as a :mod:`kybernetes.cri.errors` exception.
* Timeouts are in seconds. The default per call is the kubelet's
  ``--runtime-request-timeout`` (2 minutes); image pulls have none by default.

The channel is opened lazily by the first call, inside the running event loop, and
closed by :meth:`close` (or ``async with``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from kybernetes.cri._convert import to_dict, to_message
from kybernetes.cri.errors import from_rpc_error
from kybernetes.cri.gen import cri_api_pb2 as pb
from kybernetes.cri.gen import cri_api_pb2_grpc as pb_grpc

CRI_API_VERSION = "v1"
DEFAULT_TIMEOUT = 120.0  # seconds, kubelet --runtime-request-timeout default
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # as the kubelet's remote runtime client

Config = Mapping[str, Any]
_DEFAULT: Any = object()  # "the client's default timeout" (None means no deadline)


@dataclass(frozen=True, slots=True)
class Version:
    """VersionResponse: the runtime's name and versions."""

    version: str
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


@dataclass(frozen=True, slots=True)
class ExecResult:
    """ExecSyncResponse: what a command run to completion printed and returned."""

    exit_code: int
    stdout: bytes
    stderr: bytes


def normalize_endpoint(endpoint: str) -> str:
    """A gRPC target for a CRI endpoint: ``unix:///run/x.sock``, ``/run/x.sock`` or
    ``tcp://host:port`` (the kubelet's ``--container-runtime-endpoint`` forms)."""
    if endpoint.startswith("unix://"):
        return endpoint
    if endpoint.startswith("/"):
        return "unix://" + endpoint
    if endpoint.startswith("tcp://"):
        return endpoint[len("tcp://") :]
    return endpoint


class RuntimeClient:
    """Async CRI v1 client. Safe to share between tasks of one event loop."""

    def __init__(self, endpoint: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self.target = normalize_endpoint(endpoint)
        self.timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._runtime: pb_grpc.RuntimeServiceStub | None = None
        self._images: pb_grpc.ImageServiceStub | None = None

    async def __aenter__(self) -> RuntimeClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel; a later call opens a new one."""
        channel, self._channel = self._channel, None
        self._runtime = self._images = None
        if channel is not None:
            await channel.close()

    def _open(self) -> None:
        self._channel = grpc.aio.insecure_channel(
            self.target,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.enable_http_proxy", 0),
            ],
        )
        self._runtime = pb_grpc.RuntimeServiceStub(self._channel)
        self._images = pb_grpc.ImageServiceStub(self._channel)

    async def _call(self, service: str, method: str, request: Any, deadline: Any) -> Any:
        if self._channel is None:
            self._open()
        stub = self._runtime if service == "runtime" else self._images
        seconds = self.timeout if deadline is _DEFAULT else deadline
        try:
            return await getattr(stub, method)(request, timeout=seconds)
        except grpc.RpcError as exc:
            raise from_rpc_error(method, exc) from None

    async def _rt(self, method: str, request: Any, deadline: Any = _DEFAULT) -> Any:
        return await self._call("runtime", method, request, deadline)

    async def _img(self, method: str, request: Any, deadline: Any = _DEFAULT) -> Any:
        return await self._call("image", method, request, deadline)

    # ------------------------------------------------------------ runtime: general

    async def version(self) -> Version:
        resp = await self._rt("Version", pb.VersionRequest(version=CRI_API_VERSION))
        return Version(
            version=resp.version,
            runtime_name=resp.runtime_name,
            runtime_version=resp.runtime_version,
            runtime_api_version=resp.runtime_api_version,
        )

    async def status(self, *, verbose: bool = False) -> dict[str, Any]:
        """StatusResponse: ``status.conditions`` (RuntimeReady, NetworkReady), ``info``."""
        return to_dict(await self._rt("Status", pb.StatusRequest(verbose=verbose)))

    async def runtime_config(self) -> dict[str, Any]:
        """RuntimeConfigResponse (cgroup driver). containerd < 2.0 raises Unimplemented."""
        return to_dict(await self._rt("RuntimeConfig", pb.RuntimeConfigRequest()))

    async def update_runtime_config(self, *, pod_cidr: str) -> None:
        """Tell the runtime the node's pod CIDR (the kubelet does once it knows it)."""
        config = pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr=pod_cidr))
        await self._rt("UpdateRuntimeConfig", pb.UpdateRuntimeConfigRequest(runtime_config=config))

    # ------------------------------------------------------------ runtime: sandboxes

    async def run_pod_sandbox(self, config: Config, *, runtime_handler: str = "") -> str:
        """Create and start a pod sandbox (pause container + network); returns its id."""
        request = pb.RunPodSandboxRequest(
            config=to_message(pb.PodSandboxConfig, config), runtime_handler=runtime_handler
        )
        return (await self._rt("RunPodSandbox", request)).pod_sandbox_id

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        """Kill every container of the sandbox and tear its network down (idempotent)."""
        await self._rt("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod_sandbox_id))

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        """Remove the sandbox and its containers (idempotent)."""
        request = pb.RemovePodSandboxRequest(pod_sandbox_id=pod_sandbox_id)
        await self._rt("RemovePodSandbox", request)

    async def pod_sandbox_status(self, pod_sandbox_id: str, *, verbose: bool = False) -> dict:
        """PodSandboxStatusResponse; ``status.network.ip`` is the pod IP."""
        request = pb.PodSandboxStatusRequest(pod_sandbox_id=pod_sandbox_id, verbose=verbose)
        return to_dict(await self._rt("PodSandboxStatus", request))

    async def list_pod_sandbox(
        self,
        *,
        id: str = "",
        state: str | None = None,
        label_selector: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Sandboxes matching all the given filters (state: SANDBOX_READY|SANDBOX_NOTREADY)."""
        filt = pb.PodSandboxFilter(id=id, label_selector=dict(label_selector or {}))
        if state is not None:
            filt.state.state = pb.PodSandboxState.Value(state)
        resp = await self._rt("ListPodSandbox", pb.ListPodSandboxRequest(filter=filt))
        return [to_dict(item) for item in resp.items]

    # ------------------------------------------------------------ runtime: containers

    async def create_container(
        self, pod_sandbox_id: str, config: Config, sandbox_config: Config
    ) -> str:
        """Create (not start) a container in a sandbox; returns its id."""
        request = pb.CreateContainerRequest(
            pod_sandbox_id=pod_sandbox_id,
            config=to_message(pb.ContainerConfig, config),
            sandbox_config=to_message(pb.PodSandboxConfig, sandbox_config),
        )
        return (await self._rt("CreateContainer", request)).container_id

    async def start_container(self, container_id: str) -> None:
        await self._rt("StartContainer", pb.StartContainerRequest(container_id=container_id))

    async def stop_container(self, container_id: str, *, grace_period: int = 0) -> None:
        """Stop: the stop signal, then SIGKILL after ``grace_period`` seconds (CRI
        ``timeout``; 0 kills at once). Idempotent."""
        request = pb.StopContainerRequest(container_id=container_id, timeout=grace_period)
        # The call itself may take the whole grace period.
        await self._rt("StopContainer", request, grace_period + self.timeout)

    async def remove_container(self, container_id: str) -> None:
        await self._rt("RemoveContainer", pb.RemoveContainerRequest(container_id=container_id))

    async def list_containers(
        self,
        *,
        id: str = "",
        state: str | None = None,
        pod_sandbox_id: str = "",
        label_selector: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Containers matching all the given filters (state: CONTAINER_RUNNING, ...)."""
        filt = pb.ContainerFilter(
            id=id, pod_sandbox_id=pod_sandbox_id, label_selector=dict(label_selector or {})
        )
        if state is not None:
            filt.state.state = pb.ContainerState.Value(state)
        resp = await self._rt("ListContainers", pb.ListContainersRequest(filter=filt))
        return [to_dict(item) for item in resp.containers]

    async def container_status(self, container_id: str, *, verbose: bool = False) -> dict:
        """ContainerStatusResponse; ``status.state``, ``exit_code``, ``reason``
        (``"OOMKilled"``), ``log_path``."""
        request = pb.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        return to_dict(await self._rt("ContainerStatus", request))

    async def update_container_resources(
        self,
        container_id: str,
        linux: Config,
        *,
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        """Apply new LinuxContainerResources to a running container."""
        request = pb.UpdateContainerResourcesRequest(
            container_id=container_id,
            linux=to_message(pb.LinuxContainerResources, linux),
            annotations=dict(annotations or {}),
        )
        await self._rt("UpdateContainerResources", request)

    async def reopen_container_log(self, container_id: str) -> None:
        """Make the runtime reopen the log file (after the kubelet rotated it)."""
        request = pb.ReopenContainerLogRequest(container_id=container_id)
        await self._rt("ReopenContainerLog", request)

    # ------------------------------------------------------------ runtime: exec and streams

    async def exec_sync(
        self,
        container_id: str,
        cmd: Sequence[str],
        *,
        timeout: int = 0,  # noqa: ASYNC109 - the command's limit, enforced by the runtime
    ) -> ExecResult:
        """Run ``cmd`` in the container to completion. ``timeout`` seconds (0: none) is
        the command's limit; the call gets that plus the default call timeout."""
        request = pb.ExecSyncRequest(container_id=container_id, cmd=list(cmd), timeout=timeout)
        deadline = None if timeout == 0 else timeout + self.timeout
        resp = await self._rt("ExecSync", request, deadline)
        return ExecResult(exit_code=resp.exit_code, stdout=resp.stdout, stderr=resp.stderr)

    async def exec(
        self,
        container_id: str,
        cmd: Sequence[str],
        *,
        tty: bool = False,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
    ) -> str:
        """Prepare a streaming exec; returns the runtime's streaming-server URL."""
        request = pb.ExecRequest(
            container_id=container_id,
            cmd=list(cmd),
            tty=tty,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr and not tty,
        )
        return (await self._rt("Exec", request)).url

    async def attach(
        self,
        container_id: str,
        *,
        tty: bool = False,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
    ) -> str:
        """Prepare a streaming attach; returns the streaming-server URL."""
        request = pb.AttachRequest(
            container_id=container_id,
            tty=tty,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr and not tty,
        )
        return (await self._rt("Attach", request)).url

    async def port_forward(self, pod_sandbox_id: str, ports: Iterable[int] = ()) -> str:
        """Prepare a port-forward into the sandbox; returns the streaming-server URL."""
        request = pb.PortForwardRequest(pod_sandbox_id=pod_sandbox_id, port=list(ports))
        return (await self._rt("PortForward", request)).url

    # ------------------------------------------------------------ runtime: stats

    async def container_stats(self, container_id: str) -> dict[str, Any]:
        """ContainerStats (cpu, memory, writable_layer) of one container."""
        request = pb.ContainerStatsRequest(container_id=container_id)
        return to_dict((await self._rt("ContainerStats", request)).stats)

    async def list_container_stats(
        self,
        *,
        id: str = "",
        pod_sandbox_id: str = "",
        label_selector: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        filt = pb.ContainerStatsFilter(
            id=id, pod_sandbox_id=pod_sandbox_id, label_selector=dict(label_selector or {})
        )
        resp = await self._rt("ListContainerStats", pb.ListContainerStatsRequest(filter=filt))
        return [to_dict(item) for item in resp.stats]

    async def pod_sandbox_stats(self, pod_sandbox_id: str) -> dict[str, Any]:
        """PodSandboxStats. containerd < 1.7 raises Unimplemented."""
        request = pb.PodSandboxStatsRequest(pod_sandbox_id=pod_sandbox_id)
        return to_dict((await self._rt("PodSandboxStats", request)).stats)

    async def list_pod_sandbox_stats(
        self, *, id: str = "", label_selector: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        filt = pb.PodSandboxStatsFilter(id=id, label_selector=dict(label_selector or {}))
        resp = await self._rt("ListPodSandboxStats", pb.ListPodSandboxStatsRequest(filter=filt))
        return [to_dict(item) for item in resp.stats]

    # ------------------------------------------------------------ images

    async def list_images(self, image: str = "") -> list[dict[str, Any]]:
        """Images, optionally only those matching ``image`` (a reference)."""
        filt = pb.ImageFilter(image=pb.ImageSpec(image=image)) if image else None
        resp = await self._img("ListImages", pb.ListImagesRequest(filter=filt))
        return [to_dict(item) for item in resp.images]

    async def image_status(self, image: str, *, verbose: bool = False) -> dict[str, Any]:
        """ImageStatusResponse; ``image`` is ``None`` when the image is not present."""
        request = pb.ImageStatusRequest(image=pb.ImageSpec(image=image), verbose=verbose)
        return to_dict(await self._img("ImageStatus", request))

    async def pull_image(
        self,
        image: str,
        *,
        auth: Config | None = None,
        sandbox_config: Config | None = None,
        deadline: float | None = None,
    ) -> str:
        """Pull ``image``; returns the image reference (its id). No deadline unless
        ``deadline`` seconds is given."""
        request = pb.PullImageRequest(
            image=pb.ImageSpec(image=image),
            auth=to_message(pb.AuthConfig, auth) if auth else None,
            sandbox_config=to_message(pb.PodSandboxConfig, sandbox_config)
            if sandbox_config
            else None,
        )
        return (await self._img("PullImage", request, deadline)).image_ref

    async def remove_image(self, image: str) -> None:
        """Remove an image by reference or id (idempotent)."""
        await self._img("RemoveImage", pb.RemoveImageRequest(image=pb.ImageSpec(image=image)))

    async def image_fs_info(self) -> dict[str, Any]:
        """ImageFsInfoResponse: usage of the image (and container) filesystems."""
        return to_dict(await self._img("ImageFsInfo", pb.ImageFsInfoRequest()))
