"""Conversion between protobuf messages of the Kubernetes schema and JSON-form dicts.

The JSON form is what the real API would carry for the same object:

* field names are the proto field names (they already are upstream's JSON names),
  except for a few that go-to-protobuf named after the Go field (:data:`JSON_NAMES`);
* Go-embedded structs (``localObjectReference``, ``volumeSource``, ...) are inlined;
* well-known wrapper messages (Time, MicroTime, Duration, Quantity, IntOrString,
  RawExtension, FieldsV1, Verbs, ExtraValue) become their JSON scalar/array form, and
  so do apiextensions' JSON-schema unions (JSON, JSONSchemaPropsOrBool/OrArray/
  OrStringArray), whose Go types marshal as "bool or schema", "schema or list", ...;
* a scalar that is zero ("", 0, false) is dropped, as Go's ``omitempty`` does for the
  non-pointer fields that the Go encoder always writes, unless the field is a Go
  pointer or a field without ``omitempty`` (:data:`KEEP_ZERO`);
* empty repeated fields and maps are omitted.
"""

from __future__ import annotations

import base64
import datetime as _dt
import re
from typing import Any

import orjson
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
CORE = "k8s.io.api.core.v1"
TIME = f"{META}.Time"
TIMESTAMP = f"{META}.Timestamp"
MICROTIME = f"{META}.MicroTime"
DURATION = f"{META}.Duration"
FIELDSV1 = f"{META}.FieldsV1"
VERBS = f"{META}.Verbs"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
QUANTITY_VALUE = "k8s.io.apimachinery.pkg.api.resource.QuantityValue"
INTORSTRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAWEXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"
APIEXT = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1"
JSON_VALUE = f"{APIEXT}.JSON"
SCHEMA_OR_BOOL = f"{APIEXT}.JSONSchemaPropsOrBool"
SCHEMA_OR_ARRAY = f"{APIEXT}.JSONSchemaPropsOrArray"
SCHEMA_OR_STRINGS = f"{APIEXT}.JSONSchemaPropsOrStringArray"
SCHEMA_UNIONS = {SCHEMA_OR_BOOL, SCHEMA_OR_ARRAY, SCHEMA_OR_STRINGS}
LIST_LIKE = {
    VERBS,
    "k8s.io.api.authentication.v1.ExtraValue",
    "k8s.io.api.authorization.v1.ExtraValue",
    "k8s.io.api.certificates.v1.ExtraValue",
}
SPECIAL = (
    {
        TIME,
        TIMESTAMP,
        MICROTIME,
        DURATION,
        FIELDSV1,
        QUANTITY,
        QUANTITY_VALUE,
        INTORSTRING,
        RAWEXTENSION,
        JSON_VALUE,
    }
    | LIST_LIKE
    | SCHEMA_UNIONS
)

# Proto field names that differ from the JSON name: (message full name, proto name) -> json.
_ADM = "k8s.io.api.admissionregistration.v1"
JSON_NAMES: dict[tuple[str, str], str] = {
    ("k8s.io.api.authentication.v1.BoundObjectReference", "uID"): "uid",
    ("k8s.io.api.networking.v1.IngressClassParametersReference", "aPIGroup"): "apiGroup",
    (f"{_ADM}.MutatingWebhookConfiguration", "Webhooks"): "webhooks",
    (f"{_ADM}.ValidatingWebhookConfiguration", "Webhooks"): "webhooks",
    (f"{_ADM}.Validation", "Expression"): "expression",
    (f"{_ADM}.Variable", "Name"): "name",
    (f"{_ADM}.Variable", "Expression"): "expression",
    (f"{APIEXT}.JSONSchemaProps", "ref"): "$ref",
    (f"{APIEXT}.JSONSchemaProps", "schema"): "$schema",
    (f"{APIEXT}.JSONSchemaProps", "xKubernetesPreserveUnknownFields"): (
        "x-kubernetes-preserve-unknown-fields"
    ),
    (f"{APIEXT}.JSONSchemaProps", "xKubernetesEmbeddedResource"): (
        "x-kubernetes-embedded-resource"
    ),
    (f"{APIEXT}.JSONSchemaProps", "xKubernetesIntOrString"): "x-kubernetes-int-or-string",
    (f"{APIEXT}.JSONSchemaProps", "xKubernetesListMapKeys"): "x-kubernetes-list-map-keys",
    (f"{APIEXT}.JSONSchemaProps", "xKubernetesListType"): "x-kubernetes-list-type",
    (f"{APIEXT}.JSONSchemaProps", "xKubernetesMapType"): "x-kubernetes-map-type",
    (f"{APIEXT}.JSONSchemaProps", "xKubernetesValidations"): "x-kubernetes-validations",
}

