"""The node's CNI conflist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kybernetes.cri.cni import CONFLIST_NAME, cni_conflist, write_cni_config


def test_ipv4_bridge_host_local_portmap_loopback() -> None:
    conf = cni_conflist(["10.42.3.0/24"], ipam_dir="/var/lib/kyb/cni/ipam")
    assert conf["cniVersion"] == "1.0.0"
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap", "loopback"]
    bridge = conf["plugins"][0]
    assert bridge | {"ipam": None} == {
        "type": "bridge",
        "bridge": "kyb0",
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
        "ipam": None,
    }
    assert bridge["ipam"] == {
        "type": "host-local",
        "dataDir": "/var/lib/kyb/cni/ipam",
        "ranges": [[{"subnet": "10.42.3.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
    }
    assert conf["plugins"][1] == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_dual_stack_gets_a_range_and_default_route_per_family() -> None:
    conf = cni_conflist(["10.42.0.0/24", "fd00:42::/64"], ipam_dir="/x", masquerade=False)
    ipam = conf["plugins"][0]["ipam"]
    assert ipam["ranges"] == [[{"subnet": "10.42.0.0/24"}], [{"subnet": "fd00:42::/64"}]]
    assert ipam["routes"] == [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]
    assert conf["plugins"][0]["ipMasq"] is False


@pytest.mark.parametrize(
    ("cidrs", "options"),
    [
        ([], {}),
        (["10.42.0.0/24", "10.43.0.0/24"], {}),
        (["10.42.0.1/24"], {}),
        (["not-a-cidr"], {}),
        (["10.42.0.0/24"], {"bridge": "a-much-too-long-name"}),
    ],
    ids=["none", "two-ipv4", "host-bits", "garbage", "long-bridge"],
)
def test_bad_input_is_rejected(cidrs: list[str], options: dict) -> None:
    with pytest.raises(ValueError):
        cni_conflist(cidrs, ipam_dir="/x", **options)


def test_write_is_atomic_and_idempotent(tmp_path: Path) -> None:
    conf_dir = tmp_path / "net.d"
    path = write_cni_config(conf_dir, ["10.42.0.0/24"], ipam_dir=tmp_path / "ipam")
    assert path == conf_dir / CONFLIST_NAME
    assert json.loads(path.read_text())["plugins"][0]["ipam"]["dataDir"] == str(tmp_path / "ipam")
    assert (tmp_path / "ipam").is_dir()
    before = path.stat().st_mtime_ns
    assert write_cni_config(conf_dir, ["10.42.0.0/24"], ipam_dir=tmp_path / "ipam") == path
    assert path.stat().st_mtime_ns == before
    assert sorted(p.name for p in conf_dir.iterdir()) == [CONFLIST_NAME]
    write_cni_config(conf_dir, ["10.42.1.0/24"], ipam_dir=tmp_path / "ipam")
    assert "10.42.1.0/24" in path.read_text()
