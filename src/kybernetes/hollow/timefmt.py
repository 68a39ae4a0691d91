"""The two timestamp formats of the API: `metav1.Time` (seconds) and `MicroTime`."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(t: datetime) -> str:
    """`metav1.Time`: RFC 3339 in UTC, whole seconds (`2026-01-01T00:00:00Z`)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t: datetime) -> str:
    """`metav1.MicroTime` (Lease renewTime): microseconds (`...T00:00:00.000000Z`)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object) -> datetime | None:
    """A Time or MicroTime as an aware datetime; None if absent or unparsable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
