"""The built-in images are valid single-platform OCI archives."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from kybernetes.cri.errors import ImageError
from kybernetes.cri.images import BUSYBOX_IMAGE, PAUSE_IMAGE, build_busybox, build_pause
from kybernetes.cri.images.builtin import find_busybox, is_static_elf
from kybernetes.cri.images.oci import Entry, host_arch, layer_tar, write_oci_archive
from kybernetes.cri.images.pause import SOURCE, committed_path, compile_pause, pause_binary


def _busybox_reason() -> str:
    try:
        find_busybox()
    except ImageError as exc:
        return str(exc)
    return ""


needs_busybox = pytest.mark.skipif(bool(_busybox_reason()), reason=_busybox_reason() or "-")


def read_oci_archive(path: Path) -> dict[str, Any]:
    """Check the layout rules and return {name, platform, config, layers: [TarFile]}."""
    with tarfile.open(path) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}

    def blob(descriptor: dict[str, Any], media_type: str) -> bytes:
        assert descriptor["mediaType"] == media_type
        algorithm, hexdigest = descriptor["digest"].split(":")
        data = files[f"blobs/{algorithm}/{hexdigest}"]
        assert hashlib.sha256(data).hexdigest() == hexdigest
        assert len(data) == descriptor["size"]
        return data

    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2
    [entry] = index["manifests"]
    manifest = json.loads(blob(entry, "application/vnd.oci.image.manifest.v1+json"))
    config = json.loads(blob(manifest["config"], "application/vnd.oci.image.config.v1+json"))
    layers = []
    for descriptor, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        compressed = blob(descriptor, "application/vnd.oci.image.layer.v1.tar+gzip")
        raw = gzip.decompress(compressed)
        assert diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()  # uncompressed digest
        layers.append(tarfile.open(fileobj=io.BytesIO(raw)))
    used = {"oci-layout", "index.json"} | {
        f"blobs/sha256/{d['digest'].split(':')[1]}"
        for d in [entry, manifest["config"], *manifest["layers"]]
    }
    assert set(files) == used  # no stray blobs
    return {
        "name": entry["annotations"]["io.containerd.image.name"],
        "ref": entry["annotations"]["org.opencontainers.image.ref.name"],
        "platform": entry["platform"],
        "config": config,
        "layers": layers,
    }


def test_pause_image(tmp_path: Path) -> None:
    image = read_oci_archive(build_pause(tmp_path / "pause.tar"))
    assert (image["name"], image["ref"]) == (PAUSE_IMAGE, "3.10")
    assert image["platform"] == {"architecture": host_arch(), "os": "linux"}
    assert image["config"]["architecture"] == host_arch()
    assert image["config"]["config"]["Entrypoint"] == ["/pause"]
    assert image["config"]["config"]["User"] == "65535:65535"
    [layer] = image["layers"]
    pause = layer.getmember("pause")
    assert pause.isfile() and pause.mode == 0o755 and (pause.uid, pause.mtime) == (0, 0)
    assert is_static_elf(layer.extractfile(pause).read())


@needs_busybox
def test_busybox_image(tmp_path: Path) -> None:
    image = read_oci_archive(build_busybox(tmp_path / "busybox.tar"))
    assert (image["name"], image["ref"]) == (BUSYBOX_IMAGE, "1.35")
    assert image["config"]["config"]["Cmd"] == ["sh"]
    [layer] = image["layers"]
    members = {m.name: m for m in layer.getmembers()}
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    for applet in ("bin/sh", "usr/sbin/httpd", "usr/bin/wget", "usr/bin/nc", "bin/sleep"):
        assert members[applet].issym() and members[applet].linkname == "/bin/busybox", applet
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert b"root:x:0:0:" in layer.extractfile("etc/passwd").read()
    assert layer.extractfile("var/www/index.html").read().startswith(b"hello")
    for name in members:  # every parent directory is in the layer
        parent = name.rsplit("/", 1)[0] if "/" in name else ""
        assert not parent or members[parent].isdir(), name


def test_archives_are_deterministic(tmp_path: Path) -> None:
    first = build_pause(tmp_path / "a.tar").read_bytes()
    second = build_pause(tmp_path / "b.tar").read_bytes()
    assert first == second


def test_layer_tar_adds_parents_and_keeps_modes() -> None:
    raw = layer_tar({"a/b/c": Entry.file(b"x", 0o600), "l": Entry.symlink("/a/b/c")})
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(raw)).getmembers()}
    assert list(members) == ["a", "a/b", "a/b/c", "l"]
    assert members["a"].isdir() and members["a/b/c"].mode == 0o600
    assert members["l"].linkname == "/a/b/c"
    with pytest.raises(ValueError):
        layer_tar({"x": Entry("fifo")})


def test_untagged_name_is_latest(tmp_path: Path) -> None:
    write_oci_archive(
        tmp_path / "x.tar", name="registry:5000/app", layers=[layer_tar({})], config={}
    )
    assert read_oci_archive(tmp_path / "x.tar")["ref"] == "latest"


def test_pause_binary_is_small_and_static() -> None:
    data = pause_binary()
    assert is_static_elf(data)
    assert len(data) < 4096
    assert committed_path("amd64").is_file()  # the binary CI uses is in the repository


def test_static_elf_detection() -> None:
    assert not is_static_elf(Path("/bin/sh").resolve().read_bytes())  # dynamically linked
    assert not is_static_elf(b"#!/bin/sh\n")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_committed_pause_is_built_from_pause_c(tmp_path: Path) -> None:
    """With the compiler the binary was made with, pause.c builds to the same bytes."""
    version = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True).stdout
    if version.strip() != "12.2.0" or host_arch() != "amd64":
        pytest.skip(f"pause-amd64 was built by gcc 12.2.0 on amd64, not {version.strip()}")
    built = compile_pause(tmp_path / "pause").read_bytes()
    assert built == committed_path("amd64").read_bytes(), f"rebuild: see {SOURCE}"
    result = subprocess.run([str(tmp_path / "pause"), "-v"], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "kyb-pause 3.10\n")
