"""Import image archives into containerd, without CRI and without a registry.

``ctr --address SOCK --namespace k8s.io images import`` reads OCI and Docker archives
(``docker save``), stores the content, names the images (from
``io.containerd.image.name`` or the Docker manifest's tags) and unpacks them for the
snapshotter; CRI sees them at once, since it watches the ``k8s.io`` namespace.

Pinned images carry the label ``io.cri-containerd.pinned=pinned``: containerd >= 1.7
reports them as ``pinned`` over CRI and the kubelet's image GC never removes them.

Directory auto-import (as k3s's ``agent/images``): every ``*.tar``, ``*.tar.gz``,
``*.tgz``, ``*.tar.bz2`` or ``*.tbz`` file in the directory, in name order; one bad
file is logged and skipped.
"""

from __future__ import annotations

import asyncio
import bz2
import gzip
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from kybernetes.cri.errors import ImageError
from kybernetes.cri.images.builtin import build_builtin_images

log = logging.getLogger(__name__)

K8S_NAMESPACE = "k8s.io"
PINNED_LABEL = "io.cri-containerd.pinned"
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz")
_UNPACKED = re.compile(r"^unpacking (\S+) \(sha256:[0-9a-f]{64}\)", re.MULTILINE)
_CHUNK = 1 << 20


def _ctr() -> str:
    ctr = shutil.which("ctr")
    if ctr is None:
        raise ImageError("ctr is not installed (it comes with containerd): run scripts/deps.sh")
    return ctr


async def _run_ctr(address: str, namespace: str, args: list[str], stdin: IO[bytes] | None) -> str:
    argv = [_ctr(), "--address", address, "--namespace", namespace, *args]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        assert process.stdin is not None
        try:
            while chunk := await asyncio.to_thread(stdin.read, _CHUNK):
                process.stdin.write(chunk)
                await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # ctr gave up early; its exit status says why
        finally:
            process.stdin.close()
    out, err = await process.communicate()
    if process.returncode != 0:
        message = (err or out).decode(errors="replace").strip()
        raise ImageError(f"ctr {' '.join(args[:2])} failed ({process.returncode}): {message}")
    return out.decode(errors="replace")


def _open_archive(path: Path) -> IO[bytes]:
    name = path.name.lower()
    try:
        if name.endswith((".tar.gz", ".tgz")):
            return gzip.open(path, "rb")
        if name.endswith((".tar.bz2", ".tbz")):
            return bz2.open(path, "rb")
        if name.endswith(".tar"):
            return open(path, "rb")
    except OSError as exc:
        raise ImageError(f"{path}: {exc.strerror or exc}") from None
    raise ImageError(f"{path}: not an image archive (expected one of {ARCHIVE_SUFFIXES})")


async def import_image(
    archive: Path | str,
    *,
    address: str,
    namespace: str = K8S_NAMESPACE,
    snapshotter: str = "overlayfs",
    pin: bool = False,
) -> list[str]:
    """Import an OCI or Docker image archive; returns the image names it created.
    ``address`` is containerd's socket path. Raises ImageError."""
    path = Path(archive)
    args = ["images", "import", "--snapshotter", snapshotter, "-"]
    with _open_archive(path) as stream:
        output = await _run_ctr(address, namespace, args, stream)
    names = _UNPACKED.findall(output)
    if not names:
        raise ImageError(f"{path}: ctr imported no named image:\n{output.strip()}")
    if pin:
        for name in names:
            await pin_image(name, address=address, namespace=namespace)
    log.info("imported images=%s from=%s pinned=%s", ",".join(names), path, pin)
    return names


async def pin_image(name: str, *, address: str, namespace: str = K8S_NAMESPACE) -> None:
    """Label an image so the kubelet's image GC keeps it."""
    await _run_ctr(address, namespace, ["images", "label", name, f"{PINNED_LABEL}=pinned"], None)


def archives_in(directory: Path | str) -> list[Path]:
    """The image archives of a directory, in name order (a missing directory: none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.name.lower().endswith(ARCHIVE_SUFFIXES)
    )


async def import_dir(
    directory: Path | str, *, address: str, namespace: str = K8S_NAMESPACE, pin: bool = False
) -> list[str]:
    """Import every archive of ``directory``; failures are logged and skipped."""
    names: list[str] = []
    for path in archives_in(directory):
        try:
            names += await import_image(path, address=address, namespace=namespace, pin=pin)
        except ImageError as exc:
            log.error("image import failed file=%s error=%s", path, exc)
    return names


async def import_builtin_images(
    *, address: str, work_dir: Path | str | None = None, namespace: str = K8S_NAMESPACE
) -> list[str]:
    """Build ``kyb.local/pause`` and ``kyb.local/busybox`` and import them, pinned.
    The archives are written to ``work_dir`` (kept) or a temporary directory."""
    if work_dir is not None:
        return await _import_all(build_builtin_images(work_dir), address, namespace)
    with tempfile.TemporaryDirectory(prefix="kyb-images-") as tmp:
        return await _import_all(build_builtin_images(tmp), address, namespace)


async def _import_all(paths: Iterable[Path], address: str, namespace: str) -> list[str]:
    names: list[str] = []
    for path in paths:
        names += await import_image(path, address=address, namespace=namespace, pin=True)
    return names
