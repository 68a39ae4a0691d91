"""Which requests a webhook or policy applies to: rules, matchPolicy, selectors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import Registry
from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.admission_rules import (
    Target,
    is_exempt,
    match_rules,
    namespace_selector_matches,
    object_selector_matches,
    parse_selector,
    rule_matches,
)
from kybernetes.apiserver.authn import UserInfo

REGISTRY = Registry.builtin()


def make_request(resource: str = "pods", *, group: str = "", version: str = "v1",
                 kind: str = "Pod", op: Operation = Operation.CREATE, namespace: str = "ns",
                 subresource: str = "", name: str = "p", obj: Any = None, old: Any = None,
                 ) -> AdmissionRequest:
    return AdmissionRequest(operation=op, group=group, version=version, resource=resource,
                            kind=kind, namespaced=bool(namespace), user=UserInfo("alice"),
                            subresource=subresource, namespace=namespace, name=name,
                            obj=obj, old_obj=old)


def rule(resources: list[str], *, ops: tuple[str, ...] = ("*",), groups: tuple[str, ...] = ("",),
         versions: tuple[str, ...] = ("v1",), scope: str = "*") -> dict[str, Any]:
    return {"operations": list(ops), "apiGroups": list(groups), "apiVersions": list(versions),
            "resources": resources, "scope": scope}


POD = make_request()
POD_STATUS = make_request(subresource="status", op=Operation.UPDATE)
NAMESPACE = make_request("namespaces", kind="Namespace", namespace="", name="team",
                         op=Operation.UPDATE)
NODE = make_request("nodes", kind="Node", namespace="", name="n1")

RULES = [
    ("exact", rule(["pods"]), POD, True),
    ("other-resource", rule(["services"]), POD, False),
    ("star-resource", rule(["*"]), POD, True),
    ("star-is-main-resource-only", rule(["*"]), POD_STATUS, False),
    ("main-resource-not-subresource", rule(["pods"]), POD_STATUS, False),
    ("one-subresource", rule(["pods/status"]), POD_STATUS, True),
    ("one-subresource-not-main", rule(["pods/status"]), POD, False),
    ("resource-star-slash-star", rule(["pods/*"]), POD_STATUS, True),
    ("resource-slash-star-has-main", rule(["pods/*"]), POD, True),
    ("any-resource-status", rule(["*/status"]), POD_STATUS, True),
    ("everything", rule(["*/*"]), POD_STATUS, True),
    ("operation", rule(["pods"], ops=("UPDATE",)), POD, False),
    ("operation-listed", rule(["pods"], ops=("DELETE", "CREATE")), POD, True),
    ("group", rule(["pods"], groups=("apps",)), POD, False),
    ("group-star", rule(["pods"], groups=("*",)), POD, True),
    ("version", rule(["pods"], versions=("v2",)), POD, False),
    ("namespaced-scope", rule(["*"], scope="Namespaced"), POD, True),
    ("namespaced-scope-node", rule(["*"], scope="Namespaced"), NODE, False),
    ("namespaced-scope-namespace", rule(["*"], scope="Namespaced"), NAMESPACE, False),
    ("cluster-scope-node", rule(["*"], scope="Cluster"), NODE, True),
    ("cluster-scope-namespace", rule(["*"], scope="Cluster"), NAMESPACE, True),
    ("cluster-scope-pod", rule(["*"], scope="Cluster"), POD, False),
]


@pytest.mark.parametrize(("r", "req", "want"), [c[1:] for c in RULES],
                         ids=[c[0] for c in RULES])
def test_rule_matches(r: dict[str, Any], req: AdmissionRequest, want: bool) -> None:
    assert rule_matches(r, req) is want


EVENT = make_request("events", kind="Event", name="e")


def test_equivalent_version_matches_with_its_own_target() -> None:
    events_v1 = rule(["events"], groups=("events.k8s.io",))
    assert match_rules([events_v1], EVENT, REGISTRY) == Target(
        "events.k8s.io", "v1", "events", "Event")
    assert match_rules([events_v1], EVENT, REGISTRY, match_policy="Exact") is None


def test_own_version_wins_over_an_equivalent() -> None:
    rules = [rule(["events"], groups=("events.k8s.io",)), rule(["events"])]
    assert match_rules(rules, EVENT, REGISTRY) == Target.of(EVENT)


def test_named_rules_check_resource_names() -> None:
    named = {**rule(["pods"]), "resourceNames": ["p", "q"]}
    assert match_rules([named], POD, REGISTRY, named=True) == Target.of(POD)
    other = make_request(name="r")
    assert match_rules([named], other, REGISTRY, named=True) is None


@pytest.mark.parametrize("kind", [
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"])
def test_admission_configuration_is_exempt(kind: str) -> None:
    req = make_request("x", group="admissionregistration.k8s.io", kind=kind, namespace="")
    assert is_exempt(req)
    assert not is_exempt(POD)


def _labelled(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "x", "labels": labels}}


def test_object_selector_matches_new_or_old_object() -> None:
    sel = parse_selector({"matchLabels": {"app": "web"}})
    assert object_selector_matches(sel, make_request(obj=_labelled(app="web")))
    assert object_selector_matches(sel, make_request(op=Operation.DELETE,
                                                     old=_labelled(app="web")))
    assert not object_selector_matches(sel, make_request(obj=_labelled(app="db"),
                                                         old=_labelled(app="db")))
    assert object_selector_matches(parse_selector({}), make_request(obj={}))


NAMESPACES = {"team": {"metadata": {"name": "team", "labels": {"env": "prod"}}}}


async def _lookup(name: str) -> dict[str, Any] | None:
    return NAMESPACES.get(name)


def _ns_match(selector: dict[str, Any], req: AdmissionRequest) -> bool:
    return asyncio.run(namespace_selector_matches(parse_selector(selector), req, _lookup))


def test_empty_namespace_selector_needs_no_lookup() -> None:
    assert _ns_match({}, make_request(namespace="missing"))


def test_namespace_selector_reads_the_namespace_labels() -> None:
    sel = {"matchLabels": {"env": "prod"}}
    assert _ns_match(sel, make_request(namespace="team"))
    assert not _ns_match({"matchLabels": {"env": "dev"}}, make_request(namespace="team"))
    # Cluster-scoped objects are never exempted by a namespaceSelector.
    assert _ns_match(sel, NODE)
    # A Namespace being created or updated is judged by its own new labels.
    created = make_request("namespaces", kind="Namespace", namespace="", name="fresh",
                           obj=_labelled(env="prod"))
    assert _ns_match(sel, created)
    # A Namespace's own later requests look it up by name.
    assert _ns_match(sel, make_request("namespaces", kind="Namespace", namespace="",
                                       name="team", op=Operation.DELETE))


def test_namespace_selector_on_a_missing_namespace_is_not_found() -> None:
    with pytest.raises(StatusError) as err:
        _ns_match({"matchLabels": {"env": "prod"}}, make_request(namespace="gone"))
    assert err.value.code == 404 and err.value.message == 'namespaces "gone" not found'
