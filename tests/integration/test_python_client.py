"""The official `kubernetes` Python client against a real `kyb server`.

One server per module (per xdist worker); every test works in a namespace of
its own, so tests neither see nor disturb each other's objects. Requests the
typed client refuses to build (malformed JSON, unknown fields, odd content
types, no credentials) go through the client's own urllib3 pool, which carries
the kubeconfig's client certificate and CA.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

from kybernetes.testing.server import ServerProcess

Obj = dict[str, Any]

_names = itertools.count()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module; at the end it must stop cleanly on SIGTERM with no
    exception in its log (a 500 the assertions may have let through)."""
    srv = ServerProcess(tmp_path_factory.mktemp("pyclient")).start()
    try:
        yield srv
    finally:
        code = srv.stop()
        log = srv.log_path.read_text()
        assert code == 0, f"kyb server exited with {code} on SIGTERM:\n{log[-4000:]}"
        assert "Traceback" not in log, f"the server logged an exception:\n{log[-8000:]}"


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[client.ApiClient]:
    c = config.new_client_from_config(config_file=str(server.kubeconfig))
    yield c
    c.close()


@pytest.fixture(scope="module")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture
def ns(core: client.CoreV1Api) -> str:
    """A fresh namespace for one test."""
    name = f"py-{next(_names)}"
    core.create_namespace({"metadata": {"name": name}})
    return name


# --------------------------------------------------------------------------- builders


def make_configmap(name: str = "", *, data: dict[str, str] | None = None,
                   labels: dict[str, str] | None = None, generate_name: str = "") -> Obj:
    meta: Obj = {}
    if name:
        meta["name"] = name
    if generate_name:
        meta["generateName"] = generate_name
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": data if data is not None else {"k": "v"}}


def make_pod(name: str, *, containers: list[Obj] | None = None) -> Obj:
    if containers is None:
        containers = [{"name": "c", "image": "busybox"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"a": "b"}},
            "spec": {"containers": containers}}


def make_deployment(name: str, *, replicas: int = 1) -> Obj:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    }


def status_of(exc: ApiException) -> Obj:
    """The `metav1.Status` an error response carried."""
    assert exc.body, f"no body in {exc}"
    return json.loads(exc.body)


class Raw:
    """Requests the typed client will not send, through its own TLS pool."""

    def __init__(self, api: client.ApiClient) -> None:
        self.host = api.configuration.host
        self.pool = api.rest_client.pool_manager

    def __call__(self, method: str, path: str, body: bytes | None = None, *,
                 content_type: str = "application/json") -> tuple[int, Any, Obj]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        resp = self.pool.request(method, self.host + path, body=body, headers=headers,
                                 retries=False, timeout=30)
        data = json.loads(resp.data) if resp.data else {}
        return resp.status, resp.headers, data


@pytest.fixture(scope="module")
def raw(api: client.ApiClient) -> Raw:
    return Raw(api)


# --------------------------------------------------------------------------- CRUD


