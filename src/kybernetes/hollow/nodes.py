"""What a hollow node writes: its Node at registration, its status reports, its Lease.

Pure builders, time passed in. They follow what a v1.32 kubelet writes
(pkg/kubelet/kubelet_node_status.go, nodestatus/setters.go,
component-helpers/apimachinery/lease):

- registration: one POST of the whole Node, status included (the API keeps a
  Node's status on create); labels kubernetes.io/{hostname,os,arch} and their
  beta twins, `node.kubernetes.io/instance-type=hollow`, zone/region when
  given; the controller-managed attach/detach annotation; `--register-with-taints`;
- status report: a strategic-merge PATCH of nodes/status with the four
  conditions, `lastHeartbeatTime` = now and `lastTransitionTime` kept while the
  status stays the same (conditions merge by `type`, so conditions others own,
  such as NetworkUnavailable, survive);
- Lease `kube-node-lease/<node>`: holder = the node, owned by the Node (so the
  garbage collector removes it with the node), `renewTime` a MicroTime.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kybernetes.hollow.options import HollowOptions
from kybernetes.hollow.timefmt import micro_time, rfc3339

Obj = dict[str, Any]

NODE_LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = "v1.32.0"
RUNTIME_VERSION = "hollow://1.0"
INSTANCE_TYPE = "hollow"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
KUBELET_PORT = 10250
# kubelet: volumes are attached by the attach/detach controller, not by the kubelet.
CMAD_ANNOTATION = "volumes.kubernetes.io/controller-managed-attach-detach"

# (type, status, reason, message) as the kubelet's setters report a healthy node.
HEALTHY_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Who node number `index` is. `pod_cidr` is what we would assign ("" = leave it
    to node IPAM)."""

    name: str
    index: int
    internal_ip: str
    pod_cidr: str


def _stable_id(name: str, what: str) -> str:
    """A UUID that is the same for the same node on every run (machine-id and friends)."""
    return str(uuid.UUID(bytes=hashlib.sha256(f"{what}/{name}".encode()).digest()[:16]))


def node_labels(ident: NodeIdentity, options: HollowOptions) -> dict[str, str]:
    labels = {
        "beta.kubernetes.io/arch": options.arch,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": options.arch,
        "kubernetes.io/hostname": ident.name,
        "kubernetes.io/os": "linux",
        INSTANCE_TYPE_LABEL: INSTANCE_TYPE,
    }
    if options.zones:
        labels["topology.kubernetes.io/zone"] = options.zones[ident.index % len(options.zones)]
    if options.region:
        labels["topology.kubernetes.io/region"] = options.region
    labels.update(dict(options.labels))
    return labels


def node_resources(options: HollowOptions) -> dict[str, str]:
    """Capacity, and allocatable too: nothing is reserved for a system that is not there."""
    return {"cpu": options.cpu, "memory": options.memory, "pods": str(options.pods),
            "ephemeral-storage": options.ephemeral_storage, "hugepages-1Gi": "0",
            "hugepages-2Mi": "0"}


def node_conditions(now: datetime, previous: list[Obj] | None = None) -> list[Obj]:
    """The four kubelet conditions, heartbeat `now`; a condition whose status did not
    change keeps its previous lastTransitionTime."""
    before = {c.get("type"): c for c in previous or () if isinstance(c, dict)}
    stamp = rfc3339(now)
    out = []
    for ctype, status, reason, message in HEALTHY_CONDITIONS:
        old = before.get(ctype)
        since = (old.get("lastTransitionTime") if old and old.get("status") == status
                 else None) or stamp
        out.append({"type": ctype, "status": status, "reason": reason, "message": message,
                    "lastHeartbeatTime": stamp, "lastTransitionTime": since})
    return out


def node_info(ident: NodeIdentity, options: HollowOptions) -> Obj:
    return {
        "machineID": _stable_id(ident.name, "machine").replace("-", ""),
        "systemUUID": _stable_id(ident.name, "system"),
        "bootID": _stable_id(ident.name, "boot"),
        "kernelVersion": "6.1.0-hollow",
        "osImage": "Hollow Linux",
        "containerRuntimeVersion": RUNTIME_VERSION,
        "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": KUBELET_VERSION,
        "operatingSystem": "linux",
        "architecture": options.arch,
    }


