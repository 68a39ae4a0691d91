"""api.cel: compile once, evaluate over JSON values, Kubernetes extension functions."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api import cel


@pytest.mark.parametrize(("expr", "activation", "want"), [
    ("self.replicas <= self.max", {"self": {"replicas": 1, "max": 3}}, True),
    ("self.name.startsWith('web-') && size(self.name) < 10", {"self": {"name": "web-1"}}, True),
    ("has(self.spec) ? self.spec.x : 0", {"self": {"spec": {"x": 7}}}, 7),
    ("has(self.spec)", {"self": {}}, False),
    ("self.items.all(i, i > 0)", {"self": {"items": [1, 2]}}, True),
    ("self.items.exists(i, i == 2)", {"self": {"items": [1, 2]}}, True),
    ("self.items.map(i, i * 2)", {"self": {"items": [1, 2]}}, [2, 4]),
    ("self.items.filter(i, i > 1)", {"self": {"items": [1, 2, 3]}}, [2, 3]),
    ("self.ratio * 2.0", {"self": {"ratio": 1.5}}, 3.0),
    ("'replicas: ' + string(self.n)", {"self": {"n": 3}}, "replicas: 3"),
    ("self.x == oldSelf.x", {"self": {"x": 1}, "oldSelf": {"x": 1}}, True),
    ("self.m['k'] == 'v'", {"self": {"m": {"k": "v"}}}, True),
    ("'k' in self.m", {"self": {"m": {"k": "v"}}}, True),
    ("self.s.matches('^[a-z]+$')", {"self": {"s": "abc"}}, True),
    ("self == null", {"self": None}, True),
], ids=["compare", "strings", "has-ternary", "has-missing", "all", "exists", "map", "filter",
        "double", "concat", "old-self", "index", "in", "matches", "null"])
def test_evaluate(expr: str, activation: dict[str, Any], want: Any) -> None:
    assert cel.evaluate(cel.compile(expr), activation) == want


@pytest.mark.parametrize(("expr", "want"), [
    ("'AbC'.lowerAscii()", "abc"),
    ("'AbC'.upperAscii()", "ABC"),
    ("'  a '.trim()", "a"),
    ("'a,b,c'.split(',')", ["a", "b", "c"]),
    ("['a', 'b'].join('-')", "a-b"),
    ("'hello'.indexOf('l')", 2),
    ("'hello'.lastIndexOf('l')", 3),
    ("'hello'.substring(1, 3)", "el"),
    ("'hello'.replace('l', 'L')", "heLLo"),
    ("'hello'.charAt(1)", "e"),
    ("[1, 2, 3].isSorted()", True),
    ("[3, 1].isSorted()", False),
    ("[1, 2, 3].sum()", 6),
    ("[4, 2, 9].min()", 2),
    ("[4, 2, 9].max()", 9),
    ("[1, 2, 3].indexOf(2)", 1),
    ("'abc123'.find('[0-9]+')", "123"),
    ("'a1b22'.findAll('[0-9]+')", ["1", "22"]),
], ids=lambda v: v if isinstance(v, str) and "(" in v else None)
def test_kubernetes_library(expr: str, want: Any) -> None:
    assert cel.evaluate(cel.compile(expr), {}) == want


def test_compile_error_carries_the_input() -> None:
    with pytest.raises(cel.CelCompileError) as err:
        cel.compile("self.replicas >")
    assert str(err.value).startswith("ERROR: <input>")


@pytest.mark.parametrize(("expr", "activation", "message"), [
    ("self.missing > 1", {"self": {}}, "no such key: missing"),
    ("self.a == 1", {"self": {"a": "x"}}, "no such overload"),
    ("1 / self", {"self": 0}, "division by zero"),
    ("self[3]", {"self": [1]}, "index out of bounds"),
], ids=["no-key", "overload", "div-zero", "index"])
def test_evaluation_errors(expr: str, activation: dict[str, Any], message: str) -> None:
    with pytest.raises(cel.CelEvalError) as err:
        cel.evaluate(cel.compile(expr), activation)
    assert str(err.value) == message


def test_program_names_its_variables() -> None:
    program = cel.compile("self.x == oldSelf.x && 'oldSelf' != self.y")
    assert program.uses("self") and program.uses("oldSelf")
    assert not cel.compile("self.oldSelf == 1").uses("oldSelf")


def test_compile_is_cached() -> None:
    assert cel.compile("1 + 1") is cel.compile("1 + 1")


def test_values_round_trip() -> None:
    value = {"a": [1, 2.5, "s", True, None, {"b": {}}]}
    assert cel.from_cel(cel.to_cel(value)) == value
