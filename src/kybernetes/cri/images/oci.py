"""Write single-platform OCI images as OCI archives, from files in memory. Stdlib only.

An OCI archive is the tar of an OCI image layout (image-spec ``image-layout.md``)::

    oci-layout                  {"imageLayoutVersion": "1.0.0"}
    index.json                  one manifest descriptor, with the platform and the name
    blobs/sha256/<hex>          the manifest, the config and the gzip'd layers

Facts the readers rely on (checked with ctr, skopeo and umoci in RUNTIME.md):

* a config's ``rootfs.diff_ids`` are digests of the *uncompressed* layer tars;
* ``io.containerd.image.name`` on the index entry names the image for
  ``ctr images import``; ``org.opencontainers.image.ref.name`` (the tag) serves
  ``skopeo``/``umoci`` (``oci:DIR:TAG``).

Output is deterministic: sorted entries, mtime 0, owner root, gzip without a timestamp.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import platform
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = "1970-01-01T00:00:00Z"
GO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_arch() -> str:
    """The host's architecture in OCI/Go terms (``amd64``, ``arm64``)."""
    machine = platform.machine()
    return GO_ARCH.get(machine, machine)


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a layer: ``kind`` is ``"dir"``, ``"file"`` or ``"symlink"``."""

    kind: str
    mode: int = 0o755
    data: bytes = b""
    target: str = ""

    @staticmethod
    def dir(mode: int = 0o755) -> Entry:
        return Entry("dir", mode)

    @staticmethod
    def file(data: bytes, mode: int = 0o644) -> Entry:
        return Entry("file", mode, data)

    @staticmethod
    def symlink(target: str) -> Entry:
        return Entry("symlink", 0o777, target=target)


def layer_tar(entries: Mapping[str, Entry]) -> bytes:
    """An uncompressed layer tar of ``entries`` (paths relative to /, no leading /).
    Missing parent directories are added with mode 0755."""
    full = dict(entries)
    for path in list(full):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            full.setdefault("/".join(parts[:i]), Entry.dir())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(full):
            entry = full[path]
            info = tarfile.TarInfo(path)
            info.mode, info.mtime = entry.mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "file":
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            elif entry.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry.target
                tar.addfile(info)
            else:
                raise ValueError(f"layer entry {path}: unknown kind {entry.kind!r}")
    return buf.getvalue()


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def write_oci_archive(
    path: Path | str,
    *,
    name: str,
    layers: Sequence[bytes],
    config: Mapping[str, Any],
    arch: str | None = None,
    created_by: str = "kybernetes",
) -> str:
    """Write an OCI archive of one image to ``path``; returns the manifest digest.

    ``name`` is the full reference (``kyb.local/busybox:1.35``), ``layers`` are
    uncompressed layer tars (bottom first), ``config`` the image config's ``config``
    section (Entrypoint, Cmd, Env, User, WorkingDir, ...).
    """
    arch = arch or host_arch()
    blobs: dict[str, bytes] = {}

    def blob(media_type: str, data: bytes) -> dict[str, Any]:
        desc = _descriptor(media_type, data)
        blobs[desc["digest"].split(":", 1)[1]] = data
        return desc

    layer_descs = [blob(MEDIA_LAYER_GZIP, gzip.compress(t, 9, mtime=0)) for t in layers]
    image_config = {
        "created": EPOCH,
        "architecture": arch,
        "os": "linux",
        "config": dict(config),
        "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers],
        },
        "history": [{"created": EPOCH, "created_by": created_by}],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": blob(MEDIA_CONFIG, _json(image_config)),
        "layers": layer_descs,
    }
    manifest_desc = blob(MEDIA_MANIFEST, _json(manifest))
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    manifest_desc["platform"] = {"architecture": arch, "os": "linux"}
    manifest_desc["annotations"] = {
        "io.containerd.image.name": name,
        "org.opencontainers.image.ref.name": tag,
    }
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [manifest_desc]}
    files = {
        "oci-layout": _json({"imageLayoutVersion": "1.0.0"}),
        "index.json": _json(index),
        **{f"blobs/sha256/{hexdigest}": data for hexdigest, data in sorted(blobs.items())},
    }
    _write_tar(Path(path), files)
    return manifest_desc["digest"]


def _write_tar(path: Path, files: Mapping[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(path)
