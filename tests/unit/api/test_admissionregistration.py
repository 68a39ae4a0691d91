"""Validation (and defaulting) of admissionregistration.k8s.io/v1 objects."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.api.defaults import apply_defaults
from kybernetes.api.registry import Registry
from kybernetes.api.tables import table
from kybernetes.api.validation import validate_create

REGISTRY = Registry.builtin()
GROUP = "admissionregistration.k8s.io"

HOOK: dict[str, Any] = {
    "name": "check.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
    "clientConfig": {"url": "https://hooks.example.com/check"},
    "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
               "resources": ["pods"]}],
}


def causes(plural: str, obj: dict[str, Any]) -> list[str]:
    info = REGISTRY.get(GROUP, "v1", plural)
    assert info is not None
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {"name": "x"})
    apply_defaults(info, obj)
    return [f"{c.field}: {c.message}" for c in validate_create(info, obj)]


def hook_causes(**change: Any) -> list[str]:
    hook = {**HOOK, **change}
    hook = {k: v for k, v in hook.items() if v is not None}
    return causes("validatingwebhookconfigurations", {"webhooks": [hook]})


def test_valid_webhook_configuration() -> None:
    assert hook_causes() == []


@pytest.mark.parametrize(("change", "cause"), [
    ({"name": "check"}, 'webhooks[0].name: Invalid value: "check": should be a domain with '
                        "at least three segments separated by dots"),
    ({"sideEffects": None}, "webhooks[0].sideEffects: Required value: must specify one of "
                            "None, NoneOnDryRun"),
    ({"sideEffects": "Some"}, 'webhooks[0].sideEffects: Unsupported value: "Some": supported '
                              'values: "None", "NoneOnDryRun"'),
    ({"admissionReviewVersions": None}, "webhooks[0].admissionReviewVersions: Required "
                                        "value: must specify one of v1, v1beta1"),
    ({"timeoutSeconds": 31}, "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout "
                             "value must be between 1 and 30 seconds"),
    ({"failurePolicy": "Maybe"}, 'webhooks[0].failurePolicy: Unsupported value: "Maybe": '
                                 'supported values: "Fail", "Ignore"'),
    ({"clientConfig": {}}, "webhooks[0].clientConfig: Required value: exactly one of url or "
                           "service is required"),
    ({"clientConfig": {"url": "http://h.example.com/x"}},
     "webhooks[0].clientConfig.url: Invalid value: \"http://h.example.com/x\": 'https' is "
     "the only allowed URL scheme"),
    ({"clientConfig": {"service": {"name": "s"}}},
     "webhooks[0].clientConfig.service.namespace: Required value: service namespace is "
     "required"),
    ({"rules": [{"operations": ["*", "CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                 "resources": ["pods"]}]},
     "webhooks[0].rules[0].operations: Invalid value: []string{\"*\", \"CREATE\"}: if '*' "
     "is present, must not specify other operations"),
    ({"rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                 "resources": ["*/*", "pods"]}]},
     "webhooks[0].rules[0].resources: Invalid value: []string{\"*/*\", \"pods\"}: if '*/*' "
     "is present, must not specify other resources"),
    ({"matchConditions": [{"name": "c", "expression": "object.("}]},
     'webhooks[0].matchConditions[0].expression: Invalid value: "object.(": compilation '
     "failed: ERROR: <input>: Syntax error: object.("),
], ids=["short-name", "side-effects-required", "side-effects-some", "review-versions",
        "timeout", "failure-policy", "client-config-empty", "http-url", "service-namespace",
        "star-operations", "star-star-resources", "match-condition-syntax"])
def test_invalid_webhook(change: dict[str, Any], cause: str) -> None:
    assert cause in hook_causes(**change)


def test_duplicate_webhook_names() -> None:
    got = causes("mutatingwebhookconfigurations", {"webhooks": [HOOK, HOOK]})
    assert got == ['webhooks[1].name: Duplicate value: "check.example.com"']


def test_webhook_defaults() -> None:
    info = REGISTRY.get(GROUP, "v1", "mutatingwebhookconfigurations")
    assert info is not None
    obj = {"metadata": {"name": "x"}, "webhooks": [copy.deepcopy(HOOK)]}
    apply_defaults(info, obj)
    hook = obj["webhooks"][0]
    assert (hook["failurePolicy"], hook["matchPolicy"], hook["timeoutSeconds"],
            hook["reinvocationPolicy"], hook["rules"][0]["scope"]) == (
        "Fail", "Equivalent", 10, "Never", "*")


POLICY: dict[str, Any] = {"spec": {
    "matchConstraints": {"resourceRules": [{"operations": ["CREATE"], "apiGroups": ["apps"],
                                            "apiVersions": ["v1"],
                                            "resources": ["deployments"]}]},
    "validations": [{"expression": "object.spec.replicas <= 5"}]}}


def test_policy_defaults_and_validation() -> None:
    info = REGISTRY.get(GROUP, "v1", "validatingadmissionpolicies")
    assert info is not None and info.subresource("status") is not None
    obj = copy.deepcopy(POLICY)
    apply_defaults(info, obj)
    assert obj["spec"]["failurePolicy"] == "Fail"
    assert obj["spec"]["matchConstraints"]["matchPolicy"] == "Equivalent"
    assert causes("validatingadmissionpolicies", POLICY) == []


@pytest.mark.parametrize(("spec", "cause"), [
    ({"matchConstraints": None}, "spec.matchConstraints: Required value"),
    ({"validations": []}, "spec.validations: Required value: validations or "
                          "auditAnnotations must contain at least one item"),
    ({"validations": [{"expression": "object.spec.replicas <= 5", "reason": "Nope"}]},
     'spec.validations[0].reason: Unsupported value: "Nope": supported values: "Forbidden", '
     '"Invalid", "RequestEntityTooLarge", "Unauthorized"'),
    ({"validations": [{"expression": "1 +"}]},
     'spec.validations[0].expression: Invalid value: "1 +": compilation failed'),
    ({"variables": [{"name": "not valid", "expression": "1"}]},
     'spec.variables[0].name: Invalid value: "not valid": name is not a valid CEL '
     "identifier"),
    ({"paramKind": {"kind": "ConfigMap"}}, "spec.paramKind.apiVersion: Required value"),
], ids=["match-constraints", "validations", "reason", "syntax", "variable-name",
        "param-kind"])
def test_invalid_policy(spec: dict[str, Any], cause: str) -> None:
    obj = copy.deepcopy(POLICY)
    obj["spec"].update(spec)
    obj["spec"] = {k: v for k, v in obj["spec"].items() if v is not None}
    assert any(c.startswith(cause) for c in causes("validatingadmissionpolicies", obj)), \
        causes("validatingadmissionpolicies", obj)


@pytest.mark.parametrize(("spec", "cause"), [
    ({"policyName": "p", "validationActions": ["Deny"]}, None),
    ({"validationActions": ["Deny"]}, "spec.policyName: Required value"),
    ({"policyName": "p"}, "spec.validationActions: Required value"),
    ({"policyName": "p", "validationActions": ["Deny", "Warn"]},
     "spec.validationActions: Invalid value: []string{\"Deny\", \"Warn\"}: must not contain "
     "both Deny and Warn"),
    ({"policyName": "p", "validationActions": ["Block"]},
     'spec.validationActions[0]: Unsupported value: "Block"'),
    ({"policyName": "p", "validationActions": ["Deny"], "paramRef": {"name": "x"}},
     "spec.paramRef.parameterNotFoundAction: Required value"),
    ({"policyName": "p", "validationActions": ["Deny"],
      "paramRef": {"name": "x", "selector": {}, "parameterNotFoundAction": "Deny"}},
     "spec.paramRef: Forbidden: name and selector are mutually exclusive"),
], ids=["valid", "policy-name", "actions", "deny-and-warn", "unknown-action",
        "not-found-action", "name-and-selector"])
def test_binding_validation(spec: dict[str, Any], cause: str | None) -> None:
    got = causes("validatingadmissionpolicybindings", {"spec": spec})
    if cause is None:
        assert got == []
    else:
        assert any(c.startswith(cause) for c in got), got


def test_policy_and_binding_tables() -> None:
    now = datetime.now(UTC)
    pol = REGISTRY.get(GROUP, "v1", "validatingadmissionpolicies")
    bind = REGISTRY.get(GROUP, "v1", "validatingadmissionpolicybindings")
    assert pol is not None and bind is not None
    t = table(pol, [{"metadata": {"name": "p"}, "spec": {
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "validations": [{"expression": "true"}]}}], now=now)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Validations",
                                                           "ParamKind", "Age"]
    assert t["rows"][0]["cells"][:3] == ["p", 1, "v1/ConfigMap"]
    t = table(bind, [{"metadata": {"name": "b"}, "spec": {
        "policyName": "p", "paramRef": {"name": "limits"}}}], now=now)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "PolicyName", "ParamRef",
                                                           "Age"]
    assert t["rows"][0]["cells"][:3] == ["b", "p", "*/limits"]
