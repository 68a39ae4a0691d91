"""containerd for a kybernetes node, run the way k3s runs it.

Managed mode (the default): kyb writes containerd's config, starts ``containerd`` as
its child process and stops it on shutdown. Everything is private to the node's data
directory, so it can run beside a system containerd::

    DATA_DIR/containerd/config.toml      generated on every start (mode 0600: credentials)
    DATA_DIR/containerd/containerd.sock  the CRI and containerd API endpoint
    DATA_DIR/containerd/root/            images, snapshots, metadata (containerd --root)
    DATA_DIR/containerd/state/           runtime state (containerd --state)
    DATA_DIR/containerd/runc/            runc state (runc --root; per namespace below it)
    DATA_DIR/containerd/certs.d/         hosts.toml per registry, from registries.yaml
    DATA_DIR/containerd/containerd.log   the daemon's output
    DATA_DIR/cni/net.d/                  CNI conf_dir (see kybernetes.cri.cni)
    DATA_DIR/cni/ipam/                   host-local IPAM state

The config (version 2) sets what the host needs (RUNTIME.md): the cgroupfs driver
(``SystemdCgroup = false``: PID 1 need not be systemd), the overlayfs snapshotter,
``restrict_oom_score_adj = true`` (without CAP_SYS_RESOURCE, runc cannot give the
sandbox its oom_score_adj of -998 and every RunPodSandbox fails), the offline pause
image ``kyb.local/pause:3.10`` as sandbox image, and the CNI and registry paths above.

The daemon gets ``PR_SET_PDEATHSIG = SIGKILL`` (k3s: ``addDeathSig``), so it never
outlives kyb; pods do: their shims and processes are not containerd's children, and a
restarted containerd picks them up again, as with a restarted kubelet.

External mode (``Containerd(endpoint=...)``): kyb only connects to a runtime someone
else runs (containerd or CRI-O) and never configures, starts or stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kybernetes.cri import _toml
from kybernetes.cri.client import RuntimeClient, normalize_endpoint
from kybernetes.cri.cni import write_cni_config
from kybernetes.cri.errors import ContainerdError, CRIError
from kybernetes.cri.registries import (
    HOSTS_HEADER,
    Registries,
    auth_configs,
    hosts_files,
    load_registries,
)

log = logging.getLogger(__name__)

SANDBOX_IMAGE = "kyb.local/pause:3.10"
K8S_NAMESPACE = "k8s.io"  # containerd namespace of everything CRI does
CRI_PLUGIN = "io.containerd.grpc.v1.cri"
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal", "panic")
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with the terminating NUL
# Where runc, iptables and the CNI plugins' helpers live; a sudo or cron PATH may miss
# the sbin directories, and the shims inherit the daemon's PATH.
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
NOT_INSTALLED = "containerd is not installed: run scripts/deps.sh as root"
NETNS_DIR = Path("/run/netns")  # where containerd 1.6's CRI pins pod network namespaces


@dataclass(frozen=True, kw_only=True)
class ContainerdConfig:
    """Settings of a managed containerd. Paths derive from ``data_dir`` (see module doc)."""

    data_dir: Path
    sandbox_image: str = SANDBOX_IMAGE
    snapshotter: str = "overlayfs"
    cni_bin_dir: Path = Path("/usr/lib/cni")
    registries_file: Path | None = None  # k3s-format registries.yaml; None: none
    log_level: str = "info"
    binary: str = "containerd"  # name on PATH or a path
    stream_server_address: str = "127.0.0.1"  # exec/attach/port-forward URLs
    stream_server_port: int = 0  # 0: any free port
    start_timeout: float = 60.0  # seconds to wait for the socket to answer

    def validate(self) -> ContainerdConfig:
        """Fill defaults (absolute paths) and reject nonsense; returns the checked copy."""
        cfg = replace(self, data_dir=Path(self.data_dir).absolute())
        if cfg.registries_file is not None:
            cfg = replace(cfg, registries_file=Path(cfg.registries_file).absolute())
        if cfg.log_level not in LOG_LEVELS:
            raise ContainerdError(f"containerd: log_level must be one of {LOG_LEVELS}")
        if not cfg.sandbox_image or not cfg.snapshotter:
            raise ContainerdError("containerd: sandbox_image and snapshotter must be set")
        if not 0 <= cfg.stream_server_port <= 65535:
            raise ContainerdError("containerd: stream_server_port must be 0-65535")
        if len(str(cfg.socket)) > MAX_SOCKET_PATH:
            raise ContainerdError(
                f"containerd: socket path {cfg.socket} is longer than {MAX_SOCKET_PATH} bytes;"
                " use a shorter data directory"
            )
        return cfg

    @property
    def dir(self) -> Path:
        return self.data_dir / "containerd"

    @property
    def config_file(self) -> Path:
        return self.dir / "config.toml"

    @property
    def socket(self) -> Path:
        return self.dir / "containerd.sock"

    @property
    def root(self) -> Path:
        return self.dir / "root"

    @property
    def state(self) -> Path:
        return self.dir / "state"

    @property
    def runc_root(self) -> Path:
        return self.dir / "runc"

    @property
    def certs_dir(self) -> Path:
        return self.dir / "certs.d"

    @property
    def log_file(self) -> Path:
        return self.dir / "containerd.log"

    @property
    def cni_conf_dir(self) -> Path:
        return self.data_dir / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.data_dir / "cni" / "ipam"


def render_config(cfg: ContainerdConfig, registries: Registries | None = None) -> str:
    """containerd's config.toml (version 2) for ``cfg``. Pure."""
    registry: dict[str, Any] = {"config_path": str(cfg.certs_dir)}
    auths = auth_configs(registries) if registries is not None else {}
    if auths:
        registry["configs"] = {host: {"auth": auth} for host, auth in auths.items()}
    cri = {
        "sandbox_image": cfg.sandbox_image,
        # Required where root lacks CAP_SYS_RESOURCE (RUNTIME.md, pitfall 1): clamps
        # the sandbox's oom_score_adj (-998) to containerd's own instead of failing.
        "restrict_oom_score_adj": True,
        "enable_selinux": False,
        "stream_server_address": cfg.stream_server_address,
        "stream_server_port": str(cfg.stream_server_port),
        # As containerd 2.0's defaults and k3s: a pod may bind ports < 1024 and ping
        # without privileges (sysctls in the pod's own network namespace).
        "enable_unprivileged_ports": True,
        "enable_unprivileged_icmp": True,
        "containerd": {
            "snapshotter": cfg.snapshotter,
            "default_runtime_name": "runc",
            "runtimes": {
                "runc": {
                    "runtime_type": "io.containerd.runc.v2",
                    "options": {"SystemdCgroup": False, "Root": str(cfg.runc_root)},
                }
            },
        },
        "cni": {
            "bin_dir": str(cfg.cni_bin_dir),
            "conf_dir": str(cfg.cni_conf_dir),
            "max_conf_num": 1,
        },
        "registry": registry,
    }
    document = {
        "version": 2,
        "root": str(cfg.root),
        "state": str(cfg.state),
        "grpc": {"address": str(cfg.socket)},
        "plugins": {
            "io.containerd.internal.v1.opt": {"path": str(cfg.dir / "opt")},
            CRI_PLUGIN: cri,
        },
    }
    return _toml.dumps(
        document, header="Generated by kybernetes on every start of containerd. DO NOT EDIT."
    )


