"""The core controllers against a real `kyb server`, driven by the real kubectl.

A `ControllerManager` (no leader election) runs the garbage collector and the
namespace, service account, root CA publisher, Endpoints, EndpointSlice, pod GC
and TTL-after-finished controllers in an event loop of its own thread for the
whole module; the tests act like a user would and poll for the outcome.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from kybernetes.client import Client, load_kubeconfig
from kybernetes.controllers.manager import ControllerManager
from kybernetes.testing.server import ServerProcess

Obj = dict[str, Any]
DEADLINE_SECONDS = 60.0
CONTROLLERS = ["garbagecollector", "namespace", "serviceaccount", "root-ca-cert-publisher",
               "endpoint", "endpointslice", "podgc", "ttl-after-finished"]
OPTIONS = {"namespace_deletion_grace_period": 0.2, "pod_gc_period": 0.5,
           "pod_gc_quarantine": 1.0, "gc_discovery_period": 5.0}


class _ErrorLog(logging.Handler):
    """Collects ERROR records (log.exception: a crashed handler or loop) of controllers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class ManagerThread:
    """A ControllerManager in its own thread's event loop (kubectl blocks the test's)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name="controller-manager",
                                       daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None

    def _main(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.task = self.loop.create_task(self._run())
        self.ready.set()
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # reported by stop()
            self.failure = exc
        finally:
            self.loop.close()

    async def _run(self) -> None:
        async with Client(load_kubeconfig(self.server.kubeconfig)) as client:
            manager = ControllerManager(client, controllers=CONTROLLERS, leader_elect=False,
                                        options=OPTIONS)
            await manager.run()

    def start(self) -> ManagerThread:
        self.thread.start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        assert self.loop is not None and self.task is not None
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the controller manager did not stop"
        if self.failure is not None:
            raise AssertionError(f"the controller manager failed: {self.failure!r}")


@pytest.fixture(scope="module", autouse=True)
def controllers(kyb: ServerProcess) -> Iterator[ManagerThread]:
    errors = _ErrorLog()
    logging.getLogger("kybernetes").addHandler(errors)
    manager = ManagerThread(kyb).start()
    try:
        yield manager
    finally:
        manager.stop()
        logging.getLogger("kybernetes").removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records]


# --- helpers -----------------------------------------------------------------------------


def poll(check: Callable[[], Any], what: str) -> Any:
    """`check()`'s first truthy result; fails after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def apply(kyb: ServerProcess, *objs: Obj) -> None:
    kyb.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objs))


def get(kyb: ServerProcess, *args: str) -> Obj | None:
    """`kubectl get ... -o json`, None when not found."""
    res = kyb.kubectl("get", *args, "-o", "json", check=False)
    if res.returncode != 0:
        assert "NotFound" in res.stderr, res.stderr
        return None
    return json.loads(res.stdout)


def items(kyb: ServerProcess, *args: str) -> list[Obj]:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)["items"]


def configmap(name: str, namespace: str, *, owners: list[Obj] = (), **meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace,
                         **({"ownerReferences": list(owners)} if owners else {}), **meta},
            "data": {"k": "v"}}


def owner_ref(obj: Obj, *, block: bool = False) -> Obj:
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
           "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"]}
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


def crd(group: str) -> Obj:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object", "x-kubernetes-preserve-unknown-fields":
                                       True}}}]}}


def widget_crd(kyb: ServerProcess, ns: str) -> str:
    group = f"{ns}.example.com"
    apply(kyb, crd(group))
    kyb.kubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=30s")
    poll(lambda: kyb.kubectl("get", f"widgets.{group}", "-n", ns, check=False).returncode == 0,
         "the Widget resource to be served")
    return group


def set_pod_status(kyb: ServerProcess, ns: str, pod: str, ip: str, *, ready: bool) -> None:
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    kyb.kubectl("-n", ns, "patch", "pod", pod, "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": status}))


def pod(name: str, ns: str, node: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": node, "containers": [{
                "name": "c", "image": "kyb.local/busybox",
                "ports": [{"name": "http", "containerPort": 8080}]}]}}


# --- namespaces, service accounts, root CA -----------------------------------------------


