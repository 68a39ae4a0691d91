"""Calling an admission webhook: where it is, how to trust it, one POST.

`WebhookClient.post(client_config, body, timeout_seconds)` returns the response
body of a 2xx answer or raises `CallError` with upstream's reason text (the
part after `failed calling webhook "<name>": `).

Where: `clientConfig.url` as given; `clientConfig.service` is
`https://<name>.<namespace>.svc:<port><path>` as upstream names it. There is
no cluster DNS yet, so the apiserver resolves the Service itself, like
upstream's endpoint service resolver (`--enable-aggregator-routing`): the
Service's port (default 443) gives the target port, the Service's Endpoints (or,
failing those, its EndpointSlices) give a ready address; ExternalName Services
resolve to their external name. The TLS server name stays the service's DNS
name, so the serving certificate must carry it.

Trust: `caBundle` (PEM, base64 in JSON) when set, else the system roots. As
upstream, the request URL carries `?timeout=<n>s` and the call is cut off
after `timeoutSeconds`.
"""

from __future__ import annotations

import base64
import binascii
import errno
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

Obj = dict[str, Any]
# (cache key prefix, key) -> object, from the watch cache.
ObjectLookup = Callable[[str], Obj | None]
ObjectList = Callable[[str], list[Obj]]

_SERVICES = "/registry/services/"
_ENDPOINTS = "/registry/endpoints/"
_SLICES = "/registry/discovery.k8s.io/endpointslices/"


class CallError(Exception):
    """The webhook could not be called or answered unusably (upstream ErrCallingWebhook:
    subject to failurePolicy). str() is the reason."""


@dataclass(frozen=True)
class Destination:
    url: str  # as shown in errors (the service's DNS name for services)
    connect_url: str  # where to connect
    server_hostname: str | None = None  # TLS SNI / verification name when they differ


