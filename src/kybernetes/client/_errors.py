"""The client's exceptions, and the translation of failed HTTP answers into them.

    Exception
    ├── StatusError (kybernetes.api.errors)  the server answered with a failure Status
    └── ClientError                          the client's own failures
        ├── ConfigError                      unusable kubeconfig or in-cluster config
        ├── TransportError                   no HTTP answer: connect/TLS/reset/timeout
        └── NoMatchError                     discovery does not know the kind or resource

A failed answer always becomes a `StatusError`, built from the `Status` body
when there is one, and from the HTTP code otherwise (apimachinery's
`newUnstructuredResponseError`), so callers branch on `code`/`reason` alone.
The `is_*` predicates take any exception and are False for everything that is
not a matching `StatusError`, so `except Exception as e: if is_conflict(e)` works.
"""

from __future__ import annotations

from typing import Any

import orjson

from kybernetes.api.errors import Cause, StatusError


class ClientError(Exception):
    """Base of the failures that are not an answer from the server."""


class ConfigError(ClientError):
    """The configuration cannot be used (missing file, context, credentials...)."""


class TransportError(ClientError):
    """The request got no HTTP answer.

    `maybe_sent` is False when the connection was never established, so the
    server cannot have acted on the request and any verb may be retried.
    """

    def __init__(self, message: str, *, maybe_sent: bool = True) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class NoMatchError(ClientError):
    """Discovery has no resource for the requested kind/plural (meta.NoKindMatchError)."""


# Reasons by code for answers without a Status body (apimachinery api/errors).
_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Gone",
    413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
    429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


def status_error(status: dict[str, Any], http_code: int = 0) -> StatusError:
    """A `StatusError` from a `metav1.Status` dict (a failed answer or a watch ERROR)."""
    details = status.get("details") or {}
    code = int(status.get("code") or http_code or 500)
    causes = [Cause(type=str(c.get("reason") or ""), message=str(c.get("message") or ""),
                    field=str(c.get("field") or ""))
              for c in details.get("causes") or () if isinstance(c, dict)]
    return StatusError(
        code=code,
        reason=str(status.get("reason") or _REASONS.get(code, "")),
        message=str(status.get("message") or ""),
        group=str(details.get("group") or ""),
        kind=str(details.get("kind") or ""),
        name=str(details.get("name") or ""),
        causes=causes,
        retry_after_seconds=int(details.get("retryAfterSeconds") or 0),
    )


def error_from_response(code: int, body: bytes, retry_after: float | None = None
                        ) -> StatusError:
    """Translate a non-2xx answer; a body that is not a Status keeps its text as message."""
    try:
        doc = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        err = status_error(doc, code)
        err.code = code or err.code
    else:
        text = body.decode("utf-8", "replace").strip()
        reason = _REASONS.get(code, "Unknown")
        err = StatusError(code, reason, text or f"the server responded with code {code}")
    if retry_after is not None and not err.retry_after_seconds:
        err.retry_after_seconds = int(retry_after)
    return err


# apimachinery's knownReasons: a Status with one of these is judged by reason only.
_KNOWN_REASONS = frozenset({
    *_REASONS.values(), "AlreadyExists", "Expired", "ServerTimeout", "NotAcceptable",
    "RequestEntityTooLarge", "UnsupportedMediaType",
})


def _reason(err: BaseException) -> str | None:
    return err.reason if isinstance(err, StatusError) else None


def _is(err: BaseException, reason: str, code: int) -> bool:
    if not isinstance(err, StatusError):
        return False
    if err.reason == reason:
        return True
    # A Status without a known reason still counts by its code (apimachinery does too).
    return err.code == code and err.reason not in _KNOWN_REASONS


def is_not_found(err: BaseException) -> bool:
    return _is(err, "NotFound", 404)


def is_already_exists(err: BaseException) -> bool:
    return _reason(err) == "AlreadyExists"


def is_conflict(err: BaseException) -> bool:
    """409 Conflict (a stale resourceVersion), not AlreadyExists."""
    return _is(err, "Conflict", 409)


def is_gone(err: BaseException) -> bool:
    """410: the resourceVersion is too old (reason Expired or Gone); re-list."""
    return isinstance(err, StatusError) and (err.code == 410 or err.reason in ("Expired", "Gone"))


def is_too_many_requests(err: BaseException) -> bool:
    return _is(err, "TooManyRequests", 429)


def is_forbidden(err: BaseException) -> bool:
    return _is(err, "Forbidden", 403)


def is_invalid(err: BaseException) -> bool:
    return _is(err, "Invalid", 422)
