"""Defaulting of built-in kinds, as upstream's `SetDefaults_*` functions.

`apply_defaults(info, obj)` fills in unset fields of a decoded object in
place, before validation and storage, on create and on update alike. It is
idempotent (applying it twice equals applying it once) and never overwrites a
value the client set. Values follow k8s.io/kubernetes pkg/apis/*/v1/defaults.go
(v1.32):

    core/v1     Pod, PodTemplate, ReplicationController, Service, Namespace,
                Secret, PersistentVolume(Claim), Endpoints, Node
    apps/v1     Deployment, ReplicaSet, StatefulSet, DaemonSet
    batch/v1    Job, CronJob
    others      RBAC subjects and roleRefs, NetworkPolicy, EndpointSlice,
                HPA, PriorityClass, StorageClass, CSIDriver, webhook configurations,
                ValidatingAdmissionPolicy(Binding)

What is *not* here, because upstream does it elsewhere: the cluster IP and node
ports (service REST allocation), `status.phase: Pending` and QoS class of a new
Pod, a Job's generated selector (registry strategies), the default service
account (admission).

Pod-only rules (requests defaulted from limits, `enableServiceLinks`, host
ports under hostNetwork) apply to Pods, not to pod templates, as upstream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kybernetes.api import crd
from kybernetes.api.registry import ResourceInfo

Obj = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"
DEFAULT_FILE_MODE = 0o644  # 420: secret, configMap, downwardAPI, projected volumes


def _sub(obj: Obj, key: str) -> Obj:
    """obj[key] as a dict, created empty when absent or null."""
    v = obj.get(key)
    if not isinstance(v, dict):
        v = {}
        obj[key] = v
    return v


def _dicts(obj: Obj, key: str) -> list[Obj]:
    v = obj.get(key)
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _default(obj: Obj, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


# --- pods ------------------------------------------------------------------------


def image_tag(image: str) -> str:
    """The tag of an image reference: "latest" when neither tag nor digest is given."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return "" if digest or not image else "latest"


def _probe(p: Any) -> None:
    if not isinstance(p, dict):
        return
    _default(p, "timeoutSeconds", 1)
    _default(p, "periodSeconds", 10)
    _default(p, "successThreshold", 1)
    _default(p, "failureThreshold", 3)
    _handler(p)


def _handler(h: Any) -> None:
    if not isinstance(h, dict):
        return
    get = h.get("httpGet")
    if isinstance(get, dict):
        if not get.get("path"):
            get["path"] = "/"
        if not get.get("scheme"):
            get["scheme"] = "HTTP"


def _container(c: Obj) -> None:
    if not c.get("imagePullPolicy"):
        tag = image_tag(c.get("image") or "")
        c["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    # ResourceRequirements is a struct without omitempty: always serialized.
    _default(c, "resources", {})
    for port in _dicts(c, "ports"):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for env in _dicts(c, "env"):
        ref = env.get("valueFrom")
        if isinstance(ref, dict) and isinstance(ref.get("fieldRef"), dict):
            if not ref["fieldRef"].get("apiVersion"):
                ref["fieldRef"]["apiVersion"] = "v1"
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(name))
    life = c.get("lifecycle")
    if isinstance(life, dict):
        _handler(life.get("postStart"))
        _handler(life.get("preStop"))


def _volume(v: Obj) -> None:
    sources = [k for k in v if k != "name" and v[k] is not None]
    if not sources:
        v["emptyDir"] = {}
        return
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        src = v.get(key)
        if isinstance(src, dict):
            _default(src, "defaultMode", DEFAULT_FILE_MODE)
    down = v.get("downwardAPI")
    if isinstance(down, dict):
        _field_refs(down)
    proj = v.get("projected")
    if isinstance(proj, dict):
        for src in _dicts(proj, "sources"):
            token = src.get("serviceAccountToken")
            if isinstance(token, dict):
                _default(token, "expirationSeconds", 3600)
            if isinstance(src.get("downwardAPI"), dict):
                _field_refs(src["downwardAPI"])
    host = v.get("hostPath")
    if isinstance(host, dict):
        _default(host, "type", "")
    iscsi = v.get("iscsi")
    if isinstance(iscsi, dict) and not iscsi.get("iscsiInterface"):
        iscsi["iscsiInterface"] = "default"
    rbd = v.get("rbd")
    if isinstance(rbd, dict):
        for key, value in (("pool", "rbd"), ("user", "admin"), ("keyring", "/etc/ceph/keyring")):
            if not rbd.get(key):
                rbd[key] = value
    eph = v.get("ephemeral")
    if isinstance(eph, dict) and isinstance(eph.get("volumeClaimTemplate"), dict):
        tmpl = eph["volumeClaimTemplate"]
        if isinstance(tmpl.get("spec"), dict):
            _pvc_spec(tmpl["spec"])


