"""Validation: one bad object per rule with upstream's cause, and good objects with none."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kybernetes.api import names
from kybernetes.api.defaults import apply_defaults
from kybernetes.api.errors import Cause, invalid
from kybernetes.api.registry import Registry, ResourceInfo
from kybernetes.api.validation import (
    cron_error,
    format_quantity,
    selector_string,
    validate_create,
    validate_status_update,
    validate_update,
)

REG = Registry.builtin()
Obj = dict[str, Any]

GROUPS = {
    "Deployment": "apps", "ReplicaSet": "apps", "StatefulSet": "apps", "DaemonSet": "apps",
    "Job": "batch", "CronJob": "batch", "Lease": "coordination.k8s.io",
    "Role": "rbac.authorization.k8s.io", "ClusterRole": "rbac.authorization.k8s.io",
    "RoleBinding": "rbac.authorization.k8s.io", "ClusterRoleBinding": "rbac.authorization.k8s.io",
}


def info(kind: str) -> ResourceInfo:
    found = REG.by_kind(GROUPS.get(kind, ""), "v1", kind)
    assert found is not None, kind
    return found


# --- builders -------------------------------------------------------------------------


def make_pod_spec(**extra: Any) -> Obj:
    return {"containers": [{"name": "c", "image": "nginx:1.25"}], **extra}


def make_template(labels: Obj | None = None, **spec: Any) -> Obj:
    return {"metadata": {"labels": labels or {"app": "web"}}, "spec": make_pod_spec(**spec)}


def meta(name: str = "x", namespace: str | None = "default") -> Obj:
    m: Obj = {"name": name}
    if namespace:
        m["namespace"] = namespace
    return m


def good(kind: str) -> Obj:
    selector = {"matchLabels": {"app": "web"}}
    objs: dict[str, Obj] = {
        "Pod": {"metadata": meta(), "spec": make_pod_spec()},
        "Deployment": {"metadata": meta(), "spec": {"selector": selector,
                                                    "template": make_template()}},
        "ReplicaSet": {"metadata": meta(), "spec": {"selector": selector,
                                                    "template": make_template()}},
        "StatefulSet": {"metadata": meta(), "spec": {"selector": selector, "serviceName": "s",
                                                     "template": make_template()}},
        "DaemonSet": {"metadata": meta(), "spec": {"selector": selector,
                                                   "template": make_template()}},
        "Job": {"metadata": meta(), "spec": {"template": make_template(restartPolicy="Never")}},
        "CronJob": {"metadata": meta(), "spec": {"schedule": "*/5 * * * *", "jobTemplate": {
            "spec": {"template": make_template(restartPolicy="OnFailure")}}}},
        "Service": {"metadata": meta(), "spec": {"ports": [{"port": 80}],
                                                 "selector": {"app": "web"}}},
        "ConfigMap": {"metadata": meta(), "data": {"a.conf": "x", "B_2": "y"}},
        "Secret": {"metadata": meta(), "data": {"token": "eA=="}},
        "Namespace": {"metadata": meta("team-a", None)},
        "Node": {"metadata": meta("node-1.example", None),
                 "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}},
        "Lease": {"metadata": meta(), "spec": {"leaseDurationSeconds": 15}},
        "PersistentVolumeClaim": {"metadata": meta(), "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        "Role": {"metadata": meta(), "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        "ClusterRole": {"metadata": meta("system:viewer", None), "rules": [
            {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]},
        "RoleBinding": {"metadata": meta(), "roleRef": {"kind": "Role", "name": "r"},
                        "subjects": [{"kind": "ServiceAccount", "name": "default"}]},
        "ClusterRoleBinding": {"metadata": meta("b", None),
                               "roleRef": {"kind": "ClusterRole", "name": "view"},
                               "subjects": [{"kind": "Group", "name": "devs"}]},
        "ReplicationController": {"metadata": meta(), "spec": {"template": make_template()}},
    }
    obj = copy.deepcopy(objs[kind])
    apply_defaults(info(kind), obj)
    return obj


def causes(kind: str, obj: Obj) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in validate_create(info(kind), obj)]


@pytest.mark.parametrize("kind", [
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service",
    "ConfigMap", "Secret", "Namespace", "Node", "Lease", "PersistentVolumeClaim", "Role",
    "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ReplicationController",
])
def test_good_objects_have_no_causes(kind: str) -> None:
    assert causes(kind, good(kind)) == []


# --- one bad object per rule ----------------------------------------------------------------

Mutate = Callable[[Obj], None]


def setp(path: str, value: Any) -> Mutate:
    """A mutation that sets a dotted path (list indexes as numbers); None deletes."""
    def apply(obj: Obj) -> None:
        parts = path.split(".")
        cur: Any = obj
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
        last = parts[-1]
        if value is None:
            del cur[last]
        elif isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
    return apply


def both(*fns: Mutate) -> Mutate:
    def apply(obj: Obj) -> None:
        for fn in fns:
            fn(obj)
    return apply


SUBDOMAIN = names.DNS1123_SUBDOMAIN_ERROR
LABEL = names.DNS1123_LABEL_ERROR

BAD: list[tuple[str, str, Mutate, str, str]] = [
    # metadata
    ("name-required", "Pod", setp("metadata.name", None), "metadata.name",
     "Required value: name or generateName is required"),
    ("name-format", "Pod", setp("metadata.name", "Foo_Bar"), "metadata.name",
     f'Invalid value: "Foo_Bar": {SUBDOMAIN}'),
    ("generate-name", "Pod", setp("metadata.generateName", "Bad_"), "metadata.generateName",
     f'Invalid value: "Bad_": {SUBDOMAIN}'),
    ("namespace-required", "Pod", setp("metadata.namespace", None), "metadata.namespace",
     "Required value"),
    ("namespace-format", "Pod", setp("metadata.namespace", "a.b"), "metadata.namespace",
     'Invalid value: "a.b": must not contain dots'),
    ("namespace-forbidden", "Namespace", setp("metadata.namespace", "x"), "metadata.namespace",
     "Forbidden: not allowed on this type"),
    ("label-key", "Pod", setp("metadata.labels", {"-bad": "v"}), "metadata.labels",
     'Invalid value: "-bad": name part ' + names.LABEL_KEY_NAME_ERROR),
    ("label-value", "Pod", setp("metadata.labels", {"k": "a b"}), "metadata.labels",
     f'Invalid value: "a b": {names.LABEL_VALUE_ERROR}'),
    ("annotations-size", "Pod", setp("metadata.annotations", {"a": "x" * (256 * 1024)}),
     "metadata.annotations", "Too long: may not be more than 262144 bytes"),
    ("finalizer-unqualified", "Pod", setp("metadata.finalizers", ["mine"]),
     "metadata.finalizers[0]",
     'Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified'),
    ("owner-uid", "Pod", setp("metadata.ownerReferences",
                              [{"apiVersion": "v1", "kind": "RC", "name": "r"}]),
     "metadata.ownerReferences.uid", 'Invalid value: "": must not be empty'),
    ("namespace-name", "Namespace", setp("metadata.name", "a.b"), "metadata.name",
     'Invalid value: "a.b": must not contain dots'),
    ("service-name", "Service", setp("metadata.name", "1abc"), "metadata.name",
     f'Invalid value: "1abc": {names.DNS1035_LABEL_ERROR}'),
    ("rbac-name", "Role", setp("metadata.name", "a/b"), "metadata.name",
     "Invalid value: \"a/b\": may not contain '/'"),
    # pods
    ("no-containers", "Pod", setp("spec.containers", []), "spec.containers", "Required value"),
    ("image-required", "Pod", setp("spec.containers.0.image", ""), "spec.containers[0].image",
     "Required value"),
    ("container-name", "Pod", setp("spec.containers.0.name", "Web"), "spec.containers[0].name",
     f'Invalid value: "Web": {LABEL}'),
    ("container-dup", "Pod", setp("spec.containers", [{"name": "a", "image": "i"},
                                                      {"name": "a", "image": "i"}]),
     "spec.containers[1].name", 'Duplicate value: "a"'),
    ("restart-policy", "Pod", setp("spec.restartPolicy", "Sometimes"), "spec.restartPolicy",
     'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    ("dns-policy", "Pod", setp("spec.dnsPolicy", "x"), "spec.dnsPolicy",
     'Unsupported value: "x": supported values: "ClusterFirst", "ClusterFirstWithHostNet", '
     '"Default", "None"'),
    ("pull-policy", "Pod", setp("spec.containers.0.imagePullPolicy", "Maybe"),
     "spec.containers[0].imagePullPolicy",
     'Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"'),
    ("port-range", "Pod", setp("spec.containers.0.ports", [{"containerPort": 70000,
                                                            "protocol": "TCP"}]),
     "spec.containers[0].ports[0].containerPort",
     "Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ("port-name-dup", "Pod", setp("spec.containers.0.ports", [
        {"containerPort": 80, "name": "http", "protocol": "TCP"},
        {"containerPort": 81, "name": "http", "protocol": "TCP"}]),
     "spec.containers[0].ports[1].name", 'Duplicate value: "http"'),
    ("port-protocol", "Pod", setp("spec.containers.0.ports", [{"containerPort": 80,
                                                               "protocol": "ICMP"}]),
     "spec.containers[0].ports[0].protocol",
     'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'),
    ("requests-over-limits", "Pod", setp("spec.containers.0.resources", {
        "requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}),
     "spec.containers[0].resources.requests",
     'Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi'),
    ("negative-quantity", "Pod", setp("spec.containers.0.resources", {"requests": {"cpu": "-1"}}),
     "spec.containers[0].resources.requests[cpu]",
     'Invalid value: "-1": must be greater than or equal to 0'),
    ("bad-quantity", "Pod", setp("spec.containers.0.resources", {"limits": {"cpu": "lots"}}),
     "spec.containers[0].resources.limits[cpu]",
     "Invalid value: \"lots\": quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("volume-dup", "Pod", setp("spec.volumes", [{"name": "v", "emptyDir": {}},
                                                {"name": "v", "emptyDir": {}}]),
     "spec.volumes[1].name", 'Duplicate value: "v"'),
    ("mount-missing-volume", "Pod", setp("spec.containers.0.volumeMounts",
                                         [{"name": "nope", "mountPath": "/x"}]),
     "spec.containers[0].volumeMounts[0].name", 'Not found: "nope"'),
    ("env-name", "Pod", setp("spec.containers.0.env", [{"name": "1A"}]),
     "spec.containers[0].env[0].name", f'Invalid value: "1A": {names.ENV_NAME_ERROR}'),
    # workloads
    ("selector-required", "Deployment", setp("spec.selector", None), "spec.selector",
     "Required value"),
    ("selector-empty", "Deployment", setp("spec.selector", {}), "spec.selector",
     "Invalid value: &LabelSelector{MatchLabels:map[string]string{},"
     "MatchExpressions:[]LabelSelectorRequirement{},}: empty selector is invalid for deployment"),
    ("selector-mismatch", "Deployment", setp("spec.selector", {"matchLabels": {"app": "db"}}),
     "spec.template.metadata.labels",
     'Invalid value: map[string]string{"app":"web"}: `selector` does not match template '
     "`labels`"),
    ("replicas-negative", "Deployment", setp("spec.replicas", -1), "spec.replicas",
     "Invalid value: -1: must be greater than or equal to 0"),
    ("deploy-restart", "Deployment", setp("spec.template.spec.restartPolicy", "Never"),
     "spec.template.spec.restartPolicy", 'Unsupported value: "Never": supported values: "Always"'),
    ("deploy-strategy", "Deployment", setp("spec.strategy", {"type": "BlueGreen"}),
     "spec.strategy",
     'Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'),
    ("rollout-zero", "Deployment", setp("spec.strategy.rollingUpdate",
                                        {"maxUnavailable": 0, "maxSurge": 0}),
     "spec.strategy.rollingUpdate.maxUnavailable",
     "Invalid value: 0: may not be 0 when `maxSurge` is 0"),
    ("rs-selector", "ReplicaSet", setp("spec.selector", {"matchLabels": {"app": "db"}}),
     "spec.template.metadata.labels",
     'Invalid value: map[string]string{"app":"web"}: `selector` does not match template '
     "`labels`"),
    ("sts-policy", "StatefulSet", setp("spec.podManagementPolicy", "Random"),
     "spec.podManagementPolicy", "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"),
    ("ds-strategy", "DaemonSet", setp("spec.updateStrategy", {"type": "Surge"}),
     "spec.updateStrategy.type",
     'Unsupported value: "Surge": supported values: "OnDelete", "RollingUpdate"'),
    ("job-restart", "Job", setp("spec.template.spec.restartPolicy", "Always"),
     "spec.template.spec.restartPolicy",
     'Unsupported value: "Always": supported values: "OnFailure", "Never"'),
    ("job-indexed", "Job", both(setp("spec.completionMode", "Indexed"),
                                setp("spec.completions", None)),
     "spec.completions", "Required value: when completion mode is Indexed"),
    ("cron-schedule-required", "CronJob", setp("spec.schedule", ""), "spec.schedule",
     "Required value"),
    ("cron-schedule", "CronJob", setp("spec.schedule", "every minute"), "spec.schedule",
     'Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]'),
    ("cron-range", "CronJob", setp("spec.schedule", "61 * * * *"), "spec.schedule",
     'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'),
    ("cron-name-long", "CronJob", setp("metadata.name", "c" * 53), "metadata.name",
     f'Invalid value: "{"c" * 53}": must be no more than 52 characters'),
    ("cron-policy", "CronJob", setp("spec.concurrencyPolicy", "Sometimes"),
     "spec.concurrencyPolicy",
     'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'),
    # services
    ("svc-ports", "Service", setp("spec.ports", []), "spec.ports", "Required value"),
    ("svc-port-range", "Service", setp("spec.ports.0.port", 0), "spec.ports[0].port",
     "Invalid value: 0: must be between 1 and 65535, inclusive"),
    ("svc-port-names", "Service", setp("spec.ports", [
        {"port": 80, "protocol": "TCP", "targetPort": 80},
        {"port": 81, "protocol": "TCP", "targetPort": 81}]),
     "spec.ports[0].name", "Required value"),
    ("svc-port-dup-name", "Service", setp("spec.ports", [
        {"name": "a", "port": 80, "protocol": "TCP", "targetPort": 80},
        {"name": "a", "port": 81, "protocol": "TCP", "targetPort": 81}]),
     "spec.ports[1].name", 'Duplicate value: "a"'),
    ("svc-protocol", "Service", setp("spec.ports.0.protocol", "HTTP"), "spec.ports[0].protocol",
     'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'),
    ("svc-type", "Service", setp("spec.type", "Magic"), "spec.type",
     'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", '
     '"LoadBalancer", "NodePort"'),
    ("svc-nodeport", "Service", setp("spec.ports.0.nodePort", 30000), "spec.ports[0].nodePort",
     "Forbidden: may not be used when `type` is 'ClusterIP'"),
    # config
    ("cm-key", "ConfigMap", setp("data", {"a/b": "x"}), "data[a/b]",
     f'Invalid value: "a/b": {names.CONFIG_KEY_ERROR}'),
    ("cm-size", "ConfigMap", setp("data", {"a": "x" * (1024 * 1024 + 1)}), "",
     "Too long: may not be more than 1048576 bytes"),
    ("secret-key", "Secret", setp("data", {"..a": "eA=="}), "data[..a]",
     "Invalid value: \"..a\": must not start with '..'"),
    # others
    ("node-taint", "Node", setp("spec.taints", [{"key": "k", "effect": "Never"}]),
     "spec.taints[0].effect",
     'Unsupported value: "Never": supported values: "NoExecute", "NoSchedule", '
     '"PreferNoSchedule"'),
    ("lease-duration", "Lease", setp("spec.leaseDurationSeconds", 0),
     "spec.leaseDurationSeconds", "Invalid value: 0: must be greater than 0"),
    ("pvc-modes", "PersistentVolumeClaim", setp("spec.accessModes", []), "spec.accessModes",
     "Required value: at least 1 access mode is required"),
    ("pvc-storage", "PersistentVolumeClaim", setp("spec.resources", {}),
     "spec.resources[storage]", "Required value"),
    ("role-verbs", "Role", setp("rules.0.verbs", []), "rules[0].verbs",
     "Required value: verbs must contain at least one value"),
    ("role-groups", "Role", setp("rules.0.apiGroups", []), "rules[0].apiGroups",
     "Required value: resource rules must supply at least one api group"),
    ("role-urls", "Role", setp("rules", [{"nonResourceURLs": ["/x"], "verbs": ["get"]}]),
     "rules[0].nonResourceURLs",
     'Invalid value: []string{"/x"}: namespaced rules cannot apply to non-resource URLs'),
    ("rb-roleref-kind", "RoleBinding", setp("roleRef.kind", "Pod"), "roleRef.kind",
     'Unsupported value: "Pod": supported values: "ClusterRole", "Role"'),
    ("rb-roleref-name", "RoleBinding", setp("roleRef.name", ""), "roleRef.name",
     "Required value"),
    ("crb-sa-namespace", "ClusterRoleBinding", setp("subjects", [
        {"kind": "ServiceAccount", "name": "sa"}]), "subjects[0].namespace", "Required value"),
    ("rc-selector", "ReplicationController", setp("spec.selector", {"app": "db"}),
     "spec.template.metadata.labels",
     'Invalid value: map[string]string{"app":"web"}: `selector` does not match template '
     "`labels`"),
]


@pytest.mark.parametrize(("kind", "mutate", "field", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_objects(kind: str, mutate: Mutate, field: str, message: str) -> None:
    obj = good(kind)
    mutate(obj)
    assert (field, message) in causes(kind, obj)


# --- updates -------------------------------------------------------------------------------

UPDATES: list[tuple[str, str, Mutate, str, str]] = [
    ("name", "Pod", setp("metadata.name", "y"), "metadata.name",
     'Invalid value: "y": field is immutable'),
    ("uid", "Pod", setp("metadata.uid", "u2"), "metadata.uid",
     'Invalid value: "u2": field is immutable'),
    ("creation", "Pod", setp("metadata.creationTimestamp", "2024-01-02T03:04:05Z"),
     "metadata.creationTimestamp",
     "Invalid value: 2024-01-02 03:04:05 +0000 UTC: field is immutable"),
    ("pod-spec", "Pod", setp("spec.nodeName", "n2"), "spec", None),
    ("deploy-selector", "Deployment", both(
        setp("spec.selector", {"matchLabels": {"app": "web", "v": "2"}}),
        setp("spec.template.metadata.labels", {"app": "web", "v": "2"})),
     "spec.selector",
     "Invalid value: &LabelSelector{MatchLabels:map[string]string{app: web,v: 2,},"
     "MatchExpressions:[]LabelSelectorRequirement{},}: field is immutable"),
    ("svc-cluster-ip", "Service", setp("spec.clusterIPs", ["10.0.0.9"]), "spec.clusterIPs[0]",
     'Invalid value: []string{"10.0.0.9"}: may not change once set'),
    ("cm-immutable", "ConfigMap", setp("data", {"a": "changed"}), "data",
     "Forbidden: field is immutable when `immutable` is set"),
    ("roleref", "RoleBinding", setp("roleRef.name", "other"), "roleRef",
     'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", '
     'Name:"other"}: cannot change roleRef'),
    ("job-template", "Job", setp("spec.template.spec.containers.0.image", "other"),
     "spec.template", None),
    ("sts-spec", "StatefulSet", setp("spec.serviceName", "other"), "spec",
     "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
     "'template', 'updateStrategy', 'revisionHistoryLimit', "
     "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"),
]


def stored(kind: str) -> Obj:
    obj = good(kind)
    obj["metadata"].update(uid="u1", resourceVersion="5",
                           creationTimestamp="2024-01-01T00:00:00Z")
    if kind == "Service":
        obj["spec"]["clusterIP"] = "10.0.0.1"
        obj["spec"]["clusterIPs"] = ["10.0.0.1"]
    if kind == "ConfigMap":
        obj["immutable"] = True
    if kind == "Job":
        obj["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    return obj


@pytest.mark.parametrize(("kind", "mutate", "field", "message"), [u[1:] for u in UPDATES],
                         ids=[u[0] for u in UPDATES])
def test_bad_updates(kind: str, mutate: Mutate, field: str, message: str | None) -> None:
    old = stored(kind)
    new = copy.deepcopy(old)
    mutate(new)
    got = [(c.field, c.message) for c in validate_update(info(kind), new, old)]
    if message is None:
        assert field in [f for f, _ in got], got
    else:
        assert (field, message) in got


def test_pod_update_message() -> None:
    old = stored("Pod")
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "n2"
    [cause] = validate_update(info("Pod"), new, old)
    assert cause.type == "FieldValueForbidden"
    assert cause.message.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
        "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
        "(allow it to be set to 1 if it was previously negative)\n")


ALLOWED_POD_UPDATES = [
    ("image", setp("spec.containers.0.image", "nginx:1.26")),
    ("deadline", setp("spec.activeDeadlineSeconds", 30)),
    ("add-toleration", setp("spec.tolerations", [{"key": "k", "operator": "Exists"}])),
    ("labels", setp("metadata.labels", {"a": "b"})),
]


@pytest.mark.parametrize("mutate", [a[1] for a in ALLOWED_POD_UPDATES],
                         ids=[a[0] for a in ALLOWED_POD_UPDATES])
def test_allowed_pod_updates(mutate: Mutate) -> None:
    old = stored("Pod")
    new = copy.deepcopy(old)
    mutate(new)
    assert validate_update(info("Pod"), new, old) == []


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "Service", "ConfigMap", "RoleBinding",
                                  "Job", "StatefulSet"])
def test_unchanged_update_is_valid(kind: str) -> None:
    old = stored(kind)
    assert validate_update(info(kind), copy.deepcopy(old), old) == []


def test_suspended_job_template_may_change() -> None:
    old = stored("Job")
    old["spec"]["suspend"] = True
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    assert validate_update(info("Job"), new, old) == []


def test_status_update() -> None:
    old = stored("Pod")
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Running"}
    assert validate_status_update(info("Pod"), new, old) == []
    new["status"] = {"phase": "Dancing"}
    [cause] = validate_status_update(info("Pod"), new, old)
    assert cause.field == "status.phase"


# --- helpers and the 422 message ------------------------------------------------------------


@pytest.mark.parametrize(("text", "want"), [
    ("1000m", "1"), ("500m", "500m"), ("0.5", "500m"), ("2Gi", "2Gi"), ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"), ("100", "100"), ("1e3", "1e3"), ("1500e-3", "1500e-3"),
], ids=lambda x: x)
def test_format_quantity(text: str, want: str) -> None:
    assert format_quantity(text) == want


@pytest.mark.parametrize(("schedule", "ok"), [
    ("*/5 * * * *", True), ("0 0 * * MON-FRI", True), ("@hourly", True), ("0 0 1,15 * *", True),
    ("* * * *", False), ("0 24 * * *", False), ("x * * * *", False),
], ids=lambda x: str(x))
def test_cron(schedule: str, ok: bool) -> None:
    assert (cron_error(schedule) is None) is ok


def test_selector_string_with_expressions() -> None:
    sel = {"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]}
    assert selector_string(sel) == (
        "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:"
        "[]LabelSelectorRequirement{LabelSelectorRequirement{Key:a,Operator:In,"
        "Values:[x y],},},}")


def test_invalid_message_one_and_many_causes() -> None:
    one = [Cause("FieldValueRequired", "Required value", "spec.containers[0].image")]
    assert invalid("Pod", "x", one).message == (
        'Pod "x" is invalid: spec.containers[0].image: Required value')
    two = [*one, Cause("FieldValueRequired", "Required value", "spec.containers[1].image")]
    assert invalid("Pod", "x", two).message == (
        'Pod "x" is invalid: [spec.containers[0].image: Required value, '
        "spec.containers[1].image: Required value]")