def test_configmap_crud(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, make_configmap("cm", data={"a": "1"}))
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert created.metadata.namespace == ns
    assert created.data == {"a": "1"}

    got = core.read_namespaced_config_map("cm", ns)
    assert got.metadata.resource_version == created.metadata.resource_version
    assert got.metadata.uid == created.metadata.uid

    got.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("cm", ns, got)
    assert replaced.data == {"a": "1", "b": "2"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    assert replaced.metadata.uid == created.metadata.uid

    patched = core.patch_namespaced_config_map("cm", ns, {"data": {"a": None, "c": "3"}})
    assert patched.data == {"b": "2", "c": "3"}

    listed = core.list_namespaced_config_map(ns)
    assert [i.metadata.name for i in listed.items] == ["cm"]
    assert int(listed.metadata.resource_version) >= int(patched.metadata.resource_version)

    # This client version types a delete's answer as a plain object (a Status here).
    status = core.delete_namespaced_config_map("cm", ns)
    assert status["kind"] == "Status"
    assert status["status"] == "Success"
    assert status["details"] == {"name": "cm", "kind": "configmaps",
                                 "uid": created.metadata.uid}
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("cm", ns)
    assert err.value.status == 404


def test_pod_crud(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_pod(ns, make_pod("p"))
    assert created.status.phase == "Pending"
    assert created.status.qos_class == "BestEffort"
    # Defaults are filled in as upstream does.
    c = created.spec.containers[0]
    assert c.image_pull_policy == "Always"
    assert c.termination_message_path == "/dev/termination-log"
    assert created.spec.restart_policy == "Always"
    assert created.spec.dns_policy == "ClusterFirst"

    patched = core.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"extra": "yes"}}})
    assert patched.metadata.labels == {"a": "b", "extra": "yes"}

    pods = core.list_namespaced_pod(ns)
    assert [p.metadata.name for p in pods.items] == ["p"]

    # An unscheduled pod goes at once; a pod delete returns the pod.
    gone = core.delete_namespaced_pod("p", ns)
    assert gone.kind == "Pod"
    assert gone.metadata.uid == created.metadata.uid
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("p", ns)
    assert err.value.status == 404


def test_deployment_crud_and_scale(apps: client.AppsV1Api, ns: str) -> None:
    created = apps.create_namespaced_deployment(ns, make_deployment("web", replicas=2))
    assert created.metadata.generation == 1
    assert created.spec.strategy.type == "RollingUpdate"

    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.kind == "Scale"
    assert scale.spec.replicas == 2
    assert scale.status.selector == "app=web"
    assert scale.metadata.resource_version == created.metadata.resource_version

    scaled = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 5}})
    assert scaled.spec.replicas == 5

    dep = apps.read_namespaced_deployment("web", ns)
    assert dep.spec.replicas == 5
    assert dep.metadata.generation == 2
    assert dep.metadata.resource_version == scaled.metadata.resource_version

    dep.spec.template.spec.containers[0].image = "nginx:2"
    replaced = apps.replace_namespaced_deployment("web", ns, dep)
    assert replaced.spec.template.spec.containers[0].image == "nginx:2"
    assert replaced.metadata.generation == 3

    deps = apps.list_namespaced_deployment(ns)
    assert [d.metadata.name for d in deps.items] == ["web"]

    apps.delete_namespaced_deployment("web", ns)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment_scale("web", ns)
    assert err.value.status == 404


def test_scale_rejects_negative_replicas(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, make_deployment("neg"))
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("neg", ns, {"spec": {"replicas": -1}})
    assert err.value.status == 422
    causes = status_of(err.value)["details"]["causes"]
    assert [c["field"] for c in causes] == ["spec.replicas"]


def test_status_subresource_separates_spec_and_status(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, make_deployment("st", replicas=1))

    # A status write changes status only, even when it carries a spec change.
    out = apps.patch_namespaced_deployment_status(
        "st", ns, {"spec": {"replicas": 9}, "status": {"replicas": 1, "readyReplicas": 1,
                                                       "observedGeneration": 1}})
    assert out.status.replicas == 1
    assert out.status.ready_replicas == 1
    assert out.spec.replicas == 1
    assert out.metadata.generation == 1

    # A spec write changes spec only, even when it carries a status change.
    out = apps.patch_namespaced_deployment(
        "st", ns, {"spec": {"replicas": 4}, "status": {"replicas": 7}})
    assert out.spec.replicas == 4
    assert out.status.replicas == 1
    assert out.status.observed_generation == 1
    assert out.metadata.generation == 2

    read = apps.read_namespaced_deployment_status("st", ns)
    assert read.status.replicas == 1
    assert read.spec.replicas == 4

    # A status-only write does not move generation.
    out = apps.patch_namespaced_deployment_status("st", ns, {"status": {"replicas": 4}})
    assert out.metadata.generation == 2


