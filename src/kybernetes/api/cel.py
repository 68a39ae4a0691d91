"""Common Expression Language: compile once, evaluate over plain JSON values.

A thin layer over `cel-python` (`celpy`) shared by CRD validation rules
(`x-kubernetes-validations`) and ValidatingAdmissionPolicy:

    program = compile("self.replicas <= self.maxReplicas")    # CelCompileError
    value = evaluate(program, {"self": {"replicas": 1, ...}})  # CelEvalError

Activations and results are plain Python JSON values (dict, list, str, int,
float, bool, None); conversion to and from CEL types happens here. Python ints
are CEL `int`, floats `double` (as upstream, a `number` field holding 3 is an
`int` unless the caller passes 3.0).

Besides the CEL standard library, the Kubernetes extension functions that
rules use most are provided (k8s.io/apiserver/pkg/cel/library and cel-go's
strings extension): `lowerAscii`, `upperAscii`, `split`, `join`, `trim`,
`replace`, `indexOf`, `lastIndexOf`, `substring`, `charAt`, `isSorted`, `sum`,
`min`, `max`, `find`, `findAll`. Type checking is dynamic (celpy has no
checker): a wrong operand type is an evaluation error, not a compile error.

Contract: `Program` is immutable and may be shared; `evaluate` is pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes

__all__ = ["CelCompileError", "CelError", "CelEvalError", "Program", "compile", "evaluate",
           "from_cel", "to_cel"]


class CelError(Exception):
    """A CEL expression could not be compiled or evaluated."""


class CelCompileError(CelError):
    """Syntax error (the message carries the position)."""


class CelEvalError(CelError):
    """Runtime error: missing key, no such overload, division by zero, bad regex..."""


@dataclass(frozen=True, eq=False)
class Program:
    """A compiled expression. `variables` are the top-level identifiers it names."""

    expression: str
    variables: frozenset[str]
    _runner: Any

    def uses(self, name: str) -> bool:
        return name in self.variables


_ENV = celpy.Environment()
_IDENT = re.compile(r"(?<![\w.'\"])([A-Za-z_]\w*)")


def compile(expression: str) -> Program:
    """Compile `expression`; raises CelCompileError on a syntax error."""
    return _compile(expression)


@functools.lru_cache(maxsize=4096)
def _compile(expression: str) -> Program:
    try:
        ast = _ENV.compile(expression)
    except celpy.CELParseError as exc:
        raise CelCompileError(_parse_message(exc)) from None
    except Exception as exc:  # lark raises a variety of errors on odd input
        raise CelCompileError(f"ERROR: <input>: {exc}") from None
    runner = _ENV.program(ast, functions=_FUNCTIONS)
    return Program(expression, frozenset(_IDENT.findall(_strip_strings(expression))), runner)


def _parse_message(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return "ERROR: <input>: Syntax error: " + " ".join(x.strip() for x in lines[:1])


def _strip_strings(expression: str) -> str:
    return re.sub(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"", "''", expression)


def evaluate(program: Program, activation: Mapping[str, Any]) -> Any:
    """Evaluate with `activation` (name -> JSON value); returns a JSON value."""
    try:
        result = program._runner.evaluate({k: to_cel(v) for k, v in activation.items()})
    except celpy.CELEvalError as exc:
        raise CelEvalError(_eval_message(exc)) from None
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
        raise CelEvalError(str(exc)) from None
    if isinstance(result, celpy.CELEvalError):
        raise CelEvalError(_eval_message(result))
    return from_cel(result)


def _eval_message(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    text = str(args[0]) if args else str(exc)
    kind = args[1] if len(args) > 1 else None
    if kind is KeyError:
        m = re.search(r"'([^']*)'", text)
        return f"no such key: {m.group(1) if m else text}"
    if kind is TypeError and "overload" in text:
        return "no such overload"
    if kind is ZeroDivisionError:
        return "division by zero"
    if kind is IndexError:
        return "index out of bounds"
    return text


# --- value conversion ----------------------------------------------------------------


def to_cel(value: Any) -> Any:
    """A JSON value as a CEL value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, bytes):
        return celtypes.BytesType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType({celtypes.StringType(k): to_cel(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return celtypes.ListType([to_cel(v) for v in value])
    return value


def from_cel(value: Any) -> Any:
    """A CEL value as a JSON value (durations and timestamps as their string form)."""
    if value is None:
        return None
    if isinstance(value, celtypes.BoolType | bool):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType | float):
        return float(value)
    if isinstance(value, celtypes.StringType | str):
        return str(value)
    if isinstance(value, celtypes.BytesType | bytes):
        return bytes(value)
    if isinstance(value, Mapping):
        return {from_cel(k): from_cel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_cel(v) for v in value]
    if isinstance(value, int):
        return int(value)
    return str(value)


# --- Kubernetes extension functions ---------------------------------------------------


def _s(value: Any) -> celtypes.StringType:
    return celtypes.StringType(value)


def _index_of(target: Any, item: Any, start: Any = 0) -> celtypes.IntType:
    if isinstance(target, str):
        return celtypes.IntType(target.find(item, int(start)))
    items = list(target)
    for i in range(int(start), len(items)):
        if items[i] == item:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _last_index_of(target: Any, item: Any) -> celtypes.IntType:
    if isinstance(target, str):
        return celtypes.IntType(target.rfind(item))
    items = list(target)
    for i in range(len(items) - 1, -1, -1):
        if items[i] == item:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _split(text: Any, sep: Any, limit: Any = -1) -> celtypes.ListType:
    n = int(limit)
    if n == 0:
        return celtypes.ListType([])
    parts = str(text).split(str(sep)) if n < 0 else str(text).split(str(sep), n - 1)
    return celtypes.ListType([_s(p) for p in parts])


def _substring(text: Any, start: Any, end: Any = None) -> celtypes.StringType:
    s = str(text)
    lo, hi = int(start), len(s) if end is None else int(end)
    if not 0 <= lo <= hi <= len(s):
        raise IndexError(f"index out of range: {lo}")
    return _s(s[lo:hi])


def _join(items: Any, sep: Any = "") -> celtypes.StringType:
    return _s(str(sep).join(str(x) for x in items))


def _is_sorted(items: Any) -> celtypes.BoolType:
    seq = list(items)
    return celtypes.BoolType(all(seq[i] <= seq[i + 1] for i in range(len(seq) - 1)))


def _sum(items: Any) -> Any:
    seq = list(items)
    if not seq:
        return celtypes.IntType(0)
    total = seq[0]
    for x in seq[1:]:
        total = total + x
    return total


def _min(*args: Any) -> Any:
    seq = list(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not seq:
        raise ValueError("min(list) argument must not be empty")
    return min(seq)


def _max(*args: Any) -> Any:
    seq = list(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not seq:
        raise ValueError("max(list) argument must not be empty")
    return max(seq)


def _find(text: Any, pattern: Any) -> celtypes.StringType:
    m = re.search(str(pattern), str(text))
    return _s(m.group(0) if m else "")


def _find_all(text: Any, pattern: Any, limit: Any = -1) -> celtypes.ListType:
    found = [m.group(0) for m in re.finditer(str(pattern), str(text))]
    if int(limit) >= 0:
        found = found[: int(limit)]
    return celtypes.ListType([_s(x) for x in found])


_FUNCTIONS: dict[str, Any] = {
    "lowerAscii": lambda s: _s(str(s).lower()),
    "upperAscii": lambda s: _s(str(s).upper()),
    "trim": lambda s: _s(str(s).strip()),
    "charAt": lambda s, i: _s(str(s)[int(i)] if int(i) < len(str(s)) else ""),
    "replace": lambda s, old, new, n=-1: _s(str(s).replace(str(old), str(new), int(n))),
    "split": _split,
    "substring": _substring,
    "join": _join,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "find": _find,
    "findAll": _find_all,
}
