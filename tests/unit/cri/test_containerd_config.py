"""The managed containerd's config.toml, file layout and argument checks."""

from __future__ import annotations

import asyncio
import stat
import tomllib
from pathlib import Path

import pytest

from kybernetes.cri.containerd import (
    CRI_PLUGIN,
    NOT_INSTALLED,
    Containerd,
    ContainerdConfig,
    render_config,
    write_config,
)
from kybernetes.cri.errors import ContainerdError
from kybernetes.cri.registries import HOSTS_HEADER, parse_registries


def config(tmp: Path | str = "/var/lib/kyb", **options) -> ContainerdConfig:
    return ContainerdConfig(data_dir=Path(tmp), **options).validate()


def test_everything_lives_under_the_data_dir() -> None:
    doc = tomllib.loads(render_config(config()))
    assert doc["version"] == 2
    assert doc["root"] == "/var/lib/kyb/containerd/root"
    assert doc["state"] == "/var/lib/kyb/containerd/state"
    assert doc["grpc"] == {"address": "/var/lib/kyb/containerd/containerd.sock"}
    assert doc["plugins"]["io.containerd.internal.v1.opt"] == {
        "path": "/var/lib/kyb/containerd/opt"
    }


def test_cri_plugin_settings_this_host_needs() -> None:
    cri = tomllib.loads(render_config(config()))["plugins"][CRI_PLUGIN]
    assert cri["sandbox_image"] == "kyb.local/pause:3.10"
    assert cri["restrict_oom_score_adj"] is True
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"] == {"SystemdCgroup": False, "Root": "/var/lib/kyb/containerd/runc"}
    assert cri["containerd"]["default_runtime_name"] == "runc"
    assert cri["cni"] == {
        "bin_dir": "/usr/lib/cni",
        "conf_dir": "/var/lib/kyb/cni/net.d",
        "max_conf_num": 1,
    }
    assert cri["registry"] == {"config_path": "/var/lib/kyb/containerd/certs.d"}
    assert cri["stream_server_address"] == "127.0.0.1"
    assert cri["stream_server_port"] == "0"


def test_registry_credentials_land_in_the_cri_registry_configs() -> None:
    registries = parse_registries(
        {"configs": {"r.example.com:5000": {"auth": {"username": "u", "password": "p"}}}}
    )
    registry = tomllib.loads(render_config(config(), registries))["plugins"][CRI_PLUGIN]["registry"]
    assert registry["configs"] == {
        "r.example.com:5000": {"auth": {"username": "u", "password": "p"}}
    }


def test_options_show_up() -> None:
    cfg = config(
        sandbox_image="registry.local/pause:9", snapshotter="native", stream_server_port=10010
    )
    cri = tomllib.loads(render_config(cfg))["plugins"][CRI_PLUGIN]
    assert (cri["sandbox_image"], cri["containerd"]["snapshotter"], cri["stream_server_port"]) == (
        "registry.local/pause:9",
        "native",
        "10010",
    )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"data_dir": Path("/" + "d" * 100)}, "longer than"),
        ({"log_level": "loud"}, "log_level"),
        ({"sandbox_image": ""}, "sandbox_image"),
        ({"stream_server_port": 70000}, "stream_server_port"),
    ],
    ids=["socket-too-long", "log-level", "no-sandbox-image", "port"],
)
def test_validate_rejects_nonsense(options: dict, match: str) -> None:
    options = {"data_dir": Path("/var/lib/kyb"), **options}
    with pytest.raises(ContainerdError, match=match):
        ContainerdConfig(**options).validate()


def test_validate_makes_paths_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert config("data").data_dir == tmp_path / "data"


def test_write_config_files_and_modes(tmp_path: Path) -> None:
    registries_file = tmp_path / "registries.yaml"
    registries_file.write_text(
        "mirrors:\n  docker.io:\n    endpoint: [http://127.0.0.1:5000]\n"
        "configs:\n  docker.io:\n    auth: {username: u, password: secret}\n"
    )
    cfg = config(tmp_path / "data", registries_file=registries_file)
    admin = cfg.certs_dir / "admin.example.com"
    admin.mkdir(parents=True)
    (admin / "hosts.toml").write_text('server = "https://admin.example.com"\n')
    stale = cfg.certs_dir / "stale.example.com"
    stale.mkdir()
    (stale / "hosts.toml").write_text(f"# {HOSTS_HEADER}\n")

    write_config(cfg)

    assert stat.S_IMODE(cfg.config_file.stat().st_mode) == 0o600  # holds the password
    assert "secret" in cfg.config_file.read_text()
    assert tomllib.loads(cfg.config_file.read_text())["root"] == str(cfg.root)
    hosts = tomllib.loads((cfg.certs_dir / "docker.io" / "hosts.toml").read_text())
    assert list(hosts["host"]) == ["http://127.0.0.1:5000/v2"]
    assert (admin / "hosts.toml").exists()  # the admin's own file stays
    assert not stale.exists()  # ours from an older registries.yaml goes
    assert cfg.cni_conf_dir.is_dir() and cfg.cni_ipam_dir.is_dir()
    assert stat.S_IMODE(cfg.dir.stat().st_mode) == 0o711


def test_containerd_needs_exactly_one_of_config_and_endpoint(tmp_path: Path) -> None:
    with pytest.raises(ContainerdError):
        Containerd()
    with pytest.raises(ContainerdError):
        Containerd(config(tmp_path), endpoint="unix:///run/containerd/containerd.sock")
    external = Containerd(endpoint="/run/containerd/containerd.sock")
    assert (external.managed, external.endpoint, external.address) == (
        False,
        "unix:///run/containerd/containerd.sock",
        "/run/containerd/containerd.sock",
    )
    managed = Containerd(config(tmp_path))
    assert managed.managed and managed.endpoint == f"unix://{tmp_path}/containerd/containerd.sock"


def test_start_without_the_binary_says_how_to_install_it(tmp_path: Path) -> None:
    containerd = Containerd(config(tmp_path, binary="no-such-containerd-binary"))
    with pytest.raises(ContainerdError) as info:
        asyncio.run(containerd.start())
    assert str(info.value) == NOT_INSTALLED


def test_start_reports_a_daemon_that_dies(tmp_path: Path) -> None:
    fake = tmp_path / "fake-containerd"
    fake.write_text("#!/bin/sh\necho 'fake: bad config' >&2\nexit 3\n")
    fake.chmod(0o755)
    containerd = Containerd(config(tmp_path, binary=str(fake)))
    with pytest.raises(ContainerdError, match=r"exited with code 3(.|\n)*fake: bad config"):
        asyncio.run(containerd.start())
    assert containerd.pid is None
