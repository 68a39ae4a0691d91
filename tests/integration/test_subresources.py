"""Subresources through the Python client: eviction (with PodDisruptionBudgets),
binding, service account tokens and namespace finalize."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from kybernetes.testing.server import ServerProcess

_names = itertools.count()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    srv = ServerProcess(tmp_path_factory.mktemp("subresources")).start()
    c = config.new_client_from_config(config_file=str(srv.kubeconfig))
    try:
        yield c
    finally:
        c.close()
        assert srv.stop() == 0
        assert "Traceback" not in srv.log_path.read_text()


@pytest.fixture
def ns(api: client.ApiClient) -> str:
    name = f"sub-{next(_names)}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def pod(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def eviction(name: str) -> dict:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}


def test_eviction_without_budget_deletes_the_pod(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, pod("p"))
    core.create_namespaced_pod_eviction("p", ns, eviction("p"))
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("p", ns)
    assert err.value.status == 404


def test_eviction_respects_the_disruption_budget(api: client.ApiClient, ns: str) -> None:
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    core.create_namespaced_pod(ns, pod("p1", app="web"))
    core.create_namespaced_pod(ns, pod("p2", app="web"))
    policy.create_namespaced_pod_disruption_budget(ns, {
        "metadata": {"name": "pdb"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    # The disruption controller has not observed the budget yet: no eviction.
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_eviction("p1", ns, eviction("p1"))
    assert err.value.status == 429
    status = {"observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 2,
              "desiredHealthy": 1, "expectedPods": 2}
    policy.patch_namespaced_pod_disruption_budget_status("pdb", ns, {"status": status})
    core.create_namespaced_pod_eviction("p1", ns, eviction("p1"))
    after = policy.read_namespaced_pod_disruption_budget("pdb", ns).status
    assert after.disruptions_allowed == 0
    assert "p1" in (after.disrupted_pods or {})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_eviction("p2", ns, eviction("p2"))
    assert err.value.status == 429
    body = json.loads(err.value.body)
    assert body["reason"] == "TooManyRequests"
    assert body["details"]["causes"][0]["reason"] == "DisruptionBudget"
    assert core.read_namespaced_pod("p2", ns).metadata.name == "p2"


def test_binding_sets_node_once(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, pod("p"))
    target = {"apiVersion": "v1", "kind": "Node", "name": "n1"}
    core.create_namespaced_pod_binding("p", ns, {"metadata": {"name": "p"}, "target": target},
                                       _preload_content=False)
    got = core.read_namespaced_pod("p", ns)
    assert got.spec.node_name == "n1"
    assert any(c.type == "PodScheduled" and c.status == "True"
               for c in got.status.conditions)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_binding("p", ns, {"metadata": {"name": "p"},
                                                     "target": target},
                                           _preload_content=False)
    assert err.value.status == 409


def test_service_account_token(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "bot"}})
    tr = core.create_namespaced_service_account_token(
        "bot", ns, {"spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"],
                             "expirationSeconds": 3600}})
    assert tr.status.token.count(".") == 2
    review = client.AuthenticationV1Api(api).create_token_review(
        {"spec": {"token": tr.status.token}})
    assert review.status.authenticated
    assert review.status.user.username == f"system:serviceaccount:{ns}:bot"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service_account_token("nobody", ns, {"spec": {}})
    assert err.value.status == 404


def test_namespace_finalize_and_terminating(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    name = f"fin-{next(_names)}"
    core.create_namespace({"metadata": {"name": name}})
    core.delete_namespace(name)
    got = core.read_namespace(name)
    assert got.status.phase == "Terminating"
    assert got.spec.finalizers == ["kubernetes"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(name, {"metadata": {"name": "c"}})
    assert err.value.status == 403
    got.spec.finalizers = []
    core.replace_namespace_finalize(name, got)
    with pytest.raises(ApiException) as err:
        core.read_namespace(name)
    assert err.value.status == 404


def test_patch_with_a_foreign_uid_is_a_conflict(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("c", ns, {"metadata": {"uid": "not-its-uid",
                                                                "labels": {"a": "b"}}})
    assert err.value.status == 409
    assert "Precondition failed: UID in precondition: not-its-uid" in err.value.body
    uid = core.read_namespaced_config_map("c", ns).metadata.uid
    core.patch_namespaced_config_map("c", ns, {"metadata": {"uid": uid, "labels": {"a": "b"}}})
    assert core.read_namespaced_config_map("c", ns).metadata.labels == {"a": "b"}
