"""`admission.k8s.io` AdmissionReview: the request a webhook receives, the response it
sends back, and the `request` variable CEL expressions see. Pure functions.

Shapes follow k8s.io/api/admission/v1 and upstream's webhook/request package:

    request:  uid, kind, resource, subResource, requestKind, requestResource,
              requestSubResource, name, namespace, operation, userInfo, object,
              oldObject, dryRun, options
    response: uid (must echo the request's), allowed, status (a metav1.Status,
              read on denial), patch (base64 JSON Patch, mutating only) with
              patchType "JSONPatch", warnings, auditAnnotations

`kind`/`resource` are what the webhook matched (an equivalent version under
matchPolicy Equivalent); `requestKind`/`requestResource` are what the client sent.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api.errors import Cause, StatusError
from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.admission_rules import Target, request_namespace
from kybernetes.apiserver.authn import UserInfo

Obj = dict[str, Any]

SUPPORTED_VERSIONS = ("v1", "v1beta1")
_OPTIONS_KIND = {Operation.CREATE: "CreateOptions", Operation.UPDATE: "UpdateOptions",
                 Operation.DELETE: "DeleteOptions"}


class InvalidResponse(Exception):
    """The webhook answered, but not with a usable AdmissionReview (message as upstream's
    VerifyAdmissionResponse)."""


def user_info(user: UserInfo) -> Obj:
    out: Obj = {"username": user.name}
    if user.uid:
        out["uid"] = user.uid
    if user.groups:
        out["groups"] = list(user.groups)
    if user.extra:
        out["extra"] = {k: list(v) for k, v in user.extra.items()}
    return out


def options(req: AdmissionRequest) -> Obj | None:
    """The request's options object (CreateOptions, UpdateOptions or DeleteOptions)."""
    if req.options is not None:
        return req.options
    kind = _OPTIONS_KIND.get(req.operation)
    if kind is None:
        return None
    out: Obj = {"kind": kind, "apiVersion": "meta.k8s.io/v1"}
    if req.dry_run:
        out["dryRun"] = ["All"]
    return out


def _gvk(t: Target) -> Obj:
    return {"group": t.group, "version": t.version, "kind": t.kind}


def _gvr(t: Target) -> Obj:
    return {"group": t.group, "version": t.version, "resource": t.resource}


def cel_request(req: AdmissionRequest, target: Target) -> Obj:
    """The `request` variable of admission CEL expressions (upstream
    cel.CreateAdmissionRequest: no uid, objects or options)."""
    own = Target.of(req)
    out: Obj = {"kind": _gvk(target), "resource": _gvr(target),
                "requestKind": _gvk(own), "requestResource": _gvr(own),
                "name": req.object_name(), "namespace": request_namespace(req),
                "operation": req.operation.value, "userInfo": user_info(req.user),
                "dryRun": req.dry_run}
    if req.subresource:
        out["subResource"] = out["requestSubResource"] = req.subresource
    return out


def review(req: AdmissionRequest, target: Target, *, uid: str, obj: Obj | None,
           old_obj: Obj | None, version: str = "v1") -> Obj:
    """The AdmissionReview sent to a webhook. `obj`/`old_obj` are already in the
    target's version."""
    request = cel_request(req, target)
    request["uid"] = uid
    request["object"] = obj
    request["oldObject"] = old_obj
    opts = options(req)
    if opts is not None:
        request["options"] = opts
    return {"kind": "AdmissionReview", "apiVersion": f"admission.k8s.io/{version}",
            "request": request}


@dataclass
class ReviewResult:
    allowed: bool
    status: Obj | None = None
    patch: list[Any] | None = None
    warnings: list[str] = field(default_factory=list)


def parse_response(body: bytes, uid: str, *, mutating: bool, version: str = "v1"
                   ) -> ReviewResult:
    """Decode and check a webhook's answer; raises InvalidResponse."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidResponse(f"couldn't decode response: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidResponse("expected an AdmissionReview object")
    want = f"admission.k8s.io/{version}, Kind=AdmissionReview"
    got = f"{doc.get('apiVersion') or ''}, Kind={doc.get('kind') or ''}"
    if got != want:
        raise InvalidResponse(f"expected webhook response of {want}, got {got}")
    resp = doc.get("response")
    if not isinstance(resp, dict):
        raise InvalidResponse("webhook response was absent")
    if resp.get("uid") != uid:
        raise InvalidResponse(f'expected response.uid="{uid}", got "{resp.get("uid") or ""}"')
    patch_type = resp.get("patchType") or ""
    raw_patch = resp.get("patch") or ""
    patch = None
    if raw_patch or patch_type:
        if not mutating:
            raise InvalidResponse("validating webhook may not return response.patch or "
                                  "response.patchType")
        if raw_patch and not patch_type:
            raise InvalidResponse("webhook returned response.patch but not "
                                  "response.patchType")
        if patch_type != "JSONPatch":
            raise InvalidResponse(f'webhook returned invalid response.patchType of '
                                  f'"{patch_type}"')
        patch = _decode_patch(raw_patch)
    status = resp.get("status")
    warnings = [str(w) for w in resp.get("warnings") or () if str(w).strip()]
    return ReviewResult(allowed=resp.get("allowed") is True,
                        status=status if isinstance(status, dict) else None,
                        patch=patch, warnings=warnings)


def _decode_patch(raw: Any) -> list[Any] | None:
    if not raw:
        return None
    try:
        ops = orjson.loads(base64.b64decode(str(raw), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise InvalidResponse(f"received undecodable patch in webhook response: {exc}"
                              ) from None
    if not isinstance(ops, list):
        raise InvalidResponse("received undecodable patch in webhook response: "
                              "a JSON patch must be an array of operations")
    return ops


def rejection(webhook: str, status: Obj | None) -> StatusError:
    """Upstream webhookerrors.ToStatusErr: the webhook's status with its message
    prefixed `admission webhook "<name>" denied the request`."""
    status = status or {}
    denied = f'admission webhook "{webhook}" denied the request'
    code = status.get("code")
    code = code if isinstance(code, int) and code >= 400 else 400
    message, reason = str(status.get("message") or ""), str(status.get("reason") or "")
    if message:
        message = f"{denied}: {message}"
    elif reason:
        message = f"{denied}: {reason}"
    else:
        message = f"{denied} without explanation"
    err = StatusError(code, reason, message)
    details = status.get("details")
    if isinstance(details, dict):
        err.name = str(details.get("name") or "")
        err.group = str(details.get("group") or "")
        err.kind = str(details.get("kind") or "")
        err.causes = [Cause(str(c.get("reason") or ""), str(c.get("message") or ""),
                            str(c.get("field") or ""))
                      for c in details.get("causes") or () if isinstance(c, dict)]
    return err