def _field_refs(down: Obj) -> None:
    for item in _dicts(down, "items"):
        ref = item.get("fieldRef")
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"


def pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and everything nested (containers, volumes, probes)."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    _default(spec, "securityContext", {})
    _default(spec, "terminationGracePeriodSeconds", 30)
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in _dicts(spec, key):
            _container(c)
    for v in _dicts(spec, "volumes"):
        _volume(v)


def pod_template(tmpl: Any) -> None:
    if isinstance(tmpl, dict):
        pod_spec(_sub(tmpl, "spec"))


def _pod(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    pod_spec(spec)
    for key in ("containers", "initContainers"):
        for c in _dicts(spec, key):
            res = c.get("resources")
            limits = res.get("limits") if isinstance(res, dict) else None
            if isinstance(limits, dict) and limits:
                requests = _sub(res, "requests")
                for name, q in limits.items():
                    requests.setdefault(name, q)
            if spec.get("hostNetwork"):
                for port in _dicts(c, "ports"):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    _default(spec, "enableServiceLinks", True)


def _pod_template_kind(obj: Obj) -> None:
    pod_template(obj.get("template"))


def _replication_controller(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    tmpl = spec.get("template")
    labels = tmpl.get("metadata", {}).get("labels") if isinstance(tmpl, dict) else None
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = _sub(obj, "metadata")
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    _default(spec, "replicas", 1)
    pod_template(tmpl)


# --- core, other kinds ---------------------------------------------------------------


def _service(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "ClientIP":
        cfg = _sub(spec, "sessionAffinityConfig")
        _default(_sub(cfg, "clientIP"), "timeoutSeconds", 10800)
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    for port in _dicts(spec, "ports"):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer":
        _default(spec, "allocateLoadBalancerNodePorts", True)
    if kind != "ExternalName":
        if not spec.get("internalTrafficPolicy"):
            spec["internalTrafficPolicy"] = "Cluster"
        # Upstream sets these at REST allocation for a single-stack IPv4 cluster;
        # headless services without a selector get RequireDualStack there.
        if not spec.get("ipFamilyPolicy"):
            headless = spec.get("clusterIP") == "None" and not spec.get("selector")
            spec["ipFamilyPolicy"] = "RequireDualStack" if headless else "SingleStack"
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]


def _namespace(obj: Obj) -> None:
    meta = _sub(obj, "metadata")
    name = meta.get("name")
    if name:
        labels = _sub(meta, "labels")
        labels["kubernetes.io/metadata.name"] = name
    spec = _sub(obj, "spec")
    # Only when absent: an explicit [] is the namespace controller finalizing.
    if spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    status = _sub(obj, "status")
    if not status.get("phase"):
        status["phase"] = "Active"


def _secret(obj: Obj) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"


def _pvc_spec(spec: Obj) -> None:
    if not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"


def _pvc(obj: Obj) -> None:
    _pvc_spec(_sub(obj, "spec"))
    status = _sub(obj, "status")
    if not status.get("phase"):
        status["phase"] = "Pending"


def _pv(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if not spec.get("persistentVolumeReclaimPolicy"):
        spec["persistentVolumeReclaimPolicy"] = "Retain"
    if not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"
    host = spec.get("hostPath")
    if isinstance(host, dict):
        _default(host, "type", "")
    status = _sub(obj, "status")
    if not status.get("phase"):
        status["phase"] = "Pending"


def _limit_range(obj: Obj) -> None:
    """SetDefaults_LimitRangeItem (Container items): default limit from max, default
    request from the default limit, else from min."""
    for item in _dicts(_sub(obj, "spec"), "limits"):
        if item.get("type") != "Container":
            continue
        default = dict(item.get("default") or {})
        request = dict(item.get("defaultRequest") or {})
        for src, dst in ((item.get("max"), default), (default, request),
                         (item.get("min"), request)):
            for name, q in (src or {}).items() if isinstance(src, dict) else ():
                dst.setdefault(name, q)
        for key, value in (("default", default), ("defaultRequest", request)):
            if value:
                item[key] = value


def _endpoints(obj: Obj) -> None:
    for subset in _dicts(obj, "subsets"):
        for port in _dicts(subset, "ports"):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def _node(obj: Obj) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None:
        if isinstance(status.get("capacity"), dict):
            status["allocatable"] = dict(status["capacity"])


# --- apps ----------------------------------------------------------------------------


def _deployment(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = _sub(strategy, "rollingUpdate")
        _default(ru, "maxUnavailable", "25%")
        _default(ru, "maxSurge", "25%")
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "progressDeadlineSeconds", 600)
    pod_template(spec.get("template"))


def _replica_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "replicas", 1)
    pod_template(spec.get("template"))


def _stateful_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = _sub(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        _default(_sub(strategy, "rollingUpdate"), "partition", 0)
    retention = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    for key in ("whenDeleted", "whenScaled"):
        if not retention.get(key):
            retention[key] = "Retain"
    _default(spec, "replicas", 1)
    _default(spec, "revisionHistoryLimit", 10)
    for claim in _dicts(spec, "volumeClaimTemplates"):
        _pvc_spec(_sub(claim, "spec"))
        status = _sub(claim, "status")
        if not status.get("phase"):
            status["phase"] = "Pending"
    pod_template(spec.get("template"))


def _daemon_set(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = _sub(strategy, "rollingUpdate")
        _default(ru, "maxUnavailable", 1)
        _default(ru, "maxSurge", 0)
    _default(spec, "revisionHistoryLimit", 10)
    pod_template(spec.get("template"))


# --- batch ---------------------------------------------------------------------------


def _job(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _default(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    tmpl = spec.get("template")
    labels = tmpl.get("metadata", {}).get("labels") if isinstance(tmpl, dict) else None
    meta = _sub(obj, "metadata")
    if labels and not meta.get("labels"):
        meta["labels"] = dict(labels)
    if not spec.get("completionMode"):
        spec["completionMode"] = "NonIndexed"
    _default(spec, "suspend", False)
    failure = spec.get("podFailurePolicy")
    if isinstance(failure, dict):
        for rule in _dicts(failure, "rules"):
            for cond in _dicts(rule, "onPodConditions"):
                if not cond.get("status"):
                    cond["status"] = "True"
    if not spec.get("podReplacementPolicy"):
        spec["podReplacementPolicy"] = "Failed" if failure else "TerminatingOrFailed"
    pod_template(tmpl)


def _cron_job(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    _default(spec, "suspend", False)
    _default(spec, "successfulJobsHistoryLimit", 3)
    _default(spec, "failedJobsHistoryLimit", 1)
    job = spec.get("jobTemplate")
    if isinstance(job, dict):
        pod_template(_sub(job, "spec").get("template"))


# --- other groups ----------------------------------------------------------------------


def _subjects(obj: Obj) -> None:
    for s in _dicts(obj, "subjects"):
        if s.get("apiGroup"):
            continue
        if s.get("kind") == "ServiceAccount":
            s["apiGroup"] = ""
        elif s.get("kind") in ("User", "Group"):
            s["apiGroup"] = RBAC_GROUP


def _role_binding(obj: Obj) -> None:
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    _subjects(obj)


def _network_policy(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec, direction):
            for port in _dicts(rule, "ports"):
                if not port.get("protocol"):
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _endpoint_slice(obj: Obj) -> None:
    for port in _dicts(obj, "ports"):
        _default(port, "name", "")
        if not port.get("protocol"):
            port["protocol"] = "TCP"


def _hpa_v2(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{
            "type": "Resource",
            "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        up = _sub(behavior, "scaleUp")
        _default(up, "stabilizationWindowSeconds", 0)
        if not up.get("selectPolicy"):
            up["selectPolicy"] = "Max"
        if not up.get("policies"):
            up["policies"] = [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ]
        down = _sub(behavior, "scaleDown")
        if not down.get("selectPolicy"):
            down["selectPolicy"] = "Max"
        if not down.get("policies"):
            down["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]


def _hpa_v1(obj: Obj) -> None:
    _default(_sub(obj, "spec"), "minReplicas", 1)


def _priority_class(obj: Obj) -> None:
    if not obj.get("preemptionPolicy"):
        obj["preemptionPolicy"] = "PreemptLowerPriority"


def _storage_class(obj: Obj) -> None:
    if not obj.get("reclaimPolicy"):
        obj["reclaimPolicy"] = "Delete"
    if not obj.get("volumeBindingMode"):
        obj["volumeBindingMode"] = "Immediate"


def _csi_driver(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    for key, value in (
        ("attachRequired", True), ("podInfoOnMount", False), ("storageCapacity", False),
        ("fsGroupPolicy", "ReadWriteOnceWithFSType"), ("requiresRepublish", False),
        ("seLinuxMount", False), ("volumeLifecycleModes", ["Persistent"]),
    ):
        _default(spec, key, value)


def _webhooks(mutating: bool) -> Callable[[Obj], None]:
    def apply(obj: Obj) -> None:
        for hook in _dicts(obj, "webhooks"):
            for key, value in (
                ("failurePolicy", "Fail"), ("matchPolicy", "Equivalent"),
                ("namespaceSelector", {}), ("objectSelector", {}), ("timeoutSeconds", 10),
            ):
                _default(hook, key, value)
            if mutating:
                _default(hook, "reinvocationPolicy", "Never")
            for rule in _dicts(hook, "rules"):
                _default(rule, "scope", "*")
            cfg = hook.get("clientConfig")
            svc = cfg.get("service") if isinstance(cfg, dict) else None
            if isinstance(svc, dict):
                _default(svc, "port", 443)
    return apply


def _match_resources(mr: Any) -> None:
    """MatchResources of a ValidatingAdmissionPolicy (or a binding's, when set)."""
    if not isinstance(mr, dict):
        return
    for key, value in (("namespaceSelector", {}), ("objectSelector", {}),
                       ("matchPolicy", "Equivalent")):
        _default(mr, key, value)
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in _dicts(mr, key):
            _default(rule, "scope", "*")


def _validating_admission_policy(obj: Obj) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "failurePolicy", "Fail")
    _match_resources(spec.get("matchConstraints"))


def _validating_admission_policy_binding(obj: Obj) -> None:
    _match_resources(_sub(obj, "spec").get("matchResources"))


_BY_KIND: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "Pod"): _pod,
    ("", "PodTemplate"): _pod_template_kind,
    ("", "ReplicationController"): _replication_controller,
    ("", "Service"): _service,
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "PersistentVolume"): _pv,
    ("", "Endpoints"): _endpoints,
    ("", "LimitRange"): _limit_range,
    ("", "Node"): _node,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    (RBAC_GROUP, "RoleBinding"): _role_binding,
    (RBAC_GROUP, "ClusterRoleBinding"): _role_binding,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("discovery.k8s.io", "EndpointSlice"): _endpoint_slice,
    ("scheduling.k8s.io", "PriorityClass"): _priority_class,
    ("storage.k8s.io", "StorageClass"): _storage_class,
    ("storage.k8s.io", "CSIDriver"): _csi_driver,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _webhooks(True),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _webhooks(False),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): _validating_admission_policy,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"):
        _validating_admission_policy_binding,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd.default_crd,
}


def apply_defaults(info: ResourceInfo, obj: Obj) -> None:
    """Fill in upstream's defaults for `info`'s kind in `obj`, in place.

    Kinds without defaults (ConfigMap, ServiceAccount, Lease, Event, custom
    resources, ...) are left untouched.
    """
    if info.custom is not None:  # a custom resource: its schema's defaults
        info.custom.default(obj)
        return
    if info.group == "autoscaling":
        fn = _hpa_v1 if info.version == "v1" else _hpa_v2
        if info.kind == "HorizontalPodAutoscaler":
            fn(obj)
        return
    fn = _BY_KIND.get((info.group, info.kind))
    if fn is not None:
        fn(obj)
