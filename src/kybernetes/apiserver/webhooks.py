"""Admission webhooks: the MutatingAdmissionWebhook and ValidatingAdmissionWebhook plug-ins.

The configurations are read from the watch cache at every request (rebuilt when
the cache has changed), so a new or changed configuration applies as soon as the
cache has seen it. Hooks run in upstream's order: configurations sorted by name,
then each configuration's webhooks in order.

For each hook (upstream webhook/generic `ShouldCallHook`): the rules must match
(`admission_rules`, with matchPolicy Equivalent), then the objectSelector, then
the namespaceSelector, then every matchCondition (CEL; an error follows the
failurePolicy: Fail answers 403, Ignore skips the hook). Then:

- a dry-run request is refused (400 `admission webhook "<name>" does not
  support dry run`) unless sideEffects is None or NoneOnDryRun;
- the AdmissionReview goes out (`webhook_client`); a call that fails, times out
  (`timeoutSeconds`, default 10) or answers nonsense is ignored under
  failurePolicy Ignore, and otherwise answers 500 `Internal error occurred:
  failed calling webhook "<name>": <reason>`;
- a denial answers with the webhook's status, its message prefixed
  `admission webhook "<name>" denied the request: ` (`admission_review.rejection`);
- warnings go to the client as Warning headers.

Mutating hooks run one after another; a JSON patch is applied to the object (in
the matched version, then converted back) and the result re-defaulted. With
reinvocationPolicy IfNeeded a hook that ran before another hook changed the
object runs once more after the first pass (upstream's reinvocation: one extra
round, only hooks already called). Validating hooks run concurrently; the first
failure in hook order answers the request.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api.conversion import convert
from kybernetes.api.defaults import apply_defaults
from kybernetes.api.errors import Cause, StatusError, bad_request, internal
from kybernetes.api.patch import apply_json_patch
from kybernetes.api.registry import Registry
from kybernetes.api.selectors import LabelSelector
from kybernetes.apiserver import admission_review
from kybernetes.apiserver.admission import AdmissionRequest, admission_forbidden
from kybernetes.apiserver.admission_cel import (
    Activation,
    Expression,
    aggregate,
    match_conditions,
)
from kybernetes.apiserver.admission_rules import (
    NamespaceLookup,
    Target,
    is_exempt,
    match_rules,
    namespace_selector_matches,
    object_selector_matches,
    parse_selector,
)
from kybernetes.apiserver.watchcache import WatchCache
from kybernetes.apiserver.webhook_client import CallError, WebhookClient

log = logging.getLogger("kybernetes.apiserver.webhooks")

Obj = dict[str, Any]

MUTATING_PREFIX = "/registry/admissionregistration.k8s.io/mutatingwebhookconfigurations/"
VALIDATING_PREFIX = "/registry/admissionregistration.k8s.io/validatingwebhookconfigurations/"
DEFAULT_TIMEOUT_SECONDS = 10
_NO_SIDE_EFFECTS = ("None", "NoneOnDryRun")


@dataclass(frozen=True)
class Webhook:
    """One webhook of one configuration, ready to match. `uid` identifies it for
    reinvocation; `error` is set when the configuration cannot be used (the hook
    then fails as a call error would)."""

    uid: str
    configuration: str
    name: str
    rules: tuple[Obj, ...]
    match_policy: str
    namespace_selector: LabelSelector
    object_selector: LabelSelector
    failure_policy: str
    side_effects: str
    timeout_seconds: int
    reinvoke: bool
    review_version: str
    client_config: Obj
    match_conditions: tuple[tuple[str, Expression], ...] = ()
    error: str = ""


def _webhook(configuration: str, index: int, hook: Obj) -> Webhook:
    name = str(hook.get("name") or "")
    versions = [v for v in hook.get("admissionReviewVersions") or ()
                if v in admission_review.SUPPORTED_VERSIONS]
    error = "" if versions else (
        f"webhook does not accept known AdmissionReview versions: "
        f"{hook.get('admissionReviewVersions') or []}")
    try:
        ns_sel = parse_selector(hook.get("namespaceSelector"))
        obj_sel = parse_selector(hook.get("objectSelector"))
    except StatusError as err:
        ns_sel = obj_sel = parse_selector(None)
        error = f"invalid selector: {err.message}"
    conditions = tuple((str(c.get("name") or ""), Expression.of(str(c.get("expression") or "")))
                       for c in hook.get("matchConditions") or () if isinstance(c, dict))
    return Webhook(
        uid=f"{configuration}/{name}/{index}", configuration=configuration, name=name,
        rules=tuple(r for r in hook.get("rules") or () if isinstance(r, dict)),
        match_policy=str(hook.get("matchPolicy") or "Equivalent"),
        namespace_selector=ns_sel, object_selector=obj_sel,
        failure_policy=str(hook.get("failurePolicy") or "Fail"),
        side_effects=str(hook.get("sideEffects") or ""),
        timeout_seconds=int(hook.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS),
        reinvoke=hook.get("reinvocationPolicy") == "IfNeeded",
        review_version=versions[0] if versions else "v1",
        client_config=hook.get("clientConfig") or {}, match_conditions=conditions,
        error=error)


def load_webhooks(configurations: Iterable[Obj]) -> list[Webhook]:
    """The webhooks of `configurations` in calling order (by configuration name)."""
    out = []
    for cfg in sorted(configurations, key=lambda c: str(c.get("metadata", {}).get("name"))):
        cfg_name = str((cfg.get("metadata") or {}).get("name") or "")
        for i, hook in enumerate(cfg.get("webhooks") or ()):
            if isinstance(hook, dict):
                out.append(_webhook(cfg_name, i, hook))
    return out


class WebhookSource:
    """The webhooks of one configuration kind as the watch cache holds them now."""

    def __init__(self, cache: WatchCache, prefix: str) -> None:
        self._cache = cache
        self._prefix = prefix
        self._revision = -1
        self._hooks: list[Webhook] = []

    def webhooks(self) -> list[Webhook]:
        rc = self._cache.caches.get(self._prefix)
        if rc is None:
            return []
        if rc.last_change != self._revision:
            self._hooks = load_webhooks(o.obj for o in list(rc.objects.values()))
            self._revision = rc.last_change
        return self._hooks


@dataclass
class _Versions:
    """The request's objects converted to the versions hooks asked for (once each)."""

    req: AdmissionRequest
    converted: dict[str, tuple[Obj | None, Obj | None]] = field(default_factory=dict)

    def objects(self, target: Target) -> tuple[Obj | None, Obj | None]:
        if target == Target.of(self.req):
            return self.req.obj, self.req.old_obj
        gv = target.group_version
        if gv not in self.converted:
            self.converted[gv] = tuple(  # type: ignore[assignment]
                None if o is None else convert(o, gv) for o in (self.req.obj,
                                                                  self.req.old_obj))
        return self.converted[gv]

    def invalidate(self) -> None:
        self.converted.clear()


