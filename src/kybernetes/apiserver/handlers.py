"""HTTP handlers for resource requests: query parameters in, Status or object out.

Turns a parsed `RequestInfo` plus the aiohttp request into calls on
`RestStorage`, and shapes the answers: lists encoded by splicing the cached
objects' JSON, Table and PartialObjectMetadata views, watch streams (one JSON
event per line, flushed per batch, `ERROR` 410 inside a 200 stream, bookmarks,
`timeoutSeconds`), and `Warning` headers.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from kybernetes.api import selectors, tables
from kybernetes.api.errors import StatusError, bad_request, expired, method_not_allowed
from kybernetes.api.managedfields import manager_from_user_agent
from kybernetes.api.registry import Registry, ResourceInfo
from kybernetes.apiserver import codec
from kybernetes.apiserver.apply import patch_options, server_side_apply
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.eviction import evict
from kybernetes.apiserver.paths import RequestInfo
from kybernetes.apiserver.rest import RestStorage, WriteOptions, parse_rv
from kybernetes.apiserver.reviews import Reviews
from kybernetes.apiserver.serviceaccounts import TokenIssuer
from kybernetes.apiserver.watchcache import (
    BOOKMARK,
    ERROR,
    CachedObject,
    Filter,
    TooLargeResourceVersion,
    WatchEvent,
)

Obj = dict[str, Any]

BOOKMARK_INTERVAL_SECONDS = 60.0
DISCONNECT_CHECK_SECONDS = 5.0
DEFAULT_WATCH_SECONDS = 1800


def json_response(obj: Any, status: int = 200, *, warnings: list[str] | None = None
                  ) -> web.Response:
    return raw_response(orjson.dumps(obj), status, warnings=warnings)


def raw_response(body: bytes, status: int = 200, *, warnings: list[str] | None = None
                 ) -> web.Response:
    resp = web.Response(body=body, status=status, content_type="application/json")
    for w in warnings or ():
        resp.headers.add("Warning", '299 - "' + w.replace('"', '\\"') + '"')
    return resp


def _bool(q: Mapping[str, str], name: str) -> bool:
    return q.get(name, "").lower() in ("true", "1")


def _int(q: Mapping[str, str], name: str, default: int = 0) -> int:
    v = q.get(name, "")
    if v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise bad_request(f'{name}: Invalid value: "{v}": must be an integer') from None
    if n < 0:
        raise bad_request(f"{name}: Invalid value: {n}: must be greater than or equal to 0")
    return n


class ResourceHandlers:
    """Serve resource requests for every resource in `registry`."""

    def __init__(self, registry: Registry, rest: RestStorage, reviews: Reviews) -> None:
        self.registry = registry
        self.rest = rest
        self.reviews = reviews
        # Set by the server once the PKI is loaded (serviceaccounts/NAME/token).
        self.token_issuer: TokenIssuer | None = None

    def resolve(self, ri: RequestInfo) -> ResourceInfo:
        info = self.registry.get(ri.group, ri.version, ri.resource)
        if info is None:
            raise not_found_path()
        if ri.subresource and info.subresource(ri.subresource) is None:
            raise not_found_path()
        if not info.namespaced and ri.namespace and ri.resource != "namespaces":
            raise not_found_path()
        return info

    async def handle(self, request: web.Request, ri: RequestInfo, user: UserInfo
                     ) -> web.StreamResponse:
        info = self.resolve(ri)
        if info.virtual:
            return await self.reviews.handle(request, ri, info, user)
        verb = ri.verb
        if ri.subresource:
            return await self._subresource(request, ri, info, user)
        allowed = info.verbs
        if verb not in allowed:
            raise method_not_allowed(_not_allowed_message(verb, info))
        if verb == "get":
            return await self.get(request, ri, info)
        if verb == "list":
            return await self.list(request, ri, info)
        if verb == "watch":
            return await self.watch(request, ri, info)
        if verb == "create":
            if info.namespaced and not ri.namespace:
                raise method_not_allowed(_not_allowed_message(verb, info))
            return await self.create(request, ri, info, user)
        if verb == "update":
            return await self.update(request, ri, info, user)
        if verb == "patch":
            return await self.patch(request, ri, info, user)
        if verb == "delete":
            return await self.delete(request, ri, info, user)
        if verb == "deletecollection":
            return await self.delete_collection(request, ri, info, user)
        raise method_not_allowed(_not_allowed_message(verb, info))

    # --- reads ---------------------------------------------------------------------------

    async def get(self, request: web.Request, ri: RequestInfo, info: ResourceInfo
                  ) -> web.StreamResponse:
        accept = codec.negotiate(request.headers.get("Accept"), request.query.get(
            "includeObject", ""))
        obj = await self.rest.get(info, ri.namespace, ri.name,
                                  request.query.get("resourceVersion", ""))
        if accept.table:
            return json_response(tables.table(info, [obj], now=datetime.now(UTC),
                                              include_object=accept.include_object,
                                              resource_version=_meta(obj, "resourceVersion")))
        if accept.metadata_only:
            return json_response(_partial(obj))
        return json_response(obj)

    def filter_for(self, q: Mapping[str, str], ri: RequestInfo, info: ResourceInfo) -> Filter:
        flt = Filter(namespace=ri.namespace if info.namespaced else "")
        text = q.get("labelSelector", "")
        if text:
            sel = selectors.parse_label_selector(text)
            if not sel.empty:
                flt.labels = sel
        text = q.get("fieldSelector", "")
        if text:
            fsel = selectors.parse_field_selector(text)
            fsel = selectors.convert_field_selector(info.group, info.kind, fsel)
            selectors.check_field_selector(info.group, info.kind, fsel)
            if not fsel.empty:
                name = fsel.requires_exact_match("metadata.name")
                ns = fsel.requires_exact_match("metadata.namespace")
                if name is not None:
                    flt.name = name
                if ns is not None and info.namespaced:
                    if flt.namespace and flt.namespace != ns:
                        flt.name = "\x00"  # contradictory: matches nothing
                    flt.namespace = ns
                flt.fields = fsel
        if ri.verb == "watch" and ri.name:
            flt.name = ri.name
        return flt

    def _converter(self, info: ResourceInfo) -> Callable[[Obj], Obj] | None:
        """For a version served over another version's storage: stored -> served."""
        if self.rest.storage_version(info) == info.group_version:
            return None
        return lambda obj: self.rest.served(info, obj)

    async def list(self, request: web.Request, ri: RequestInfo, info: ResourceInfo
                   ) -> web.StreamResponse:
        q = request.query
        accept = codec.negotiate(request.headers.get("Accept"), q.get("includeObject", ""))
        flt = self.filter_for(q, ri, info)
        page = await self.rest.list(info, flt, rv=q.get("resourceVersion", ""),
                                    rv_match=q.get("resourceVersionMatch", ""),
                                    limit=_int(q, "limit"), continue_token=q.get("continue", ""))
        rv = str(page.revision)
        conv = self._converter(info)
        objs = [o.obj for o in page.items] if conv is None else [
            conv(o.obj) for o in page.items]
        if accept.table:
            table = tables.table(info, objs, now=datetime.now(UTC),
                                 include_object=accept.include_object, resource_version=rv,
                                 continue_token=page.continue_token)
            return json_response(table)
        meta: Obj = {"resourceVersion": rv}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if accept.metadata_only:
            return json_response({"kind": "PartialObjectMetadataList",
                                  "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                                  "items": [_partial(o) for o in objs]})
        head = orjson.dumps({"kind": info.list_kind, "apiVersion": info.group_version,
                             "metadata": meta})
        raws = [o.raw for o in page.items] if conv is None else [orjson.dumps(o) for o in objs]
        body = head[:-1] + b',"items":[' + b",".join(raws) + b"]}"
        return raw_response(body)

    async def watch(self, request: web.Request, ri: RequestInfo, info: ResourceInfo
                    ) -> web.StreamResponse:
        q = request.query
        accept = codec.negotiate(request.headers.get("Accept"), q.get("includeObject", ""))
        flt = self.filter_for(q, ri, info)
        rv = q.get("resourceVersion", "")
        bookmarks = _bool(q, "allowWatchBookmarks")
        timeout_s = _int(q, "timeoutSeconds", 0) or int(
            DEFAULT_WATCH_SECONDS * (1 + random.random()))
        cache = self.rest.cache
        rc = cache.cache_for(info.key_prefix())
        error: StatusError | None = None
        watcher = None
        if rv in ("", "0"):
            if rv == "":
                await _sync(cache)
            watcher = rc.watch_with_state(flt, cache.max_pending)
        else:
            revision = parse_rv(rv)
            try:
                await cache.wait_for(revision)
            except TooLargeResourceVersion as exc:
                error = StatusError(504, "Timeout", str(exc))
            if error is None:
                if revision < rc.floor:
                    error = expired(f"too old resource version: {revision} ({rc.floor})")
                else:
                    watcher = rc.watch_from(flt, revision, cache.max_pending)

        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        if watcher is None:
            assert error is not None
            await resp.write(orjson.dumps({"type": ERROR, "object": error.to_status()}) + b"\n")
            return resp
        deadline = time.monotonic() + timeout_s
        conv = self._converter(info)
        encoder = _TableEncoder(info, accept.include_object, conv) if accept.table else None
        last_bookmark = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                remaining = deadline - now
                if remaining <= 0:
                    break
                # Wake at least every few seconds to notice a client that went away
                # (aiohttp does not cancel handlers on disconnect).
                wait = min(remaining, BOOKMARK_INTERVAL_SECONDS if bookmarks else remaining,
                           DISCONNECT_CHECK_SECONDS)
                batch = await watcher.next_batch(wait)
                if batch:
                    if encoder is not None:
                        data = b"".join(encoder.line(t, ev) for t, ev in batch)
                    elif accept.metadata_only:
                        data = b"".join(_partial_line(t, ev) for t, ev in batch)
                    elif conv is not None:
                        data = b"".join(orjson.dumps({"type": t, "object": conv(
                            ev.object_for(t).obj)}) + b"\n" for t, ev in batch)
                    else:
                        data = b"".join(ev.line(t) for t, ev in batch)
                    await resp.write(data)
                    continue
                if watcher.closed:
                    break
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                if bookmarks and time.monotonic() - last_bookmark >= BOOKMARK_INTERVAL_SECONDS:
                    last_bookmark = time.monotonic()
                    await resp.write(_bookmark(info, cache.revision))
        except ConnectionResetError:
            # The client went away (kubectl get -w interrupted): the normal end of a
            # watch, not an error to log (aiohttp's ClientConnectionResetError is one).
            pass
        finally:
            watcher.close()
        return resp

    # --- writes ------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > codec.MAX_BODY_BYTES:
            raise _too_large()
        # StreamReader.read(n) returns what has arrived so far (at most n): read to EOF.
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(codec.MAX_BODY_BYTES + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > codec.MAX_BODY_BYTES:
                raise _too_large()
        return b"".join(chunks)

    def write_options(self, request: web.Request, user: UserInfo) -> WriteOptions:
        q = request.query
        dry = q.getall("dryRun", []) if hasattr(q, "getall") else []
        for d in dry:
            if d != "All":
                raise bad_request(f'dryRun: Unsupported value: "{d}": supported values: "All"')
        fv = q.get("fieldValidation", "") or "Warn"
        if fv not in ("Ignore", "Warn", "Strict"):
            raise bad_request(f"fieldValidation: Unsupported value: \"{fv}\": supported values: "
                              '"Ignore", "Strict", "Warn"')
        # No fieldManager: the User-Agent's first word names the manager (upstream
        # managerOrUserAgent).
        manager = q.get("fieldManager", "") or manager_from_user_agent(
            request.headers.get("User-Agent", ""))
        return WriteOptions(user=user, dry_run=bool(dry), field_validation=fv,
                            field_manager=manager)

    async def create(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                     user: UserInfo) -> web.StreamResponse:
        opts = self.write_options(request, user)
        body = await self._body(request)
        obj = codec.decode_body(body, codec.request_content_type(request.headers))
        self.rest.check_body(info, obj, body, opts)
        out = await self.rest.create(info, ri.namespace, obj, opts)
        return json_response(out, 201, warnings=opts.warnings)

    async def update(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                     user: UserInfo, subresource: str = "") -> web.StreamResponse:
        opts = self.write_options(request, user)
        body = await self._body(request)
        obj = codec.decode_body(body, codec.request_content_type(request.headers))
        self.rest.check_body(info, obj, body, opts)
        out, created = await self.rest.update(info, ri.namespace, ri.name, obj, opts,
                                              subresource)
        return json_response(out, 201 if created else 200, warnings=opts.warnings)

    async def patch(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                    user: UserInfo, subresource: str = "") -> web.StreamResponse:
        opts = self.write_options(request, user)
        ptype = codec.media_type(request.headers.get("Content-Type"))
        if ptype not in codec.PATCH_TYPES:
            raise codec.unsupported_media_type(ptype)
        body = await self._body(request)
        if ptype == codec.APPLY_PATCH:
            out, created = await server_side_apply(self.rest, info, ri.namespace, ri.name, body,
                                                   request.query, opts, subresource)
            return json_response(out, 201 if created else 200, warnings=opts.warnings)
        patch_options(request.query, ptype)
        out = await self.rest.patch(info, ri.namespace, ri.name, ptype, body, opts, subresource)
        return json_response(out, warnings=opts.warnings)

    async def delete(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                     user: UserInfo) -> web.StreamResponse:
        opts = self.write_options(request, user)
        options = await self._delete_options(request)
        obj, deleted = await self.rest.delete(info, ri.namespace, ri.name, options, opts)
        if deleted and (info.group, info.kind) not in _RETURNS_OBJECT:
            meta = obj.get("metadata") or {}
            details = {"name": ri.name, "kind": info.plural, "uid": meta.get("uid", "")}
            if info.group:
                details["group"] = info.group
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "details": details})
        return json_response(obj)

    async def _delete_options(self, request: web.Request) -> Obj:
        body = await self._body(request)
        options: Obj = {}
        if body.strip():
            options = codec.decode_body(body, codec.request_content_type(request.headers))
        q = request.query
        if "gracePeriodSeconds" in q:
            try:
                options["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
            except ValueError:
                raise bad_request("gracePeriodSeconds must be an integer") from None
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise bad_request(f'propagationPolicy: Unsupported value: "{policy}": supported '
                              'values: "Foreground", "Background", "Orphan"')
        return options

    async def delete_collection(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                                user: UserInfo) -> web.StreamResponse:
        opts = self.write_options(request, user)
        options = await self._delete_options(request)
        flt = self.filter_for(request.query, ri, info)
        items = await self.rest.delete_collection(info, flt, options, opts)
        return json_response({"kind": info.list_kind, "apiVersion": info.group_version,
                              "metadata": {}, "items": items})

    # --- subresources -------------------------------------------------------------------

    async def _subresource(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                           user: UserInfo) -> web.StreamResponse:
        sub = ri.subresource
        verb = ri.verb
        sr = info.subresource(sub)
        assert sr is not None
        if verb not in sr.verbs:
            raise method_not_allowed(_not_allowed_message(verb, info, sub))
        if sub == "status":
            if verb == "get":
                return await self.get(request, ri, info)
            if verb == "update":
                return await self.update(request, ri, info, user, "status")
            return await self.patch(request, ri, info, user, "status")
        if sub == "finalize" and verb == "update":
            return await self.update(request, ri, info, user, "finalize")
        if sub == "scale":
            return await self._scale(request, ri, info, user)
        if sub == "token" and verb == "create":
            return await self._token(request, ri, info)
        if sub == "binding" and verb == "create":
            return await self.reviews.bind(request, ri, user, self)
        if sub == "eviction" and verb == "create":
            opts = self.write_options(request, user)
            body = await self._body(request)
            eviction = codec.decode_body(body, codec.request_content_type(request.headers))
            await evict(self.rest, self.registry, ri.namespace, ri.name, eviction, opts)
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "code": 201}, 201)
        raise not_found_path()

    async def _token(self, request: web.Request, ri: RequestInfo, info: ResourceInfo
                     ) -> web.StreamResponse:
        if self.token_issuer is None:
            raise not_found_path()
        body = await self._body(request)
        req = codec.decode_body(body, codec.request_content_type(request.headers)
                                ) if body.strip() else {}
        if req.get("kind") not in (None, "", "TokenRequest"):
            raise bad_request(f'{req.get("kind")} in version "v1" cannot be handled as a '
                              "TokenRequest")
        req["apiVersion"], req["kind"] = "authentication.k8s.io/v1", "TokenRequest"
        sa = await self.rest.get(info, ri.namespace, ri.name)
        return json_response(self.token_issuer.issue(req, namespace=ri.namespace, sa=sa), 201)

    async def _scale(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                     user: UserInfo) -> web.StreamResponse:
        if ri.verb == "get":
            return json_response(await self.rest.get_scale(info, ri.namespace, ri.name))
        opts = self.write_options(request, user)
        body = await self._body(request)
        if ri.verb == "update":
            scale = codec.decode_body(body, codec.request_content_type(request.headers))
            out = await self.rest.update_scale(info, ri.namespace, ri.name, scale, None, opts)
        else:
            ptype = codec.media_type(request.headers.get("Content-Type"))
            if ptype not in (codec.JSON_PATCH, codec.MERGE_PATCH, codec.STRATEGIC_PATCH):
                raise codec.unsupported_media_type(ptype)
            out = await self.rest.update_scale(info, ri.namespace, ri.name, None,
                                               (ptype, body), opts)
        return json_response(out)


