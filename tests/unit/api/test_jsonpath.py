"""api.jsonpath: the subset printer columns and scale paths use."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api import jsonpath

OBJ = {
    "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {"replicas": 3, "ports": [{"name": "http", "port": 80}, {"name": "https",
                                                                      "port": 443}]},
    "status": {"conditions": [{"type": "Available", "status": "False"},
                              {"type": "Ready", "status": "True"}]},
}


@pytest.mark.parametrize(("path", "want"), [
    (".spec.replicas", [3]),
    ("{.spec.replicas}", [3]),
    ("$.spec.replicas", [3]),
    (".spec.missing", []),
    (".spec.ports[0].name", ["http"]),
    (".spec.ports[-1].port", [443]),
    (".spec.ports[5].port", []),
    (".spec.ports[*].port", [80, 443]),
    (".spec.ports.*.name", ["http", "https"]),
    ("['spec']['replicas']", [3]),
    ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
    (".status.conditions[?(@.type!='Ready')].type", ["Available"]),
    (".spec.ports[?(@.port > 100)].name", ["https"]),
    (".spec.ports[?(@.name)].port", [80, 443]),
    (r".metadata.labels.app\.kubernetes\.io/name", ["web"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_find(path: str, want: list[Any]) -> None:
    assert jsonpath.find(OBJ, path) == want


@pytest.mark.parametrize("path", ["", "spec", ".spec[", ".a[?(@.x ~ 1)]", ".a[1:2]"])
def test_unsupported_syntax_is_a_value_error(path: str) -> None:
    with pytest.raises(ValueError):
        jsonpath.parse(path)


def test_first_and_set_path() -> None:
    assert jsonpath.first(OBJ, ".spec.replicas") == (True, 3)
    assert jsonpath.first(OBJ, ".spec.nope") == (False, None)
    obj: dict[str, Any] = {"spec": None}
    jsonpath.set_path(obj, ".spec.scale.replicas", 5)
    assert obj == {"spec": {"scale": {"replicas": 5}}}
    with pytest.raises(ValueError):
        jsonpath.set_path(obj, ".spec.items[0]", 1)
