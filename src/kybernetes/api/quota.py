"""Resource quota arithmetic: quantities that keep their format, usage per object, scopes.

Shared by the ResourceQuota admission plug-in (apiserver) and the resourcequota
controller, as upstream's `pkg/quota/v1` is. Pure: objects in, resource lists out.

Glossary
--------

ResourceList  `dict[str, Quantity]`: resource name -> amount ("pods", "requests.cpu").
evaluator     knows one resource (pods, services, ...): which quota names it tracks,
              which operations change usage, the usage of one object, its scopes.
scope         a quota selector (`spec.scopes`, `spec.scopeSelector`); only pods have
              scopes (upstream's `MatchesNoScopeFunc` for everything else).

Quantities are exact (`Fraction`); a sum keeps the format (binary or decimal) of its
first non-zero term, as `resource.Quantity.Add` does, so "128Mi" + "128Mi" prints as
"256Mi" and "100m" + "400m" as "500m".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol

from kybernetes.api import names as api_names
from kybernetes.api.validation import format_quantity, parse_quantity

Obj = dict[str, Any]

_BINARY_SUFFIXES = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
REQUESTS_PREFIX = "requests."
HUGEPAGES_PREFIX = "hugepages-"


@dataclass(frozen=True, slots=True)
class Quantity:
    """An exact amount and whether it prints in binary (Ki, Mi, ...) units."""

    value: Fraction
    binary: bool = False

    @classmethod
    def parse(cls, text: Any) -> Quantity | None:
        value = parse_quantity(text)
        if value is None:
            return None
        return cls(value, str(text).strip().endswith(_BINARY_SUFFIXES))

    @classmethod
    def of(cls, n: int | Fraction) -> Quantity:
        return cls(Fraction(n))

    def __add__(self, other: Quantity) -> Quantity:
        binary = other.binary if self.value == 0 else self.binary
        return Quantity(self.value + other.value, binary)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.binary)

    def milli(self) -> int:
        """`Quantity.MilliValue()`: rounded up."""
        return math.ceil(self.value * 1000)

    def __str__(self) -> str:
        return format_amount(self.value, binary=self.binary)


ResourceList = dict[str, Quantity]
ZERO = Quantity(Fraction(0))


def format_amount(value: Fraction, *, binary: bool = False) -> str:
    """`Quantity.String()` of an exact value in the given format."""
    if value == 0:
        return "0"
    if binary and value.denominator == 1 and abs(value) >= 1024:
        n = int(value)
        for exp, suffix in zip(range(60, 0, -10), reversed(_BINARY_SUFFIXES), strict=True):
            if n % (1 << exp) == 0:
                return f"{n >> exp}{suffix}"
        return str(n)
    nanos = math.ceil(value * 10**9)
    return format_quantity(f"{nanos}n")


def parse_list(raw: Mapping[str, Any] | None) -> ResourceList:
    """A ResourceList of the quantity strings in `raw`; unparsable entries are left out."""
    out: ResourceList = {}
    for name, text in (raw or {}).items():
        q = Quantity.parse(text)
        if q is not None:
            out[name] = q
    return out


def to_strings(rl: Mapping[str, Quantity]) -> dict[str, str]:
    return {name: str(q) for name, q in sorted(rl.items())}


# --- ResourceList arithmetic (pkg/quota/v1/resources.go) ------------------------------


def add(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    out = dict(a)
    for name, q in b.items():
        out[name] = out[name] + q if name in out else q
    return out


def subtract_non_negative(a: Mapping[str, Quantity], b: Mapping[str, Quantity]
                          ) -> ResourceList:
    """a - b per name, never below zero (what an update adds)."""
    out: ResourceList = {}
    for name, q in a.items():
        diff = q - b[name] if name in b else q
        out[name] = diff if diff.value > 0 else Quantity(Fraction(0), q.binary)
    return out


def mask(rl: Mapping[str, Quantity], keep: Iterable[str]) -> ResourceList:
    keep = set(keep)
    return {name: q for name, q in rl.items() if name in keep}


def less_than_or_equal(a: Mapping[str, Quantity], b: Mapping[str, Quantity]
                       ) -> tuple[bool, list[str]]:
    """Whether every amount of `a` named in `b` is <= it; and the names that are not."""
    exceeded = sorted(name for name, q in a.items() if name in b and q.value > b[name].value)
    return not exceeded, exceeded


def is_zero(rl: Mapping[str, Quantity]) -> bool:
    return all(q.value == 0 for q in rl.values())


def negative(rl: Mapping[str, Quantity]) -> list[str]:
    return sorted(name for name, q in rl.items() if q.value < 0)


def pretty_print(rl: Mapping[str, Quantity]) -> str:
    """`name=amount` pairs sorted by name, comma-separated (admission messages)."""
    return ",".join(f"{name}={q}" for name, q in sorted(rl.items()))


# --- pod resources (component-helpers resource.PodRequests / PodLimits) ------------------


def _container_list(container: Mapping[str, Any], field: str) -> ResourceList:
    return parse_list(((container.get("resources") or {}).get(field)) or {})


def _max_into(into: ResourceList, other: Mapping[str, Quantity]) -> None:
    for name, q in other.items():
        if name not in into or q.value > into[name].value:
            into[name] = q


def pod_resources(spec: Mapping[str, Any], field: str, *, overhead: bool = True
                  ) -> ResourceList:
    """Effective `requests` or `limits` of a pod spec: containers summed, sidecars added,
    the init-container peak taken as a floor, then the pod overhead (for limits only on
    resources that have a limit)."""
    total: ResourceList = {}
    for c in spec.get("containers") or ():
        total = add(total, _container_list(c, field))
    sidecars: ResourceList = {}
    init_peak: ResourceList = {}
    for c in spec.get("initContainers") or ():
        own = _container_list(c, field)
        if c.get("restartPolicy") == "Always":
            total = add(total, own)
            sidecars = add(sidecars, own)
            peak = dict(sidecars)
        else:
            peak = add(own, sidecars)
        _max_into(init_peak, peak)
    _max_into(total, init_peak)
    extra = parse_list(spec.get("overhead")) if overhead else {}
    if field == "limits":
        extra = mask(extra, total)
    return add(total, extra)


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_counts_for_quota(pod: Mapping[str, Any], now: datetime) -> bool:
    """`QuotaV1Pod`: terminal pods and pods stuck terminating past their grace period
    no longer use compute quota (a lost node must not block scaling up)."""
    if is_terminal(pod):
        return False
    meta = pod.get("metadata") or {}
    stamp, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
    if stamp and grace is not None:
        deadline = _parse_time(stamp) + timedelta(seconds=int(grace))
        if now > deadline:
            return False
    return True


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


_POD_RESOURCES = frozenset({
    "count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory",
    "limits.ephemeral-storage", "pods",
})
_COMPUTE = ("cpu", "memory", "ephemeral-storage")


def is_extended_resource_name(name: str) -> bool:
    """`v1helper.IsExtendedResourceName`: domain-qualified, not kubernetes.io, not
    requests.*, and a qualified name once prefixed with "requests."."""
    if "/" not in name or name.startswith(REQUESTS_PREFIX):
        return False
    domain = name.split("/", 1)[0]
    if domain == "kubernetes.io" or domain.endswith(".kubernetes.io"):
        return False
    return not api_names.is_qualified_name(REQUESTS_PREFIX + name)


def pod_compute_usage(requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]
                      ) -> ResourceList:
    """`podComputeUsageHelper`: what a running pod charges."""
    out: ResourceList = {"pods": Quantity.of(1)}
    for res in _COMPUTE:
        if res in requests:
            out[res] = out[REQUESTS_PREFIX + res] = requests[res]
        if res in limits:
            out["limits." + res] = limits[res]
    for name, q in requests.items():
        if name.startswith(HUGEPAGES_PREFIX):
            out[name] = out[REQUESTS_PREFIX + name] = q
        if is_extended_resource_name(name):
            out[REQUESTS_PREFIX + name] = q
    return out


def pod_usage(pod: Mapping[str, Any], now: datetime) -> ResourceList:
    """`PodUsageFunc`: count/pods always; compute resources while the pod is live."""
    out: ResourceList = {"count/pods": Quantity.of(1)}
    if not pod_counts_for_quota(pod, now):
        return out
    spec = pod.get("spec") or {}
    return add(out, pod_compute_usage(pod_resources(spec, "requests"),
                                      pod_resources(spec, "limits")))


# Quota'd cpu or memory must be asked for by every container (a backward-compatibility
# rule upstream keeps: "it coupled validation with resource counting").
_MUST_SPECIFY = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu",
                           "limits.memory"})


def missing_container_resources(required: Iterable[str], pod: Mapping[str, Any]
                                ) -> str | None:
    """`podEvaluator.Constraints`: "must specify <resource> for: <containers>; ..." when a
    container does not request or limit a cpu/memory resource the quota tracks."""
    needed = set(required) & _MUST_SPECIFY
    missing: dict[str, list[str]] = {}
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
        have = pod_compute_usage(_container_list(c, "requests"), _container_list(c, "limits"))
        for name in sorted(needed - set(have)):
            missing.setdefault(name, []).append(str(c.get("name") or ""))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{name} for: {','.join(sorted(set(names)))}"
                                       for name, names in sorted(missing.items()))


# --- pod scopes ---------------------------------------------------------------------------


def is_best_effort(pod: Mapping[str, Any]) -> bool:
    """QoS BestEffort: no container asks for or limits cpu or memory (non-zero)."""
    qos = (pod.get("status") or {}).get("qosClass")
    if qos:
        return qos == "BestEffort"
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
        for field in ("requests", "limits"):
            rl = _container_list(c, field)
            if any(rl.get(r, ZERO).value != 0 for r in ("cpu", "memory")):
                return False
    return True


def is_terminating(pod: Mapping[str, Any]) -> bool:
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    return isinstance(deadline, int) and deadline >= 0


def uses_cross_namespace_affinity(pod: Mapping[str, Any]) -> bool:
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        a = affinity.get(kind) or {}
        terms = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or ())
        terms += [w.get("podAffinityTerm") or {}
                  for w in a.get("preferredDuringSchedulingIgnoredDuringExecution") or ()]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
            return True
    return False


def scope_selectors(quota: Mapping[str, Any]) -> list[Obj]:
    """`getScopeSelectorsFromQuota`: spec.scopes as Exists selectors, then scopeSelector."""
    spec = quota.get("spec") or {}
    out = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or ()]
    out += list((spec.get("scopeSelector") or {}).get("matchExpressions") or ())
    return out


def _priority_class_matches(selector: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    # Upstream builds a label set {"PriorityClass": name}: the key always exists.
    name = (pod.get("spec") or {}).get("priorityClassName") or ""
    op, values = selector.get("operator"), selector.get("values") or ()
    if op == "In":
        return name in values
    if op == "NotIn":
        return name not in values
    return op == "Exists"


def pod_matches_scope(selector: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    scope = selector.get("scopeName")
    if scope == "Terminating":
        return is_terminating(pod)
    if scope == "NotTerminating":
        return not is_terminating(pod)
    if scope == "BestEffort":
        return is_best_effort(pod)
    if scope == "NotBestEffort":
        return not is_best_effort(pod)
    if scope == "PriorityClass":
        return _priority_class_matches(selector, pod)
    if scope == "CrossNamespacePodAffinity":
        return uses_cross_namespace_affinity(pod)
    return False


# --- evaluators -------------------------------------------------------------------------


class Evaluator(Protocol):
    group: str
    resource: str

    def handles(self, operation: str) -> bool:
        """Whether a CREATE/UPDATE of this resource can change quota usage."""

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        """The quota resource names (of `names`) this evaluator tracks."""

    def matches_scopes(self, selectors: list[Obj], obj: Mapping[str, Any]) -> bool:
        """Whether `obj` is in every scope (no scopes: True)."""

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        """What `obj` uses."""

    def constraints(self, required: Iterable[str], obj: Mapping[str, Any]) -> str | None:
        """Why `obj` cannot be admitted under a quota tracking `required`, or None."""


class _NoConstraints:
    def constraints(self, required: Iterable[str], obj: Mapping[str, Any]) -> str | None:
        return None


def object_count_name(group: str, resource: str) -> str:
    return f"count/{resource}.{group}" if group else f"count/{resource}"


class ObjectCountEvaluator(_NoConstraints):
    """Any resource: `count/<resource>[.<group>]` (and a legacy alias) per object,
    charged on create only."""

    _ALIASES = {"configmaps": "configmaps", "resourcequotas": "resourcequotas",
                "replicationcontrollers": "replicationcontrollers", "secrets": "secrets"}

    def __init__(self, group: str, resource: str) -> None:
        self.group, self.resource = group, resource
        self.names = {object_count_name(group, resource)}
        if not group and resource in self._ALIASES:
            self.names.add(self._ALIASES[resource])

    def handles(self, operation: str) -> bool:
        return operation == "CREATE"

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return sorted(set(names) & self.names)

    def matches_scopes(self, selectors: list[Obj], obj: Mapping[str, Any]) -> bool:
        return not selectors

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        return {name: Quantity.of(1) for name in self.names}


class PodEvaluator:
    group, resource = "", "pods"

    def handles(self, operation: str) -> bool:
        return operation == "CREATE"

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        out = set()
        for name in names:
            if name in _POD_RESOURCES or name.startswith(
                    (HUGEPAGES_PREFIX, REQUESTS_PREFIX + HUGEPAGES_PREFIX)):
                out.add(name)
            elif name.startswith(REQUESTS_PREFIX) and is_extended_resource_name(
                    name[len(REQUESTS_PREFIX):]):
                out.add(name)
        return sorted(out)

    def matches_scopes(self, selectors: list[Obj], obj: Mapping[str, Any]) -> bool:
        return all(pod_matches_scope(s, obj) for s in selectors)

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        return pod_usage(obj, now)

    def constraints(self, required: Iterable[str], obj: Mapping[str, Any]) -> str | None:
        return missing_container_resources(required, obj)


class ServiceEvaluator(_NoConstraints):
    group, resource = "", "services"
    _NAMES = frozenset({"services", "count/services", "services.nodeports",
                        "services.loadbalancers"})

    def handles(self, operation: str) -> bool:
        return operation in ("CREATE", "UPDATE")  # a Service's type can change

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return sorted(set(names) & self._NAMES)

    def matches_scopes(self, selectors: list[Obj], obj: Mapping[str, Any]) -> bool:
        return not selectors

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        spec = obj.get("spec") or {}
        ports = spec.get("ports") or []
        kind = spec.get("type") or "ClusterIP"
        node_ports = 0
        if kind == "NodePort":
            node_ports = len(ports)
        elif kind == "LoadBalancer":
            node_ports = len(ports) if spec.get("allocateLoadBalancerNodePorts", True) else \
                sum(1 for p in ports if p.get("nodePort"))
        return {"services": Quantity.of(1), "count/services": Quantity.of(1),
                "services.nodeports": Quantity.of(node_ports),
                "services.loadbalancers": Quantity.of(int(kind == "LoadBalancer"))}


STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"


class PvcEvaluator(_NoConstraints):
    group, resource = "", "persistentvolumeclaims"
    _NAMES = frozenset({"persistentvolumeclaims", "count/persistentvolumeclaims",
                        "requests.storage"})

    def handles(self, operation: str) -> bool:
        return operation in ("CREATE", "UPDATE")  # a claim may be expanded

    def matching_resources(self, names: Iterable[str]) -> list[str]:
        return sorted(n for n in set(names) if n in self._NAMES or (
            STORAGE_CLASS_SUFFIX in n and n.endswith(("/requests.storage",
                                                      "/persistentvolumeclaims"))))

    def matches_scopes(self, selectors: list[Obj], obj: Mapping[str, Any]) -> bool:
        return not selectors

    def usage(self, obj: Mapping[str, Any], now: datetime) -> ResourceList:
        spec = obj.get("spec") or {}
        one = Quantity.of(1)
        out: ResourceList = {"persistentvolumeclaims": one, "count/persistentvolumeclaims": one}
        storage = parse_list((spec.get("resources") or {}).get("requests")).get("storage")
        cls = spec.get("storageClassName") or ((obj.get("metadata") or {}).get(
            "annotations") or {}).get("volume.beta.kubernetes.io/storage-class") or ""
        if cls:
            out[cls + STORAGE_CLASS_SUFFIX + "persistentvolumeclaims"] = one
        if storage is not None:
            out["requests.storage"] = storage
            if cls:
                out[cls + STORAGE_CLASS_SUFFIX + "requests.storage"] = storage
        return out


_KNOWN: dict[tuple[str, str], Evaluator] = {
    ("", "pods"): PodEvaluator(),
    ("", "services"): ServiceEvaluator(),
    ("", "persistentvolumeclaims"): PvcEvaluator(),
}


def evaluator_for(group: str, resource: str) -> Evaluator:
    return _KNOWN.get((group, resource)) or ObjectCountEvaluator(group, resource)


def resource_of_name(name: str) -> tuple[str, str] | None:
    """The (group, resource) whose evaluator tracks quota resource `name`, if any."""
    for key, ev in _KNOWN.items():
        if ev.matching_resources([name]):
            return key
    if name.startswith("count/"):
        resource, _, group = name[len("count/"):].partition(".")
        return group, resource
    if name in ObjectCountEvaluator._ALIASES:
        return "", name
    return None


def matches(quota: Mapping[str, Any], hard: Iterable[str], evaluator: Evaluator,
            obj: Mapping[str, Any]) -> bool:
    """`generic.Matches`: the quota limits something this evaluator tracks, and `obj`
    is in all of its scopes."""
    return bool(evaluator.matching_resources(hard)) and evaluator.matches_scopes(
        scope_selectors(quota), obj)


def usage_of(evaluator: Evaluator, objects: Iterable[Mapping[str, Any]],
             selectors: list[Obj], resources: Iterable[str], now: datetime) -> ResourceList:
    """`UsageStats`: the sum over `objects` in scope, for `resources` (zero when unused)."""
    resources = list(resources)
    total: ResourceList = dict.fromkeys(resources, ZERO)
    for obj in objects:
        if evaluator.matches_scopes(selectors, obj):
            total = add(total, mask(evaluator.usage(obj, now), resources))
    return total
