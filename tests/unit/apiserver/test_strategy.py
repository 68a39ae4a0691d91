"""Write rules around defaulting and validation: system metadata, generation, status."""

from __future__ import annotations

import pytest

from kybernetes.api.registry import Registry
from kybernetes.apiserver import strategy

REG = Registry.builtin()
DEPLOY = REG.get("apps", "v1", "deployments")
POD = REG.get("", "v1", "pods")
NS = REG.get("", "v1", "namespaces")


def deployment(replicas: int = 1, image: str = "nginx") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "ns", "labels": {"a": "b"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
            "status": {"replicas": 7}}


def test_create_sets_system_fields_and_drops_status() -> None:
    obj = deployment()
    obj["metadata"]["resourceVersion"] = "5"
    strategy.prepare_create(DEPLOY, obj, uid="u1", now="2026-01-01T00:00:00Z")
    assert obj["metadata"]["uid"] == "u1"
    assert obj["metadata"]["generation"] == 1
    assert "resourceVersion" not in obj["metadata"]
    assert "status" not in obj


def test_pod_create_status_and_no_generation() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "image": "i", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}
    strategy.prepare_create(POD, pod, uid="u", now="t")
    assert pod["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}
    assert "generation" not in pod["metadata"]


def test_namespace_create_is_active_with_finalizer() -> None:
    ns = {"metadata": {"name": "x"}}
    strategy.prepare_create(NS, ns, uid="u", now="t")
    assert ns["status"] == {"phase": "Active"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}


@pytest.mark.parametrize(("change", "generation"), [
    pytest.param(lambda o: o["spec"].update(replicas=3), 2, id="spec-change-bumps"),
    pytest.param(lambda o: o["metadata"]["labels"].update(x="y"), 1, id="label-change-keeps"),
    pytest.param(lambda o: o["status"].update(replicas=1), 1, id="status-ignored"),
])
def test_update_generation(change, generation: int) -> None:
    old = deployment()
    strategy.prepare_create(DEPLOY, old, uid="u1", now="t0")
    old["status"] = {"replicas": 2}
    new = deployment()
    new["metadata"]["uid"] = "forged"
    change(new)
    strategy.prepare_update(DEPLOY, new, old)
    assert new["metadata"]["generation"] == generation
    assert new["metadata"]["uid"] == "u1"
    assert new["status"] == {"replicas": 2}  # the main resource never writes status


def test_status_update_keeps_spec() -> None:
    old = deployment(replicas=2)
    new = deployment(replicas=9)
    new["status"] = {"replicas": 2, "readyReplicas": 2}
    out = strategy.prepare_status_update(DEPLOY, new, old)
    assert out["spec"]["replicas"] == 2
    assert out["status"] == {"replicas": 2, "readyReplicas": 2}


def test_deployment_status_update_writes_annotations_not_labels() -> None:
    # deploymentStatusStrategy: the controller sets the revision annotation via UpdateStatus.
    old = deployment()
    new = deployment()
    new["metadata"]["labels"] = {"forged": "x"}
    new["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    out = strategy.prepare_status_update(DEPLOY, new, old)
    assert out["metadata"]["labels"] == {"a": "b"}
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "2"}


@pytest.mark.parametrize(("spec", "qos"), [
    ({"containers": [{"name": "c"}]}, "BestEffort"),
    ({"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}, "Burstable"),
    ({"containers": [{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1"},
                                                  "requests": {"cpu": "1"}}}]}, "Guaranteed"),
], ids=["best-effort", "burstable", "guaranteed"])
def test_qos_class(spec: dict, qos: str) -> None:
    assert strategy.qos_class(spec) == qos


def test_scale_view() -> None:
    d = deployment(replicas=3)
    d["metadata"].update(uid="u", resourceVersion="9")
    scale = strategy.scale_of(DEPLOY, d)
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 7, "selector": "a=b"}
    assert scale["metadata"]["resourceVersion"] == "9"


def test_generate_name() -> None:
    name = strategy.generate_name("web-")
    assert name.startswith("web-") and len(name) == 9
