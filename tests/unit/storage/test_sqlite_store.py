"""SQLite backend specifics: group commit, bounded growth, durability, sharing a file."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kybernetes.storage.interface import (
    CompactedError,
    ConflictError,
    Event,
    KeyValue,
    StorageError,
)
from kybernetes.storage.sqlite import SQLiteStore

WRITER = Path(__file__).with_name("storage_writer.py")
MiB = 1024 * 1024


def spawn_writer(db: Path, prefix: str, count: int, writers: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(db), prefix, str(count), str(writers)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def file_sizes(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def test_concurrent_updates_with_same_expected_revision_one_wins(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(str(tmp_path / "state.db"), compact_interval_seconds=0)
        await store.start()
        try:
            kv = await store.create("/o/x", b"0")
            # Submitted in one loop tick, so they land in one batch/transaction.
            results = await asyncio.gather(
                *(
                    store.update("/o/x", f"{i}".encode(), expected_mod_revision=kv.mod_revision)
                    for i in range(10)
                ),
                return_exceptions=True,
            )
            wins = [r for r in results if isinstance(r, KeyValue)]
            conflicts = [r for r in results if isinstance(r, ConflictError)]
            assert len(wins) == 1 and len(conflicts) == 9
            assert all(c.current == wins[0] for c in conflicts)
            assert await store.current_revision() == 2
        finally:
            await store.close()

    asyncio.run(main())


@pytest.mark.slow
def test_bounded_growth_under_rewrites_with_compaction(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    bound = 8 * MiB

    async def main() -> None:
        store = SQLiteStore(
            str(db),
            compact_interval_seconds=0.2,
            compact_keep_revisions=1000,
            checkpoint_interval_seconds=1,
            journal_size_limit_bytes=4 * MiB,
        )
        await store.start()
        try:
            for i in range(5):
                await store.create(f"/g/{i}", b"x")
            peak = 0

            async def rewriter(worker: int, rounds: int) -> None:
                nonlocal peak
                key = f"/g/{worker % 5}"
                for n in range(rounds):
                    await store.update(key, os.urandom(200), expected_mod_revision=0)
                    if worker == 0 and n % 100 == 0:
                        peak = max(peak, file_sizes(db))

            await asyncio.gather(*(rewriter(w, 2000) for w in range(50)))  # 100,000 writes
            assert await store.current_revision() == 100_005
            assert peak < bound, f"db+wal reached {peak} bytes during the run"

            await store.compact(await store.current_revision() - 1000)
            compacted = store.compacted_revision
            assert compacted == 99_005
            with pytest.raises(CompactedError):
                await store.get("/g/0", revision=compacted - 1)
            assert file_sizes(db) < bound
            with sqlite3.connect(db) as raw:
                old = raw.execute("SELECT count(*) FROM log WHERE revision <= ?", (compacted,))
                # only the latest version at or below the cut of each of the 5 keys remains
                assert old.fetchone()[0] <= 5
                assert raw.execute("SELECT count(*) FROM log").fetchone()[0] <= 1005
        finally:
            await store.close()

    asyncio.run(main())
    assert file_sizes(db) < bound


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    asyncio.run(_init(db))  # create the schema before the child starts
    child = spawn_writer(db, "/dur/", 0, 16)
    assert child.stdout is not None
    acked: dict[str, int] = {}
    deadline = time.monotonic() + random.uniform(0.2, 0.8)
    line = child.stdout.readline()  # the first ack: the child is writing
    while True:
        if line.endswith("\n"):
            key, rev = line.split()
            acked[key] = int(rev)
        if time.monotonic() >= deadline:
            break
        line = child.stdout.readline()
    child.send_signal(signal.SIGKILL)
    for line in child.stdout:  # acks already printed before the kill
        if line.endswith("\n"):
            key, rev = line.split()
            acked[key] = int(rev)
    child.wait()
    assert acked, "the child acknowledged nothing"

    async def check() -> None:
        store = SQLiteStore(str(db), compact_interval_seconds=0)
        await store.start()
        try:
            present = {kv.key: kv.mod_revision for kv in (await store.list("/dur/")).items}
            missing = [k for k in acked if present.get(k) != acked[k]]
            assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:3]}"
            nxt = await store.create("/dur-after", b"x")
            assert nxt.mod_revision > max(acked.values())
        finally:
            await store.close()

    asyncio.run(check())


async def _init(db: Path) -> None:
    store = SQLiteStore(str(db), compact_interval_seconds=0)
    await store.start()
    await store.close()


def test_watch_sees_writes_of_another_process(tmp_path: Path) -> None:
    db = tmp_path / "state.db"

    async def main() -> None:
        store = SQLiteStore(str(db), compact_interval_seconds=0, poll_interval_seconds=0.05)
        await store.start()
        try:
            it = store.watch("/xp/", start_revision=1)
            first = asyncio.ensure_future(anext(it))
            await asyncio.sleep(0.05)
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WRITER),
                str(db),
                "/xp/",
                "200",
                "4",
                stdout=asyncio.subprocess.DEVNULL,
            )
            events: list[Event] = list(await asyncio.wait_for(first, 15))
            while len(events) < 200:
                events.extend(await asyncio.wait_for(anext(it), 10))
            assert await child.wait() == 0
            assert [e.kv.mod_revision for e in events] == list(range(1, 201))
            assert all(e.is_create for e in events)
            await it.aclose()  # type: ignore[attr-defined]
        finally:
            await store.close()

    asyncio.run(main())


def test_interleaved_local_and_foreign_writes_reach_watchers_in_order(tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")

    async def main() -> None:
        local = SQLiteStore(db, compact_interval_seconds=0, poll_interval_seconds=0.05)
        foreign = SQLiteStore(db, compact_interval_seconds=0)  # a second connection set
        await local.start()
        await foreign.start()
        try:
            it = local.watch("/mix/", start_revision=0)
            first = asyncio.ensure_future(anext(it))
            await asyncio.sleep(0.05)
            for i in range(20):
                await local.create(f"/mix/l{i}", b"l")
                await foreign.create(f"/mix/f{i}", b"f")
            events: list[Event] = list(await asyncio.wait_for(first, 5))
            while len(events) < 40:
                events.extend(await asyncio.wait_for(anext(it), 5))
            assert [e.kv.mod_revision for e in events] == list(range(1, 41))
            await it.aclose()  # type: ignore[attr-defined]
        finally:
            await foreign.close()
            await local.close()

    asyncio.run(main())


def test_corrupt_database_raises_storage_error(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(b"this is not a database" * 500)

    async def main() -> None:
        store = SQLiteStore(str(db), compact_interval_seconds=0)
        with pytest.raises(StorageError, match="corrupt"):
            await store.start()

    asyncio.run(main())


def test_locked_database_raises_storage_error(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    asyncio.run(_init(db))
    holder = sqlite3.connect(db, isolation_level=None)

    async def main() -> None:
        store = SQLiteStore(str(db), compact_interval_seconds=0, busy_timeout_seconds=0.2)
        await store.start()
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            with pytest.raises(StorageError, match="locked"):
                await store.create("/l/x", b"1")
            holder.execute("ROLLBACK")
            assert (await store.create("/l/x", b"1")).mod_revision == 1
        finally:
            await store.close()

    try:
        asyncio.run(main())
    finally:
        holder.close()


def test_periodic_compaction_keeps_recent_history(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(
            str(tmp_path / "state.db"), compact_interval_seconds=0.05, compact_keep_revisions=10
        )
        await store.start()
        try:
            await store.create("/p/x", b"0")
            for i in range(50):
                await store.update("/p/x", f"{i}".encode(), expected_mod_revision=0)
            for _ in range(100):
                if store.compacted_revision == 41:
                    break
                await asyncio.sleep(0.02)
            assert store.compacted_revision == 41
            assert (await store.get("/p/x", revision=41)) is not None
            with pytest.raises(CompactedError):
                await store.get("/p/x", revision=40)
        finally:
            await store.close()

    asyncio.run(main())


def test_repeated_compaction_leaves_only_live_versions(tmp_path: Path) -> None:
    db = tmp_path / "state.db"

    async def main() -> None:
        store = SQLiteStore(str(db), compact_interval_seconds=0, compact_chunk_revisions=2)
        await store.start()
        try:
            a = await store.create("/r/a", b"a1")
            await store.create("/r/b", b"b1")
            c = await store.create("/r/c", b"c1")
            a = await store.update("/r/a", b"a2", expected_mod_revision=a.mod_revision)
            await store.delete("/r/b")
            await store.compact(await store.current_revision())
            await store.create("/r/b", b"b2")
            await store.update("/r/c", b"c2", expected_mod_revision=c.mod_revision)
            await store.delete("/r/a")
            await store.compact(await store.current_revision())
            latest = await store.list("/r/", revision=store.compacted_revision)
            assert [(kv.key, kv.value) for kv in latest.items] == [("/r/b", b"b2"), ("/r/c", b"c2")]
        finally:
            await store.close()
        with sqlite3.connect(db) as raw:
            rows = raw.execute("SELECT name, value FROM log ORDER BY name").fetchall()
        assert rows == [("/r/b", b"b2"), ("/r/c", b"c2")]

    asyncio.run(main())
