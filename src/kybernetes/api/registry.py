"""The resource registry: every API resource the server knows, and how it is addressed.

One `ResourceInfo` per group/version/resource, giving what discovery, routing,
storage keys and validation need: kind, plural and singular names, scope,
verbs, short names, categories and subresources. Built-in kinds are declared
in the table below; CustomResourceDefinitions add entries at run time through
`Registry.add` (same code path, as DESIGN.md asks).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)


@dataclass(frozen=True, slots=True)
class Subresource:
    name: str  # "status", "scale", "binding", ...
    kind: str  # response kind, e.g. "Scale"
    verbs: tuple[str, ...]
    group: str = ""  # response kind's group/version when it differs (Scale is autoscaling/v1)
    version: str = ""


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = STANDARD_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    # Not stored: create answers a computed object (reviews, token requests).
    virtual: bool = False
    # Storage key segment; defaults to "<group>/<plural>" ("<plural>" for core).
    storage_resource: str = ""
    # A custom resource's `api.crd.CustomResource` (schema, columns, scale); None for
    # built-ins. Hashable, so infos stay usable as cache keys.
    custom: Any = None

    @property
    def singular(self) -> str:
        return self.custom.singular if self.custom is not None else self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.custom.list_kind if self.custom is not None else self.kind + "List"

    @property
    def qualified(self) -> str:
        """`plural.group` as in messages and RBAC (`deployments.apps`)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def key_prefix(self, namespace: str = "") -> str:
        """Storage key prefix for a namespace ("" = all); always ends with "/"."""
        base = self.storage_resource or (
            f"{self.group}/{self.plural}" if self.group else self.plural
        )
        if self.namespaced and namespace:
            return f"/registry/{base}/{namespace}/"
        return f"/registry/{base}/"

    def key(self, namespace: str, name: str) -> str:
        return self.key_prefix(namespace if self.namespaced else "") + name


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, ("get", "patch", "update"))


_SCALE = Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")


def _r(
    group: str, version: str, kind: str, plural: str, namespaced: bool = True, **kw
) -> ResourceInfo:
    return ResourceInfo(group, version, kind, plural, namespaced, **kw)


ALL = ("all",)

BUILTIN: tuple[ResourceInfo, ...] = (
    # core/v1
    _r("", "v1", "Binding", "bindings", verbs=CREATE_ONLY, virtual=True),
    _r("", "v1", "ComponentStatus", "componentstatuses", False, verbs=("get", "list"),
       short_names=("cs",), virtual=True),
    _r("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _r("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    _r("", "v1", "Event", "events", short_names=("ev",)),
    _r("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
    _r("", "v1", "Namespace", "namespaces", False, short_names=("ns",),
       verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
       subresources=(_status("Namespace"),
                     Subresource("finalize", "Namespace", ("update",)))),
    _r("", "v1", "Node", "nodes", False, short_names=("no",),
       subresources=(_status("Node"), Subresource("proxy", "NodeProxyOptions",
                     ("create", "delete", "get", "patch", "update")))),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
       subresources=(_status("PersistentVolumeClaim"),)),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, short_names=("pv",),
       subresources=(_status("PersistentVolume"),)),
    _r("", "v1", "Pod", "pods", short_names=("po",), categories=ALL,
       subresources=(
           _status("Pod"),
           Subresource("attach", "PodAttachOptions", ("create", "get")),
           Subresource("binding", "Binding", ("create",)),
           Subresource("ephemeralcontainers", "Pod", ("get", "patch", "update")),
           Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
           Subresource("exec", "PodExecOptions", ("create", "get")),
           Subresource("log", "Pod", ("get",)),
           Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
           Subresource("proxy", "PodProxyOptions",
                       ("create", "delete", "get", "patch", "update")),
           Subresource("resize", "Pod", ("get", "patch", "update")),
       )),
    _r("", "v1", "PodTemplate", "podtemplates"),
    _r("", "v1", "ReplicationController", "replicationcontrollers", short_names=("rc",),
       categories=ALL, subresources=(_status("ReplicationController"), _SCALE)),
    _r("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",),
       subresources=(_status("ResourceQuota"),)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",),
       subresources=(Subresource("token", "TokenRequest", ("create",),
                                 "authentication.k8s.io", "v1"),)),
    _r("", "v1", "Service", "services", short_names=("svc",), categories=ALL,
       subresources=(_status("Service"), Subresource("proxy", "ServiceProxyOptions",
                     ("create", "delete", "get", "patch", "update")))),
    # apps/v1
    _r("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _r("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=ALL,
       subresources=(_status("DaemonSet"),)),
    _r("apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=ALL,
       subresources=(_status("Deployment"), _SCALE)),
    _r("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=ALL,
       subresources=(_status("ReplicaSet"), _SCALE)),
    _r("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), categories=ALL,
       subresources=(_status("StatefulSet"), _SCALE)),
    # batch/v1
    _r("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=ALL,
       subresources=(_status("CronJob"),)),
    _r("batch", "v1", "Job", "jobs", categories=ALL, subresources=(_status("Job"),)),
    # autoscaling
    _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
       short_names=("hpa",), categories=ALL,
       subresources=(_status("HorizontalPodAutoscaler"),)),
    _r("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
       short_names=("hpa",), categories=ALL,
       subresources=(_status("HorizontalPodAutoscaler"),),
       storage_resource="autoscaling/horizontalpodautoscalers"),
    # coordination, discovery, events
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    # Served over core Events' storage (api.conversion).
    _r("events.k8s.io", "v1", "Event", "events", short_names=("ev",), storage_resource="events"),
    # authentication / authorization (virtual)
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False,
       verbs=CREATE_ONLY, virtual=True),
    _r("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False,
       verbs=CREATE_ONLY, virtual=True),
    _r("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
       verbs=CREATE_ONLY, virtual=True),
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
       False, verbs=CREATE_ONLY, virtual=True),
    _r("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
       False, verbs=CREATE_ONLY, virtual=True),
    _r("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False,
       verbs=CREATE_ONLY, virtual=True),
    # rbac
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    # networking
    _r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",),
       subresources=(_status("Ingress"),)),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies",
       short_names=("netpol",)),
    # storage
    _r("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False),
    _r("storage.k8s.io", "v1", "CSINode", "csinodes", False),
    _r("storage.k8s.io", "v1", "CSIStorageCapacity", "csistoragecapacities"),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short_names=("sc",)),
    _r("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", False,
       subresources=(_status("VolumeAttachment"),)),
    # scheduling, policy, node
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False,
       short_names=("pc",)),
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
       subresources=(_status("PodDisruptionBudget"),)),
    _r("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", False),
    # admissionregistration
    _r("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
       "mutatingwebhookconfigurations", False, categories=("api-extensions",)),
    _r("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
       "validatingwebhookconfigurations", False, categories=("api-extensions",)),
    _r("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy",
       "validatingadmissionpolicies", False, categories=("api-extensions",),
       subresources=(_status("ValidatingAdmissionPolicy"),)),
    _r("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
       "validatingadmissionpolicybindings", False, categories=("api-extensions",)),
    # apiextensions
    _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
       False, short_names=("crd", "crds"), categories=("api-extensions",),
       subresources=(_status("CustomResourceDefinition"),)),
)

