"""ValidatingAdmissionPolicy: CEL validation of writes, configured through the API.

A `ValidatingAdmissionPolicy` says what to check (CEL `validations`, with
`variables`, `matchConditions`, an optional `paramKind`) and which requests it
may apply to (`matchConstraints`); a `ValidatingAdmissionPolicyBinding` puts a
policy into effect, optionally narrowed (`matchResources`), with parameters
(`paramRef`) and what a failed validation does (`validationActions`):

    Deny   the request is refused: 422 Invalid (or the validation's `reason`),
           `<resource> "<name>" is forbidden: ValidatingAdmissionPolicy '<policy>'
           with binding '<binding>' denied request: <message>`
    Warn   a Warning header `Validation failed for ValidatingAdmissionPolicy
           '<policy>' with binding '<binding>': <message>`
    Audit  recorded for the audit log (no audit log yet: logged at debug level)

The message is the `messageExpression`'s result, else `message`, else `failed
expression: <expression>`. An expression or parameter that fails (a CEL
runtime error, a missing param with parameterNotFoundAction Deny) is a failed
validation under failurePolicy Fail and is ignored under Ignore.

Policies and bindings are read from the watch cache at every request and
rebuilt when it has changed. Follows k8s.io/apiserver/pkg/admission/plugin/
policy/validating (dispatcher.go, validator.go) and policy/generic
(CollectParams); the CEL environment is `admission_cel`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kybernetes.api.conversion import convert
from kybernetes.api.errors import Cause, StatusError, not_found
from kybernetes.api.registry import Registry, ResourceInfo
from kybernetes.api.selectors import LabelSelector, label_selector_from_dict
from kybernetes.apiserver import admission_review
from kybernetes.apiserver.admission import AdmissionRequest, admission_forbidden
from kybernetes.apiserver.admission_cel import (
    Activation,
    Expression,
    ExpressionError,
    aggregate,
    match_conditions,
    namespace_object,
)
from kybernetes.apiserver.admission_rules import (
    NamespaceLookup,
    Target,
    is_exempt,
    match_rules,
    namespace_selector_matches,
    object_selector_matches,
    parse_selector,
    request_namespace,
)
from kybernetes.apiserver.watchcache import WatchCache

log = logging.getLogger("kybernetes.apiserver.policies")

Obj = dict[str, Any]

POLICY_PREFIX = "/registry/admissionregistration.k8s.io/validatingadmissionpolicies/"
BINDING_PREFIX = "/registry/admissionregistration.k8s.io/validatingadmissionpolicybindings/"
MAX_MESSAGE_BYTES = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes
_REASON_CODES = {"Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413,
                 "Invalid": 422}


class ConfigError(Exception):
    """A policy or binding that cannot be applied (failurePolicy decides)."""


@dataclass(frozen=True)
class MatchResources:
    namespace_selector: LabelSelector
    object_selector: LabelSelector
    rules: tuple[Obj, ...]
    exclude_rules: tuple[Obj, ...]
    match_policy: str

    @classmethod
    def of(cls, mr: Obj) -> MatchResources:
        return cls(parse_selector(mr.get("namespaceSelector")),
                   parse_selector(mr.get("objectSelector")),
                   tuple(r for r in mr.get("resourceRules") or () if isinstance(r, dict)),
                   tuple(r for r in mr.get("excludeResourceRules") or ()
                         if isinstance(r, dict)),
                   str(mr.get("matchPolicy") or "Equivalent"))

    async def matches(self, req: AdmissionRequest, registry: Registry,
                      lookup: NamespaceLookup, *, need_rules: bool) -> Target | None:
        """Upstream policy matching.Matcher: the matched target, or None."""
        if match_rules(self.exclude_rules, req, registry, match_policy=self.match_policy,
                       named=True) is not None:
            return None
        if self.rules:
            target = match_rules(self.rules, req, registry, match_policy=self.match_policy,
                                 named=True)
        else:
            target = None if need_rules else Target.of(req)
        if target is None or not object_selector_matches(self.object_selector, req):
            return None
        if not await namespace_selector_matches(self.namespace_selector, req, lookup):
            return None
        return target


@dataclass(frozen=True)
class Validation:
    expression: Expression
    message: str
    message_expression: Expression | None
    reason: str


@dataclass(frozen=True)
class Policy:
    name: str
    match: MatchResources | None
    failure_policy: str
    param_kind: tuple[str, str] | None  # (apiVersion, kind)
    validations: tuple[Validation, ...]
    variables: tuple[tuple[str, Expression], ...]
    match_conditions: tuple[tuple[str, Expression], ...]
    error: str = ""

    @classmethod
    def of(cls, obj: Obj) -> Policy:
        spec = obj.get("spec") or {}
        name = str((obj.get("metadata") or {}).get("name") or "")
        pk = spec.get("paramKind")
        error, match = "", None
        try:
            match = MatchResources.of(spec.get("matchConstraints") or {})
        except StatusError as err:
            error = err.message
        return cls(
            name=name, match=match,
            failure_policy=str(spec.get("failurePolicy") or "Fail"),
            param_kind=(str(pk.get("apiVersion") or ""), str(pk.get("kind") or ""))
            if isinstance(pk, dict) else None,
            validations=tuple(
                Validation(Expression.of(str(v.get("expression") or "")),
                           str(v.get("message") or ""),
                           Expression.of(str(v["messageExpression"]))
                           if v.get("messageExpression") else None,
                           str(v.get("reason") or ""))
                for v in spec.get("validations") or () if isinstance(v, dict)),
            variables=_named(spec.get("variables")),
            match_conditions=_named(spec.get("matchConditions")), error=error)


def _named(items: Any) -> tuple[tuple[str, Expression], ...]:
    return tuple((str(i.get("name") or ""), Expression.of(str(i.get("expression") or "")))
                 for i in items or () if isinstance(i, dict))


@dataclass(frozen=True)
class Binding:
    name: str
    policy_name: str
    actions: tuple[str, ...]
    param_ref: Obj | None
    match: MatchResources | None
    error: str = ""

    @classmethod
    def of(cls, obj: Obj) -> Binding:
        spec = obj.get("spec") or {}
        error, match = "", None
        if isinstance(spec.get("matchResources"), dict):
            try:
                match = MatchResources.of(spec["matchResources"])
            except StatusError as err:
                error = err.message
        ref = spec.get("paramRef")
        return cls(str((obj.get("metadata") or {}).get("name") or ""),
                   str(spec.get("policyName") or ""),
                   tuple(str(a) for a in spec.get("validationActions") or ()),
                   ref if isinstance(ref, dict) else None, match, error)


def load(policies: Iterable[Obj], bindings: Iterable[Obj]
         ) -> list[tuple[Policy, list[Binding]]]:
    """Policies (by name) with their bindings (by name); unbound policies are left out."""
    by_policy: dict[str, list[Binding]] = {}
    for b in sorted((Binding.of(o) for o in bindings), key=lambda b: b.name):
        by_policy.setdefault(b.policy_name, []).append(b)
    out = []
    for p in sorted((Policy.of(o) for o in policies), key=lambda p: p.name):
        if p.name in by_policy:
            out.append((p, by_policy[p.name]))
    return out


class PolicySource:
    """Policies and bindings as the watch cache holds them now."""

    def __init__(self, cache: WatchCache) -> None:
        self._cache = cache
        self._revisions: tuple[int, int] = (-1, -1)
        self._hooks: list[tuple[Policy, list[Binding]]] = []

    def hooks(self) -> list[tuple[Policy, list[Binding]]]:
        pc = self._cache.caches.get(POLICY_PREFIX)
        bc = self._cache.caches.get(BINDING_PREFIX)
        if pc is None or bc is None:
            return []
        revisions = (pc.last_change, bc.last_change)
        if revisions != self._revisions:
            self._hooks = load([o.obj for o in list(pc.objects.values())],
                               [o.obj for o in list(bc.objects.values())])
            self._revisions = revisions
        return self._hooks


@dataclass(frozen=True)
class Decision:
    """A failed validation (or a failure the failurePolicy turned into one)."""

    message: str
    reason: str = ""


def validate(policy: Policy, act: Activation) -> list[Decision]:
    """Upstream validator.Validate for one param: the validations that failed."""
    fail = policy.failure_policy != "Ignore"
    if policy.match_conditions:
        matches, errors = match_conditions(list(policy.match_conditions), act)
        if not matches:
            return []
        if errors:
            return [Decision(aggregate(errors))] if fail else []
    act.bind_variables(list(policy.variables))
    out = []
    for v in policy.validations:
        try:
            ok = act.evaluate(v.expression)
        except ExpressionError as exc:
            if fail:
                out.append(Decision(str(exc)))
            continue
        if ok is not True:
            out.append(Decision(_message(v, act), v.reason or "Invalid"))
    return out


def _message(v: Validation, act: Activation) -> str:
    if v.message_expression is not None:
        try:
            value = act.evaluate(v.message_expression)
        except ExpressionError as exc:
            log.debug("messageExpression failed: %s", exc)
            value = None
        if isinstance(value, str):
            value = value.strip()
            if value and "\n" not in value and len(value.encode()) <= MAX_MESSAGE_BYTES:
                return value
    if v.message.strip():
        return v.message.strip()
    return f"failed expression: {v.expression.text.strip()}"


class ValidatingAdmissionPolicies:
    """The ValidatingAdmissionPolicy plug-in (a `ValidatingPlugin`).

    `namespace_lookup(name)` returns a Namespace; params are read from the watch cache
    by kind through `registry`.
    """

    def __init__(self, *, cache: WatchCache, registry: Registry,
                 namespace_lookup: NamespaceLookup) -> None:
        self.cache = cache
        self.registry = registry
        self.namespace_lookup = namespace_lookup
        self.source = PolicySource(cache)

    async def validate(self, req: AdmissionRequest) -> None:
        if is_exempt(req):
            return
        hooks = self.source.hooks()
        if not hooks:
            return
        denied: list[tuple[Policy, Binding | None, Decision]] = []
        for policy, bindings in hooks:
            if policy.match is None:
                denied.extend(_config_error(policy, None, policy.error))
                continue
            target = await policy.match.matches(req, self.registry, self.namespace_lookup,
                                                need_rules=True)
            if target is None:
                continue
            if policy.error:
                denied.extend(_config_error(policy, None, policy.error))
                continue
            for binding in bindings:
                denied.extend(await self._binding(req, policy, binding, target))
        if denied:
            raise _denial(req, denied)

    async def _binding(self, req: AdmissionRequest, policy: Policy, binding: Binding,
                       target: Target) -> list[tuple[Policy, Binding | None, Decision]]:
        if binding.error:
            return _config_error(policy, binding, binding.error)
        if binding.match is not None and await binding.match.matches(
                req, self.registry, self.namespace_lookup, need_rules=False) is None:
            return []
        try:
            params = self._params(policy, binding, req)
        except ConfigError as exc:
            return _config_error(policy, binding, str(exc))
        obj, old = _objects(req, target)
        ns_obj = await self._namespace(req)
        request = admission_review.cel_request(req, target)
        out: list[tuple[Policy, Binding | None, Decision]] = []
        for param in params:
            act = Activation(obj, old, request, params=param, namespace_object=ns_obj)
            for decision in validate(policy, act):
                out.extend(self._act(req, policy, binding, decision))
        return out

    @staticmethod
    def _act(req: AdmissionRequest, policy: Policy, binding: Binding, decision: Decision
             ) -> list[tuple[Policy, Binding | None, Decision]]:
        out: list[tuple[Policy, Binding | None, Decision]] = []
        for action in binding.actions:
            if action == "Deny":
                out.append((policy, binding, decision))
            elif action == "Warn":
                req.warnings.append(f"Validation failed for ValidatingAdmissionPolicy "
                                    f"'{policy.name}' with binding '{binding.name}': "
                                    f"{decision.message}")
            elif action == "Audit":
                log.debug("validation failure (audit) policy=%s binding=%s: %s",
                          policy.name, binding.name, decision.message)
        return out

    async def _namespace(self, req: AdmissionRequest) -> Obj | None:
        if (req.group, req.kind) == ("", "Namespace"):
            return None  # upstream: a Namespace's own namespace attribute is not used
        name = request_namespace(req)
        if not name:
            return None
        ns = await self.namespace_lookup(name)
        if ns is None:
            raise not_found("namespaces", name)
        return namespace_object(ns)

    def _params(self, policy: Policy, binding: Binding, req: AdmissionRequest
                ) -> list[Obj | None]:
        """Upstream generic.CollectParams over the watch cache."""
        if policy.param_kind is None or binding.param_ref is None:
            return [None]
        ref = binding.param_ref
        info = self._param_info(policy.param_kind)
        namespace = ""
        if info.namespaced:
            namespace = str(ref.get("namespace") or "") or req.namespace
            if not namespace:
                raise ConfigError("cannot use namespaced paramRef in policy binding that "
                                  "matches cluster-scoped resources")
        elif ref.get("namespace"):
            raise ConfigError("paramRef.namespace must not be provided for a cluster-scoped "
                              "`paramKind`")
        found = self._find_params(info, namespace, ref)
        if not found and ref.get("parameterNotFoundAction") == "Deny":
            raise ConfigError("no params found for policy binding with `Deny` "
                              "parameterNotFoundAction")
        return list(found)

    def _param_info(self, param_kind: tuple[str, str]) -> ResourceInfo:
        api_version, kind = param_kind
        group, _, version = api_version.rpartition("/")
        info = self.registry.by_kind(group, version, kind)
        if info is None or info.virtual:
            raise ConfigError(f"paramKind kind `{api_version}, Kind={kind}` not known")
        return info

    def _find_params(self, info: ResourceInfo, namespace: str, ref: Obj) -> list[Obj]:
        rc = self.cache.caches.get(info.key_prefix())
        if rc is None:
            return []
        if ref.get("name"):
            o = rc.objects.get(info.key(namespace, str(ref["name"])))
            return [o.obj] if o is not None else []
        try:
            selector = label_selector_from_dict(ref.get("selector") or {})
        except StatusError as err:
            raise ConfigError(err.message) from None
        prefix = info.key_prefix(namespace)
        return [o.obj for k, o in sorted(rc.objects.items())
                if k.startswith(prefix) and selector.matches(o.labels)]


def _objects(req: AdmissionRequest, target: Target) -> tuple[Obj | None, Obj | None]:
    if target == Target.of(req):
        return req.obj, req.old_obj
    return tuple(None if o is None else convert(o, target.group_version)  # type: ignore
                 for o in (req.obj, req.old_obj))


def _config_error(policy: Policy, binding: Binding | None, error: str
                  ) -> list[tuple[Policy, Binding | None, Decision]]:
    """Upstream addConfigError: a denial under failurePolicy Fail, nothing under Ignore."""
    if policy.failure_policy == "Ignore":
        return []
    what = "binding" if binding is not None else "policy"
    return [(policy, binding, Decision(f"failed to configure {what}: {error}"))]


def _denial(req: AdmissionRequest, denied: list[tuple[Policy, Binding | None, Decision]]
            ) -> StatusError:
    policy, binding, decision = denied[0]
    if binding is not None:
        message = (f"ValidatingAdmissionPolicy '{policy.name}' with binding '{binding.name}' "
                   f"denied request: {decision.message}")
    else:
        message = f"ValidatingAdmissionPolicy '{policy.name}' denied request: " \
                  f"{decision.message}"
    err = admission_forbidden(req, message)
    err.reason = decision.reason or "Invalid"
    err.code = _REASON_CODES.get(err.reason, 422)
    err.causes.append(Cause("", message))
    return err
