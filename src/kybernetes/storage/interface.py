"""The `Store` contract: an etcd v3 shaped revisioned key-value store with watch.

Invariants every backend keeps:

- One global revision counter, strictly increasing, shared by all keys. Every
  successful create, update and delete consumes exactly one revision; a failed
  one consumes none. A revision is never reused, also across restarts.
- `KeyValue.mod_revision` is the revision of the write that produced the value
  (the object's resourceVersion); `create_revision` is that of its creation.
- History is kept until compacted. After `compact(c)` reads at revision >= c
  and watches from revision > c are exact; older ones raise `CompactedError`.
- Watch delivers every event under the prefix with revision >= start, once,
  in revision order, in batches. A watcher that falls too far behind ends with
  `WatchOverflowError`; one whose history was compacted away ends with
  `CompactedError`. Either way its consumer must re-list (an HTTP 410).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from kybernetes.storage.errors import (
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    NotFoundError,
    StorageError,
    WatchOverflowError,
)

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
    "prefix_end",
]


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One version of one key."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Event:
    """One change.

    PUT: `kv` is the new version; `prev_kv` the one it replaced (None for a create).
    DELETE: `kv` carries the last value, the original create_revision and the
    revision of the delete itself as mod_revision; `prev_kv` is the last version.
    """

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev_kv: KeyValue | None

    @property
    def is_create(self) -> bool:
        return self.type == "PUT" and self.prev_kv is None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class ListResult:
    """A page of live keys, sorted by key, as of `revision`."""

    items: list[KeyValue]
    revision: int
    more: bool


class Store(Protocol):
    """Revisioned key-value store. All methods are coroutines on the caller's loop."""

    async def start(self) -> None:
        """Open the store; must be awaited before any other call."""

    async def close(self) -> None:
        """Fail pending writes, end every watch, release resources. Idempotent."""

    async def current_revision(self) -> int:
        """The revision of the latest write (0 for an empty store)."""

    @property
    def compacted_revision(self) -> int:
        """History at or below this revision may be gone (0 = nothing compacted)."""

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The key at `revision` (0 = latest), None if absent.

        Raises CompactedError if revision < compacted_revision, FutureRevisionError
        if revision > current revision.
        """

    async def list(
        self, prefix: str, *, revision: int = 0, start_key: str = "", limit: int = 0
    ) -> ListResult:
        """Live keys starting with `prefix` and >= `start_key` (inclusive), sorted.

        `limit` 0 = all; `more` is True when the limit cut the list short.
        Revision rules as in `get`.
        """

    async def count(self, prefix: str) -> int:
        """Number of live keys starting with `prefix` at the latest revision."""

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Create `key`; raises KeyExistsError if it is live."""

    async def update(self, key: str, value: bytes, *, expected_mod_revision: int) -> KeyValue:
        """Replace `key` if its mod_revision is `expected_mod_revision` (0 = unconditionally).

        Raises NotFoundError if absent, ConflictError(current) if it changed.
        """

    async def delete(self, key: str, *, expected_mod_revision: int = 0) -> KeyValue:
        """Delete `key` (0 = unconditionally); returns the last value with
        mod_revision = the delete's revision. NotFoundError / ConflictError(current)."""

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[list[Event]]:
        """Events under `prefix` with revision >= start_revision, in order, batched.

        start_revision 0 means "from now on". Raises CompactedError (on the first
        iteration) if start_revision <= compacted_revision. Runs until the consumer
        stops iterating (`aclose`) or the store closes (the iterator ends).
        """

    async def compact(self, revision: int) -> None:
        """Forget history at or below `revision`, keeping the latest version of every
        live key. A revision at or below the compacted one is a no-op;
        FutureRevisionError if it is beyond the current revision."""


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix`.

    None means "no upper bound" (empty prefix). Code point order equals UTF-8 byte
    order, so this bound also works for SQLite's BINARY collation.
    """
    chars = list(prefix)
    while chars:
        code = ord(chars[-1])
        if code < 0x10FFFF:
            code += 1
            if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be encoded; skip them
                code = 0xE000
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None