class _Dispatcher:
    """What both plug-ins share: matching a hook and calling it."""

    mutating = False

    def __init__(self, *, source: WebhookSource, registry: Registry, client: WebhookClient,
                 namespace_lookup: NamespaceLookup) -> None:
        self.source = source
        self.registry = registry
        self.client = client
        self.namespace_lookup = namespace_lookup

    async def invocation(self, hook: Webhook, req: AdmissionRequest, versions: _Versions
                         ) -> Target | None:
        """The target to call `hook` with, or None when it does not apply."""
        target = match_rules(hook.rules, req, self.registry, match_policy=hook.match_policy)
        if target is None or not object_selector_matches(hook.object_selector, req):
            return None
        if not await namespace_selector_matches(hook.namespace_selector, req,
                                                self.namespace_lookup):
            return None
        if hook.match_conditions:
            obj, old = versions.objects(target)
            act = Activation(obj, old, admission_review.cel_request(req, target))
            matches, errors = match_conditions(list(hook.match_conditions), act)
            if not matches:
                return None
            if errors:
                if hook.failure_policy == "Ignore":
                    return None
                raise admission_forbidden(req, aggregate(errors))
        return target

    async def call(self, hook: Webhook, req: AdmissionRequest, target: Target,
                   versions: _Versions) -> admission_review.ReviewResult:
        """POST the review; raises CallError (failurePolicy applies) or StatusError."""
        if req.dry_run and hook.side_effects not in _NO_SIDE_EFFECTS:
            raise bad_request(f'admission webhook "{hook.name}" does not support dry run')
        if hook.error:
            raise CallError(hook.error)
        obj, old = versions.objects(target)
        uid = str(uuid.uuid4())
        review = admission_review.review(req, target, uid=uid, obj=obj, old_obj=old,
                                         version=hook.review_version)
        body = await self.client.post(hook.client_config, orjson.dumps(review),
                                      hook.timeout_seconds)
        try:
            result = admission_review.parse_response(body, uid, mutating=self.mutating,
                                                     version=hook.review_version)
        except admission_review.InvalidResponse as exc:
            raise CallError(f"received invalid webhook response: {exc}") from None
        req.warnings.extend(w for w in result.warnings if w not in req.warnings)
        if not result.allowed:
            raise admission_review.rejection(hook.name, result.status)
        return result

    @staticmethod
    def call_failed(hook: Webhook, err: CallError) -> StatusError | None:
        """The answer to a failed call: None (fail open) under failurePolicy Ignore."""
        reason = f'failed calling webhook "{hook.name}": {err}'
        if hook.failure_policy == "Ignore":
            log.warning("Failed calling webhook, failing open %s: %s", hook.name, reason)
            return None
        log.warning("Failed calling webhook, failing closed %s: %s", hook.name, reason)
        status = internal(reason)
        status.causes = [Cause("", reason)]
        return status


