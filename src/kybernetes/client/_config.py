"""Where the cluster is and who we are: `Config`, kubeconfig and in-cluster loading, TLS.

`Config` is client-go's `rest.Config`: the server URL, the credentials, TLS
settings and the client's own behaviour (user agent, QPS/burst, timeouts,
retries). Loaders fill it from

- a kubeconfig (`load_kubeconfig`): `$KUBECONFIG` (a `:`-separated list merged
  as kubectl merges it: the first file to define a name or a field wins) or
  `~/.kube/config`; the current context or a named one. File paths in the
  kubeconfig are relative to the file that names them.
- the pod's service account (`load_incluster_config`): the token and CA under
  /var/run/secrets/kubernetes.io/serviceaccount and
  `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`.

Certificate files are read once, at load time. A token file is not: the
client re-reads it (projected service-account tokens rotate).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import platform
import ssl
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kybernetes.client._errors import ConfigError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def default_user_agent() -> str:
    """`<program>/v<version> (<os>/<arch>) kybernetes` (client-go's DefaultKubernetesUserAgent)."""
    from kybernetes import __version__

    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    arch = platform.machine().lower().replace("x86_64", "amd64").replace("aarch64", "arm64")
    return f"{program or 'python'}/v{__version__} ({sys.platform}/{arch}) kybernetes"


@dataclass(frozen=True, kw_only=True)
class Config:
    """How to reach and talk to one API server. Build with a loader, adjust with `replace`.

    Credentials, in the order they are used: `token` / `token_file` (bearer),
    `username`/`password` (basic), `client_cert_data`/`client_key_data` (TLS
    client certificate, may be combined with the others). PEM data is bytes.
    """

    server: str
    ca_data: bytes | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    # The namespace of the context (or of the pod, in cluster); requests on a
    # namespaced resource with no namespace and no metadata.namespace use it.
    namespace: str = "default"
    user_agent: str = dataclasses.field(default_factory=default_user_agent)
    # Client-side rate limit (client-go's flowcontrol token bucket); qps <= 0: none.
    qps: float = 50.0
    burst: int = 100
    # Per-request timeout (not for watches, which the server ends by timeoutSeconds).
    timeout_seconds: float = 60.0
    # Connect timeout, also for watches.
    connect_timeout_seconds: float = 10.0
    # Connections kept open to the server (aiohttp connector limit).
    max_connections: int = 100
    # Retries after 429, 5xx (idempotent verbs) and connection failures.
    max_retries: int = 5
    retry_backoff_seconds: float = 0.1
    retry_backoff_cap_seconds: float = 10.0
    # Seconds a token read from `token_file` is trusted before it is read again.
    token_file_refresh_seconds: float = 60.0

    def validate(self) -> Config:
        if not self.server:
            raise ConfigError("no server URL")
        if not self.server.startswith(("https://", "http://")):
            raise ConfigError(f"server URL {self.server!r} must start with https:// or http://")
        if (self.client_cert_data is None) != (self.client_key_data is None):
            raise ConfigError("a client certificate needs its key, and a key its certificate")
        if self.qps > 0 and self.burst < 1:
            raise ConfigError(f"burst must be at least 1 when qps > 0 (got {self.burst})")
        if self.max_connections < 1 or self.max_retries < 0 or self.timeout_seconds <= 0:
            raise ConfigError("max_connections >= 1, max_retries >= 0, timeout_seconds > 0")
        return self

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes).validate()

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for `server`; None for plain http."""
        if self.server.startswith("http://"):
            return None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data is not None:
            # Trust only the cluster CA, as client-go does when a CA is configured.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            try:
                ctx.load_verify_locations(cadata=self.ca_data.decode("ascii"))
            except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot load the certificate authority: {exc}") from exc
        if self.client_cert_data is not None and self.client_key_data is not None:
            _load_cert_chain(ctx, self.client_cert_data, self.client_key_data)
        return ctx

    def __repr__(self) -> str:
        # Never print secrets (they end up in logs and test failure output).
        auth = [name for name in ("token", "token_file", "password", "client_key_data")
                if getattr(self, name)]
        return f"Config(server={self.server!r}, namespace={self.namespace!r}, auth={auth})"


def _load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl can only load a certificate chain from files: write both to a private
    # directory just long enough to load them.
    with tempfile.TemporaryDirectory(prefix="kyb-client-") as tmp:
        cert_path, key_path = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(str(cert_path), str(key_path))
        except (ssl.SSLError, ValueError) as exc:
            raise ConfigError(f"cannot load the client certificate and key: {exc}") from exc


# --------------------------------------------------------------------------- kubeconfig


def kubeconfig_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The files `load_kubeconfig()` reads: $KUBECONFIG's list, else ~/.kube/config."""
    env = os.environ if environ is None else environ
    value = env.get("KUBECONFIG", "")
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def load_kubeconfig(path: str | Path | None = None, *, context: str | None = None,
                    **overrides: Any) -> Config:
    """A `Config` from a kubeconfig file (or `$KUBECONFIG` / `~/.kube/config` if None).

    `context` picks a context by name instead of `current-context`. `overrides`
    set `Config` fields (e.g. `qps=20`, `user_agent="kube-scheduler"`).
    """
    paths = [Path(path).expanduser()] if path is not None else kubeconfig_paths()
    docs: list[tuple[dict[str, Any], Path]] = []
    for p in paths:
        try:
            text = p.read_text()
        except FileNotFoundError:
            if path is not None or len(paths) == 1:
                raise ConfigError(f"kubeconfig {p} does not exist") from None
            continue  # kubectl skips missing entries of a KUBECONFIG list
        except OSError as exc:
            raise ConfigError(f"cannot read kubeconfig {p}: {exc}") from exc
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"kubeconfig {p} is not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"kubeconfig {p} is not a mapping")
        docs.append((doc, p.parent))
    if not docs:
        raise ConfigError("no kubeconfig file found in " + os.pathsep.join(map(str, paths)))
    return config_from_kubeconfig(docs, context=context, **overrides)


