"""Defaulting of built-in kinds: upstream's SetDefaults_* values, and idempotency."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.defaults import apply_defaults, image_tag
from kybernetes.api.registry import Registry, ResourceInfo

REG = Registry.builtin()


def info(group: str, version: str, kind: str) -> ResourceInfo:
    found = REG.by_kind(group, version, kind)
    assert found is not None, kind
    return found


def make_pod_spec(**extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "nginx:1.25"}], **extra}


def template(**extra: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "x"}}, "spec": make_pod_spec(**extra)}


def defaulted(group: str, version: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    apply_defaults(info(group, version, kind), obj)
    return obj


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


SAMPLES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("", "v1", "Pod", {"metadata": {"name": "p"}, "spec": make_pod_spec(
        volumes=[{"name": "v"}, {"name": "s", "secret": {"secretName": "s"}}])}),
    ("", "v1", "Service", {"spec": {"ports": [{"port": 80}]}}),
    ("", "v1", "Namespace", {"metadata": {"name": "ns"}}),
    ("", "v1", "Secret", {}),
    ("", "v1", "PersistentVolumeClaim", {"spec": {}}),
    ("", "v1", "PersistentVolume", {"spec": {}}),
    ("", "v1", "ReplicationController", {"spec": {"template": template()}}),
    ("apps", "v1", "Deployment", {"spec": {"template": template()}}),
    ("apps", "v1", "ReplicaSet", {"spec": {"template": template()}}),
    ("apps", "v1", "StatefulSet", {"spec": {"template": template()}}),
    ("apps", "v1", "DaemonSet", {"spec": {"template": template()}}),
    ("batch", "v1", "Job", {"spec": {"template": template(restartPolicy="Never")}}),
    ("batch", "v1", "CronJob", {"spec": {"jobTemplate": {"spec": {"template": template()}}}}),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding",
     {"roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]}),
    ("networking.k8s.io", "v1", "NetworkPolicy", {"spec": {"egress": [{}]}}),
    ("discovery.k8s.io", "v1", "EndpointSlice", {"ports": [{"port": 80}]}),
    ("scheduling.k8s.io", "v1", "PriorityClass", {"value": 10}),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", {"spec": {"maxReplicas": 3}}),
    ("", "v1", "ConfigMap", {"data": {"a": "b"}}),
]


@pytest.mark.parametrize(("group", "version", "kind", "obj"), SAMPLES, ids=[s[2] for s in SAMPLES])
def test_idempotent(group: str, version: str, kind: str, obj: dict[str, Any]) -> None:
    once = defaulted(group, version, kind, copy.deepcopy(obj))
    twice = defaulted(group, version, kind, copy.deepcopy(once))
    assert once == twice


CASES: list[tuple[str, str, str, str, dict[str, Any], str, Any]] = [
    ("pod-restart", "", "Pod", "v1", {"spec": make_pod_spec()}, "spec.restartPolicy", "Always"),
    ("pod-dns", "", "Pod", "v1", {"spec": make_pod_spec()}, "spec.dnsPolicy", "ClusterFirst"),
    ("pod-scheduler", "", "Pod", "v1", {"spec": make_pod_spec()}, "spec.schedulerName",
     "default-scheduler"),
    ("pod-grace", "", "Pod", "v1", {"spec": make_pod_spec()},
     "spec.terminationGracePeriodSeconds", 30),
    ("pod-secctx", "", "Pod", "v1", {"spec": make_pod_spec()}, "spec.securityContext", {}),
    ("pod-links", "", "Pod", "v1", {"spec": make_pod_spec()}, "spec.enableServiceLinks", True),
    ("ctr-pull-tag", "", "Pod", "v1", {"spec": make_pod_spec()},
     "spec.containers.0.imagePullPolicy", "IfNotPresent"),
    ("ctr-pull-latest", "", "Pod", "v1",
     {"spec": {"containers": [{"name": "c", "image": "nginx"}]}},
     "spec.containers.0.imagePullPolicy", "Always"),
    ("ctr-term-path", "", "Pod", "v1", {"spec": make_pod_spec()},
     "spec.containers.0.terminationMessagePath", "/dev/termination-log"),
    ("ctr-term-policy", "", "Pod", "v1", {"spec": make_pod_spec()},
     "spec.containers.0.terminationMessagePolicy", "File"),
    ("ctr-resources", "", "Pod", "v1", {"spec": make_pod_spec()},
     "spec.containers.0.resources", {}),
    ("ctr-port-proto", "", "Pod", "v1",
     {"spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]}},
     "spec.containers.0.ports.0.protocol", "TCP"),
    ("probe", "", "Pod", "v1",
     {"spec": {"containers": [{"name": "c", "image": "i", "livenessProbe": {
         "httpGet": {"port": 80}}}]}},
     "spec.containers.0.livenessProbe",
     {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
      "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}),
    ("env-fieldref", "", "Pod", "v1",
     {"spec": {"containers": [{"name": "c", "image": "i", "env": [
         {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]}},
     "spec.containers.0.env.0.valueFrom.fieldRef.apiVersion", "v1"),
    ("vol-emptydir", "", "Pod", "v1", {"spec": make_pod_spec(volumes=[{"name": "v"}])},
     "spec.volumes.0", {"name": "v", "emptyDir": {}}),
    ("vol-configmap", "", "Pod", "v1",
     {"spec": make_pod_spec(volumes=[{"name": "v", "configMap": {"name": "c"}}])},
     "spec.volumes.0.configMap.defaultMode", 420),
    ("requests-from-limits", "", "Pod", "v1",
     {"spec": {"containers": [{"name": "c", "image": "i",
                               "resources": {"limits": {"cpu": "1"}}}]}},
     "spec.containers.0.resources.requests", {"cpu": "1"}),
    ("svc-type", "", "Service", "v1", {"spec": {"ports": [{"port": 80}]}}, "spec.type",
     "ClusterIP"),
    ("svc-affinity", "", "Service", "v1", {"spec": {}}, "spec.sessionAffinity", "None"),
    ("svc-target", "", "Service", "v1", {"spec": {"ports": [{"port": 80}]}},
     "spec.ports.0.targetPort", 80),
    ("svc-proto", "", "Service", "v1", {"spec": {"ports": [{"port": 80}]}},
     "spec.ports.0.protocol", "TCP"),
    ("svc-family", "", "Service", "v1", {"spec": {}}, "spec.ipFamilyPolicy", "SingleStack"),
    ("svc-itp", "", "Service", "v1", {"spec": {}}, "spec.internalTrafficPolicy", "Cluster"),
    ("ns-finalizer", "", "Namespace", "v1", {"metadata": {"name": "a"}}, "spec.finalizers",
     ["kubernetes"]),
    ("ns-phase", "", "Namespace", "v1", {"metadata": {"name": "a"}}, "status.phase", "Active"),
    ("ns-label", "", "Namespace", "v1", {"metadata": {"name": "a"}}, "metadata.labels",
     {"kubernetes.io/metadata.name": "a"}),
    ("secret-type", "", "Secret", "v1", {}, "type", "Opaque"),
    ("pvc-mode", "", "PersistentVolumeClaim", "v1", {"spec": {}}, "spec.volumeMode",
     "Filesystem"),
    ("pv-reclaim", "", "PersistentVolume", "v1", {"spec": {}},
     "spec.persistentVolumeReclaimPolicy", "Retain"),
    ("deploy-replicas", "apps", "Deployment", "v1", {"spec": {"template": template()}},
     "spec.replicas", 1),
    ("deploy-strategy", "apps", "Deployment", "v1", {"spec": {"template": template()}},
     "spec.strategy", {"type": "RollingUpdate",
                       "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ("deploy-history", "apps", "Deployment", "v1", {"spec": {}}, "spec.revisionHistoryLimit", 10),
    ("deploy-deadline", "apps", "Deployment", "v1", {"spec": {}},
     "spec.progressDeadlineSeconds", 600),
    ("deploy-template", "apps", "Deployment", "v1", {"spec": {"template": template()}},
     "spec.template.spec.restartPolicy", "Always"),
    ("rs-replicas", "apps", "ReplicaSet", "v1", {"spec": {}}, "spec.replicas", 1),
    ("sts-policy", "apps", "StatefulSet", "v1", {"spec": {}}, "spec.podManagementPolicy",
     "OrderedReady"),
    ("sts-strategy", "apps", "StatefulSet", "v1", {"spec": {}}, "spec.updateStrategy",
     {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ("sts-retention", "apps", "StatefulSet", "v1", {"spec": {}},
     "spec.persistentVolumeClaimRetentionPolicy",
     {"whenDeleted": "Retain", "whenScaled": "Retain"}),
    ("ds-strategy", "apps", "DaemonSet", "v1", {"spec": {}}, "spec.updateStrategy",
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    ("job-completions", "batch", "Job", "v1", {"spec": {}}, "spec.completions", 1),
    ("job-parallelism", "batch", "Job", "v1", {"spec": {"completions": 5}}, "spec.parallelism", 1),
    ("job-backoff", "batch", "Job", "v1", {"spec": {}}, "spec.backoffLimit", 6),
    ("job-mode", "batch", "Job", "v1", {"spec": {}}, "spec.completionMode", "NonIndexed"),
    ("job-suspend", "batch", "Job", "v1", {"spec": {}}, "spec.suspend", False),
    ("job-replacement", "batch", "Job", "v1", {"spec": {}}, "spec.podReplacementPolicy",
     "TerminatingOrFailed"),
    ("job-restart-kept", "batch", "Job", "v1",
     {"spec": {"template": template(restartPolicy="Never")}},
     "spec.template.spec.restartPolicy", "Never"),
    ("cron-concurrency", "batch", "CronJob", "v1", {"spec": {}}, "spec.concurrencyPolicy",
     "Allow"),
    ("cron-history", "batch", "CronJob", "v1", {"spec": {}}, "spec.successfulJobsHistoryLimit", 3),
    ("cron-failed", "batch", "CronJob", "v1", {"spec": {}}, "spec.failedJobsHistoryLimit", 1),
    ("rb-subject", "rbac.authorization.k8s.io", "RoleBinding", "v1",
     {"roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]},
     "subjects.0.apiGroup", "rbac.authorization.k8s.io"),
    ("rb-roleref", "rbac.authorization.k8s.io", "RoleBinding", "v1",
     {"roleRef": {"kind": "Role", "name": "r"}}, "roleRef.apiGroup", "rbac.authorization.k8s.io"),
    ("netpol-types", "networking.k8s.io", "NetworkPolicy", "v1", {"spec": {"egress": [{}]}},
     "spec.policyTypes", ["Ingress", "Egress"]),
    ("slice-proto", "discovery.k8s.io", "EndpointSlice", "v1", {"ports": [{"port": 80}]},
     "ports.0.protocol", "TCP"),
    ("priorityclass", "scheduling.k8s.io", "PriorityClass", "v1", {}, "preemptionPolicy",
     "PreemptLowerPriority"),
    ("hpa-min", "autoscaling", "HorizontalPodAutoscaler", "v2", {"spec": {}},
     "spec.minReplicas", 1),
]


@pytest.mark.parametrize(("group", "kind", "version", "obj", "path", "want"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_default_values(group: str, kind: str, version: str, obj: dict[str, Any], path: str,
                        want: Any) -> None:
    assert dig(defaulted(group, version, kind, obj), path) == want


def test_client_values_are_kept() -> None:
    obj = {"spec": {"replicas": 0, "strategy": {"type": "Recreate"},
                    "template": template(restartPolicy="Never")}}
    defaulted("apps", "v1", "Deployment", obj)
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["strategy"] == {"type": "Recreate"}
    assert obj["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_templates_do_not_get_pod_only_defaults() -> None:
    obj = {"spec": {"template": template()}}
    defaulted("apps", "v1", "Deployment", obj)
    assert "enableServiceLinks" not in obj["spec"]["template"]["spec"]


def test_namespace_finalize_keeps_explicit_empty_list() -> None:
    obj = {"metadata": {"name": "a"}, "spec": {"finalizers": []}}
    defaulted("", "v1", "Namespace", obj)
    assert obj["spec"]["finalizers"] == []


@pytest.mark.parametrize(("image", "tag"), [
    ("nginx", "latest"), ("nginx:1.25", "1.25"), ("registry:5000/nginx", "latest"),
    ("registry:5000/nginx:v1", "v1"), ("nginx@sha256:abc", ""), ("", ""),
], ids=["bare", "tag", "port-no-tag", "port-tag", "digest", "empty"])
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag
