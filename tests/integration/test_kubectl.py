"""The real kubectl against a real `kyb server`, run the way a user runs it.

Every test works in a namespace of its own (the `ns` fixture creates it with
kubectl), so the tests of this module share one server and still run in any
order and in parallel. Nothing sleeps: what happens asynchronously (watch
output) is polled with a deadline.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kybernetes.testing.server import ServerProcess, kubectl_binary

Obj = dict[str, Any]

DEADLINE_SECONDS = 30.0


# --- helpers --------------------------------------------------------------------------


def get_json(kyb: ServerProcess, *args: str, binary: str | None = None) -> Obj:
    extra = {"binary": binary} if binary else {}
    return json.loads(kyb.kubectl("get", *args, "-o", "json", **extra).stdout)


def assert_subset(actual: Any, expected: Any, path: str = "") -> None:
    """Every key of `expected` is in `actual` with that value (lists item by item)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing in {actual!r}"
            assert_subset(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), \
            f"{path}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_subset(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def table(stdout: str) -> list[list[str]]:
    """kubectl's column output as rows of cells (split on runs of 2+ spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines() if line.strip()]


def manifest(tmp_path: Path, name: str, obj: Obj | list[Obj]) -> str:
    docs = obj if isinstance(obj, list) else [obj]
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return str(path)


def eventually(check: Callable[[], Any], what: str, timeout: float = DEADLINE_SECONDS) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Stream:
    """A long-running kubectl (`get -w`) whose stdout a thread collects as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self._chunks.append(line)

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._chunks)

    def documents(self) -> list[Obj]:
        """The complete JSON documents printed so far (`-o json` prints them indented)."""
        decoder, text, out, pos = json.JSONDecoder(), self.text, [], 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                return out
            try:
                doc, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                return out
            out.append(doc)

    def wait_for(self, check: Callable[[Stream], Any], what: str) -> Any:
        try:
            return eventually(lambda: check(self), what)
        except AssertionError:
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"timed out waiting for {what}\nstdout: {self.text}\n"
                                 f"stderr: {err}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(5)


def events(stream: Stream, name: str) -> list[tuple[str, Obj]]:
    return [(d["type"], d["object"]) for d in stream.documents()
            if d.get("object", {}).get("metadata", {}).get("name") == name]


def event_types(stream: Stream, name: str) -> list[str]:
    return [t for t, _ in events(stream, name)]


# --- cluster information --------------------------------------------------------------