def test_new_namespace_gets_default_service_account_and_root_ca(kyb: ServerProcess,
                                                                ns: str) -> None:
    sa = poll(lambda: get(kyb, "-n", ns, "serviceaccount", "default"), "the default SA")
    cm = poll(lambda: get(kyb, "-n", ns, "configmap", "kube-root-ca.crt"), "kube-root-ca.crt")
    config = yaml.safe_load(kyb.kubeconfig.read_text())
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    assert cm["data"] == {"ca.crt": ca.decode()}
    assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith(
        "Contains a CA bundle that can be used to verify the kube-apiserver")

    # Both come back when deleted, and the ConfigMap when changed.
    kyb.kubectl("-n", ns, "delete", "serviceaccount", "default")
    poll(lambda: (get(kyb, "-n", ns, "sa", "default") or sa)["metadata"]["uid"]
         != sa["metadata"]["uid"], "a new default SA")
    kyb.kubectl("-n", ns, "patch", "configmap", "kube-root-ca.crt", "--type=merge",
                "-p", '{"data": {"ca.crt": "tampered"}}')
    poll(lambda: (get(kyb, "-n", ns, "cm", "kube-root-ca.crt") or {}).get("data")
         == {"ca.crt": ca.decode()}, "the CA restored")


def test_delete_namespace_empties_and_removes_it(kyb: ServerProcess, ns: str) -> None:
    group = widget_crd(kyb, ns)
    apply(kyb, configmap("cm", ns),
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns}},
          {"apiVersion": f"{group}/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": ns}},
          {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
           "spec": {"containers": [{"name": "c", "image": "kyb.local/busybox"}]}})

    res = kyb.kubectl("delete", "namespace", ns, timeout=90)
    assert res.stdout.strip() == f'namespace "{ns}" deleted'
    assert get(kyb, "namespace", ns) is None
    kyb.kubectl("delete", "crd", f"widgets.{group}")


def test_namespace_waits_for_finalizers_with_conditions(kyb: ServerProcess, ns: str) -> None:
    apply(kyb, configmap("held", ns, finalizers=["example.com/hold"]), configmap("free", ns))
    kyb.kubectl("delete", "namespace", ns, "--wait=false")

    def conditions() -> dict[str, Obj] | None:
        got = get(kyb, "namespace", ns) or {}
        conds = {c["type"]: c for c in (got.get("status") or {}).get("conditions") or []}
        return conds if "NamespaceFinalizersRemaining" in conds else None

    conds = poll(conditions, "the namespace's deletion conditions")
    assert conds["NamespaceFinalizersRemaining"]["status"] == "True"
    assert conds["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
        "resource instances")
    assert conds["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances")
    assert conds["NamespaceDeletionDiscoveryFailure"]["status"] == "False"
    assert conds["NamespaceDeletionContentFailure"]["reason"] == "ContentDeleted"
    assert get(kyb, "-n", ns, "configmap", "free") is None
    assert get(kyb, "-n", ns, "configmap", "held")["metadata"]["deletionTimestamp"]

    kyb.kubectl("-n", ns, "patch", "configmap", "held", "--type=merge",
                "-p", '{"metadata": {"finalizers": null}}')
    kyb.kubectl("wait", "--for=delete", f"namespace/{ns}", "--timeout=60s", timeout=90)


# --- garbage collection ------------------------------------------------------------------


def make_family(kyb: ServerProcess, ns: str, *, block: bool = False) -> Obj:
    apply(kyb, configmap("owner", ns))
    owner = get(kyb, "-n", ns, "configmap", "owner")
    assert owner is not None
    apply(kyb, configmap("child-a", ns, owners=[owner_ref(owner, block=block)]),
          configmap("child-b", ns, owners=[owner_ref(owner, block=block)]))
    return owner


def test_cascade_background_deletes_dependents(kyb: ServerProcess, ns: str) -> None:
    make_family(kyb, ns)
    kyb.kubectl("-n", ns, "delete", "configmap", "owner", "--cascade=background")
    poll(lambda: not [c for c in items(kyb, "-n", ns, "configmaps")
                      if c["metadata"]["name"].startswith("child-")], "the dependents to go")


