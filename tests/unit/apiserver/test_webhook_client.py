"""Where a webhook is: clientConfig.url, or a Service resolved through its endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.apiserver.webhook_client import CallError, Destination, WebhookClient

Obj = dict[str, Any]

SERVICE = {"metadata": {"name": "hook", "namespace": "sys"},
           "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]}}
ENDPOINTS = {"metadata": {"name": "hook", "namespace": "sys"},
             "subsets": [{"addresses": [{"ip": "10.0.0.7"}],
                          "ports": [{"name": "https", "port": 8443}]}]}
SLICE = {"metadata": {"name": "hook-abc", "namespace": "sys",
                      "labels": {"kubernetes.io/service-name": "hook"}},
         "ports": [{"name": "https", "port": 9443}],
         "endpoints": [{"addresses": ["10.0.0.9"], "conditions": {"ready": True}}]}


def client(objects: dict[str, Obj]) -> WebhookClient:
    def lookup(key: str) -> Obj | None:
        return objects.get(key)

    def list_prefix(prefix: str) -> list[Obj]:
        return [o for k, o in objects.items() if k.startswith(prefix)]

    return WebhookClient(lookup, list_prefix)


REF = {"service": {"name": "hook", "namespace": "sys", "path": "/validate"}}


def test_url_is_used_as_is() -> None:
    dest = client({}).destination({"url": "https://127.0.0.1:9000/x"})
    assert dest == Destination("https://127.0.0.1:9000/x", "https://127.0.0.1:9000/x")


def test_service_resolves_through_endpoints() -> None:
    dest = client({"/registry/services/sys/hook": SERVICE,
                   "/registry/endpoints/sys/hook": ENDPOINTS}).destination(REF)
    assert dest == Destination("https://hook.sys.svc:443/validate",
                               "https://10.0.0.7:8443/validate", "hook.sys.svc")


def test_service_resolves_through_endpoint_slices_without_endpoints() -> None:
    dest = client({"/registry/services/sys/hook": SERVICE,
                   "/registry/discovery.k8s.io/endpointslices/sys/hook-abc": SLICE,
                   }).destination(REF)
    assert dest.connect_url == "https://10.0.0.9:9443/validate"


@pytest.mark.parametrize(("objects", "message"), [
    ({}, 'services "hook" not found'),
    ({"/registry/services/sys/hook": SERVICE}, 'no endpoints available for service "hook"'),
    ({"/registry/services/sys/hook": {**SERVICE, "spec": {"ports": [{"port": 80}]}}},
     'no service port 443 found for service "hook"'),
], ids=["no-service", "no-endpoints", "no-port"])
def test_service_resolution_errors(objects: dict[str, Obj], message: str) -> None:
    with pytest.raises(CallError) as err:
        client(objects).destination(REF)
    assert str(err.value) == ('failed to call webhook: Post "https://hook.sys.svc:443/validate"'
                              f": {message}")


def test_bad_ca_bundle_is_a_call_error() -> None:
    with pytest.raises(CallError) as err:
        client({})._ssl("not base64!")
    assert str(err.value).startswith("could not get REST client: unable to load root")