def test_version_reports_1_32(kyb: ServerProcess) -> None:
    out = json.loads(kyb.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["major"] == "1"
    assert out["serverVersion"]["minor"] == "32"
    assert out["serverVersion"]["gitVersion"].startswith("v1.32.")


def test_get_namespaces_lists_the_system_namespaces(kyb: ServerProcess) -> None:
    rows = table(kyb.kubectl("get", "ns").stdout)
    assert rows[0] == ["NAME", "STATUS", "AGE"]
    names = {r[0]: r[1] for r in rows[1:]}
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert names.get(name) == "Active", rows


def test_api_resources_and_api_versions(kyb: ServerProcess) -> None:
    rows = {r[0]: r for r in table(kyb.kubectl("api-resources").stdout)[1:]}
    assert rows["pods"] == ["pods", "po", "v1", "true", "Pod"]
    assert rows["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    versions = kyb.kubectl("api-versions").stdout.split()
    assert "autoscaling/v2" in versions
    assert "v1" in versions and "apps/v1" in versions


# --- typed create commands (protobuf request bodies) ----------------------------------

# The selector the registry generates for a Job and the labels it puts on the template.
_JOB_LABELS = {"batch.kubernetes.io/controller-uid": "{uid}", "controller-uid": "{uid}",
               "batch.kubernetes.io/job-name": "j", "job-name": "j"}

# (kubectl create args, object to read back, fields it must have). "{ns}" is the
# test's namespace, used to make cluster-scoped names unique; "{uid}" the object's uid.
TYPED_CREATES = [
    pytest.param(["namespace", "{ns}-x"], ["namespace", "{ns}-x"],
                 {"kind": "Namespace", "spec": {"finalizers": ["kubernetes"]},
                  "status": {"phase": "Active"}}, id="namespace"),
    pytest.param(["configmap", "c", "--from-literal=a=1", "--from-literal=b=two"],
                 ["configmap", "c"], {"data": {"a": "1", "b": "two"}}, id="configmap"),
    pytest.param(["secret", "generic", "s", "--from-literal=user=admin"], ["secret", "s"],
                 {"type": "Opaque",
                  "data": {"user": base64.b64encode(b"admin").decode()}}, id="secret-generic"),
    pytest.param(["deployment", "d", "--image=nginx:1.25", "--replicas=2"],
                 ["deployment", "d"],
                 {"metadata": {"generation": 1, "labels": {"app": "d"}},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                           "strategy": {"type": "RollingUpdate"},
                           "template": {"metadata": {"labels": {"app": "d"}},
                                        "spec": {"containers": [
                                            {"name": "nginx", "image": "nginx:1.25"}]}}}},
                 id="deployment"),
    pytest.param(["service", "clusterip", "s", "--tcp=80:8080"], ["service", "s"],
                 {"spec": {"type": "ClusterIP", "selector": {"app": "s"},
                           "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP",
                                      "targetPort": 8080}]}}, id="service-clusterip"),
    pytest.param(["job", "j", "--image=busybox"], ["job", "j"],
                 {"metadata": {"labels": _JOB_LABELS},
                  "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1,
                           "completionMode": "NonIndexed", "suspend": False,
                           "selector": {"matchLabels": {
                               "batch.kubernetes.io/controller-uid": "{uid}"}},
                           "template": {"metadata": {"labels": _JOB_LABELS}, "spec": {
                               "containers": [{"name": "j", "image": "busybox"}],
                               "restartPolicy": "Never"}}}}, id="job"),
    pytest.param(["cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *"],
                 ["cronjob", "cj"],
                 {"spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Allow",
                           "suspend": False, "successfulJobsHistoryLimit": 3,
                           "failedJobsHistoryLimit": 1,
                           "jobTemplate": {"spec": {"template": {"spec": {
                               "containers": [{"name": "cj", "image": "busybox"}],
                               "restartPolicy": "OnFailure"}}}}}}, id="cronjob"),
    pytest.param(["serviceaccount", "sa"], ["serviceaccount", "sa"],
                 {"kind": "ServiceAccount", "metadata": {"name": "sa"}}, id="serviceaccount"),
    pytest.param(["role", "r", "--verb=get", "--verb=list", "--resource=pods"],
                 ["role", "r"],
                 {"rules": [{"apiGroups": [""], "resources": ["pods"],
                             "verbs": ["get", "list"]}]}, id="role"),
    pytest.param(["rolebinding", "rb", "--role=r", "--user=bob"], ["rolebinding", "rb"],
                 {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                              "name": "r"},
                  "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                "name": "bob"}]}, id="rolebinding"),
    pytest.param(["quota", "q", "--hard=pods=10,configmaps=5"], ["resourcequota", "q"],
                 {"spec": {"hard": {"pods": "10", "configmaps": "5"}}}, id="quota"),
    pytest.param(["priorityclass", "{ns}-pc", "--value=1000", "--description=test"],
                 ["priorityclass", "{ns}-pc"],
                 {"value": 1000, "description": "test",
                  "preemptionPolicy": "PreemptLowerPriority"}, id="priorityclass"),
]


