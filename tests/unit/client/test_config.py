"""Config loading: kubeconfig files (data, files, tokens, contexts, merging), in-cluster, TLS."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml

from kybernetes.apiserver import certs
from kybernetes.client import Config, ConfigError, load_incluster_config, load_kubeconfig
from kybernetes.client._config import kubeconfig_paths


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certs.Pki:
    return certs.ensure_pki(tmp_path_factory.mktemp("pki"), hosts=["127.0.0.1"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(*, clusters: dict[str, dict[str, Any]], users: dict[str, dict[str, Any]],
               contexts: dict[str, dict[str, Any]], current: str | None = None
               ) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
    }
    if current:
        doc["current-context"] = current
    return doc


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def simple(server: str = "https://10.0.0.1:6443", **user: Any) -> dict[str, Any]:
    return kubeconfig(clusters={"c": {"server": server}}, users={"u": user},
                      contexts={"ctx": {"cluster": "c", "user": "u"}}, current="ctx")


def test_embedded_data_and_token(tmp_path: Path, pki: certs.Pki) -> None:
    doc = kubeconfig(
        clusters={"c": {"server": "https://127.0.0.1:6443",
                        "certificate-authority-data": b64(pki.ca_pem)}},
        users={"u": {"client-certificate-data": b64(pki.admin_crt_path.read_bytes()),
                     "client-key-data": b64(pki.admin_key_path.read_bytes()),
                     "token": "abc"}},
        contexts={"ctx": {"cluster": "c", "user": "u", "namespace": "team"}}, current="ctx")
    cfg = load_kubeconfig(write(tmp_path / "kc", doc))
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.ca_data == pki.ca_pem
    assert cfg.client_cert_data == pki.admin_crt_path.read_bytes()
    assert (cfg.token, cfg.namespace) == ("abc", "team")
    ctx = cfg.ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_file_paths_are_relative_to_the_kubeconfig(tmp_path: Path, pki: certs.Pki) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_bytes(pki.ca_pem)
    (tmp_path / "certs" / "admin.crt").write_bytes(pki.admin_crt_path.read_bytes())
    (tmp_path / "certs" / "admin.key").write_bytes(pki.admin_key_path.read_bytes())
    (tmp_path / "token").write_text("from-file\n")
    doc = kubeconfig(
        clusters={"c": {"server": "https://h:1", "certificate-authority": "certs/ca.crt"}},
        users={"u": {"client-certificate": "certs/admin.crt", "client-key": "certs/admin.key",
                     "tokenFile": "token"}},
        contexts={"ctx": {"cluster": "c", "user": "u"}}, current="ctx")
    cfg = load_kubeconfig(write(tmp_path / "kc", doc))
    assert cfg.ca_data == pki.ca_pem
    assert cfg.client_key_data == pki.admin_key_path.read_bytes()
    assert cfg.token_file == str(tmp_path / "token")
    assert cfg.namespace == "default"
    assert cfg.ssl_context() is not None


def test_named_context_overrides_current(tmp_path: Path) -> None:
    doc = kubeconfig(
        clusters={"a": {"server": "https://a:1"}, "b": {"server": "https://b:2"}},
        users={"u": {"token": "t"}},
        contexts={"ca": {"cluster": "a", "user": "u"}, "cb": {"cluster": "b", "user": "u"}},
        current="ca")
    path = write(tmp_path / "kc", doc)
    assert load_kubeconfig(path).server == "https://a:1"
    assert load_kubeconfig(path, context="cb").server == "https://b:2"


def test_overrides_set_client_behaviour(tmp_path: Path) -> None:
    cfg = load_kubeconfig(write(tmp_path / "kc", simple(token="t")), qps=20, burst=40,
                          user_agent="kube-scheduler/v1")
    assert (cfg.qps, cfg.burst, cfg.user_agent) == (20, 40, "kube-scheduler/v1")


def test_insecure_skip_tls_verify(tmp_path: Path) -> None:
    doc = simple(token="t")
    doc["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    ctx = load_kubeconfig(write(tmp_path / "kc", doc)).ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname


def test_kubeconfig_env_list_is_merged_first_wins(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path / "one", kubeconfig(
        clusters={"c": {"server": "https://first:1"}}, users={},
        contexts={"ctx": {"cluster": "c", "user": "u"}}, current="ctx"))
    second = write(tmp_path / "two", kubeconfig(
        clusters={"c": {"server": "https://second:2"}}, users={"u": {"token": "t2"}},
        contexts={"other": {"cluster": "c", "user": "u"}}, current="other"))
    missing = tmp_path / "missing"
    monkeypatch.setenv("KUBECONFIG", f"{first}:{missing}:{second}")
    assert kubeconfig_paths() == [first, missing, second]
    cfg = load_kubeconfig()
    assert (cfg.server, cfg.token) == ("https://first:1", "t2")


@pytest.mark.parametrize(("doc", "context", "message"), [
    (simple(token="t") | {"current-context": ""}, None, "no current-context"),
    (simple(token="t"), "nope", "context 'nope' not found"),
    (kubeconfig(clusters={}, users={}, contexts={"x": {"cluster": "gone"}}, current="x"), None,
     "cluster 'gone'"),
    (simple(exec={"command": "aws"}), None, "exec and auth-provider"),
    (simple(server="ftp://x", token="t"), None, "must start with https://"),
    (simple(**{"client-certificate-data": b64(b"x")}), None, "needs its key"),
], ids=["no-current-context", "unknown-context", "unknown-cluster", "exec-plugin",
        "bad-scheme", "cert-without-key"])
def test_unusable_kubeconfigs(tmp_path: Path, doc: dict[str, Any], context: str | None,
                              message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(write(tmp_path / "kc", doc), context=context)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_kubeconfig(tmp_path / "nope")


def test_bad_ca_data_is_a_config_error() -> None:
    cfg = Config(server="https://h:1", ca_data=b"not a certificate")
    with pytest.raises(ConfigError, match="certificate authority"):
        cfg.ssl_context()


def test_repr_hides_secrets() -> None:
    cfg = Config(server="https://h:1", token="s3cret", client_cert_data=b"c",
                 client_key_data=b"k")
    assert "s3cret" not in repr(cfg) and "token" in repr(cfg)


@pytest.mark.parametrize(("host", "server"), [
    ("10.96.0.1", "https://10.96.0.1:443"),
    ("fd00::1", "https://[fd00::1]:443"),
])
def test_incluster(tmp_path: Path, pki: certs.Pki, host: str, server: str) -> None:
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(pki.ca_pem)
    (tmp_path / "namespace").write_text("kube-system")
    cfg = load_incluster_config(sa_dir=tmp_path, environ={
        "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "443"})
    assert cfg.server == server
    assert (cfg.token_file, cfg.namespace, cfg.ca_data) == (
        str(tmp_path / "token"), "kube-system", pki.ca_pem)


def test_incluster_outside_a_cluster(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not running in a cluster"):
        load_incluster_config(sa_dir=tmp_path, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_incluster_config(sa_dir=tmp_path, environ={
            "KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"})