# Group order in discovery, as upstream lists them (preferred versions first).
GROUP_ORDER = (
    "", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
    "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
    "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io",
)
# Preferred version per group where a group serves several.
PREFERRED = {"autoscaling": "v2"}


@dataclass
class Registry:
    """Lookup of resources by group/version/plural and by kind; mutable for CRDs."""

    _by_gvr: dict[tuple[str, str, str], ResourceInfo] = field(default_factory=dict)
    _by_gvk: dict[tuple[str, str, str], ResourceInfo] = field(default_factory=dict)
    generation: int = 0  # bumped on every change, so discovery caches can tell

    @classmethod
    def builtin(cls) -> Registry:
        reg = cls()
        reg.add_all(BUILTIN)
        return reg

    def add_all(self, infos: Iterable[ResourceInfo]) -> None:
        for info in infos:
            self.add(info)

    def add(self, info: ResourceInfo) -> None:
        self._by_gvr[(info.group, info.version, info.plural)] = info
        self._by_gvk[(info.group, info.version, info.kind)] = info
        self.generation += 1

    def remove(self, group: str, version: str, plural: str) -> None:
        info = self._by_gvr.pop((group, version, plural), None)
        if info is not None:
            self._by_gvk.pop((info.group, info.version, info.kind), None)
            self.generation += 1

    def get(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        return self._by_gvk.get((group, version, kind))

    def __iter__(self) -> Iterator[ResourceInfo]:
        return iter(self._by_gvr.values())

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, [versions, preferred first]) in discovery order."""
        versions: dict[str, list[str]] = {}
        for info in self._by_gvr.values():
            vs = versions.setdefault(info.group, [])
            if info.version not in vs:
                vs.append(info.version)
        out = []
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        for group in sorted(versions, key=lambda g: (order.get(g, len(order)), g)):
            vs = sorted(versions[group], key=_version_priority)
            preferred = PREFERRED.get(group)
            if preferred in vs:
                vs.remove(preferred)
                vs.insert(0, preferred)
            out.append((group, vs))
        return out

    def resources(self, group: str, version: str) -> list[ResourceInfo]:
        return sorted(
            (i for i in self._by_gvr.values() if i.group == group and i.version == version),
            key=lambda i: i.plural,
        )


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor)
