"""Images without a registry: the built-in ``kyb.local`` images and archive import.

* :func:`build_builtin_images` / :func:`build_busybox` / :func:`build_pause` write OCI
  archives (:mod:`.builtin`, :mod:`.oci`);
* :func:`import_image` (``kyb images import FILE.tar``), :func:`import_dir` (auto-import
  of a directory) and :func:`import_builtin_images` load archives into containerd's
  ``k8s.io`` namespace through ``ctr`` (:mod:`.importer`).
"""

from kybernetes.cri.images.builtin import (
    BUSYBOX_IMAGE,
    PAUSE_IMAGE,
    build_builtin_images,
    build_busybox,
    build_pause,
)
from kybernetes.cri.images.importer import (
    PINNED_LABEL,
    archives_in,
    import_builtin_images,
    import_dir,
    import_image,
    pin_image,
)

__all__ = [
    "BUSYBOX_IMAGE",
    "PAUSE_IMAGE",
    "PINNED_LABEL",
    "archives_in",
    "build_builtin_images",
    "build_busybox",
    "build_pause",
    "import_builtin_images",
    "import_dir",
    "import_image",
    "pin_image",
]
