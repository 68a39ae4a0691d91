"""SQLite `Store`: the embedded default backend, log-structured like kine, in one file.

Layout (one database file in WAL mode, e.g. DIR/state.db):

    log(revision INTEGER PRIMARY KEY, name, created, deleted, create_revision,
        prev_revision, value)
        One row per write; the revision is the row id. A deletion row (tombstone)
        carries the last value. Index (name, revision) serves reads at a revision.
    current(name PRIMARY KEY, revision) WITHOUT ROWID
        Points at the latest live row of each key; kept in the same transaction
        as the log. Latest reads, counts and conflict checks use it; history
        stays in `log` only.
    meta(key PRIMARY KEY, value)
        'revision': last revision handed out (so a revision is never reused,
        even when the rows that held it were compacted); 'compacted': the
        compacted revision; 'compact_progress': how far row cleanup has got.

Tasks and threads:

    create/update/delete -> _pending -> writer task -> writer thread
        one BEGIN IMMEDIATE ... COMMIT per batch of concurrent writes (group
        commit: one fsync for the batch); futures resolved only after COMMIT.
    writer task -> committed events -> tailer task -> WatchHub -> one bounded
        queue per watcher. The tailer also polls the file for rows beyond the
        last revision it published (only while there are watchers and no local
        write woke it), so writes by other processes sharing the file arrive.
    reader threads: short BEGIN ... COMMIT read transactions. No read
        transaction is ever held open, as one would block WAL checkpoints.
    compactor task: compaction in small chunks on the writer thread (writers
        wait for at most one chunk), then incremental_vacuum and a TRUNCATE
        checkpoint so the file and the WAL stay bounded.

Several processes may open the same file: revisions are allocated and
conditions checked inside the IMMEDIATE transaction, so they stay correct.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from kybernetes.storage._watch import DEFAULT_MAX_PENDING_EVENTS, WatchHub, iterate
from kybernetes.storage.errors import (
    CompactedError,
    ConflictError,
    FutureRevisionError,
    KeyExistsError,
    NotFoundError,
    StorageError,
)
from kybernetes.storage.interface import Event, KeyValue, ListResult, prefix_end

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS log (
        revision INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,
        value BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS log_name_revision ON log (name, revision)",
    """CREATE TABLE IF NOT EXISTS current (
        name TEXT PRIMARY KEY, revision INTEGER NOT NULL) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """INSERT OR IGNORE INTO meta (key, value)
        VALUES ('revision', 0), ('compacted', 0), ('compact_progress', 0)""",
)

_SELECT_META = "SELECT key, value FROM meta WHERE key IN ('revision', 'compacted')"
_SELECT_CURRENT = """SELECT l.revision, l.create_revision, l.value
    FROM current c JOIN log l ON l.revision = c.revision WHERE c.name = ?"""
_SELECT_AT = """SELECT revision, create_revision, value, deleted FROM log
    WHERE name = ? AND revision <= ? ORDER BY revision DESC LIMIT 1"""
_INSERT = """INSERT INTO log (revision, name, created, deleted, create_revision,
    prev_revision, value) VALUES (?, ?, ?, ?, ?, ?, ?)"""
_SELECT_EVENTS = """SELECT l.revision, l.name, l.deleted, l.create_revision,
        l.prev_revision, l.value, p.value
    FROM log l LEFT JOIN log p ON p.revision = l.prev_revision
    WHERE l.revision > ? AND l.revision <= ? {cond} ORDER BY l.revision LIMIT ?"""
# Compaction to a target T walks the rows in (progress, T] once: each row makes
# the version it replaced (prev_revision) garbage, since that version is no
# longer the latest at or below T; and a tombstone at or below T is garbage
# itself (the key is absent at every revision >= T). What stays at or below T is
# exactly the latest live version of each key, which reads at revision >= T need
# (etcd compaction semantics). Predecessors go first: tombstones point at them.
_COMPACT_PREDECESSORS = """DELETE FROM log WHERE revision IN (
    SELECT prev_revision FROM log WHERE revision > ? AND revision <= ? AND prev_revision != 0)"""
_COMPACT_TOMBSTONES = "DELETE FROM log WHERE revision > ? AND revision <= ? AND deleted = 1"

_MAX_BATCH = 512
_TAIL_CHUNK = 2000
_CHECKPOINT_BUSY_MS = 200

