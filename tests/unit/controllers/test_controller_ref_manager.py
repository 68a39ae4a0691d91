"""ControllerRefManager: which candidates are claimed, adopted, released or left alone.

The client is a recording fake (only `patch` is used); the server's side of these
patches is covered by the integration tests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.controllers.controller_ref_manager import ControllerRefManager, OwnerGone

Obj = dict[str, Any]
OWNER_UID = "rs-uid"


class RecordingClient:
    def __init__(self, fail: StatusError | None = None) -> None:
        self.patches: list[tuple[str, Obj]] = []
        self.fail = fail

    async def patch(self, resource: Any, name: str, patch: Obj, **kw: Any) -> Obj:
        self.patches.append((name, patch))
        if self.fail is not None:
            raise self.fail
        return {}


def owner(*, deleting: bool = False) -> Obj:
    meta: Obj = {"name": "rs", "namespace": "ns", "uid": OWNER_UID}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def pod(name: str, *, labels: dict[str, str] | None = None, controller: str | None = None,
        deleting: bool = False, namespace: str = "ns") -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                 "labels": labels if labels is not None else {"app": "a"}}
    if controller:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": "x", "uid": controller, "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def manager(client: RecordingClient, owner_obj: Obj, fresh: Obj | None = None
            ) -> ControllerRefManager:
    async def get_fresh() -> Obj:
        return fresh if fresh is not None else owner_obj

    return ControllerRefManager(client, owner=owner_obj, api_version="apps/v1",  # type: ignore[arg-type]
                                kind="ReplicaSet", resource=("v1", "Pod"),
                                selector=label_selector_from_dict({"matchLabels": {"app": "a"}}),
                                get_fresh=get_fresh)


ADOPT = {"metadata": {"ownerReferences": [{
    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": OWNER_UID,
    "controller": True, "blockOwnerDeletion": True}], "uid": "uid-p"}}
RELEASE = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": OWNER_UID}],
                        "uid": "uid-p"}}

CASES = [
    pytest.param(owner(), pod("p", controller=OWNER_UID), True, [], id="ours and matching"),
    pytest.param(owner(), pod("p"), True, [ADOPT], id="matching orphan adopted"),
    pytest.param(owner(), pod("p", labels={"app": "b"}), False, [], id="other orphan ignored"),
    pytest.param(owner(), pod("p", controller="other"), False, [], id="someone else's"),
    pytest.param(owner(), pod("p", labels={"app": "b"}, controller=OWNER_UID), False,
                 [RELEASE], id="ours but not matching: released"),
    pytest.param(owner(deleting=True), pod("p", labels={"app": "b"}, controller=OWNER_UID),
                 False, [], id="owner being deleted does not release"),
    pytest.param(owner(deleting=True), pod("p", controller=OWNER_UID), True, [],
                 id="owner being deleted keeps what it has"),
    pytest.param(owner(deleting=True), pod("p"), False, [], id="owner being deleted: no adopt"),
    pytest.param(owner(), pod("p", deleting=True), False, [], id="orphan being deleted"),
    pytest.param(owner(), pod("p", namespace="other"), False, [], id="other namespace"),
]


@pytest.mark.parametrize(("owner_obj", "candidate", "claimed", "patches"), CASES)
def test_claim(owner_obj: Obj, candidate: Obj, claimed: bool, patches: list[Obj]) -> None:
    client = RecordingClient()
    got = asyncio.run(manager(client, owner_obj).claim([candidate]))
    assert (got == [candidate]) is claimed
    assert [p for _, p in client.patches] == patches


@pytest.mark.parametrize("fresh", [
    pytest.param({"metadata": {"uid": "recreated"}}, id="owner re-created"),
    pytest.param({"metadata": {"uid": OWNER_UID, "deletionTimestamp": "2026-01-01T00:00:00Z"}},
                 id="owner deleted meanwhile"),
])
def test_no_adoption_when_the_live_owner_changed(fresh: Obj) -> None:
    client = RecordingClient()
    with pytest.raises(OwnerGone):
        asyncio.run(manager(client, owner(), fresh).claim([pod("p"), pod("q")]))
    assert client.patches == []


@pytest.mark.parametrize(("error", "raised"), [
    pytest.param(StatusError(404, "NotFound", "gone"), False, id="gone meanwhile: fine"),
    pytest.param(StatusError(422, "Invalid", "uid"), False, id="invalid: not ours any more"),
    pytest.param(StatusError(500, "InternalError", "boom"), True, id="other errors raise"),
])
def test_release_errors(error: StatusError, raised: bool) -> None:
    client = RecordingClient(fail=error)
    candidate = pod("p", labels={"app": "b"}, controller=OWNER_UID)
    if raised:
        with pytest.raises(StatusError):
            asyncio.run(manager(client, owner()).claim([candidate]))
    else:
        assert asyncio.run(manager(client, owner()).claim([candidate])) == []
