"""Regenerate the CRI v1 stubs from ``proto/cri_api.proto``.

Run from the repository root after editing the proto::

    .venv/bin/python -m kybernetes.cri.regen

It compiles the proto with ``grpc_tools.protoc`` into ``gen/cri_api_pb2.py`` (messages),
``gen/cri_api_pb2.pyi`` (types) and ``gen/cri_api_pb2_grpc.py`` (stubs), rewriting the
generated absolute import to a package-relative one. The generated files are committed,
so running kybernetes never needs grpcio-tools.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_DIR = HERE / "proto"
GEN_DIR = HERE / "gen"
PROTO = "cri_api.proto"


def main() -> int:
    GEN_DIR.mkdir(exist_ok=True)
    for old in GEN_DIR.glob("cri_api_pb2*"):
        old.unlink()
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={GEN_DIR}",
        f"--pyi_out={GEN_DIR}",
        f"--grpc_python_out={GEN_DIR}",
        PROTO,
    ]
    subprocess.run(cmd, check=True, cwd=PROTO_DIR)
    stub = GEN_DIR / "cri_api_pb2_grpc.py"
    text = re.sub(
        r"^import cri_api_pb2 as (\w+)$",
        r"from . import cri_api_pb2 as \1",
        stub.read_text(),
        flags=re.MULTILINE,
    )
    stub.write_text(text)
    (GEN_DIR / "__init__.py").write_text(
        '"""Generated CRI v1 modules (see ../regen.py); do not edit."""\n'
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