_OpKind = Literal["create", "update", "delete"]


@dataclass(slots=True)
class _Op:
    kind: _OpKind
    key: str
    value: bytes
    expected: int
    future: asyncio.Future[KeyValue]


def _translate(exc: sqlite3.Error, path: str) -> StorageError:
    """Turn a driver error into a StorageError with a message an operator can act on."""
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        return StorageError(
            f"sqlite database {path} is locked: another connection held it longer than "
            f"the busy timeout ({msg})"
        )
    if "malformed" in msg or "not a database" in msg or "corrupt" in msg:
        return StorageError(f"sqlite database {path} is corrupt ({msg}); restore a snapshot")
    return StorageError(f"sqlite database {path}: {msg}")


def _event(row: Sequence[Any]) -> Event:
    rev, name, deleted, create_rev, prev_rev, value, prev_value = row
    kv = KeyValue(name, value, create_rev, rev)
    if deleted:
        return Event("DELETE", kv, KeyValue(name, value, create_rev, prev_rev))
    if not prev_rev:
        return Event("PUT", kv, None)
    prev = KeyValue(name, prev_value if prev_value is not None else b"", create_rev, prev_rev)
    return Event("PUT", kv, prev)


def _range(column: str, prefix: str, start_key: str = "") -> tuple[str, list[str]]:
    """SQL condition (index friendly) for `column` starting with prefix and >= start_key."""
    upper = prefix_end(prefix)
    cond = f"{column} >= ?"
    params = [max(prefix, start_key)]
    if upper is not None:
        cond += f" AND {column} < ?"
        params.append(upper)
    return cond, params


def _check_revision(revision: int, current: int, compacted: int) -> None:
    if revision and revision < compacted:
        raise CompactedError(revision, compacted)
    if revision > current:
        raise FutureRevisionError(revision, current)


