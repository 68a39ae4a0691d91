"""AdmissionReview requests and responses, as upstream's webhook/request package."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.admission_review import (
    InvalidResponse,
    parse_response,
    rejection,
    review,
)
from kybernetes.apiserver.admission_rules import Target
from kybernetes.apiserver.authn import UserInfo

USER = UserInfo("alice", "u-1", ("dev", "system:authenticated"), {"scopes": ("a", "b")})


def request(**kw: Any) -> AdmissionRequest:
    base: dict[str, Any] = {
        "operation": Operation.UPDATE, "group": "", "version": "v1", "resource": "events",
        "kind": "Event", "namespaced": True, "user": USER, "namespace": "ns", "name": "e",
        "obj": {"metadata": {"name": "e"}, "message": "new"},
        "old_obj": {"metadata": {"name": "e"}, "message": "old"}}
    base.update(kw)
    return AdmissionRequest(**base)


def test_review_carries_what_upstream_sends() -> None:
    req = request(dry_run=True)
    target = Target("events.k8s.io", "v1", "events", "Event")
    doc = review(req, target, uid="abc", obj={"note": "new"}, old_obj={"note": "old"})
    assert doc["apiVersion"] == "admission.k8s.io/v1" and doc["kind"] == "AdmissionReview"
    assert doc["request"] == {
        "uid": "abc",
        "kind": {"group": "events.k8s.io", "version": "v1", "kind": "Event"},
        "resource": {"group": "events.k8s.io", "version": "v1", "resource": "events"},
        "requestKind": {"group": "", "version": "v1", "kind": "Event"},
        "requestResource": {"group": "", "version": "v1", "resource": "events"},
        "name": "e", "namespace": "ns", "operation": "UPDATE",
        "userInfo": {"username": "alice", "uid": "u-1",
                     "groups": ["dev", "system:authenticated"],
                     "extra": {"scopes": ["a", "b"]}},
        "object": {"note": "new"}, "oldObject": {"note": "old"}, "dryRun": True,
        "options": {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1",
                    "dryRun": ["All"]},
    }


def test_review_of_a_subresource_and_of_a_delete() -> None:
    req = request(operation=Operation.DELETE, subresource="status", obj=None,
                  options={"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1",
                           "propagationPolicy": "Background"})
    doc = review(req, Target.of(req), uid="x", obj=None, old_obj=req.old_obj)["request"]
    assert doc["subResource"] == doc["requestSubResource"] == "status"
    assert doc["object"] is None and doc["options"]["propagationPolicy"] == "Background"


def test_review_version_v1beta1() -> None:
    req = request()
    doc = review(req, Target.of(req), uid="x", obj=None, old_obj=None, version="v1beta1")
    assert doc["apiVersion"] == "admission.k8s.io/v1beta1"


def _response(**resp: Any) -> bytes:
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "response": {"uid": "abc", **resp}}).encode()


def _b64(ops: list[Any]) -> str:
    return base64.b64encode(json.dumps(ops).encode()).decode()


def test_parse_allowed_response_with_patch_and_warnings() -> None:
    ops = [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]
    result = parse_response(_response(allowed=True, patchType="JSONPatch", patch=_b64(ops),
                                      warnings=["careful", " "]), "abc", mutating=True)
    assert result.allowed and result.patch == ops and result.warnings == ["careful"]


BAD = [
    ("not-json", b"nope", "couldn't decode response"),
    ("wrong-kind", json.dumps({"apiVersion": "v1", "kind": "Status"}).encode(),
     "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got v1, "
     "Kind=Status"),
    ("no-response", json.dumps({"apiVersion": "admission.k8s.io/v1",
                                "kind": "AdmissionReview"}).encode(),
     "webhook response was absent"),
    ("uid", _response(uid="other", allowed=True),
     'expected response.uid="abc", got "other"'),
    ("patch-without-type", _response(allowed=True, patch=_b64([])),
     "webhook returned response.patch but not response.patchType"),
    ("patch-type", _response(allowed=True, patchType="Merge", patch=_b64([])),
     'webhook returned invalid response.patchType of "Merge"'),
    ("bad-base64", _response(allowed=True, patchType="JSONPatch", patch="%%%"),
     "received undecodable patch in webhook response"),
]


@pytest.mark.parametrize(("body", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_parse_rejects_unusable_responses(body: bytes, message: str) -> None:
    with pytest.raises(InvalidResponse) as err:
        parse_response(body, "abc", mutating=True)
    assert message in str(err.value)


def test_validating_webhook_may_not_patch() -> None:
    with pytest.raises(InvalidResponse):
        parse_response(_response(allowed=True, patchType="JSONPatch", patch=_b64([])),
                       "abc", mutating=False)


@pytest.mark.parametrize(("status", "code", "reason", "message"), [
    (None, 400, "", 'admission webhook "w.example.com" denied the request without explanation'),
    ({"code": 403, "reason": "Forbidden", "message": "no"}, 403, "Forbidden",
     'admission webhook "w.example.com" denied the request: no'),
    ({"code": 200, "reason": "NotAllowed"}, 400, "NotAllowed",
     'admission webhook "w.example.com" denied the request: NotAllowed'),
], ids=["bare", "status", "reason-only"])
def test_rejection_shape(status: Any, code: int, reason: str, message: str) -> None:
    err = rejection("w.example.com", status)
    assert (err.code, err.reason, err.message) == (code, reason, message)


def test_rejection_keeps_the_webhook_details() -> None:
    err = rejection("w.example.com", {"message": "bad", "details": {
        "name": "p", "kind": "pods", "causes": [{"reason": "FieldValueInvalid",
                                                  "message": "nope", "field": "spec.x"}]}})
    status = err.to_status()
    assert status["details"]["name"] == "p"
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "message": "nope",
                                            "field": "spec.x"}]
