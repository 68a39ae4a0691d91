"""Subprocess helper for the SQLite tests (not a test module).

    python storage_writer.py PATH PREFIX COUNT WRITERS

Creates COUNT keys (0 = until killed) under PREFIX with WRITERS concurrent tasks
and prints "key revision" for each write once it is acknowledged.
"""

from __future__ import annotations

import asyncio
import itertools
import sys

from kybernetes.storage.sqlite import SQLiteStore


async def main(path: str, prefix: str, count: int, writers: int) -> None:
    store = SQLiteStore(path, compact_interval_seconds=0)
    await store.start()
    numbers = itertools.count() if count == 0 else iter(range(count))
    out = sys.stdout

    async def writer() -> None:
        for n in numbers:
            kv = await store.create(f"{prefix}{n:08d}", b"v" * 100)
            out.write(f"{kv.key} {kv.mod_revision}\n")
            out.flush()

    await asyncio.gather(*(writer() for _ in range(writers)))
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