class SQLiteStore:
    """Satisfies `kybernetes.storage.interface.Store`.

    `path` is the database file (its directory is created). Durability: a write
    is acknowledged only after its COMMIT returned with synchronous=FULL, so it
    survives a process kill and a power loss (see `_connect`).
    """

    def __init__(
        self,
        path: str,
        *,
        compact_interval_seconds: float = 300,
        compact_keep_revisions: int = 1000,
        compact_chunk_revisions: int = 1000,
        checkpoint_interval_seconds: float = 5.0,
        poll_interval_seconds: float = 0.15,
        busy_timeout_seconds: float = 10.0,
        journal_size_limit_bytes: int = 16 * 1024 * 1024,
        max_pending_events: int = DEFAULT_MAX_PENDING_EVENTS,
        reader_threads: int = 2,
    ) -> None:
        self._path = path
        self._compact_interval = compact_interval_seconds
        self._keep = max(0, compact_keep_revisions)
        self._chunk = max(1, compact_chunk_revisions)
        self._checkpoint_interval = checkpoint_interval_seconds
        self._poll_interval = poll_interval_seconds
        self._busy_ms = int(busy_timeout_seconds * 1000)
        self._journal_limit = journal_size_limit_bytes
        self._reader_threads = reader_threads
        self._hub = WatchHub(max_pending_events=max_pending_events)
        self._compacted = 0
        self._seen = 0  # highest revision published to the hub (or skipped: no watchers)
        self._started = False
        self._closing = False
        self._pending: list[_Op] = []
        self._local_batches: list[list[Event]] = []
        self._reader_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._local = threading.local()
        self._wconn: sqlite3.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._writer_task: asyncio.Task[None] | None = None

    # ---- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kyb-sqlite-writer")
        self._readers = ThreadPoolExecutor(
            self._reader_threads, thread_name_prefix="kyb-sqlite-reader"
        )
        try:
            revision, compacted = await self._on_writer(self._open)
        except BaseException:
            self._writer.shutdown(wait=False)
            self._readers.shutdown(wait=False)
            raise
        self._seen, self._compacted = revision, compacted
        self._write_wakeup = asyncio.Event()
        self._tail_wakeup = asyncio.Event()
        self._fanout_lock = asyncio.Lock()
        self._compact_lock = asyncio.Lock()
        self._started, self._closing = True, False
        self._writer_task = asyncio.create_task(self._write_loop(), name="sqlite-writer")
        self._tasks = [asyncio.create_task(self._tail_loop(), name="sqlite-tailer")]
        if self._compact_interval > 0:
            self._tasks.append(asyncio.create_task(self._compact_loop(), name="sqlite-compactor"))

    async def close(self) -> None:
        if not self._started or self._closing:
            return
        self._closing = True
        self._write_wakeup.set()
        if self._writer_task is not None:
            await self._writer_task  # drains the writes already accepted
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._hub.close_all()
        await asyncio.to_thread(self._readers.shutdown, True)
        with contextlib.suppress(sqlite3.Error):
            await self._on_writer(self._close_connections)
        await asyncio.to_thread(self._writer.shutdown, True)
        self._started = False

    def _ensure_open(self) -> None:
        if not self._started or self._closing:
            raise StorageError(f"sqlite store {self._path} is not open")

    # ---- connections (called on the writer or reader threads) --------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_ms / 1000,
            isolation_level=None,  # autocommit; transactions are explicit BEGIN/COMMIT
            check_same_thread=False,
            cached_statements=256,
        )
        # WAL + synchronous=NORMAL would survive a process kill but could lose the
        # last commits on power loss. FULL fsyncs the WAL on every COMMIT; group
        # commit makes that one fsync per batch, which keeps throughput up.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        return conn

    def _open(self) -> tuple[int, int]:
        directory = os.path.dirname(os.path.abspath(self._path))
        try:
            os.makedirs(directory, exist_ok=True)
            conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open sqlite database {self._path}: {exc}") from exc
        try:
            # Only takes effect on a new, empty file: freed pages can then be
            # returned to the OS with incremental_vacuum after compaction.
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(f"sqlite database {self._path}: cannot enable WAL ({mode})")
            conn.execute(f"PRAGMA journal_size_limit={self._journal_limit}")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("COMMIT")
            meta = dict(conn.execute(_SELECT_META).fetchall())
        except sqlite3.Error as exc:
            conn.close()
            raise _translate(exc, self._path) from exc
        except BaseException:
            conn.close()
            raise
        self._wconn = conn
        return int(meta["revision"]), int(meta["compacted"])

    def _close_connections(self) -> None:
        with self._conns_lock:
            conns, self._reader_conns = self._reader_conns, []
        for conn in conns:
            conn.close()
        if self._wconn is not None:
            self._wconn.close()
            self._wconn = None

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._conns_lock:
                self._reader_conns.append(conn)
        return conn

    async def _on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._guard, fn, args)

    def _guard(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise _translate(exc, self._path) from exc

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(conn, revision, compacted, *args) in one short read transaction."""
        self._ensure_open()
        return await asyncio.get_running_loop().run_in_executor(
            self._readers, self._read_txn, fn, args
        )

    def _read_txn(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            conn = self._reader()
            conn.execute("BEGIN")
            try:
                meta = dict(conn.execute(_SELECT_META).fetchall())
                compacted = int(meta["compacted"])
                if compacted > self._compacted:  # another process compacted
                    self._compacted = compacted
                return fn(conn, int(meta["revision"]), compacted, *args)
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _translate(exc, self._path) from exc

    # ---- reads -----------------------------------------------------------------

    async def current_revision(self) -> int:
        return await self._read(lambda conn, rev, compacted: rev)

    @property
    def compacted_revision(self) -> int:
        return self._compacted

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        return await self._read(self._get_txn, key, revision)

    @staticmethod
    def _get_txn(
        conn: sqlite3.Connection, current: int, compacted: int, key: str, revision: int
    ) -> KeyValue | None:
        _check_revision(revision, current, compacted)
        if not revision:
            row = conn.execute(_SELECT_CURRENT, (key,)).fetchone()
            return KeyValue(key, row[2], row[1], row[0]) if row else None
        row = conn.execute(_SELECT_AT, (key, revision)).fetchone()
        if row is None or row[3]:
            return None
        return KeyValue(key, row[2], row[1], row[0])

    async def list(
        self, prefix: str, *, revision: int = 0, start_key: str = "", limit: int = 0
    ) -> ListResult:
        return await self._read(self._list_txn, prefix, revision, start_key, limit)

    @staticmethod
    def _list_txn(
        conn: sqlite3.Connection,
        current: int,
        compacted: int,
        prefix: str,
        revision: int,
        start_key: str,
        limit: int,
    ) -> ListResult:
        _check_revision(revision, current, compacted)
        fetch = limit + 1 if limit > 0 else -1
        if not revision:
            cond, params = _range("c.name", prefix, start_key)
            sql = f"""SELECT l.name, l.value, l.create_revision, l.revision
                FROM current c JOIN log l ON l.revision = c.revision
                WHERE {cond} ORDER BY c.name LIMIT ?"""
            rows = conn.execute(sql, (*params, fetch)).fetchall()
        else:
            cond, params = _range("name", prefix, start_key)
            sql = f"""SELECT l.name, l.value, l.create_revision, l.revision
                FROM (SELECT max(revision) AS r FROM log
                      WHERE {cond} AND revision <= ? GROUP BY name) m
                JOIN log l ON l.revision = m.r
                WHERE l.deleted = 0 ORDER BY l.name LIMIT ?"""
            rows = conn.execute(sql, (*params, revision, fetch)).fetchall()
        more = limit > 0 and len(rows) > limit
        if more:
            rows = rows[:limit]
        items = [KeyValue(r[0], r[1], r[2], r[3]) for r in rows]
        return ListResult(items=items, revision=revision or current, more=more)

    async def count(self, prefix: str) -> int:
        return await self._read(self._count_txn, prefix)

    @staticmethod
    def _count_txn(conn: sqlite3.Connection, current: int, compacted: int, prefix: str) -> int:
        cond, params = _range("name", prefix)
        return int(conn.execute(f"SELECT count(*) FROM current WHERE {cond}", params).fetchone()[0])

    # ---- writes: group commit -------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        return await self._submit("create", key, value, 0)

    async def update(self, key: str, value: bytes, *, expected_mod_revision: int) -> KeyValue:
        return await self._submit("update", key, value, expected_mod_revision)

    async def delete(self, key: str, *, expected_mod_revision: int = 0) -> KeyValue:
        return await self._submit("delete", key, b"", expected_mod_revision)

    async def _submit(self, kind: _OpKind, key: str, value: bytes, expected: int) -> KeyValue:
        self._ensure_open()
        future: asyncio.Future[KeyValue] = asyncio.get_running_loop().create_future()
        self._pending.append(_Op(kind, key, bytes(value), expected, future))
        self._write_wakeup.set()
        return await future

    async def _write_loop(self) -> None:
        last_checkpoint = time.monotonic()
        while True:
            await self._write_wakeup.wait()
            self._write_wakeup.clear()
            while self._pending:
                ops, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
                await self._run_batch(ops)
            if self._closing:
                return
            if (
                self._checkpoint_interval > 0
                and time.monotonic() - last_checkpoint >= self._checkpoint_interval
            ):
                # Auto-checkpoints (PASSIVE) never reset the WAL while readers are
                # always active; a RESTART checkpoint waits briefly for them.
                last_checkpoint = time.monotonic()
                with contextlib.suppress(StorageError):
                    await self._on_writer(self._checkpoint, "RESTART")

    async def _run_batch(self, ops: list[_Op]) -> None:
        requests = [(op.kind, op.key, op.value, op.expected) for op in ops]
        try:
            results, events = await self._on_writer(self._apply_batch, requests)
        except Exception as exc:  # the whole transaction failed: nothing was written
            if not isinstance(exc, StorageError):
                log.exception("sqlite writer failed")
            for op in ops:
                if not op.future.done():
                    op.future.set_exception(StorageError(str(exc)))
            return
        for op, result in zip(ops, results, strict=True):
            if op.future.done():  # the caller gave up; the write stands anyway
                continue
            if isinstance(result, StorageError):
                op.future.set_exception(result)
            else:
                op.future.set_result(result)
        if events:
            self._local_batches.append(events)
            self._tail_wakeup.set()

    def _apply_batch(
        self, requests: list[tuple[_OpKind, str, bytes, int]]
    ) -> tuple[list[KeyValue | StorageError], list[Event]]:
        """One IMMEDIATE transaction for the batch; conditions are checked inside it,
        in order, so a later op sees the earlier ops' writes."""
        conn = self._wconn
        assert conn is not None
        results: list[KeyValue | StorageError] = []
        events: list[Event] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            rev = conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0]
            for kind, key, value, expected in requests:
                row = conn.execute(_SELECT_CURRENT, (key,)).fetchone()
                current = KeyValue(key, row[2], row[1], row[0]) if row else None
                error = self._precondition(kind, key, expected, current)
                if error is not None:
                    results.append(error)
                    continue
                rev += 1
                event = self._write_row(conn, kind, key, value, rev, current)
                events.append(event)
                results.append(event.kv)
            if events:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (rev,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return results, events

    @staticmethod
    def _precondition(
        kind: _OpKind, key: str, expected: int, current: KeyValue | None
    ) -> StorageError | None:
        if kind == "create":
            return KeyExistsError(key) if current is not None else None
        if current is None:
            return NotFoundError(key)
        if expected and current.mod_revision != expected:
            return ConflictError(current)
        return None

    @staticmethod
    def _write_row(
        conn: sqlite3.Connection,
        kind: _OpKind,
        key: str,
        value: bytes,
        rev: int,
        current: KeyValue | None,
    ) -> Event:
        if current is None:  # create
            conn.execute(_INSERT, (rev, key, 1, 0, rev, 0, value))
            conn.execute("INSERT INTO current (name, revision) VALUES (?, ?)", (key, rev))
            return Event("PUT", KeyValue(key, value, rev, rev), None)
        create_rev, prev_rev = current.create_revision, current.mod_revision
        if kind == "update":
            conn.execute(_INSERT, (rev, key, 0, 0, create_rev, prev_rev, value))
            conn.execute("UPDATE current SET revision = ? WHERE name = ?", (rev, key))
            return Event("PUT", KeyValue(key, value, create_rev, rev), current)
        conn.execute(_INSERT, (rev, key, 0, 1, create_rev, prev_rev, current.value))
        conn.execute("DELETE FROM current WHERE name = ?", (key,))
        return Event("DELETE", KeyValue(key, current.value, create_rev, rev), current)

    def _checkpoint(self, mode: str) -> bool:
        """Checkpoint the WAL; True when it completed (no reader held it back)."""
        conn = self._wconn
        assert conn is not None
        conn.execute(f"PRAGMA busy_timeout={_CHECKPOINT_BUSY_MS}")
        try:
            busy = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[0]
        finally:
            conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        return busy == 0

    # ---- watch ------------------------------------------------------------------

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[list[Event]]:
        return self._watch(prefix, start_revision)

    async def _watch(self, prefix: str, start_revision: int) -> AsyncIterator[list[Event]]:
        self._ensure_open()
        # Under the fan-out lock nothing is published: catch the hub up to the
        # snapshot revision, read this watcher's history up to the same revision,
        # register it there. History <= snapshot, live > snapshot: no gap, no dup.
        async with self._fanout_lock:
            batches, self._local_batches = self._local_batches, []
            for events in batches:  # first publish what is in hand: a smaller catch-up
                await self._deliver_local(events)
            seen = self._seen if len(self._hub) else None
            rev, compacted, catchup, history = await self._read(
                self._watch_start_txn, seen, prefix, start_revision
            )
            if catchup:
                self._publish_caught_up(catchup, compacted)
            self._seen = max(self._seen, rev)
            position = start_revision - 1 if start_revision else rev
            stream = self._hub.open(prefix, position=position)
            stream.push(history, history=True)
            if self._closing:  # close() ran while we read: it already closed the hub
                stream.close()
        self._tail_wakeup.set()  # the tailer may be idle (no watchers): start polling
        async for batch in iterate(self._hub, stream):
            yield batch

    @staticmethod
    def _watch_start_txn(
        conn: sqlite3.Connection,
        current: int,
        compacted: int,
        seen: int | None,
        prefix: str,
        start: int,
    ) -> tuple[int, int, list[Event], list[Event]]:
        if start and start <= compacted:
            raise CompactedError(start, compacted)
        catchup: list[Event] = []
        if seen is not None and seen < current:
            sql = _SELECT_EVENTS.format(cond="")
            catchup = [_event(r) for r in conn.execute(sql, (seen, current, -1))]
        history: list[Event] = []
        if start and start <= current:
            cond, params = _range("l.name", prefix)
            sql = _SELECT_EVENTS.format(cond=f"AND {cond}")
            history = [_event(r) for r in conn.execute(sql, (start - 1, current, *params, -1))]
        return current, compacted, catchup, history

    def _publish_caught_up(self, events: list[Event], compacted: int) -> None:
        if compacted > self._seen:
            # Rows after our position may have been compacted before we read them:
            # the watchers cannot be given a complete history, so they re-list.
            # (Only when the hub lags behind the compactor, which keeps
            # compact_keep_revisions; an explicit compact to the very latest
            # revision racing a foreign write can also trigger it.)
            self._hub.fail_all(CompactedError(self._seen + 1, compacted))
        self._hub.publish(events)

    async def _tail_loop(self) -> None:
        while True:
            timeout = self._poll_interval if len(self._hub) else None
            woken = True
            try:
                await asyncio.wait_for(self._tail_wakeup.wait(), timeout)
            except TimeoutError:
                woken = False
            self._tail_wakeup.clear()
            try:
                async with self._fanout_lock:
                    batches, self._local_batches = self._local_batches, []
                    for events in batches:
                        await self._deliver_local(events)
                    if not woken and len(self._hub):
                        await self._catch_up()
            except StorageError as exc:  # retried at the next poll: _seen did not move
                if not self._closing:
                    log.warning("sqlite watch tailing failed: %s", exc)

    async def _deliver_local(self, events: list[Event]) -> None:
        last = events[-1].kv.mod_revision
        if not len(self._hub):
            self._seen = max(self._seen, last)
        elif events[0].kv.mod_revision <= self._seen + 1:
            self._hub.publish(events)
            self._seen = max(self._seen, last)
        else:  # another process wrote in between: read the gap (and this batch) from the file
            await self._catch_up()

    async def _catch_up(self) -> None:
        while True:
            rev, compacted, events = await self._read(self._tail_txn, self._seen)
            self._publish_caught_up(events, compacted)
            if len(events) < _TAIL_CHUNK:
                self._seen = max(self._seen, rev)
                return
            self._seen = events[-1].kv.mod_revision

    @staticmethod
    def _tail_txn(
        conn: sqlite3.Connection, current: int, compacted: int, seen: int
    ) -> tuple[int, int, list[Event]]:
        if current <= seen:
            return current, compacted, []
        sql = _SELECT_EVENTS.format(cond="")
        events = [_event(r) for r in conn.execute(sql, (seen, current, _TAIL_CHUNK))]
        return current, compacted, events

    # ---- compaction ------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        self._ensure_open()
        async with self._compact_lock:
            progress, target = await self._on_writer(self._mark_compacted, revision)
            self._compacted = max(self._compacted, target)
            if progress >= target:
                return
            lo = progress
            while lo < target:
                hi = min(lo + self._chunk, target)
                await self._on_writer(self._compact_chunk, lo, hi)
                lo = hi
            await self._on_writer(self._vacuum)
            for _ in range(10):
                if await self._on_writer(self._checkpoint, "TRUNCATE"):
                    break
                await asyncio.sleep(0.05)

    def _mark_compacted(self, revision: int) -> tuple[int, int]:
        """Persist the compacted revision before any row goes, so readers at an
        older revision get CompactedError instead of a half-compacted answer."""
        conn = self._wconn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if revision > meta["revision"]:
                raise FutureRevisionError(revision, meta["revision"])
            target = max(revision, meta["compacted"])
            conn.execute("UPDATE meta SET value = ? WHERE key = 'compacted'", (target,))
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        return int(meta["compact_progress"]), target

    def _compact_chunk(self, lo: int, hi: int) -> None:
        conn = self._wconn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_COMPACT_PREDECESSORS, (lo, hi))
            conn.execute(_COMPACT_TOMBSTONES, (lo, hi))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'compact_progress'", (hi,))
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _vacuum(self) -> None:
        """Give a large free list back to the OS (free pages are reused anyway)."""
        conn = self._wconn
        assert conn is not None
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        if free > 256 and free * 4 > pages:
            conn.execute("PRAGMA incremental_vacuum").fetchall()

    async def _compact_loop(self) -> None:
        while True:
            await asyncio.sleep(self._compact_interval)
            try:
                target = await self.current_revision() - self._keep
                if target > 0:
                    await self.compact(target)
            except StorageError as exc:
                log.warning("sqlite compaction failed: %s", exc)