def _merged(docs: list[tuple[dict[str, Any], Path]], section: str
            ) -> dict[str, tuple[dict[str, Any], Path]]:
    out: dict[str, tuple[dict[str, Any], Path]] = {}
    for doc, base in docs:
        for entry in doc.get(section) or ():
            if isinstance(entry, dict) and entry.get("name") and entry["name"] not in out:
                key = section[:-1]  # clusters -> cluster
                out[entry["name"]] = (entry.get(key) or {}, base)
    return out


def config_from_kubeconfig(docs: list[tuple[dict[str, Any], Path]], *,
                           context: str | None = None, **overrides: Any) -> Config:
    """A `Config` from parsed kubeconfig documents (each with the directory that
    relative paths in it are relative to), merged in order."""
    name = context or next((d.get("current-context") for d, _ in docs
                            if d.get("current-context")), None)
    if not name:
        raise ConfigError("the kubeconfig has no current-context; name a context")
    contexts = _merged(docs, "contexts")
    if name not in contexts:
        raise ConfigError(f"context {name!r} not found in the kubeconfig")
    ctx, _ = contexts[name]
    clusters, users = _merged(docs, "clusters"), _merged(docs, "users")
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in clusters:
        raise ConfigError(f"cluster {cluster_name!r} of context {name!r} not found")
    cluster, cluster_base = clusters[cluster_name]
    user, user_base = users.get(user_name, ({}, cluster_base)) if user_name else ({}, cluster_base)
    if user.get("exec") or user.get("auth-provider"):
        raise ConfigError(f"user {user_name!r}: exec and auth-provider credentials are not "
                          "supported; use a token, a client certificate or basic auth")
    fields: dict[str, Any] = {
        "server": str(cluster.get("server") or ""),
        "insecure_skip_tls_verify": bool(cluster.get("insecure-skip-tls-verify", False)),
        "tls_server_name": cluster.get("tls-server-name") or None,
        "ca_data": _data_or_file(cluster, "certificate-authority", cluster_base),
        "client_cert_data": _data_or_file(user, "client-certificate", user_base),
        "client_key_data": _data_or_file(user, "client-key", user_base),
        "token": user.get("token") or None,
        "token_file": (str(_resolve(user["tokenFile"], user_base))
                       if user.get("tokenFile") else None),
        "username": user.get("username") or None,
        "password": user.get("password") or None,
        "namespace": ctx.get("namespace") or "default",
    }
    fields.update(overrides)
    return Config(**fields).validate()


def _resolve(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def _data_or_file(section: dict[str, Any], key: str, base: Path) -> bytes | None:
    """`<key>-data` (base64) wins over `<key>` (a file path), as in client-go."""
    data = section.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data, validate=False)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{key}-data is not valid base64: {exc}") from exc
    path = section.get(key)
    if path:
        try:
            return _resolve(path, base).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {key} {path}: {exc}") from exc
    return None


# --------------------------------------------------------------------------- in cluster


def load_incluster_config(*, sa_dir: str | Path = SERVICE_ACCOUNT_DIR,
                          environ: Mapping[str, str] | None = None, **overrides: Any
                          ) -> Config:
    """A `Config` for a process running in a pod, from its service account."""
    env = os.environ if environ is None else environ
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST and "
                          "KUBERNETES_SERVICE_PORT must be set")
    sa = Path(sa_dir)
    token_file = sa / "token"
    if not token_file.is_file():
        raise ConfigError(f"not running in a cluster: {token_file} does not exist")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    try:
        ca = (sa / "ca.crt").read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {sa / 'ca.crt'}: {exc}") from exc
    try:
        namespace = (sa / "namespace").read_text().strip() or "default"
    except OSError:
        namespace = "default"
    fields: dict[str, Any] = {"server": f"https://{host}:{port}", "ca_data": ca,
                              "token_file": str(token_file), "namespace": namespace}
    fields.update(overrides)
    return Config(**fields).validate()


def load_config(*, context: str | None = None, **overrides: Any) -> Config:
    """The usual search (controller-runtime's GetConfig): `$KUBECONFIG`, then the
    in-cluster service account, then `~/.kube/config`."""
    if os.environ.get("KUBECONFIG"):
        return load_kubeconfig(context=context, **overrides)
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT_DIR / "token").is_file():
        return load_incluster_config(**overrides)
    return load_kubeconfig(Path.home() / ".kube" / "config", context=context, **overrides)
