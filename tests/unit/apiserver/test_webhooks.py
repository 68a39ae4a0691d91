"""The webhook plug-ins over an in-memory webhook client: order, patches, reinvocation,
failure policies, dry run, matchConditions."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import Registry
from kybernetes.apiserver.admission import AdmissionRequest, Operation
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.webhook_client import CallError
from kybernetes.apiserver.webhooks import (
    MutatingWebhooks,
    ValidatingWebhooks,
    Webhook,
    load_webhooks,
)

Obj = dict[str, Any]
Answer = Callable[[Obj], Obj]


class FakeClient:
    """Answers by URL; records the requests. An answer that is an exception is raised."""

    def __init__(self, answers: dict[str, Answer | Exception]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Obj]] = []

    async def post(self, client_config: Obj, body: bytes, timeout_seconds: int) -> bytes:
        url = client_config["url"]
        review = json.loads(body)
        self.calls.append((url, review["request"]))
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        response = {"uid": review["request"]["uid"], **answer(review["request"])}
        return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": response}).encode()

    def urls(self) -> list[str]:
        return [url for url, _ in self.calls]


class FakeSource:
    def __init__(self, configs: list[Obj]) -> None:
        self.hooks = load_webhooks(configs)

    def webhooks(self) -> list[Webhook]:
        return self.hooks


async def _no_namespace(name: str) -> Obj | None:
    return {"metadata": {"name": name, "labels": {}}}


def hook(name: str, url: str, **extra: Any) -> Obj:
    return {"name": name, "clientConfig": {"url": url}, "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "failurePolicy": "Fail",
            "rules": [{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
                       "resources": ["*"]}], **extra}


def config(name: str, *hooks: Obj) -> Obj:
    return {"metadata": {"name": name}, "webhooks": list(hooks)}


def mutating(configs: list[Obj], client: FakeClient) -> MutatingWebhooks:
    return MutatingWebhooks(source=FakeSource(configs), registry=Registry.builtin(),  # type: ignore[arg-type]
                            client=client, namespace_lookup=_no_namespace)  # type: ignore[arg-type]


def validating(configs: list[Obj], client: FakeClient) -> ValidatingWebhooks:
    return ValidatingWebhooks(source=FakeSource(configs), registry=Registry.builtin(),  # type: ignore[arg-type]
                              client=client, namespace_lookup=_no_namespace)  # type: ignore[arg-type]


def configmap_request(**kw: Any) -> AdmissionRequest:
    base: Obj = {"operation": Operation.CREATE, "group": "", "version": "v1",
                 "resource": "configmaps", "kind": "ConfigMap", "namespaced": True,
                 "user": UserInfo("alice"), "namespace": "ns", "name": "cm",
                 "obj": {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "cm", "namespace": "ns"}}}
    base.update(kw)
    return AdmissionRequest(**base)


def add_label(key: str, value: str) -> Answer:
    def answer(req: Obj) -> Obj:
        labels = req["object"]["metadata"].get("labels")
        ops = [] if labels is not None else [{"op": "add", "path": "/metadata/labels",
                                               "value": {}}]
        if (labels or {}).get(key) == value:
            return {"allowed": True}
        ops.append({"op": "add", "path": f"/metadata/labels/{key}", "value": value})
        return {"allowed": True, "patchType": "JSONPatch",
                "patch": base64.b64encode(json.dumps(ops).encode()).decode()}
    return answer


def allow(req: Obj) -> Obj:
    return {"allowed": True}


def test_mutating_hooks_run_by_configuration_name_and_patch_in_order() -> None:
    client = FakeClient({"https://a": add_label("first", "a"),
                         "https://b": add_label("second", "b")})
    plugin = mutating([config("z-config", hook("b.example.com", "https://b")),
                       config("a-config", hook("a.example.com", "https://a"))], client)
    req = configmap_request()
    asyncio.run(plugin.admit(req))
    assert client.urls() == ["https://a", "https://b"]
    assert req.obj is not None
    assert req.obj["metadata"]["labels"] == {"first": "a", "second": "b"}
    # The second hook saw the first one's patch.
    assert client.calls[1][1]["object"]["metadata"]["labels"] == {"first": "a"}


def test_reinvocation_if_needed_reruns_a_hook_after_a_later_change() -> None:
    client = FakeClient({"https://a": allow, "https://b": add_label("b", "1")})
    plugin = mutating([config("cfg", hook("a.example.com", "https://a",
                                          reinvocationPolicy="IfNeeded"),
                              hook("b.example.com", "https://b"))], client)
    asyncio.run(plugin.admit(configmap_request()))
    assert client.urls() == ["https://a", "https://b", "https://a"]


def test_no_reinvocation_with_policy_never() -> None:
    client = FakeClient({"https://a": allow, "https://b": add_label("b", "1")})
    plugin = mutating([config("cfg", hook("a.example.com", "https://a"),
                              hook("b.example.com", "https://b"))], client)
    asyncio.run(plugin.admit(configmap_request()))
    assert client.urls() == ["https://a", "https://b"]


def test_call_error_fails_closed_or_open() -> None:
    down = CallError('failed to call webhook: Post "https://down?timeout=10s": boom')
    client = FakeClient({"https://down": down, "https://ok": allow})
    plugin = validating([config("c", hook("down.example.com", "https://down"))], client)
    with pytest.raises(StatusError) as err:
        asyncio.run(plugin.validate(configmap_request()))
    assert err.value.code == 500 and err.value.reason == "InternalError"
    assert err.value.message == ('Internal error occurred: failed calling webhook '
                                 '"down.example.com": failed to call webhook: Post '
                                 '"https://down?timeout=10s": boom')
    lenient = validating([config("c", hook("down.example.com", "https://down",
                                           failurePolicy="Ignore"))], client)
    asyncio.run(lenient.validate(configmap_request()))


def test_denial_carries_the_webhook_status() -> None:
    def deny(req: Obj) -> Obj:
        return {"allowed": False, "status": {"code": 403, "reason": "Forbidden",
                                             "message": "not today"}}
    plugin = validating([config("c", hook("no.example.com", "https://no"))],
                        FakeClient({"https://no": deny}))
    with pytest.raises(StatusError) as err:
        asyncio.run(plugin.validate(configmap_request()))
    assert (err.value.code, err.value.reason) == (403, "Forbidden")
    assert err.value.message == 'admission webhook "no.example.com" denied the request: ' \
                                "not today"


def test_warnings_reach_the_request() -> None:
    def warn(req: Obj) -> Obj:
        return {"allowed": True, "warnings": ["heads up"]}
    req = configmap_request()
    asyncio.run(validating([config("c", hook("w.example.com", "https://w"))],
                           FakeClient({"https://w": warn})).validate(req))
    assert req.warnings == ["heads up"]


def test_dry_run_needs_side_effect_free_hooks() -> None:
    client = FakeClient({"https://s": allow})
    plugin = validating([config("c", hook("s.example.com", "https://s",
                                          sideEffects="Some"))], client)
    with pytest.raises(StatusError) as err:
        asyncio.run(plugin.validate(configmap_request(dry_run=True)))
    assert err.value.code == 400
    assert err.value.message == 'admission webhook "s.example.com" does not support dry run'
    assert client.calls == []
    asyncio.run(plugin.validate(configmap_request()))  # not a dry run: called
    assert client.urls() == ["https://s"]


@pytest.mark.parametrize(("expression", "policy", "called", "error"), [
    ("object.metadata.name == 'cm'", "Fail", True, None),
    ("object.metadata.name == 'other'", "Fail", False, None),
    ("object.metadata.missing == 'x'", "Ignore", False, None),
    ("object.metadata.missing == 'x'", "Fail", False,
     "configmaps \"cm\" is forbidden: expression 'object.metadata.missing == 'x'' resulted "
     "in error: no such key: missing"),
], ids=["true", "false", "error-ignore", "error-fail"])
def test_match_conditions(expression: str, policy: str, called: bool, error: str | None
                          ) -> None:
    client = FakeClient({"https://m": allow})
    plugin = validating([config("c", hook("m.example.com", "https://m", failurePolicy=policy,
                                          matchConditions=[{"name": "c",
                                                            "expression": expression}]))],
                        client)
    if error is None:
        asyncio.run(plugin.validate(configmap_request()))
    else:
        with pytest.raises(StatusError) as err:
            asyncio.run(plugin.validate(configmap_request()))
        assert err.value.code == 403 and err.value.message == error
    assert bool(client.calls) is called


def test_admission_configurations_are_never_sent_to_webhooks() -> None:
    client = FakeClient({"https://a": allow})
    plugin = validating([config("c", hook("a.example.com", "https://a"))], client)
    req = configmap_request(group="admissionregistration.k8s.io",
                            resource="validatingwebhookconfigurations",
                            kind="ValidatingWebhookConfiguration", namespace="",
                            namespaced=False)
    asyncio.run(plugin.validate(req))
    assert client.calls == []


def test_patch_on_delete_is_refused() -> None:
    ops = base64.b64encode(b'[{"op": "add", "path": "/x", "value": 1}]').decode()
    client = FakeClient({"https://a": lambda req: {"allowed": True, "patchType": "JSONPatch",
                                                    "patch": ops}})
    plugin = mutating([config("c", hook("a.example.com", "https://a"))], client)
    req = configmap_request(operation=Operation.DELETE, obj=None,
                            old_obj={"metadata": {"name": "cm"}})
    with pytest.raises(StatusError) as err:
        asyncio.run(plugin.admit(req))
    assert err.value.code == 500
    assert "attempted to modify the object, which is not supported" in err.value.message