# Go-embedded (``json:",inline"``) struct fields: (message full name, proto field name).
INLINE: set[tuple[str, str]] = {
    (f"{CORE}.ConfigMapEnvSource", "localObjectReference"),
    (f"{CORE}.ConfigMapKeySelector", "localObjectReference"),
    (f"{CORE}.ConfigMapProjection", "localObjectReference"),
    (f"{CORE}.ConfigMapVolumeSource", "localObjectReference"),
    (f"{CORE}.SecretEnvSource", "localObjectReference"),
    (f"{CORE}.SecretKeySelector", "localObjectReference"),
    (f"{CORE}.SecretProjection", "localObjectReference"),
    (f"{CORE}.EphemeralContainer", "ephemeralContainerCommon"),
    (f"{CORE}.Probe", "handler"),
    (f"{CORE}.Volume", "volumeSource"),
    (f"{CORE}.PersistentVolumeSpec", "persistentVolumeSource"),
    ("k8s.io.api.networking.v1.IngressRule", "ingressRuleValue"),
    (f"{_ADM}.RuleWithOperations", "rule"),
    (f"{_ADM}.NamedRuleWithOperations", "ruleWithOperations"),
}

_A = "k8s.io.api."
# Scalar fields whose zero value is meaningful in JSON: Go pointers (``*int32`` ...) and
# fields without ``omitempty``. Keyed by message full name (without the k8s.io.api. prefix
# for API groups) -> field names.
_KEEP_ZERO_SHORT: dict[str, set[str]] = {
    f"{META}.DeleteOptions": {
        "gracePeriodSeconds",
        "orphanDependents",
        "propagationPolicy",
        "ignoreStoreReadErrorWithClusterBreakingPotential",
    },
    f"{META}.ObjectMeta": {"deletionGracePeriodSeconds"},
    f"{META}.ListMeta": {"remainingItemCount"},
    f"{META}.OwnerReference": {
        "apiVersion",
        "kind",
        "name",
        "uid",
        "controller",
        "blockOwnerDeletion",
    },
    f"{META}.Preconditions": {"uid", "resourceVersion"},
    f"{META}.Condition": {"type", "status", "reason", "message"},
    f"{META}.APIResource": {"name", "singularName", "namespaced", "kind"},
    f"{META}.LabelSelectorRequirement": {"key", "operator"},
    f"{META}.ManagedFieldsEntry": set(),
    "core.v1.PodSpec": {
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "automountServiceAccountToken",
        "shareProcessNamespace",
        "priority",
        "enableServiceLinks",
        "preemptionPolicy",
        "runtimeClassName",
        "setHostnameAsFQDN",
        "hostUsers",
    },
    "core.v1.PodSecurityContext": {
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "fsGroup",
        "fsGroupChangePolicy",
        "supplementalGroupsPolicy",
        "seLinuxChangePolicy",
    },
    "core.v1.SecurityContext": {
        "privileged",
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        "procMount",
    },
    "core.v1.Container": {"name", "restartPolicy"},
    "core.v1.EphemeralContainerCommon": {"name", "restartPolicy"},
    "core.v1.ContainerPort": {"containerPort"},
    "core.v1.EnvVar": {"name"},
    "core.v1.Volume": {"name"},
    "core.v1.VolumeMount": {"name", "mountPath", "mountPropagation", "recursiveReadOnly"},
    "core.v1.VolumeDevice": {"name", "devicePath"},
    "core.v1.Probe": {"terminationGracePeriodSeconds"},
    "core.v1.GRPCAction": {"port", "service"},
    "core.v1.SecretVolumeSource": {"defaultMode", "optional"},
    "core.v1.ConfigMapVolumeSource": {"defaultMode", "optional"},
    "core.v1.ProjectedVolumeSource": {"defaultMode"},
    "core.v1.DownwardAPIVolumeSource": {"defaultMode"},
    "core.v1.DownwardAPIVolumeFile": {"path", "mode"},
    "core.v1.KeyToPath": {"key", "path", "mode"},
    "core.v1.ConfigMapKeySelector": {"key", "optional"},
    "core.v1.SecretKeySelector": {"key", "optional"},
    "core.v1.ConfigMapEnvSource": {"optional"},
    "core.v1.SecretEnvSource": {"optional"},
    "core.v1.ConfigMapProjection": {"optional"},
    "core.v1.SecretProjection": {"optional"},
    "core.v1.ClusterTrustBundleProjection": {"name", "signerName", "optional", "path"},
    "core.v1.ServiceAccountTokenProjection": {"expirationSeconds", "path"},
    "core.v1.HostPathVolumeSource": {"path", "type"},
    "core.v1.CSIVolumeSource": {"driver", "readOnly", "fsType"},
    "core.v1.PersistentVolumeClaimVolumeSource": {"claimName"},
    "core.v1.PersistentVolumeClaimSpec": {
        "storageClassName",
        "volumeMode",
        "volumeAttributesClassName",
    },
    "core.v1.ServiceSpec": {
        "ipFamilyPolicy",
        "allocateLoadBalancerNodePorts",
        "loadBalancerClass",
        "internalTrafficPolicy",
        "trafficDistribution",
    },
    "core.v1.ServicePort": {"port", "appProtocol"},
    "core.v1.ClientIPConfig": {"timeoutSeconds"},
    "core.v1.ServiceAccount": {"automountServiceAccountToken"},
    "core.v1.Secret": {"immutable"},
    "core.v1.ConfigMap": {"immutable"},
    "core.v1.TopologySpreadConstraint": {
        "maxSkew",
        "topologyKey",
        "whenUnsatisfiable",
        "minDomains",
        "nodeAffinityPolicy",
        "nodeTaintsPolicy",
    },
    "core.v1.Toleration": {"tolerationSeconds"},
    "core.v1.PodDNSConfigOption": {"value"},
    "core.v1.PodResourceClaim": {"name", "resourceClaimName", "resourceClaimTemplateName"},
    "core.v1.TypedLocalObjectReference": {"apiGroup", "kind", "name"},
    "core.v1.TypedObjectReference": {"apiGroup", "kind", "name", "namespace"},
    "core.v1.SeccompProfile": {"type", "localhostProfile"},
    "core.v1.AppArmorProfile": {"type", "localhostProfile"},
    "core.v1.WindowsSecurityContextOptions": {
        "gmsaCredentialSpecName",
        "gmsaCredentialSpec",
        "runAsUserName",
        "hostProcess",
    },
    "core.v1.ReplicationControllerSpec": {"replicas"},
    "core.v1.ReplicationControllerStatus": {"replicas"},
    "core.v1.EndpointPort": {"port", "appProtocol"},
    "core.v1.EndpointAddress": {"ip", "nodeName"},
    "core.v1.ContainerStatus": {"name", "ready", "restartCount", "image", "imageID", "started"},
    "core.v1.ContainerStateTerminated": {"exitCode"},
    "core.v1.PodCondition": {"type", "status"},
    "core.v1.NodeCondition": {"type", "status"},
    "core.v1.NamespaceCondition": {"type", "status"},
    "core.v1.ResourceFieldSelector": {"resource"},
    "core.v1.ObjectFieldSelector": {"fieldPath"},
    "core.v1.NodeSelectorRequirement": {"key", "operator"},
    "core.v1.PreferredSchedulingTerm": {"weight"},
    "core.v1.WeightedPodAffinityTerm": {"weight"},
    "core.v1.PodAffinityTerm": {"topologyKey"},
    "core.v1.HTTPHeader": {"name", "value"},
    "core.v1.Taint": {"key", "effect"},
    "core.v1.SleepAction": {"seconds"},
    "core.v1.PortStatus": {"port", "protocol", "error"},
    "core.v1.LoadBalancerIngress": {"ipMode"},
    "core.v1.EventSeries": set(),
    "apps.v1.DeploymentSpec": {
        "replicas",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
        "podReplacementPolicy",
    },
    "apps.v1.DeploymentStatus": {"collisionCount", "terminatingReplicas"},
    "apps.v1.ReplicaSetSpec": {"replicas"},
    "apps.v1.ReplicaSetStatus": {"replicas", "terminatingReplicas"},
    "apps.v1.StatefulSetSpec": {"replicas", "revisionHistoryLimit"},
    "apps.v1.StatefulSetStatus": {"replicas", "collisionCount", "availableReplicas"},
    "apps.v1.RollingUpdateStatefulSetStrategy": {"partition"},
    "apps.v1.DaemonSetSpec": {"revisionHistoryLimit"},
    "apps.v1.DaemonSetStatus": {
        "currentNumberScheduled",
        "numberMisscheduled",
        "desiredNumberScheduled",
        "numberReady",
        "collisionCount",
    },
    "apps.v1.ControllerRevision": {"revision"},
    "apps.v1.StatefulSetOrdinals": {"start"},
    "batch.v1.JobSpec": {
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "manualSelector",
        "ttlSecondsAfterFinished",
        "completionMode",
        "suspend",
        "podReplacementPolicy",
        "managedBy",
    },
    "batch.v1.JobStatus": {"ready", "terminating", "failedIndexes"},
    "batch.v1.CronJobSpec": {
        "schedule",
        "timeZone",
        "startingDeadlineSeconds",
        "suspend",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    },
    "batch.v1.PodFailurePolicyOnExitCodesRequirement": {"containerName", "operator"},
    "batch.v1.SuccessPolicyRule": {"succeededIndexes", "succeededCount"},
    "rbac.v1.RoleRef": {"apiGroup", "kind", "name"},
    "rbac.v1.Subject": {"kind", "name"},
    "authorization.v1.SubjectAccessReviewStatus": {"allowed"},
    "authorization.v1.SubjectRulesReviewStatus": {"incomplete"},
    "authorization.v1.SelfSubjectRulesReviewSpec": set(),
    "authentication.v1.TokenRequestSpec": {"expirationSeconds"},
    "authentication.v1.TokenRequestStatus": {"token"},
    "policy.v1.PodDisruptionBudgetSpec": {"unhealthyPodEvictionPolicy"},
    "policy.v1.PodDisruptionBudgetStatus": {
        "disruptionsAllowed",
        "currentHealthy",
        "desiredHealthy",
        "expectedPods",
    },
    "networking.v1.IngressSpec": {"ingressClassName"},
    "networking.v1.HTTPIngressPath": {"pathType"},
    "networking.v1.IngressServiceBackend": {"name"},
    "networking.v1.IngressClassParametersReference": {
        "apiGroup",
        "kind",
        "name",
        "scope",
        "namespace",
    },
    "networking.v1.NetworkPolicyPort": {"protocol", "endPort"},
    "networking.v1.IPBlock": {"cidr"},
    "networking.v1.IngressPortStatus": {"port", "protocol", "error"},
    "scheduling.v1.PriorityClass": {"value", "preemptionPolicy"},
    "coordination.v1.LeaseSpec": {
        "holderIdentity",
        "leaseDurationSeconds",
        "leaseTransitions",
        "strategy",
        "preferredHolder",
    },
    "autoscaling.v1.HorizontalPodAutoscalerSpec": {
        "minReplicas",
        "maxReplicas",
        "targetCPUUtilizationPercentage",
    },
    "autoscaling.v1.HorizontalPodAutoscalerStatus": {
        "observedGeneration",
        "currentReplicas",
        "desiredReplicas",
        "currentCPUUtilizationPercentage",
    },
    "autoscaling.v1.ScaleStatus": {"replicas"},
    "autoscaling.v1.CrossVersionObjectReference": {"kind", "name"},
    "node.v1.RuntimeClass": {"handler"},
    "discovery.v1.EndpointSlice": {"addressType"},
    "discovery.v1.EndpointConditions": {"ready", "serving", "terminating"},
    "discovery.v1.Endpoint": {"hostname", "nodeName", "zone"},
    "discovery.v1.EndpointPort": {"name", "protocol", "port", "appProtocol"},
    "discovery.v1.ForZone": {"name"},
    "discovery.v1.ForNode": {"name"},
    "events.v1.EventSeries": {"count"},
    "storage.v1.StorageClass": {
        "provisioner",
        "reclaimPolicy",
        "allowVolumeExpansion",
        "volumeBindingMode",
    },
    "storage.v1.CSIDriverSpec": {
        "attachRequired",
        "podInfoOnMount",
        "storageCapacity",
        "fsGroupPolicy",
        "requiresRepublish",
        "seLinuxMount",
        "nodeAllocatableUpdatePeriodSeconds",
        "serviceAccountTokenInSecrets",
        "preventPodSchedulingIfMissing",
    },
    "storage.v1.CSINodeDriver": {"name", "nodeID"},
    "storage.v1.VolumeNodeResources": {"count"},
    "storage.v1.CSIStorageCapacity": {"storageClassName"},
    "storage.v1.TokenRequest": {"audience", "expirationSeconds"},
    "storage.v1.VolumeAttachmentSpec": {"attacher", "nodeName"},
    "storage.v1.VolumeAttachmentSource": {"persistentVolumeName"},
    "storage.v1.VolumeAttachmentStatus": {"attached"},
    "storage.v1.VolumeError": {"errorCode"},
    "storage.v1.VolumeAttributesClass": {"driverName"},
    "autoscaling.v2.CrossVersionObjectReference": {"kind", "name"},
    "autoscaling.v2.HorizontalPodAutoscalerSpec": {"minReplicas", "maxReplicas"},
    "autoscaling.v2.HorizontalPodAutoscalerStatus": {"observedGeneration", "desiredReplicas"},
    "autoscaling.v2.HorizontalPodAutoscalerCondition": {"type", "status"},
    "autoscaling.v2.HPAScalingRules": {"stabilizationWindowSeconds", "selectPolicy"},
    "autoscaling.v2.HPAScalingPolicy": {"type", "value", "periodSeconds"},
    "autoscaling.v2.MetricSpec": {"type"},
    "autoscaling.v2.MetricStatus": {"type"},
    "autoscaling.v2.MetricTarget": {"type", "averageUtilization"},
    "autoscaling.v2.MetricValueStatus": {"averageUtilization"},
    "autoscaling.v2.MetricIdentifier": {"name"},
    "autoscaling.v2.ResourceMetricSource": {"name"},
    "autoscaling.v2.ResourceMetricStatus": {"name"},
    "autoscaling.v2.ContainerResourceMetricSource": {"name", "container"},
    "autoscaling.v2.ContainerResourceMetricStatus": {"name", "container"},
    "certificates.v1.CertificateSigningRequestSpec": {
        "request",
        "signerName",
        "expirationSeconds",
    },
    "certificates.v1.CertificateSigningRequestCondition": {"type", "status"},
    "admissionregistration.v1.MutatingWebhook": {
        "name",
        "failurePolicy",
        "matchPolicy",
        "sideEffects",
        "timeoutSeconds",
        "reinvocationPolicy",
    },
    "admissionregistration.v1.ValidatingWebhook": {
        "name",
        "failurePolicy",
        "matchPolicy",
        "sideEffects",
        "timeoutSeconds",
    },
    "admissionregistration.v1.WebhookClientConfig": {"url"},
    "admissionregistration.v1.ServiceReference": {"namespace", "name", "path", "port"},
    "admissionregistration.v1.Rule": {"scope"},
    "admissionregistration.v1.MatchCondition": {"name", "expression"},
    "admissionregistration.v1.MatchResources": {"matchPolicy"},
    "admissionregistration.v1.ParamRef": {"parameterNotFoundAction"},
    "admissionregistration.v1.ValidatingAdmissionPolicySpec": {"failurePolicy"},
    "admissionregistration.v1.Validation": {"expression", "reason"},
    "admissionregistration.v1.Variable": {"name", "expression"},
    "admissionregistration.v1.AuditAnnotation": {"key", "valueExpression"},
    "admissionregistration.v1.ExpressionWarning": {"fieldRef", "warning"},
    "flowcontrol.v1.PriorityLevelConfigurationReference": {"name"},
    "flowcontrol.v1.FlowDistinguisherMethod": {"type"},
    "flowcontrol.v1.Subject": {"kind"},
    "flowcontrol.v1.UserSubject": {"name"},
    "flowcontrol.v1.GroupSubject": {"name"},
    "flowcontrol.v1.ServiceAccountSubject": {"namespace", "name"},
    "flowcontrol.v1.PriorityLevelConfigurationSpec": {"type"},
    "flowcontrol.v1.LimitResponse": {"type"},
    "flowcontrol.v1.LimitedPriorityLevelConfiguration": {
        "nominalConcurrencyShares",
        "lendablePercent",
        "borrowingLimitPercent",
    },
    "flowcontrol.v1.ExemptPriorityLevelConfiguration": {
        "nominalConcurrencyShares",
        "lendablePercent",
    },
    "flowcontrol.v1.QueuingConfiguration": {"queues", "handSize", "queueLengthLimit"},
    f"{APIEXT}.CustomResourceDefinitionSpec": {"group", "scope"},
    f"{APIEXT}.CustomResourceDefinitionNames": {"plural", "kind"},
    f"{APIEXT}.CustomResourceDefinitionVersion": {
        "name",
        "served",
        "storage",
        "deprecationWarning",
    },
    f"{APIEXT}.CustomResourceDefinitionCondition": {"type", "status"},
    f"{APIEXT}.CustomResourceColumnDefinition": {"name", "type", "jsonPath"},
    f"{APIEXT}.CustomResourceConversion": {"strategy"},
    f"{APIEXT}.CustomResourceSubresourceScale": {
        "specReplicasPath",
        "statusReplicasPath",
        "labelSelectorPath",
    },
    f"{APIEXT}.WebhookClientConfig": {"url"},
    f"{APIEXT}.ServiceReference": {"namespace", "name", "path", "port"},
    f"{APIEXT}.SelectableField": {"jsonPath"},
    f"{APIEXT}.ValidationRule": {"rule", "reason", "optionalOldSelf"},
    f"{APIEXT}.JSONSchemaProps": {
        "$ref",
        "maximum",
        "minimum",
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "multipleOf",
        "maxProperties",
        "minProperties",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
        "x-kubernetes-map-type",
    },
}
KEEP_ZERO: dict[str, set[str]] = {
    (k if k.startswith("k8s.io.") else _A + k): v for k, v in _KEEP_ZERO_SHORT.items()
}

