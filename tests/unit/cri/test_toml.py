"""The TOML writer: what it writes must read back identically (tomllib)."""

from __future__ import annotations

import tomllib

import pytest

from kybernetes.cri import _toml

DOCUMENTS = [
    ("flat", {"version": 2, "root": "/var/lib/x", "debug": False, "ratio": 0.5}),
    ("nested", {"a": 1, "grpc": {"address": "/run/x.sock"}, "b": {"c": {"d": "e"}}}),
    ("dotted-keys", {"plugins": {"io.containerd.grpc.v1.cri": {"sandbox_image": "p:1"}}}),
    ("odd-keys", {"host": {"http://127.0.0.1:5000/v2": {"capabilities": ["pull"]}}}),
    ("lists", {"client": [["cert.pem", "key.pem"]], "ports": [1, 2], "empty": []}),
    ("escapes", {"s": 'quote " backslash \\ tab \t newline \n del \x7f é'}),
    ("empty-table", {"a": {}, "b": {"c": {}}}),
]


@pytest.mark.parametrize("document", [d for _, d in DOCUMENTS], ids=[i for i, _ in DOCUMENTS])
def test_round_trip(document: dict) -> None:
    assert tomllib.loads(_toml.dumps(document)) == document


def test_keys_come_before_subtables_whatever_the_dict_order() -> None:
    # root after [grpc] would belong to grpc: the pitfall of a hand-written config.
    text = _toml.dumps({"grpc": {"address": "/s"}, "root": "/r"})
    assert tomllib.loads(text) == {"grpc": {"address": "/s"}, "root": "/r"}
    assert text.index("root") < text.index("[grpc]")


def test_none_values_are_left_out_and_header_is_a_comment() -> None:
    text = _toml.dumps({"a": None, "b": 1}, header="Generated.\nDo not edit.")
    assert text.startswith("# Generated.\n# Do not edit.\n")
    assert tomllib.loads(text) == {"b": 1}


@pytest.mark.parametrize("value", [float("inf"), object(), {1, 2}], ids=["inf", "object", "set"])
def test_unwritable_values_raise(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        _toml.dumps({"x": value})
