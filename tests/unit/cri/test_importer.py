"""Image import through ctr, with a stand-in ctr on PATH that records its calls."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from kybernetes.cri.errors import ImageError
from kybernetes.cri.images import archives_in, import_dir, import_image

FAKE_CTR = """#!/usr/bin/env python3
import json, os, sys
log = os.environ["FAKE_CTR_LOG"]
data = sys.stdin.buffer.read() if "-" in sys.argv else b""
with open(log, "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "stdin": data.decode(errors="replace")}) + "\\n")
if b"BAD" in data:
    print("ctr: unrecognized image format", file=sys.stderr)
    sys.exit(1)
if "import" in sys.argv:
    name = data.decode().strip()
    print(f"unpacking {name} (sha256:{'a' * 64})...done")
"""


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ctr = bin_dir / "ctr"
    ctr.write_text(FAKE_CTR)
    ctr.chmod(0o755)
    log = tmp_path / "ctr.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_CTR_LOG", str(log))
    return log


def recorded(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_import_streams_the_decompressed_archive_and_pins(tmp_path: Path, calls: Path) -> None:
    archive = tmp_path / "app.tar.gz"
    archive.write_bytes(gzip.compress(b"kyb.local/app:1"))
    names = asyncio.run(import_image(archive, address="/run/k.sock", pin=True))
    assert names == ["kyb.local/app:1"]
    first, second = recorded(calls)
    assert first["argv"] == [
        "--address", "/run/k.sock", "--namespace", "k8s.io",
        "images", "import", "--snapshotter", "overlayfs", "-",
    ]  # fmt: skip
    assert first["stdin"] == "kyb.local/app:1"
    assert second["argv"][4:] == [
        "images",
        "label",
        "kyb.local/app:1",
        "io.cri-containerd.pinned=pinned",
    ]


def test_ctr_failure_is_an_image_error(tmp_path: Path, calls: Path) -> None:
    archive = tmp_path / "bad.tar"
    archive.write_bytes(b"BAD")
    with pytest.raises(ImageError, match="unrecognized image format"):
        asyncio.run(import_image(archive, address="/run/k.sock"))


@pytest.mark.parametrize("name", ["missing.tar", "notes.txt"], ids=["missing", "not-an-archive"])
def test_unusable_files(tmp_path: Path, calls: Path, name: str) -> None:
    if name.endswith(".txt"):
        (tmp_path / name).write_text("x")
    with pytest.raises(ImageError):
        asyncio.run(import_image(tmp_path / name, address="/run/k.sock"))
    assert recorded(calls) == []


def test_import_dir_takes_archives_in_order_and_skips_failures(tmp_path: Path, calls: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "b.tar").write_bytes(b"kyb.local/b:1")
    (images / "a.tgz").write_bytes(gzip.compress(b"kyb.local/a:1"))
    (images / "c.tar").write_bytes(b"BAD")
    (images / "README.txt").write_text("not an image")
    (images / "sub.tar").mkdir()
    assert [p.name for p in archives_in(images)] == ["a.tgz", "b.tar", "c.tar"]
    assert asyncio.run(import_dir(images, address="/s")) == ["kyb.local/a:1", "kyb.local/b:1"]
    assert asyncio.run(import_dir(tmp_path / "none", address="/s")) == []