MAGIC = b"k8s\x00"


class ConversionError(ValueError):
    """Raised when a message or dict does not fit the schema."""


# --------------------------------------------------------------------------- time helpers
def _format_time(seconds: int, nanos: int, micro: bool) -> str:
    stamp = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=seconds)
    if micro:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:\d{2})$"
)


def _parse_time(text: str) -> tuple[int, int]:
    match = _TIME_RE.match(text)
    if not match:
        raise ConversionError(f"invalid RFC3339 time {text!r}")
    year, month, day, hour, minute, second, frac, zone = match.groups()
    stamp = _dt.datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=_dt.UTC
    )
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        stamp -= sign * _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    delta = stamp - epoch
    seconds = delta.days * 86400 + delta.seconds
    nanos = int((frac or "").ljust(9, "0")) if frac else 0
    return seconds, nanos


def _fmt_frac(value: int, precision: int) -> str:
    """Render ``value / 10**precision`` without trailing zeros (Go's fmtFrac/fmtInt)."""
    whole, frac = divmod(value, 10**precision)
    text = str(whole)
    if frac:
        digits = f"{frac:0{precision}d}".rstrip("0")
        text += "." + digits
    return text


def format_duration(nanos: int) -> str:
    """Format nanoseconds the way Go's ``time.Duration.String`` does."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 1_000_000_000:
        if n < 1_000:
            return f"{sign}{n}ns"
        if n < 1_000_000:
            return f"{sign}{_fmt_frac(n, 3)}µs"
        return f"{sign}{_fmt_frac(n, 6)}ms"
    hours, rest = divmod(n, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _fmt_frac(rest, 9)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DUR_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Parse a Go duration string (``1h2m3.5s``) into nanoseconds."""
    body = text.strip()
    sign = 1
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    pos, total = 0, 0
    while pos < len(body):
        match = _DUR_RE.match(body, pos)
        if not match:
            raise ConversionError(f"invalid duration {text!r}")
        number, unit = match.groups()
        whole, _, frac = number.partition(".")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        pos = match.end()
    if not body:
        raise ConversionError(f"invalid duration {text!r}")
    return sign * total


