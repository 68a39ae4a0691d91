"""The two images every kybernetes node has without a registry.

* ``kyb.local/pause:3.10``: the sandbox image (``/pause``, user 65535), from the
  committed static binary (see :mod:`kybernetes.cri.images.pause`).
* ``kyb.local/busybox:1.35``: ``/bin/busybox`` of the host's Debian ``busybox-static``
  package with a symlink per applet (``sh``, ``httpd``, ``wget``, ``nc``, ``sleep``,
  ...), ``/etc/passwd`` and ``/etc/group`` (root, nobody), ``/tmp`` (1777) and
  ``/var/www/index.html`` for ``httpd -h /var/www``. The tag names the Debian 12
  busybox; the content is whatever static busybox the host has.

``kyb.local`` is not a registry anyone serves: the images only ever come from import.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from kybernetes.cri.errors import ImageError
from kybernetes.cri.images.oci import Entry, host_arch, layer_tar, write_oci_archive
from kybernetes.cri.images.pause import pause_binary

PAUSE_IMAGE = "kyb.local/pause:3.10"
BUSYBOX_IMAGE = "kyb.local/busybox:1.35"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
INDEX_HTML = b"hello from kybernetes busybox httpd\n"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def is_static_elf(data: bytes) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP)."""
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    order = "little" if data[5] == 1 else "big"
    phoff = int.from_bytes(data[0x20:0x28], order)
    phentsize = int.from_bytes(data[0x36:0x38], order)
    phnum = int.from_bytes(data[0x38:0x3A], order)
    for i in range(phnum):
        start = phoff + i * phentsize
        if int.from_bytes(data[start : start + 4], order) == 3:  # PT_INTERP
            return False
    return True


def find_busybox() -> Path:
    """The host's static busybox; raises ImageError with the fix otherwise."""
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            if not is_static_elf(path.read_bytes()):
                raise ImageError(
                    f"{path} is dynamically linked; install busybox-static (scripts/deps.sh)"
                )
            return path
    raise ImageError("busybox is not installed: run scripts/deps.sh as root")


def busybox_entries(busybox: Path) -> dict[str, Entry]:
    entries = {"bin/busybox": Entry.file(busybox.read_bytes(), 0o755)}
    listing = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, check=True
    ).stdout
    for applet in listing.split():
        if applet != "bin/busybox":
            entries[applet] = Entry.symlink("/bin/busybox")
    for directory, mode in {
        "dev": 0o755,
        "etc": 0o755,
        "home": 0o755,
        "proc": 0o555,
        "root": 0o700,
        "sys": 0o555,
        "tmp": 0o1777,
        "var/www": 0o755,
    }.items():
        entries[directory] = Entry.dir(mode)
    entries["etc/passwd"] = Entry.file(
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    entries["etc/group"] = Entry.file(b"root:x:0:\nnogroup:x:65534:\n")
    entries["var/www/index.html"] = Entry.file(INDEX_HTML)
    return entries


def build_busybox(path: Path | str, *, name: str = BUSYBOX_IMAGE) -> Path:
    """Write the busybox image as an OCI archive at ``path``."""
    layer = layer_tar(busybox_entries(find_busybox()))
    config = {"Cmd": ["sh"], "Env": [PATH_ENV], "WorkingDir": "/"}
    write_oci_archive(path, name=name, layers=[layer], config=config, created_by="kyb busybox")
    return Path(path)


def build_pause(path: Path | str, *, name: str = PAUSE_IMAGE) -> Path:
    """Write the pause image as an OCI archive at ``path``."""
    arch = host_arch()
    layer = layer_tar({"pause": Entry.file(pause_binary(arch), 0o755)})
    config = {"Entrypoint": ["/pause"], "User": "65535:65535", "Env": [PATH_ENV]}
    write_oci_archive(
        path, name=name, layers=[layer], config=config, arch=arch, created_by="kyb pause"
    )
    return Path(path)


def build_builtin_images(directory: Path | str) -> list[Path]:
    """Build both images into ``directory`` (``pause.tar``, ``busybox.tar``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [build_pause(directory / "pause.tar"), build_busybox(directory / "busybox.tar")]
