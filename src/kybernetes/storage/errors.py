"""Storage errors: the one exception tree every `Store` backend raises.

    StorageError                 any storage failure (I/O, corrupt or locked database, closed store)
    ├── KeyExistsError           create of a key that is live
    ├── NotFoundError            update/delete of a key that is not live
    ├── ConflictError            update/delete whose expected mod revision is stale (.current)
    ├── CompactedError           read or watch below the compacted revision (.compacted_revision)
    ├── FutureRevisionError      read at a revision newer than the store's current revision
    └── WatchOverflowError       a watcher fell too far behind; its consumer must re-list

Backends translate their own errors (sqlite3.Error, ...) into `StorageError` at the
boundary, so callers never see a driver exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kybernetes.storage.interface import KeyValue


class StorageError(Exception):
    """Base of every storage failure."""


class KeyExistsError(StorageError):
    """`create` of a key that already exists."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key already exists: {key}")
        self.key = key


class NotFoundError(StorageError):
    """`update`/`delete` of a key that does not exist."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class ConflictError(StorageError):
    """Optimistic concurrency failure; `current` is the live value that won."""

    def __init__(self, current: KeyValue) -> None:
        super().__init__(
            f"conflict on {current.key}: current mod revision is {current.mod_revision}"
        )
        self.current = current


class CompactedError(StorageError):
    """The requested revision is at or below history that was compacted away.

    Maps to HTTP 410 Gone ("too old resource version") in the apiserver.
    """

    def __init__(self, requested: int, compacted_revision: int) -> None:
        super().__init__(
            f"revision {requested} has been compacted (compacted revision {compacted_revision})"
        )
        self.requested = requested
        self.compacted_revision = compacted_revision


class FutureRevisionError(StorageError):
    """The requested revision is newer than the store's current revision."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is in the future (current revision {current})")
        self.requested = requested
        self.current = current


class WatchOverflowError(StorageError):
    """A watcher's bounded queue overflowed; events were dropped, so the consumer re-lists."""
