"""Resource arithmetic: pod requests as the scheduler counts them, node allocatable.

Quantities are parsed exactly (`parse_quantity` gives a Fraction) and summed
exactly; only the totals are rounded, up, as `Quantity.MilliValue()` (cpu)
and `Quantity.Value()` (everything else) do.

`pod_requests` is `resourcehelper.PodRequests` (k8s.io/component-helpers):

    requests = sum(containers)
    for each init container, in order:
        sidecar (restartPolicy: Always):  requests += it; sidecars += it; peak = sidecars
        regular:                          peak = it + sidecars started so far
        init_peak = max(init_peak, peak)  (per resource)
    requests = max(requests, init_peak) + overhead

With `non_missing`, a container that does not request cpu (memory) counts as
requesting the given default: the scheduler's 100m / 200Mi used for scoring
and for `NodeInfo.non_zero_requested`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any

from kybernetes.api.validation import parse_quantity

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

# schedutil.DefaultMilliCPURequest / DefaultMemoryRequest.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
NON_ZERO_DEFAULTS: Mapping[str, Fraction] = {
    CPU: Fraction(DEFAULT_MILLI_CPU_REQUEST, 1000),
    MEMORY: Fraction(DEFAULT_MEMORY_REQUEST),
}

Requests = dict[str, Fraction]


@lru_cache(maxsize=4096)
def _parse(text: str) -> Fraction:
    value = parse_quantity(text)
    return value if value is not None else Fraction(0)


def quantity(value: Any) -> Fraction:
    """The exact value of a quantity string or number; 0 when it does not parse."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    return _parse(str(value))


def milli_value(value: Fraction) -> int:
    return math.ceil(value * 1000)


def int_value(value: Fraction) -> int:
    return math.ceil(value)


def is_extended_resource_name(name: str) -> bool:
    """`v1helper.IsExtendedResourceName`: domain-qualified, not kubernetes.io, not requests.*."""
    if "/" not in name or name.startswith("requests."):
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))


def is_scalar_resource_name(name: str) -> bool:
    """Extended resources, hugepages-* and attachable-volumes-* (`IsScalarResourceName`)."""
    return (is_extended_resource_name(name) or name.startswith("hugepages-")
            or name.startswith("attachable-volumes-"))


def _add(into: Requests, more: Mapping[str, Fraction]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, Fraction(0)) + value


def _max_into(into: Requests, other: Mapping[str, Fraction]) -> None:
    for name, value in other.items():
        if value > into.get(name, Fraction(-1)):
            into[name] = value


def _container_requests(container: Mapping[str, Any],
                        non_missing: Mapping[str, Fraction] | None) -> Requests:
    raw = (container.get("resources") or {}).get("requests") or {}
    out = {name: quantity(value) for name, value in raw.items()}
    if non_missing:
        for name, value in non_missing.items():
            if name not in raw:
                out[name] = value
    return out


def pod_requests(spec: Mapping[str, Any], *,
                 non_missing: Mapping[str, Fraction] | None = None) -> Requests:
    """Effective requests of a pod spec, exact (see the module docstring)."""
    total: Requests = {}
    for container in spec.get("containers") or ():
        _add(total, _container_requests(container, non_missing))
    sidecars: Requests = {}
    init_peak: Requests = {}
    for container in spec.get("initContainers") or ():
        own = _container_requests(container, non_missing)
        if container.get("restartPolicy") == "Always":
            _add(total, own)
            _add(sidecars, own)
            peak = dict(sidecars)
        else:
            peak = dict(own)
            _add(peak, sidecars)
        _max_into(init_peak, peak)
    _max_into(total, init_peak)
    overhead = spec.get("overhead") or {}
    if overhead:
        _add(total, {name: quantity(value) for name, value in overhead.items()})
    return total


class Resource:
    """Scheduler units: milli-cpu, bytes, counts (`framework.Resource`)."""

    __slots__ = ("allowed_pod_number", "ephemeral_storage", "memory", "milli_cpu", "scalar")

    def __init__(self, milli_cpu: int = 0, memory: int = 0, ephemeral_storage: int = 0,
                 allowed_pod_number: int = 0, scalar: dict[str, int] | None = None) -> None:
        self.milli_cpu = milli_cpu
        self.memory = memory
        self.ephemeral_storage = ephemeral_storage
        self.allowed_pod_number = allowed_pod_number
        self.scalar: dict[str, int] = scalar if scalar is not None else {}

    @classmethod
    def from_requests(cls, requests: Mapping[str, Fraction]) -> Resource:
        """`Resource.Add(ResourceList)`: unknown non-scalar names are ignored."""
        out = cls()
        for name, value in requests.items():
            out.add_named(name, value)
        return out

    @classmethod
    def from_list(cls, resource_list: Mapping[str, Any] | None) -> Resource:
        """From a ResourceList of quantity strings, e.g. a node's status.allocatable."""
        return cls.from_requests({k: quantity(v) for k, v in (resource_list or {}).items()})

    def add_named(self, name: str, value: Fraction) -> None:
        if name == CPU:
            self.milli_cpu += milli_value(value)
        elif name == MEMORY:
            self.memory += int_value(value)
        elif name == PODS:
            self.allowed_pod_number += int_value(value)
        elif name == EPHEMERAL_STORAGE:
            self.ephemeral_storage += int_value(value)
        elif is_scalar_resource_name(name):
            self.scalar[name] = self.scalar.get(name, 0) + int_value(value)

    def get(self, name: str) -> int:
        """The amount of one named resource (0 when absent)."""
        if name == CPU:
            return self.milli_cpu
        if name == MEMORY:
            return self.memory
        if name == EPHEMERAL_STORAGE:
            return self.ephemeral_storage
        if name == PODS:
            return self.allowed_pod_number
        return self.scalar.get(name, 0)

    def is_zero(self) -> bool:
        """No cpu, memory, ephemeral storage or scalar resource (the pod count is ignored)."""
        return not (self.milli_cpu or self.memory or self.ephemeral_storage or self.scalar)

    def add(self, other: Resource, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        for name, value in other.scalar.items():
            self.scalar[name] = self.scalar.get(name, 0) + sign * value

    def clone(self) -> Resource:
        return Resource(self.milli_cpu, self.memory, self.ephemeral_storage,
                        self.allowed_pod_number, dict(self.scalar))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resource):
            return NotImplemented
        return (self.milli_cpu, self.memory, self.ephemeral_storage, self.allowed_pod_number,
                {k: v for k, v in self.scalar.items() if v}) == (
                other.milli_cpu, other.memory, other.ephemeral_storage,
                other.allowed_pod_number, {k: v for k, v in other.scalar.items() if v})

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        scalar = f", scalar={self.scalar}" if self.scalar else ""
        return (f"Resource(milli_cpu={self.milli_cpu}, memory={self.memory}, "
                f"ephemeral_storage={self.ephemeral_storage}, "
                f"allowed_pod_number={self.allowed_pod_number}{scalar})")


def sum_resources(items: Iterable[Resource]) -> Resource:
    out = Resource()
    for item in items:
        out.add(item)
    return out