@pytest.mark.parametrize(("args", "get", "expected"), TYPED_CREATES)
def test_typed_create_sends_protobuf_and_reads_back(
        kyb: ServerProcess, ns: str, args: list[str], get: list[str], expected: Obj) -> None:
    args = [a.format(ns=ns) for a in args]
    get = [a.format(ns=ns) for a in get]
    res = kyb.kubectl("-n", ns, "create", *args, "-v=8")
    assert "created" in res.stdout
    # The typed generators of kubectl 1.32 POST protobuf (client-go UseProtobufAsDefault).
    assert "Content-Type: application/vnd.kubernetes.protobuf" in res.stderr
    obj = get_json(kyb, "-n", ns, *get)
    assert obj["metadata"]["name"] == get[1]
    assert obj["metadata"]["uid"] and obj["metadata"]["resourceVersion"]
    assert_subset(obj, _fill(expected, uid=obj["metadata"]["uid"], ns=ns))


def _fill(value: Any, **names: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, **names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, **names) for v in value]
    return value.format(**names) if isinstance(value, str) else value


# --- client-side apply ----------------------------------------------------------------


def _web(image: str = "nginx:1.25", labels: dict[str, str] | None = None,
         env: bool = True) -> Obj:
    container: Obj = {"name": "web", "image": image}
    if env:
        container["env"] = [{"name": "MODE", "value": "prod"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": labels or {"app": "web", "tier": "fe"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [container]}}}}


def test_apply_creates_configures_and_prunes_fields_three_way(
        kyb: ServerProcess, ns: str, tmp_path: Path) -> None:
    def apply(obj: Obj) -> str:
        return kyb.kubectl("-n", ns, "apply", "-f", manifest(tmp_path, "web.yaml", obj)
                           ).stdout.strip()

    def current() -> Obj:
        return get_json(kyb, "-n", ns, "deployment", "web")

    assert apply(_web()) == "deployment.apps/web created"
    first = current()
    assert first["metadata"]["generation"] == 1
    assert "kubectl.kubernetes.io/last-applied-configuration" in first["metadata"]["annotations"]

    assert apply(_web()) == "deployment.apps/web unchanged"
    assert current()["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    # A label is metadata: configured, but the generation stays.
    assert apply(_web(labels={"app": "web", "tier": "be"})) == "deployment.apps/web configured"
    obj = current()
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "be"}
    assert obj["metadata"]["generation"] == 1

    # An image is spec: the generation moves.
    assert apply(_web(image="nginx:1.26", labels={"app": "web", "tier": "be"})) == \
        "deployment.apps/web configured"
    obj = current()
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert obj["metadata"]["generation"] == 2

    # Fields gone from the manifest go from the object (last-applied three-way diff).
    assert apply(_web(image="nginx:1.26", labels={"app": "web"}, env=False)) == \
        "deployment.apps/web configured"
    obj = current()
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert "env" not in obj["spec"]["template"]["spec"]["containers"][0]
    assert obj["metadata"]["generation"] == 3
    last = json.loads(obj["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"])
    assert last["metadata"]["labels"] == {"app": "web"}


# --- get: server-side printing --------------------------------------------------------


@pytest.fixture
def pod_ns(kyb: ServerProcess, ns: str) -> str:
    """A namespace with one pod `p` made by `kubectl run` (no scheduler: Pending)."""
    kyb.kubectl("-n", ns, "run", "p", "--image=nginx")
    return ns


def test_get_pods_table(kyb: ServerProcess, pod_ns: str) -> None:
    rows = table(kyb.kubectl("-n", pod_ns, "get", "pods").stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[1][:4] == ["p", "0/1", "Pending", "0"]


def test_get_pods_wide(kyb: ServerProcess, pod_ns: str) -> None:
    rows = table(kyb.kubectl("-n", pod_ns, "get", "pods", "-o", "wide").stdout)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                       "NOMINATED NODE", "READINESS GATES"]
    assert rows[1][:4] == ["p", "0/1", "Pending", "0"]
    assert rows[1][5:] == ["<none>", "<none>", "<none>", "<none>"]


def test_get_pods_show_labels(kyb: ServerProcess, pod_ns: str) -> None:
    rows = table(kyb.kubectl("-n", pod_ns, "get", "pods", "--show-labels").stdout)
    assert rows[0][-1] == "LABELS"
    assert rows[1][0] == "p" and rows[1][-1] == "run=p"


def test_get_all_namespaces_adds_namespace_column(kyb: ServerProcess, pod_ns: str) -> None:
    rows = table(kyb.kubectl("get", "pods", "-A").stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [pod_ns, "p", "0/1", "Pending"] in [r[:4] for r in rows[1:]]


def test_get_name_and_jsonpath_output(kyb: ServerProcess, pod_ns: str) -> None:
    assert kyb.kubectl("-n", pod_ns, "get", "pods", "-o", "name").stdout == "pod/p\n"
    out = kyb.kubectl("-n", pod_ns, "get", "pods", "-o",
                      "jsonpath={.items[*].metadata.name}:{.items[0].status.phase}").stdout
    assert out == "p:Pending"


def test_get_label_selector(kyb: ServerProcess, pod_ns: str) -> None:
    rows = table(kyb.kubectl("-n", pod_ns, "get", "pods", "-l", "run=p").stdout)
    assert [r[0] for r in rows[1:]] == ["p"]
    res = kyb.kubectl("-n", pod_ns, "get", "pods", "-l", "run=other")
    assert res.stdout == ""
    assert f"No resources found in {pod_ns} namespace." in res.stderr


def test_get_sort_by_and_field_selector(kyb: ServerProcess, ns: str) -> None:
    for name, rank in (("a", "3"), ("b", "1"), ("c", "2")):
        kyb.kubectl("-n", ns, "create", "configmap", name, f"--from-literal=rank={rank}")
    rows = table(kyb.kubectl("-n", ns, "get", "cm", "--sort-by=.data.rank").stdout)
    assert rows[0] == ["NAME", "DATA", "AGE"]
    assert [r[0] for r in rows[1:]] == ["b", "c", "a"]
    rows = table(kyb.kubectl("-n", ns, "get", "cm", "--field-selector",
                             "metadata.name=c").stdout)
    assert [r[0] for r in rows[1:]] == ["c"]


# --- watch ------------------------------------------------------------------------------


def test_get_watch_sees_added_modified_deleted(kyb: ServerProcess, ns: str) -> None:
    kyb.kubectl("-n", ns, "create", "configmap", "sentinel")
    as_json = Stream(kyb.kubectl_popen("-n", ns, "get", "cm", "-w", "--output-watch-events",
                                       "-o", "json"))
    as_table = Stream(kyb.kubectl_popen("-n", ns, "get", "cm", "-w"))
    try:
        # Both have listed (the sentinel is there) and are watching from the list's RV.
        as_json.wait_for(lambda s: event_types(s, "sentinel") == ["ADDED"], "the initial list")
        as_table.wait_for(lambda s: "sentinel" in s.text, "the initial table")
        kyb.kubectl("-n", ns, "create", "configmap", "w", "--from-literal=k=1")
        kyb.kubectl("-n", ns, "patch", "configmap", "w", "-p", '{"data":{"k":"2"}}')
        kyb.kubectl("-n", ns, "delete", "configmap", "w")
        as_json.wait_for(lambda s: len(events(s, "w")) == 3, "three events for w")
        seen = events(as_json, "w")
        assert [t for t, _ in seen] == ["ADDED", "MODIFIED", "DELETED"]
        assert [o["data"]["k"] for _, o in seen] == ["1", "2", "2"]
        rvs = [int(o["metadata"]["resourceVersion"]) for _, o in seen]
        assert rvs == sorted(rvs) and len(set(rvs)) == 3
        rows = as_table.wait_for(
            lambda s: (r := table(s.text)) and sum(x[0] == "w" for x in r) == 3 and r,
            "three table rows for w")
        assert rows[0] == ["NAME", "DATA", "AGE"]
        assert rows.count(rows[0]) == 1  # one header: every event came as a Table
    finally:
        as_json.stop()
        as_table.stop()


# --- optimistic concurrency, paging, finalizers ----------------------------------------


def test_replace_with_stale_resource_version_conflicts(
        kyb: ServerProcess, ns: str, tmp_path: Path) -> None:
    kyb.kubectl("-n", ns, "create", "configmap", "c", "--from-literal=a=1")
    stale = get_json(kyb, "-n", ns, "configmap", "c")
    kyb.kubectl("-n", ns, "patch", "configmap", "c", "-p", '{"data":{"a":"2"}}')
    stale["data"]["a"] = "3"
    res = kyb.kubectl("replace", "-f", manifest(tmp_path, "c.yaml", stale), check=False)
    assert res.returncode != 0
    assert "Error from server (Conflict)" in res.stderr
    assert 'Operation cannot be fulfilled on configmaps "c": the object has been modified' \
        in res.stderr
    assert get_json(kyb, "-n", ns, "configmap", "c")["data"] == {"a": "2"}


def test_get_in_chunks_lists_everything(kyb: ServerProcess, ns: str, tmp_path: Path) -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"pg-{i:02d}"},
              "data": {"i": str(i)}} for i in range(25)]
    kyb.kubectl("-n", ns, "create", "-f", manifest(tmp_path, "many.yaml", items))
    res = kyb.kubectl("-n", ns, "get", "cm", "--chunk-size=7", "-v=6")
    rows = table(res.stdout)
    assert [r[0] for r in rows[1:] if r[0].startswith("pg-")] == \
        [f"pg-{i:02d}" for i in range(25)]
    assert rows.count(rows[0]) == 1
    # 25 items in pages of 7: the first request and three continuations.
    assert res.stderr.count("limit=7") == 4
    assert res.stderr.count("continue=") == 3
    names = kyb.kubectl("-n", ns, "get", "cm", "--chunk-size=7", "-o", "name").stdout.split()
    assert len([n for n in names if n.startswith("configmap/pg-")]) == 25
    assert len(set(names)) == len(names)