def test_patch_types(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, make_configmap("pt", data={"a": "1"}))
    # The client sends a list as a JSON patch, a dict as a strategic merge patch.
    out = core.patch_namespaced_config_map("pt", ns, [
        {"op": "add", "path": "/data/b", "value": "2"},
        {"op": "remove", "path": "/data/a"}])
    assert out.data == {"b": "2"}
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("pt", ns, [{"op": "test", "path": "/data/b",
                                                     "value": "wrong"}])
    assert err.value.status == 422
    out = core.patch_namespaced_config_map("pt", ns, {"data": {"c": "3"}},
                                           _content_type="application/merge-patch+json")
    assert out.data == {"b": "2", "c": "3"}


def test_replace_without_resource_version_is_unconditional(core: client.CoreV1Api, ns: str
                                                           ) -> None:
    core.create_namespaced_config_map(ns, make_configmap("u"))
    core.patch_namespaced_config_map("u", ns, {"data": {"k": "moved"}})
    out = core.replace_namespaced_config_map("u", ns, make_configmap("u", data={"k": "mine"}))
    assert out.data == {"k": "mine"}


# --------------------------------------------------------------------------- list


@pytest.mark.parametrize(("label_selector", "field_selector", "expected"), [
    ("app=a", "", ["a1", "a2"]),
    ("app in (a,b)", "", ["a1", "a2", "b1"]),
    ("app!=a", "", ["b1", "none"]),
    ("!app", "", ["none"]),
    ("app,tier=web", "", ["a1"]),
    ("", "metadata.name=b1", ["b1"]),
    ("", "metadata.name!=b1", ["a1", "a2", "none"]),
    ("app=a", "metadata.name!=a1", ["a2"]),
], ids=["eq", "in", "neq", "absent", "and", "field-eq", "field-neq", "both"])
def test_list_with_selectors(core: client.CoreV1Api, ns: str, label_selector: str,
                             field_selector: str, expected: list[str]) -> None:
    for name, labels in [("a1", {"app": "a", "tier": "web"}), ("a2", {"app": "a"}),
                         ("b1", {"app": "b"}), ("none", {})]:
        core.create_namespaced_config_map(ns, make_configmap(name, labels=labels))
    out = core.list_namespaced_config_map(ns, label_selector=label_selector or None,
                                          field_selector=field_selector or None)
    assert [i.metadata.name for i in out.items] == expected


def test_field_selector_on_name_stays_in_namespace(core: client.CoreV1Api, ns: str) -> None:
    # Same name in namespaces that sort before and after this one.
    for other in (f"a-{ns}", f"zz-{ns}"):
        core.create_namespace({"metadata": {"name": other}})
        core.create_namespaced_config_map(other, make_configmap("same", data={"ns": other}))
    core.create_namespaced_config_map(ns, make_configmap("same", data={"ns": ns}))
    out = core.list_namespaced_config_map(ns, field_selector="metadata.name=same")
    assert [i.data["ns"] for i in out.items] == [ns]
    everywhere = core.list_config_map_for_all_namespaces(field_selector="metadata.name=same")
    assert [i.metadata.namespace for i in everywhere.items] == [f"a-{ns}", ns, f"zz-{ns}"]
    out = core.list_namespaced_config_map(
        ns, field_selector=f"metadata.name=same,metadata.namespace=zz-{ns}")
    assert out.items == []


def test_list_field_selector_on_pods(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, make_pod("p1"))
    core.create_namespaced_pod(ns, make_pod("p2"))
    out = core.list_namespaced_pod(ns, field_selector="status.phase=Pending,metadata.name=p2")
    assert [p.metadata.name for p in out.items] == ["p2"]
    out = core.list_namespaced_pod(ns, field_selector="spec.nodeName=")
    assert [p.metadata.name for p in out.items] == ["p1", "p2"]


