"""Regenerate the Kubernetes protobuf schema from the compact schema files.

The compact files in ``dsl/`` hold one message per line::

    @package k8s.io.api.core.v1
    ConfigMap metadata:1:M.ObjectMeta immutable:4:b data:2:{s:s} binaryData:3:{s:y}

Each field is ``name:number:type``. Types: ``s`` string, ``b`` bool, ``i32``,
``i64``, ``d`` double, ``y`` bytes, a message name (same package) or
``ALIAS.Message`` for another package (aliases in :data:`ALIASES`). A leading
``*`` makes the field repeated; ``{k:v}`` is a map. The facts (message names,
field names, numbers, types) follow upstream's ``generated.proto`` files.

Run from the repository root::

    .venv/bin/python -m kybernetes.api.protobuf.regen

It writes ``proto/*.proto`` and compiles them with ``grpc_tools.protoc`` into
``gen/*_pb2.py``, rewriting the generated imports to package-relative ones.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DSL_DIR = HERE / "dsl"
PROTO_DIR = HERE / "proto"
GEN_DIR = HERE / "gen"

ALIASES: dict[str, str] = {
    "M": "k8s.io.apimachinery.pkg.apis.meta.v1",
    "R": "k8s.io.apimachinery.pkg.api.resource",
    "IS": "k8s.io.apimachinery.pkg.util.intstr",
    "RT": "k8s.io.apimachinery.pkg.runtime",
    "CORE": "k8s.io.api.core.v1",
}

SCALARS: dict[str, str] = {
    "s": "string",
    "b": "bool",
    "i32": "int32",
    "i64": "int64",
    "d": "double",
    "f": "float",
    "y": "bytes",
}


def _type_ref(token: str, packages: dict[str, str], used: set[str]) -> str:
    if token in SCALARS:
        return SCALARS[token]
    if "." in token:
        alias, name = token.split(".", 1)
        package = ALIASES[alias]
        used.add(package)
        return f".{package}.{name}"
    return token


def _render(path: Path, packages: dict[str, str]) -> tuple[str, str]:
    """Render one compact file; returns (package, proto text)."""
    package = ""
    used: set[str] = set()
    body: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@package "):
            package = line.split()[1]
            continue
        name, *fields = line.split()
        body.append(f"message {name} {{")
        for spec in fields:
            fname, number, ftype = spec.split(":", 2)
            if ftype.startswith("{"):
                key, value = ftype[1:-1].split(":", 1)
                body.append(
                    f"  map<{_type_ref(key, packages, used)}, "
                    f"{_type_ref(value, packages, used)}> {fname} = {number};"
                )
            elif ftype.startswith("*"):
                body.append(
                    f"  repeated {_type_ref(ftype[1:], packages, used)} {fname} = {number};"
                )
            else:
                body.append(f"  optional {_type_ref(ftype, packages, used)} {fname} = {number};")
        body.append("}")
        body.append("")
    used.discard(package)
    head = ['syntax = "proto2";', "", f"package {package};", ""]
    for dep in sorted(used):
        head.append(f'import "{packages[dep]}.proto";')
    if used:
        head.append("")
    return package, "\n".join(head + body)


def main() -> int:
    files = sorted(DSL_DIR.glob("*.txt"))
    packages: dict[str, str] = {}
    for path in files:
        for raw in path.read_text().splitlines():
            if raw.startswith("@package "):
                packages[raw.split()[1]] = path.stem
    PROTO_DIR.mkdir(exist_ok=True)
    GEN_DIR.mkdir(exist_ok=True)
    for old in PROTO_DIR.glob("*.proto"):
        old.unlink()
    for old in GEN_DIR.glob("*_pb2.py"):
        old.unlink()
    for path in files:
        _, text = _render(path, packages)
        (PROTO_DIR / f"{path.stem}.proto").write_text(text)
    protos = sorted(str(p.name) for p in PROTO_DIR.glob("*.proto"))
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={GEN_DIR}",
        *protos,
    ]
    subprocess.run(cmd, check=True, cwd=PROTO_DIR)
    pattern = re.compile(r"^import (\w+_pb2) as (\w+)$", re.MULTILINE)
    for gen in GEN_DIR.glob("*_pb2.py"):
        text = gen.read_text()
        gen.write_text(pattern.sub(r"from . import \1 as \2", text))
    init = GEN_DIR / "__init__.py"
    init.write_text('"""Generated protobuf modules (see ../regen.py); do not edit."""\n')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
