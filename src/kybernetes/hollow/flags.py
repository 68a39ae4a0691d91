"""The `kyb hollow-nodes` command line: flags -> `HollowOptions`, and the process main.

`kybernetes.cli` adds the subcommand with `add_flags(parser)` and runs
`run_until_signalled(kubeconfig, options)` on its event loop; SIGTERM or SIGINT
ends the process with status 0 (the Nodes stay; their Leases go stale, as when
a kubelet stops).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from kybernetes.client import Client, ClientError, load_kubeconfig
from kybernetes.hollow.app import HollowNodes
from kybernetes.hollow.options import (
    HollowOptions,
    hollow_client_config,
    parse_key_value,
    parse_taint,
)

log = logging.getLogger("kybernetes.hollow")


def add_flags(parser: argparse.ArgumentParser) -> None:
    d = HollowOptions(count=0)
    add = parser.add_argument
    add("--kubeconfig", help="kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube/config)")
    add("--context", help="kubeconfig context (default: the current one)")
    add("--count", type=int, required=True, help="number of nodes")
    add("--name-prefix", default=d.name_prefix, help=f"node names (default {d.name_prefix}<i>)")
    add("--cpu", default=d.cpu, help=f"CPU capacity per node (default {d.cpu})")
    add("--memory", default=d.memory, help=f"memory capacity per node (default {d.memory})")
    add("--pods", type=int, default=d.pods, help=f"pod capacity per node (default {d.pods})")
    add("--ephemeral-storage", default=d.ephemeral_storage,
        help=f"ephemeral-storage capacity per node (default {d.ephemeral_storage})")
    add("--label", action="append", default=[], metavar="K=V", help="node label (repeatable)")
    add("--taint", action="append", default=[], metavar="K=V:EFFECT",
        help="taint registered with every node (repeatable)")
    add("--zones", default="", help="comma-separated zones, assigned round-robin")
    add("--region", default="", help="topology.kubernetes.io/region of every node")
    add("--arch", default=d.arch, help=f"kubernetes.io/arch (default {d.arch})")
    add("--pod-cidr-base", default=d.pod_cidr_base,
        help=f"range carved into per-node pod CIDRs (default {d.pod_cidr_base}; '' leaves "
             "spec.podCIDR to node IPAM)")
    add("--node-cidr-mask-size", type=int, default=None,
        help="prefix length of each node's pod CIDR (default 24, smaller blocks if needed)")
    add("--node-ip-base", default=d.node_ip_base,
        help=f"range of the nodes' InternalIPs (default {d.node_ip_base})")
    add("--job-duration", type=float, default=d.job_duration_seconds, metavar="SECONDS",
        help="run time of pods that run to completion (default 1)")
    add("--node-lease-duration-seconds", type=int, default=d.lease_duration_seconds,
        help="Lease duration; renewed every quarter of it (default 40)")
    add("--node-status-report-frequency", type=float, default=d.node_status_report_seconds,
        metavar="SECONDS", help="node status report period (default 60)")
    add("--kube-api-qps", type=float, default=None, help="client QPS (default: scaled to --count)")
    add("--kube-api-burst", type=int, default=None, help="client burst (default: 2 x QPS)")


def options_from_flags(args: argparse.Namespace) -> HollowOptions:
    """Validated options; raises `OptionsError` (a ValueError) with the flag to fix."""
    return HollowOptions(
        count=args.count,
        name_prefix=args.name_prefix,
        cpu=args.cpu,
        memory=args.memory,
        pods=args.pods,
        ephemeral_storage=args.ephemeral_storage,
        labels=tuple(parse_key_value(text, "--label") for text in args.label),
        taints=tuple(parse_taint(text) for text in args.taint),
        zones=tuple(z.strip() for z in args.zones.split(",") if z.strip()),
        region=args.region,
        arch=args.arch,
        pod_cidr_base=args.pod_cidr_base,
        node_cidr_mask_size=args.node_cidr_mask_size,
        node_ip_base=args.node_ip_base,
        job_duration_seconds=args.job_duration,
        lease_duration_seconds=args.node_lease_duration_seconds,
        node_status_report_seconds=args.node_status_report_frequency,
        qps=args.kube_api_qps,
        burst=args.kube_api_burst,
    ).validate()


async def run_until_signalled(kubeconfig: str | None, options: HollowOptions, *,
                              context: str | None = None) -> int:
    """Run the nodes until SIGTERM/SIGINT; 0 then, 1 if the kubeconfig is unusable."""
    try:
        config = hollow_client_config(load_kubeconfig(kubeconfig, context=context), options)
    except ClientError as exc:
        log.error("kyb hollow-nodes: %s", exc)
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Client(config) as client:
        nodes = HollowNodes(client, options)
        task = asyncio.create_task(nodes.run(), name="hollow nodes")
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        log.info("stopped; requests sent: %s", dict(nodes.stats.requests))
    return 0