def test_list_unknown_field_selector_is_400(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(ns, field_selector="data.k=v")
    assert err.value.status == 400
    assert status_of(err.value)["reason"] == "BadRequest"


def test_pagination_is_a_consistent_snapshot(core: client.CoreV1Api, ns: str) -> None:
    names = {f"cm-{i:02d}" for i in range(30)}
    for name in names:
        core.create_namespaced_config_map(ns, make_configmap(name))

    seen: list[str] = []
    page = core.list_namespaced_config_map(ns, limit=7)
    first_rv = page.metadata.resource_version
    pages = 0
    while True:
        pages += 1
        assert len(page.items) <= 7
        seen.extend(i.metadata.name for i in page.items)
        assert page.metadata.resource_version == first_rv
        if pages == 1:
            # Written after the first page: a continued list must not show it.
            core.create_namespaced_config_map(ns, make_configmap("cm-zz-late"))
            core.delete_namespaced_config_map("cm-29", ns)
        if not page.metadata._continue:
            break
        page = core.list_namespaced_config_map(ns, limit=7, _continue=page.metadata._continue)
        assert page.metadata.remaining_item_count is None or page.metadata.remaining_item_count >= 0

    assert pages == 5
    assert sorted(seen) == sorted(names)
    assert len(seen) == len(set(seen))


def test_list_resource_version_zero_and_exact(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_config_map(ns, make_configmap("v"))
    core.patch_namespaced_config_map("v", ns, {"data": {"k": "new"}})
    # "0" is any version the server has (the watch cache may trail a write); once a
    # consistent list has seen the patch, "0" cannot go back before it.
    consistent = core.list_namespaced_config_map(ns)
    assert [i.data for i in consistent.items] == [{"k": "new"}]
    out = core.list_namespaced_config_map(ns, resource_version="0")
    assert [i.data for i in out.items] == [{"k": "new"}]
    assert int(out.metadata.resource_version) >= int(consistent.metadata.resource_version)
    # An exact list at the create's revision shows the object as it was then.
    out = core.list_namespaced_config_map(ns, resource_version=first.metadata.resource_version,
                                          resource_version_match="Exact")
    assert out.metadata.resource_version == first.metadata.resource_version
    assert [i.data for i in out.items] == [{"k": "v"}]


def test_list_empty_namespace_has_empty_items(core: client.CoreV1Api, apps: client.AppsV1Api,
                                              raw: Raw, ns: str) -> None:
    assert core.list_namespaced_config_map(ns).items == []
    assert apps.list_namespaced_deployment(ns).items == []
    status, _, body = raw("GET", f"/api/v1/namespaces/{ns}/secrets")
    assert status == 200
    assert body["items"] == []
    assert body["kind"] == "SecretList"


# --------------------------------------------------------------------------- watch


def _collect(stream: Iterator[Obj], w: watch.Watch, count: int) -> list[Obj]:
    events = []
    for ev in stream:
        events.append(ev)
        if len(events) == count:
            w.stop()
    return events


def test_watch_sees_added_modified_deleted(core: client.CoreV1Api, ns: str) -> None:
    start_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    done: dict[str, Any] = {}

    def writes() -> None:
        done["created"] = core.create_namespaced_config_map(ns, make_configmap("w", data={
            "n": "1"}))
        done["patched"] = core.patch_namespaced_config_map("w", ns, {"data": {"n": "2"}})
        core.create_namespaced_config_map(ns, make_configmap("other"))
        done["deleted"] = core.delete_namespaced_config_map("w", ns)

    writer = threading.Thread(target=writes)
    writer.start()
    w = watch.Watch()
    events = _collect(w.stream(core.list_namespaced_config_map, ns, resource_version=start_rv,
                               timeout_seconds=30, field_selector="metadata.name=w"), w, 3)
    writer.join()

    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    added, modified, deleted = (e["object"] for e in events)
    assert isinstance(added, client.V1ConfigMap)
    assert added.data == {"n": "1"}
    assert added.metadata.resource_version == done["created"].metadata.resource_version
    assert modified.data == {"n": "2"}
    assert modified.metadata.resource_version == done["patched"].metadata.resource_version
    assert deleted.metadata.name == "w"
    assert deleted.data == {"n": "2"}
    assert int(deleted.metadata.resource_version) > int(modified.metadata.resource_version)
    assert {e["object"].metadata.uid for e in events} == {done["created"].metadata.uid}


def test_watch_without_resource_version_starts_with_current_state(
        core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, make_configmap("x1"))
    core.create_namespaced_config_map(ns, make_configmap("x2"))
    w = watch.Watch()
    events = _collect(w.stream(core.list_namespaced_config_map, ns, timeout_seconds=30), w, 2)
    assert sorted((e["type"], e["object"].metadata.name) for e in events) == [
        ("ADDED", "x1"), ("ADDED", "x2")]


def test_watch_label_selector_turns_relabel_into_added_and_deleted(
        core: client.CoreV1Api, ns: str) -> None:
    start_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, make_configmap("r", labels={"app": "x"}))
    core.patch_namespaced_config_map("r", ns, {"metadata": {"labels": {"app": "y"}}})
    core.patch_namespaced_config_map("r", ns, {"metadata": {"labels": {"app": "x"}}})
    w = watch.Watch()
    events = _collect(w.stream(core.list_namespaced_config_map, ns, resource_version=start_rv,
                               label_selector="app=x", timeout_seconds=30), w, 3)
    assert [(e["type"], e["object"].metadata.labels["app"]) for e in events] == [
        ("ADDED", "x"), ("DELETED", "x"), ("ADDED", "x")]


def test_watch_from_before_restart_is_gone(tmp_path: Path) -> None:
    """The watch window starts at the revision the server started at; older is 410."""
    srv = ServerProcess(tmp_path / "srv").start()
    try:
        c = config.new_client_from_config(config_file=str(srv.kubeconfig))
        core = client.CoreV1Api(c)
        old_rv = core.create_namespaced_config_map(
            "default", make_configmap("old")).metadata.resource_version
        core.create_namespaced_config_map("default", make_configmap("newer"))
        c.close()
        assert srv.stop() == 0
        srv.start()
        c = config.new_client_from_config(config_file=str(srv.kubeconfig))
        core = client.CoreV1Api(c)
        w = watch.Watch()
        with pytest.raises(ApiException) as err:
            for _ in w.stream(core.list_namespaced_config_map, "default",
                              resource_version=old_rv, timeout_seconds=10):
                pass
        assert err.value.status == 410
        assert "Expired" in str(err.value.reason)

        # The raw stream: a 200 carrying one ERROR event with a 410 Status.
        resp = core.list_namespaced_config_map("default", watch=True, resource_version=old_rv,
                                               timeout_seconds=10, _preload_content=False)
        lines = [json.loads(line) for line in resp.data.splitlines() if line.strip()]
        assert resp.status == 200
        assert [e["type"] for e in lines] == ["ERROR"]
        assert lines[0]["object"]["code"] == 410
        assert lines[0]["object"]["reason"] == "Expired"

        # From a current resourceVersion the watch works.
        rv = core.list_namespaced_config_map("default").metadata.resource_version
        core.create_namespaced_config_map("default", make_configmap("after"))
        w = watch.Watch()
        events = _collect(w.stream(core.list_namespaced_config_map, "default",
                                   resource_version=rv, timeout_seconds=30), w, 1)
        assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "after")]
        c.close()
    finally:
        assert srv.stop() == 0
    assert "Traceback" not in srv.log_path.read_text()