def write_config(cfg: ContainerdConfig) -> Registries:
    """Write config.toml and the certs.d tree for ``cfg``; returns the registries used."""
    registries = load_registries(cfg.registries_file) if cfg.registries_file else Registries()
    # 0711 as containerd makes its own root and state: only root lists them.
    for path in (cfg.dir, cfg.root, cfg.state):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o711)
    cfg.certs_dir.mkdir(exist_ok=True, mode=0o700)
    cfg.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    cfg.cni_ipam_dir.mkdir(parents=True, exist_ok=True)
    _write_hosts(cfg.certs_dir, hosts_files(registries))
    _write_private(cfg.config_file, render_config(cfg, registries))
    return registries


def _write_hosts(certs_dir: Path, files: dict[str, str]) -> None:
    """Replace the hosts.toml files kybernetes wrote before; leave the admin's own."""
    for child in certs_dir.iterdir():
        hosts = child / "hosts.toml"
        if hosts.is_file() and hosts.read_text().startswith(f"# {HOSTS_HEADER}"):
            shutil.rmtree(child)
    for name, text in files.items():
        (certs_dir / name).mkdir(parents=True, exist_ok=True)
        _write_private(certs_dir / name / "hosts.toml", text)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Containerd:
    """The node's container runtime endpoint: a managed containerd or an external one.

    ``Containerd(config)`` manages a daemon; ``Containerd(endpoint="unix:///run/x.sock")``
    uses one that runs already. Either way :attr:`endpoint` is the CRI endpoint and
    :meth:`client` a :class:`RuntimeClient` on it. ``start``/``stop`` (or ``async with``)
    are called by one owner, from one event loop.
    """

    def __init__(self, config: ContainerdConfig | None = None, *, endpoint: str = "") -> None:
        if (config is None) == (not endpoint):
            raise ContainerdError("containerd: give either a config (managed) or an endpoint")
        self.config = config.validate() if config is not None else None
        self.endpoint = (
            normalize_endpoint(endpoint) if endpoint else "unix://" + str(self.config.socket)
        )
        self._process: asyncio.subprocess.Process | None = None

    @property
    def managed(self) -> bool:
        return self.config is not None

    @property
    def address(self) -> str:
        """The socket path (``ctr --address``), for unix endpoints."""
        return self.endpoint.removeprefix("unix://")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def client(self, **options: Any) -> RuntimeClient:
        return RuntimeClient(self.endpoint, **options)

    async def __aenter__(self) -> Containerd:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Managed: write the config, start the daemon and wait until CRI answers.
        External: wait until the endpoint answers. Raises ContainerdError."""
        timeout = self.config.start_timeout if self.config else 60.0
        if self.config is None:
            await self._wait_ready(timeout)
            return
        if self._process is not None:
            raise ContainerdError("containerd: already started")
        cfg = self.config
        binary = shutil.which(cfg.binary)
        if binary is None:
            raise ContainerdError(NOT_INSTALLED)
        write_config(cfg)
        if await self._answers():
            raise ContainerdError(f"containerd: another daemon already serves {cfg.socket}")
        self._process = await _spawn(binary, cfg)
        log.info("containerd started pid=%d config=%s", self._process.pid, cfg.config_file)
        try:
            await self._wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    async def stop(self, *, grace: float = 10.0) -> int | None:
        """Managed: SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code.
        Pods keep running (stop them first to remove them). External: nothing."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return process.returncode if process is not None else None
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            log.warning("containerd did not stop in %.0fs; killing it", grace)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            code = await process.wait()
        log.info("containerd stopped code=%s", code)
        return code

    def write_cni_config(self, pod_cidrs: list[str], **options: Any) -> Path:
        """Write the pod network for ``pod_cidrs`` into the managed conf_dir."""
        if self.config is None:
            raise ContainerdError("containerd: an external runtime has its own CNI config")
        return write_cni_config(
            self.config.cni_conf_dir, pod_cidrs, ipam_dir=self.config.cni_ipam_dir, **options
        )

    async def _answers(self) -> bool:
        if self.config is not None and not self.config.socket.exists():
            return False
        client = self.client(timeout=2.0)
        try:
            await client.version()
            return True
        except CRIError:
            return False
        finally:
            await client.close()

    async def _wait_ready(self, limit: float) -> None:
        started = time.monotonic()
        next_note = started + 1.0
        while True:
            if self._process is not None and self._process.returncode is not None:
                raise ContainerdError(
                    f"containerd exited with code {self._process.returncode} during start:\n"
                    + self._log_tail()
                )
            if await self._answers():
                log.info("containerd ready endpoint=%s", self.endpoint)
                return
            now = time.monotonic()
            if now - started > limit:
                raise ContainerdError(
                    f"containerd: no answer on {self.endpoint} after {limit:.0f}s\n"
                    + self._log_tail()
                )
            if now >= next_note:
                waited = now - started
                log.info("waiting for containerd endpoint=%s waited=%.0fs", self.endpoint, waited)
                next_note = now + 2.0
            await asyncio.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        if self.config is None:
            return ""
        try:
            text = self.config.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def _spawn(binary: str, cfg: ContainerdConfig) -> asyncio.subprocess.Process:
    argv = [binary, "--config", str(cfg.config_file), "--log-level", cfg.log_level]
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        # PR_SET_PDEATHSIG survives exec: containerd dies with this process (k3s does
        # the same); setpriv avoids a preexec_fn in a process that has gRPC threads.
        argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    path = env.get("PATH", "").split(":")
    env["PATH"] = ":".join([p for p in path if p] + [p for p in SYSTEM_PATH if p not in path])
    log_fd = os.open(cfg.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C is for kyb, which stops it
        )
    finally:
        os.close(log_fd)


