"""Server-side printing: objects as `meta.k8s.io/v1` Tables, as `kubectl get` asks for.

kubectl sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints
whatever columns the server returns (kubectl-wire.md §1.5). The columns, their
types and the text of each cell follow upstream's printers
(`pkg/printers/internalversion/printers.go`, 1.32), always in their wide form:
the apiserver generates tables with `Wide: true` and kubectl hides the
`priority > 0` columns unless `-o wide`. Kinds without a printer get the
default table of `apiserver/pkg/registry/rest/table.go` (Name, Created At).

Contract:
- Pure: the current time is passed in (`now`, timezone-aware; naive means UTC).
- Objects are plain JSON dicts as stored (defaulted); missing fields print as
  upstream prints a zero value.
- Row objects share structure with the input (`include_object` "Metadata"
  shares the input's `metadata` dict, "Object" the object itself): callers
  serialize the table and must not mutate it.
- Cells have upstream's JSON types: integers where upstream emits `int64`,
  booleans for `bool`, strings otherwise (even when the column says "integer").
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from kybernetes.api import schema
from kybernetes.api.errors import StatusError
from kybernetes.api.registry import ResourceInfo
from kybernetes.api.selectors import label_selector_from_dict

Obj = dict[str, Any]
Printer = Callable[[Obj, datetime], list[Any]]

_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_ROW_COMPLETED = "Completed"


# ---------------------------------------------------------------- durations


def human_duration(d: timedelta) -> str:
    """`duration.HumanDuration`: ~2-3 significant figures ("90s", "5m30s", "2y30d")."""
    ns = (d.days * 86400 + d.seconds) * 10**9 + d.microseconds * 1000
    seconds = _trunc(ns, 10**9)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(d: timedelta) -> str:
    """`duration.ShortHumanDuration`: one unit only ("59s", "3m", "2d", "3y")."""
    ns = (d.days * 86400 + d.seconds) * 10**9 + d.microseconds * 1000
    seconds = _trunc(ns, 10**9)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    if seconds // 60 < 60:
        return f"{seconds // 60}m"
    hours = seconds // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def _trunc(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's conversions do."""
    q = abs(a) // b
    return q if a >= 0 else -q


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (Time or MicroTime) as an aware datetime; None if unset."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    if t.year <= 1:  # Go's zero time: IsZero()
        return None
    return t


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def since(value: Any, now: datetime) -> str:
    """`translateTimestampSince`: the age of a timestamp, "<unknown>" if unset."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration(_aware(now) - t)


# ---------------------------------------------------------------- small formatters


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(key)
        if obj is None:
            return default
    return obj


def _name(obj: Obj) -> str:
    return _get(obj, "metadata", "name", default="")


def _age(obj: Obj, now: datetime) -> str:
    return since(_get(obj, "metadata", "creationTimestamp"), now)


def format_labels(labels: dict[str, str] | None) -> str:
    """`labels.FormatLabels`: sorted `k=v` joined by ",", "<none>" when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


_SELECTOR_OPS = {"In": "in", "NotIn": "notin", "Exists": "", "DoesNotExist": "!"}


def selector_string(selector: Obj | None) -> str | None:
    """`LabelSelectorAsSelector(s).String()`; None when the selector is invalid."""
    if not selector:
        return ""  # nil is Nothing(), empty is Everything(): both print as ""
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = sorted(set(expr.get("values") or []))
        if op not in _SELECTOR_OPS:
            return None
        if op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, "!" + key))
        else:
            reqs.append((key, f"{key} {_SELECTOR_OPS[op]} ({','.join(values)})"))
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def format_label_selector(selector: Obj | None) -> str:
    """`metav1.FormatLabelSelector`: "<none>" when empty, "<error>" when invalid."""
    s = selector_string(selector)
    if s is None:
        return "<error>"
    return s or "<none>"


def _containers(spec: Obj | None) -> tuple[str, str]:
    """`layoutContainerCells`: names and images, each joined by ","."""
    containers = _get(spec, "containers", default=[]) or []
    names = ",".join(c.get("name", "") for c in containers)
    images = ",".join(c.get("image", "") for c in containers)
    return names, images


def _bool_ptr(value: Any) -> str:
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def _more(items: list[str], count: int, limit: int, empty: str = "<unset>") -> str:
    """`listWithMoreString`."""
    ret = ",".join(items[:limit])
    if count > limit:
        return f"{ret} + {count - limit} more..."
    return ret or empty


def _join_host_port(host: str, port: Any) -> str:
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]:{port}"
    except ValueError:
        if ":" in host:
            return f"[{host}]:{port}"
    return f"{host}:{port}"


def _quantity(value: Any) -> str:
    return "0" if value in (None, "") else str(value)


# ---------------------------------------------------------------- column definitions


def _doc(definition: str, fieldname: str) -> str:
    """A field's description from the upstream schema (as `SwaggerDoc()[field]`)."""
    if not definition.startswith("io."):
        definition = "io.k8s.api." + definition
    d = schema.definitions().get(definition) or {}
    return _get(d, "properties", fieldname, "description", default="") or ""


def _c(name: str, type_: str, doc: str | tuple[str, str], priority: int = 0,
       fmt: str = "") -> dict[str, Any]:
    description = doc if isinstance(doc, str) else _doc(*doc)
    return {"name": name, "type": type_, "format": fmt, "description": description,
            "priority": priority}


def _name_col() -> dict[str, Any]:
    return _c("Name", "string", (_META, "name"), fmt="name")


def _age_col() -> dict[str, Any]:
    return _c("Age", "string", (_META, "creationTimestamp"))


_CONTAINERS = "Names of each container in the template."
_IMAGES = "Images referenced by each container in the template."


def _template_cols(selector: tuple[str, str] | None) -> list[dict[str, Any]]:
    cols = [_c("Containers", "string", _CONTAINERS, 1), _c("Images", "string", _IMAGES, 1)]
    if selector:
        cols.append(_c("Selector", "string", selector, 1))
    return cols


