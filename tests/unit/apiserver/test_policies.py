"""ValidatingAdmissionPolicy: decisions, messages, actions, params, failure policy."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import Registry
from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.admission_cel import Activation
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.policies import (
    Binding,
    Policy,
    ValidatingAdmissionPolicies,
    load,
    validate,
)
from kybernetes.apiserver.watchcache import CachedObject

Obj = dict[str, Any]
RULES = [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
          "resources": ["deployments"], "scope": "*"}]


def policy_obj(name: str = "p", *validations: Obj, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {
        "failurePolicy": "Fail", "matchConstraints": {
            "resourceRules": RULES, "namespaceSelector": {}, "objectSelector": {},
            "matchPolicy": "Equivalent"},
        "validations": list(validations), **spec}}


def binding_obj(name: str = "b", policy: str = "p", actions: tuple[str, ...] = ("Deny",),
                **spec: Any) -> Obj:
    return {"metadata": {"name": name},
            "spec": {"policyName": policy, "validationActions": list(actions), **spec}}


def deployment(replicas: int, name: str = "web") -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}},
            "spec": {"replicas": replicas}}


def act(obj: Obj, params: Obj | None = None) -> Activation:
    return Activation(obj, None, {"operation": "CREATE"}, params=params)


@pytest.mark.parametrize(("validation", "message", "reason"), [
    ({"expression": "object.spec.replicas <= 5"},
     "failed expression: object.spec.replicas <= 5", "Invalid"),
    ({"expression": "object.spec.replicas <= 5", "message": "too many"}, "too many", "Invalid"),
    ({"expression": "object.spec.replicas <= 5", "message": "too many",
      "messageExpression": "'replicas: ' + string(object.spec.replicas)",
      "reason": "Forbidden"}, "replicas: 6", "Forbidden"),
    ({"expression": "object.spec.replicas <= 5", "message": "fallback",
      "messageExpression": "object.spec.nope"}, "fallback", "Invalid"),
    ({"expression": "object.spec.replicas <= 5", "message": "fallback",
      "messageExpression": "'two\\nlines'"}, "fallback", "Invalid"),
], ids=["expression", "message", "message-expression", "message-expression-error",
        "multi-line-message"])
def test_failed_validation_message(validation: Obj, message: str, reason: str) -> None:
    decisions = validate(Policy.of(policy_obj("p", validation)), act(deployment(6)))
    assert [(d.message, d.reason) for d in decisions] == [(message, reason)]
    assert validate(Policy.of(policy_obj("p", validation)), act(deployment(5))) == []


@pytest.mark.parametrize(("failure_policy", "denied"), [("Fail", True), ("Ignore", False)])
def test_evaluation_error_follows_failure_policy(failure_policy: str, denied: bool) -> None:
    pol = Policy.of(policy_obj("p", {"expression": "object.spec.missing > 1"},
                               failurePolicy=failure_policy))
    decisions = validate(pol, act(deployment(1)))
    assert bool(decisions) is denied
    if denied:
        assert decisions[0].message == ("expression 'object.spec.missing > 1' resulted in "
                                        "error: no such key: missing")


def test_variables_compose_in_order() -> None:
    pol = Policy.of(policy_obj(
        "p", {"expression": "variables.doubled <= 10"},
        variables=[{"name": "replicas", "expression": "object.spec.replicas"},
                   {"name": "doubled", "expression": "variables.replicas * 2"}]))
    assert validate(pol, act(deployment(5))) == []
    assert len(validate(pol, act(deployment(6)))) == 1


def test_failing_variable_reports_its_own_error() -> None:
    pol = Policy.of(policy_obj("p", {"expression": "variables.broken > 1"},
                               variables=[{"name": "broken", "expression": "object.nope"}]))
    [decision] = validate(pol, act(deployment(1)))
    assert decision.message == "expression 'object.nope' resulted in error: no such key: nope"


def test_false_match_condition_skips_the_policy() -> None:
    pol = Policy.of(policy_obj("p", {"expression": "false"}, matchConditions=[
        {"name": "web-only", "expression": "object.metadata.labels.app == 'db'"}]))
    assert validate(pol, act(deployment(1))) == []


def test_params_are_visible() -> None:
    pol = Policy.of(policy_obj("p", {"expression": "object.spec.replicas <= params.max"}))
    assert validate(pol, act(deployment(3), {"max": 3})) == []
    assert len(validate(pol, act(deployment(4), {"max": 3}))) == 1


def test_load_pairs_policies_with_their_bindings_by_name() -> None:
    hooks = load([policy_obj("b-policy"), policy_obj("a-policy"), policy_obj("unbound")],
                 [binding_obj("z", "a-policy"), binding_obj("y", "a-policy"),
                  binding_obj("x", "b-policy")])
    assert [(p.name, [b.name for b in bs]) for p, bs in hooks] == [
        ("a-policy", ["y", "z"]), ("b-policy", ["x"])]


# --- the plug-in -----------------------------------------------------------------------------


class FakeSource:
    def __init__(self, policies: list[Obj], bindings: list[Obj]) -> None:
        self._hooks = load(policies, bindings)

    def hooks(self) -> list[tuple[Policy, list[Binding]]]:
        return self._hooks


def fake_cache(*objs: tuple[str, Obj]) -> Any:
    caches: dict[str, Any] = {}
    for key, obj in objs:
        prefix = key.rsplit("/", 2)[0] + "/"
        caches.setdefault(prefix, SimpleNamespace(objects={})).objects[key] = CachedObject(
            key, obj, 1)
    return SimpleNamespace(caches=caches)


async def _namespace(name: str) -> Obj | None:
    return {"metadata": {"name": name, "labels": {"team": "a"}}}


def plugin(policies: list[Obj], bindings: list[Obj], cache: Any = None
           ) -> ValidatingAdmissionPolicies:
    p = ValidatingAdmissionPolicies(cache=cache or fake_cache(), registry=Registry.builtin(),
                                    namespace_lookup=_namespace)
    p.source = FakeSource(policies, bindings)  # type: ignore[assignment]
    return p


def deploy_request(replicas: int, **kw: Any) -> AdmissionRequest:
    base: Obj = {"operation": Operation.CREATE, "group": "apps", "version": "v1",
                 "resource": "deployments", "kind": "Deployment", "namespaced": True,
                 "user": UserInfo("alice"), "namespace": "ns", "name": "web",
                 "obj": deployment(replicas)}
    base.update(kw)
    return AdmissionRequest(**base)


def test_deny_answers_with_upstream_message() -> None:
    p = plugin([policy_obj("max", {"expression": "object.spec.replicas <= 5"})],
               [binding_obj("max-binding", "max")])
    with pytest.raises(StatusError) as err:
        asyncio.run(p.validate(deploy_request(6)))
    assert (err.value.code, err.value.reason) == (422, "Invalid")
    assert err.value.message == (
        "deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'max' with binding "
        "'max-binding' denied request: failed expression: object.spec.replicas <= 5")
    asyncio.run(p.validate(deploy_request(5)))


def test_warn_and_audit_do_not_deny() -> None:
    p = plugin([policy_obj("max", {"expression": "object.spec.replicas <= 5",
                                   "message": "too many"})],
               [binding_obj("warn", "max", ("Warn", "Audit"))])
    req = deploy_request(6)
    asyncio.run(p.validate(req))
    assert req.warnings == ["Validation failed for ValidatingAdmissionPolicy 'max' with "
                            "binding 'warn': too many"]


def test_binding_match_resources_narrow_the_policy() -> None:
    p = plugin([policy_obj("max", {"expression": "false"})],
               [binding_obj("other-ns", "max", matchResources={
                   "namespaceSelector": {"matchLabels": {"team": "b"}}})])
    asyncio.run(p.validate(deploy_request(1)))  # the namespace has team=a


def test_requests_outside_the_rules_are_not_checked() -> None:
    p = plugin([policy_obj("max", {"expression": "false"})], [binding_obj("b", "max")])
    asyncio.run(p.validate(deploy_request(1, operation=Operation.DELETE, obj=None,
                                          old_obj=deployment(1))))
    asyncio.run(p.validate(deploy_request(1, subresource="scale")))


PARAM_POLICY = policy_obj("limits", {"expression": "object.spec.replicas <= "
                                                   "int(params.data.max)"},
                          paramKind={"apiVersion": "v1", "kind": "ConfigMap"})


def test_params_from_the_cache() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "limits", "namespace": "ns"}, "data": {"max": "2"}}
    cache = fake_cache(("/registry/configmaps/ns/limits", cm))
    p = plugin([PARAM_POLICY], [binding_obj("b", "limits", paramRef={
        "name": "limits", "parameterNotFoundAction": "Deny"})], cache)
    asyncio.run(p.validate(deploy_request(2)))
    with pytest.raises(StatusError):
        asyncio.run(p.validate(deploy_request(3)))


@pytest.mark.parametrize(("action", "denied"), [("Deny", True), ("Allow", False)])
def test_missing_params(action: str, denied: bool) -> None:
    p = plugin([PARAM_POLICY], [binding_obj("b", "limits", paramRef={
        "name": "absent", "parameterNotFoundAction": action})])
    if not denied:
        asyncio.run(p.validate(deploy_request(9)))
        return
    with pytest.raises(StatusError) as err:
        asyncio.run(p.validate(deploy_request(9)))
    assert err.value.message.endswith(
        "ValidatingAdmissionPolicy 'limits' with binding 'b' denied request: failed to "
        "configure binding: no params found for policy binding with `Deny` "
        "parameterNotFoundAction")
