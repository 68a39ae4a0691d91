"""`HollowOptions`: what `kyb hollow-nodes` simulates, and how hard it may press the server.

One frozen, keyword-only dataclass; `validate()` fills the derived defaults
(the per-node pod CIDR mask size, the client's QPS/burst) and rejects nonsense
with a message that says what to change.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from dataclasses import dataclass

from kybernetes.api.validation import parse_quantity
from kybernetes.client import Config

# The effects a taint may have (core/v1 TaintEffect).
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class OptionsError(ValueError):
    """Unusable hollow-node options; the message names the flag to fix."""


@dataclass(frozen=True, kw_only=True)
class HollowOptions:
    """The simulated nodes: N nodes named `<name_prefix><i>` for i in [0, count).

    Pod CIDRs: node i gets the i-th `/node_cidr_mask_size` block of
    `pod_cidr_base` (None mask: /24, or smaller blocks when `count` /24s do not
    fit), written to `spec.podCIDR` at registration unless the node already has
    one (a node IPAM controller's choice is honoured). An empty `pod_cidr_base`
    leaves `spec.podCIDR` to the cluster's node IPAM controller; pods then wait
    in Pending until their node has a CIDR (as with a real CNI).
    """

    count: int
    name_prefix: str = "hollow-node-"
    cpu: str = "32"
    memory: str = "256Gi"
    pods: int = 110
    ephemeral_storage: str = "1Ti"
    labels: tuple[tuple[str, str], ...] = ()
    # (key, value, effect); registered with the node, as kubelet's --register-with-taints.
    taints: tuple[tuple[str, str, str], ...] = ()
    # Nodes are spread round-robin over these zones (topology.kubernetes.io/zone).
    zones: tuple[str, ...] = ()
    region: str = ""
    arch: str = "amd64"
    pod_cidr_base: str = "10.244.0.0/16"
    node_cidr_mask_size: int | None = None
    # InternalIP of node i: the (i+1)-th address of this range.
    node_ip_base: str = "172.16.0.0/12"
    # Run time (seconds) of containers of pods that run to completion (restartPolicy
    # Never/OnFailure, or owned by a Job); per pod: annotation hollow.kybernetes.io/duration.
    job_duration_seconds: float = 1.0
    # Graceful deletion: the containers are "killed" after min(grace period, this).
    kill_delay_seconds: float = 1.0
    # Lease heartbeat: spec.leaseDurationSeconds; renewed every quarter of it (kubelet).
    lease_duration_seconds: int = 40
    # Node status (conditions' lastHeartbeatTime) is reported this often, or on change.
    node_status_report_seconds: float = 60.0
    # Client-side rate limit for the whole process; None: scaled with `count`.
    qps: float | None = None
    burst: int | None = None
    # Concurrent heartbeat requests (registration, leases, node status); None: scaled.
    heartbeat_workers: int | None = None
    pod_workers: int = 8

    def validate(self) -> HollowOptions:
        """These options with derived defaults filled in; raises `OptionsError`."""
        self._check_basics()
        for key, value in self.labels:
            _check_label(key, value, "--label")
        for key, value, effect in self.taints:
            _check_label(key, value, "--taint")
            if effect not in TAINT_EFFECTS:
                raise OptionsError(f"--taint {key}={value}:{effect}: the effect must be one of "
                                   + ", ".join(TAINT_EFFECTS))
        mask = self._node_mask()
        qps = self.qps if self.qps is not None else default_qps(self)
        burst = self.burst if self.burst is not None else max(100, int(2 * qps))
        workers = (self.heartbeat_workers if self.heartbeat_workers is not None
                   else min(32, max(2, self.count // 16)))
        if qps <= 0 or burst < 1 or workers < 1 or self.pod_workers < 1:
            raise OptionsError("--kube-api-qps and --kube-api-burst must be positive")
        return dataclasses.replace(self, node_cidr_mask_size=mask, qps=qps, burst=burst,
                                   heartbeat_workers=workers)

    def _check_basics(self) -> None:
        if self.count < 0:
            raise OptionsError(f"--count must be 0 or more (got {self.count})")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*)?", self.name_prefix):
            raise OptionsError(f"--name-prefix {self.name_prefix!r}: node names are DNS "
                               "subdomains: lower-case letters, digits, '-' and '.'")
        if len(f"{self.name_prefix}{max(self.count - 1, 0)}") > 253:
            raise OptionsError("--name-prefix is too long for a node name")
        for flag, text in (("--cpu", self.cpu), ("--memory", self.memory),
                           ("--ephemeral-storage", self.ephemeral_storage)):
            value = parse_quantity(text)
            if value is None or value < 0:
                raise OptionsError(f"{flag} {text!r} is not a quantity (e.g. 32, 500m, 256Gi)")
        if self.pods < 1:
            raise OptionsError(f"--pods must be at least 1 (got {self.pods})")
        if self.job_duration_seconds < 0 or self.kill_delay_seconds < 0:
            raise OptionsError("--job-duration must not be negative")
        if self.lease_duration_seconds < 1 or self.node_status_report_seconds <= 0:
            raise OptionsError("the lease duration and the status report period must be > 0")
        try:
            ipaddress.ip_network(self.node_ip_base)
        except ValueError as exc:
            raise OptionsError(f"--node-ip-base: {exc}") from None
        if ipaddress.ip_network(self.node_ip_base).num_addresses < self.count + 2:
            raise OptionsError(f"--node-ip-base {self.node_ip_base} has fewer addresses than "
                               f"--count {self.count} nodes")

    def _node_mask(self) -> int | None:
        if not self.pod_cidr_base:
            return self.node_cidr_mask_size
        try:
            base = ipaddress.ip_network(self.pod_cidr_base)
        except ValueError as exc:
            raise OptionsError(f"--pod-cidr-base: {exc}") from None
        width = base.max_prefixlen
        # Room for every node: the base must hold `count` blocks.
        needed = base.prefixlen + max(0, math.ceil(math.log2(max(self.count, 1))))
        mask = self.node_cidr_mask_size
        if mask is None:
            mask = max(needed, base.prefixlen, 24 if width == 32 else 64)
        if mask < base.prefixlen or mask > width - 2:
            raise OptionsError(f"--node-cidr-mask-size {mask} does not fit in "
                               f"--pod-cidr-base {base}")
        if mask < needed:
            mask_hint = f"--node-cidr-mask-size {needed}" if needed <= width - 2 else ""
            raise OptionsError(f"--pod-cidr-base {base} holds {2 ** (mask - base.prefixlen)} "
                               f"/{mask} blocks, fewer than --count {self.count}; use a wider "
                               f"base (e.g. 10.0.0.0/8) {mask_hint}".rstrip())
        return mask

    @property
    def lease_renew_interval_seconds(self) -> float:
        """How often a Lease is renewed: a quarter of its duration (kubelet's
        `renewIntervalFraction`, so three renewals may fail before it expires)."""
        return self.lease_duration_seconds * 0.25

    def node_names(self) -> list[str]:
        return [f"{self.name_prefix}{i}" for i in range(self.count)]


def default_qps(options: HollowOptions) -> float:
    """Enough for the steady heartbeat load (a Lease renewal per node every quarter
    lease duration, a status report per node per report period) twice over, plus
    room for pod status updates: never less than the client's default 50."""
    per_node = (1.0 / options.lease_renew_interval_seconds
                + 1.0 / options.node_status_report_seconds)
    return max(50.0, round(2 * per_node * options.count + 20.0))


def hollow_client_config(config: Config, options: HollowOptions) -> Config:
    """`config` with the rate limit hollow nodes need (see `default_qps`) and their own
    user agent; `options` must be validated."""
    assert options.qps is not None and options.burst is not None, "validate() first"
    return config.replace(qps=options.qps, burst=options.burst,
                          user_agent=f"kyb-hollow-nodes/{config.user_agent}")


def _check_label(key: str, value: str, flag: str) -> None:
    if not key or len(key) > 316 or not _LABEL_KEY.match(key):
        raise OptionsError(f"{flag}: {key!r} is not a valid label key")
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise OptionsError(f"{flag}: {value!r} is not a valid label value")


def parse_key_value(text: str, flag: str) -> tuple[str, str]:
    """`k=v` (or `k`, an empty value) for --label."""
    key, _, value = text.partition("=")
    _check_label(key, value, flag)
    return key, value


def parse_taint(text: str) -> tuple[str, str, str]:
    """`k=v:Effect` or `k:Effect` for --taint."""
    head, sep, effect = text.rpartition(":")
    if not sep:
        raise OptionsError(f"--taint {text!r}: expected key=value:Effect")
    key, _, value = head.partition("=")
    if effect not in TAINT_EFFECTS:
        raise OptionsError(f"--taint {text!r}: the effect must be one of "
                           + ", ".join(TAINT_EFFECTS))
    _check_label(key, value, "--taint")
    return key, value, effect

