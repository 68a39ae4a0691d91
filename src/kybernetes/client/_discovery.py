"""From "which resource" to a URL: resource references, discovery and its cache, paths.

A `ResourceRef` names a resource in one of two ways:

- a `ResourceInfo` (e.g. from `builtin_resource("v1", "Pod")`): used as is,
  no discovery request; right for built-in kinds, whose shape is fixed;
- `(api_version, kind_or_plural)`, e.g. `("apps/v1", "Deployment")` or
  `("apps/v1", "deployments")`: resolved through discovery of that group
  version (`GET /api/v1` or `GET /apis/<group>/<version>`, the legacy
  `APIResourceList`, which every server serves). Kinds match exactly; plural,
  singular and short names case-insensitively.

Each group version is fetched once and cached. A miss refetches it (a CRD may
have been created since), at most once per `miss_refresh_seconds`; a group
version the server does not serve raises `NoMatchError`.

Whole-cluster questions (which groups, versions and resources exist: what the
namespace deleter and the garbage collector walk) go through `groups()` and
`preferred_resources()`: `GET /api` and `GET /apis` asking for aggregated
discovery (apidiscovery.k8s.io/v2, KEP 3352), which answers everything in those
two requests and fills the per-group-version cache too; from a server without
it, the legacy `APIVersions`/`APIGroupList` and one request per group version.
Group versions marked `freshness: Stale` are left out, as client-go does.
`invalidate()` forgets everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

from kybernetes.api.registry import Registry, ResourceInfo, Subresource
from kybernetes.client._errors import NoMatchError

ResourceRef = ResourceInfo | tuple[str, str]

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


def split_api_version(api_version: str) -> tuple[str, str]:
    """"apps/v1" -> ("apps", "v1"); "v1" -> ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


@cache
def _builtin_registry() -> Registry:
    return Registry.builtin()


def builtin_resource(api_version: str, kind_or_plural: str) -> ResourceInfo:
    """The built-in `ResourceInfo` for a kind or plural, without asking any server.

    Raises `NoMatchError` for kinds the built-in registry does not have (CRDs).
    """
    group, version = split_api_version(api_version)
    reg = _builtin_registry()
    info = reg.by_kind(group, version, kind_or_plural) or reg.get(group, version,
                                                                  kind_or_plural.lower())
    if info is None:
        raise NoMatchError(f'no built-in resource for "{kind_or_plural}" in version '
                           f'"{api_version}"')
    return info


def resource_path(info: ResourceInfo, *, namespace: str = "", name: str = "",
                  subresource: str = "") -> str:
    """The URL path: /api/v1/namespaces/ns/pods/name/status and the like."""
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    parts = [base]
    if info.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(info.plural)
    if name:
        parts.append(quote(name, safe=""))
    elif subresource:
        raise ValueError(f"subresource {subresource!r} needs the name of its object")
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def parse_resource_list(doc: dict[str, Any], group: str, version: str) -> list[ResourceInfo]:
    """`APIResourceList` -> one `ResourceInfo` per resource, subresources attached."""
    entries = [e for e in doc.get("resources") or () if isinstance(e, dict)]
    subs: dict[str, list[Subresource]] = {}
    for e in entries:
        name = str(e.get("name") or "")
        if "/" in name:
            parent, sub = name.split("/", 1)
            subs.setdefault(parent, []).append(Subresource(
                sub, str(e.get("kind") or ""), tuple(e.get("verbs") or ()),
                str(e.get("group") or ""), str(e.get("version") or "")))
    out = []
    for e in entries:
        name = str(e.get("name") or "")
        if not name or "/" in name:
            continue
        out.append(ResourceInfo(
            group, version, str(e.get("kind") or ""), name, bool(e.get("namespaced")),
            verbs=tuple(e.get("verbs") or ()), short_names=tuple(e.get("shortNames") or ()),
            categories=tuple(e.get("categories") or ()),
            subresources=tuple(subs.get(name, ()))))
    return out


def _aggregated_resource(group: str, version: str, e: dict[str, Any]) -> ResourceInfo:
    subs = []
    for sub in e.get("subresources") or ():
        kind = sub.get("responseKind") or {}
        subs.append(Subresource(str(sub.get("subresource") or ""), str(kind.get("kind") or ""),
                                tuple(sub.get("verbs") or ()), str(kind.get("group") or ""),
                                str(kind.get("version") or "")))
    return ResourceInfo(
        group, version, str((e.get("responseKind") or {}).get("kind") or ""),
        str(e.get("resource") or ""), e.get("scope") == "Namespaced",
        verbs=tuple(e.get("verbs") or ()), short_names=tuple(e.get("shortNames") or ()),
        categories=tuple(e.get("categories") or ()), subresources=tuple(subs))


Groups = list[tuple[str, list[str]]]


def parse_aggregated(doc: dict[str, Any]
                     ) -> tuple[Groups, dict[tuple[str, str], list[ResourceInfo]]]:
    """`APIGroupDiscoveryList` -> ([(group, versions preferred first)], resources by GV).
    Stale group versions are left out."""
    groups: list[tuple[str, list[str]]] = []
    resources: dict[tuple[str, str], list[ResourceInfo]] = {}
    for item in doc.get("items") or ():
        group = str((item.get("metadata") or {}).get("name") or "")
        versions = []
        for v in item.get("versions") or ():
            version = str(v.get("version") or "")
            if not version or v.get("freshness") == "Stale":
                continue
            versions.append(version)
            resources[(group, version)] = [
                _aggregated_resource(group, version, e) for e in v.get("resources") or ()]
        if versions:
            groups.append((group, versions))
    return groups, resources


