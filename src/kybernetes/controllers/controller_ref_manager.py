"""Claiming objects through ControllerRef: adopt matching orphans, release mismatches
(upstream pkg/controller/controller_ref_manager.go).

A controller owns exactly the objects whose ownerReference with controller=true
carries its UID. `ControllerRefManager.claim(objects)` walks candidates:

| candidate's ControllerRef | selector matches | action                                |
|---------------------------|------------------|---------------------------------------|
| this controller           | yes              | claimed                               |
| this controller           | no               | release (unless the owner is deleted) |
| another controller        | any              | ignored                               |
| none (orphan)             | yes              | adopt, then claimed (unless the owner |
|                           |                  | or the orphan is being deleted)       |
| none (orphan)             | no               | ignored                               |

Adopting and releasing are strategic-merge patches of `metadata.ownerReferences`
(merge key `uid`) carrying the object's own UID, so they apply only to the object
that was looked at. Before the first adoption the owner is read again from the
server, not the cache: a controller being deleted must not adopt (#42639).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from kybernetes.api.selectors import LabelSelector
from kybernetes.client import Client, ResourceRef, is_invalid, is_not_found
from kybernetes.controllers.controller_utils import controller_ref_of

Obj = dict[str, Any]


class OwnerGone(Exception):
    """The owner changed (deleted, or re-created with another UID) since it was cached."""


class ControllerRefManager:
    """Claims objects of `resource` for `owner` (whose kind is `api_version`/`kind`).

    `get_fresh()` reads the owner from the server (quorum read); it is called at most
    once, before the first adoption."""

    def __init__(self, client: Client, *, owner: Obj, api_version: str, kind: str,
                 resource: ResourceRef, selector: LabelSelector,
                 get_fresh: Callable[[], Awaitable[Obj]]) -> None:
        self.client = client
        self.owner = owner
        self.api_version = api_version
        self.kind = kind
        self.resource = resource
        self.selector = selector
        self._get_fresh = get_fresh
        self._can_adopt: Exception | bool | None = None
        meta = owner.get("metadata") or {}
        self._uid = meta.get("uid")
        self._deleting = bool(meta.get("deletionTimestamp"))

    async def claim(self, objects: Iterable[Obj],
                    filters: Iterable[Callable[[Obj], bool]] = ()) -> list[Obj]:
        """The objects this owner controls after adopting/releasing; if any adoption or
        release failed, the first error is raised after all were tried."""
        filters = list(filters)
        claimed: list[Obj] = []
        errors: list[Exception] = []
        for obj in objects:
            try:
                if await self._claim_one(obj, filters):
                    claimed.append(obj)
            except Exception as err:
                errors.append(err)
        if errors:
            raise errors[0]
        return claimed

    def _match(self, obj: Obj, filters: list[Callable[[Obj], bool]]) -> bool:
        if not self.selector.matches((obj.get("metadata") or {}).get("labels") or {}):
            return False
        return all(f(obj) for f in filters)

    async def _claim_one(self, obj: Obj, filters: list[Callable[[Obj], bool]]) -> bool:
        ref = controller_ref_of(obj)
        if ref is not None:
            if ref.get("uid") != self._uid:
                return False  # someone else's
            if self._match(obj, filters):
                return True
            if not self._deleting:
                await self._release(obj)
            return False
        meta = obj.get("metadata") or {}
        if self._deleting or not self._match(obj, filters) or meta.get("deletionTimestamp"):
            return False
        owner_ns = (self.owner.get("metadata") or {}).get("namespace")
        if owner_ns and owner_ns != meta.get("namespace"):
            return False
        return await self._adopt(obj)

    async def _check_can_adopt(self) -> None:
        if self._can_adopt is None:
            try:
                fresh = await self._get_fresh()
                fmeta = fresh.get("metadata") or {}
                if fmeta.get("uid") != self._uid:
                    raise OwnerGone(f"original {self.kind} is gone: got uid "
                                    f"{fmeta.get('uid')}, wanted {self._uid}")
                if fmeta.get("deletionTimestamp"):
                    raise OwnerGone(f"{self.kind} has just been deleted at "
                                    f"{fmeta['deletionTimestamp']}")
                self._can_adopt = True
            except Exception as err:
                self._can_adopt = err
        if isinstance(self._can_adopt, Exception):
            raise self._can_adopt

    async def _adopt(self, obj: Obj) -> bool:
        await self._check_can_adopt()
        meta = obj["metadata"]
        ref = {"apiVersion": self.api_version, "kind": self.kind,
               "name": (self.owner.get("metadata") or {}).get("name"), "uid": self._uid,
               "controller": True, "blockOwnerDeletion": True}
        patch = {"metadata": {"ownerReferences": [ref], "uid": meta.get("uid")}}
        try:
            await self.client.patch(self.resource, meta["name"], patch,
                                    namespace=meta.get("namespace"), patch_type="strategic")
        except Exception as err:
            if is_not_found(err):
                return False
            raise
        return True

    async def _release(self, obj: Obj) -> None:
        meta = obj["metadata"]
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": self._uid}],
                              "uid": meta.get("uid")}}
        try:
            await self.client.patch(self.resource, meta["name"], patch,
                                    namespace=meta.get("namespace"), patch_type="strategic")
        except Exception as err:
            # Gone, or no longer ours / another object by that name: nothing to release.
            if is_not_found(err) or is_invalid(err):
                return
            raise
