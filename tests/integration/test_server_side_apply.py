"""Server-side apply and managed fields, driven by the real kubectl and the Python client.

One server for the module (the `kyb` fixture); every test works in a namespace of its
own, so the tests run in any order and in parallel. Nothing sleeps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from kybernetes.testing.server import ServerProcess

Obj = dict[str, Any]

APPLY = "application/apply-patch+yaml"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def deployment(name: str, *, replicas: int = 2, labels: dict[str, str] | None = None,
               image: str = "nginx:1.25") -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels if labels is not None else {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                {"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}},
        },
    }


def write(tmp_path: Path, name: str, obj: Obj) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(obj, sort_keys=False))
    return str(path)


def get(kyb: ServerProcess, ns: str, *args: str) -> Obj:
    return json.loads(kyb.kubectl("get", "-n", ns, *args, "-o", "json",
                                  "--show-managed-fields").stdout)


def managers(obj: Obj) -> list[tuple[str, str]]:
    return sorted((e["manager"], e["operation"]) for e in obj["metadata"]["managedFields"])


def owners(obj: Obj, *path: str) -> list[str]:
    """Managers whose field set holds `path` (FieldsV1 element names)."""
    out = []
    for e in obj["metadata"]["managedFields"]:
        node = e["fieldsV1"]
        for pe in path:
            node = node.get(pe) if isinstance(node, dict) else None
        if node is not None:
            out.append(e["manager"])
    return sorted(out)


@pytest.fixture(scope="module")
def api(kyb: ServerProcess) -> Iterator[client.ApiClient]:
    c = config.new_client_from_config(config_file=str(kyb.kubeconfig))
    yield c
    c.close()


# --- kubectl apply --server-side -----------------------------------------------------------

def test_two_managers_conflict_until_forced(kyb: ServerProcess, ns: str,
                                            tmp_path: Path) -> None:
    first = write(tmp_path, "first.yaml", deployment("web", replicas=2))
    out = kyb.kubectl("apply", "--server-side", "-n", ns, "-f", first)
    assert "deployment.apps/web serverside-applied" in out.stdout

    second = write(tmp_path, "second.yaml", deployment("web", replicas=3))
    res = kyb.kubectl("apply", "--server-side", "--field-manager=other", "-n", ns,
                      "-f", second, check=False)
    assert res.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in res.stderr
    assert get(kyb, ns, "deployment", "web")["spec"]["replicas"] == 2

    kyb.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts",
                "-n", ns, "-f", second)
    obj = get(kyb, ns, "deployment", "web")
    assert obj["spec"]["replicas"] == 3
    assert managers(obj) == [("kubectl", "Apply"), ("other", "Apply")]
    assert owners(obj, "f:spec", "f:replicas") == ["other"]
    assert owners(obj, "f:spec", "f:selector") == ["kubectl", "other"]


def test_same_value_is_shared_without_conflict(kyb: ServerProcess, ns: str,
                                               tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", deployment("shared"))
    kyb.kubectl("apply", "--server-side", "-n", ns, "-f", path)
    kyb.kubectl("apply", "--server-side", "--field-manager=other", "-n", ns, "-f", path)
    obj = get(kyb, ns, "deployment", "shared")
    assert owners(obj, "f:spec", "f:replicas") == ["kubectl", "other"]


def test_removing_a_field_from_the_configuration_removes_it(kyb: ServerProcess, ns: str,
                                                             tmp_path: Path) -> None:
    full = deployment("trim", labels={"app": "trim", "tier": "front"})
    full["metadata"]["annotations"] = {"note": "x"}
    kyb.kubectl("apply", "--server-side", "-n", ns, "-f", write(tmp_path, "a.yaml", full))
    rv = get(kyb, ns, "deployment", "trim")["metadata"]["resourceVersion"]

    # Re-applying the same configuration is a no-op.
    kyb.kubectl("apply", "--server-side", "-n", ns, "-f", write(tmp_path, "a.yaml", full))
    assert get(kyb, ns, "deployment", "trim")["metadata"]["resourceVersion"] == rv

    kyb.kubectl("apply", "--server-side", "-n", ns,
                "-f", write(tmp_path, "b.yaml", deployment("trim")))
    obj = get(kyb, ns, "deployment", "trim")
    assert obj["metadata"]["labels"] == {"app": "trim"}
    assert "note" not in (obj["metadata"].get("annotations") or {})
    assert obj["metadata"]["resourceVersion"] != rv


def test_diff_shows_the_change_without_persisting(kyb: ServerProcess, ns: str,
                                                  tmp_path: Path) -> None:
    kyb.kubectl("apply", "--server-side", "-n", ns,
                "-f", write(tmp_path, "d.yaml", deployment("diffed", replicas=2)))
    before = get(kyb, ns, "deployment", "diffed")

    changed = write(tmp_path, "d2.yaml", deployment("diffed", replicas=5))
    res = kyb.kubectl("diff", "--server-side", "-n", ns, "-f", changed, check=False)
    assert res.returncode == 1, res.stderr  # 1: there are differences
    assert "-  replicas: 2" in res.stdout and "+  replicas: 5" in res.stdout

    new = write(tmp_path, "new.yaml", deployment("brand-new"))
    res = kyb.kubectl("diff", "--server-side", "-n", ns, "-f", new, check=False)
    assert res.returncode == 1, res.stderr
    assert "+  name: brand-new" in res.stdout

    after = get(kyb, ns, "deployment", "diffed")
    assert after["spec"]["replicas"] == 2
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    missing = kyb.kubectl("get", "-n", ns, "deployment", "brand-new", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr

    same = kyb.kubectl("diff", "--server-side", "-n", ns,
                       "-f", write(tmp_path, "d.yaml", deployment("diffed", replicas=2)),
                       check=False)
    assert same.returncode == 0, same.stdout + same.stderr


def test_server_side_dry_run_persists_nothing(kyb: ServerProcess, ns: str,
                                              tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", deployment("dry"))
    out = kyb.kubectl("apply", "--server-side", "--dry-run=server", "-n", ns, "-f", path)
    assert "serverside-applied (server dry run)" in out.stdout
    res = kyb.kubectl("get", "-n", ns, "deployment", "dry", check=False)
    assert res.returncode != 0


def test_client_side_apply_then_server_side_apply(kyb: ServerProcess, ns: str,
                                                  tmp_path: Path) -> None:
    kyb.kubectl("apply", "-n", ns, "-f", write(tmp_path, "csa.yaml", deployment(
        "migrate", replicas=2, labels={"app": "migrate", "tier": "front"})))
    obj = get(kyb, ns, "deployment", "migrate")
    assert managers(obj) == [("kubectl-client-side-apply", "Update")]

    # kubectl's first server-side apply takes over what client-side apply claimed, even
    # a changed value, and migrates the old manager's fields: a field dropped from the
    # configuration (the tier label) goes away.
    kyb.kubectl("apply", "--server-side", "-n", ns,
                "-f", write(tmp_path, "ssa.yaml", deployment("migrate", replicas=4)))
    obj = get(kyb, ns, "deployment", "migrate")
    assert obj["spec"]["replicas"] == 4
    assert obj["metadata"]["labels"] == {"app": "migrate"}
    assert managers(obj) == [("kubectl", "Apply"), ("kubectl-last-applied", "Apply")]
    last = json.loads(obj["metadata"]["annotations"][LAST_APPLIED])
    assert last["spec"]["replicas"] == 4


def test_another_manager_conflicts_with_client_side_apply(kyb: ServerProcess, ns: str,
                                                          tmp_path: Path) -> None:
    kyb.kubectl("apply", "-n", ns, "-f", write(tmp_path, "csa.yaml", deployment("csa")))
    res = kyb.kubectl("apply", "--server-side", "--field-manager=ssa", "-n", ns,
                      "-f", write(tmp_path, "ssa.yaml", deployment("csa", replicas=7)),
                      check=False)
    assert res.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
            'apps/v1: .spec.replicas') in res.stderr


# --- managed fields of every write ---------------------------------------------------------

def test_managed_fields_of_updates(kyb: ServerProcess, ns: str) -> None:
    kyb.kubectl("create", "configmap", "cm", "-n", ns, "--from-literal=a=1")
    plain = yaml.safe_load(kyb.kubectl("get", "configmap", "cm", "-n", ns, "-o",
                                       "yaml").stdout)
    assert "managedFields" not in plain["metadata"]
    shown = yaml.safe_load(kyb.kubectl("get", "configmap", "cm", "-n", ns, "-o", "yaml",
                                       "--show-managed-fields").stdout)
    (entry,) = shown["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl-create" and entry["operation"] == "Update"
    assert entry["apiVersion"] == "v1" and entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}}
    assert entry["time"].endswith("Z")

    kyb.kubectl("label", "configmap", "cm", "-n", ns, "team=x")
    kyb.kubectl("patch", "configmap", "cm", "-n", ns, "--type=merge",
                "-p", '{"data":{"a":"2"}}')
    obj = get(kyb, ns, "configmap", "cm")
    assert managers(obj) == [("kubectl-create", "Update"), ("kubectl-label", "Update"),
                             ("kubectl-patch", "Update")]
    assert owners(obj, "f:data", "f:a") == ["kubectl-patch"]
    assert owners(obj, "f:metadata", "f:labels", "f:team") == ["kubectl-label"]


def test_garbage_managed_fields_are_ignored_and_can_be_reset(kyb: ServerProcess,
                                                               ns: str) -> None:
    kyb.kubectl("create", "configmap", "junk", "-n", ns, "--from-literal=a=1")
    kyb.kubectl("patch", "configmap", "junk", "-n", ns, "--type=merge", "-p", json.dumps(
        {"metadata": {"managedFields": [{"manager": "evil", "operation": "Steal"}]},
         "data": {"b": "2"}}))
    obj = get(kyb, ns, "configmap", "junk")
    assert managers(obj) == [("kubectl-create", "Update"), ("kubectl-patch", "Update")]

    kyb.kubectl("patch", "configmap", "junk", "-n", ns, "--type=merge",
                "-p", '{"metadata":{"managedFields":[{}]}}')
    assert "managedFields" not in get(kyb, ns, "configmap", "junk")["metadata"]
    # Untracked from now on, until the next apply.
    kyb.kubectl("patch", "configmap", "junk", "-n", ns, "--type=merge",
                "-p", '{"data":{"c":"3"}}')
    assert "managedFields" not in get(kyb, ns, "configmap", "junk")["metadata"]


# --- the Python client ---------------------------------------------------------------------

def test_python_client_applies(api: client.ApiClient, ns: str) -> None:
    apps = client.AppsV1Api(api)
    body = deployment("py", replicas=1)
    created = apps.patch_namespaced_deployment("py", ns, body, field_manager="py-ctl",
                                               _content_type=APPLY)
    assert created.spec.replicas == 1
    assert [(m.manager, m.operation) for m in created.metadata.managed_fields] == [
        ("py-ctl", "Apply")]

    body["spec"]["replicas"] = 3
    updated = apps.patch_namespaced_deployment("py", ns, body, field_manager="py-ctl",
                                               _content_type=APPLY)
    assert updated.spec.replicas == 3
    assert updated.metadata.generation == 2

    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "py"},
              "status": {"observedGeneration": 2, "replicas": 3}}
    out = apps.patch_namespaced_deployment_status("py", ns, status, field_manager="ctrl",
                                                  _content_type=APPLY)
    assert out.status.replicas == 3 and out.spec.replicas == 3
    assert sorted((m.manager, m.operation, m.subresource)
                  for m in out.metadata.managed_fields) == [
        ("ctrl", "Apply", "status"), ("py-ctl", "Apply", None)]


@pytest.mark.parametrize(("query", "change", "status", "message"), [
    ({}, {}, 422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                  "is required for apply patch"),
    ({"field_manager": "x"}, {"kind": "StatefulSet"}, 400,
     "invalid object type: apps/v1, Kind=StatefulSet"),
    ({"field_manager": "x"}, {"metadata": {"name": "bad", "managedFields": [{}]}}, 400,
     "metadata.managedFields must be nil"),
    ({"field_manager": "x"}, {"metadata": {"name": "other"}}, 400,
     "the name of the object (other) does not match the name on the URL (bad)"),
    ({"field_manager": "x"}, {"spec": {"replicas": 1, "bogus": True}}, 500,
     "failed to create typed patch object (/bad; apps/v1, Kind=Deployment): "
     ".spec.bogus: field not declared in schema"),
], ids=["no-field-manager", "wrong-kind", "managed-fields", "wrong-name", "unknown-field"])
def test_python_client_apply_errors(api: client.ApiClient, ns: str, query: Obj, change: Obj,
                                    status: int, message: str) -> None:
    body = {**deployment("bad"), **change}
    with pytest.raises(ApiException) as exc:
        client.AppsV1Api(api).patch_namespaced_deployment("bad", ns, body, _content_type=APPLY,
                                                          **query)
    assert exc.value.status == status
    assert json.loads(exc.value.body)["message"] == message


def test_conflict_status_details(api: client.ApiClient, ns: str) -> None:
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment("own", ns, deployment("own", replicas=1),
                                     field_manager="a", _content_type=APPLY)
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment("own", ns, deployment("own", replicas=2),
                                         field_manager="b", _content_type=APPLY)
    status = json.loads(exc.value.body)
    assert (exc.value.status, status["reason"]) == (409, "Conflict")
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                            "message": 'conflict with "a"',
                                            "field": ".spec.replicas"}]
    forced = apps.patch_namespaced_deployment("own", ns, deployment("own", replicas=2),
                                              field_manager="b", force=True,
                                              _content_type=APPLY)
    assert forced.spec.replicas == 2


# --- other kinds ---------------------------------------------------------------------------

def test_service_ports_are_keyed_with_the_default_protocol(kyb: ServerProcess, ns: str,
                                                           tmp_path: Path) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
           "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80},
                                                         {"name": "dns", "port": 53}]}}
    kyb.kubectl("apply", "--server-side", "-n", ns, "-f", write(tmp_path, "s.yaml", svc))
    svc["spec"]["ports"] = [{"name": "http", "port": 80}]
    kyb.kubectl("apply", "--server-side", "-n", ns, "-f", write(tmp_path, "s.yaml", svc))
    obj = get(kyb, ns, "service", "svc")
    assert [p["port"] for p in obj["spec"]["ports"]] == [80]
    (entry,) = obj["metadata"]["managedFields"]
    assert list(entry["fieldsV1"]["f:spec"]["f:ports"]) == ['k:{"port":80,"protocol":"TCP"}']


WIDGET_CRD: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.ssa.kyb.example.com"},
    "spec": {"group": "ssa.kyb.example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "properties": {
                                   "size": {"type": "integer"},
                                   "color": {"type": "string"},
                                   "parts": {"type": "array", "x-kubernetes-list-type": "map",
                                             "x-kubernetes-list-map-keys": ["name"],
                                             "items": {"type": "object", "properties": {
                                                 "name": {"type": "string"},
                                                 "count": {"type": "integer"}}}}}},
                               "status": {"type": "object",
                                          "properties": {"ready": {"type": "boolean"}}}}}}}]},
}


def test_custom_resources_apply_by_their_schema(kyb: ServerProcess, ns: str,
                                                tmp_path: Path) -> None:
    kyb.kubectl("apply", "--server-side", "-f", write(tmp_path, "crd.yaml", WIDGET_CRD))
    crd = json.loads(kyb.kubectl("get", "crd", "widgets.ssa.kyb.example.com", "-o", "json",
                                 "--show-managed-fields").stdout)
    assert ("kubectl", "Apply") in managers(crd)
    kyb.kubectl("wait", "--for=condition=Established", "--timeout=30s",
                "crd/widgets.ssa.kyb.example.com")

    widget: Obj = {"apiVersion": "ssa.kyb.example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w"},
                   "spec": {"size": 1, "color": "red", "parts": [{"name": "a", "count": 1},
                                                                  {"name": "b", "count": 2}]}}
    path = write(tmp_path, "w.yaml", widget)
    _apply_when_served(kyb, ns, path)

    widget["spec"] = {"size": 1, "parts": [{"name": "b", "count": 2}]}
    kyb.kubectl("apply", "--server-side", "-n", ns, "-f", write(tmp_path, "w.yaml", widget))
    obj = get(kyb, ns, "widget", "w")
    assert obj["spec"] == {"size": 1, "parts": [{"name": "b", "count": 2}]}
    assert owners(obj, "f:spec", "f:parts", 'k:{"name":"b"}', "f:count") == ["kubectl"]

    widget["spec"]["size"] = 2
    res = kyb.kubectl("apply", "--server-side", "--field-manager=other", "-n", ns,
                      "-f", write(tmp_path, "w2.yaml", widget), check=False)
    assert 'conflict with "kubectl": .spec.size' in res.stderr


def _apply_when_served(kyb: ServerProcess, ns: str, path: str) -> None:
    """The first apply of a new kind: kubectl may need a fresh discovery to find it."""
    deadline = time.monotonic() + 30
    while True:
        res = kyb.kubectl("apply", "--server-side", "-n", ns, "-f", path, check=False)
        if res.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(res.stderr)
        time.sleep(0.1)