# --------------------------------------------------------------------------- errors


def test_replace_with_stale_resource_version_is_conflict(core: client.CoreV1Api, ns: str
                                                        ) -> None:
    cm = core.create_namespaced_config_map(ns, make_configmap("c"))
    stale = core.read_namespaced_config_map("c", ns)
    cm.data = {"k": "first"}
    core.replace_namespaced_config_map("c", ns, cm)
    stale.data = {"k": "second"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("c", ns, stale)
    assert err.value.status == 409
    body = status_of(err.value)
    assert body["reason"] == "Conflict"
    assert body["details"] == {"name": "c", "kind": "configmaps"}
    assert "the object has been modified" in body["message"]
    assert core.read_namespaced_config_map("c", ns).data == {"k": "first"}


def test_duplicate_create_is_already_exists(core: client.CoreV1Api, apps: client.AppsV1Api,
                                            ns: str) -> None:
    core.create_namespaced_config_map(ns, make_configmap("dup"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, make_configmap("dup"))
    assert err.value.status == 409
    body = status_of(err.value)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'configmaps "dup" already exists'
    assert body["details"] == {"name": "dup", "kind": "configmaps"}

    apps.create_namespaced_deployment(ns, make_deployment("dup"))
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(ns, make_deployment("dup"))
    body = status_of(err.value)
    assert body["details"] == {"name": "dup", "group": "apps", "kind": "deployments"}
    assert body["message"] == 'deployments.apps "dup" already exists'


def test_pod_without_containers_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(ns, make_pod("empty", containers=[]))
    assert err.value.status == 422
    body = status_of(err.value)
    assert body["reason"] == "Invalid"
    assert body["details"]["name"] == "empty"
    assert body["details"]["kind"] == "Pod"
    causes = body["details"]["causes"]
    assert {"reason": "FieldValueRequired", "message": "Required value",
            "field": "spec.containers"} in causes


@pytest.mark.parametrize("name", ["Bad_Name", "-lead", "a" * 254], ids=["upper", "dash", "long"])
def test_invalid_name_is_invalid(core: client.CoreV1Api, ns: str, name: str) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, make_configmap(name))
    assert err.value.status == 422
    body = status_of(err.value)
    assert body["reason"] == "Invalid"
    assert [c["field"] for c in body["details"]["causes"]] == ["metadata.name"]
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"


def test_not_found_body(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("missing", ns)
    assert err.value.status == 404
    assert status_of(err.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "missing" not found', "reason": "NotFound",
        "details": {"name": "missing", "kind": "configmaps"}, "code": 404}
    with pytest.raises(ApiException) as err:
        apps.delete_namespaced_deployment("missing", ns)
    assert status_of(err.value)["message"] == 'deployments.apps "missing" not found'


def test_create_in_missing_namespace_is_not_found(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-ns", make_configmap("c"))
    assert err.value.status == 404
    body = status_of(err.value)
    assert body["message"] == 'namespaces "no-such-ns" not found'


# --------------------------------------------------------------------------- write options


def test_dry_run_create_does_not_persist(core: client.CoreV1Api, apps: client.AppsV1Api,
                                         ns: str) -> None:
    out = core.create_namespaced_config_map(ns, make_configmap("dry"), dry_run="All")
    assert out.metadata.uid
    assert out.metadata.creation_timestamp is not None
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("dry", ns)
    assert err.value.status == 404

    dep = apps.create_namespaced_deployment(ns, make_deployment("dry"), dry_run="All")
    assert dep.metadata.generation == 1
    assert dep.spec.revision_history_limit == 10
    assert apps.list_namespaced_deployment(ns).items == []

    # A dry-run delete leaves the object in place.
    core.create_namespaced_config_map(ns, make_configmap("keep"))
    core.delete_namespaced_config_map("keep", ns, dry_run="All")
    assert core.read_namespaced_config_map("keep", ns).metadata.name == "keep"


def test_generate_name(core: client.CoreV1Api, ns: str) -> None:
    a = core.create_namespaced_config_map(ns, make_configmap(generate_name="gen-"))
    b = core.create_namespaced_config_map(ns, make_configmap(generate_name="gen-"))
    for cm in (a, b):
        assert cm.metadata.name.startswith("gen-")
        assert len(cm.metadata.name) == len("gen-") + 5
        assert cm.metadata.generate_name == "gen-"
    assert a.metadata.name != b.metadata.name
    assert core.read_namespaced_config_map(a.metadata.name, ns).metadata.uid == a.metadata.uid


def test_delete_with_background_propagation(apps: client.AppsV1Api, ns: str) -> None:
    dep = apps.create_namespaced_deployment(ns, make_deployment("d"))
    out = apps.delete_namespaced_deployment("d", ns, propagation_policy="Background")
    assert out["status"] == "Success"
    assert out["details"] == {"name": "d", "group": "apps", "kind": "deployments",
                              "uid": dep.metadata.uid}
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("d", ns)
    assert err.value.status == 404

    # The policy may also come in the body's DeleteOptions.
    apps.create_namespaced_deployment(ns, make_deployment("e"))
    apps.delete_namespaced_deployment("e", ns, body=client.V1DeleteOptions(
        propagation_policy="Background", grace_period_seconds=0))
    assert apps.list_namespaced_deployment(ns).items == []


def test_delete_with_bad_propagation_policy_is_400(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, make_deployment("d"))
    with pytest.raises(ApiException) as err:
        apps.delete_namespaced_deployment("d", ns, propagation_policy="Sideways")
    assert err.value.status == 400


def test_delete_with_preconditions(core: client.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(ns, make_configmap("pre"))
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("pre", ns, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="not-the-uid")))
    assert err.value.status == 409
    core.delete_namespaced_config_map("pre", ns, body=client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=cm.metadata.uid)))