_RETURNS_OBJECT = frozenset({("", "Pod"), ("", "Namespace"), ("", "Service")})


def not_found_path() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource")


def _not_allowed_message(verb: str, info: ResourceInfo, sub: str = "") -> str:
    return "the server does not allow this method on the requested resource"


def _too_large() -> StatusError:
    return StatusError(413, "RequestEntityTooLarge",
                       "Request entity too large: limit is 3145728")


def _meta(obj: Obj, key: str) -> str:
    return str((obj.get("metadata") or {}).get(key) or "")


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def _partial_line(type_: str, ev: WatchEvent) -> bytes:
    return orjson.dumps({"type": type_, "object": _partial(ev.object_for(type_).obj)}) + b"\n"


def _bookmark(info: ResourceInfo, revision: int) -> bytes:
    return orjson.dumps({"type": BOOKMARK, "object": {
        "kind": info.kind, "apiVersion": info.group_version,
        "metadata": {"resourceVersion": str(revision)}}}) + b"\n"


async def _sync(cache: Any) -> None:
    try:
        await cache.sync()
    except TooLargeResourceVersion:
        raise StatusError(504, "Timeout", "the watch cache did not catch up with storage; "
                          "retry the request") from None


class _TableEncoder:
    """Watch events as one-row Tables; only the first carries the column definitions."""

    def __init__(self, info: ResourceInfo, include_object: str,
                 conv: Callable[[Obj], Obj] | None = None) -> None:
        self.info = info
        self.conv = conv
        self.include_object = include_object
        self.first = True

    def line(self, type_: str, ev: WatchEvent) -> bytes:
        o: CachedObject = ev.object_for(type_)
        obj = o.obj if self.conv is None else self.conv(o.obj)
        table = tables.table(self.info, [obj], now=datetime.now(UTC),
                             include_object=self.include_object,
                             resource_version=str(o.revision), with_headers=self.first)
        self.first = False
        return orjson.dumps({"type": type_, "object": table}) + b"\n"
