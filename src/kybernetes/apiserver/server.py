"""The kube-apiserver process: assembly, the request pipeline, non-resource endpoints.

Request pipeline (one aiohttp middleware): parse the path into a `RequestInfo`,
authenticate, authorize, then route: resource requests to `ResourceHandlers`,
the rest to discovery, OpenAPI, /version and the health checks. Every failure
becomes a `Status` body with upstream's code and reason; an unexpected
exception is a 500 and never takes the server down.

`ApiServer` owns the store, the watch cache and the TLS listener; `run()` starts
them, creates the system namespaces, writes the admin kubeconfig once /readyz
is true, and stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import platform
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from kybernetes.api import openapi, openapi_v2pb
from kybernetes.api.errors import StatusError, internal, not_acceptable
from kybernetes.api.registry import Registry
from kybernetes.apiserver import certs, discovery, metrics, paths
from kybernetes.apiserver.admission import AdmissionChain, NamespaceLifecycle
from kybernetes.apiserver.allocators import DEFAULT_SERVICE_CIDR, ServiceAllocator
from kybernetes.apiserver.authn import (
    AuthenticatorChain,
    TokenAuthenticator,
    UserInfo,
    X509Authenticator,
)
from kybernetes.apiserver.authz import (
    AlwaysAllowAuthenticated,
    Attributes,
    AuthorizerChain,
    PublicInfoAuthorizer,
    SystemMastersAuthorizer,
)
from kybernetes.apiserver.crds import CrdController
from kybernetes.apiserver.defaulttolerationseconds import DefaultTolerationSeconds
from kybernetes.apiserver.handlers import ResourceHandlers, json_response, not_found_path
from kybernetes.apiserver.limitranger import LimitRanger
from kybernetes.apiserver.policies import ValidatingAdmissionPolicies
from kybernetes.apiserver.priority import Priority, ensure_system_priority_classes
from kybernetes.apiserver.resourcequota import ResourceQuotaAdmission
from kybernetes.apiserver.rest import RestStorage
from kybernetes.apiserver.reviews import Reviews
from kybernetes.apiserver.serviceaccounts import ServiceAccountTokenVerifier, TokenIssuer
from kybernetes.apiserver.watchcache import WatchCache
from kybernetes.apiserver.webhooks import WebhookAdmission
from kybernetes.storage.interface import Store

log = logging.getLogger("kybernetes.apiserver")

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0+kyb",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-11-22T00:00:00Z",
    "goVersion": f"python{platform.python_version()}",
    "compiler": "cpython",
    "platform": f"{sys.platform}/{platform.machine().lower().replace('x86_64', 'amd64')}",
}

_OPENAPI_V2_PB = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """How to run one apiserver. `data_dir` holds the PKI, the database and the kubeconfig."""

    data_dir: Path
    secure_port: int = 6443
    bind_address: str = "127.0.0.1"
    advertise_address: str = "127.0.0.1"
    # Extra names/addresses for the serving certificate.
    tls_sans: tuple[str, ...] = ()
    compact_interval_seconds: float = 300.0
    watch_window: int = 10_000
    service_cluster_ip_range: str = DEFAULT_SERVICE_CIDR
    # token,user,uid,"group1,group2" lines (upstream --token-auth-file).
    token_auth_file: Path | None = None

    def validate(self) -> ServerConfig:
        if not 0 <= self.secure_port <= 65535:
            raise ValueError(f"--secure-port {self.secure_port} is not a port number")
        return self


class ApiServer:
    """One apiserver over one store."""

    def __init__(self, config: ServerConfig, store: Store, *,
                 registry: Registry | None = None) -> None:
        self.config = config.validate()
        self.store = store
        self.registry = registry or Registry.builtin()
        self.cache = WatchCache(store, window=config.watch_window)
        # Versions stored under another version's prefix (storage_resource) are
        # registered after the owner, so the cache keeps the stored kind's field labels.
        for info in sorted(self.registry, key=lambda i: bool(i.storage_resource)):
            if info.virtual:
                continue
            prefix = info.key_prefix()
            if prefix in self.cache.caches:
                continue
            self.cache.register(prefix, group=info.group, kind=info.kind,
                                namespaced=info.namespaced)
        self.admission = AdmissionChain()
        self.rest = RestStorage(store, self.cache, self.admission)
        self.rest.services = ServiceAllocator(store, config.service_cluster_ip_range)
        for info in self.registry:
            if info.storage_resource and not info.virtual:
                self.rest.storage_versions[info.key_prefix()] = _storage_gv(self.registry,
                                                                           info.key_prefix())
        self.admission.validating.append(NamespaceLifecycle(self.rest.namespace))
        # Upstream order: LimitRanger, Priority, DefaultTolerationSeconds, ..., webhooks,
        # ResourceQuota last.
        limit_ranger, priority = LimitRanger(self.cache), Priority(self.cache, self.registry)
        self.admission.mutating += [limit_ranger, priority, DefaultTolerationSeconds()]
        self.admission.validating += [limit_ranger, priority]
        self.crds = CrdController(self.registry, self.rest, self.cache)
        self.admission.validating.append(self.crds.admission())
        # Upstream plug-in order ends: MutatingAdmissionWebhook, ValidatingAdmissionPolicy,
        # ValidatingAdmissionWebhook.
        self.webhooks = WebhookAdmission(cache=self.cache, registry=self.registry,
                                         namespace_lookup=self.rest.namespace)
        self.admission.mutating.append(self.webhooks.mutating)
        self.admission.validating.append(ValidatingAdmissionPolicies(
            cache=self.cache, registry=self.registry, namespace_lookup=self.rest.namespace))
        self.admission.validating.append(self.webhooks.validating)
        self.admission.validating.append(ResourceQuotaAdmission(self.cache, self.registry))
        self.authorizer = AuthorizerChain([PublicInfoAuthorizer(), SystemMastersAuthorizer(),
                                           AlwaysAllowAuthenticated()])
        self.tokens = TokenAuthenticator()
        self.reviews = Reviews(self.authorizer, self.tokens.verify)
        self.handlers = ResourceHandlers(self.registry, self.rest, self.reviews)
        self.discovery = discovery.DiscoveryCache(self.registry)
        self.metrics = metrics.ApiMetrics()
        self.metrics.add_gauge("apiserver_storage_objects", "Number of stored objects at the "
                               "time of last check split by kind.", ["resource"],
                               self._object_counts)
        self.metrics.add_gauge("apiserver_registered_watchers", "Number of currently "
                               "registered watchers for a given resources", ["group", "kind"],
                               self._watcher_counts)
        self.ready = False
        self.authn: AuthenticatorChain | None = None
        self.pki: certs.Pki | None = None
        self.port = config.secure_port
        self._runner: web.AppRunner | None = None

    # --- the app ----------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._pipeline],
                              client_max_size=4 * 1024 * 1024, handler_args={
                                  "max_field_size": 65536})
        app["handlers"] = self.handlers
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        raise not_found_path()

    @web.middleware
    async def _pipeline(self, request: web.Request, handler: Any) -> web.StreamResponse:
        start = time.perf_counter()
        ri = paths.parse(request.path, request.method, request.query)
        resp = await self._serve(request, ri)
        self.metrics.observe(ri, resp.status, time.perf_counter() - start)
        return resp

    async def _serve(self, request: web.Request, ri: paths.RequestInfo) -> web.StreamResponse:
        try:
            assert self.authn is not None
            user = await self.authn.authenticate(request)
            await self.authorizer.authorize(self._attributes(ri, user))
            if ri.resource_request:
                return await self.handlers.handle(request, ri, user)
            return await self._non_resource(request, ri)
        except StatusError as err:
            return _status_response(err)
        except web.HTTPException as exc:
            return _status_response(StatusError(exc.status, exc.reason.replace(" ", ""),
                                                exc.text or exc.reason))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("request failed: %s %s", request.method, request.path_qs)
            return _status_response(internal(f"an error on the server ({type(exc).__name__}: "
                                             f"{exc}) has prevented the request from "
                                             "succeeding"))

    @staticmethod
    def _attributes(ri: paths.RequestInfo, user: UserInfo) -> Attributes:
        if not ri.resource_request:
            return Attributes(user=user, verb=ri.verb, resource_request=False, path=ri.path)
        return Attributes(user=user, verb=ri.verb, resource_request=True, api_group=ri.group,
                          api_version=ri.version, resource=ri.resource,
                          subresource=ri.subresource, namespace=ri.namespace, name=ri.name,
                          path=ri.path)

    async def _non_resource(self, request: web.Request, ri: paths.RequestInfo
                            ) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if request.method not in ("GET", "HEAD"):
            if path in ("/api", "/apis", "/version") or path.startswith(("/api/", "/apis/")):
                raise StatusError(405, "MethodNotAllowed",
                                  "the server does not allow this method on the requested "
                                  "resource")
            raise not_found_path()
        if path == "/version":
            return json_response(VERSION)
        if path == "/metrics":
            return web.Response(body=self.metrics.render(),
                                headers={"Content-Type": metrics.CONTENT_TYPE})
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(
                ("/healthz/", "/livez/", "/readyz/")):
            return self._health(path, request)
        if path == "/api" or path == "/apis" or path.startswith(("/api/", "/apis/")):
            return self._discovery(path, request)
        if path == "/openapi/v2":
            return self._openapi_v2(request.headers.get("Accept") or "*/*")
        if path == "/openapi/v3":
            return json_response(openapi.v3_index(self.registry))
        if path.startswith("/openapi/v3/"):
            doc = openapi.v3_document_bytes(self.registry, path[len("/openapi/v3/"):])
            if doc is None:
                raise not_found_path()
            resp = _bytes(doc)
            resp.headers["Cache-Control"] = "public, immutable"
            return resp
        if path == "/":
            return json_response({"paths": sorted(self._root_paths())})
        raise not_found_path()

    def _openapi_v2(self, accept: str) -> web.StreamResponse:
        """JSON or gnostic protobuf, the first Accept clause that matches wins; 406 if
        none does (kube-openapi `handler.go`). client-go asks only for protobuf."""
        for clause in accept.split(","):
            media = clause.split(";", 1)[0].strip().lower()
            if media in ("application/json", "application/*", "*/*"):
                return _bytes(openapi.v2_bytes(self.registry))
            if media in (_OPENAPI_V2_PB, "application/com.github.proto-openapi.spec.v2.v1.0"
                         "+protobuf"):
                resp = web.Response(body=openapi_v2pb.document_bytes(self.registry))
                resp.headers["Content-Type"] = ("application/com.github.proto-openapi.spec.v2"
                                                ".v1.0+protobuf")
                return resp
        raise not_acceptable("only the following media types are accepted: "
                             f"application/json, {_OPENAPI_V2_PB}")

    def _root_paths(self) -> list[str]:
        out = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version",
               "/openapi/v2", "/openapi/v3"]
        for group, versions in self.registry.groups():
            if group:
                out.append(f"/apis/{group}")
                out.extend(f"/apis/{group}/{v}" for v in versions)
        return out

    def _health(self, path: str, request: web.Request) -> web.StreamResponse:
        ok = self.ready or not path.startswith("/readyz")
        verbose = "verbose" in request.query
        if verbose:
            checks = ["ping", "log", "etcd", "informer-sync" if path.startswith("/readyz")
                      else "poststarthook/start-apiextensions-informers"]
            lines = [f"[+]{c} ok" for c in checks]
            status = "passed" if ok else "failed"
            text = "\n".join(lines) + f"\n{path.strip('/').split('/')[0]} check {status}\n"
        else:
            text = "ok" if ok else "[-]informer-sync failed: reason withheld\nreadyz check failed"
        return web.Response(text=text, status=200 if ok else 500, content_type="text/plain")

    def _discovery(self, path: str, request: web.Request) -> web.StreamResponse:
        accept = request.headers.get("Accept", "")
        parts = path.strip("/").split("/")
        if parts in (["api"], ["apis"]):
            version = discovery.wants_aggregated(accept)
            if version is not None:
                enc = self.discovery.aggregated(legacy=parts == ["api"], version=version)
            elif parts == ["api"]:
                enc = self.discovery.api_versions(f"{self.config.advertise_address}:{self.port}")
            else:
                enc = self.discovery.api_group_list()
        elif parts[0] == "api" and len(parts) == 2:
            enc = self.discovery.api_resource_list("", parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            enc = self.discovery.api_group(parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            enc = self.discovery.api_resource_list(parts[1], parts[2])
        else:
            enc = None
        if enc is None:
            raise not_found_path()
        if "application/json" not in accept and accept and "*/*" not in accept and \
                "application/*" not in accept and "protobuf" not in accept:
            raise not_acceptable("only the following media types are accepted: "
                                 "application/json")
        if enc.not_modified(request.headers.get("If-None-Match")):
            return web.Response(status=304, headers={"ETag": enc.etag})
        resp = web.Response(body=enc.body, headers={"ETag": enc.etag})
        resp.headers["Content-Type"] = enc.content_type
        return resp

    def _object_counts(self) -> list[tuple[dict[str, str], float]]:
        out = []
        for info in self.registry:
            if info.virtual or info.storage_resource:
                continue
            rc = self.cache.caches.get(info.key_prefix())
            if rc is not None:
                out.append(({"resource": info.qualified}, float(len(rc.objects))))
        return out

    def _watcher_counts(self) -> list[tuple[dict[str, str], float]]:
        return [({"group": rc.group, "kind": rc.kind}, float(len(rc.watchers)))
                for rc in self.cache.caches.values() if rc.watchers]

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, fill the cache, listen; ready once system namespaces exist."""
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        hosts = ["127.0.0.1", "localhost", socket.gethostname(), *cfg.tls_sans]
        self.pki = await asyncio.to_thread(certs.ensure_pki, cfg.data_dir, hosts=hosts)
        authenticators: list[Any] = [X509Authenticator(self.pki.ca_pem)]
        if cfg.token_auth_file is not None:
            self.tokens = TokenAuthenticator.from_csv(cfg.token_auth_file)
            self.reviews.token_reviewer = self.tokens.verify
        sa_key = self.pki.sa_key_path.read_bytes()
        sa_pub = self.pki.sa_pub_path.read_bytes()
        self.handlers.token_issuer = TokenIssuer(sa_key, sa_pub)
        self.tokens.verifiers.append(ServiceAccountTokenVerifier(sa_pub, self._sa_uid))
        authenticators.append(self.tokens)
        self.authn = AuthenticatorChain(authenticators)
        await self.store.start()
        await self.cache.start()
        await self.crds.start()
        # The cache holds every object: keep the cycle collector from walking it on each
        # full collection (80-100 ms pauses with 10,000 pods). Objects are plain trees,
        # freed by reference counting when replaced.
        gc.freeze()
        app = self.make_app()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.bind_address, cfg.secure_port,
                           ssl_context=certs.server_ssl_context(self.pki), backlog=1024,
                           reuse_address=True)
        await site.start()
        if cfg.secure_port == 0:
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await self._bootstrap()
        self.ready = True
        certs.write_kubeconfig(cfg.data_dir / "kubeconfig",
                               server=f"https://127.0.0.1:{self.port}", pki=self.pki)
        log.info("apiserver ready on https://%s:%d", cfg.bind_address, self.port)

    async def _sa_uid(self, namespace: str, name: str) -> str | None:
        kv = await self.store.get(f"/registry/serviceaccounts/{namespace}/{name}")
        if kv is None:
            return None
        return str(orjson.loads(kv.value).get("metadata", {}).get("uid") or "")

    async def _bootstrap(self) -> None:
        from kybernetes.apiserver.authn import UserInfo as _U
        from kybernetes.apiserver.rest import WriteOptions

        info = self.registry.get("", "v1", "namespaces")
        assert info is not None
        system = _U(name="system:apiserver", groups=("system:masters",))
        for ns in SYSTEM_NAMESPACES:
            if await self.rest.namespace(ns) is not None:
                continue
            obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            try:
                await self.rest.create(info, "", obj, WriteOptions(user=system))
            except StatusError as err:
                if err.code != 409:
                    raise
        await ensure_system_priority_classes(self.rest, self.registry, WriteOptions(user=system))
        await self._reconcile_kubernetes_service(WriteOptions(user=system))

    async def _reconcile_kubernetes_service(self, opts: Any) -> None:
        """The `default/kubernetes` Service, Endpoints and EndpointSlice pointing at this
        apiserver (upstream's endpoint reconciler, for a single apiserver)."""
        assert self.rest.services is not None
        ip, port = self.config.advertise_address, self.port
        labels = {"component": "apiserver", "provider": "kubernetes"}
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "kubernetes", "namespace": "default", "labels": labels},
               "spec": {"type": "ClusterIP", "sessionAffinity": "None",
                        "clusterIP": self.rest.services.kubernetes_ip,
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                   "targetPort": port}]}}
        ep = {"apiVersion": "v1", "kind": "Endpoints",
              "metadata": {"name": "kubernetes", "namespace": "default",
                           "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
              "subsets": [{"addresses": [{"ip": ip}],
                           "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}
        slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"name": "kubernetes", "namespace": "default",
                               "labels": {"kubernetes.io/service-name": "kubernetes"}},
                  "addressType": "IPv4",
                  "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
                  "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
        for plural, group, obj, compare in (("services", "", svc, "spec.ports"),
                                             ("endpoints", "", ep, "subsets"),
                                             ("endpointslices", "discovery.k8s.io", slice_,
                                              "endpoints")):
            info = self.registry.get(group, "v1", plural)
            assert info is not None
            try:
                current = await self.rest.get(info, "default", "kubernetes")
            except StatusError as err:
                if err.code != 404:
                    raise
                await self.rest.create(info, "default", obj, opts)
                continue
            if plural == "services":
                if current["spec"].get("ports") != svc["spec"]["ports"]:
                    current["spec"]["ports"] = svc["spec"]["ports"]
                    await self.rest.update(info, "default", "kubernetes", current, opts)
                continue
            key = compare
            if current.get(key) != obj.get(key) or (plural == "endpointslices" and current.get(
                    "ports") != obj.get("ports")):
                obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                await self.rest.update(info, "default", "kubernetes", obj, opts)

    async def stop(self) -> None:
        self.ready = False
        await self.webhooks.close()
        await self.crds.stop()
        await self.cache.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.store.close()


def _storage_gv(registry: Registry, prefix: str) -> str:
    """The group/version stored under `prefix`: the version that owns it (no
    storage_resource override)."""
    for info in registry:
        if not info.virtual and not info.storage_resource and info.key_prefix() == prefix:
            return info.group_version
    raise ValueError(f"no resource owns storage prefix {prefix}")


def _status_response(err: StatusError) -> web.Response:
    resp = web.Response(body=orjson.dumps(err.to_status()), status=err.code,
                        content_type="application/json")
    if err.retry_after_seconds:
        resp.headers["Retry-After"] = str(err.retry_after_seconds)
    return resp


def _bytes(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


def default_data_dir() -> Path:
    """The per-user state directory: $XDG_STATE_HOME/kybernetes or ~/.local/state/kybernetes
    (/var/lib/kybernetes for root, like k3s's /var/lib/rancher)."""
    if os.geteuid() == 0:
        return Path("/var/lib/kybernetes")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kybernetes"


async def serve(config: ServerConfig, store: Store) -> None:
    """Run until SIGTERM or SIGINT."""
    # Requests allocate many short-lived dicts; collect young generations less often.
    gc.set_threshold(50_000, 50, 100)
    server = ApiServer(config, store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"kyb: API server ready at https://127.0.0.1:{server.port}\n"
          f"kyb: export KUBECONFIG={config.data_dir / 'kubeconfig'}", file=sys.stderr,
          flush=True)
    try:
        await stop.wait()
    finally:
        print("kyb: stopping", file=sys.stderr, flush=True)
        await server.stop()
