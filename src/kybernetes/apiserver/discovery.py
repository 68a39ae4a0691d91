"""Discovery documents, built from the resource `Registry` as kube-apiserver 1.32 serves them.

This module owns the *content* of discovery, not its transport: pure functions
(no aiohttp, no I/O) that return plain dicts, plus `DiscoveryCache`, which keeps
their orjson encodings and ETags until the registry changes.

Documents:

- `/api` → `APIVersions` (`api_versions`);
- `/apis` → `APIGroupList` (`api_group_list`), `/apis/<group>` → `APIGroup` (`api_group`);
- `/api/v1`, `/apis/<group>/<version>` → `APIResourceList` (`api_resource_list`),
  one entry per resource and one per subresource (`pods/status`), the latter
  with an empty `singularName` and with `group`/`version` only when its kind
  lives elsewhere (`deployments/scale` → autoscaling/v1 `Scale`);
- `/api` and `/apis` with an aggregated-discovery Accept header →
  `APIGroupDiscoveryList` (`aggregated`, apidiscovery.k8s.io v2 or v2beta1).

Upstream details kept on purpose: verbs of built-ins are sorted; entries are
sorted by name; `shortNames`/`categories`/`subresources` are left out when empty
while required lists are always lists; a `responseKind` whose kind lives in the
resource's own group/version carries an empty group and version, as the
built-in installer does; `storageVersionHash` is upstream's hash of the storage
kind (events.k8s.io Events are stored as core Events, and every other
resource is stored in its group's preferred version). Groups and versions come
in `Registry.groups()` order, which follows upstream's APIService priorities
(unknown groups, such as CRD groups, follow sorted by name).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import orjson

from kybernetes.api.registry import Registry, ResourceInfo, Subresource

JSON_CONTENT_TYPE = "application/json"
AGGREGATED_V2_CONTENT_TYPE = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
)
AGGREGATED_V2BETA1_CONTENT_TYPE = (
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
)
AGGREGATED_CONTENT_TYPES = {
    "v2": AGGREGATED_V2_CONTENT_TYPE,
    "v2beta1": AGGREGATED_V2BETA1_CONTENT_TYPE,
}
DISCOVERY_GROUP = "apidiscovery.k8s.io"
DISCOVERY_KIND = "APIGroupDiscoveryList"

# Kinds stored under another group/version than the one served (group, kind) → storage GVK.
_STORAGE_OVERRIDES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("events.k8s.io", "Event"): ("", "v1", "Event"),
}

# Media ranges that select the legacy (non-aggregated) documents.
_LEGACY_TYPES = frozenset({
    "*/*", "application/*", "application/json", "application/yaml",
    "application/vnd.kubernetes.protobuf",
})

Doc = dict[str, Any]


# --------------------------------------------------------------------------- legacy


def api_versions(server_address: str = "") -> Doc:
    """`GET /api`: the legacy `APIVersions` (the core group has only v1)."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address},
        ],
    }


def _group_version(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}" if group else version, "version": version}


def _api_group(group: str, versions: list[str]) -> Doc:
    listed = [_group_version(group, v) for v in versions]
    # The Python DynamicClient compares preferredVersion with versions[i] as whole dicts.
    return {"name": group, "versions": listed, "preferredVersion": dict(listed[0])}


