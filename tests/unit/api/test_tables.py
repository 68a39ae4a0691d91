"""Server-side Tables: upstream's columns and cell text for `kubectl get`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kybernetes.api import tables
from kybernetes.api.registry import Registry, ResourceInfo

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
REGISTRY = Registry.builtin()


def ago(**kw: float) -> str:
    return (NOW - timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def info(kind: str, group: str = "") -> ResourceInfo:
    for i in REGISTRY:
        if i.kind == kind and i.group == group:
            return i
    raise KeyError(kind)


def cells(kind: str, obj: dict[str, Any], group: str = "") -> dict[str, Any]:
    """The row of `obj` as {column name: cell}."""
    t = tables.table(info(kind, group), [obj], now=NOW)
    names = [c["name"] for c in t["columnDefinitions"]]
    return dict(zip(names, t["rows"][0]["cells"], strict=True))


def make_pod(*, phase: str = "Running", containers: list[dict[str, Any]] | None = None,
             statuses: list[dict[str, Any]] | None = None,
             init: list[dict[str, Any]] | None = None,
             init_statuses: list[dict[str, Any]] | None = None,
             conditions: list[dict[str, Any]] | None = None, deleting: bool = False,
             node: str = "", reason: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "default",
                            "creationTimestamp": ago(minutes=5)}
    if deleting:
        meta["deletionTimestamp"] = ago(seconds=1)
    status: dict[str, Any] = {"phase": phase}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    if reason:
        status["reason"] = reason
    spec: dict[str, Any] = {"containers": containers or [{"name": "c", "image": "nginx"}]}
    if init is not None:
        spec["initContainers"] = init
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def running(name: str = "c", restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": True, "restartCount": restarts,
            "state": {"running": {"startedAt": ago(minutes=4)}}, **extra}


def waiting(reason: str, name: str = "c", restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}, **extra}


def terminated(reason: str, code: int = 0, name: str = "c") -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": 0,
            "state": {"terminated": {"reason": reason, "exitCode": code}}}


@pytest.mark.parametrize(
    ("pod", "ready", "status", "restarts"),
    [
        pytest.param(make_pod(phase="Pending"), "0/1", "Pending", "0", id="pending"),
        pytest.param(make_pod(phase="Pending", statuses=[waiting("ContainerCreating")]),
                     "0/1", "ContainerCreating", "0", id="container-creating"),
        pytest.param(make_pod(statuses=[running()]), "1/1", "Running", "0", id="running"),
        pytest.param(make_pod(phase="Succeeded", statuses=[terminated("Completed")]),
                     "0/1", "Completed", "0", id="completed"),
        pytest.param(make_pod(statuses=[waiting(
            "CrashLoopBackOff", restarts=3,
            lastState={"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}})]),
            "0/1", "CrashLoopBackOff", "3 (2m ago)", id="crash-loop"),
        pytest.param(make_pod(phase="Pending", statuses=[waiting("ErrImagePull")]),
                     "0/1", "ErrImagePull", "0", id="err-image-pull"),
        pytest.param(make_pod(statuses=[running()], deleting=True), "1/1", "Terminating", "0",
                     id="terminating"),
        pytest.param(make_pod(phase="Succeeded", statuses=[terminated("Completed")],
                              deleting=True), "0/1", "Completed", "0",
                     id="terminal-pod-is-not-terminating"),
        pytest.param(make_pod(statuses=[running()], deleting=True, reason="NodeLost"),
                     "1/1", "Unknown", "0", id="node-lost"),
        pytest.param(make_pod(phase="Pending", init=[{"name": "i", "image": "busybox"}],
                              init_statuses=[{"name": "i", "restartCount": 0,
                                              "state": {"running": {}}}],
                              statuses=[waiting("PodInitializing")]),
                     "0/1", "Init:0/1", "0", id="init-0-of-1"),
        pytest.param(make_pod(phase="Pending", init=[{"name": "i", "image": "busybox"}],
                              init_statuses=[terminated("Error", code=1, name="i")]),
                     "0/1", "Init:Error", "0", id="init-error"),
        pytest.param(make_pod(phase="Pending", init=[{"name": "i", "image": "busybox"}],
                              init_statuses=[{"name": "i", "restartCount": 0, "state": {
                                  "terminated": {"exitCode": 2}}}]),
                     "0/1", "Init:ExitCode:2", "0", id="init-exit-code"),
        pytest.param(make_pod(init=[{"name": "side", "image": "envoy",
                                     "restartPolicy": "Always"}],
                              init_statuses=[running("side", started=True)],
                              statuses=[running()],
                              conditions=[{"type": "Initialized", "status": "True"}]),
                     "2/2", "Running", "0", id="sidecar-counts"),
        pytest.param(make_pod(statuses=[running("a"), terminated("Completed", name="b")],
                              containers=[{"name": "a"}, {"name": "b"}],
                              conditions=[{"type": "Ready", "status": "False"}]),
                     "1/2", "NotReady", "0", id="completed-but-one-running"),
        pytest.param(make_pod(phase="Pending", conditions=[
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
            "0/1", "SchedulingGated", "0", id="scheduling-gated"),
    ],
)
def test_pod_status_column(pod: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    row = cells("Pod", pod)
    assert (row["Ready"], row["Status"], row["Restarts"]) == (ready, status, restarts)
    assert row["Age"] == "5m"


def test_pod_wide_columns() -> None:
    pod = make_pod(statuses=[running()], node="n1")
    pod["status"]["podIPs"] = [{"ip": "10.0.0.5"}]
    pod["spec"]["readinessGates"] = [{"conditionType": "x/ready"}]
    pod["status"]["conditions"] = [{"type": "x/ready", "status": "True"}]
    row = cells("Pod", pod)
    assert row["IP"] == "10.0.0.5"
    assert row["Node"] == "n1"
    assert row["Nominated Node"] == "<none>"
    assert row["Readiness Gates"] == "1/1"


def test_pod_columns_match_upstream() -> None:
    cols = tables.column_definitions(info("Pod"))
    assert [(c["name"], c["type"], c["priority"]) for c in cols] == [
        ("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0),
        ("Restarts", "string", 0), ("Age", "string", 0), ("IP", "string", 1),
        ("Node", "string", 1), ("Nominated Node", "string", 1), ("Readiness Gates", "string", 1)]
    assert cols[0]["format"] == "name"
    assert all(c["description"] for c in cols)


def test_finished_pods_carry_the_completed_row_condition() -> None:
    t = tables.table(info("Pod"), [make_pod(phase="Succeeded")], now=NOW)
    assert t["rows"][0]["conditions"][0]["type"] == "Completed"


@pytest.mark.parametrize(
    ("conditions", "unschedulable", "expected"),
    [
        pytest.param([{"type": "Ready", "status": "True"}], False, "Ready", id="ready"),
        pytest.param([{"type": "Ready", "status": "False"}], False, "NotReady", id="not-ready"),
        pytest.param([], False, "Unknown", id="unknown"),
        pytest.param([{"type": "Ready", "status": "True"}], True, "Ready,SchedulingDisabled",
                     id="cordoned"),
    ],
)
def test_node_status(conditions: list[dict[str, str]], unschedulable: bool,
                     expected: str) -> None:
    node = {"metadata": {"name": "n1", "creationTimestamp": ago(days=2),
                         "labels": {"node-role.kubernetes.io/control-plane": "",
                                    "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": conditions,
                       "addresses": [{"type": "InternalIP", "address": "10.1.1.1"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian"}}}
    row = cells("Node", node)
    assert row["Status"] == expected
    assert row["Roles"] == "control-plane,worker"
    assert row["Age"] == "2d"
    assert row["Version"] == "v1.32.0"
    assert (row["Internal-IP"], row["External-IP"]) == ("10.1.1.1", "<none>")
    assert (row["OS-Image"], row["Kernel-Version"]) == ("Debian", "<unknown>")


def test_node_without_roles() -> None:
    assert cells("Node", {"metadata": {"name": "n"}})["Roles"] == "<none>"


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        pytest.param({"type": "NodePort", "clusterIPs": ["10.96.0.10"],
                      "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                                {"port": 53, "protocol": "UDP"}]}, {},
                     ("NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP"), id="node-port"),
        pytest.param({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}, {},
                     ("ClusterIP", "None", "<none>", "<none>"), id="headless"),
        pytest.param({"type": "LoadBalancer", "clusterIPs": ["10.96.0.1"],
                      "ports": [{"port": 443, "protocol": "TCP"}]}, {},
                     ("LoadBalancer", "10.96.0.1", "<pending>", "443/TCP"), id="lb-pending"),
        pytest.param({"type": "LoadBalancer", "clusterIPs": ["10.96.0.1"]},
                     {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
                     ("LoadBalancer", "10.96.0.1", "1.2.3.4", "<none>"), id="lb-ready"),
        pytest.param({"type": "ExternalName", "externalName": "example.com"}, {},
                     ("ExternalName", "<none>", "example.com", "<none>"), id="external-name"),
    ],
)
def test_service_columns(spec: dict[str, Any], status: dict[str, Any],
                         expected: tuple[str, ...]) -> None:
    row = cells("Service", {"metadata": {"name": "s"}, "spec": {**spec, "selector": {"app": "x"}},
                            "status": status})
    assert (row["Type"], row["Cluster-IP"], row["External-IP"], row["Port(s)"]) == expected
    assert row["Selector"] == "app=x"


def test_deployment_columns() -> None:
    dep = {"metadata": {"name": "web", "creationTimestamp": ago(hours=3)},
           "spec": {"replicas": 3,
                    "selector": {"matchLabels": {"app": "web"},
                                 "matchExpressions": [{"key": "tier", "operator": "In",
                                                       "values": ["b", "a"]}]},
                    "template": {"spec": {"containers": [{"name": "a", "image": "nginx:1"},
                                                         {"name": "b", "image": "redis"}]}}},
           "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert tables.table(info("Deployment", "apps"), [dep], now=NOW)["rows"][0]["cells"] == [
        "web", "2/3", 3, 2, "3h", "a,b", "nginx:1,redis", "app=web,tier in (a,b)"]


@pytest.mark.parametrize(
    ("conditions", "deleting", "expected"),
    [
        pytest.param([], False, "Running", id="running"),
        pytest.param([{"type": "Complete", "status": "True"}], False, "Complete", id="complete"),
        pytest.param([{"type": "Failed", "status": "True"}], False, "Failed", id="failed"),
        pytest.param([{"type": "Suspended", "status": "True"}], False, "Suspended",
                     id="suspended"),
        pytest.param([], True, "Terminating", id="terminating"),
    ],
)
def test_job_status(conditions: list[dict[str, str]], deleting: bool, expected: str) -> None:
    job = {"metadata": {"name": "j", "creationTimestamp": ago(minutes=10)},
           "spec": {"completions": 2, "parallelism": 1},
           "status": {"succeeded": 1, "conditions": conditions,
                      "startTime": ago(minutes=10), "completionTime": ago(minutes=7)}}
    if deleting:
        job["metadata"]["deletionTimestamp"] = ago(seconds=1)
    row = cells("Job", job, "batch")
    assert (row["Status"], row["Completions"], row["Duration"], row["Age"]) == (
        expected, "1/2", "3m", "10m")


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        pytest.param(timedelta(0), "0s", id="0s"),
        pytest.param(timedelta(seconds=-1), "0s", id="clock-skew"),
        pytest.param(timedelta(seconds=-5), "<invalid>", id="future"),
        pytest.param(timedelta(seconds=59), "59s", id="59s"),
        pytest.param(timedelta(seconds=119), "119s", id="119s"),
        pytest.param(timedelta(minutes=5), "5m", id="5m"),
        pytest.param(timedelta(minutes=5, seconds=30), "5m30s", id="5m30s"),
        pytest.param(timedelta(minutes=150), "150m", id="150m"),
        pytest.param(timedelta(hours=3, minutes=20), "3h20m", id="3h20m"),
        pytest.param(timedelta(hours=20), "20h", id="20h"),
        pytest.param(timedelta(days=2), "2d", id="2d"),
        pytest.param(timedelta(days=3, hours=4), "3d4h", id="3d4h"),
        pytest.param(timedelta(days=300), "300d", id="300d"),
        pytest.param(timedelta(days=365 * 2 + 30), "2y30d", id="2y30d"),
        pytest.param(timedelta(days=365 * 9), "9y", id="9y"),
    ],
)
def test_ages_use_human_duration(delta: timedelta, expected: str) -> None:
    created = (NOW - delta).isoformat().replace("+00:00", "Z")
    assert cells("ConfigMap", {"metadata": {"name": "c", "creationTimestamp": created}})[
        "Age"] == expected


@pytest.mark.parametrize(
    ("delta", "expected"),
    [(timedelta(seconds=59), "59s"), (timedelta(minutes=3), "3m"), (timedelta(hours=5), "5h"),
     (timedelta(days=2), "2d"), (timedelta(days=800), "2y")],
    ids=["59s", "3m", "5h", "2d", "2y"],
)
def test_short_human_duration(delta: timedelta, expected: str) -> None:
    assert tables.short_human_duration(delta) == expected


def test_missing_timestamp_is_unknown() -> None:
    assert cells("ConfigMap", {"metadata": {"name": "c"}})["Age"] == "<unknown>"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        pytest.param("None", None, id="none"),
        pytest.param("Metadata", {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                  "metadata": {"name": "c", "labels": {"a": "b"}}},
                     id="metadata"),
        pytest.param("Object", {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "c", "labels": {"a": "b"}},
                                "data": {"k": "v"}}, id="object"),
    ],
)
def test_include_object(mode: str, expected: dict[str, Any] | None) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"k": "v"}}
    row = tables.row(info("ConfigMap"), obj, now=NOW, include_object=mode)
    assert row.get("object") == expected
    assert row["cells"][:2] == ["c", 1]


def test_table_envelope_and_headers() -> None:
    t = tables.table(info("ConfigMap"), [], now=NOW, resource_version="42",
                     continue_token="tok", remaining=7)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 7}
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert set(t["columnDefinitions"][0]) == {"name", "type", "format", "description",
                                              "priority"}
    no_headers = tables.table(info("ConfigMap"), [{"metadata": {"name": "c"}}], now=NOW,
                              with_headers=False)
    assert no_headers["columnDefinitions"] == []
    assert len(no_headers["rows"]) == 1


@pytest.mark.parametrize(
    "resource",
    [ResourceInfo("example.com", "v1", "Widget", "widgets", True),
     ResourceInfo("example.com", "v1", "Pod", "pods", True)],
    ids=["unknown-kind", "crd-reusing-a-builtin-kind-name"],
)
def test_default_columns_for_kinds_without_a_printer(resource: ResourceInfo) -> None:
    t = tables.table(resource, [{"metadata": {"name": "w", "creationTimestamp":
                                              "2024-01-02T03:04:05Z"}}], now=NOW)
    assert [(c["name"], c["type"], c["format"]) for c in t["columnDefinitions"]] == [
        ("Name", "string", "name"), ("Created At", "date", "")]
    assert t["rows"][0]["cells"] == ["w", "2024-01-02T03:04:05Z"]


@pytest.mark.parametrize(
    ("kind", "group", "obj", "expected"),
    [
        pytest.param("Secret", "", {"type": "Opaque", "data": {"a": "", "b": ""}},
                     ["s", "Opaque", 2, "3m"], id="secret"),
        pytest.param("ServiceAccount", "", {"secrets": [{"name": "t"}]}, ["s", 1, "3m"],
                     id="service-account"),
        pytest.param("Namespace", "", {"status": {"phase": "Active"}}, ["s", "Active", "3m"],
                     id="namespace"),
        pytest.param("Lease", "coordination.k8s.io", {"spec": {"holderIdentity": "h1"}},
                     ["s", "h1", "3m"], id="lease"),
        pytest.param("Role", "rbac.authorization.k8s.io", {}, ["s", "2025-06-01T11:57:00Z"],
                     id="role-default-table"),
        pytest.param("RoleBinding", "rbac.authorization.k8s.io",
                     {"roleRef": {"kind": "Role", "name": "r"},
                      "subjects": [{"kind": "User", "name": "u"},
                                   {"kind": "Group", "name": "g"},
                                   {"kind": "ServiceAccount", "namespace": "ns", "name": "sa"}]},
                     ["s", "Role/r", "3m", "u", "g", "ns/sa"], id="rolebinding"),
        pytest.param("Endpoints", "", {"subsets": [{"addresses": [{"ip": "10.0.0.1"},
                                                                  {"ip": "10.0.0.2"}],
                                                    "ports": [{"port": 80}, {"port": 81}]}]},
                     ["s", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:81 + 1 more...", "3m"],
                     id="endpoints"),
        pytest.param("EndpointSlice", "discovery.k8s.io",
                     {"addressType": "IPv4", "ports": [{"port": 80}],
                      "endpoints": [{"addresses": ["10.0.0.1"]}]},
                     ["s", "IPv4", "80", "10.0.0.1", "3m"], id="endpointslice"),
        pytest.param("PersistentVolumeClaim", "",
                     {"spec": {"volumeName": "pv1", "storageClassName": "std"},
                      "status": {"phase": "Bound", "capacity": {"storage": "1Gi"},
                                 "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}},
                     ["s", "Bound", "pv1", "1Gi", "RWO,RWX", "std", "<unset>", "3m", "<unset>"],
                     id="pvc"),
        pytest.param("StorageClass", "storage.k8s.io",
                     {"metadata": {"annotations": {
                         "storageclass.kubernetes.io/is-default-class": "true"}},
                      "provisioner": "x.io/p"},
                     ["s (default)", "x.io/p", "Delete", "Immediate", False, "3m"],
                     id="storageclass"),
        pytest.param("PodDisruptionBudget", "policy",
                     {"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}},
                     ["s", "50%", "N/A", 1, "3m"], id="pdb"),
        pytest.param("HorizontalPodAutoscaler", "autoscaling",
                     {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                               "minReplicas": 1, "maxReplicas": 5, "metrics": [
                                   {"type": "Resource", "resource": {"name": "cpu", "target": {
                                       "type": "Utilization", "averageUtilization": 80}}}]},
                      "status": {"currentReplicas": 2, "currentMetrics": [
                          {"type": "Resource", "resource": {
                              "name": "cpu", "current": {"averageUtilization": 30}}}]}},
                     ["s", "Deployment/web", "cpu: 30%/80%", "1", 5, 2, "3m"], id="hpa-v2"),
        pytest.param("PriorityClass", "scheduling.k8s.io",
                     {"value": 1000, "globalDefault": True, "preemptionPolicy": "Never"},
                     ["s", 1000, True, "3m", "Never"], id="priorityclass"),
        pytest.param("ControllerRevision", "apps",
                     {"metadata": {"ownerReferences": [{"apiVersion": "apps/v1",
                                                        "kind": "StatefulSet", "name": "web",
                                                        "controller": True}]},
                      "revision": 3},
                     ["s", "statefulset.apps/web", 3, "3m"], id="controllerrevision"),
        pytest.param("ResourceQuota", "",
                     {"status": {"hard": {"pods": "10", "limits.cpu": "2"},
                                 "used": {"pods": "1", "limits.cpu": "500m"}}},
                     ["s", "pods: 1/10", "limits.cpu: 500m/2", "3m"], id="resourcequota"),
        pytest.param("Ingress", "networking.k8s.io",
                     {"spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example"}],
                               "tls": [{"hosts": ["a.example"]}]}},
                     ["s", "nginx", "a.example", "", "80, 443", "3m"], id="ingress"),
        pytest.param("CronJob", "batch",
                     {"spec": {"schedule": "*/5 * * * *", "suspend": False,
                               "jobTemplate": {"spec": {"template": {"spec": {
                                   "containers": [{"name": "c", "image": "busybox"}]}}}}},
                      "status": {"lastScheduleTime": ago(minutes=3)}},
                     ["s", "*/5 * * * *", "<none>", "False", 0, "3m", "3m", "c", "busybox",
                      "<none>"], id="cronjob"),
    ],
)
def test_kind_cells(kind: str, group: str, obj: dict[str, Any], expected: list[Any]) -> None:
    meta = {"name": "s", "creationTimestamp": ago(minutes=3), **obj.get("metadata", {})}
    full = {**obj, "metadata": meta}
    assert tables.table(info(kind, group), [full], now=NOW)["rows"][0]["cells"] == expected


def test_event_columns() -> None:
    event = {"metadata": {"name": "p.1", "creationTimestamp": ago(minutes=9)},
             "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
             "type": "Normal", "reason": "Pulled", "message": " pulled \n",
             "firstTimestamp": ago(minutes=9), "lastTimestamp": ago(minutes=1), "count": 4,
             "source": {"component": "kubelet", "host": "n1"}}
    assert tables.table(info("Event"), [event], now=NOW)["rows"][0]["cells"] == [
        "60s", "Normal", "Pulled", "pod/p", "spec.containers{c}", "kubelet, n1", "pulled",
        "9m", 4, "p.1"]
    new_api = {"metadata": {"name": "e"}, "regarding": {"kind": "Node", "name": "n"},
               "type": "Warning", "reason": "R", "note": "m", "eventTime": ago(seconds=30),
               "reportingController": "ctl"}
    assert tables.table(info("Event", "events.k8s.io"), [new_api], now=NOW)["rows"][0][
        "cells"] == ["30s", "Warning", "R", "node/n", "", "ctl", "m", "30s", 1, "e"]


@pytest.mark.parametrize("resource", list(REGISTRY),
                         ids=[f"{i.group or 'core'}/{i.version}/{i.kind}" for i in REGISTRY])
def test_every_builtin_kind_prints_a_minimal_object(resource: ResourceInfo) -> None:
    obj = {"metadata": {"name": "x", "creationTimestamp": ago(seconds=30)}}
    t = tables.table(resource, [obj, {"metadata": {"name": "y"}}], now=NOW)
    width = len(t["columnDefinitions"])
    assert width >= 2
    assert [len(r["cells"]) for r in t["rows"]] == [width, width]
    name_cols = [i for i, c in enumerate(t["columnDefinitions"]) if c["name"] == "Name"]
    assert t["rows"][0]["cells"][name_cols[0]] == "x"
    for r in t["rows"]:
        assert all(isinstance(c, str | int | bool) for c in r["cells"])