def test_finalizer_holds_deletion_until_removed(
        kyb: ServerProcess, ns: str, tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "held", "namespace": ns, "finalizers": ["example.com/hold"]}}
    kyb.kubectl("create", "-f", manifest(tmp_path, "held.yaml", cm))
    res = kyb.kubectl("-n", ns, "delete", "configmap", "held", "--wait=false", timeout=30)
    assert res.stdout.strip() == 'configmap "held" deleted'
    obj = get_json(kyb, "-n", ns, "configmap", "held")
    assert obj["metadata"]["deletionTimestamp"]
    assert obj["metadata"]["finalizers"] == ["example.com/hold"]
    kyb.kubectl("-n", ns, "patch", "configmap", "held", "--type=json",
                "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    res = kyb.kubectl("-n", ns, "get", "configmap", "held", check=False)
    assert res.returncode != 0
    assert 'Error from server (NotFound): configmaps "held" not found' in res.stderr


# --- patch, set, scale, label, annotate, edit -------------------------------------------


def test_patch_set_scale_label_annotate_edit(
        kyb: ServerProcess, ns: str, tmp_path: Path) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"selector": {"matchLabels": {"app": "d"}},
                       "template": {"metadata": {"labels": {"app": "d"}},
                                    "spec": {"containers": [{"name": "a", "image": "x:1"},
                                                            {"name": "b", "image": "y:1"}]}}}}
    kyb.kubectl("-n", ns, "apply", "-f", manifest(tmp_path, "d.yaml", deploy))

    def images() -> dict[str, str]:
        obj = get_json(kyb, "-n", ns, "deployment", "d")
        return {c["name"]: c["image"] for c in obj["spec"]["template"]["spec"]["containers"]}

    # Strategic merge: containers merge by name, so b stays.
    kyb.kubectl("-n", ns, "patch", "deploy", "d", "--type=strategic", "-p",
                '{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:2"}]}}}}')
    assert images() == {"a": "x:2", "b": "y:1"}
    assert kyb.kubectl("-n", ns, "set", "image", "deploy/d", "a=x:3").stdout.strip() == \
        "deployment.apps/d image updated"
    assert images() == {"a": "x:3", "b": "y:1"}

    assert kyb.kubectl("-n", ns, "scale", "deploy", "d", "--replicas=4").stdout.strip() == \
        "deployment.apps/d scaled"
    assert get_json(kyb, "-n", ns, "deployment", "d")["spec"]["replicas"] == 4

    def meta() -> Obj:
        return get_json(kyb, "-n", ns, "deployment", "d")["metadata"]

    kyb.kubectl("-n", ns, "label", "deploy", "d", "team=red")
    assert meta()["labels"]["team"] == "red"
    res = kyb.kubectl("-n", ns, "label", "deploy", "d", "team=blue", check=False)
    assert res.returncode != 0 and "'team' already has a value (red)" in res.stderr
    kyb.kubectl("-n", ns, "label", "deploy", "d", "team=blue", "--overwrite")
    assert meta()["labels"]["team"] == "blue"
    kyb.kubectl("-n", ns, "label", "deploy", "d", "team-")
    assert "team" not in (meta().get("labels") or {})

    kyb.kubectl("-n", ns, "annotate", "deploy", "d", "note=one")
    assert meta()["annotations"]["note"] == "one"
    kyb.kubectl("-n", ns, "annotate", "deploy", "d", "note=two", "--overwrite")
    assert meta()["annotations"]["note"] == "two"
    kyb.kubectl("-n", ns, "annotate", "deploy", "d", "note-")
    assert "note" not in meta()["annotations"]

    res = kyb.kubectl("-n", ns, "edit", "deploy", "d",
                      env={"KUBE_EDITOR": "sed -i s/x:3/x:4/", "EDITOR": ""})
    assert res.stdout.strip() == "deployment.apps/d edited"
    assert images() == {"a": "x:4", "b": "y:1"}


