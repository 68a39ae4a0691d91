"""A real `kyb server` in a subprocess on a free loopback port, for integration tests.

`ServerProcess(data_dir).start()` runs `python -m kybernetes.cli.main server
--data-dir DIR --secure-port 0`, waits until the server has written
`DIR/kubeconfig` (it does so only once /readyz is true) and reads the port from
it. `kubectl(...)` runs the real kubectl against it with a cache dir of this
server's own, so discovery and /version never leak between test servers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

KUBECTL = os.environ.get("KYB_TEST_KUBECTL", "kubectl")


class ServerProcess:
    def __init__(self, data_dir: Path, *, port: int = 0, extra_args: tuple[str, ...] = ()
                 ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log_path = self.data_dir / "server.log"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "kubectl-cache"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.kubeconfig.exists():
            self.kubeconfig.unlink()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kybernetes.cli.main", "server", "--data-dir",
             str(self.data_dir), "--secure-port", str(self.port), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.kubeconfig.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"kyb server exited with {self.proc.returncode}:\n"
                                   + self.log_path.read_text()[-4000:])
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("kyb server did not become ready:\n"
                                   + self.log_path.read_text()[-4000:])
            time.sleep(0.05)
        config = yaml.safe_load(self.kubeconfig.read_text())
        self.url = config["clusters"][0]["cluster"]["server"]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env.pop("KUBERNETES_SERVICE_HOST", None)
        return env

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                binary: str = KUBECTL, timeout: float = 60.0,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this server; raises with its output when `check` fails.
        `env` adds to (or overrides) the environment, e.g. KUBE_EDITOR."""
        cmd = [binary, "--cache-dir", str(self.cache_dir), *args]
        res = subprocess.run(cmd, input=input, capture_output=True, text=True,
                             env={**self.env(), **(env or {})}, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}):\n"
                                 f"stdout: {res.stdout}\nstderr: {res.stderr}")
        return res

    def kubectl_popen(self, *args: str, binary: str = KUBECTL) -> subprocess.Popen[str]:
        return subprocess.Popen([binary, "--cache-dir", str(self.cache_dir), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env())


def kubectl_binary(minor: int) -> str | None:
    """The path of `kubectl.1.<minor>` if installed (on PATH or beside the dispatcher)."""
    found = shutil.which(f"kubectl.1.{minor}")
    if found:
        return found
    dispatcher = shutil.which(KUBECTL)
    if dispatcher is None:
        return None
    candidate = Path(os.path.realpath(dispatcher)).parent / f"kubectl.1.{minor}"
    return str(candidate) if os.access(candidate, os.X_OK) else None