def _columns_pod() -> list[dict[str, Any]]:
    return [
        _name_col(),
        _c("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        _c("Status", "string", "The aggregate status of the containers in this pod."),
        _c("Restarts", "string", "The number of times the containers in this pod have been "
           "restarted and when the last container in this pod has restarted."),
        _age_col(),
        _c("IP", "string", ("core.v1.PodStatus", "podIP"), 1),
        _c("Node", "string", ("core.v1.PodSpec", "nodeName"), 1),
        _c("Nominated Node", "string", ("core.v1.PodStatus", "nominatedNodeName"), 1),
        _c("Readiness Gates", "string", ("core.v1.PodSpec", "readinessGates"), 1),
    ]


def _columns_replicas(spec: str, status: str, selector: bool = True) -> list[dict[str, Any]]:
    return [
        _name_col(),
        _c("Desired", "integer", (spec, "replicas")),
        _c("Current", "integer", (status, "replicas")),
        _c("Ready", "integer", (status, "readyReplicas")),
        _age_col(),
        *_template_cols((spec, "selector") if selector else None),
    ]


def _columns_binding(what: str) -> list[dict[str, Any]]:
    return [
        _name_col(),
        _c("Role", "string", ("rbac.v1.RoleBinding", "roleRef")),
        _age_col(),
        _c("Users", "string", f"Users in the {what}", 1),
        _c("Groups", "string", f"Groups in the {what}", 1),
        _c("ServiceAccounts", "string", f"ServiceAccounts in the {what}", 1),
    ]


_COLUMNS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "Pod": _columns_pod,
    "PodTemplate": lambda: [
        _name_col(), _c("Containers", "string", _CONTAINERS), _c("Images", "string", _IMAGES),
        _c("Pod Labels", "string", "The labels for the pod template."),
    ],
    "PodDisruptionBudget": lambda: [
        _name_col(),
        _c("Min Available", "string", "The minimum number of pods that must be available."),
        _c("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
        _c("Allowed Disruptions", "integer",
           "Calculated number of pods that may be disrupted at this time."),
        _age_col(),
    ],
    "ReplicationController": lambda: _columns_replicas(
        "core.v1.ReplicationControllerSpec", "core.v1.ReplicationControllerStatus"),
    "ReplicaSet": lambda: _columns_replicas("apps.v1.ReplicaSetSpec", "apps.v1.ReplicaSetStatus"),
    "DaemonSet": lambda: [
        _name_col(),
        _c("Desired", "integer", ("apps.v1.DaemonSetStatus", "desiredNumberScheduled")),
        _c("Current", "integer", ("apps.v1.DaemonSetStatus", "currentNumberScheduled")),
        _c("Ready", "integer", ("apps.v1.DaemonSetStatus", "numberReady")),
        _c("Up-to-date", "integer", ("apps.v1.DaemonSetStatus", "updatedNumberScheduled")),
        _c("Available", "integer", ("apps.v1.DaemonSetStatus", "numberAvailable")),
        _c("Node Selector", "string", ("core.v1.PodSpec", "nodeSelector")),
        _age_col(),
        *_template_cols(("apps.v1.DaemonSetSpec", "selector")),
    ],
    "Job": lambda: [
        _name_col(),
        _c("Status", "string", "Status of the job."),
        _c("Completions", "string", ("batch.v1.JobStatus", "succeeded")),
        _c("Duration", "string", "Time required to complete the job."),
        _age_col(),
        *_template_cols(("batch.v1.JobSpec", "selector")),
    ],
    "CronJob": lambda: [
        _name_col(),
        _c("Schedule", "string", ("batch.v1.CronJobSpec", "schedule")),
        _c("Timezone", "string", ("batch.v1.CronJobSpec", "timeZone")),
        _c("Suspend", "boolean", ("batch.v1.CronJobSpec", "suspend")),
        _c("Active", "integer", ("batch.v1.CronJobStatus", "active")),
        _c("Last Schedule", "string", ("batch.v1.CronJobStatus", "lastScheduleTime")),
        _age_col(),
        *_template_cols(("batch.v1.JobSpec", "selector")),
    ],
    "Service": lambda: [
        _name_col(),
        _c("Type", "string", ("core.v1.ServiceSpec", "type")),
        _c("Cluster-IP", "string", ("core.v1.ServiceSpec", "clusterIP")),
        _c("External-IP", "string", ("core.v1.ServiceSpec", "externalIPs")),
        _c("Port(s)", "string", ("core.v1.ServiceSpec", "ports")),
        _age_col(),
        _c("Selector", "string", ("core.v1.ServiceSpec", "selector"), 1),
    ],
    "Ingress": lambda: [
        _name_col(),
        _c("Class", "string", "The name of the IngressClass resource that should be used for "
           "additional configuration"),
        _c("Hosts", "string",
           "Hosts that incoming requests are matched against before the ingress rule"),
        _c("Address", "string",
           "Address is a list containing ingress points for the load-balancer"),
        _c("Ports", "string", "Ports of TLS configurations that open"),
        _age_col(),
    ],
    "IngressClass": lambda: [
        _name_col(),
        _c("Controller", "string", "Controller that is responsible for handling this class"),
        _c("Parameters", "string", "A reference to a resource with additional parameters"),
        _age_col(),
    ],
    "StatefulSet": lambda: [
        _name_col(),
        _c("Ready", "string", "Number of the pod with ready state"),
        _age_col(),
        *_template_cols(None),
    ],
    "Endpoints": lambda: [
        _name_col(), _c("Endpoints", "string", ("core.v1.Endpoints", "subsets")), _age_col(),
    ],
    "Node": lambda: [
        _name_col(),
        _c("Status", "string", "The status of the node"),
        _c("Roles", "string", "The roles of the node"),
        _age_col(),
        _c("Version", "string", ("core.v1.NodeSystemInfo", "kubeletVersion")),
        _c("Internal-IP", "string", ("core.v1.NodeStatus", "addresses"), 1),
        _c("External-IP", "string", ("core.v1.NodeStatus", "addresses"), 1),
        _c("OS-Image", "string", ("core.v1.NodeSystemInfo", "osImage"), 1),
        _c("Kernel-Version", "string", ("core.v1.NodeSystemInfo", "kernelVersion"), 1),
        _c("Container-Runtime", "string",
           ("core.v1.NodeSystemInfo", "containerRuntimeVersion"), 1),
    ],
    "Event": lambda: [
        _c("Last Seen", "string", ("core.v1.Event", "lastTimestamp")),
        _c("Type", "string", ("core.v1.Event", "type")),
        _c("Reason", "string", ("core.v1.Event", "reason")),
        _c("Object", "string", ("core.v1.Event", "involvedObject")),
        _c("Subobject", "string", ("core.v1.ObjectReference", "fieldPath"), 1),
        _c("Source", "string", ("core.v1.Event", "source"), 1),
        _c("Message", "string", ("core.v1.Event", "message")),
        _c("First Seen", "string", ("core.v1.Event", "firstTimestamp"), 1),
        _c("Count", "string", ("core.v1.Event", "count"), 1),
        _c("Name", "string", (_META, "name"), 1, fmt="name"),
    ],
    "Namespace": lambda: [
        _name_col(), _c("Status", "string", "The status of the namespace"), _age_col(),
    ],
    "Secret": lambda: [
        _name_col(),
        _c("Type", "string", ("core.v1.Secret", "type")),
        _c("Data", "string", ("core.v1.Secret", "data")),
        _age_col(),
    ],
    "ServiceAccount": lambda: [
        _name_col(), _c("Secrets", "string", ("core.v1.ServiceAccount", "secrets")), _age_col(),
    ],
    "PersistentVolume": lambda: [
        _name_col(),
        _c("Capacity", "string", ("core.v1.PersistentVolumeSpec", "capacity")),
        _c("Access Modes", "string", ("core.v1.PersistentVolumeSpec", "accessModes")),
        _c("Reclaim Policy", "string",
           ("core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
        _c("Status", "string", ("core.v1.PersistentVolumeStatus", "phase")),
        _c("Claim", "string", ("core.v1.PersistentVolumeSpec", "claimRef")),
        _c("StorageClass", "string", "StorageClass of the pv"),
        _c("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
        _c("Reason", "string", ("core.v1.PersistentVolumeStatus", "reason")),
        _age_col(),
        _c("VolumeMode", "string", ("core.v1.PersistentVolumeSpec", "volumeMode"), 1),
    ],
    "PersistentVolumeClaim": lambda: [
        _name_col(),
        _c("Status", "string", ("core.v1.PersistentVolumeClaimStatus", "phase")),
        _c("Volume", "string", ("core.v1.PersistentVolumeClaimSpec", "volumeName")),
        _c("Capacity", "string", ("core.v1.PersistentVolumeClaimStatus", "capacity")),
        _c("Access Modes", "string", ("core.v1.PersistentVolumeClaimStatus", "accessModes")),
        _c("StorageClass", "string", "StorageClass of the pvc"),
        _c("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
        _age_col(),
        _c("VolumeMode", "string", ("core.v1.PersistentVolumeClaimSpec", "volumeMode"), 1),
    ],
    "ComponentStatus": lambda: [
        _name_col(),
        _c("Status", "string", "Status of the component conditions"),
        _c("Message", "string", "Message of the component conditions"),
        _c("Error", "string", "Error of the component conditions"),
    ],
    "Deployment": lambda: [
        _name_col(),
        _c("Ready", "string", "Number of the pod with ready state"),
        _c("Up-to-date", "string", ("apps.v1.DeploymentStatus", "updatedReplicas")),
        _c("Available", "string", ("apps.v1.DeploymentStatus", "availableReplicas")),
        _age_col(),
        *_template_cols(("apps.v1.DeploymentSpec", "selector")),
    ],
    "HorizontalPodAutoscaler": lambda: [
        _name_col(),
        _c("Reference", "string", ("autoscaling.v2.HorizontalPodAutoscalerSpec",
                                   "scaleTargetRef")),
        _c("Targets", "string", ("autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics")),
        _c("MinPods", "string", ("autoscaling.v2.HorizontalPodAutoscalerSpec", "minReplicas")),
        _c("MaxPods", "string", ("autoscaling.v2.HorizontalPodAutoscalerSpec", "maxReplicas")),
        _c("Replicas", "string", ("autoscaling.v2.HorizontalPodAutoscalerStatus",
                                  "currentReplicas")),
        _age_col(),
    ],
    "ConfigMap": lambda: [
        _name_col(), _c("Data", "string", ("core.v1.ConfigMap", "data")), _age_col(),
    ],
    "NetworkPolicy": lambda: [
        _name_col(),
        _c("Pod-Selector", "string", ("networking.v1.NetworkPolicySpec", "podSelector")),
        _age_col(),
    ],
    "RoleBinding": lambda: _columns_binding("roleBinding"),
    "ClusterRoleBinding": lambda: _columns_binding("clusterRoleBinding"),
    "CertificateSigningRequest": lambda: [
        _name_col(),
        _age_col(),
        _c("SignerName", "string", ("certificates.v1.CertificateSigningRequestSpec",
                                    "signerName")),
        _c("Requestor", "string", ("certificates.v1.CertificateSigningRequestSpec", "request")),
        _c("RequestedDuration", "string", ("certificates.v1.CertificateSigningRequestSpec",
                                           "expirationSeconds")),
        _c("Condition", "string", ("certificates.v1.CertificateSigningRequestStatus",
                                   "conditions")),
    ],
    "Lease": lambda: [
        _name_col(),
        _c("Holder", "string", ("coordination.v1.LeaseSpec", "holderIdentity")),
        _age_col(),
    ],
    "StorageClass": lambda: [
        _name_col(),
        _c("Provisioner", "string", ("storage.v1.StorageClass", "provisioner")),
        _c("ReclaimPolicy", "string", ("storage.v1.StorageClass", "reclaimPolicy")),
        _c("VolumeBindingMode", "string", ("storage.v1.StorageClass", "volumeBindingMode")),
        _c("AllowVolumeExpansion", "string",
           ("storage.v1.StorageClass", "allowVolumeExpansion")),
        _age_col(),
    ],
    "ControllerRevision": lambda: [
        _name_col(),
        _c("Controller", "string", "Controller of the object"),
        _c("Revision", "string", ("apps.v1.ControllerRevision", "revision")),
        _age_col(),
    ],
    "ResourceQuota": lambda: [
        _name_col(),
        _c("Request", "string", "Request represents a minimum amount of cpu/memory that a "
           "container may consume."),
        _c("Limit", "string", "Limits control the maximum amount of cpu/memory that a container "
           "may use independent of contention on the node."),
        _age_col(),
    ],
    "PriorityClass": lambda: [
        _name_col(),
        _c("Value", "integer", ("scheduling.v1.PriorityClass", "value")),
        _c("Global-Default", "boolean", ("scheduling.v1.PriorityClass", "globalDefault")),
        _age_col(),
        _c("PreemptionPolicy", "string", ("scheduling.v1.PriorityClass", "preemptionPolicy")),
    ],
    "RuntimeClass": lambda: [
        _name_col(),
        _c("Handler", "string", ("node.v1.RuntimeClass", "handler")),
        _age_col(),
    ],
    "VolumeAttachment": lambda: [
        _name_col(),
        # upstream marks this column as a name too
        _c("Attacher", "string", ("storage.v1.VolumeAttachmentSpec", "attacher"), fmt="name"),
        _c("PV", "string", ("storage.v1.VolumeAttachmentSource", "persistentVolumeName")),
        _c("Node", "string", ("storage.v1.VolumeAttachmentSpec", "nodeName")),
        _c("Attached", "boolean", ("storage.v1.VolumeAttachmentStatus", "attached")),
        _age_col(),
    ],
    "EndpointSlice": lambda: [
        _name_col(),
        _c("AddressType", "string", ("discovery.v1.EndpointSlice", "addressType")),
        _c("Ports", "string", ("discovery.v1.EndpointSlice", "ports")),
        _c("Endpoints", "string", ("discovery.v1.EndpointSlice", "endpoints")),
        _age_col(),
    ],
    "CSINode": lambda: [
        _name_col(),
        _c("Drivers", "integer",
           "Drivers indicates the number of CSI drivers registered on the node"),
        _age_col(),
    ],
    "CSIDriver": lambda: [
        _name_col(),
        _c("AttachRequired", "boolean", ("storage.v1.CSIDriverSpec", "attachRequired")),
        _c("PodInfoOnMount", "boolean", ("storage.v1.CSIDriverSpec", "podInfoOnMount")),
        _c("StorageCapacity", "boolean", ("storage.v1.CSIDriverSpec", "storageCapacity")),
        _c("TokenRequests", "string", ("storage.v1.CSIDriverSpec", "tokenRequests")),
        _c("RequiresRepublish", "boolean", ("storage.v1.CSIDriverSpec", "requiresRepublish")),
        _c("Modes", "string", ("storage.v1.CSIDriverSpec", "volumeLifecycleModes")),
        _age_col(),
    ],
    "CSIStorageCapacity": lambda: [
        _name_col(),
        _c("StorageClassName", "string", ("storage.v1.CSIStorageCapacity", "storageClassName")),
        _c("Capacity", "string", ("storage.v1.CSIStorageCapacity", "capacity")),
    ],
    "MutatingWebhookConfiguration": lambda: _columns_webhooks(),
    "ValidatingWebhookConfiguration": lambda: _columns_webhooks(),
    "ValidatingAdmissionPolicy": lambda: [
        _name_col(),
        _c("Validations", "integer", "Validations indicates the number of validation rules "
           "defined in this configuration"),
        _c("ParamKind", "string", "ParamKind specifies the kind of resources used to "
           "parameterize this policy"),
        _age_col(),
    ],
    "ValidatingAdmissionPolicyBinding": lambda: [
        _name_col(),
        _c("PolicyName", "string", "PolicyName indicates the policy definition which the "
           "policy binding binded to"),
        _c("ParamRef", "string", "ParamRef indicates the param resource which sets the "
           "configration param"),
        _age_col(),
    ],
}


def _columns_webhooks() -> list[dict[str, Any]]:
    return [
        _name_col(),
        _c("Webhooks", "integer",
           "Webhooks indicates the number of webhooks registered in this configuration"),
        _age_col(),
    ]


def _columns_default() -> list[dict[str, Any]]:
    return [_name_col(), _c("Created At", "date", (_META, "creationTimestamp"))]


@functools.cache
def _columns_for(kind: str) -> tuple[dict[str, Any], ...]:
    factory = _COLUMNS.get(kind, _columns_default)
    return tuple(factory())


def column_definitions(info: ResourceInfo) -> list[dict[str, Any]]:
    """The Table columns for a resource, in upstream order (fresh dicts each call)."""
    if info.custom is not None:  # a CRD's additionalPrinterColumns
        return info.custom.column_definitions()
    kind = info.kind if _printer(info) is not None else ""
    return [dict(c) for c in _columns_for(kind)]


# ---------------------------------------------------------------- pods


def _restartable(container: Obj | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"


def _condition_true(conditions: Iterable[Obj] | None, type_: str) -> bool:
    for cond in conditions or []:
        if cond.get("type") == type_:
            return cond.get("status") == "True"
    return False


def _later(a: datetime | None, b: Any) -> datetime | None:
    t = parse_time(b)
    if t is None:
        return a
    return t if a is None or t > a else a


def pod_status(pod: Obj) -> tuple[int, int, str, int, datetime | None]:
    """printPod's computation: (ready, total, reason, restarts, last restart time)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    inits = {c.get("name"): c for c in spec.get("initContainers") or []}
    init_list = spec.get("initContainers") or []
    total = len(spec.get("containers") or []) + sum(1 for c in init_list if _restartable(c))
    ready = 0
    restarts = sidecar_restarts = 0
    last: datetime | None = None
    last_sidecar: datetime | None = None

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        finished = _get(cs, "lastState", "terminated", "finishedAt")
        last = _later(last, finished)
        sidecar = _restartable(inits.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            last_sidecar = _later(last_sidecar, finished)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                if terminated.get("signal"):
                    reason = f"Init:Signal:{terminated['signal']}"
                else:
                    reason = f"Init:ExitCode:{int(terminated.get('exitCode') or 0)}"
            else:
                reason = "Init:" + terminated["reason"]
        elif waiting is not None and waiting.get("reason") and \
                waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_list)}"
        initializing = True
        break

    if not initializing or _condition_true(status.get("conditions"), "Initialized"):
        restarts, last = sidecar_restarts, last_sidecar
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last = _later(last, _get(cs, "lastState", "terminated", "finishedAt"))
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{int(terminated.get('exitCode') or 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # back to "Running" if a container is still running (upstream's comment)
        if reason == "Completed" and has_running:
            ready_cond = _condition_true(status.get("conditions"), "Ready")
            reason = "Running" if ready_cond else "NotReady"

    deleting = _get(pod, "metadata", "deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return ready, total, reason, restarts, last


def _print_pod(pod: Obj, now: datetime) -> list[Any]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ready, total, reason, restarts, last = pod_status(pod)
    restarts_str = str(restarts)
    if restarts != 0 and last is not None:
        restarts_str = f"{restarts} ({human_duration(_aware(now) - last)} ago)"
    ips = status.get("podIPs") or []
    pod_ip = (ips[0].get("ip") if ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_str = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in reversed(status.get("conditions") or [])}
        true = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gates_str = f"{true}/{len(gates)}"
    return [
        _name(pod), f"{ready}/{total}", reason, restarts_str, _age(pod, now),
        pod_ip, spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>", gates_str,
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    phase = _get(pod, "status", "phase")
    if phase == "Succeeded":
        return [{"type": _ROW_COMPLETED, "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": _ROW_COMPLETED, "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return None


# ---------------------------------------------------------------- workloads


def _print_pod_template(obj: Obj, now: datetime) -> list[Any]:
    template = obj.get("template") or {}
    names, images = _containers(template.get("spec"))
    return [_name(obj), names, images, format_labels(_get(template, "metadata", "labels"))]


def _replicas(spec: Obj) -> int:
    # The API defaults replicas to 1; stored objects always carry it.
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def _print_rc(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    return [_name(obj), _replicas(spec), int(status.get("replicas") or 0),
            int(status.get("readyReplicas") or 0), _age(obj, now), names, images,
            format_labels(spec.get("selector"))]


def _print_rs(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    return [_name(obj), _replicas(spec), int(status.get("replicas") or 0),
            int(status.get("readyReplicas") or 0), _age(obj, now), names, images,
            format_label_selector(spec.get("selector"))]


def _print_deployment(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    selector = selector_string(spec.get("selector"))
    return [_name(obj), f"{int(status.get('readyReplicas') or 0)}/{_replicas(spec)}",
            int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0),
            _age(obj, now), names, images, "<invalid>" if selector is None else selector]


def _print_statefulset(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    return [_name(obj), f"{int(status.get('readyReplicas') or 0)}/{_replicas(spec)}",
            _age(obj, now), names, images]


def _print_daemonset(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(_get(spec, "template", "spec"))
    counts = [int(status.get(k) or 0) for k in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable")]
    return [_name(obj), *counts, format_labels(_get(spec, "template", "spec", "nodeSelector")),
            _age(obj, now), names, images, format_label_selector(spec.get("selector"))]


def job_status(job: Obj) -> str:
    """The Status column of a Job (Complete, Failed, Terminating, Suspended, ...)."""
    conds = _get(job, "status", "conditions")
    if _condition_true(conds, "Complete"):
        return "Complete"
    if _condition_true(conds, "Failed"):
        return "Failed"
    if _get(job, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    if _condition_true(conds, "Suspended"):
        return "Suspended"
    if _condition_true(conds, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _print_job(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{int(spec['completions'])}"
    else:
        parallelism = int(spec.get("parallelism") or 0)
        completions = (f"{succeeded}/1 of {parallelism}" if parallelism > 1
                       else f"{succeeded}/1")
    start = parse_time(status.get("startTime"))
    end = parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration((end or _aware(now)) - start)
    names, images = _containers(_get(spec, "template", "spec"))
    return [_name(obj), job_status(obj), completions, duration, _age(obj, now), names, images,
            format_label_selector(spec.get("selector"))]


def _print_cronjob(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    job_spec = _get(spec, "jobTemplate", "spec", default={})
    names, images = _containers(_get(job_spec, "template", "spec"))
    return [_name(obj), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            _bool_ptr(spec.get("suspend")), len(status.get("active") or []),
            since(last, now) if last else "<none>", _age(obj, now), names, images,
            format_label_selector(job_spec.get("selector"))]


def _print_controller_revision(obj: Obj, now: datetime) -> list[Any]:
    owner = next((r for r in _get(obj, "metadata", "ownerReferences", default=[])
                  if r.get("controller")), None)
    controller = "<none>"
    if owner is not None:
        api_version = owner.get("apiVersion", "")
        group = api_version.rpartition("/")[0]
        kind = owner.get("kind", "")
        group_kind = f"{kind}.{group}" if group else kind
        controller = f"{group_kind.lower()}/{owner.get('name', '')}" if kind else owner.get(
            "name", "")
    return [_name(obj), controller, int(obj.get("revision") or 0), _age(obj, now)]


# ---------------------------------------------------------------- services and networking


def _lb_ingress(ingress: list[Obj] | None) -> str:
    """`loadBalancerStatusStringer` in its wide (unclipped) form."""
    found = {i.get("ip") or i.get("hostname") for i in ingress or []}
    return ",".join(sorted(x for x in found if x))


def _service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    external = spec.get("externalIPs") or []
    type_ = spec.get("type", "")
    if type_ in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if type_ == "LoadBalancer":
        lb = _lb_ingress(_get(svc, "status", "loadBalancer", "ingress"))
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if type_ == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_ports(ports: list[Obj] | None) -> str:
    """`makePortString`: "80/TCP", "80:30080/TCP", joined by ","."""
    pieces = []
    for p in ports or []:
        proto = p.get("protocol") or "TCP"
        node_port = int(p.get("nodePort") or 0)
        if node_port > 0:
            pieces.append(f"{p.get('port', 0)}:{node_port}/{proto}")
        else:
            pieces.append(f"{p.get('port', 0)}/{proto}")
    return ",".join(pieces)


def _print_service(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [_name(obj), spec.get("type", ""), ips[0] if ips else "<none>",
            _service_external_ip(obj), service_ports(spec.get("ports")) or "<none>",
            _age(obj, now), format_labels(spec.get("selector"))]


def _print_endpoints(obj: Obj, now: datetime) -> list[Any]:
    subsets = obj.get("subsets") or []
    if not subsets:
        return [_name(obj), "<none>", _age(obj, now)]
    items: list[str] = []
    count = 0
    for ss in subsets:
        addrs = [a.get("ip", "") for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        if not ports:
            count += len(addrs)
            items.extend(addrs)
            continue
        for port in ports:
            count += len(addrs)
            items.extend(_join_host_port(ip, port.get("port", 0)) for ip in addrs)
    text = ",".join(items[:3])
    if len(items) > 3:
        text = f"{text} + {count - 3} more..."
    return [_name(obj), text, _age(obj, now)]


def _print_endpoint_slice(obj: Obj, now: datetime) -> list[Any]:
    ports = []
    for p in obj.get("ports") or []:
        if p.get("port") is not None:
            ports.append(str(p["port"]))
        elif p.get("name") is not None:
            ports.append(p["name"])
        else:
            ports.append("*")
    addrs = [a for ep in obj.get("endpoints") or [] for a in ep.get("addresses") or []]
    return [_name(obj), obj.get("addressType", ""), _more(ports, len(ports), 3),
            _more(addrs, len(addrs), 3), _age(obj, now)]


def _print_ingress(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or []
    hosts = [r["host"] for r in rules[:3] if r.get("host")]
    hosts_str = ",".join(hosts) if hosts else "*"
    if hosts and len(rules) > 3:
        hosts_str = f"{hosts_str} + {len(rules) - 3} more..."
    ports = "80, 443" if spec.get("tls") else "80"
    return [_name(obj), spec.get("ingressClassName") or "<none>", hosts_str,
            _lb_ingress(_get(obj, "status", "loadBalancer", "ingress")), ports, _age(obj, now)]


def _print_ingress_class(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    params = spec.get("parameters")
    text = "<none>"
    if params:
        text = params.get("kind", "")
        if params.get("apiGroup") is not None:
            text += "." + params["apiGroup"]
        text += "/" + params.get("name", "")
    return [_name(obj), spec.get("controller", ""), text, _age(obj, now)]


def _print_network_policy(obj: Obj, now: datetime) -> list[Any]:
    selector = _get(obj, "spec", "podSelector", default={})
    return [_name(obj), format_label_selector(selector), _age(obj, now)]


# ---------------------------------------------------------------- nodes and namespaces


def node_roles(labels: dict[str, str] | None) -> list[str]:
    """`findNodeRoles`: from node-role.kubernetes.io/<role> and kubernetes.io/role."""
    roles = set()
    for key, value in (labels or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return sorted(roles)


def _node_address(node: Obj, type_: str) -> str:
    for addr in _get(node, "status", "addresses", default=[]):
        if addr.get("type") == type_:
            return addr.get("address", "")
    return "<none>"


def _print_node(obj: Obj, now: datetime) -> list[Any]:
    status = obj.get("status") or {}
    states = []
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    if ready:
        # a later duplicate wins, as in upstream's condition map
        states.append("Ready" if ready[-1].get("status") == "True" else "NotReady")
    else:
        states.append("Unknown")
    if _get(obj, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    return [_name(obj), ",".join(states),
            ",".join(node_roles(_get(obj, "metadata", "labels"))) or "<none>",
            _age(obj, now), info.get("kubeletVersion", ""),
            _node_address(obj, "InternalIP"), _node_address(obj, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _print_namespace(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), _get(obj, "status", "phase", default=""), _age(obj, now)]


# ---------------------------------------------------------------- config and access


def _print_configmap(obj: Obj, now: datetime) -> list[Any]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), count, _age(obj, now)]


def _print_secret(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), obj.get("type", ""), len(obj.get("data") or {}), _age(obj, now)]


def _print_service_account(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, now)]


def subjects_strings(subjects: list[Obj] | None) -> tuple[list[str], list[str], list[str]]:
    """`rbac.SubjectsStrings`: users, groups, service accounts ("ns/name")."""
    users, groups, sas = [], [], []
    for s in subjects or []:
        kind = s.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
        elif kind == "User":
            users.append(s.get("name", ""))
        elif kind == "Group":
            groups.append(s.get("name", ""))
    return users, groups, sas


def _print_binding(obj: Obj, now: datetime) -> list[Any]:
    ref = obj.get("roleRef") or {}
    users, groups, sas = subjects_strings(obj.get("subjects"))
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now),
            ", ".join(users), ", ".join(groups), ", ".join(sas)]


def _print_lease(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), _get(obj, "spec", "holderIdentity", default=""), _age(obj, now)]


def _print_csr(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    types = {c.get("type") for c in status.get("conditions") or []}
    text = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        text += ",Failed"
    if status.get("certificate"):
        text += ",Issued"
    seconds = spec.get("expirationSeconds")
    requested = "<none>" if seconds is None else human_duration(timedelta(seconds=int(seconds)))
    return [_name(obj), _age(obj, now), spec.get("signerName") or "<none>",
            spec.get("username", ""), requested, text]


def _print_webhooks(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), len(obj.get("webhooks") or []), _age(obj, now)]


def _print_admission_policy(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    pk = spec.get("paramKind")
    kind = f"{pk.get('apiVersion', '')}/{pk.get('kind', '')}" if isinstance(pk, dict) \
        else "<unset>"
    return [_name(obj), len(spec.get("validations") or []), kind, _age(obj, now)]


def _print_admission_policy_binding(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    ref, param = spec.get("paramRef"), "<unset>"
    if isinstance(ref, dict):
        if ref.get("name"):
            # Upstream cannot tell a cluster-scoped param from here: "*/" for no namespace.
            param = f"{ref.get('namespace') or '*'}/{ref['name']}"
        elif ref.get("selector") is not None:
            try:
                param = str(label_selector_from_dict(ref["selector"]))
            except StatusError:
                param = "<invalid>"
    return [_name(obj), spec.get("policyName", ""), param, _age(obj, now)]


def _print_component_status(obj: Obj, now: datetime) -> list[Any]:
    status, message, error = "Unknown", "", ""
    for cond in obj.get("conditions") or []:
        if cond.get("type") == "Healthy":
            status = "Healthy" if cond.get("status") == "True" else "Unhealthy"
            message, error = cond.get("message", ""), cond.get("error", "")
            break
    return [_name(obj), status, message, error]


# ---------------------------------------------------------------- events


def _core_event(obj: Obj) -> Obj:
    """An events.k8s.io/v1 Event in core/v1 field names (upstream converts to internal)."""
    if obj.get("apiVersion") != "events.k8s.io/v1" and "regarding" not in obj \
            and "note" not in obj:
        return obj
    return {
        "metadata": obj.get("metadata") or {},
        "involvedObject": obj.get("regarding") or {},
        "type": obj.get("type", ""), "reason": obj.get("reason", ""),
        "message": obj.get("note", ""),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"), "source": obj.get("deprecatedSource") or {},
        "eventTime": obj.get("eventTime"), "series": obj.get("series"),
        "reportingComponent": obj.get("reportingController", ""),
        "reportingInstance": obj.get("reportingInstance", ""),
    }


def _print_event(obj: Obj, now: datetime) -> list[Any]:
    ev = _core_event(obj)
    first = since(ev.get("firstTimestamp"), now)
    if parse_time(ev.get("firstTimestamp")) is None:
        first = since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now)
    if parse_time(ev.get("lastTimestamp")) is None:
        last = first
    count = int(ev.get("count") or 0)
    series = ev.get("series")
    if series is not None:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1  # singleton events carry no count in the new API
    involved = ev.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    source_str = f"{component}, {instance}" if instance else component
    return [last, ev.get("type", ""), ev.get("reason", ""), target,
            involved.get("fieldPath", ""), source_str, (ev.get("message") or "").strip(),
            first, count, _name(obj)]


# ---------------------------------------------------------------- storage


def access_modes(modes: list[str] | None) -> str:
    """`GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order."""
    present = set(modes or [])
    names = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP")]
    return ",".join(short for full, short in names if full in present)


_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"


def _print_pv(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    phase = status.get("phase", "")
    if _get(obj, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    annotations = _get(obj, "metadata", "annotations", default={})
    sc = annotations.get(_BETA_CLASS, spec.get("storageClassName", ""))
    return [_name(obj), _quantity(_get(spec, "capacity", "storage")),
            access_modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), phase, claim, sc,
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""),
            _age(obj, now), spec.get("volumeMode") or "<unset>"]


def _print_pvc(obj: Obj, now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = status.get("phase", "")
    if _get(obj, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = _quantity(_get(status, "capacity", "storage"))
    annotations = _get(obj, "metadata", "annotations", default={})
    sc = annotations.get(_BETA_CLASS, spec.get("storageClassName") or "")
    return [_name(obj), phase, spec.get("volumeName", ""), capacity, modes, sc,
            spec.get("volumeAttributesClassName") or "<unset>", _age(obj, now),
            spec.get("volumeMode") or "<unset>"]


def _is_default_class(obj: Obj) -> bool:
    annotations = _get(obj, "metadata", "annotations", default={})
    return "true" in (annotations.get("storageclass.kubernetes.io/is-default-class"),
                      annotations.get("storageclass.beta.kubernetes.io/is-default-class"))


def _print_storage_class(obj: Obj, now: datetime) -> list[Any]:
    name = _name(obj) + (" (default)" if _is_default_class(obj) else "")
    return [name, obj.get("provisioner", ""), obj.get("reclaimPolicy") or "Delete",
            obj.get("volumeBindingMode") or "Immediate",
            bool(obj.get("allowVolumeExpansion")), _age(obj, now)]


def _print_volume_attachment(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    return [_name(obj), spec.get("attacher", ""),
            _get(spec, "source", "persistentVolumeName", default=""), spec.get("nodeName", ""),
            bool(_get(obj, "status", "attached")), _age(obj, now)]


def _print_csi_node(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), len(_get(obj, "spec", "drivers", default=[])), _age(obj, now)]


def _print_csi_driver(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    attach = spec.get("attachRequired")
    tokens = spec.get("tokenRequests")
    token_str = "<unset>" if tokens is None else ",".join(t.get("audience", "") for t in tokens)
    modes = ",".join(spec.get("volumeLifecycleModes") or []) or "<none>"
    return [_name(obj), True if attach is None else bool(attach),
            bool(spec.get("podInfoOnMount")), bool(spec.get("storageCapacity")), token_str,
            bool(spec.get("requiresRepublish")), modes, _age(obj, now)]


def _print_csi_capacity(obj: Obj, now: datetime) -> list[Any]:
    capacity = obj.get("capacity")
    return [_name(obj), obj.get("storageClassName", ""),
            "<unset>" if capacity is None else str(capacity)]


# ---------------------------------------------------------------- policy and scheduling


def _int_or_string(value: Any) -> str:
    return "N/A" if value is None else str(value)


def _print_pdb(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    return [_name(obj), _int_or_string(spec.get("minAvailable")),
            _int_or_string(spec.get("maxUnavailable")),
            int(_get(obj, "status", "disruptionsAllowed", default=0)), _age(obj, now)]


def _print_priority_class(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), int(obj.get("value") or 0), bool(obj.get("globalDefault")),
            _age(obj, now), obj.get("preemptionPolicy") or ""]


def _print_runtime_class(obj: Obj, now: datetime) -> list[Any]:
    return [_name(obj), obj.get("handler", ""), _age(obj, now)]


def _print_resource_quota(obj: Obj, now: datetime) -> list[Any]:
    hard = _get(obj, "status", "hard", default={})
    used = _get(obj, "status", "used", default={})
    requests, limits = [], []
    for resource in sorted(hard):
        text = f"{resource}: {_quantity(used.get(resource))}/{_quantity(hard[resource])}"
        pieces = resource.split(".")
        (limits if len(pieces) > 1 and pieces[0] == "limits" else requests).append(text)
    return [_name(obj), ", ".join(requests), ", ".join(limits), _age(obj, now)]


def _hpa_v2(obj: Obj) -> tuple[Obj, Obj]:
    """Spec and status of an HPA in autoscaling/v2 shape (v1 objects are converted)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if "metrics" in spec or "targetCPUUtilizationPercentage" not in spec:
        return spec, status
    metrics, current = [], []
    target = spec.get("targetCPUUtilizationPercentage")
    if target is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
        now_pct = status.get("currentCPUUtilizationPercentage")
        if now_pct is not None:
            current.append({"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": now_pct}}})
    return {**spec, "metrics": metrics}, {**status, "currentMetrics": current}


def _metric_text(spec: Obj, statuses: list[Obj], i: int) -> str:
    cur = statuses[i] if len(statuses) > i else {}
    type_ = spec.get("type")
    if type_ in ("External", "Object"):
        key = type_[0].lower() + type_[1:]
        target = _get(spec, key, "target", default={})
        current = _get(cur, key, "current")
        if target.get("averageValue") is not None:
            value = _get(current, "averageValue", default=None)
            return f"{value if value is not None else '<unknown>'}/{target['averageValue']} (avg)"
        value = _quantity(_get(current, "value")) if current is not None else "<unknown>"
        return f"{value}/{_quantity(target.get('value'))}"
    if type_ == "Pods":
        current = _get(cur, "pods", "current")
        value = _quantity(_get(current, "averageValue")) if current is not None else "<unknown>"
        return f"{value}/{_quantity(_get(spec, 'pods', 'target', 'averageValue'))}"
    if type_ in ("Resource", "ContainerResource"):
        key = "resource" if type_ == "Resource" else "containerResource"
        src = spec.get(key) or {}
        target = src.get("target") or {}
        current = _get(cur, key, "current")
        if target.get("averageValue") is not None:
            value = _quantity(_get(current, "averageValue")) if current is not None \
                else "<unknown>"
            return f"{src.get('name', '')}: {value}/{target['averageValue']}"
        util = _get(current, "averageUtilization")
        value = f"{util}%" if util is not None else "<unknown>"
        goal = target.get("averageUtilization")
        return f"{src.get('name', '')}: {value}/{f'{goal}%' if goal is not None else '<auto>'}"
    return "<unknown type>"


def _print_hpa(obj: Obj, now: datetime) -> list[Any]:
    spec, status = _hpa_v2(obj)
    metrics = spec.get("metrics") or []
    statuses = status.get("currentMetrics") or []
    texts = [_metric_text(m, statuses, i) for i, m in enumerate(metrics)]
    targets = "<none>"
    if texts:
        targets = ", ".join(texts[:2])
        if len(texts) > 2:
            targets += f" + {len(texts) - 2} more..."
    ref = spec.get("scaleTargetRef") or {}
    min_pods = spec.get("minReplicas")
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", targets,
            "<unset>" if min_pods is None else str(min_pods), int(spec.get("maxReplicas") or 0),
            int(status.get("currentReplicas") or 0), _age(obj, now)]


# ---------------------------------------------------------------- the table


_PRINTERS: dict[str, Printer] = {
    "Pod": _print_pod, "PodTemplate": _print_pod_template,
    "PodDisruptionBudget": _print_pdb, "ReplicationController": _print_rc,
    "ReplicaSet": _print_rs, "DaemonSet": _print_daemonset, "Job": _print_job,
    "CronJob": _print_cronjob, "Service": _print_service, "Ingress": _print_ingress,
    "IngressClass": _print_ingress_class, "StatefulSet": _print_statefulset,
    "Endpoints": _print_endpoints, "Node": _print_node, "Event": _print_event,
    "Namespace": _print_namespace, "Secret": _print_secret,
    "ServiceAccount": _print_service_account, "PersistentVolume": _print_pv,
    "PersistentVolumeClaim": _print_pvc, "ComponentStatus": _print_component_status,
    "Deployment": _print_deployment, "HorizontalPodAutoscaler": _print_hpa,
    "ConfigMap": _print_configmap, "NetworkPolicy": _print_network_policy,
    "RoleBinding": _print_binding, "ClusterRoleBinding": _print_binding,
    "CertificateSigningRequest": _print_csr, "Lease": _print_lease,
    "StorageClass": _print_storage_class, "ControllerRevision": _print_controller_revision,
    "ResourceQuota": _print_resource_quota, "PriorityClass": _print_priority_class,
    "RuntimeClass": _print_runtime_class, "VolumeAttachment": _print_volume_attachment,
    "EndpointSlice": _print_endpoint_slice, "CSINode": _print_csi_node,
    "CSIDriver": _print_csi_driver, "CSIStorageCapacity": _print_csi_capacity,
    "MutatingWebhookConfiguration": _print_webhooks,
    "ValidatingWebhookConfiguration": _print_webhooks,
    "ValidatingAdmissionPolicy": _print_admission_policy,
    "ValidatingAdmissionPolicyBinding": _print_admission_policy_binding,
}

# Upstream printers are registered for built-in types only; a CRD that happens
# to reuse a kind name (say "Pod" in example.com) gets the default table.
_BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "storage.k8s.io",
    "rbac.authorization.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
    "scheduling.k8s.io", "node.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io",
})


def _printer(info: ResourceInfo) -> Printer | None:
    if info.group not in _BUILTIN_GROUPS:
        return None
    return _PRINTERS.get(info.kind)


def _print_default(obj: Obj, now: datetime) -> list[Any]:
    created = parse_time(_get(obj, "metadata", "creationTimestamp"))
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else \
        "0001-01-01T00:00:00Z"
    return [_name(obj), stamp]


def _row_object(info: ResourceInfo, obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        if "kind" in obj and "apiVersion" in obj:
            return obj
        return {"kind": info.kind, "apiVersion": info.api_version, **obj}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def row(info: ResourceInfo, obj: Obj, *, now: datetime, include_object: str = "Metadata") -> Obj:
    """One TableRow: `{"cells": [...], "object"?: ..., "conditions"?: [...]}`."""
    printer = info.custom.cells if info.custom is not None else (
        _printer(info) or _print_default)
    out: Obj = {"cells": printer(obj, now)}
    if printer is _print_pod:
        conditions = _pod_conditions(obj)
        if conditions:
            out["conditions"] = conditions
    embedded = _row_object(info, obj, include_object)
    if embedded is not None:
        out["object"] = embedded
    return out


def table(info: ResourceInfo, objects: list[Obj], *, now: datetime,
          include_object: str = "Metadata", resource_version: str = "",
          continue_token: str = "", remaining: int | None = None,
          with_headers: bool = True) -> Obj:
    """A `meta.k8s.io/v1` Table of `objects` (a list's items, or one object).

    `include_object` is the request's `includeObject` ("None", "Metadata",
    "Object"); `with_headers=False` leaves `columnDefinitions` empty, as the
    apiserver does for watch events after the first.
    """
    metadata: Obj = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions(info) if with_headers else [],
        "rows": [row(info, o, now=now, include_object=include_object) for o in objects],
    }
