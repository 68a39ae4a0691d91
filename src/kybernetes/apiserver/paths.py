"""Request path parsing: what a URL and method ask for (upstream's `RequestInfo`).

Pure: a path, a method and the query go in, a `RequestInfo` comes out. Rules as
upstream's `request.RequestInfoFactory`:

- `/api/v1/...` is the core group, `/apis/<group>/<version>/...` the others;
  anything else is a non-resource request (discovery, /version, /healthz, ...).
- An optional legacy `watch/` segment after the version turns the request into
  a watch; so does `?watch=true` on a GET of a collection.
- `namespaces/<ns>/<resource>/...` scopes to a namespace, except the namespace's
  own subresources (`namespaces/<ns>/status`, `.../finalize`).
- Verb by method: GET -> get / list / watch, POST -> create, PUT -> update,
  PATCH -> patch, DELETE -> delete / deletecollection.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_TRUE = frozenset({"true", "1"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The parsed request. For non-resource requests only `path` and `verb` matter."""

    path: str
    verb: str
    resource_request: bool = False
    api_prefix: str = ""
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    # Segments after the subresource (e.g. pods/x/proxy/some/path).
    rest: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def parse(path: str, method: str, query: Mapping[str, str]) -> RequestInfo:
    """Parse one request; never raises (unknown shapes become non-resource requests)."""
    return _parse(path, method.upper(), query.get("watch", "").lower() in _TRUE)


@functools.lru_cache(maxsize=8192)
def _parse(path: str, method: str, watch: bool) -> RequestInfo:
    query = {"watch": "true"} if watch else {}
    parts = [p for p in path.strip("/").split("/") if p] if path != "/" else []
    plain = RequestInfo(path=path, verb=method.lower())
    if not parts or parts[0] not in ("api", "apis"):
        return plain
    prefix = parts[0]
    if prefix == "api":
        if len(parts) < 3:  # /api, /api/v1 are discovery
            return plain
        group, version, parts = "", parts[1], parts[2:]
    else:
        if len(parts) < 4:  # /apis, /apis/g, /apis/g/v are discovery
            return plain
        group, version, parts = parts[1], parts[2], parts[3:]

    verb = ""
    if parts[0] == "watch":
        verb, parts = "watch", parts[1:]
        if not parts:
            return plain
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    rest = tuple(parts[3:])

    if not verb:
        verb = _verb(method, bool(name), query)
    elif name:
        # /watch/namespaces/ns/pods/x watches one object: upstream keeps the name
        # and the watch verb.
        pass
    return RequestInfo(
        path=path, verb=verb, resource_request=True, api_prefix=prefix, group=group,
        version=version, namespace=namespace, resource=resource, name=name,
        subresource=subresource, rest=rest,
    )


def _verb(method: str, has_name: bool, query: Mapping[str, str]) -> str:
    if method in ("GET", "HEAD"):
        if query.get("watch", "").lower() in _TRUE:
            return "watch"
        return "get" if has_name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    return method.lower()
