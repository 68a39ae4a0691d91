"""PKI files, kubeconfigs and a real TLS round trip through the authenticator chain."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import shutil
import ssl
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from kubernetes import client as kclient
from kubernetes import config as kconfig

from kybernetes.api.errors import StatusError
from kybernetes.apiserver import certs
from kybernetes.apiserver.authn import (
    AuthenticatorChain,
    TokenAuthenticator,
    UserInfo,
    X509Authenticator,
)

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0"}
TOKEN = "s3cr3t-token"
USER = web.RequestKey("user", UserInfo)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _names(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


# --------------------------------------------------------------------------- files


def test_creates_all_files_with_private_keys_0600(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    for name in ("ca.crt", "apiserver.crt", "admin.crt", "sa.pub"):
        assert (pki.dir / name).is_file(), name
    for name in ("ca.key", "apiserver.key", "admin.key", "sa.key"):
        assert stat.S_IMODE((pki.dir / name).stat().st_mode) == 0o600, name
    ca = _cert(pki.ca_crt_path)
    assert _names(ca, NameOID.COMMON_NAME) == ["kybernetes-ca"]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > datetime.timedelta(days=3600)


def test_second_call_reuses_everything(tmp_path: Path) -> None:
    certs.ensure_pki(tmp_path)
    before = {p.name: p.read_bytes() for p in (tmp_path / "pki").iterdir()}
    certs.ensure_pki(tmp_path)
    after = {p.name: p.read_bytes() for p in (tmp_path / "pki").iterdir()}
    assert after == before


def test_serving_cert_sans(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path, hosts=["api.example.test", "203.0.113.7"])
    serving = _cert(pki.serving_crt_path)
    serving.verify_directly_issued_by(pki.ca_cert)
    hosts = certs.cert_hosts(serving)
    expected = {
        "127.0.0.1", "::1", "localhost", "10.43.0.1", "kubernetes", "kubernetes.default",
        "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
        "api.example.test", "203.0.113.7",
    }
    assert expected <= hosts
    assert set(certs.serving_hosts()) <= hosts


def test_new_host_regenerates_only_serving_cert(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    ca, admin = pki.ca_crt_path.read_bytes(), pki.admin_crt_path.read_bytes()
    old_serving = pki.serving_crt_path.read_bytes()
    pki2 = certs.ensure_pki(tmp_path, hosts=["new.example.test"])
    assert pki2.ca_crt_path.read_bytes() == ca
    assert pki2.admin_crt_path.read_bytes() == admin
    assert pki2.serving_crt_path.read_bytes() != old_serving
    assert "new.example.test" in certs.cert_hosts(_cert(pki2.serving_crt_path))
    # A later start without the extra host keeps the cert (the host stays covered).
    again = certs.ensure_pki(tmp_path).serving_crt_path.read_bytes()
    assert again == pki2.serving_crt_path.read_bytes()


def test_leaf_expiring_within_30_days_is_reissued(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    cert_pem, key_pem = certs.issue_client_cert(
        pki, "kubernetes-admin", ["system:masters"], days=10
    )
    pki.admin_crt_path.write_bytes(cert_pem)
    pki.admin_key_path.write_bytes(key_pem)
    certs.ensure_pki(tmp_path)
    renewed = _cert(pki.admin_crt_path)
    assert renewed.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(
        days=300
    )


def test_admin_cert_is_system_masters(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    admin = _cert(pki.admin_crt_path)
    admin.verify_directly_issued_by(pki.ca_cert)
    assert _names(admin, NameOID.COMMON_NAME) == ["kubernetes-admin"]
    assert _names(admin, NameOID.ORGANIZATION_NAME) == ["system:masters"]


def test_sa_keys_are_rsa_2048(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    pki = certs.ensure_pki(tmp_path)
    key = serialization.load_pem_private_key(pki.sa_key_path.read_bytes(), password=None)
    pub = serialization.load_pem_public_key(pki.sa_pub_path.read_bytes())
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert pub == key.public_key()


def test_issue_client_cert(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    cert_pem, key_pem = certs.issue_client_cert(pki, "system:kube-scheduler", [], days=30)
    cert = x509.load_pem_x509_certificate(cert_pem)
    cert.verify_directly_issued_by(pki.ca_cert)
    assert _names(cert, NameOID.COMMON_NAME) == ["system:kube-scheduler"]
    assert _names(cert, NameOID.ORGANIZATION_NAME) == []
    assert b"PRIVATE KEY" in key_pem


def test_kubeconfig_shape_and_mode(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    path = tmp_path / "admin.kubeconfig"
    certs.write_kubeconfig(path, server="https://127.0.0.1:6443", pki=pki)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = yaml.safe_load(path.read_text())
    assert cfg["current-context"] == "kybernetes"
    cluster = cfg["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert set(cfg["users"][0]["user"]) == {"client-certificate-data", "client-key-data"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_kubeconfig_with_token(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    path = tmp_path / "t.kubeconfig"
    certs.write_kubeconfig(path, server="https://h:1", pki=pki, user="bob", token="abc")
    cfg = yaml.safe_load(path.read_text())
    assert cfg["users"] == [{"name": "bob", "user": {"token": "abc"}}]


# --------------------------------------------------------------------------- TLS round trip


def _app(pki: certs.Pki) -> web.Application:
    chain = AuthenticatorChain(
        [
            X509Authenticator(pki.ca_pem),
            TokenAuthenticator({TOKEN: UserInfo("alice", uid="42", groups=("devs",))}),
        ]
    )

    @web.middleware
    async def authenticate(request: web.Request, handler):  # type: ignore[no-untyped-def]
        try:
            request[USER] = await chain.authenticate(request)
        except StatusError as err:
            return web.json_response(err.to_status(), status=err.code)
        return await handler(request)

    async def whoami(request: web.Request) -> web.Response:
        user: UserInfo = request[USER]
        return web.json_response({"name": user.name, "groups": list(user.groups)})

    async def version(request: web.Request) -> web.Response:
        return web.json_response(VERSION)

    app = web.Application(middlewares=[authenticate])
    app.router.add_get("/whoami", whoami)
    app.router.add_get("/version", version)
    return app


@asynccontextmanager
async def _serve(pki: certs.Pki) -> AsyncIterator[str]:
    runner = web.AppRunner(_app(pki))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=certs.server_ssl_context(pki))
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"https://{host}:{port}"
    finally:
        await runner.cleanup()


def _ssl_from_kubeconfig(path: Path) -> ssl.SSLContext:
    """Load with the official client and build an SSL context from what it resolved."""
    cfg = kclient.Configuration()
    kconfig.load_kube_config(config_file=str(path), client_configuration=cfg)
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
    ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    return ctx


async def _get(url: str, ctx: ssl.SSLContext, headers: dict[str, str] | None = None):
    async with aiohttp.ClientSession() as session:
        async with session.get(url, ssl=ctx, headers=headers or {}) as resp:
            return resp.status, await resp.json()


def test_tls_round_trip(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)
    kubeconfig = tmp_path / "admin.kubeconfig"
    anon_ctx = certs.client_ssl_context(pki)

    async def scenario() -> None:
        async with _serve(pki) as base:
            certs.write_kubeconfig(kubeconfig, server=base, pki=pki)
            status, body = await _get(base + "/whoami", _ssl_from_kubeconfig(kubeconfig))
            assert status == 200
            assert body["name"] == "kubernetes-admin"
            assert {"system:masters", "system:authenticated"} <= set(body["groups"])

            bearer = {"Authorization": f"Bearer {TOKEN}"}
            status, body = await _get(base + "/whoami", anon_ctx, bearer)
            assert (status, body["name"]) == (200, "alice")
            assert body["groups"] == ["devs", "system:authenticated"]

            for headers in ({}, {"Authorization": "Bearer wrong"}):
                status, body = await _get(base + "/whoami", anon_ctx, headers)
                assert status == 401
                assert (body["kind"], body["code"], body["reason"], body["message"]) == (
                    "Status", 401, "Unauthorized", "Unauthorized",
                )

            status, body = await _get(base + "/version", anon_ctx)
            assert (status, body) == (200, VERSION)

    asyncio.run(scenario())


def test_server_offers_only_http11(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path)

    async def scenario() -> None:
        async with _serve(pki) as base:
            host, port = base.removeprefix("https://").rsplit(":", 1)
            ctx = certs.client_ssl_context(pki)
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            _, writer = await asyncio.open_connection(host, int(port), ssl=ctx)
            try:
                assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "http/1.1"
            finally:
                writer.close()
                await writer.wait_closed()

    asyncio.run(scenario())


# --------------------------------------------------------------------------- real kubectl


def _kubectl() -> str | None:
    """kubectl 1.32 if present (gcloud ships versioned binaries next to kubectl)."""
    found = shutil.which("kubectl.1.32")
    if found:
        return found
    plain = shutil.which("kubectl")
    if plain is None:
        return None
    sibling = Path(os.path.realpath(plain)).with_name("kubectl.1.32")
    return str(sibling) if sibling.exists() else plain


async def _run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.skipif(_kubectl() is None, reason="kubectl is not installed")
def test_real_kubectl_uses_kubeconfig(tmp_path: Path) -> None:
    kubectl = _kubectl()
    assert kubectl is not None
    pki = certs.ensure_pki(tmp_path)
    cache = str(tmp_path / "kubectl-cache")

    async def scenario() -> None:
        async with _serve(pki) as base:
            admin = tmp_path / "admin.kubeconfig"
            certs.write_kubeconfig(admin, server=base, pki=pki)
            rc, out, err = await _run(
                kubectl, "--kubeconfig", str(admin), "config", "view", "--minify", "--raw"
            )
            assert rc == 0, err
            assert yaml.safe_load(out)["clusters"][0]["cluster"]["server"] == base

            rc, out, err = await _run(
                kubectl, "--kubeconfig", str(admin), "--cache-dir", cache,
                "get", "--raw", "/version",
            )
            assert rc == 0, err
            assert json.loads(out) == VERSION
            # The client cert was presented and accepted (not only the public path).
            rc, out, err = await _run(
                kubectl, "--kubeconfig", str(admin), "--cache-dir", cache, "get", "--raw", "/whoami"
            )
            assert rc == 0, err
            assert json.loads(out)["name"] == "kubernetes-admin"

            token_cfg = tmp_path / "token.kubeconfig"
            certs.write_kubeconfig(token_cfg, server=base, pki=pki, user="alice", token=TOKEN)
            rc, out, err = await _run(
                kubectl, "--kubeconfig", str(token_cfg), "--cache-dir", cache,
                "get", "--raw", "/whoami",
            )
            assert rc == 0, err
            assert json.loads(out)["name"] == "alice"

            # Verification is real: a kubeconfig from another cluster's CA is refused.
            stranger = tmp_path / "stranger.kubeconfig"
            other = certs.ensure_pki(tmp_path / "other")
            certs.write_kubeconfig(stranger, server=base, pki=other)
            rc, out, err = await _run(
                kubectl, "--kubeconfig", str(stranger), "--cache-dir", cache,
                "get", "--raw", "/version",
            )
            assert rc != 0
            assert "certificate" in err

    asyncio.run(scenario())