class WebhookClient:
    """One per apiserver. `lookup(key)` and `list_prefix(prefix)` read the watch cache."""

    def __init__(self, lookup: ObjectLookup, list_prefix: ObjectList) -> None:
        self._lookup = lookup
        self._list = list_prefix
        self._session: aiohttp.ClientSession | None = None
        self._contexts: dict[str, ssl.SSLContext] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _ssl(self, ca_bundle: str) -> ssl.SSLContext:
        ctx = self._contexts.get(ca_bundle)
        if ctx is None:
            if ca_bundle:
                try:
                    pem = base64.b64decode(ca_bundle, validate=True).decode()
                    ctx = ssl.create_default_context(cadata=pem)
                except (binascii.Error, UnicodeDecodeError, ssl.SSLError, ValueError) as exc:
                    raise CallError(f"could not get REST client: unable to load root "
                                    f"certificates: {exc}") from None
            else:
                ctx = ssl.create_default_context()
            if len(self._contexts) > 256:
                self._contexts.clear()
            self._contexts[ca_bundle] = ctx
        return ctx

    async def post(self, client_config: Obj, body: bytes, timeout_seconds: int) -> bytes:
        dest = self.destination(client_config)
        ctx = self._ssl(str(client_config.get("caBundle") or ""))
        query = f"timeout={timeout_seconds}s"
        shown = f"{dest.url}{'&' if '?' in dest.url else '?'}{query}"
        target = f"{dest.connect_url}{'&' if '?' in dest.connect_url else '?'}{query}"
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        kw: dict[str, Any] = {}
        if dest.server_hostname:
            kw["server_hostname"] = dest.server_hostname
            headers["Host"] = dest.server_hostname
        try:
            async with self._session.post(
                    target, data=body, headers=headers, ssl=ctx,
                    timeout=aiohttp.ClientTimeout(total=timeout_seconds), **kw) as resp:
                data = await resp.read()
                status = resp.status
        except TimeoutError:
            raise CallError(f'failed to call webhook: Post "{shown}": context deadline '
                            "exceeded") from None
        except aiohttp.ClientError as exc:
            raise CallError(f'failed to call webhook: Post "{shown}": {_describe(exc)}'
                            ) from None
        if not 200 <= status < 300:
            raise CallError(f"failed to call webhook: {_http_error(status, data)}")
        return data

    # --- where ------------------------------------------------------------------------

    def destination(self, client_config: Obj) -> Destination:
        url = client_config.get("url")
        if url:
            return Destination(str(url), str(url))
        svc_ref = client_config.get("service")
        if not isinstance(svc_ref, dict):
            raise CallError("could not get REST client: neither url nor service is set")
        name, ns = str(svc_ref.get("name") or ""), str(svc_ref.get("namespace") or "")
        port = int(svc_ref.get("port") or 443)
        path = str(svc_ref.get("path") or "")
        host = f"{name}.{ns}.svc"
        shown = f"https://{host}:{port}{path}"
        address = self._resolve(ns, name, port, shown)
        return Destination(shown, f"https://{address}{path}", host)

    def _resolve(self, ns: str, name: str, port: int, shown: str) -> str:
        svc = self._lookup(f"{_SERVICES}{ns}/{name}")
        if svc is None:
            raise CallError(f'failed to call webhook: Post "{shown}": services "{name}" '
                            "not found")
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return f"{spec.get('externalName')}:{port}"
        svc_port = next((p for p in spec.get("ports") or () if p.get("port") == port), None)
        if svc_port is None:
            raise CallError(f'failed to call webhook: Post "{shown}": no service port {port} '
                            f'found for service "{name}"')
        found = self._from_endpoints(ns, name, svc_port) or self._from_slices(ns, name,
                                                                              svc_port)
        if found is None:
            raise CallError(f'failed to call webhook: Post "{shown}": no endpoints available '
                            f'for service "{name}"')
        ip, target_port = found
        return f"[{ip}]:{target_port}" if ":" in ip else f"{ip}:{target_port}"

    def _from_endpoints(self, ns: str, name: str, svc_port: Obj) -> tuple[str, int] | None:
        ep = self._lookup(f"{_ENDPOINTS}{ns}/{name}")
        for subset in (ep or {}).get("subsets") or ():
            number = _port_number(subset.get("ports") or (), svc_port)
            addresses = subset.get("addresses") or ()
            if number is not None and addresses:
                return str(addresses[0].get("ip")), number
        return None

    def _from_slices(self, ns: str, name: str, svc_port: Obj) -> tuple[str, int] | None:
        for es in self._list(f"{_SLICES}{ns}/"):
            labels = (es.get("metadata") or {}).get("labels") or {}
            if labels.get("kubernetes.io/service-name") != name:
                continue
            number = _port_number(es.get("ports") or (), svc_port)
            if number is None:
                continue
            for endpoint in es.get("endpoints") or ():
                if (endpoint.get("conditions") or {}).get("ready") is False:
                    continue
                addresses = endpoint.get("addresses") or ()
                if addresses:
                    return str(addresses[0]), number
        return None


def _port_number(ports: Any, svc_port: Obj) -> int | None:
    """The endpoint port serving `svc_port` (by name; the only port when unnamed)."""
    name = svc_port.get("name") or ""
    for p in ports:
        if (p.get("name") or "") == name and isinstance(p.get("port"), int):
            return int(p["port"])
    return None


# OpenSSL verify codes Go reports as an unknown authority (self-signed, no issuer found).
_UNKNOWN_AUTHORITY = frozenset({18, 19, 20, 21})


def _describe(exc: aiohttp.ClientError) -> str:
    """Go-like wording for the common transport failures."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_err = exc.certificate_error
        code = getattr(cert_err, "verify_code", None)
        if code in _UNKNOWN_AUTHORITY:
            detail = "certificate signed by unknown authority"
        else:
            detail = getattr(cert_err, "verify_message", "") or str(cert_err)
        return f"tls: failed to verify certificate: x509: {detail}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        where = f"{exc.host}:{exc.port}"
        if isinstance(os_error, ConnectionRefusedError) or getattr(
                os_error, "errno", None) == errno.ECONNREFUSED:
            return f"dial tcp {where}: connect: connection refused"
        return f"dial tcp {where}: {os_error.strerror or os_error}"
    return str(exc) or type(exc).__name__


def _http_error(status: int, data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            doc = orjson.loads(data)
            if isinstance(doc, dict) and doc.get("kind") == "Status" and doc.get("message"):
                return str(doc["message"])
        except orjson.JSONDecodeError:
            pass
    if not text:
        return f"the server responded with the status code {status} but did not return " \
               "more information"
    return f'an error on the server ("{text[:256]}") has prevented the request from ' \
           "succeeding"
