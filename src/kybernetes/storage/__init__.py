"""Storage: the revisioned key-value `Store` (etcd v3 shaped) and its backends.

interface   the `Store` protocol, `KeyValue`, `Event`, `ListResult`
errors      the storage error tree
memory      `MemoryStore`, an in-memory fake for testing neighbours
sqlite      `SQLiteStore`, the embedded default backend (one file, WAL)
"""

from kybernetes.storage.errors import (
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    NotFoundError,
    StorageError,
    WatchOverflowError,
)
from kybernetes.storage.interface import Event, KeyValue, ListResult, Store

__all__ = [
    "CompactedError",
    "ConflictError",
    "Event",
    "FutureRevisionError",
    "KeyExistsError",
    "KeyValue",
    "ListResult",
    "NotFoundError",
    "StorageError",
    "Store",
    "WatchOverflowError",
]