# ------------------------------------------------------------------ killall


def killall(cfg: ContainerdConfig) -> None:
    """Remove every trace of a managed containerd's workloads, as k3s-killall.sh does:
    kill all containers (runc state under ``runc_root``) and their shims, unmount the
    pods' network namespaces (``/run/netns/cni-*`` holding one of those containers'
    namespaces) and everything mounted under the data directory. For tests and node
    reset; stop the daemon with :meth:`Containerd.stop` first. Best effort, sync."""
    cfg = cfg.validate()
    runc = shutil.which("runc") or "/usr/sbin/runc"
    netns_inodes: set[int] = set()
    if cfg.runc_root.is_dir() and os.path.exists(runc):
        for namespace in sorted(p for p in cfg.runc_root.iterdir() if p.is_dir()):
            for container in sorted(p.name for p in namespace.iterdir() if p.is_dir()):
                netns_inodes |= _netns_inode(runc, namespace, container)
                subprocess.run(
                    [runc, "--root", str(namespace), "delete", "--force", container],
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
    for pid in _shims_of(cfg.socket):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    _remove_netns(netns_inodes)
    unmount_under(cfg.data_dir)


def _netns_inode(runc: str, root: Path, container: str) -> set[int]:
    """The inode of the network namespace a runc container's process is in."""
    result = subprocess.run(
        [runc, "--root", str(root), "state", container],
        capture_output=True,
        timeout=30,
        check=False,
    )
    try:
        pid = int(json.loads(result.stdout)["pid"])
        return {os.stat(f"/proc/{pid}/ns/net").st_ino} if pid > 0 else set()
    except (ValueError, KeyError, TypeError, OSError):
        return set()


def _remove_netns(inodes: set[int], directory: Path = NETNS_DIR) -> None:
    """Unmount and delete the CNI netns files (bind mounts of nsfs) with these inodes."""
    inodes = inodes - {os.stat("/proc/self/ns/net").st_ino}  # host-network pods
    if not inodes or not directory.is_dir():
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    for path in directory.glob("cni-*"):
        with contextlib.suppress(OSError):
            if path.stat().st_ino in inodes:
                libc.umount2(str(path).encode(), 2)  # MNT_DETACH
                path.unlink()


def _shims_of(socket: Path) -> list[int]:
    """Pids of containerd-shim processes started by the daemon on ``socket``."""
    pids = []
    needle = str(socket).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and needle in argv:
            pids.append(int(entry.name))
    return pids


def unmount_under(directory: Path) -> list[str]:
    """Lazily unmount every mount point at or below ``directory``, deepest first."""
    prefix = str(Path(directory).absolute())
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    done = []
    for point in sorted(set(points), key=len, reverse=True):
        if libc.umount2(point.encode(), 2) == 0:  # MNT_DETACH
            done.append(point)
    return done
