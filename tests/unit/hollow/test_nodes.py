"""What a hollow kubelet writes about its node: the registered Node, status reports, Lease."""

from __future__ import annotations

from kybernetes.api.patch import apply_strategic_merge_patch
from kybernetes.hollow import HollowOptions
from kybernetes.hollow.nodes import (
    NodeIdentity,
    adoption_patch,
    build_lease,
    build_node,
    node_conditions,
    renewed_lease,
    status_report_patch,
)

from .support import NODE_SCHEMA, at, stamp

IDENT = NodeIdentity(name="hollow-node-3", index=3, internal_ip="172.16.0.4",
                     pod_cidr="10.244.3.0/24")


def opts(**kw: object) -> HollowOptions:
    return HollowOptions(count=4, **kw).validate()  # type: ignore[arg-type]


def test_the_registered_node_looks_like_a_kubelets() -> None:
    node = build_node(IDENT, opts(labels=(("team", "a"),), zones=("z1", "z2"), region="r",
                                  taints=(("dedicated", "x", "NoSchedule"),
                                          ("spot", "", "NoExecute"))), at(0))
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "hollow-node-3"
    assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"] == "amd64"
    assert labels["node.kubernetes.io/instance-type"] == "hollow"
    assert labels["topology.kubernetes.io/zone"] == "z2"  # 3 % 2
    assert labels["topology.kubernetes.io/region"] == "r" and labels["team"] == "a"
    assert node["spec"] == {"podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24"],
                            "taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"},
                                       {"key": "spot", "effect": "NoExecute"}]}
    status = node["status"]
    assert status["capacity"] == status["allocatable"]
    assert {k: status["capacity"][k] for k in ("cpu", "memory", "pods", "ephemeral-storage")} == {
        "cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"}
    assert status["nodeInfo"]["kubeletVersion"] == "v1.32.0"
    assert status["nodeInfo"]["containerRuntimeVersion"] == "hollow://1.0"
    assert status["addresses"][0] == {"type": "InternalIP", "address": "172.16.0.4"}
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("MemoryPressure", "False"), ("DiskPressure", "False"), ("PIDPressure", "False"),
        ("Ready", "True")]
    # Stable identity across runs.
    assert build_node(IDENT, opts(), at(9))["status"]["nodeInfo"] == status["nodeInfo"]


def test_without_a_cidr_the_spec_is_left_to_node_ipam() -> None:
    ident = NodeIdentity(name="n", index=0, internal_ip="172.16.0.1", pod_cidr="")
    assert build_node(ident, opts(), at(0))["spec"] == {}


def test_a_report_moves_the_heartbeat_and_keeps_the_transition_time() -> None:
    first = node_conditions(at(0))
    later = node_conditions(at(60), first)
    assert all(c["lastHeartbeatTime"] == stamp(60) for c in later)
    assert all(c["lastTransitionTime"] == stamp(0) for c in later)
    # Someone else marked us Unknown: our report is a transition back to True.
    overwritten = [dict(c, status="Unknown") if c["type"] == "Ready" else c for c in first]
    ready = next(c for c in node_conditions(at(90), overwritten) if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["lastTransitionTime"] == stamp(90)


def test_the_status_patch_merges_conditions_by_type() -> None:
    node = build_node(IDENT, opts(), at(0))
    node["status"]["conditions"].append({"type": "NetworkUnavailable", "status": "False"})
    patch = status_report_patch(IDENT, opts(), at(60), node["status"]["conditions"], full=False)
    assert list(patch["status"]) == ["conditions"]
    merged = apply_strategic_merge_patch(node, patch, NODE_SCHEMA)
    types = [c["type"] for c in merged["status"]["conditions"]]
    assert "NetworkUnavailable" in types and len(types) == 5
    full = status_report_patch(IDENT, opts(), at(60), None, full=True)
    assert {"capacity", "nodeInfo", "addresses", "conditions"} <= set(full["status"])


def test_adopting_a_node_left_from_an_earlier_run() -> None:
    existing = build_node(IDENT, opts(), at(0))
    assert adoption_patch(existing, IDENT, opts()) is None
    existing["metadata"]["labels"].pop("kubernetes.io/arch")
    existing["spec"] = {}
    patch = adoption_patch(existing, IDENT, opts(labels=(("team", "b"),)))
    assert patch == {"metadata": {"labels": {"kubernetes.io/arch": "amd64", "team": "b"}},
                     "spec": {"podCIDR": "10.244.3.0/24", "podCIDRs": ["10.244.3.0/24"]}}
    # A CIDR node IPAM gave the node is kept.
    existing["spec"] = {"podCIDR": "10.9.0.0/24"}
    assert "spec" not in (adoption_patch(existing, IDENT, opts()) or {})


def test_the_lease_is_owned_by_its_node_and_renewed_with_micro_time() -> None:
    lease = build_lease("n1", "node-uid", at(0.25), 40)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "node-uid"}]
    assert lease["spec"] == {"holderIdentity": "n1", "leaseDurationSeconds": 40,
                             "renewTime": "2026-01-01T00:00:00.250000Z"}
    lease["metadata"]["resourceVersion"] = "7"
    renewed = renewed_lease(lease, "n1", "node-uid", at(10), 40)
    assert renewed["spec"]["renewTime"] == "2026-01-01T00:00:10.000000Z"
    assert renewed["metadata"]["resourceVersion"] == "7"  # compare-and-swap
    assert lease["spec"]["renewTime"].endswith("00.250000Z")  # the input is not changed