# --- validation ---------------------------------------------------------------------------

_POD_WITH_BOGUS = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bogus"},
                   "spec": {"bogus": 1, "containers": [{"name": "c", "image": "nginx"}]}}


def test_pod_without_containers_is_invalid(kyb: ServerProcess, ns: str,
                                           tmp_path: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"}, "spec": {}}
    res = kyb.kubectl("-n", ns, "create", "-f", manifest(tmp_path, "p.yaml", pod), check=False)
    assert res.returncode != 0
    assert 'The Pod "empty" is invalid' in res.stderr
    assert "spec.containers: Required value" in res.stderr


def test_unknown_field_is_rejected_by_default(kyb: ServerProcess, ns: str,
                                              tmp_path: Path) -> None:
    path = manifest(tmp_path, "p.yaml", _POD_WITH_BOGUS)
    res = kyb.kubectl("-n", ns, "create", "-f", path, check=False)
    assert res.returncode != 0
    assert "Error from server (BadRequest)" in res.stderr
    assert 'unknown field "spec.bogus"' in res.stderr
    assert kyb.kubectl("-n", ns, "get", "pod", "bogus", check=False).returncode != 0


@pytest.mark.parametrize(("flag", "warns"), [("--validate=warn", True),
                                            ("--validate=false", False)])
def test_unknown_field_with_lenient_validation(kyb: ServerProcess, ns: str, tmp_path: Path,
                                               flag: str, warns: bool) -> None:
    path = manifest(tmp_path, "p.yaml", _POD_WITH_BOGUS)
    res = kyb.kubectl("-n", ns, "create", "-f", path, flag)
    assert res.stdout.strip() == "pod/bogus created"
    assert ('Warning: unknown field "spec.bogus"' in res.stderr) is warns
    assert "bogus" not in get_json(kyb, "-n", ns, "pod", "bogus")["spec"]


def test_invalid_name_is_rejected(kyb: ServerProcess, ns: str) -> None:
    res = kyb.kubectl("-n", ns, "create", "configmap", "Bad_Name", check=False)
    assert res.returncode != 0
    assert 'ConfigMap "Bad_Name" is invalid' in res.stderr
    assert 'metadata.name: Invalid value: "Bad_Name"' in res.stderr


# --- delete -------------------------------------------------------------------------------


def test_delete_waits_until_gone(kyb: ServerProcess, ns: str) -> None:
    kyb.kubectl("-n", ns, "create", "configmap", "x")
    res = kyb.kubectl("-n", ns, "delete", "cm", "x", timeout=30)
    assert res.stdout.strip() == 'configmap "x" deleted'
    assert kyb.kubectl("-n", ns, "get", "cm", "x", check=False).returncode != 0

    # No node, so no kubelet to wait for: an unscheduled pod goes at once.
    kyb.kubectl("-n", ns, "run", "p", "--image=nginx")
    res = kyb.kubectl("-n", ns, "delete", "pod", "p", timeout=30)
    assert res.stdout.strip() == 'pod "p" deleted'
    res = kyb.kubectl("-n", ns, "get", "pod", "p", check=False)
    assert 'pods "p" not found' in res.stderr


def test_delete_namespace_leaves_it_terminating(kyb: ServerProcess, ns: str) -> None:
    # No namespace controller yet, so only --wait=false returns.
    res = kyb.kubectl("delete", "ns", ns, "--wait=false", timeout=30)
    assert res.stdout.strip() == f'namespace "{ns}" deleted'
    out = kyb.kubectl("get", "ns", ns, "-o", "jsonpath={.status.phase}").stdout
    assert out == "Terminating"
    assert get_json(kyb, "ns", ns)["metadata"]["deletionTimestamp"]


def test_namespace_lifecycle_admission(kyb: ServerProcess, ns: str, tmp_path: Path) -> None:
    cm: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    res = kyb.kubectl("-n", "nope", "create", "-f", manifest(tmp_path, "c.yaml", cm),
                      check=False)
    assert res.returncode != 0
    assert "Error from server (NotFound)" in res.stderr
    assert 'namespaces "nope" not found' in res.stderr

    kyb.kubectl("delete", "ns", ns, "--wait=false", timeout=30)
    res = kyb.kubectl("-n", ns, "create", "-f", manifest(tmp_path, "c.yaml", cm), check=False)
    assert res.returncode != 0
    assert "Error from server (Forbidden)" in res.stderr
    assert (f'configmaps "c" is forbidden: unable to create new content in namespace {ns} '
            "because it is being terminated") in res.stderr


# --- describe, explain, auth, raw ---------------------------------------------------------


def test_describe_deployment_and_pod(kyb: ServerProcess, ns: str) -> None:
    kyb.kubectl("-n", ns, "create", "deployment", "d", "--image=nginx")
    kyb.kubectl("-n", ns, "run", "p", "--image=nginx", "--labels=app=p")
    out = kyb.kubectl("-n", ns, "describe", "deploy", "d").stdout
    assert out.splitlines()[0].split() == ["Name:", "d"]
    assert "Image:" in out and "nginx" in out
    out = kyb.kubectl("-n", ns, "describe", "pod", "p").stdout
    assert out.splitlines()[0].split() == ["Name:", "p"]
    assert any(line.split() == ["Status:", "Pending"] for line in out.splitlines())


def test_explain_prints_field_docs(kyb: ServerProcess) -> None:
    out = kyb.kubectl("explain", "pod.spec.containers").stdout
    assert "KIND:       Pod" in out
    assert "FIELD: containers <[]Container>" in out
    assert "image\t<string>" in out


def test_auth_can_i_whoami_and_readyz(kyb: ServerProcess) -> None:
    assert kyb.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    rows = table(kyb.kubectl("auth", "whoami").stdout)
    assert ["Username", "kubernetes-admin"] in rows
    assert any(r[0] == "Groups" and "system:masters" in r[1] for r in rows)
    assert kyb.kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_bad_token_is_unauthorized(kyb: ServerProcess, tmp_path: Path) -> None:
    # The admin kubeconfig also carries a client certificate, which alone authenticates
    # (upstream's authenticator union tries x509 before tokens); so drop it.
    config = yaml.safe_load(kyb.kubeconfig.read_text())
    for user in config["users"]:
        user["user"] = {}
    path = tmp_path / "no-cert.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    res = kyb.kubectl("--kubeconfig", str(path), "--token=bad", "get", "ns", check=False)
    assert res.returncode != 0
    # The kubectl dispatcher cannot read /version with a bad token, so which kubectl
    # build runs depends on its own version cache; builds word the 401 differently.
    assert ("error: You must be logged in to the server (Unauthorized)" in res.stderr
            or "error: You must be logged in to the server (the server has asked for the "
               "client to provide credentials)" in res.stderr)


# --- errors -------------------------------------------------------------------------------


def test_get_missing_is_not_found(kyb: ServerProcess, ns: str) -> None:
    res = kyb.kubectl("-n", ns, "get", "pod", "nope", check=False)
    assert res.returncode != 0
    assert res.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_create_existing_is_already_exists(kyb: ServerProcess, ns: str,
                                           tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    path = manifest(tmp_path, "c.yaml", cm)
    kyb.kubectl("-n", ns, "create", "-f", path)
    res = kyb.kubectl("-n", ns, "create", "-f", path, check=False)
    assert res.returncode != 0
    assert "Error from server (AlreadyExists)" in res.stderr
    assert 'configmaps "c" already exists' in res.stderr


# --- other kubectl versions ---------------------------------------------------------------


@pytest.mark.parametrize("minor", [27, 33], ids=["kubectl-1.27", "kubectl-1.33"])
def test_core_flow_with_other_kubectl_versions(
        kyb: ServerProcess, tmp_path: Path, minor: int) -> None:
    binary = kubectl_binary(minor)
    if binary is None:
        pytest.skip(f"kubectl.1.{minor} is not installed (looked on PATH and beside the "
                    "kubectl dispatcher)")

    def k(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return kyb.kubectl(*args, binary=binary, check=check)

    ns = f"kubectl-1-{minor}"
    assert k("create", "namespace", ns).stdout.strip() == f"namespace/{ns} created"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": ns},
          "data": {"k": "1"}}
    assert k("apply", "-f", manifest(tmp_path, "a.yaml", cm)).stdout.strip() == \
        "configmap/a created"
    rows = table(k("-n", ns, "get", "cm").stdout)
    assert rows[0] == ["NAME", "DATA", "AGE"] and rows[1][:2] == ["a", "1"]

    watch = Stream(kyb.kubectl_popen("-n", ns, "get", "cm", "a", "-w",
                                     "--output-watch-events", "-o", "json", binary=binary))
    try:
        watch.wait_for(lambda s: event_types(s, "a") == ["ADDED"], "ADDED for a")
        k("-n", ns, "patch", "cm", "a", "-p", '{"data":{"k":"2"}}')
        watch.wait_for(lambda s: event_types(s, "a") == ["ADDED", "MODIFIED"], "MODIFIED")
        assert events(watch, "a")[1][1]["data"] == {"k": "2"}
    finally:
        watch.stop()

    assert k("-n", ns, "delete", "cm", "a").stdout.strip() == 'configmap "a" deleted'
    res = k("-n", ns, "get", "cm", "a", check=False)
    assert 'Error from server (NotFound): configmaps "a" not found' in res.stderr
