"""A small TOML writer for the files kybernetes generates (containerd's config.toml and
hosts.toml). The standard library reads TOML (``tomllib``) but does not write it.

Supported values: str, bool, int, float, lists of those (nested lists too) and nested
mappings (written as ``[a.b."c.d"]`` tables). ``None`` values are left out. Within a
table, plain keys come before sub-tables, so a key never lands in the wrong table
(the classic mistake of a hand-written containerd config: ``root`` after ``[debug]``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(document: Mapping[str, Any], *, header: str = "") -> str:
    """Render ``document`` as TOML; ``header`` lines become leading ``#`` comments."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, (), document)
    while lines and lines[0] == "":
        lines.pop(0)
    return "\n".join(lines) + "\n"


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    scalars = [(k, v) for k, v in table.items() if v is not None and not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for key, value in scalars:
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables:
        _table(lines, (*path, key), value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    # A JSON string is a TOML basic string, except that TOML wants DEL escaped too.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML writer: no infinite or NaN floats ({value})")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"TOML writer: cannot write {type(value).__name__}")
