"""Object semantics over the store: the generic registry of every resource.

Upstream's `genericregistry.Store`: create, get, list, update, patch, delete and
deletecollection with uid, timestamps, generation, generateName, optimistic
concurrency, finalizers and graceful deletion, the status and scale
subresources, admission, defaulting, validation and dry run. Reads of lists go
to the watch cache; single gets and every write go to the store.

Stored values are the object's JSON without `metadata.resourceVersion`, which
is always the key's mod revision (as in etcd).
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from kybernetes.api import crd
from kybernetes.api import schema as api_schema
from kybernetes.api.conversion import convert
from kybernetes.api.defaults import apply_defaults
from kybernetes.api.errors import (
    STALE_OBJECT,
    Cause,
    StatusError,
    already_exists,
    bad_request,
    conflict,
    expired,
    internal,
    invalid,
    method_not_allowed,
    not_found,
    timeout,
)
from kybernetes.api.fieldcheck import (
    check_and_prune,
    strict_error_message,
    type_error_message,
    warnings,
)
from kybernetes.api.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    check_strategic_supported,
)
from kybernetes.api.registry import ResourceInfo
from kybernetes.api.validation import validate_create, validate_status_update, validate_update
from kybernetes.apiserver import codec, fieldmanager, gcpolicy, strategy
from kybernetes.apiserver.admission import AdmissionChain, AdmissionRequest, Operation
from kybernetes.apiserver.allocators import ServiceAllocator
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.watchcache import (
    CachedObject,
    Filter,
    TooLargeResourceVersion,
    WatchCache,
)
from kybernetes.storage.interface import (
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    KeyValue,
    NotFoundError,
    Store,
)

Obj = dict[str, Any]

_RETRIES = 16
# Kinds whose PUT may create (upstream AllowCreateOnUpdate).
_CREATE_ON_UPDATE = frozenset({("", "Endpoints"), ("", "LimitRange"), ("", "Event"),
                               ("events.k8s.io", "Event"), ("coordination.k8s.io", "Lease"),
                               ("rbac.authorization.k8s.io", "Role"),
                               ("rbac.authorization.k8s.io", "ClusterRole"),
                               ("rbac.authorization.k8s.io", "RoleBinding"),
                               ("rbac.authorization.k8s.io", "ClusterRoleBinding")})
# Subresource writes whose object is not defaulted (_prepare keeps or replaces parts).
_NOT_DEFAULTED = frozenset({"status", "finalize", "binding"})
_SCALABLE = frozenset({("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                       ("", "ReplicationController")})


@dataclass(kw_only=True)
class WriteOptions:
    """What every write request carries besides its body."""

    user: UserInfo
    dry_run: bool = False
    field_validation: str = "Warn"  # Ignore, Warn, Strict
    field_manager: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ListPage:
    items: list[CachedObject]
    revision: int
    continue_token: str = ""


def encode_for_store(obj: Obj) -> bytes:
    """The stored JSON: metadata first (the watch cache splices resourceVersion into it
    without decoding) and without resourceVersion (it is the key's mod revision)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        if "resourceVersion" in meta:
            meta = {k: v for k, v in meta.items() if k != "resourceVersion"}
        out = {"metadata": meta}
        out.update((k, v) for k, v in obj.items() if k != "metadata")
        obj = out
    return orjson.dumps(obj)


def decode_kv(kv: KeyValue) -> Obj:
    obj = orjson.loads(kv.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
    return obj


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def parse_rv(value: str, what: str = "resourceVersion") -> int:
    try:
        rv = int(value)
    except ValueError:
        raise bad_request(f"{what}: Invalid value: \"{value}\": must be a non-negative integer"
                          ) from None
    if rv < 0:
        raise bad_request(f'{what}: Invalid value: "{value}": must be a non-negative integer')
    return rv


# --- continue tokens ------------------------------------------------------------------


def encode_continue(revision: int, start_key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start_key})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        rv, start = int(data["rv"]), str(data["start"])
        if data.get("v") != "meta.k8s.io/v1" or rv <= 0:
            raise ValueError
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise bad_request("continue key is not valid: could not decode the continue token"
                          ) from None
    return rv, start


NamespaceGetter = Callable[[str], Awaitable[Obj | None]]


class _Retry(Exception):
    """An optimistic write lost a race it may retry."""


class RestStorage:
    """The generic registry: one instance serves every resource."""

    def __init__(self, store: Store, cache: WatchCache, admission: AdmissionChain) -> None:
        self.store = store
        self.cache = cache
        self.admission = admission
        # key prefix -> group/version of the stored form, for prefixes several versions share.
        self.storage_versions: dict[str, str] = {}
        # Cluster IPs and node ports of Services (set by the server).
        self.services: ServiceAllocator | None = None

    # --- versions -----------------------------------------------------------------------

    def storage_version(self, info: ResourceInfo) -> str:
        """The group/version objects of `info` are stored in (shared storage: Events, HPA)."""
        return self.storage_versions.get(info.key_prefix(), info.group_version)

    def served(self, info: ResourceInfo, obj: Obj) -> Obj:
        """A stored object as `info`'s version serves it."""
        if obj.get("apiVersion", info.group_version) == info.group_version:
            return obj
        if info.custom is not None:  # CRD conversion strategy None: only apiVersion changes
            return {**obj, "apiVersion": info.group_version}
        return convert(obj, info.group_version)

    def stored(self, info: ResourceInfo, obj: Obj) -> Obj:
        """An object of `info`'s version as it is stored."""
        target = self.storage_version(info)
        if target == info.group_version:
            return obj
        if info.custom is not None:
            return {**obj, "apiVersion": target}
        return convert(obj, target)

    # --- reads --------------------------------------------------------------------------

    async def get(self, info: ResourceInfo, namespace: str, name: str, rv: str = "") -> Obj:
        key = info.key(namespace, name)
        if rv:
            revision = parse_rv(rv)
            await self._wait(revision)
            o = self.cache.cache_for(info.key_prefix()).objects.get(key)
            if o is None:
                raise not_found(info.plural, name, info.group)
            return self.served(info, copy.deepcopy(o.obj))
        kv = await self.store.get(key)
        if kv is None:
            raise not_found(info.plural, name, info.group)
        return self.served(info, decode_kv(kv))

    async def _wait(self, revision: int) -> None:
        try:
            await self.cache.wait_for(revision)
        except TooLargeResourceVersion as exc:
            err = timeout(f"Too large resource version: {exc.requested}, "
                          f"current: {exc.current}")
            err.causes = [Cause("ResourceVersionTooLarge", "Too large resource version")]
            err.retry_after_seconds = 1
            raise err from None

    async def list(self, info: ResourceInfo, flt: Filter, *, rv: str = "", rv_match: str = "",
                   limit: int = 0, continue_token: str = "") -> ListPage:
        rc = self.cache.cache_for(info.key_prefix())
        if continue_token:
            if rv not in ("", "0") and rv:
                raise bad_request("specifying resource version is not allowed when using "
                                  "continue")
            revision, start = decode_continue(continue_token)
            return await self._list_from(info, rc, flt, revision, start, limit)
        if rv_match and rv_match not in ("Exact", "NotOlderThan"):
            raise bad_request(f'resourceVersionMatch: Unsupported value: "{rv_match}": '
                              'supported values: "Exact", "NotOlderThan"')
        if rv_match and not rv:
            raise bad_request("resourceVersionMatch is forbidden unless resourceVersion "
                              "is provided")
        if rv_match == "Exact":
            revision = parse_rv(rv)
            if revision == 0:
                raise bad_request("resourceVersionMatch \"exact\" is forbidden for "
                                  "resourceVersion \"0\"")
            return await self._list_from(info, rc, flt, revision, "", limit)
        if rv == "0":
            items, _ = rc.list(flt)
            return ListPage(items, self.cache.revision)
        if rv:
            await self._wait(parse_rv(rv))
        else:
            try:
                await self.cache.sync()
            except TooLargeResourceVersion:
                raise timeout("Timeout: the watch cache did not catch up with storage; "
                              "retry the request") from None
        revision = self.cache.revision
        items, last = rc.list(flt, limit=limit)
        token = encode_continue(revision, last[len(rc.prefix):] + "\x00") if last else ""
        return ListPage(items, revision, token)

    async def _list_from(self, info: ResourceInfo, rc: Any, flt: Filter, revision: int,
                         start: str, limit: int) -> ListPage:
        """A page at an exact revision: from the cache when nothing changed since, else
        from the store's history."""
        start_key = rc.prefix + start if start else ""
        if rc.last_change <= revision <= self.cache.revision:
            items, last = rc.list(flt, start_key=start_key, limit=limit)
        else:
            items, last = await self._store_page(info, flt, revision, start_key, limit)
        token = encode_continue(revision, last[len(rc.prefix):] + "\x00") if last else ""
        return ListPage(items, revision, token)

    async def _store_page(self, info: ResourceInfo, flt: Filter, revision: int, start_key: str,
                          limit: int) -> tuple[list[CachedObject], str]:
        rc = self.cache.cache_for(info.key_prefix())
        prefix = info.key_prefix(flt.namespace)
        out: list[CachedObject] = []
        chunk = max(limit, 500) if limit else 0
        key = start_key
        while True:
            try:
                res = await self.store.list(prefix, revision=revision, start_key=key,
                                            limit=chunk)
            except CompactedError:
                raise expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter."
                ) from None
            except FutureRevisionError:
                raise timeout(f"Too large resource version: {revision}") from None
            for kv in res.items:
                o = CachedObject.from_kv(kv, info.namespaced)
                if flt.matches(o, rc):
                    if limit and len(out) == limit:
                        return out, out[-1].key
                    out.append(o)
            if not res.more or not res.items:
                return out, ""
            key = res.items[-1].key + "\x00"

    # --- decoding and checks shared by writes ------------------------------------------

    def check_body(self, info: ResourceInfo, obj: Obj, raw: bytes | None,
                   opts: WriteOptions, *, kind: str = "", version: str = "") -> None:
        """apiVersion/kind agreement, unknown/duplicate fields per fieldValidation."""
        kind = kind or info.kind
        version = version or info.version
        gv = f"{info.group}/{version}" if info.group else version
        body_av, body_kind = obj.get("apiVersion"), obj.get("kind")
        if body_av not in (None, "") and body_av != gv:
            raise bad_request(f"the API version in the data ({body_av}) does not match the "
                              f"expected API version ({gv})")
        if body_kind not in (None, "") and body_kind != kind:
            raise bad_request(f'{body_kind} in version "{version}" cannot be handled as a '
                              f"{kind}: the kind in the data does not match the request")
        obj["apiVersion"], obj["kind"] = gv, kind
        meta = obj.get("metadata")
        if meta is None:
            obj["metadata"] = {}
        elif not isinstance(meta, dict):
            raise bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                              "metadata must be an object")
        sch = api_schema.for_kind(info.group, version, kind)
        report = check_and_prune(obj, sch, raw=raw if opts.field_validation != "Ignore" else None,
                                 kind=kind, version=version)
        if info.custom is not None:  # a custom resource: decoded by its CRD's schema
            report.type_errors.extend(info.custom.decode_errors(obj))
            report.unknown.extend(info.custom.prune(obj))
        msg = type_error_message(report)
        if msg:
            raise bad_request(msg)
        if opts.field_validation == "Strict":
            msg = strict_error_message(report)
            if msg:
                raise bad_request(msg)
        elif opts.field_validation == "Warn":
            opts.warnings.extend(warnings(report))

    def _admission_request(self, info: ResourceInfo, op: Operation, namespace: str, name: str,
                           obj: Obj | None, old: Obj | None, opts: WriteOptions,
                           subresource: str = "", options: Obj | None = None
                           ) -> AdmissionRequest:
        return AdmissionRequest(
            operation=op, group=info.group, version=info.version, resource=info.plural,
            kind=info.kind, namespaced=info.namespaced, user=opts.user,
            subresource=subresource, namespace=namespace, name=name, obj=obj, old_obj=old,
            dry_run=opts.dry_run, options=options, warnings=opts.warnings)

    # --- create -----------------------------------------------------------------------

    async def create(self, info: ResourceInfo, namespace: str, obj: Obj, opts: WriteOptions
                     ) -> Obj:
        meta = obj["metadata"]
        if info.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = namespace
        if meta.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        apply_defaults(info, obj)
        fieldmanager.track(info, obj, None, opts)
        req = self._admission_request(info, Operation.CREATE, namespace,
                                      meta.get("name") or "", obj, None, opts)
        # Upstream order: decode+default, mutating admission, then PrepareForCreate
        # (system metadata, status reset), validation, validating admission.
        await self.admission.run_mutating(req)
        meta = obj.setdefault("metadata", {})
        strategy.prepare_create(info, obj, uid=strategy.new_uid(),
                                now=strategy.now_rfc3339())
        generated = not meta.get("name") and bool(meta.get("generateName"))
        for attempt in range(8 if generated else 1):
            if generated:
                meta["name"] = strategy.generate_name(str(meta["generateName"]))
            if attempt == 0:
                # A retried generated name keeps the first try's derived fields (a Job's
                # job-name label); a name clash of 5 random characters is rare enough.
                strategy.prepare_named(info, obj)
            causes = validate_create(info, obj)
            if causes:
                raise invalid(info.kind, meta.get("name") or "", causes, info.group)
            await self.admission.run_validating(req)
            taken = await self._allocate(info, obj, None, opts)
            if opts.dry_run:
                return obj
            key = info.key(namespace, meta["name"])
            try:
                kv = await self.store.create(key, encode_for_store(self.stored(info, obj)))
            except KeyExistsError:
                await self._release(taken)
                if generated and attempt < 7:
                    continue
                raise already_exists(info.plural, meta["name"], info.group) from None
            except BaseException:
                await self._release(taken)
                raise
            meta["resourceVersion"] = str(kv.mod_revision)
            return obj
        raise internal("could not generate a unique name")  # pragma: no cover

    # --- update and patch --------------------------------------------------------------

    async def update(self, info: ResourceInfo, namespace: str, name: str, obj: Obj,
                     opts: WriteOptions, subresource: str = "") -> tuple[Obj, bool]:
        """PUT. Returns (object, created)."""
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise bad_request(f"the name of the object ({body_name}) does not match the name "
                              f"on the URL ({name})")
        if info.namespaced:
            body_ns = obj["metadata"].get("namespace")
            if body_ns and body_ns != namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
        obj["metadata"]["name"] = name
        want_rv = _rv(obj)

        def mutate(old: Obj | None) -> Obj:
            return copy.deepcopy(obj)

        return await self._guaranteed_update(info, namespace, name, mutate, opts,
                                             precondition_rv=want_rv, subresource=subresource,
                                             create_body=obj)

    async def patch(self, info: ResourceInfo, namespace: str, name: str, patch_type: str,
                    body: bytes, opts: WriteOptions, subresource: str = "") -> Obj:
        sch = api_schema.for_kind(info.group, info.version, info.kind)
        if patch_type == codec.STRATEGIC_PATCH:
            check_strategic_supported(sch)

        def mutate(old: Obj | None) -> Obj:
            assert old is not None
            # `old` is this attempt's own copy (_guaranteed_update): patch it in place.
            try:
                if patch_type == codec.JSON_PATCH:
                    return apply_json_patch(old, body, in_place=True)
                if patch_type == codec.MERGE_PATCH:
                    return apply_merge_patch(old, body, in_place=True)
                return apply_strategic_merge_patch(old, body, sch, in_place=True)
            except StatusError:
                raise
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                raise bad_request(str(exc)) from None

        patched_rv = self._patch_rv(patch_type, body)
        obj, _ = await self._guaranteed_update(info, namespace, name, mutate, opts,
                                               precondition_rv="", subresource=subresource,
                                               patch_rv=patched_rv, patch=True)
        return obj

    @staticmethod
    def _patch_rv(patch_type: str, body: bytes) -> bool:
        """Whether the patch itself sets a resourceVersion (then a stale one is a 409,
        and the server must not retry on conflict)."""
        return b"resourceVersion" in body

    async def _guaranteed_update(
        self, info: ResourceInfo, namespace: str, name: str,
        mutate: Callable[[Obj | None], Obj], opts: WriteOptions, *, precondition_rv: str,
        subresource: str, create_body: Obj | None = None, patch_rv: bool = False,
        patch: bool = False,
    ) -> tuple[Obj, bool]:
        key = info.key(namespace, name)
        for _ in range(_RETRIES):
            kv = await self.store.get(key)
            if kv is None:
                if create_body is not None and not subresource and (
                        (info.group, info.kind) in _CREATE_ON_UPDATE):
                    if precondition_rv:
                        raise not_found(info.plural, name, info.group)
                    new = copy.deepcopy(create_body)
                    new["metadata"].pop("resourceVersion", None)
                    return await self.create(info, namespace, new, opts), True
                raise not_found(info.plural, name, info.group)
            fresh = decode_kv(kv)
            old = self.served(info, fresh)
            current_rv = str(kv.mod_revision)
            # `mutate` gets its own copy of the stored object: decoding the stored bytes
            # again is several times cheaper than deepcopy (unless a conversion ran).
            new = mutate(decode_kv(kv) if old is fresh else copy.deepcopy(old))
            if patch:
                self.check_body(info, new, None, opts) if subresource != "scale" else None
            new_meta = new.setdefault("metadata", {})
            if not isinstance(new_meta, dict):
                raise bad_request("metadata must be an object")
            want = precondition_rv or (str(new_meta.get("resourceVersion") or "")
                                       if patch_rv else "")
            if want and want != current_rv:
                raise conflict(info.plural, name, STALE_OBJECT, info.group)
            if patch and (new_meta.get("name") or name) != name:
                raise bad_request(f"the name of the object ({new_meta.get('name')}) does not "
                                  f"match the name on the URL ({name})")
            old_uid = old["metadata"].get("uid")
            if patch and new_meta.get("uid") and new_meta.get("uid") != old_uid:
                # A uid in a patch is a precondition (kubelets and adoption patches rely on it).
                raise conflict(info.plural, name, "Precondition failed: UID in precondition: "
                               f"{new_meta.get('uid')}, UID in object meta: {old_uid}",
                               info.group)
            new_meta["name"] = name
            if info.namespaced:
                new_meta["namespace"] = namespace
            # Upstream order: the updated object (defaulted) goes through mutating
            # admission, then PrepareForUpdate and validation, then validating admission.
            if subresource not in _NOT_DEFAULTED:
                apply_defaults(info, new)
            fieldmanager.track(info, new, old, opts, subresource)
            await self.admission.run_mutating(self._admission_request(
                info, Operation.UPDATE, namespace if info.namespaced else "", name, new, old,
                opts, subresource))
            stored = self._prepare(info, subresource, new, old)
            taken = await self._allocate(info, stored, old, opts) if not subresource else []
            try:
                out_obj = await self._write_update(info, key, kv, name, stored, old, opts,
                                                   subresource, want)
            except _Retry:
                await self._release(taken)
                continue
            except BaseException:
                await self._release(taken)
                raise
            return out_obj, False
        raise conflict(info.plural, name, "too many concurrent writers; retry", info.group)

    async def _write_update(self, info: ResourceInfo, key: str, kv: KeyValue, name: str,
                            stored: Obj, old: Obj, opts: WriteOptions, subresource: str,
                            want: str) -> Obj:
        """Validate, admit and write one attempt of an update; _Retry on a lost race."""
        causes = self._validate_update(info, subresource, stored, old)
        if causes:
            raise invalid(info.kind, name, causes, info.group)
        req = self._admission_request(info, Operation.UPDATE, key.rsplit("/", 2)[-2]
                                      if info.namespaced else "", name, stored, old, opts,
                                      subresource)
        await self.admission.run_validating(req)
        stored_meta = stored["metadata"]
        finished = stored_meta.get("deletionTimestamp") and not stored_meta.get(
            "finalizers") and not self._waits_for_kubelet(info, stored) and not (
            _namespace_finalizers(info, stored))
        if opts.dry_run:
            return stored
        try:
            if finished:
                gone = await self.store.delete(key, expected_mod_revision=kv.mod_revision)
                stored_meta["resourceVersion"] = str(gone.mod_revision)
                await self._release_unused(info, old, None)
                return stored
            if _same(stored, old):
                return old
            out = await self.store.update(key, encode_for_store(self.stored(info, stored)),
                                          expected_mod_revision=kv.mod_revision)
        except ConflictError:
            if want:
                raise conflict(info.plural, name, STALE_OBJECT, info.group) from None
            raise _Retry from None
        except NotFoundError:
            raise not_found(info.plural, name, info.group) from None
        stored_meta["resourceVersion"] = str(out.mod_revision)
        await self._release_unused(info, old, stored)
        return stored

    # --- service allocations -----------------------------------------------------------

    async def _allocate(self, info: ResourceInfo, obj: Obj, old: Obj | None,
                        opts: WriteOptions) -> list[str]:
        if self.services is None or (info.group, info.kind) != ("", "Service"):
            return []
        return await self.services.allocate(obj, old, dry_run=opts.dry_run)

    async def _release(self, keys: list[str]) -> None:
        if keys and self.services is not None:
            await self.services.release_keys(keys)

    async def _release_unused(self, info: ResourceInfo, old: Obj, new: Obj | None) -> None:
        if self.services is not None and (info.group, info.kind) == ("", "Service"):
            await self.services.release_unused(old, new)

    def _prepare(self, info: ResourceInfo, subresource: str, new: Obj, old: Obj) -> Obj:
        if subresource == "status":
            return strategy.prepare_status_update(info, new, old)
        if subresource == "finalize":
            return strategy.prepare_finalize(new, old)
        if subresource == "binding":
            return new
        # Defaults were applied before mutating admission (_guaranteed_update).
        strategy.prepare_update(info, new, old)
        return new

    def _validate_update(self, info: ResourceInfo, subresource: str, new: Obj, old: Obj
                         ) -> list[Cause]:
        if subresource in ("status", "finalize"):
            return validate_status_update(info, new, old)
        if subresource == "binding":
            return []
        return validate_update(info, new, old)

    @staticmethod
    def _waits_for_kubelet(info: ResourceInfo, obj: Obj) -> bool:
        """A pod in graceful deletion stays until its kubelet deletes it (grace 0)."""
        if (info.group, info.kind) != ("", "Pod"):
            return False
        grace = (obj.get("metadata") or {}).get("deletionGracePeriodSeconds")
        return bool(grace) and strategy.pod_deletes_gracefully(obj)

    # --- scale ---------------------------------------------------------------------------

    def check_scalable(self, info: ResourceInfo) -> None:
        if info.custom is not None and info.custom.scale is not None:
            return
        if (info.group, info.kind) not in _SCALABLE:
            raise not_found(info.plural, "scale", info.group)

    async def get_scale(self, info: ResourceInfo, namespace: str, name: str) -> Obj:
        self.check_scalable(info)
        return strategy.scale_of(info, await self.get(info, namespace, name))

    async def update_scale(self, info: ResourceInfo, namespace: str, name: str,
                           scale: Obj | None, patch: tuple[str, bytes] | None,
                           opts: WriteOptions) -> Obj:
        """PUT or PATCH of .../scale: only spec.replicas reaches the parent."""
        self.check_scalable(info)

        def mutate(old: Obj | None) -> Obj:
            assert old is not None
            current = strategy.scale_of(info, old)
            if patch is not None:
                ptype, body = patch
                try:
                    if ptype == codec.JSON_PATCH:
                        new_scale = apply_json_patch(current, body)
                    else:
                        new_scale = apply_merge_patch(current, body)
                except StatusError:
                    raise
                except (ValueError, TypeError, KeyError, IndexError) as exc:
                    raise bad_request(str(exc)) from None
            else:
                assert scale is not None
                new_scale = scale
            replicas = (new_scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise invalid("Scale", name, [Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {replicas}: must be greater than or equal to 0",
                    "spec.replicas")], "autoscaling")
            strategy.set_scale_replicas(info, old, replicas)
            rv = _rv(new_scale)
            old["metadata"]["resourceVersion"] = rv or old["metadata"]["resourceVersion"]
            return old

        scale_rv = bool(scale is not None and _rv(scale)) or (
            patch is not None and b"resourceVersion" in patch[1])
        obj, _ = await self._guaranteed_update(info, namespace, name, mutate, opts,
                                               precondition_rv="", subresource="scale",
                                               patch_rv=scale_rv, patch=False)
        return strategy.scale_of(info, obj)

    # --- delete --------------------------------------------------------------------------

    async def delete(self, info: ResourceInfo, namespace: str, name: str, options: Obj,
                     opts: WriteOptions) -> tuple[Obj, bool]:
        """DELETE. Returns (object, deleted_now)."""
        key = info.key(namespace, name)
        grace_req = options.get("gracePeriodSeconds")
        if grace_req is not None and (not isinstance(grace_req, int) or isinstance(
                grace_req, bool)):
            raise bad_request("gracePeriodSeconds must be an integer")
        pre = options.get("preconditions") or {}
        for _ in range(_RETRIES):
            kv = await self.store.get(key)
            if kv is None:
                raise not_found(info.plural, name, info.group)
            old = self.served(info, decode_kv(kv))
            meta = old["metadata"]
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise conflict(info.plural, name, f"Precondition failed: UID in precondition: "
                               f"{pre['uid']}, UID in object meta: {meta.get('uid')}",
                               info.group)
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise conflict(info.plural, name, "Precondition failed: ResourceVersion in "
                               f"precondition: {pre['resourceVersion']}, ResourceVersion in "
                               f"object meta: {meta['resourceVersion']}", info.group)
            req = self._admission_request(info, Operation.DELETE, namespace, name, None, old,
                                          opts, options={**options,
                                                         "kind": "DeleteOptions",
                                                         "apiVersion": "meta.k8s.io/v1"})
            # As upstream's AdmissionToValidateObjectDeleteFunc: mutating, then validating.
            await self.admission.run_mutating(req)
            await self.admission.run_validating(req)
            # Foreground/Orphan propagation: GC finalizers instead of deleting now.
            pending = self._deferred_delete(
                info, gcpolicy.with_gc_finalizers(info, old, options), grace_req)
            if pending is not None:
                if opts.dry_run or _same(pending, old):
                    return pending, False
                try:
                    out = await self.store.update(key, encode_for_store(self.stored(info, pending)),
                                                  expected_mod_revision=kv.mod_revision)
                except ConflictError:
                    continue
                except NotFoundError:
                    raise not_found(info.plural, name, info.group) from None
                pending["metadata"]["resourceVersion"] = str(out.mod_revision)
                return pending, False
            if opts.dry_run:
                return old, True
            try:
                gone = await self.store.delete(key, expected_mod_revision=kv.mod_revision)
            except ConflictError:
                continue
            except NotFoundError:
                raise not_found(info.plural, name, info.group) from None
            old["metadata"]["resourceVersion"] = str(gone.mod_revision)
            await self._release_unused(info, old, None)
            return old, True
        raise conflict(info.plural, name, "too many concurrent writers; retry", info.group)

    def _deferred_delete(self, info: ResourceInfo, obj: Obj, grace_req: int | None
                         ) -> Obj | None:
        """The object as marked for deletion when it cannot go at once, else None."""
        meta = obj["metadata"]
        now = datetime.now(UTC)
        kind = (info.group, info.kind)
        if kind == (crd.GROUP, crd.KIND) and not meta.get("deletionTimestamp"):
            return crd.mark_for_deletion(obj, strategy.now_rfc3339(now))
        if kind == ("", "Namespace"):
            new = copy.deepcopy(obj)
            new["metadata"].setdefault("deletionTimestamp", strategy.now_rfc3339(now))
            new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            new.setdefault("status", {})["phase"] = "Terminating"
            if not (new.get("spec") or {}).get("finalizers") and not meta.get("finalizers"):
                return None
            return new
        if kind == ("", "Pod") and strategy.pod_deletes_gracefully(obj):
            grace = strategy.pod_grace_period(obj, grace_req)
            current = meta.get("deletionGracePeriodSeconds")
            if grace > 0 or meta.get("finalizers"):
                if meta.get("deletionTimestamp") and current is not None and current <= grace:
                    return obj
                new = copy.deepcopy(obj)
                new["metadata"]["deletionTimestamp"] = strategy.now_rfc3339(
                    now + timedelta(seconds=grace))
                new["metadata"]["deletionGracePeriodSeconds"] = grace
                return new
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return obj
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = strategy.now_rfc3339(now)
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return new
        return None

    async def delete_collection(self, info: ResourceInfo, flt: Filter, options: Obj,
                                opts: WriteOptions) -> list[Obj]:
        if not info.namespaced:
            flt.namespace = ""
        page = await self.list(info, flt)
        out = []
        for o in page.items:
            try:
                obj, _ = await self.delete(info, o.namespace, o.name, options, opts)
            except StatusError as err:
                if err.code == 404:
                    continue
                raise
            out.append(obj)
        return out

    # --- lookups for admission -------------------------------------------------------------

    async def namespace(self, name: str) -> Obj | None:
        rc = self.cache.caches.get("/registry/namespaces/")
        if rc is not None:
            o = rc.objects.get("/registry/namespaces/" + name)
            if o is not None:
                return o.obj
        kv = await self.store.get("/registry/namespaces/" + name)
        return decode_kv(kv) if kv is not None else None

    def method_not_allowed(self, verb: str, info: ResourceInfo) -> StatusError:
        return method_not_allowed(f"the server does not allow this method on the requested "
                                  f"resource ({verb} {info.qualified})")


def _namespace_finalizers(info: ResourceInfo, obj: Obj) -> bool:
    """A namespace goes only once spec.finalizers is empty too (upstream namespace
    REST's ShouldDeleteDuringUpdate): a status write does not delete it."""
    return (info.group, info.kind) == ("", "Namespace") and bool(
        (obj.get("spec") or {}).get("finalizers"))


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from resourceVersion (an update that changes nothing is not written)."""
    ma, mb = a.get("metadata") or {}, b.get("metadata") or {}
    if {k: v for k, v in ma.items() if k != "resourceVersion"} != {
            k: v for k, v in mb.items() if k != "resourceVersion"}:
        return False
    return {k: v for k, v in a.items() if k != "metadata"} == {
        k: v for k, v in b.items() if k != "metadata"}