def parse_legacy_groups(api: dict[str, Any] | None, apis: dict[str, Any] | None
                        ) -> list[tuple[str, list[str]]]:
    """`APIVersions` (/api) and `APIGroupList` (/apis) -> [(group, versions preferred first)]."""
    groups: list[tuple[str, list[str]]] = []
    if api and api.get("versions"):
        groups.append(("", [str(v) for v in api["versions"]]))
    for g in (apis or {}).get("groups") or ():
        versions = [str(v.get("version")) for v in g.get("versions") or () if v.get("version")]
        preferred = (g.get("preferredVersion") or {}).get("version")
        if preferred in versions:
            versions.remove(preferred)
            versions.insert(0, preferred)
        if versions:
            groups.append((str(g.get("name") or ""), versions))
    return groups


def match_resource(infos: list[ResourceInfo], name: str) -> ResourceInfo | None:
    for info in infos:
        if info.kind == name:
            return info
    lower = name.lower()
    for info in infos:
        if lower in (info.plural, info.singular) or lower in info.short_names:
            return info
    return None


@dataclass
class _Entry:
    infos: list[ResourceInfo]
    fetched_at: float


Fetch = Callable[[str, str], Awaitable[tuple[str, dict[str, Any] | None]]]


class Discovery:
    """Resolves `ResourceRef`s and answers what the server serves (see the module doc).

    `fetch(path, accept)` returns (the answer's Content-Type, the decoded
    document), the document being None when the server does not serve the path
    (404). `now()` is monotonic seconds.
    """

    def __init__(self, fetch: Fetch, now: Callable[[], float], *,
                 miss_refresh_seconds: float = 1.0) -> None:
        self._fetch = fetch
        self._now = now
        self._cache: dict[tuple[str, str], _Entry] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[_Entry]] = {}
        self._groups: list[tuple[str, list[str]]] | None = None
        self._groups_lock = asyncio.Lock()
        self.miss_refresh_seconds = miss_refresh_seconds

    async def resolve(self, ref: ResourceRef) -> ResourceInfo:
        if isinstance(ref, ResourceInfo):
            return ref
        api_version, name = ref
        group, version = split_api_version(api_version)
        entry = self._cache.get((group, version)) or await self._load(group, version)
        info = match_resource(entry.infos, name)
        if info is None and self._now() - entry.fetched_at >= self.miss_refresh_seconds:
            entry = await self._load(group, version)
            info = match_resource(entry.infos, name)
        if info is None:
            raise NoMatchError(f'no matches for kind "{name}" in version "{api_version}"')
        return info

    async def resources(self, api_version: str) -> list[ResourceInfo]:
        """Every resource of one group version (cached)."""
        group, version = split_api_version(api_version)
        entry = self._cache.get((group, version)) or await self._load(group, version)
        return list(entry.infos)

    def invalidate(self) -> None:
        self._cache.clear()
        self._groups = None

    async def groups(self) -> list[tuple[str, list[str]]]:
        """Every served group with its versions, preferred version first ("" = core)."""
        async with self._groups_lock:
            if self._groups is None:
                self._groups = await self._load_groups()
            return list(self._groups)

    async def preferred_resources(self) -> list[ResourceInfo]:
        """Every resource in its group's preferred version (client-go's
        ServerPreferredResources), subresources attached to their resource."""
        out: list[ResourceInfo] = []
        for group, versions in await self.groups():
            out.extend(await self.resources(f"{group}/{versions[0]}" if group else versions[0]))
        return out

    async def _load_groups(self) -> list[tuple[str, list[str]]]:
        docs = []
        aggregated = True
        for path in ("/api", "/apis"):
            content_type, doc = await self._fetch(path, AGGREGATED_ACCEPT)
            docs.append(doc)
            aggregated = aggregated and "as=APIGroupDiscoveryList" in content_type.replace(" ", "")
        if not aggregated:
            return parse_legacy_groups(docs[0], docs[1])
        groups: list[tuple[str, list[str]]] = []
        now = self._now()
        for doc in docs:
            found, resources = parse_aggregated(doc or {})
            groups.extend(found)
            for key, infos in resources.items():
                self._cache[key] = _Entry(infos, now)
        return groups

    async def _load(self, group: str, version: str) -> _Entry:
        key = (group, version)
        if key in self._inflight:  # one request for concurrent resolvers
            return await asyncio.shield(self._inflight[key])
        fut: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            _, doc = await self._fetch(path, "application/json")
            if doc is None:
                raise NoMatchError(f'the server does not serve version "{group}/{version}"'
                                   if group else f'the server does not serve version "{version}"')
            entry = _Entry(parse_resource_list(doc, group, version), self._now())
            self._cache[key] = entry
            fut.set_result(entry)
            return entry
        except asyncio.CancelledError:
            fut.cancel()
            raise
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._inflight[key]