def api_group_list(registry: Registry) -> Doc:
    """`GET /apis`: every named group, versions in preference order."""
    groups = [_api_group(g, vs) for g, vs in registry.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> Doc | None:
    """`GET /apis/<group>`, or None when the group is not served."""
    if not group:
        return None
    for name, versions in registry.groups():
        if name == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_api_group(name, versions)}
    return None


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """Upstream's `StorageVersionHash`: base64 of the first 8 bytes of sha256("g/v/Kind")."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _storage_hash(registry: Registry, versions: list[str], info: ResourceInfo) -> str:
    """Hash of the kind as stored: the group's most preferred version serving the resource
    (autoscaling/v2 for both HPA versions), unless stored elsewhere altogether."""
    override = _STORAGE_OVERRIDES.get((info.group, info.kind))
    if override is not None:
        return storage_version_hash(*override)
    if info.custom is not None:
        return storage_version_hash(info.group, info.custom.storage_version, info.kind)
    stored = next(
        (v for v in versions if registry.get(info.group, v, info.plural) is not None),
        info.version,
    )
    return storage_version_hash(info.group, stored, info.kind)


def _sub_gv(info: ResourceInfo, sub: Subresource) -> tuple[str, str]:
    """The subresource kind's group/version; ("", "") when it is the resource's own."""
    group = sub.group or info.group
    version = sub.version or info.version
    if (group, version) == (info.group, info.version):
        return "", ""
    return group, version


def _legacy_resource(registry: Registry, versions: list[str], info: ResourceInfo) -> Doc:
    entry: Doc = {
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    if not info.virtual:
        entry["storageVersionHash"] = _storage_hash(registry, versions, info)
    return entry


def _legacy_subresource(info: ResourceInfo, sub: Subresource) -> Doc:
    entry: Doc = {
        "name": f"{info.plural}/{sub.name}",
        "singularName": "",
        "namespaced": info.namespaced,
    }
    group, version = _sub_gv(info, sub)
    if version:
        entry["group"] = group
        entry["version"] = version
    entry["kind"] = sub.kind
    entry["verbs"] = list(sub.verbs)
    return entry


def api_resource_list(registry: Registry, group: str, version: str) -> Doc | None:
    """`GET /api/v1` or `/apis/<group>/<version>`, or None when not served."""
    infos = registry.resources(group, version)
    if not infos:
        return None
    versions = dict(registry.groups()).get(group, [version])
    entries: list[Doc] = []
    for info in infos:
        entries.append(_legacy_resource(registry, versions, info))
        entries.extend(_legacy_subresource(info, sub) for sub in info.subresources)
    entries.sort(key=lambda e: e["name"])  # upstream sorts storage paths as strings
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": entries,
    }


# --------------------------------------------------------------------------- aggregated


def _aggregated_resource(info: ResourceInfo) -> Doc:
    # Custom resources name their group/version (customresource_discovery_controller.go).
    gv = (info.group, info.version) if info.custom is not None else ("", "")
    entry: Doc = {
        "resource": info.plural,
        "responseKind": {"group": gv[0], "version": gv[1], "kind": info.kind},
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "singularResource": info.singular,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    if info.subresources:
        subs = []
        for sub in sorted(info.subresources, key=lambda s: s.name):
            group, version = _sub_gv(info, sub) if not gv[1] or sub.version else gv
            subs.append({
                "subresource": sub.name,
                "responseKind": {"group": group, "version": version, "kind": sub.kind},
                "verbs": list(sub.verbs),
            })
        entry["subresources"] = subs
    return entry


def _aggregated_group(registry: Registry, group: str, versions: list[str]) -> Doc:
    return {
        "metadata": {"name": group},
        "versions": [
            {
                "version": version,
                "resources": [
                    _aggregated_resource(info) for info in registry.resources(group, version)
                ],
                "freshness": "Current",
            }
            for version in versions
        ],
    }


def aggregated(registry: Registry, *, legacy: bool, version: str = "v2") -> Doc:
    """`APIGroupDiscoveryList` for `/api` (legacy=True: the core group) or `/apis`."""
    if version not in AGGREGATED_CONTENT_TYPES:
        raise ValueError(f"unknown aggregated discovery version {version!r}")
    items = [
        _aggregated_group(registry, group, versions)
        for group, versions in registry.groups()
        if (group == "") == legacy
    ]
    return {
        "kind": DISCOVERY_KIND,
        "apiVersion": f"{DISCOVERY_GROUP}/{version}",
        "metadata": {},
        "items": items,
    }


def wants_aggregated(accept: str | None) -> str | None:
    """The aggregated discovery version ("v2"/"v2beta1") an Accept header asks for, or None.

    Media ranges are tried by preference (q descending, then concrete types before
    wildcards, otherwise in the order given), like upstream's negotiation. The
    first one we can answer decides: a JSON range with `g=apidiscovery.k8s.io`,
    `as=APIGroupDiscoveryList` and a known `v` selects aggregated discovery; a
    plain type the legacy documents are served in (JSON, YAML, protobuf or a
    wildcard) selects legacy (None). Ranges we cannot serve (an aggregated
    protobuf range, another `as=`, q=0) are skipped.
    """
    if not accept:
        return None
    ranges: list[tuple[float, bool, bool, int, str, dict[str, str]]] = []
    for index, clause in enumerate(accept.split(",")):
        parts = [p.strip() for p in clause.split(";")]
        media = parts[0].lower()
        if "/" not in media:
            continue
        params: dict[str, str] = {}
        for part in parts[1:]:
            key, sep, value = part.partition("=")
            if sep:
                params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            continue
        if q <= 0:
            continue
        main, _, sub = media.partition("/")
        ranges.append((-q, main == "*", sub == "*", index, media, params))
    ranges.sort(key=lambda r: r[:4])
    for *_, media, params in ranges:
        if "as" in params or "g" in params or "v" in params:
            if (
                media == JSON_CONTENT_TYPE
                and params.get("as") == DISCOVERY_KIND
                and params.get("g") == DISCOVERY_GROUP
                and params.get("v") in AGGREGATED_CONTENT_TYPES
            ):
                return params["v"]
            continue
        if media in _LEGACY_TYPES:
            return None
    return None


# --------------------------------------------------------------------------- cache


@dataclass(frozen=True, slots=True)
class Encoded:
    """One encoded discovery document, ready to serve."""

    body: bytes
    etag: str  # quoted, as the ETag header carries it
    content_type: str

    def not_modified(self, if_none_match: str | None) -> bool:
        """Whether an If-None-Match header already names this body (answer 304)."""
        if not if_none_match:
            return False
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return self.etag in tags or "*" in tags


def encode(doc: Doc, content_type: str = JSON_CONTENT_TYPE) -> Encoded:
    body = orjson.dumps(doc)
    # Upstream's discovery ETag: the quoted upper-case hex SHA-512 of the JSON.
    return Encoded(body, f'"{hashlib.sha512(body).hexdigest().upper()}"', content_type)


class DiscoveryCache:
    """Encoded discovery documents, rebuilt lazily when `registry.generation` moves."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._generation = registry.generation
        self._docs: dict[tuple[Hashable, ...], Encoded] = {}

    def _get(
        self, key: tuple[Hashable, ...], build: Callable[[], Doc | None],
        content_type: str = JSON_CONTENT_TYPE,
    ) -> Encoded | None:
        if self._generation != self.registry.generation:
            self._docs.clear()
            self._generation = self.registry.generation
        hit = self._docs.get(key)
        if hit is not None:
            return hit
        doc = build()
        if doc is None:  # not cached: the arguments come from request paths
            return None
        encoded = self._docs[key] = encode(doc, content_type)
        return encoded

    def api_versions(self, server_address: str = "") -> Encoded:
        encoded = self._get(("api", server_address), lambda: api_versions(server_address))
        assert encoded is not None
        return encoded

    def api_group_list(self) -> Encoded:
        encoded = self._get(("apis",), lambda: api_group_list(self.registry))
        assert encoded is not None
        return encoded

    def api_group(self, group: str) -> Encoded | None:
        return self._get(("group", group), lambda: api_group(self.registry, group))

    def api_resource_list(self, group: str, version: str) -> Encoded | None:
        return self._get(
            ("resources", group, version),
            lambda: api_resource_list(self.registry, group, version),
        )

    def aggregated(self, *, legacy: bool, version: str = "v2") -> Encoded:
        if version not in AGGREGATED_CONTENT_TYPES:
            raise ValueError(f"unknown aggregated discovery version {version!r}")
        encoded = self._get(
            ("aggregated", legacy, version),
            lambda: aggregated(self.registry, legacy=legacy, version=version),
            AGGREGATED_CONTENT_TYPES[version],
        )
        assert encoded is not None
        return encoded
