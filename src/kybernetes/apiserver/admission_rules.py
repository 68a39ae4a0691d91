"""Which requests an admission webhook or policy applies to: rules and selectors.

Shared by the webhook plug-ins (`webhooks`) and ValidatingAdmissionPolicy
(`policies`); pure apart from the namespace lookup, which is passed in. Follows
k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/{rules,namespace,object}
and policy/matching:

- A rule (`RuleWithOperations`) matches when scope, operation, group, version and
  resource all match. `*` matches anything; in `resources`, `pods` is the main
  resource only, `pods/status` one subresource, `pods/*` the resource and every
  subresource, `*/scale` any resource's scale, `*/*` everything. Scope
  `Namespaced` never matches a Namespace object; `Cluster` always does.
- `matchPolicy: Equivalent` (the default): when no rule names the request's own
  version, the rules are tried again on the other versions served over the same
  storage (events.k8s.io/v1 events for core/v1 events); the hook then sees the
  object converted to that version.
- `namespaceSelector` looks at the labels of the request's namespace (for a
  Namespace object itself: its own labels); cluster-scoped objects always match.
  `objectSelector` matches when the new or the old object's labels match.
- The admissionregistration kinds themselves are exempt from webhooks and
  policies, so a broken hook can always be removed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kybernetes.api.errors import not_found
from kybernetes.api.registry import Registry, ResourceInfo
from kybernetes.api.selectors import EVERYTHING, LabelSelector, label_selector_from_dict
from kybernetes.apiserver.admission import AdmissionRequest, Operation

Obj = dict[str, Any]
NamespaceLookup = Callable[[str], Awaitable[Obj | None]]

ADMISSION_GROUP = "admissionregistration.k8s.io"
_EXEMPT_KINDS = frozenset({
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
})


@dataclass(frozen=True)
class Target:
    """The group/version/resource and kind a hook is invoked with: the request's own,
    or an equivalent version's (matchPolicy Equivalent)."""

    group: str
    version: str
    resource: str
    kind: str

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def of(cls, req: AdmissionRequest) -> Target:
        return cls(req.group, req.version, req.resource, req.kind)


def is_exempt(req: AdmissionRequest) -> bool:
    """Upstream's IsExemptAdmissionConfigurationResource."""
    return req.group == ADMISSION_GROUP and req.kind in _EXEMPT_KINDS


def is_namespace(req: AdmissionRequest) -> bool:
    return req.group == "" and req.resource == "namespaces"


def request_namespace(req: AdmissionRequest) -> str:
    """The namespace attribute as upstream sets it: a Namespace's own name for requests
    on `namespaces/NAME` (everything but CREATE), else the request's namespace."""
    if is_namespace(req) and req.operation is not Operation.CREATE:
        return req.name
    return req.namespace


# --- rules ---------------------------------------------------------------------------


def _exact_or_wildcard(items: Iterable[Any], requested: str) -> bool:
    return any(item == "*" or item == requested for item in items)


def _scope_matches(scope: str, req: AdmissionRequest, target: Target) -> bool:
    if scope in ("", "*"):
        return True
    is_ns = (target.group, target.resource) == ("", "namespaces")
    namespace = request_namespace(req)
    if scope == "Namespaced":
        return not is_ns and namespace != ""
    if scope == "Cluster":
        return is_ns or namespace == ""
    return False


def _resource_matches(resources: Iterable[Any], resource: str, subresource: str) -> bool:
    for item in resources:
        res, _, sub = str(item).partition("/")
        if (res == "*" or res == resource) and (sub == "*" or sub == subresource):
            return True
    return False


def rule_matches(rule: Obj, req: AdmissionRequest, target: Target | None = None) -> bool:
    """One RuleWithOperations against the request (seen as `target`, default its own)."""
    target = target or Target.of(req)
    return (_scope_matches(str(rule.get("scope") or "*"), req, target)
            and _exact_or_wildcard(rule.get("operations") or (), req.operation.value)
            and _exact_or_wildcard(rule.get("apiGroups") or (), target.group)
            and _exact_or_wildcard(rule.get("apiVersions") or (), target.version)
            and _resource_matches(rule.get("resources") or (), target.resource,
                                  req.subresource))


def equivalents(registry: Registry, req: AdmissionRequest) -> list[Target]:
    """The other group/versions serving the request's resource over the same storage
    (upstream's EquivalentResourceMapper), in registry order."""
    own = registry.get(req.group, req.version, req.resource)
    if own is None or own.virtual:
        return []
    out = []
    for info in registry:
        if info is own or info.virtual or info.key_prefix() != own.key_prefix():
            continue
        if req.subresource and info.subresource(req.subresource) is None:
            continue
        out.append(Target(info.group, info.version, info.plural, info.kind))
    return out


def _names_match(rule: Obj, req: AdmissionRequest) -> bool:
    wanted = rule.get("resourceNames") or ()
    return not wanted or req.object_name() in wanted


def match_rules(rules: Iterable[Obj], req: AdmissionRequest, registry: Registry, *,
                match_policy: str = "Equivalent", named: bool = False) -> Target | None:
    """The target of the first matching rule, or None. `named` rules
    (NamedRuleWithOperations, in policies) also check `resourceNames`."""
    rules = list(rules)
    for rule in rules:
        if rule_matches(rule, req) and (not named or _names_match(rule, req)):
            return Target.of(req)
    if match_policy != "Equivalent":
        return None
    others = equivalents(registry, req)
    for rule in rules:
        for target in others:
            if rule_matches(rule, req, target) and (not named or _names_match(rule, req)):
                return target
    return None


# --- selectors -------------------------------------------------------------------------


def parse_selector(sel: Any) -> LabelSelector:
    """A webhook's or policy's selector; unset is everything (it is defaulted to {})."""
    return EVERYTHING if sel is None else label_selector_from_dict(sel)


def _labels(obj: Obj | None) -> dict[str, str] | None:
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    return (meta.get("labels") or {}) if isinstance(meta, dict) else {}


def object_selector_matches(selector: LabelSelector, req: AdmissionRequest) -> bool:
    if selector.empty:
        return True
    return any(labels is not None and selector.matches(labels)
               for labels in (_labels(req.obj), _labels(req.old_obj)))


async def namespace_labels(req: AdmissionRequest, lookup: NamespaceLookup) -> dict[str, str]:
    """Labels of the request's namespace; 404 when it does not exist."""
    if is_namespace(req) and not req.subresource and req.operation in (
            Operation.CREATE, Operation.UPDATE):
        # The namespace being written: the lister does not have the new labels yet.
        return _labels(req.obj) or {}
    name = request_namespace(req)
    ns = await lookup(name)
    if ns is None:
        raise not_found("namespaces", name)
    return _labels(ns) or {}


async def namespace_selector_matches(selector: LabelSelector, req: AdmissionRequest,
                                     lookup: NamespaceLookup) -> bool:
    if request_namespace(req) == "" and not is_namespace(req):
        return True  # cluster-scoped objects are never exempted by a namespaceSelector
    if selector.empty:
        return True
    return selector.matches(await namespace_labels(req, lookup))


def target_info(registry: Registry, target: Target) -> ResourceInfo | None:
    return registry.get(target.group, target.version, target.resource)