# --------------------------------------------------------------------------- discovery


def test_dynamic_client_uses_legacy_discovery(api: client.ApiClient, apps: client.AppsV1Api,
                                              ns: str, tmp_path: Path) -> None:
    apps.create_namespaced_deployment(ns, make_deployment("dyn"))
    dc = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    deployments = dc.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced
    listed = deployments.get(namespace=ns)
    assert [d.metadata.name for d in listed.items] == ["dyn"]
    one = deployments.get(name="dyn", namespace=ns)
    assert one.spec.replicas == 1

    configmaps = dc.resources.get(api_version="v1", kind="ConfigMap")
    made = configmaps.create(body=make_configmap("from-dyn"), namespace=ns)
    assert made.metadata.name == "from-dyn"
    scale = dc.resources.get(api_version="apps/v1", kind="Deployment").subresources["scale"]
    assert scale.get(name="dyn", namespace=ns).spec.replicas == 1


def test_discovery_documents_deserialize(api: client.ApiClient) -> None:
    core_resources = client.CoreV1Api(api).get_api_resources()
    assert core_resources.group_version == "v1"
    by_name = {r.name: r for r in core_resources.resources}
    assert by_name["pods"].namespaced
    assert "watch" in by_name["configmaps"].verbs
    assert by_name["pods/status"].verbs
    for r in core_resources.resources:
        assert isinstance(r.verbs, list), r.name

    apps_resources = client.AppsV1Api(api).get_api_resources()
    assert "deployments/scale" in {r.name for r in apps_resources.resources}
    scale = next(r for r in apps_resources.resources if r.name == "deployments/scale")
    assert (scale.group, scale.version, scale.kind) == ("autoscaling", "v1", "Scale")

    groups = client.ApisApi(api).get_api_versions()
    apps_group = next(g for g in groups.groups if g.name == "apps")
    assert apps_group.preferred_version.group_version == "apps/v1"
    assert apps_group.preferred_version in apps_group.versions
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    assert client.VersionApi(api).get_code().major == "1"


