"""The one error tree of ``kybernetes.cri``.

gRPC status codes, subprocess failures (containerd, ctr) and bad image files are
translated into these where they enter the package; nothing else escapes it::

    CRIError                      base: anything the runtime or its tooling refused
    ├── NotFound                  NOT_FOUND: no such sandbox, container or image
    ├── AlreadyExists             ALREADY_EXISTS
    ├── InvalidArgument           INVALID_ARGUMENT: the runtime rejected the request
    ├── FailedPrecondition        FAILED_PRECONDITION: wrong state (e.g. start twice)
    ├── Unimplemented             UNIMPLEMENTED: the runtime lacks this RPC (older CRI)
    ├── Unavailable               UNAVAILABLE: nothing answers on the endpoint (yet)
    ├── DeadlineExceeded          DEADLINE_EXCEEDED: the call ran out of time
    ├── RuntimeFailure            any other status (UNKNOWN, INTERNAL, ...): the runtime
    │                             tried and failed, e.g. runc could not start a process
    ├── ContainerdError           the managed containerd could not be configured,
    │                             started or stopped (its log tail is in the message)
    └── ImageError                an image could not be built or imported (not an
                                  image archive, ctr failed, busybox not static, ...)

RPC errors carry ``method`` (e.g. ``"RunPodSandbox"``), ``code`` (the gRPC status
name) and ``details`` (the runtime's own message).
"""

from __future__ import annotations

import grpc


class CRIError(Exception):
    """Base of every error raised by ``kybernetes.cri``."""

    code: str = ""

    def __init__(self, message: str, *, method: str = "", details: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.details = details


class NotFound(CRIError):
    code = "NOT_FOUND"


class AlreadyExists(CRIError):
    code = "ALREADY_EXISTS"


class InvalidArgument(CRIError):
    code = "INVALID_ARGUMENT"


class FailedPrecondition(CRIError):
    code = "FAILED_PRECONDITION"


class Unimplemented(CRIError):
    code = "UNIMPLEMENTED"


class Unavailable(CRIError):
    code = "UNAVAILABLE"


class DeadlineExceeded(CRIError):
    code = "DEADLINE_EXCEEDED"


class RuntimeFailure(CRIError):
    """Any status without a class of its own; ``code`` holds its name."""

    def __init__(
        self, message: str, *, method: str = "", details: str = "", code: str = ""
    ) -> None:
        super().__init__(message, method=method, details=details)
        self.code = code or "UNKNOWN"


class ContainerdError(CRIError):
    """The managed containerd process failed (config, start, stop)."""


class ImageError(CRIError):
    """Building or importing an image failed."""


_BY_CODE: dict[grpc.StatusCode, type[CRIError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def from_rpc_error(method: str, exc: grpc.RpcError) -> CRIError:
    """Translate a gRPC error from ``method`` into this tree (the boundary's one door)."""
    status = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    message = f"{method}: {status.name}: {details}" if details else f"{method}: {status.name}"
    cls = _BY_CODE.get(status)
    if cls is None:
        return RuntimeFailure(message, method=method, details=details, code=status.name)
    return cls(message, method=method, details=details)
