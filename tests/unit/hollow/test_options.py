"""HollowOptions.validate(), the command-line flags, and addresses: pure tables."""

from __future__ import annotations

import argparse
import ipaddress

import pytest

from kybernetes.cli.main import main
from kybernetes.client import Config
from kybernetes.hollow import HollowOptions, OptionsError, hollow_client_config
from kybernetes.hollow.addresses import PodIPAllocator, node_internal_ip, node_pod_cidr
from kybernetes.hollow.app import identities
from kybernetes.hollow.flags import add_flags, options_from_flags


@pytest.mark.parametrize(("count", "base", "mask", "want"), [
    (10, "10.244.0.0/16", None, 24),
    (256, "10.244.0.0/16", None, 24),
    (257, "10.244.0.0/16", None, 25),
    (500, "10.244.0.0/16", None, 25),
    (500, "10.0.0.0/8", None, 24),
    (3, "10.244.0.0/16", 26, 26),
    (3, "fd00::/48", None, 64),
], ids=["few", "exactly-256", "one-more-halves-the-blocks", "500", "wide-base", "explicit",
        "ipv6"])
def test_the_per_node_mask_fits_every_node(count: int, base: str, mask: int | None,
                                           want: int) -> None:
    opts = HollowOptions(count=count, pod_cidr_base=base, node_cidr_mask_size=mask).validate()
    assert opts.node_cidr_mask_size == want


@pytest.mark.parametrize(("fields", "message"), [
    ({"count": -1}, "--count"),
    ({"count": 1, "name_prefix": "Bad_"}, "--name-prefix"),
    ({"count": 1, "cpu": "lots"}, "--cpu"),
    ({"count": 1, "memory": "-1Gi"}, "--memory"),
    ({"count": 1, "pods": 0}, "--pods"),
    ({"count": 1, "labels": (("bad key!", "v"),)}, "--label"),
    ({"count": 1, "taints": (("k", "v", "Sometimes"),)}, "--taint"),
    ({"count": 2, "pod_cidr_base": "10.0.0.0/24", "node_cidr_mask_size": 24}, "fewer than"),
    ({"count": 1, "pod_cidr_base": "10.0.0.0/33"}, "--pod-cidr-base"),
    ({"count": 1, "node_ip_base": "nonsense"}, "--node-ip-base"),
    ({"count": 5000, "node_ip_base": "172.16.0.0/24"}, "--node-ip-base"),
    ({"count": 1, "job_duration_seconds": -1}, "--job-duration"),
], ids=["negative-count", "prefix", "cpu", "memory", "pods", "label", "taint-effect",
        "cidr-too-small", "cidr-invalid", "node-ip-invalid", "node-ip-too-small",
        "job-duration"])
def test_nonsense_is_rejected_naming_the_flag(fields: dict, message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        HollowOptions(**fields).validate()


def test_qps_grows_with_the_node_count_and_goes_into_the_client_config() -> None:
    small = HollowOptions(count=10).validate()
    big = HollowOptions(count=1000).validate()
    assert small.qps == 50 and small.burst == 100
    # 1000 nodes: 100 lease renewals/s + 16.7 status reports/s, twice over, + 20.
    assert big.qps == 253 and big.burst == 506
    config = hollow_client_config(Config(server="https://x:6443"), big)
    assert (config.qps, config.burst) == (253, 506)
    assert config.user_agent.startswith("kyb-hollow-nodes/")
    assert HollowOptions(count=10, qps=7, burst=9).validate().qps == 7


def test_flags_become_options() -> None:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    args = parser.parse_args([
        "--count", "4", "--name-prefix", "sim-", "--cpu", "8", "--memory", "32Gi",
        "--pods", "50", "--label", "team=a", "--label", "gpu", "--taint", "dedicated=x:NoSchedule",
        "--taint", "spot:PreferNoSchedule", "--zones", "a, b", "--job-duration", "2.5"])
    opts = options_from_flags(args)
    assert (opts.count, opts.name_prefix, opts.cpu, opts.memory, opts.pods) == (
        4, "sim-", "8", "32Gi", 50)
    assert opts.labels == (("team", "a"), ("gpu", ""))
    assert opts.taints == (("dedicated", "x", "NoSchedule"), ("spot", "", "PreferNoSchedule"))
    assert opts.zones == ("a", "b") and opts.job_duration_seconds == 2.5
    with pytest.raises(OptionsError, match="--taint"):
        options_from_flags(parser.parse_args(["--count", "1", "--taint", "k=v"]))


def test_kyb_hollow_nodes_rejects_bad_flags_before_connecting(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hollow-nodes", "--kubeconfig", "/nonexistent", "--count", "300",
                 "--pod-cidr-base", "10.0.0.0/24", "--node-cidr-mask-size", "24"])
    assert code == 2
    assert "kyb hollow-nodes: --pod-cidr-base 10.0.0.0/24 holds 1 /24 blocks" in (
        capsys.readouterr().err)


# --- addresses ------------------------------------------------------------------------------


def test_nodes_get_distinct_cidrs_and_ips_in_order() -> None:
    opts = HollowOptions(count=300).validate()
    ids = identities(opts)
    assert [i.pod_cidr for i in ids[:3]] == ["10.244.0.0/25", "10.244.0.128/25", "10.244.1.0/25"]
    assert [i.internal_ip for i in ids[:2]] == ["172.16.0.1", "172.16.0.2"]
    nets = [ipaddress.ip_network(i.pod_cidr) for i in ids]
    assert len(set(nets)) == 300
    assert all(n.subnet_of(ipaddress.ip_network("10.244.0.0/16")) for n in nets)  # type: ignore[arg-type]
    assert identities(HollowOptions(count=2, pod_cidr_base="").validate())[0].pod_cidr == ""


def test_cidr_and_ip_helpers_refuse_what_does_not_fit() -> None:
    assert node_pod_cidr("10.0.0.0/8", 24, 257) == "10.1.1.0/24"
    assert node_internal_ip("172.16.0.0/12", 0) == "172.16.0.1"
    with pytest.raises(ValueError):
        node_pod_cidr("10.0.0.0/24", 25, 2)
    with pytest.raises(ValueError):
        node_internal_ip("10.0.0.0/31", 1)


def test_the_allocator_rotates_and_never_hands_out_an_address_twice() -> None:
    alloc = PodIPAllocator("10.0.0.0/29")  # 8 addresses: .2-.6 usable
    assert alloc.capacity == 5
    got = [alloc.allocate(f"u{i}") for i in range(5)]
    assert got == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    assert alloc.allocate("u0") == "10.0.0.2"  # idempotent
    assert alloc.allocate("u5") is None  # exhausted
    alloc.release("u1")
    assert alloc.allocate("u5") == "10.0.0.3"
    alloc.release("u2")
    alloc.release("u3")
    assert alloc.allocate("u6") == "10.0.0.4"  # next-fit from the last handed out
    assert len(alloc) == 4


def test_the_allocator_takes_back_addresses_pods_already_have() -> None:
    alloc = PodIPAllocator("10.0.0.0/24")
    assert alloc.claim("a", "10.0.0.2")
    assert alloc.claim("a", "10.0.0.2")
    assert not alloc.claim("b", "10.0.0.2")  # taken
    assert not alloc.claim("b", "10.9.9.9")  # not ours
    assert not alloc.claim("b", "nonsense")
    assert alloc.allocate("c") == "10.0.0.3"
