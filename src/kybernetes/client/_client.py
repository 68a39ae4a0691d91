"""`Client`: the async REST client every component talks to the cluster through.

One `Client` = one connection pool (a single aiohttp session), one client-side
rate limiter and one discovery cache. Objects are plain dicts, encoded and
decoded with orjson.

Request lifecycle (`_send`): wait for a token of the QPS/burst bucket, send,
and on failure decide whether to try again:

| outcome                       | retried?                                  | wait          |
|-------------------------------|-------------------------------------------|---------------|
| 429 TooManyRequests           | yes, any verb (the server did nothing)    | Retry-After,  |
|                               |                                           | else back-off |
| 500 502 503 504               | idempotent verbs (GET HEAD PUT DELETE),   | same          |
|                               | or any verb when Retry-After is given     |               |
| no connection (refused, TLS)  | yes, any verb (nothing was sent)          | back-off      |
| connection lost after sending | idempotent verbs                          | back-off      |

at most `config.max_retries` times; then the error is raised: `StatusError`
for an answer, `TransportError` for none. Every retry takes a token again, as
in client-go, so retries cannot exceed the configured QPS.

Namespaces: for single-object verbs on a namespaced resource, `namespace=None`
means the object's `metadata.namespace`, else the config's namespace; for
`list`, `watch` and `delete_collection` it means all namespaces. Namespaces
are ignored for cluster-scoped resources.

Returned objects belong to the caller; objects passed in are never mutated.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import ResourceInfo
from kybernetes.client._clock import REAL_CLOCK, Clock
from kybernetes.client._config import Config, load_kubeconfig
from kybernetes.client._discovery import Discovery, ResourceRef, resource_path
from kybernetes.client._errors import TransportError, error_from_response, is_not_found
from kybernetes.client._ratelimit import Backoff, TokenBucket
from kybernetes.client._transport import AiohttpTransport, HttpRequest, HttpResponse, Transport
from kybernetes.client._watch import WatchStream

log = logging.getLogger("kybernetes.client")

Obj = dict[str, Any]
Selector = str | Mapping[str, str] | None

JSON = "application/json"
PATCH_TYPES = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_5XX = frozenset({500, 502, 503, 504})
# A watch request ends at the server's timeoutSeconds; the client gives up this
# much later (a half-open connection to a dead server must not hang forever).
WATCH_GRACE_SECONDS = 30.0


def selector_text(selector: Selector) -> str:
    """A selector as query text; a mapping means equality on every key (`a=1,b=2`)."""
    if selector is None:
        return ""
    if isinstance(selector, str):
        return selector
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def _typed_items(lst: Obj, info: ResourceInfo) -> Obj:
    """Give list items the apiVersion and kind that servers may leave out of them (as
    client-go's unstructured list decoder does), so each item stands on its own."""
    for item in lst.get("items") or ():
        if isinstance(item, dict) and not item.get("kind"):
            item["apiVersion"], item["kind"] = info.api_version, info.kind
    return lst


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from apiservers; fall back to back-off


class _TokenSource:
    """The bearer token: fixed, or read from a file and re-read after `refresh` seconds."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self._token = config.token
        self._file = config.token_file
        self._refresh = config.token_file_refresh_seconds
        self._clock = clock
        self._read_at: float | None = None

    def token(self) -> str | None:
        if self._token and not self._file:
            return self._token
        if self._file is None:
            return None
        now = self._clock.now()
        if self._read_at is None or now - self._read_at >= self._refresh:
            try:
                with open(self._file) as f:
                    self._token = f.read().strip()
                self._read_at = now
            except OSError as exc:
                # Keep the last good token (a rotation in progress); say so.
                log.warning("cannot read token file %s: %s", self._file, exc)
                if self._token is None:
                    raise TransportError(f"cannot read token file {self._file}: {exc}",
                                         maybe_sent=False) from exc
        return self._token


class Client:
    """Async client of one API server. Use as `async with Client(config) as client:`,
    or call `await client.close()` when done.

    `transport` and `clock` are seams for tests (`MockTransport`, `FakeClock`).
    """

    def __init__(self, config: Config, *, transport: Transport | None = None,
                 clock: Clock | None = None) -> None:
        self.config = config.validate()
        self.clock: Clock = clock or REAL_CLOCK
        self._transport: Transport = transport or AiohttpTransport(self.config)
        self._limiter: TokenBucket | None = None
        self._tokens = _TokenSource(self.config, self.clock)
        self._base = self.config.server.rstrip("/")
        self.discovery = Discovery(self._fetch_discovery, self.clock.now)

    @classmethod
    def from_kubeconfig(cls, path: str | Path | None = None, *, context: str | None = None,
                        **overrides: Any) -> Client:
        """`Client(load_kubeconfig(path, context=context, **overrides))`."""
        return cls(load_kubeconfig(path, context=context, **overrides))

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    # --- plumbing ------------------------------------------------------------------------

    def _headers(self, content_type: str | None, accept: str = JSON) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": self.config.user_agent}
        if content_type:
            headers["Content-Type"] = content_type
        token = self._tokens.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif self.config.username is not None:
            pair = f"{self.config.username}:{self.config.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    async def _throttle(self) -> None:
        cfg = self.config
        if cfg.qps <= 0:
            return
        if self._limiter is None:
            self._limiter = TokenBucket(qps=cfg.qps, burst=cfg.burst, now=self.clock.now())
        delay = self._limiter.reserve(self.clock.now())
        if delay > 0:
            if delay >= 1.0:
                log.info("waited %.1fs due to client-side throttling (qps %g, burst %d)",
                         delay, cfg.qps, cfg.burst)
            await self.clock.sleep(delay)

    async def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: bytes | None = None, content_type: str | None = None,
                    stream: bool = False, timeout: float | None = None,  # noqa: ASYNC109
                    retry_too_many: bool = True, accept: str = JSON) -> HttpResponse:
        """Send with rate limiting and retries; return a 2xx response (unread)."""
        cfg = self.config
        idempotent = method in IDEMPOTENT
        backoff = Backoff(initial=cfg.retry_backoff_seconds, cap=cfg.retry_backoff_cap_seconds,
                          jitter=0.2)
        query = tuple((k, v) for k, v in (params or {}).items())
        attempt = 0
        while True:
            await self._throttle()
            request = HttpRequest(method, self._base + path, query,
                                  self._headers(content_type, accept), body, stream, timeout)
            try:
                resp = await self._transport.send(request)
            except TransportError as exc:
                if attempt < cfg.max_retries and (idempotent or not exc.maybe_sent):
                    attempt += 1
                    delay = backoff.next()
                    log.debug("retry %d of %s %s in %.2fs: %s", attempt, method, path, delay, exc)
                    await self.clock.sleep(delay)
                    continue
                raise
            if resp.status < 300:
                self._log_warnings(resp)
                return resp
            data = await resp.read()
            resp.release()
            retry_after = _retry_after(resp.headers.get("Retry-After"))
            err = error_from_response(resp.status, data, retry_after)
            retryable = (resp.status == 429 and retry_too_many) or (
                resp.status in RETRYABLE_5XX and (idempotent or retry_after is not None))
            if retryable and attempt < cfg.max_retries:
                attempt += 1
                delay = retry_after if retry_after is not None else backoff.next()
                log.debug("retry %d of %s %s in %.2fs after %s", attempt, method, path, delay,
                          err)
                await self.clock.sleep(delay)
                continue
            raise err

    def _log_warnings(self, resp: HttpResponse) -> None:
        for warning in resp.headers.getall("Warning", ()):
            log.warning("server warning: %s", warning)

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: Any = None, content_type: str | None = None, accept: str = JSON,
                    retry_too_many: bool = True) -> tuple[str, bytes]:
        """One request, read whole: (Content-Type, body). `body` is bytes or JSON-able."""
        raw = None
        if body is not None:
            raw = body if isinstance(body, bytes) else orjson.dumps(body)
            content_type = content_type or JSON
        resp = await self._send(method, path, params=params, body=raw, content_type=content_type,
                                accept=accept, retry_too_many=retry_too_many)
        try:
            data = await resp.read()
        finally:
            resp.release()
        return resp.headers.get("Content-Type", ""), data

    async def _json(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: Any = None, content_type: str | None = None,
                    retry_too_many: bool = True) -> Any:
        _, data = await self._call(method, path, params=params, body=body,
                                   content_type=content_type, retry_too_many=retry_too_many)
        return orjson.loads(data) if data else None

    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      body: Any = None, content_type: str | None = None) -> Any:
        """Any request (`/version`, `/readyz`, an aggregated API): JSON answers are
        decoded, other answers returned as text. Same retries and errors as the verbs."""
        ctype, data = await self._call(method.upper(), path, params=params, body=body,
                                       content_type=content_type)
        if ctype.startswith("application/json"):
            return orjson.loads(data) if data else None
        return data.decode("utf-8", "replace")

    async def _fetch_discovery(self, path: str, accept: str) -> tuple[str, Obj | None]:
        try:
            ctype, data = await self._call("GET", path, accept=accept)
        except StatusError as exc:
            if is_not_found(exc):
                return "", None
            raise
        return ctype, orjson.loads(data) if data else None

    async def resolve(self, resource: ResourceRef) -> ResourceInfo:
        """The `ResourceInfo` for a reference (discovery, cached)."""
        return await self.discovery.resolve(resource)

    def _object_namespace(self, info: ResourceInfo, namespace: str | None, obj: Obj | None
                          ) -> str:
        if not info.namespaced:
            return ""
        if namespace:
            return namespace
        meta = (obj or {}).get("metadata") or {}
        return str(meta.get("namespace") or self.config.namespace)

    @staticmethod
    def _write_params(*, field_manager: str | None, dry_run: bool,
                      field_validation: str | None) -> dict[str, str]:
        params: dict[str, str] = {}
        if field_manager:
            params["fieldManager"] = field_manager
        if dry_run:
            params["dryRun"] = "All"
        if field_validation:
            params["fieldValidation"] = field_validation
        return params

    # --- reads ---------------------------------------------------------------------------

    async def get(self, resource: ResourceRef, name: str, *, namespace: str | None = None,
                  subresource: str = "", resource_version: str | None = None) -> Obj:
        """GET one object (or its subresource, e.g. "scale" or "status")."""
        info = await self.resolve(resource)
        path = resource_path(info, namespace=self._object_namespace(info, namespace, None),
                             name=name, subresource=subresource)
        params = {"resourceVersion": resource_version} if resource_version is not None else None
        return await self._json("GET", path, params=params)

    def _list_params(self, *, label_selector: Selector, field_selector: Selector,
                     limit: int | None, continue_token: str | None,
                     resource_version: str | None, resource_version_match: str | None,
                     timeout_seconds: int | None) -> dict[str, str]:
        params: dict[str, str] = {}
        if text := selector_text(label_selector):
            params["labelSelector"] = text
        if text := selector_text(field_selector):
            params["fieldSelector"] = text
        if limit:
            params["limit"] = str(limit)
        if continue_token:
            params["continue"] = continue_token
        if resource_version is not None:
            params["resourceVersion"] = resource_version
        if resource_version_match:
            params["resourceVersionMatch"] = resource_version_match
        if timeout_seconds:
            params["timeoutSeconds"] = str(timeout_seconds)
        return params

    async def list(self, resource: ResourceRef, *, namespace: str | None = None,
                   label_selector: Selector = None, field_selector: Selector = None,
                   limit: int | None = None, continue_token: str | None = None,
                   resource_version: str | None = None,
                   resource_version_match: str | None = None,
                   timeout_seconds: int | None = None) -> Obj:
        """One LIST request: the `<Kind>List` with `metadata.resourceVersion` and, when
        `limit` cut it short, `metadata.continue` (pass it back as `continue_token`)."""
        info = await self.resolve(resource)
        path = resource_path(info, namespace=namespace or "")
        params = self._list_params(
            label_selector=label_selector, field_selector=field_selector, limit=limit,
            continue_token=continue_token, resource_version=resource_version,
            resource_version_match=resource_version_match, timeout_seconds=timeout_seconds)
        return _typed_items(await self._json("GET", path, params=params), info)

    async def list_pages(self, resource: ResourceRef, *, namespace: str | None = None,
                         label_selector: Selector = None, field_selector: Selector = None,
                         page_size: int = 500, resource_version: str | None = None
                         ) -> AsyncIterator[Obj]:
        """Every page of a LIST, following `continue` (all pages are one snapshot)."""
        token: str | None = None
        while True:
            page = await self.list(
                resource, namespace=namespace, label_selector=label_selector,
                field_selector=field_selector, limit=page_size, continue_token=token,
                resource_version=None if token else resource_version)
            yield page
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    async def list_all(self, resource: ResourceRef, *, namespace: str | None = None,
                       label_selector: Selector = None, field_selector: Selector = None,
                       page_size: int = 500, resource_version: str | None = None) -> Obj:
        """The whole LIST, fetched in pages of `page_size`, as one `<Kind>List` whose
        resourceVersion is the snapshot's (the first page's)."""
        merged: Obj | None = None
        async for page in self.list_pages(
                resource, namespace=namespace, label_selector=label_selector,
                field_selector=field_selector, page_size=page_size,
                resource_version=resource_version):
            if merged is None:
                merged = page
                merged["items"] = list(page.get("items") or [])
            else:
                merged["items"].extend(page.get("items") or [])
        assert merged is not None
        merged.setdefault("metadata", {}).pop("continue", None)
        return merged

    def watch(self, resource: ResourceRef, *, namespace: str | None = None,
              name: str | None = None, label_selector: Selector = None,
              field_selector: Selector = None, resource_version: str | None = None,
              allow_bookmarks: bool = False, timeout_seconds: int | None = None) -> WatchStream:
        """A WATCH as an async iterator of `WatchEvent(type, object)` (see `WatchStream`).

        `resource_version`: None = now, with the current objects as ADDED first;
        "0" = any point; a list's resourceVersion = continue from that list.
        `name` watches one object (a `metadata.name` field selector).
        """
        fields = selector_text(field_selector)
        if name:
            fields = ",".join(filter(None, [f"metadata.name={name}", fields]))

        async def open_() -> HttpResponse:
            info = await self.resolve(resource)
            path = resource_path(info, namespace=namespace or "")
            params = self._list_params(
                label_selector=label_selector, field_selector=fields, limit=None,
                continue_token=None, resource_version=resource_version,
                resource_version_match=None, timeout_seconds=timeout_seconds)
            params["watch"] = "true"
            if allow_bookmarks:
                params["allowWatchBookmarks"] = "true"
            total = timeout_seconds + WATCH_GRACE_SECONDS if timeout_seconds else None
            return await self._send("GET", path, params=params, stream=True, timeout=total)

        return WatchStream(open_)

    # --- writes --------------------------------------------------------------------------

    async def create(self, resource: ResourceRef, obj: Obj, *, namespace: str | None = None,
                     name: str | None = None, subresource: str = "",
                     field_manager: str | None = None, dry_run: bool = False,
                     field_validation: str | None = None) -> Obj:
        """POST a new object; with `subresource` (binding, eviction, token), POST that
        body to the subresource of the object `name`."""
        info = await self.resolve(resource)
        ns = self._object_namespace(info, namespace, None if subresource else obj)
        body = obj
        if not subresource and (not obj.get("apiVersion") or not obj.get("kind")):
            body = {**obj, "apiVersion": info.api_version, "kind": info.kind}
        path = resource_path(info, namespace=ns, name=(name or "") if subresource else "",
                             subresource=subresource)
        params = self._write_params(field_manager=field_manager, dry_run=dry_run,
                                    field_validation=field_validation)
        return await self._json("POST", path, params=params, body=body)

    async def update(self, resource: ResourceRef, obj: Obj, *, namespace: str | None = None,
                     subresource: str = "", field_manager: str | None = None,
                     dry_run: bool = False, field_validation: str | None = None) -> Obj:
        """PUT the object (named by its metadata.name); its `metadata.resourceVersion`,
        if set, makes this a compare-and-swap (409 Conflict when stale)."""
        info = await self.resolve(resource)
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            raise ValueError("update needs metadata.name")
        path = resource_path(info, namespace=self._object_namespace(info, namespace, obj),
                             name=name, subresource=subresource)
        params = self._write_params(field_manager=field_manager, dry_run=dry_run,
                                    field_validation=field_validation)
        return await self._json("PUT", path, params=params, body=obj)

    async def patch(self, resource: ResourceRef, name: str, patch: Any, *,
                    namespace: str | None = None, patch_type: str = "merge",
                    subresource: str = "", field_manager: str | None = None,
                    force: bool | None = None, dry_run: bool = False,
                    field_validation: str | None = None) -> Obj:
        """PATCH: `patch_type` is "merge" (RFC 7386), "strategic", "json" (RFC 6902, a
        list of operations) or "apply" (server-side apply: needs `field_manager`)."""
        if patch_type not in PATCH_TYPES:
            raise ValueError(f"patch_type must be one of {sorted(PATCH_TYPES)}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        info = await self.resolve(resource)
        path = resource_path(info, namespace=self._object_namespace(info, namespace, None),
                             name=name, subresource=subresource)
        params = self._write_params(field_manager=field_manager, dry_run=dry_run,
                                    field_validation=field_validation)
        if force is not None:
            params["force"] = "true" if force else "false"
        return await self._json("PATCH", path, params=params, body=patch,
                                content_type=PATCH_TYPES[patch_type])

    async def apply(self, resource: ResourceRef, obj: Obj, *, field_manager: str,
                    namespace: str | None = None, force: bool = False, subresource: str = "",
                    dry_run: bool = False) -> Obj:
        """Server-side apply of `obj` (its metadata.name) as `field_manager`."""
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            raise ValueError("apply needs metadata.name")
        info = await self.resolve(resource)
        body = obj
        if not subresource and (not obj.get("apiVersion") or not obj.get("kind")):
            body = {**obj, "apiVersion": info.api_version, "kind": info.kind}
        return await self.patch(info, name, body,
                                namespace=self._object_namespace(info, namespace, obj),
                                patch_type="apply", subresource=subresource,
                                field_manager=field_manager, force=force, dry_run=dry_run)

    @staticmethod
    def _delete_body(*, propagation_policy: str | None, grace_period_seconds: int | None,
                     preconditions: Mapping[str, str] | None, dry_run: bool) -> Obj | None:
        body: Obj = {}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            body["preconditions"] = dict(preconditions)
        if dry_run:
            body["dryRun"] = ["All"]
        if not body:
            return None
        return {"kind": "DeleteOptions", "apiVersion": "v1", **body}

    async def delete(self, resource: ResourceRef, name: str, *, namespace: str | None = None,
                     propagation_policy: str | None = None,
                     grace_period_seconds: int | None = None,
                     preconditions: Mapping[str, str] | None = None,
                     dry_run: bool = False) -> Obj:
        """DELETE one object. Returns the object (still there: finalizers, graceful
        deletion) or a Status. `preconditions`: {"uid": ..., "resourceVersion": ...}."""
        info = await self.resolve(resource)
        path = resource_path(info, namespace=self._object_namespace(info, namespace, None),
                             name=name)
        body = self._delete_body(propagation_policy=propagation_policy,
                                 grace_period_seconds=grace_period_seconds,
                                 preconditions=preconditions, dry_run=dry_run)
        return await self._json("DELETE", path, body=body)

    async def delete_collection(self, resource: ResourceRef, *, namespace: str | None = None,
                                label_selector: Selector = None,
                                field_selector: Selector = None,
                                propagation_policy: str | None = None,
                                grace_period_seconds: int | None = None,
                                dry_run: bool = False) -> Obj:
        """DELETE every matching object (deletecollection)."""
        info = await self.resolve(resource)
        path = resource_path(info, namespace=namespace or "")
        params = self._list_params(
            label_selector=label_selector, field_selector=field_selector, limit=None,
            continue_token=None, resource_version=None, resource_version_match=None,
            timeout_seconds=None)
        body = self._delete_body(propagation_policy=propagation_policy,
                                 grace_period_seconds=grace_period_seconds, preconditions=None,
                                 dry_run=dry_run)
        return await self._json("DELETE", path, params=params, body=body)

    # --- conveniences for subresources that components use all the time ------------------

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None
                   ) -> Obj:
        """POST pods/<pod>/binding: assign the pod to `node` (what the scheduler does).
        `uid` guards against binding a re-created pod of the same name."""
        meta: Obj = {"name": pod, "namespace": namespace}
        if uid:
            meta["uid"] = uid
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        return await self.create(_PODS, body, namespace=namespace, name=pod,
                                 subresource="binding")

    async def evict(self, namespace: str, pod: str, *,
                    delete_options: Mapping[str, Any] | None = None) -> Obj:
        """POST pods/<pod>/eviction (policy/v1). 429 TooManyRequests: a
        PodDisruptionBudget forbids it now; try again later."""
        body: Obj = {"apiVersion": "policy/v1", "kind": "Eviction",
                     "metadata": {"name": pod, "namespace": namespace}}
        if delete_options:
            body["deleteOptions"] = dict(delete_options)
        path = resource_path(_PODS, namespace=namespace, name=pod, subresource="eviction")
        # No retries on 429 here: it is the answer (a budget says no), not overload.
        return await self._json("POST", path, body=body, retry_too_many=False)


def _pods() -> ResourceInfo:
    from kybernetes.client._discovery import builtin_resource

    return builtin_resource("v1", "pods")


_PODS = _pods()