# --------------------------------------------------------------------------- decoding
def _is_zero(value: Any) -> bool:
    return (
        value == ""
        or value is False
        or (value == 0 and not isinstance(value, bool))
        or value == b""
    )


def _json_name(desc: Descriptor, field: FieldDescriptor) -> str:
    return JSON_NAMES.get((desc.full_name, field.name), field.name)


def _parse_raw_json(raw: bytes, decode_nested: Any) -> Any:
    if not raw:
        return None
    if raw.startswith(MAGIC):
        return decode_nested(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return base64.b64encode(raw).decode()


def special_to_json(msg: Message, decode_nested: Any) -> Any:
    name = msg.DESCRIPTOR.full_name
    if name in (TIME, TIMESTAMP, MICROTIME):
        if not msg.HasField("seconds") and not msg.HasField("nanos"):
            return None
        return _format_time(msg.seconds, msg.nanos, micro=name == MICROTIME)
    if name == DURATION:
        return format_duration(msg.duration)
    if name in (QUANTITY, QUANTITY_VALUE):
        return msg.string
    if name == INTORSTRING:
        return msg.strVal if msg.type == 1 else msg.intVal
    if name == RAWEXTENSION:
        return _parse_raw_json(msg.raw, decode_nested)
    if name == FIELDSV1:
        return _parse_raw_json(getattr(msg, "Raw"), decode_nested)  # noqa: B009
    if name in LIST_LIKE:
        return list(msg.items)
    if name == JSON_VALUE:
        return _parse_raw_json(msg.raw, decode_nested)
    if name == SCHEMA_OR_BOOL:
        if msg.HasField("schema"):
            return message_to_json(msg.schema, decode_nested)
        return msg.allows
    if name == SCHEMA_OR_ARRAY:
        if msg.jSONSchemas:
            return [message_to_json(item, decode_nested) for item in msg.jSONSchemas]
        return message_to_json(msg.schema, decode_nested) if msg.HasField("schema") else None
    if name == SCHEMA_OR_STRINGS:
        if msg.property:
            return list(msg.property)
        return message_to_json(msg.schema, decode_nested) if msg.HasField("schema") else None
    raise ConversionError(f"no special conversion for {name}")


def _value_to_json(field: FieldDescriptor, value: Any, decode_nested: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name in SPECIAL:
            return special_to_json(value, decode_nested)
        return message_to_json(value, decode_nested)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value


def message_to_json(msg: Message, decode_nested: Any) -> dict[str, Any]:
    """Convert a schema message to its JSON-form dict."""
    desc = msg.DESCRIPTOR
    out: dict[str, Any] = {}
    keep = KEEP_ZERO.get(desc.full_name, ())
    for field, value in msg.ListFields():
        key = _json_name(desc, field)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            converted = {k: _value_to_json(value_field, v, decode_nested) for k, v in value.items()}
            if converted:
                out[key] = converted
            continue
        if field.is_repeated:
            items = [_value_to_json(field, v, decode_nested) for v in value]
            if items:
                out[key] = items
            continue
        if (desc.full_name, field.name) in INLINE:
            out.update(message_to_json(value, decode_nested))
            continue
        if field.type != FieldDescriptor.TYPE_MESSAGE and _is_zero(value) and key not in keep:
            continue
        out[key] = _value_to_json(field, value, decode_nested)
    return out


# --------------------------------------------------------------------------- encoding
def _key_map(desc: Descriptor) -> dict[str, tuple[FieldDescriptor, ...]]:
    """JSON key -> path of fields (longer than one for inlined structs)."""
    cached = _KEY_CACHE.get(desc.full_name)
    if cached is not None:
        return cached
    result: dict[str, tuple[FieldDescriptor, ...]] = {}
    for field in desc.fields:
        if (desc.full_name, field.name) in INLINE:
            for key, path in _key_map(field.message_type).items():
                result.setdefault(key, (field, *path))
            continue
        result[_json_name(desc, field)] = (field,)
    _KEY_CACHE[desc.full_name] = result
    return result


_KEY_CACHE: dict[str, dict[str, tuple[FieldDescriptor, ...]]] = {}


def _schema_from_json(schema: Message, value: Any, encode_nested: Any, strict: bool) -> None:
    if not isinstance(value, dict):
        raise ConversionError(f"JSON schema must be an object, got {value!r}")
    schema.SetInParent()
    json_to_message(value, schema, encode_nested, strict)


def special_from_json(msg: Message, value: Any, encode_nested: Any, strict: bool = True) -> None:
    name = msg.DESCRIPTOR.full_name
    if name in (TIME, TIMESTAMP, MICROTIME):
        msg.SetInParent()
        if value is None:
            return
        seconds, nanos = _parse_time(str(value))
        msg.seconds = seconds
        if name == MICROTIME:
            msg.nanos = nanos - nanos % 1000
        return
    if name == DURATION:
        msg.duration = parse_duration(str(value))
    elif name in (QUANTITY, QUANTITY_VALUE):
        msg.string = str(value)
    elif name == INTORSTRING:
        if isinstance(value, str):
            msg.type = 1
            msg.strVal = value
        else:
            msg.type = 0
            msg.intVal = int(value)
    elif name == RAWEXTENSION:
        msg.SetInParent()
        if value is not None:
            msg.raw = orjson.dumps(value)
    elif name == FIELDSV1:
        msg.SetInParent()
        if value is not None:
            setattr(msg, "Raw", orjson.dumps(value))  # noqa: B010
    elif name in LIST_LIKE:
        msg.SetInParent()
        msg.items.extend(str(v) for v in value or ())
    elif name == JSON_VALUE:
        msg.SetInParent()
        if value is not None:
            msg.raw = orjson.dumps(value)
    elif name == SCHEMA_OR_BOOL:
        msg.SetInParent()
        if isinstance(value, bool):
            msg.allows = value
        else:
            msg.allows = True
            _schema_from_json(msg.schema, value, encode_nested, strict)
    elif name == SCHEMA_OR_ARRAY:
        msg.SetInParent()
        if isinstance(value, list):
            for item in value:
                _schema_from_json(msg.jSONSchemas.add(), item, encode_nested, strict)
        else:
            _schema_from_json(msg.schema, value, encode_nested, strict)
    elif name == SCHEMA_OR_STRINGS:
        msg.SetInParent()
        if isinstance(value, list):
            msg.property.extend(str(v) for v in value)
        else:
            _schema_from_json(msg.schema, value, encode_nested, strict)
    else:  # pragma: no cover - SPECIAL and this function are kept in sync
        raise ConversionError(f"no special conversion for {name}")


def _scalar_from_json(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_BYTES:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        return base64.b64decode(value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return bool(value)
    if field.type == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise ConversionError(f"field {field.full_name} wants a string, got {value!r}")
        return value
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConversionError(f"field {field.full_name} wants an integer, got {value!r}")
    return value


def _fill_message(msg: Message, value: Any, encode_nested: Any, strict: bool) -> None:
    if msg.DESCRIPTOR.full_name in SPECIAL:
        special_from_json(msg, value, encode_nested, strict)
        return
    if not isinstance(value, dict):
        raise ConversionError(f"{msg.DESCRIPTOR.full_name} wants an object, got {value!r}")
    msg.SetInParent()
    json_to_message(value, msg, encode_nested, strict)


def json_to_message(
    obj: dict[str, Any], msg: Message, encode_nested: Any, strict: bool = True
) -> Message:
    """Fill ``msg`` from a JSON-form dict."""
    keys = _key_map(msg.DESCRIPTOR)
    for key, value in obj.items():
        path = keys.get(key)
        if path is None:
            if strict:
                raise ConversionError(f"unknown field {key!r} in {msg.DESCRIPTOR.full_name}")
            continue
        target = msg
        for inline_field in path[:-1]:
            target = getattr(target, inline_field.name)
            target.SetInParent()
        field = path[-1]
        is_special_null = (
            field.type == FieldDescriptor.TYPE_MESSAGE
            and field.message_type.full_name in (TIME, MICROTIME, RAWEXTENSION)
            and not field.is_repeated
        )
        if value is None and not is_special_null:
            continue
        attr = (
            getattr(target, field.name)
            if field.type == FieldDescriptor.TYPE_MESSAGE or field.is_repeated
            else None
        )
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for map_key, map_value in value.items():
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    _fill_message(attr[map_key], map_value, encode_nested, strict)
                else:
                    attr[map_key] = _scalar_from_json(value_field, map_value)
        elif field.is_repeated:
            for item in value:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    _fill_message(attr.add(), item, encode_nested, strict)
                else:
                    attr.append(_scalar_from_json(field, item))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            _fill_message(attr, value, encode_nested, strict)
        else:
            setattr(target, field.name, _scalar_from_json(field, value))
    return msg