def test_cascade_foreground_deletes_dependents_first(kyb: ServerProcess, ns: str) -> None:
    owner = make_family(kyb, ns, block=True)
    # One dependent is held by a finalizer of its own: the owner must wait for it.
    kyb.kubectl("-n", ns, "patch", "configmap", "child-a", "--type=merge",
                "-p", '{"metadata": {"finalizers": ["example.com/hold"]}}')
    kyb.kubectl("-n", ns, "delete", "configmap", "owner", "--cascade=foreground", "--wait=false")

    waiting = get(kyb, "-n", ns, "configmap", "owner")
    assert waiting is not None and waiting["metadata"]["uid"] == owner["metadata"]["uid"]
    assert waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert waiting["metadata"]["deletionTimestamp"]
    poll(lambda: get(kyb, "-n", ns, "configmap", "child-b") is None, "child-b to go")
    held = get(kyb, "-n", ns, "configmap", "child-a")
    assert held is not None and held["metadata"]["deletionTimestamp"]
    assert get(kyb, "-n", ns, "configmap", "owner") is not None

    kyb.kubectl("-n", ns, "patch", "configmap", "child-a", "--type=merge",
                "-p", '{"metadata": {"finalizers": null}}')
    kyb.kubectl("-n", ns, "wait", "--for=delete", "configmap/owner", "--timeout=60s",
                timeout=90)


def test_kubectl_delete_cascade_foreground_completes(kyb: ServerProcess, ns: str) -> None:
    make_family(kyb, ns, block=True)
    res = kyb.kubectl("-n", ns, "delete", "configmap", "owner", "--cascade=foreground",
                      timeout=90)
    assert res.stdout.strip() == 'configmap "owner" deleted'
    # Foreground: the owner went last, after its blocking dependents.
    assert not [c for c in items(kyb, "-n", ns, "configmaps")
                if c["metadata"]["name"].startswith("child-")]


def test_cascade_orphan_keeps_dependents_without_the_reference(kyb: ServerProcess,
                                                               ns: str) -> None:
    make_family(kyb, ns)
    kyb.kubectl("-n", ns, "delete", "configmap", "owner", "--cascade=orphan", timeout=90)
    assert get(kyb, "-n", ns, "configmap", "owner") is None
    for name in ("child-a", "child-b"):
        child = get(kyb, "-n", ns, "configmap", name)
        assert child is not None
        assert "ownerReferences" not in child["metadata"]


def test_custom_resource_owner_and_dependent(kyb: ServerProcess, ns: str) -> None:
    group = widget_crd(kyb, ns)
    apply(kyb, {"apiVersion": f"{group}/v1", "kind": "Widget",
                "metadata": {"name": "parent", "namespace": ns}})
    parent = get(kyb, "-n", ns, f"widgets.{group}", "parent")
    assert parent is not None
    apply(kyb, configmap("child", ns, owners=[owner_ref(parent)]),
          {"apiVersion": f"{group}/v1", "kind": "Widget",
           "metadata": {"name": "kid", "namespace": ns, "ownerReferences": [owner_ref(parent)]}})
    kyb.kubectl("-n", ns, "delete", f"widgets.{group}", "parent")
    poll(lambda: get(kyb, "-n", ns, "configmap", "child") is None, "the ConfigMap to go")
    poll(lambda: get(kyb, "-n", ns, f"widgets.{group}", "kid") is None, "the Widget to go")
    kyb.kubectl("delete", "crd", f"widgets.{group}")


# --- endpoints -----------------------------------------------------------------------------


def service(name: str, ns: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns,
                                                                 "labels": {"tier": "front"}},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}], **spec}}


