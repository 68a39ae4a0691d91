"""kybernetes.cri: the container runtime interface, as the kubelet uses it.

* :class:`RuntimeClient`: async CRI v1 client (RuntimeService + ImageService) over
  gRPC to containerd or CRI-O; plain dicts in and out (:mod:`.client`).
* :class:`Containerd` / :class:`ContainerdConfig`: containerd launched and configured
  by kyb as k3s does, or an existing endpoint (:mod:`.containerd`).
* :func:`write_cni_config`: the node's bridge network for its pod CIDR (:mod:`.cni`).
* :mod:`.images`: the offline ``kyb.local/pause`` and ``kyb.local/busybox`` images and
  importing image archives.
* :mod:`.errors`: the one error tree; every failure is a :class:`CRIError`.

A leaf: it imports nothing of kybernetes outside itself (import-linter contract).
Glossary: *sandbox* = the pod's shared namespaces, held by its pause container;
*endpoint* = the runtime's gRPC address (``unix:///path.sock``); *data dir* = the
node's state directory, under which a managed containerd keeps everything.
"""

from kybernetes.cri.client import ExecResult, RuntimeClient, Version
from kybernetes.cri.cni import cni_conflist, write_cni_config
from kybernetes.cri.containerd import (
    SANDBOX_IMAGE,
    Containerd,
    ContainerdConfig,
    killall,
    render_config,
)
from kybernetes.cri.errors import (
    AlreadyExists,
    ContainerdError,
    CRIError,
    DeadlineExceeded,
    FailedPrecondition,
    ImageError,
    InvalidArgument,
    NotFound,
    RuntimeFailure,
    Unavailable,
    Unimplemented,
)
from kybernetes.cri.registries import Registries, load_registries

__all__ = [
    "SANDBOX_IMAGE",
    "AlreadyExists",
    "CRIError",
    "Containerd",
    "ContainerdConfig",
    "ContainerdError",
    "DeadlineExceeded",
    "ExecResult",
    "FailedPrecondition",
    "ImageError",
    "InvalidArgument",
    "NotFound",
    "Registries",
    "RuntimeClient",
    "RuntimeFailure",
    "Unavailable",
    "Unimplemented",
    "Version",
    "cni_conflist",
    "killall",
    "load_registries",
    "render_config",
    "write_cni_config",
]
