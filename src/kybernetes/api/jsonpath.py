"""The JSONPath subset that CRD printer columns and scale paths use.

    find(obj, ".status.conditions[?(@.type==\"Ready\")].status") -> ["True"]

Supported, as k8s.io/client-go/util/jsonpath reads them: an optional `{...}`
wrapper, `.field` (a backslash escapes a dot: `.metadata.labels.app\\.io/name`),
`['field']`, `[N]` (negative from the end), `[*]` and `.*`, and filters
`[?(@.a.b == "x")]` with `==`/`!=`/`<`/`>`/`<=`/`>=` against a string, number
or boolean literal, or `[?(@.a)]` for "has a". Results are the matches in
document order; a missing field is no match (never an error).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

Step = tuple[str, Any]  # ("field", name) | ("index", n) | ("all", None) | ("filter", Filter)


@dataclass(frozen=True)
class Filter:
    path: tuple[str, ...]
    op: str  # "" = exists
    value: Any = None


_FILTER = re.compile(r"""^\?\(\s*@((?:\.[\w\-/]+)*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$""")


@functools.lru_cache(maxsize=1024)
def parse(path: str) -> tuple[Step, ...]:
    """The steps of `path`; ValueError for syntax outside the subset."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Step] = []
    i, n = 0, len(text)
    if n == 0:
        raise ValueError("empty JSONPath")
    while i < n:
        ch = text[i]
        if ch == ".":
            i += 1
            if i < n and text[i] == "*":
                steps.append(("all", None))
                i += 1
                continue
            name, i = _name(text, i)
            if not name:
                raise ValueError(f"unexpected character at {i} in {path!r}")
            steps.append(("field", name))
        elif ch == "[":
            end = _closing(text, i)
            steps.append(_bracket(text[i + 1:end].strip(), path))
            i = end + 1
        else:
            raise ValueError(f"unrecognized character {ch!r} in {path!r}")
    return tuple(steps)


def _name(text: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(text) and text[i] not in ".[":
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out), i


def _closing(text: str, start: int) -> int:
    depth, quote = 0, ""
    for j in range(start, len(text)):
        c = text[j]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unterminated [ in {text!r}")


def _bracket(inner: str, path: str) -> Step:
    if inner == "*":
        return ("all", None)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return ("field", inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return ("index", int(inner))
    m = _FILTER.match(inner)
    if m:
        fields = tuple(p for p in m.group(1).split(".") if p)
        op = m.group(2) or ""
        value = _literal(m.group(3)) if op else None
        return ("filter", Filter(fields, op, value))
    raise ValueError(f"unsupported JSONPath expression [{inner}] in {path!r}")


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"unsupported literal {text!r}") from None


def find(obj: Any, path: str) -> list[Any]:
    """Every value `path` selects in `obj`."""
    current = [obj]
    for kind, arg in parse(path):
        nxt: list[Any] = []
        for value in current:
            nxt.extend(_step(value, kind, arg))
        current = nxt
    return current


def first(obj: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of the first match."""
    found = find(obj, path)
    return (True, found[0]) if found else (False, None)


def _step(value: Any, kind: str, arg: Any) -> list[Any]:
    if kind == "field":
        return [value[arg]] if isinstance(value, dict) and arg in value else []
    if kind == "index":
        if isinstance(value, list) and -len(value) <= arg < len(value):
            return [value[arg]]
        return []
    if kind == "all":
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    items = value if isinstance(value, list) else list(value.values()) if isinstance(
        value, dict) else []
    return [item for item in items if _matches(item, arg)]


def _matches(item: Any, flt: Filter) -> bool:
    cur = item
    for name in flt.path:
        if not isinstance(cur, dict) or name not in cur:
            return False
        cur = cur[name]
    if not flt.op:
        return True
    want = flt.value
    if flt.op in ("==", "!="):
        comparable = isinstance(cur, bool) == isinstance(want, bool) and isinstance(
            cur, str) == isinstance(want, str)
        same = comparable and cur == want
        return same if flt.op == "==" else not same
    if not isinstance(cur, int | float) or isinstance(cur, bool) or not isinstance(
            want, int | float):
        return False
    return {"<": cur < want, ">": cur > want, "<=": cur <= want, ">=": cur >= want}[flt.op]


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    """Set a `.a.b.c` field path (fields only), creating objects on the way."""
    steps = parse(path)
    if not steps or any(kind != "field" for kind, _ in steps):
        raise ValueError(f"not a simple field path: {path!r}")
    cur = obj
    for _, name in steps[:-1]:
        nxt = cur.get(name)
        if not isinstance(nxt, dict):
            nxt = cur[name] = {}
        cur = nxt
    cur[steps[-1][1]] = value
