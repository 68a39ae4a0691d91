"""What the Endpoints and EndpointSlice controllers share: which pods back a Service
and how (upstream k8s.io/endpointslice/util and pkg/controller/util/endpoint, v1.32).

Pure functions over JSON-shaped objects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from kybernetes.api.selectors import label_selector_from_set
from kybernetes.client import StatusError
from kybernetes.controllers.controller_utils import is_pod_ready

Obj = dict[str, Any]

HEADLESS_LABEL = "service.kubernetes.io/headless"  # v1.IsHeadlessService
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def namespace_terminating(err: BaseException) -> bool:
    """A create refused because the namespace is being deleted (no use retrying)."""
    return isinstance(err, StatusError) and any(
        c.type == NAMESPACE_TERMINATING_CAUSE for c in err.causes)


def selector_of(service: Obj) -> dict[str, str] | None:
    """The Service's selector; None when it has none (such a Service's endpoints are
    written by someone else, not by these controllers)."""
    return (service.get("spec") or {}).get("selector") or None


def selects(service: Obj, pod: Obj) -> bool:
    selector = selector_of(service)
    if selector is None:
        return False
    if (service["metadata"].get("namespace") or "") != (pod["metadata"].get("namespace") or ""):
        return False
    return label_selector_from_set(selector).matches(pod["metadata"].get("labels") or {})


def services_for_pod(services: Iterable[Obj], pod: Obj) -> list[str]:
    """Keys of the services whose selector matches the pod (GetPodServiceMemberships)."""
    return sorted(f"{s['metadata']['namespace']}/{s['metadata']['name']}"
                  for s in services if selects(s, pod))


def pods_for_service(pods: Iterable[Obj], service: Obj) -> list[Obj]:
    """The service's pods, by name (deterministic output)."""
    return sorted((p for p in pods if selects(service, p)), key=lambda p: p["metadata"]["name"])


def is_pod_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_ips(pod: Obj) -> list[str]:
    """status.podIPs, or status.podIP when podIPs is unset (the API keeps them in sync)."""
    status = pod.get("status") or {}
    ips = [str(p.get("ip")) for p in status.get("podIPs") or [] if p.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return ips


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """Not terminal, has an IP, and (unless `include_terminating`) not being deleted."""
    if is_pod_terminal(pod) or not pod_ips(pod):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def is_ipv6(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return ":" in ip


def canonical_ip(ip: str) -> str:
    """The IP re-stringified (ParseIPSloppy + String): `::0001` -> `::1`."""
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def is_service_ip_set(service: Obj) -> bool:
    cluster_ip = (service.get("spec") or {}).get("clusterIP") or ""
    return cluster_ip not in ("", "None")


def is_headless(service: Obj) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def should_set_hostname(pod: Obj, service: Obj) -> bool:
    """A pod with a hostname whose subdomain names the service (same namespace)."""
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == service["metadata"]["name"] \
        and pod["metadata"].get("namespace") == service["metadata"].get("namespace")


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """The pod's port for a service port: a number targetPort as is, a name looked
    up in the containers' (and restartable init containers') named ports with
    the same protocol; None when the pod has no such port."""
    target = service_port.get("targetPort")
    if target is None or target == 0 or target == "":
        target = service_port.get("port")
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or [])
    containers += [c for c in spec.get("initContainers") or []
                   if c.get("restartPolicy") == "Always"]
    for container in containers:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"],
            "uid": meta.get("uid", "")}


def without_rv(ref: Obj | None) -> Obj | None:
    """A targetRef without resourceVersion (compared semantically, ignoring it)."""
    if ref is None:
        return None
    return {k: v for k, v in ref.items() if k != "resourceVersion"}


__all__ = ["HEADLESS_LABEL", "canonical_ip", "find_port", "is_headless", "is_ipv6",
           "is_pod_ready", "is_pod_terminal", "is_service_ip_set", "namespace_terminating",
           "pod_ips", "pods_for_service", "selector_of", "selects", "services_for_pod",
           "should_pod_be_in_endpoints", "should_set_hostname", "target_ref", "without_rv"]
