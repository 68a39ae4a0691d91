"""registries.yaml (k3s format) -> hosts.toml files and config.toml credentials."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kybernetes.cri.errors import ContainerdError
from kybernetes.cri.registries import (
    HOSTS_HEADER,
    auth_configs,
    hosts_files,
    load_registries,
    parse_registries,
)

CASES = [
    (
        "docker-hub-mirror",
        {"mirrors": {"docker.io": {"endpoint": ["https://mirror.example.com:5000"]}}},
        {
            "docker.io": {
                "server": "https://registry-1.docker.io",
                "capabilities": ["pull", "resolve"],
                "host": {
                    "https://mirror.example.com:5000/v2": {"capabilities": ["pull", "resolve"]}
                },
            }
        },
    ),
    (
        "loopback-without-scheme-is-http",
        {"mirrors": {"registry.local:5000": {"endpoint": ["127.0.0.1:5000", "localhost:443"]}}},
        {
            "registry.local:5000": {
                "server": "https://registry.local:5000",
                "capabilities": ["pull", "resolve"],
                "host": {
                    "http://127.0.0.1:5000/v2": {"capabilities": ["pull", "resolve"]},
                    "https://localhost:443/v2": {"capabilities": ["pull", "resolve"]},
                },
            }
        },
    ),
    (
        "wildcard-is-_default-without-server",
        {"mirrors": {"*": {"endpoint": ["http://10.0.0.5:5000"]}}},
        {"_default": {"host": {"http://10.0.0.5:5000/v2": {"capabilities": ["pull", "resolve"]}}}},
    ),
    (
        "custom-path-overrides",
        {"mirrors": {"quay.io": {"endpoint": ["https://proxy.example.com/quay/v2"]}}},
        {
            "quay.io": {
                "server": "https://quay.io",
                "capabilities": ["pull", "resolve"],
                "host": {
                    "https://proxy.example.com/quay/v2": {
                        "capabilities": ["pull", "resolve"],
                        "override_path": True,
                    }
                },
            }
        },
    ),
    (
        "endpoint-tls-and-duplicates",
        {
            "mirrors": {
                "ghcr.io": {"endpoint": ["https://m.example.com", "https://m.example.com/v2"]}
            },
            "configs": {
                "m.example.com": {
                    "tls": {
                        "ca_file": "/ca.pem",
                        "cert_file": "/c.pem",
                        "key_file": "/k.pem",
                        "insecure_skip_verify": True,
                    }
                }
            },
        },
        {
            "ghcr.io": {
                "server": "https://ghcr.io",
                "capabilities": ["pull", "resolve"],
                "host": {
                    "https://m.example.com/v2": {
                        "capabilities": ["pull", "resolve"],
                        "ca": ["/ca.pem"],
                        "client": [["/c.pem", "/k.pem"]],
                        "skip_verify": True,
                    }
                },
            },
            "m.example.com": {
                "server": "https://m.example.com",
                "capabilities": ["pull", "resolve"],
                "ca": ["/ca.pem"],
                "client": [["/c.pem", "/k.pem"]],
                "skip_verify": True,
            },
        },
    ),
    (
        "the-registry-itself-is-not-repeated",
        {"mirrors": {"r.example.com": {"endpoint": ["https://r.example.com"]}}},
        {"r.example.com": {"server": "https://r.example.com", "capabilities": ["pull", "resolve"]}},
    ),
    (
        "auth-only-needs-no-hosts-file",
        {"configs": {"r.example.com": {"auth": {"username": "u", "password": "p"}}}},
        {},
    ),
]


@pytest.mark.parametrize(("data", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hosts_files(data: dict, want: dict) -> None:
    files = hosts_files(parse_registries(data))
    assert {name: tomllib.loads(text) for name, text in files.items()} == want
    assert all(text.startswith(f"# {HOSTS_HEADER}\n") for text in files.values())


def test_credentials_go_to_config_toml_under_the_host_containerd_talks_to() -> None:
    registries = parse_registries(
        {
            "configs": {
                "docker.io": {"auth": {"username": "u", "password": "p"}},
                "r.example.com": {"auth": {"auth": "dTpw", "identity_token": "tok"}},
                "tls.example.com": {"tls": {"insecure_skip_verify": True}},
            }
        }
    )
    assert auth_configs(registries) == {
        "docker.io": {"username": "u", "password": "p"},
        "registry-1.docker.io": {"username": "u", "password": "p"},
        "r.example.com": {"auth": "dTpw", "identitytoken": "tok"},
    }


@pytest.mark.parametrize(
    "data",
    [
        ["not", "a", "mapping"],
        {"mirrors": ["docker.io"]},
        {"mirrors": {"docker.io": {"endpoint": [1]}}},
        {"mirrors": {"docker.io": {"rewrite": ["x"]}}},
        {"configs": {"r": {"auth": "user:pass"}}},
    ],
    ids=["top-list", "mirrors-list", "endpoint-int", "rewrite-list", "auth-string"],
)
def test_bad_shapes_are_rejected(data: object) -> None:
    with pytest.raises(ValueError):
        parse_registries(data)  # type: ignore[arg-type]


def test_load(tmp_path: Path) -> None:
    assert load_registries(tmp_path / "missing.yaml").mirrors == {}
    good = tmp_path / "registries.yaml"
    good.write_text('mirrors:\n  docker.io:\n    endpoint: "http://127.0.0.1:5000"\n')
    assert load_registries(good).mirrors["docker.io"].endpoints == ("http://127.0.0.1:5000",)
    bad = tmp_path / "bad.yaml"
    bad.write_text("mirrors: [")
    with pytest.raises(ContainerdError, match="not valid YAML"):
        load_registries(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("mirrors: 3\n")
    with pytest.raises(ContainerdError, match="mirrors"):
        load_registries(wrong)