class MutatingWebhooks(_Dispatcher):
    """MutatingAdmissionWebhook (a `MutatingPlugin`)."""

    mutating = True

    async def admit(self, req: AdmissionRequest) -> None:
        if is_exempt(req):
            return
        hooks = self.source.webhooks()
        if not hooks:
            return
        state = _Reinvocation()
        await self._round(hooks, req, state, reinvoking=False)
        if state.should_reinvoke and state.to_reinvoke:
            await self._round(hooks, req, state, reinvoking=True)

    async def _round(self, hooks: list[Webhook], req: AdmissionRequest, state: _Reinvocation,
                     *, reinvoking: bool) -> None:
        versions = _Versions(req)
        for hook in hooks:
            target = await self.invocation(hook, req, versions)
            if target is None or (reinvoking and hook.uid not in state.to_reinvoke):
                continue
            changed, failure = False, None
            try:
                changed = await self._mutate(hook, req, target, versions)
            except CallError as err:
                failure = self.call_failed(hook, err)
            if changed:
                versions.invalidate()
                state.to_reinvoke |= state.invoked
                state.should_reinvoke = True
            if hook.reinvoke:
                state.invoked.add(hook.uid)
            if failure is not None:
                raise failure

    async def _mutate(self, hook: Webhook, req: AdmissionRequest, target: Target,
                      versions: _Versions) -> bool:
        result = await self.call(hook, req, target, versions)
        if not result.patch:
            return False
        if req.obj is None:
            raise internal(f'admission webhook "{hook.name}" attempted to modify the object, '
                           "which is not supported for this operation")
        obj, _ = versions.objects(target)
        assert obj is not None
        try:
            patched = apply_json_patch(obj, result.patch)
        except StatusError as err:
            raise internal(f"{hook.name}: the webhook's JSON patch cannot be applied: "
                           f"{err.message}") from None
        if (patched.get("apiVersion"), patched.get("kind")) != (obj.get("apiVersion"),
                                                                obj.get("kind")):
            raise internal(f'admission webhook "{hook.name}" may not change the apiVersion '
                           "or kind of the object")
        own = Target.of(req)
        if target != own:
            patched = convert(patched, own.group_version)
        info = self.registry.get(req.group, req.version, req.resource)
        if info is not None and patched.get("kind") == info.kind:
            apply_defaults(info, patched)
        if not isinstance(patched.get("metadata"), dict):
            patched["metadata"] = {}
        changed = patched != req.obj
        req.obj.clear()
        req.obj.update(patched)
        return changed


@dataclass
class _Reinvocation:
    """Upstream's webhookReinvokeContext for one request."""

    invoked: set[str] = field(default_factory=set)  # IfNeeded hooks called so far
    to_reinvoke: set[str] = field(default_factory=set)
    should_reinvoke: bool = False


class ValidatingWebhooks(_Dispatcher):
    """ValidatingAdmissionWebhook (a `ValidatingPlugin`)."""

    async def validate(self, req: AdmissionRequest) -> None:
        if is_exempt(req):
            return
        hooks = self.source.webhooks()
        if not hooks:
            return
        versions = _Versions(req)
        calls = []
        for hook in hooks:
            target = await self.invocation(hook, req, versions)
            if target is not None:
                calls.append((hook, self.call(hook, req, target, versions)))
        if not calls:
            return
        results = await asyncio.gather(*(c for _, c in calls), return_exceptions=True)
        for (hook, _), outcome in zip(calls, results, strict=True):
            if isinstance(outcome, CallError):
                failure = self.call_failed(hook, outcome)
                if failure is not None:
                    raise failure
            elif isinstance(outcome, BaseException):
                raise outcome


class WebhookAdmission:
    """Both webhook plug-ins of one apiserver, over one HTTP client."""

    def __init__(self, *, cache: WatchCache, registry: Registry,
                 namespace_lookup: NamespaceLookup) -> None:
        self.client = WebhookClient(lambda key: _cached(cache, key),
                                    lambda prefix: _cached_list(cache, prefix))
        common = {"registry": registry, "client": self.client,
                  "namespace_lookup": namespace_lookup}
        self.mutating = MutatingWebhooks(source=WebhookSource(cache, MUTATING_PREFIX), **common)
        self.validating = ValidatingWebhooks(source=WebhookSource(cache, VALIDATING_PREFIX),
                                             **common)

    async def close(self) -> None:
        await self.client.close()


def _cached(cache: WatchCache, key: str) -> Obj | None:
    prefix = key.rsplit("/", 2)[0] + "/"
    rc = cache.caches.get(prefix)
    o = rc.objects.get(key) if rc is not None else None
    return o.obj if o is not None else None


def _cached_list(cache: WatchCache, prefix: str) -> list[Obj]:
    """Objects under `prefix` (`<resource prefix><namespace>/`)."""
    base = prefix.rstrip("/").rsplit("/", 1)[0] + "/"
    rc = cache.caches.get(base)
    if rc is None:
        return []
    return [o.obj for k, o in list(rc.objects.items()) if k.startswith(prefix)]
