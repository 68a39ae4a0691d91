"""Virtual resources: objects computed per request and never stored.

SelfSubjectReview (`kubectl auth whoami`), SelfSubjectAccessReview and
SubjectAccessReview / LocalSubjectAccessReview (`kubectl auth can-i`, answered
by the authorizer chain), TokenReview (the token authenticator), and Binding
(`pods/NAME/binding` and `bindings`: the scheduler's write of `spec.nodeName`).
ComponentStatus is listed for old clients with the components of this process.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kybernetes.api.errors import Cause, StatusError, bad_request, conflict, invalid
from kybernetes.api.registry import ResourceInfo
from kybernetes.apiserver import codec
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz import Attributes, AuthorizerChain, Verdict
from kybernetes.apiserver.paths import RequestInfo

if TYPE_CHECKING:
    from kybernetes.apiserver.handlers import ResourceHandlers

Obj = dict[str, Any]
TokenReviewer = Callable[[str], Awaitable[UserInfo | None]]


class Reviews:
    def __init__(self, authorizer: AuthorizerChain, token_reviewer: TokenReviewer | None = None
                 ) -> None:
        self.authorizer = authorizer
        self.token_reviewer = token_reviewer

    async def handle(self, request: web.Request, ri: RequestInfo, info: ResourceInfo,
                     user: UserInfo) -> web.StreamResponse:
        from kybernetes.apiserver.handlers import json_response, not_found_path

        if info.plural == "componentstatuses":
            return json_response(self._component_statuses(ri))
        if ri.verb != "create" or ri.subresource or ri.name:
            from kybernetes.api.errors import method_not_allowed

            raise method_not_allowed("the server does not allow this method on the requested "
                                     "resource")
        body = await request.content.read(codec.MAX_BODY_BYTES + 1)
        if len(body) > codec.MAX_BODY_BYTES:
            raise StatusError(413, "RequestEntityTooLarge",
                              "Request entity too large: limit is 3145728")
        obj = codec.decode_body(body, codec.request_content_type(request.headers))
        if obj.get("kind") not in (None, "", info.kind):
            raise bad_request(f'{obj.get("kind")} in version "{info.version}" cannot be '
                              f"handled as a {info.kind}")
        obj["apiVersion"], obj["kind"] = info.group_version, info.kind
        obj.setdefault("metadata", {})
        handler = {
            "selfsubjectreviews": self._self_subject_review,
            "selfsubjectaccessreviews": self._self_access_review,
            "subjectaccessreviews": self._access_review,
            "localsubjectaccessreviews": self._access_review,
            "selfsubjectrulesreviews": self._rules_review,
            "tokenreviews": self._token_review,
        }.get(info.plural)
        if handler is None:
            if info.plural == "bindings":
                return await self._bind_object(obj, ri, user, request)
            raise not_found_path()
        out = await handler(obj, user, ri)
        return json_response(out, 201)

    async def _self_subject_review(self, obj: Obj, user: UserInfo, ri: RequestInfo) -> Obj:
        obj["status"] = {"userInfo": user.to_user_info()}
        return obj

    async def _self_access_review(self, obj: Obj, user: UserInfo, ri: RequestInfo) -> Obj:
        return await self._decide(obj, user)

    async def _access_review(self, obj: Obj, user: UserInfo, ri: RequestInfo) -> Obj:
        spec = obj.get("spec") or {}
        if ri.resource == "localsubjectaccessreviews":
            ns = (spec.get("resourceAttributes") or {}).get("namespace") or ""
            if ns and ns != ri.namespace:
                raise invalid("LocalSubjectAccessReview", "", [Cause(
                    "FieldValueInvalid", f'Invalid value: "{ns}": must match metadata.namespace',
                    "spec.resourceAttributes.namespace")], "authorization.k8s.io")
        subject = UserInfo(name=spec.get("user") or "", uid=spec.get("uid") or "",
                           groups=tuple(spec.get("groups") or ()),
                           extra={k: tuple(v) for k, v in (spec.get("extra") or {}).items()})
        if not subject.name and not subject.groups:
            raise invalid("SubjectAccessReview", "", [Cause(
                "FieldValueRequired", "Required value: at least one of user or group must be "
                "specified", "spec.user")], "authorization.k8s.io")
        return await self._decide(obj, subject)

    async def _decide(self, obj: Obj, subject: UserInfo) -> Obj:
        spec = obj.get("spec") or {}
        ra = spec.get("resourceAttributes")
        nra = spec.get("nonResourceAttributes")
        if ra:
            attrs = Attributes(
                user=subject, verb=ra.get("verb") or "", resource_request=True,
                api_group=ra.get("group") or "", api_version=ra.get("version") or "",
                resource=ra.get("resource") or "", subresource=ra.get("subresource") or "",
                namespace=ra.get("namespace") or "", name=ra.get("name") or "")
        elif nra:
            attrs = Attributes(user=subject, verb=nra.get("verb") or "",
                               resource_request=False, path=nra.get("path") or "")
        else:
            raise invalid(obj.get("kind") or "SubjectAccessReview", "", [Cause(
                "FieldValueRequired", "Required value: exactly one of nonResourceAttributes or "
                "resourceAttributes must be specified", "spec.resourceAttributes")],
                "authorization.k8s.io")
        decision = await self.authorizer.decide(attrs)
        status: Obj = {"allowed": decision.allowed}
        if decision.verdict == Verdict.DENY:
            status["denied"] = True
        if decision.reason:
            status["reason"] = decision.reason
        obj["status"] = status
        return obj

    async def _rules_review(self, obj: Obj, user: UserInfo, ri: RequestInfo) -> Obj:
        allowed = (await self.authorizer.decide(Attributes(
            user=user, verb="*", resource_request=True, resource="*", api_group="*"))).allowed
        rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}] if allowed else []
        nr = [{"verbs": ["*"], "nonResourceURLs": ["*"]}] if allowed else []
        obj["status"] = {"resourceRules": rules, "nonResourceRules": nr, "incomplete": False}
        return obj

    async def _token_review(self, obj: Obj, user: UserInfo, ri: RequestInfo) -> Obj:
        token = (obj.get("spec") or {}).get("token") or ""
        found: UserInfo | None = None
        if token and self.token_reviewer is not None:
            try:
                found = await self.token_reviewer(token)
            except StatusError:
                found = None
        if found is None:
            obj["status"] = {"authenticated": False, "user": {},
                             "error": "invalid bearer token"}
        else:
            obj["status"] = {"authenticated": True, "user": found.to_user_info()}
        return obj

    def _component_statuses(self, ri: RequestInfo) -> Obj:
        healthy = [{"type": "Healthy", "status": "True", "message": "ok"}]
        items = [{"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": n},
                  "conditions": healthy} for n in ("etcd-0",)]
        if ri.name:
            for it in items:
                if it["metadata"]["name"] == ri.name:
                    return it
            from kybernetes.api.errors import not_found

            raise not_found("componentstatuses", ri.name)
        return {"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {},
                "items": items}

    # --- binding ------------------------------------------------------------------------

    async def bind(self, request: web.Request, ri: RequestInfo, user: UserInfo,
                   handlers: ResourceHandlers) -> web.StreamResponse:
        body = await request.content.read(codec.MAX_BODY_BYTES + 1)
        obj = codec.decode_body(body, codec.request_content_type(request.headers))
        obj.setdefault("metadata", {}).setdefault("name", ri.name)
        self._handlers = handlers
        return await self._bind_object(obj, ri, user, request)

    async def _bind_object(self, obj: Obj, ri: RequestInfo, user: UserInfo,
                           request: web.Request) -> web.StreamResponse:
        from kybernetes.apiserver.handlers import json_response
        from kybernetes.apiserver.rest import WriteOptions

        handlers: ResourceHandlers = request.app["handlers"]
        rest = handlers.rest
        pods = handlers.registry.get("", "v1", "pods")
        assert pods is not None
        name = (obj.get("metadata") or {}).get("name") or ri.name
        target = obj.get("target") or {}
        node = target.get("name") or ""
        if not node:
            raise invalid("Binding", name, [Cause("FieldValueRequired", "Required value",
                                                  "target.name")])
        opts = WriteOptions(user=user, dry_run="dryRun" in request.query)
        uid = ((obj.get("metadata") or {}).get("uid")) or ""

        def mutate(old: Obj | None) -> Obj:
            assert old is not None
            new = copy.deepcopy(old)
            if uid and uid != old["metadata"].get("uid"):
                raise conflict("pods", name, "Precondition failed: UID in precondition: "
                               f"{uid}, UID in object meta: {old['metadata'].get('uid')}")
            if old["metadata"].get("deletionTimestamp"):
                raise conflict("pods", name, "pod is being deleted, cannot be assigned to a "
                               "host")
            if (old.get("spec") or {}).get("nodeName"):
                raise conflict("pods", name, f"pod {name} is already assigned to node "
                               f"\"{old['spec']['nodeName']}\"")
            new.setdefault("spec", {})["nodeName"] = node
            ann = (obj.get("metadata") or {}).get("annotations") or {}
            if ann:
                new["metadata"].setdefault("annotations", {}).update(ann)
            conds = new.setdefault("status", {}).setdefault("conditions", [])
            conds[:] = [c for c in conds if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": _now()})
            return new

        await rest._guaranteed_update(pods, ri.namespace, name, mutate, opts,
                                      precondition_rv="", subresource="binding")
        return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Success", "code": 201}, 201)


def _now() -> str:
    from kybernetes.apiserver.strategy import now_rfc3339

    return now_rfc3339()