def test_service_gets_endpoints_and_endpointslice(kyb: ServerProcess, ns: str) -> None:
    node = f"{ns}-node"
    apply(kyb, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}},
          service("web", ns), pod("ready", ns, node, app="web"),
          pod("unready", ns, node, app="web"), pod("other", ns, node, app="db"))
    set_pod_status(kyb, ns, "ready", "10.244.0.1", ready=True)
    set_pod_status(kyb, ns, "unready", "10.244.0.2", ready=False)
    uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in items(kyb, "-n", ns, "pods")}

    def address(name: str, ip: str) -> Obj:
        return {"ip": ip, "nodeName": node, "targetRef": {
            "kind": "Pod", "namespace": ns, "name": name, "uid": uids[name]}}

    want = [{"addresses": [address("ready", "10.244.0.1")],
             "notReadyAddresses": [address("unready", "10.244.0.2")],
             "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]
    ep = poll(lambda: (e := get(kyb, "-n", ns, "endpoints", "web")) and e.get("subsets") == want
              and e, "the Endpoints")
    assert ep["metadata"]["labels"] == {"tier": "front"}

    def slices() -> list[Obj]:
        return items(kyb, "-n", ns, "endpointslices", "-l", "kubernetes.io/service-name=web")

    def endpoint(name: str, ip: str, ready: bool) -> Obj:
        return {"addresses": [ip], "nodeName": node,
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "targetRef": {"kind": "Pod", "namespace": ns, "name": name, "uid": uids[name]}}

    def slice_endpoints() -> list[Obj] | None:
        got = slices()
        if len(got) != 1:
            return None
        return sorted(got[0].get("endpoints") or [], key=lambda e: e["addresses"])

    poll(lambda: slice_endpoints() == [endpoint("ready", "10.244.0.1", True),
                                       endpoint("unready", "10.244.0.2", False)],
         "the EndpointSlice")
    (es,) = slices()
    assert es["addressType"] == "IPv4"
    assert es["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert es["metadata"]["labels"] == {
        "tier": "front", "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    (ref,) = es["metadata"]["ownerReferences"]
    assert ref["kind"] == "Service" and ref["name"] == "web" and ref["controller"] is True

    # The unready pod becomes ready: both are addresses now, in both objects.
    set_pod_status(kyb, ns, "unready", "10.244.0.2", ready=True)
    poll(lambda: (get(kyb, "-n", ns, "endpoints", "web") or {}).get("subsets") == [
        {"addresses": [address("ready", "10.244.0.1"), address("unready", "10.244.0.2")],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}], "both ready")
    poll(lambda: slice_endpoints() == [endpoint("ready", "10.244.0.1", True),
                                       endpoint("unready", "10.244.0.2", True)],
         "both ready in the slice")

    # The Service goes: its Endpoints (endpoints controller) and slices (GC) go too.
    kyb.kubectl("-n", ns, "delete", "service", "web")
    poll(lambda: get(kyb, "-n", ns, "endpoints", "web") is None, "the Endpoints to go")
    poll(lambda: not slices(), "the EndpointSlice to go")


def test_headless_service_without_selector_is_left_alone(kyb: ServerProcess, ns: str) -> None:
    svc = service("manual", ns, clusterIP="None")
    del svc["spec"]["selector"]
    apply(kyb, svc, {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": "manual", "namespace": ns},
                     "subsets": [{"addresses": [{"ip": "192.0.2.1"}],
                                  "ports": [{"name": "http", "port": 9}]}]})
    # A selector-less service next to one with a selector: only the latter gets slices.
    apply(kyb, service("web", ns))
    poll(lambda: items(kyb, "-n", ns, "endpointslices", "-l",
                       "kubernetes.io/service-name=web"), "web's placeholder slice")
    assert items(kyb, "-n", ns, "endpointslices", "-l",
                 "kubernetes.io/service-name=manual") == []
    ep = get(kyb, "-n", ns, "endpoints", "manual")
    assert ep is not None and ep["subsets"][0]["addresses"] == [{"ip": "192.0.2.1"}]
    kubernetes = get(kyb, "-n", "default", "endpoints", "kubernetes")
    assert kubernetes is not None
    assert kubernetes["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}


# --- pod GC, TTL after finished ------------------------------------------------------------


def test_pod_on_a_missing_node_is_deleted(kyb: ServerProcess, ns: str) -> None:
    apply(kyb, pod("orphan", ns, f"{ns}-gone"))
    poll(lambda: get(kyb, "-n", ns, "pod", "orphan") is None, "the orphaned pod to go")


def test_finished_job_is_deleted_after_its_ttl(kyb: ServerProcess, ns: str) -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "done", "namespace": ns},
           "spec": {"ttlSecondsAfterFinished": 0, "template": {"spec": {
               "restartPolicy": "Never",
               "containers": [{"name": "c", "image": "kyb.local/busybox"}]}}}}
    apply(kyb, job)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"startTime": now, "completionTime": now, "succeeded": 1, "conditions": [
        {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now},
        {"type": "Complete", "status": "True", "lastTransitionTime": now}]}
    kyb.kubectl("-n", ns, "patch", "job", "done", "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": status}))
    poll(lambda: get(kyb, "-n", ns, "job", "done") is None, "the Job to go")