def _nulls(doc: Any, path: str = "") -> list[str]:
    """Paths of every JSON null in `doc` (the real server omits unset fields)."""
    if doc is None:
        return [path]
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _nulls(v, f"{path}.{k}")]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _nulls(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("path", ["/api", "/apis", "/api/v1", "/apis/apps", "/apis/apps/v1",
                                  "/apis/rbac.authorization.k8s.io/v1", "/version"])
def test_discovery_has_no_nulls(raw: Raw, path: str) -> None:
    status, _, body = raw("GET", path)
    assert status == 200
    assert _nulls(body) == []


def test_objects_have_no_nulls(raw: Raw, core: client.CoreV1Api, apps: client.AppsV1Api,
                               ns: str) -> None:
    core.create_namespaced_pod(ns, make_pod("p"))
    apps.create_namespaced_deployment(ns, make_deployment("d"))
    for path in (f"/api/v1/namespaces/{ns}/pods/p", f"/apis/apps/v1/namespaces/{ns}/deployments",
                 f"/apis/apps/v1/namespaces/{ns}/deployments/d/scale", f"/api/v1/namespaces/{ns}"):
        status, _, body = raw("GET", path)
        assert status == 200, body
        assert _nulls(body) == [], path


# --------------------------------------------------------------------------- request limits


def test_body_over_3mib_is_413(core: client.CoreV1Api, ns: str) -> None:
    big = make_configmap("big", data={"blob": "x" * (4 * 1024 * 1024)})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, big)
    assert err.value.status == 413
    body = status_of(err.value)
    assert body["reason"] == "RequestEntityTooLarge"
    assert body["code"] == 413
    # The connection pool still works afterwards.
    assert core.list_namespaced_config_map(ns).items == []


