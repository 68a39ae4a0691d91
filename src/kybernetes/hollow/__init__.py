"""kybernetes.hollow: simulated nodes for scale tests (as kwok): registration, Lease
heartbeats, node status and a pod lifecycle without containers.

`kyb hollow-nodes --kubeconfig FILE --count N` runs N hollow kubelets in one
process. Each registers a Node (capacity, labels, nodeInfo with kubelet
v1.32.0 and runtime `hollow://1.0`, an InternalIP, a pod CIDR), renews its
Lease in kube-node-lease every quarter lease duration (10 s) and reports
its conditions every minute. Pods bound to these nodes go Pending -> Running
in one status PATCH (pod IP from the node's CIDR), pods that run to completion
end Succeeded/Failed after `--job-duration`, and pods being deleted are
finished off promptly with the kubelet's final DELETE. Resources are not
enforced: that is the scheduler's job.

Modules, pure ones first:

| module        | what                                                               |
|---------------|--------------------------------------------------------------------|
| options       | `HollowOptions` (frozen, `validate()`), `hollow_client_config`     |
| timefmt       | metav1.Time and MicroTime text                                     |
| addresses     | node IPs, per-node pod CIDRs, `PodIPAllocator`                     |
| nodes         | the Node, its status reports and its Lease, as the kubelet writes them |
| lifecycle     | `plan(pod, now)`: a pod's next step and when (the state table)     |
| podstatus     | the status PATCH of each step                                      |
| node_state    | `HollowNode` (one kubelet's memory), `Stats` (requests sent)       |
| heartbeat     | `Heartbeats`: registration, Leases, status reports on one work queue |
| pod_worker    | `PodWorker`: the pod informer, a work queue, the steps' requests   |
| app           | `HollowNodes` (the running object, test hooks), `run_hollow_nodes` |
| flags         | the `kyb hollow-nodes` flags and process main                      |

Entry points: `run_hollow_nodes(client, options)`; `HollowNodes(client, options)`
for a handle with `stop_heartbeats` / `resume_heartbeats` / `wait_registered`
/ `stats`; `kybernetes.testing.hollow.HollowCluster` runs them in a background
thread for integration tests. With a node IPAM controller in the cluster, pass
`pod_cidr_base=""` (`--pod-cidr-base ""`) so that nodes take its CIDRs.

Glossary
--------

hollow node   a Node object kept alive by this process instead of a kubelet.
heartbeat     a Lease renewal (every lease_duration/4) or a node status report.
silenced      a node whose heartbeats `stop_heartbeats` stopped (a test hook):
              its Lease goes stale and the node lifecycle controller marks it
              NotReady, as if the machine had lost its network.
runs to completion  a pod whose containers exit by themselves: restartPolicy
              Never/OnFailure, owned by a Job, or annotated with a duration.
kill time     when the containers of a pod being deleted stop:
              min(grace period, kill delay) after the deletion was asked for.
"""

from kybernetes.hollow.app import HollowNodes, run_hollow_nodes
from kybernetes.hollow.lifecycle import DURATION_ANNOTATION, EXIT_CODE_ANNOTATION
from kybernetes.hollow.node_state import Stats
from kybernetes.hollow.nodes import INSTANCE_TYPE, INSTANCE_TYPE_LABEL, NODE_LEASE_NAMESPACE
from kybernetes.hollow.options import (
    HollowOptions,
    OptionsError,
    hollow_client_config,
    parse_key_value,
    parse_taint,
)

__all__ = [
    "DURATION_ANNOTATION",
    "EXIT_CODE_ANNOTATION",
    "INSTANCE_TYPE",
    "INSTANCE_TYPE_LABEL",
    "NODE_LEASE_NAMESPACE",
    "HollowNodes",
    "HollowOptions",
    "OptionsError",
    "Stats",
    "hollow_client_config",
    "parse_key_value",
    "parse_taint",
    "run_hollow_nodes",
]
