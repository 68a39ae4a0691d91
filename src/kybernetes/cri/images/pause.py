"""The pause binary of ``kyb.local/pause``: its source is ``pause.c`` beside this file.

Why a committed binary: a pod sandbox needs a PID 1 that sleeps, exits 0 on SIGTERM
and reaps re-parented zombies. busybox cannot stand in (``sleep infinity`` reaps
nothing and as PID 1 ignores SIGTERM; ``init`` wants an inittab and tears down on
signals), and a fresh Debian machine has no C compiler. So ``pause.c`` (no libc, raw
syscalls) is compiled once per architecture into ``pause-<arch>`` (about 1 KB, static)
and committed next to its source. Rebuild after editing ``pause.c``::

    .venv/bin/python -m kybernetes.cri.images.pause          # needs gcc

On an architecture without a committed binary, :func:`pause_binary` compiles one when
gcc is there, and raises ImageError otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kybernetes.cri.errors import ImageError
from kybernetes.cri.images.oci import host_arch

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "pause.c"
CFLAGS = (
    "-Os",
    "-static",
    "-nostdlib",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-pie",
    "-no-pie",
    "-Wl,--build-id=none",
    "-Wl,-z,noseparate-code",
    "-Wl,-z,norelro",
    "-s",
)


def committed_path(arch: str) -> Path:
    return HERE / f"pause-{arch}"


def compile_pause(output: Path) -> Path:
    """Compile ``pause.c`` for the host into ``output`` (needs gcc)."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise ImageError("building the pause binary needs gcc (apt-get install gcc)")
    result = subprocess.run(
        [gcc, *CFLAGS, "-o", str(output), str(SOURCE)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ImageError(f"gcc failed to build pause:\n{result.stderr}")
    return output


def pause_binary(arch: str | None = None) -> bytes:
    """The static pause executable for ``arch`` (default: the host's)."""
    arch = arch or host_arch()
    committed = committed_path(arch)
    if committed.is_file():
        return committed.read_bytes()
    if arch != host_arch():
        raise ImageError(f"no pause binary for {arch}; build it on such a machine")
    with tempfile.TemporaryDirectory() as tmp:
        return compile_pause(Path(tmp) / "pause").read_bytes()


def main() -> int:
    path = compile_pause(committed_path(host_arch()))
    print(f"{path}: {path.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