def test_malformed_json_is_400(raw: Raw, ns: str) -> None:
    status, _, body = raw("POST", f"/api/v1/namespaces/{ns}/configmaps", b'{"metadata": {')
    assert status == 400
    assert body["kind"] == "Status"
    assert body["reason"] == "BadRequest"
    assert body["code"] == 400


def test_unknown_patch_content_type_is_415(core: client.CoreV1Api, raw: Raw, ns: str) -> None:
    core.create_namespaced_config_map(ns, make_configmap("p"))
    status, _, body = raw("PATCH", f"/api/v1/namespaces/{ns}/configmaps/p",
                          b'{"data": {"k": "w"}}', content_type="text/plain")
    assert status == 415
    assert body["reason"] == "UnsupportedMediaType"
    assert core.read_namespaced_config_map("p", ns).data == {"k": "v"}


def test_no_credentials_is_401(server: ServerProcess, api: client.ApiClient) -> None:
    anonymous = urllib3.PoolManager(ca_certs=api.configuration.ssl_ca_cert)
    resp = anonymous.request("GET", server.url + "/api/v1/namespaces", retries=False,
                             timeout=30)
    assert resp.status == 401
    body = json.loads(resp.data)
    assert body["reason"] == "Unauthorized"
    assert body["code"] == 401

    cfg = client.Configuration()
    cfg.host = server.url
    cfg.ssl_ca_cert = api.configuration.ssl_ca_cert
    with client.ApiClient(cfg) as nobody:
        with pytest.raises(ApiException) as err:
            client.CoreV1Api(nobody).list_namespace()
    assert err.value.status == 401


@pytest.mark.parametrize("validation", ["Strict", "Warn", "Ignore"])
def test_field_validation_unknown_field(raw: Raw, core: client.CoreV1Api, ns: str,
                                        validation: str) -> None:
    cm = make_configmap("fv")
    cm["bogus"] = 1
    cm["metadata"]["alsoBogus"] = "x"
    status, headers, body = raw(
        "POST", f"/api/v1/namespaces/{ns}/configmaps?fieldValidation={validation}",
        json.dumps(cm).encode())
    if validation == "Strict":
        assert status == 400
        assert body["reason"] == "BadRequest"
        assert 'unknown field "bogus"' in body["message"]
        assert 'unknown field "metadata.alsoBogus"' in body["message"]
        with pytest.raises(ApiException):
            core.read_namespaced_config_map("fv", ns)
        return
    assert status == 201
    assert "bogus" not in body
    warning = headers.getlist("Warning")
    if validation == "Warn":
        # RFC 7234 warn-text: a quoted string, inner quotes escaped (upstream
        # apimachinery util/net NewWarningHeader).
        assert sorted(warning) == [r'299 - "unknown field \"bogus\""',
                                   r'299 - "unknown field \"metadata.alsoBogus\""']
    else:
        assert warning == []
    assert core.read_namespaced_config_map("fv", ns).data == {"k": "v"}


def test_field_validation_strict_duplicate_field(raw: Raw, ns: str) -> None:
    body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"data":{"k":"1"},' \
        b'"data":{"k":"2"}}'
    status, _, out = raw("POST", f"/api/v1/namespaces/{ns}/configmaps?fieldValidation=Strict",
                         body)
    assert status == 400
    assert 'duplicate field "data"' in out["message"]
