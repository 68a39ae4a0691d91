"""Validation of `admissionregistration.k8s.io/v1` objects.

    validate_webhook_configuration(out, obj, mutating=...)
    validate_policy(out, obj)           ValidatingAdmissionPolicy
    validate_policy_binding(out, obj)   ValidatingAdmissionPolicyBinding

Each appends `Cause`s to `out` (the `Check` shape of `api.validation`, which
dispatches here). Rules follow k8s.io/kubernetes
pkg/apis/admissionregistration/validation (v1.32), partially: names, client
configs, rules, selectors, policies and actions, and CEL expressions that do
not compile (`compilation failed: ...`). celpy has no type checker, so a
type error in an expression surfaces at evaluation time instead.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from kybernetes.api import cel, names
from kybernetes.api.errors import Cause, StatusError
from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.api.validation import (
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
)

Obj = dict[str, Any]
Causes = list[Cause]

FAILURE_POLICIES = ("Fail", "Ignore")
MATCH_POLICIES = ("Equivalent", "Exact")
SIDE_EFFECTS = ("None", "NoneOnDryRun")
REINVOCATION = ("IfNeeded", "Never")
SCOPES = ("*", "Cluster", "Namespaced")
OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
REVIEW_VERSIONS = ("v1", "v1beta1")
VALIDATION_ACTIONS = ("Audit", "Deny", "Warn")
REASONS = ("Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized")
NOT_FOUND_ACTIONS = ("Allow", "Deny")
MAX_MATCH_CONDITIONS = 64
_CEL_IDENT = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")


def _d(obj: Any, key: str) -> Obj:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, dict) else {}


def _l(obj: Any, key: str) -> list[Any]:
    v = obj.get(key) if isinstance(obj, dict) else None
    return v if isinstance(v, list) else []


def _one_of(out: Causes, obj: Obj, key: str, path: str, allowed: tuple[str, ...],
            *, need: bool = False, need_detail: str = "") -> None:
    value = obj.get(key)
    if value is None:
        if need:
            out.append(required(f"{path}.{key}", need_detail))
        return
    if value not in allowed:
        out.append(not_supported(f"{path}.{key}", value, allowed))


def _expression(out: Causes, expr: Any, path: str) -> None:
    if not isinstance(expr, str) or not expr.strip():
        out.append(required(path))
        return
    try:
        cel.compile(expr)
    except cel.CelCompileError as exc:
        out.append(invalid(path, expr, f"compilation failed: {exc}"))


def _selector(out: Causes, sel: Any, path: str) -> None:
    if sel is None:
        return
    try:
        label_selector_from_dict(sel)
    except StatusError as err:
        out.append(invalid(path, sel, err.message))


def _match_conditions(out: Causes, conditions: list[Any], path: str) -> None:
    if len(conditions) > MAX_MATCH_CONDITIONS:
        out.append(Cause("FieldValueTooMany", f"Too many: {len(conditions)}: must have at "
                         f"most {MAX_MATCH_CONDITIONS} items", path))
    seen: set[str] = set()
    for i, cond in enumerate(conditions):
        p = f"{path}[{i}]"
        if not isinstance(cond, dict):
            continue
        name = cond.get("name") or ""
        if not name:
            out.append(required(f"{p}.name"))
        else:
            for msg in names.is_qualified_name(name):
                out.append(invalid(f"{p}.name", name, msg))
            if name in seen:
                out.append(duplicate(f"{p}.name", name))
            seen.add(name)
        _expression(out, cond.get("expression"), f"{p}.expression")


# --- rules ----------------------------------------------------------------------------


def _star_list(out: Causes, values: list[Any], path: str, what: str) -> None:
    if not values:
        out.append(required(path))
    elif "*" in values and len(values) > 1:
        out.append(invalid(path, values, f"if '*' is present, must not specify other {what}"))


def _resources(out: Causes, resources: list[Any], path: str) -> None:
    if not resources:
        out.append(required(path))
    wild_sub: set[str] = set()  # "x/*"
    wild_res: set[str] = set()  # "*/x"
    single = plain = False
    for i, item in enumerate(resources):
        res_sub = str(item)
        if not res_sub:
            out.append(required(f"{path}[{i}]"))
            continue
        single = single or res_sub == "*"
        if "/" not in res_sub:
            plain = plain or res_sub != "*"
            continue
        res, sub = res_sub.split("/", 1)
        if res in wild_sub:
            out.append(invalid(f"{path}[{i}]", res_sub,
                               f"if '{res}/*' is present, must not specify {res_sub}"))
        if sub in wild_res:
            out.append(invalid(f"{path}[{i}]", res_sub,
                               f"if '*/{sub}' is present, must not specify {res_sub}"))
        if sub == "*":
            wild_sub.add(res)
        if res == "*":
            wild_res.add(sub)
    if len(resources) > 1 and "*/*" in resources:
        out.append(invalid(path, resources, "if '*/*' is present, must not specify other "
                           "resources"))
    if single and plain:
        out.append(invalid(path, resources, "if '*' is present, must not specify other "
                           "resources without subresources"))


def validate_rule(out: Causes, rule: Any, path: str, *, operations: bool = True) -> None:
    """One RuleWithOperations (or NamedRuleWithOperations)."""
    if not isinstance(rule, dict):
        return
    if operations:
        ops = _l(rule, "operations")
        _star_list(out, ops, f"{path}.operations", "operations")
        for j, op in enumerate(ops):
            if op not in OPERATIONS:
                out.append(not_supported(f"{path}.operations[{j}]", op, OPERATIONS))
    _star_list(out, _l(rule, "apiGroups"), f"{path}.apiGroups", "API groups")
    versions = _l(rule, "apiVersions")
    _star_list(out, versions, f"{path}.apiVersions", "API versions")
    for j, v in enumerate(versions):
        if v == "":
            out.append(required(f"{path}.apiVersions[{j}]"))
    _resources(out, _l(rule, "resources"), f"{path}.resources")
    _one_of(out, rule, "scope", path, SCOPES)


# --- webhook configurations ---------------------------------------------------------------


def _url(out: Causes, url: str, path: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https":
        out.append(invalid(path, url, "'https' is the only allowed URL scheme"))
    if not parts.hostname:
        out.append(invalid(path, url, "host must be specified"))
    if parts.username or parts.password:
        out.append(invalid(path, url, "user information is not permitted in the URL"))
    if parts.fragment:
        out.append(invalid(path, url, "fragments are not permitted in the URL"))
    if parts.query:
        out.append(invalid(path, url, "query parameters are not permitted in the URL"))


def _client_config(out: Causes, cfg: Obj, path: str) -> None:
    url, svc = cfg.get("url"), cfg.get("service")
    if (url is None) == (svc is None):
        out.append(required(path, "exactly one of url or service is required"))
        return
    if url is not None:
        _url(out, str(url), f"{path}.url")
        return
    svc = svc if isinstance(svc, dict) else {}
    sp = f"{path}.service"
    if not svc.get("name"):
        out.append(required(f"{sp}.name", "service name is required"))
    if not svc.get("namespace"):
        out.append(required(f"{sp}.namespace", "service namespace is required"))
    spath = svc.get("path")
    if spath is not None and not str(spath).startswith("/"):
        out.append(invalid(f"{sp}.path", spath, "must start with a '/'"))
    port = svc.get("port")
    if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
        out.append(invalid(f"{sp}.port", port, "port is not valid: must be between 1 and "
                           "65535, inclusive"))


def _webhook_name(out: Causes, name: str, path: str) -> None:
    if not name:
        out.append(required(path))
        return
    msgs = names.is_dns1123_subdomain(name)
    for msg in msgs:
        out.append(invalid(path, name, msg))
    if not msgs and len(name.split(".")) < 3:
        out.append(invalid(path, name, "should be a domain with at least three segments "
                           "separated by dots"))


def _review_versions(out: Causes, versions: list[Any], path: str) -> None:
    if not versions:
        out.append(required(path, "must specify one of v1, v1beta1"))
        return
    seen: set[str] = set()
    for i, v in enumerate(versions):
        if v in seen:
            out.append(invalid(f"{path}[{i}]", v, "duplicate version"))
        seen.add(v)
    if not seen & set(REVIEW_VERSIONS):
        out.append(invalid(path, versions, "must include at least one of v1, v1beta1"))


def _webhook(out: Causes, hook: Obj, path: str, mutating: bool) -> None:
    _webhook_name(out, str(hook.get("name") or ""), f"{path}.name")
    for j, rule in enumerate(_l(hook, "rules")):
        validate_rule(out, rule, f"{path}.rules[{j}]")
    _one_of(out, hook, "failurePolicy", path, FAILURE_POLICIES)
    _one_of(out, hook, "matchPolicy", path, MATCH_POLICIES)
    _one_of(out, hook, "sideEffects", path, SIDE_EFFECTS, need=True,
            need_detail="must specify one of None, NoneOnDryRun")
    if mutating:
        _one_of(out, hook, "reinvocationPolicy", path, REINVOCATION)
    timeout = hook.get("timeoutSeconds")
    if timeout is not None and (not isinstance(timeout, int) or not 1 <= timeout <= 30):
        out.append(invalid(f"{path}.timeoutSeconds", timeout,
                           "the timeout value must be between 1 and 30 seconds"))
    _review_versions(out, _l(hook, "admissionReviewVersions"),
                     f"{path}.admissionReviewVersions")
    _selector(out, hook.get("namespaceSelector"), f"{path}.namespaceSelector")
    _selector(out, hook.get("objectSelector"), f"{path}.objectSelector")
    _client_config(out, _d(hook, "clientConfig"), f"{path}.clientConfig")
    _match_conditions(out, _l(hook, "matchConditions"), f"{path}.matchConditions")


def validate_webhook_configuration(out: Causes, obj: Obj, *, mutating: bool) -> None:
    seen: set[str] = set()
    for i, hook in enumerate(_l(obj, "webhooks")):
        if not isinstance(hook, dict):
            continue
        path = f"webhooks[{i}]"
        _webhook(out, hook, path, mutating)
        name = hook.get("name")
        if name in seen:
            out.append(duplicate(f"{path}.name", name))
        seen.add(name)


# --- policies ------------------------------------------------------------------------------


def _named_rules(out: Causes, rules: list[Any], path: str) -> None:
    for i, rule in enumerate(rules):
        p = f"{path}[{i}]"
        validate_rule(out, rule, p)
        for j, name in enumerate(_l(rule, "resourceNames")):
            for msg in names.is_dns1123_subdomain(str(name)):
                out.append(invalid(f"{p}.resourceNames[{j}]", name, msg))


def _match_resources(out: Causes, mr: Obj, path: str, *, need_rules: bool) -> None:
    _selector(out, mr.get("namespaceSelector"), f"{path}.namespaceSelector")
    _selector(out, mr.get("objectSelector"), f"{path}.objectSelector")
    _one_of(out, mr, "matchPolicy", path, MATCH_POLICIES)
    rules = _l(mr, "resourceRules")
    if need_rules and not rules:
        out.append(required(f"{path}.resourceRules"))
    _named_rules(out, rules, f"{path}.resourceRules")
    _named_rules(out, _l(mr, "excludeResourceRules"), f"{path}.excludeResourceRules")


def _validations(out: Causes, validations: list[Any], path: str) -> None:
    for i, v in enumerate(validations):
        p = f"{path}[{i}]"
        if not isinstance(v, dict):
            continue
        _expression(out, v.get("expression"), f"{p}.expression")
        message = v.get("message")
        if isinstance(message, str) and ("\n" in message or "\r" in message):
            out.append(invalid(f"{p}.message", message, "message must not contain line "
                               "breaks"))
        if v.get("messageExpression"):
            _expression(out, v.get("messageExpression"), f"{p}.messageExpression")
        _one_of(out, v, "reason", p, REASONS)


def _variables(out: Causes, variables: list[Any], path: str) -> None:
    seen: set[str] = set()
    for i, var in enumerate(variables):
        p = f"{path}[{i}]"
        if not isinstance(var, dict):
            continue
        name = var.get("name") or ""
        if not name:
            out.append(required(f"{p}.name"))
        elif not _CEL_IDENT.match(name):
            out.append(invalid(f"{p}.name", name, "name is not a valid CEL identifier"))
        elif name in seen:
            out.append(duplicate(f"{p}.name", name))
        seen.add(name)
        _expression(out, var.get("expression"), f"{p}.expression")


def validate_policy(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    pk = spec.get("paramKind")
    if pk is not None:
        pk = pk if isinstance(pk, dict) else {}
        if not pk.get("apiVersion"):
            out.append(required("spec.paramKind.apiVersion"))
        if not pk.get("kind"):
            out.append(required("spec.paramKind.kind"))
    if spec.get("matchConstraints") is None:
        out.append(required("spec.matchConstraints"))
    else:
        _match_resources(out, _d(spec, "matchConstraints"), "spec.matchConstraints",
                         need_rules=True)
    validations = _l(spec, "validations")
    if not validations and not _l(spec, "auditAnnotations"):
        out.append(required("spec.validations", "validations or auditAnnotations must "
                            "contain at least one item"))
    _validations(out, validations, "spec.validations")
    _one_of(out, spec, "failurePolicy", "spec", FAILURE_POLICIES)
    _variables(out, _l(spec, "variables"), "spec.variables")
    _match_conditions(out, _l(spec, "matchConditions"), "spec.matchConditions")
    for i, ann in enumerate(_l(spec, "auditAnnotations")):
        if isinstance(ann, dict):
            if not ann.get("key"):
                out.append(required(f"spec.auditAnnotations[{i}].key"))
            _expression(out, ann.get("valueExpression"),
                        f"spec.auditAnnotations[{i}].valueExpression")


def _param_ref(out: Causes, ref: Obj, path: str) -> None:
    if ref.get("name") and ref.get("selector") is not None:
        out.append(forbidden(path, "name and selector are mutually exclusive"))
    elif not ref.get("name") and ref.get("selector") is None:
        out.append(required(path, "one of name or selector must be set"))
    _selector(out, ref.get("selector"), f"{path}.selector")
    _one_of(out, ref, "parameterNotFoundAction", path, NOT_FOUND_ACTIONS, need=True)


def validate_policy_binding(out: Causes, obj: Obj) -> None:
    spec = _d(obj, "spec")
    if not spec.get("policyName"):
        out.append(required("spec.policyName"))
    actions = _l(spec, "validationActions")
    if not actions:
        out.append(required("spec.validationActions", "at least one validation action "
                            "is required"))
    seen: set[str] = set()
    for i, action in enumerate(actions):
        p = f"spec.validationActions[{i}]"
        if action not in VALIDATION_ACTIONS:
            out.append(not_supported(p, action, VALIDATION_ACTIONS))
        elif action in seen:
            out.append(duplicate(p, action))
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        out.append(invalid("spec.validationActions", actions, "must not contain both Deny "
                           "and Warn (repeating the same validation failure information in "
                           "the API response and headers serves no purpose)"))
    if spec.get("paramRef") is not None:
        _param_ref(out, _d(spec, "paramRef"), "spec.paramRef")
    if spec.get("matchResources") is not None:
        _match_resources(out, _d(spec, "matchResources"), "spec.matchResources",
                         need_rules=False)


def check(kind: str, out: Causes, obj: Obj) -> None:
    """Dispatch on kind (called by `api.validation` for this group)."""
    if kind == "MutatingWebhookConfiguration":
        validate_webhook_configuration(out, obj, mutating=True)
    elif kind == "ValidatingWebhookConfiguration":
        validate_webhook_configuration(out, obj, mutating=False)
    elif kind == "ValidatingAdmissionPolicy":
        validate_policy(out, obj)
    elif kind == "ValidatingAdmissionPolicyBinding":
        validate_policy_binding(out, obj)