def node_status(ident: NodeIdentity, options: HollowOptions, now: datetime,
                previous_conditions: list[Obj] | None = None) -> Obj:
    resources = node_resources(options)
    return {
        "capacity": dict(resources),
        "allocatable": dict(resources),
        "conditions": node_conditions(now, previous_conditions),
        "addresses": [{"type": "InternalIP", "address": ident.internal_ip},
                      {"type": "Hostname", "address": ident.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": node_info(ident, options),
    }


def build_node(ident: NodeIdentity, options: HollowOptions, now: datetime) -> Obj:
    """The Node a hollow kubelet registers (POST /api/v1/nodes)."""
    spec: Obj = {}
    if ident.pod_cidr:
        spec["podCIDR"] = ident.pod_cidr
        spec["podCIDRs"] = [ident.pod_cidr]
    if options.taints:
        spec["taints"] = [{"key": k, "value": v, "effect": e} if v else
                          {"key": k, "effect": e} for k, v, e in options.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": ident.name, "labels": node_labels(ident, options),
                     "annotations": {CMAD_ANNOTATION: "true"}},
        "spec": spec,
        "status": node_status(ident, options, now),
    }


def adoption_patch(existing: Obj, ident: NodeIdentity, options: HollowOptions) -> Obj | None:
    """A merge patch bringing a Node that already exists (an earlier run) in line with
    this run's labels, and giving it our pod CIDR when it has none; None if in line.
    As the kubelet on re-registration, taints are left as they are."""
    meta = existing.get("metadata") or {}
    labels = meta.get("labels") or {}
    want = node_labels(ident, options)
    patch: Obj = {}
    changed = {k: v for k, v in want.items() if labels.get(k) != v}
    if changed:
        patch.setdefault("metadata", {})["labels"] = changed
    if (meta.get("annotations") or {}).get(CMAD_ANNOTATION) != "true":
        patch.setdefault("metadata", {})["annotations"] = {CMAD_ANNOTATION: "true"}
    spec = existing.get("spec") or {}
    if ident.pod_cidr and not spec.get("podCIDR"):
        patch["spec"] = {"podCIDR": ident.pod_cidr, "podCIDRs": [ident.pod_cidr]}
    return patch or None


def status_report_patch(ident: NodeIdentity, options: HollowOptions, now: datetime,
                        previous_conditions: list[Obj] | None, *, full: bool) -> Obj:
    """The strategic-merge patch of nodes/status for one report. `full` also sends
    capacity, addresses and nodeInfo (the first report of a run)."""
    if full:
        return {"status": node_status(ident, options, now, previous_conditions)}
    return {"status": {"conditions": node_conditions(now, previous_conditions)}}


def build_lease(node: str, node_uid: str, now: datetime, duration_seconds: int) -> Obj:
    """The node's Lease in kube-node-lease, owned by its Node."""
    meta: Obj = {"name": node, "namespace": NODE_LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node,
                                    "uid": node_uid}]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {"holderIdentity": node, "leaseDurationSeconds": duration_seconds,
                 "renewTime": micro_time(now)},
    }


def renewed_lease(lease: Obj, node: str, node_uid: str, now: datetime,
                  duration_seconds: int) -> Obj:
    """A copy of `lease` renewed at `now` (PUT with its resourceVersion: a stale copy
    gets 409 and is read again, as the kubelet's lease controller does)."""
    out = {**lease, "metadata": dict(lease.get("metadata") or {}),
           "spec": dict(lease.get("spec") or {})}
    out["spec"].update(holderIdentity=node, leaseDurationSeconds=duration_seconds,
                       renewTime=micro_time(now))
    if node_uid and not out["metadata"].get("ownerReferences"):
        out["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                               "name": node, "uid": node_uid}]
    return out
