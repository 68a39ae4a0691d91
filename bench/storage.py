"""Storage benchmark: SQLite store throughput and latency; prints figures, asserts nothing.

.venv/bin/python bench/storage.py [--writers 16] [--creates 20000] [--list 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

from kybernetes.storage.sqlite import SQLiteStore


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def bench_creates(store: SQLiteStore, writers: int, total: int) -> None:
    latencies: list[float] = []
    counter = iter(range(total))
    value = b'{"kind":"ConfigMap","data":{"k":"' + b"v" * 400 + b'"}}'

    async def writer() -> None:
        for n in counter:
            t0 = time.perf_counter()
            await store.create(f"/registry/configmaps/bench/cm-{n:08d}", value)
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - t0
    print(
        f"creates: {total} with {writers} concurrent writers in {elapsed:.2f} s "
        f"= {total / elapsed:,.0f}/s"
    )
    print(
        f"  latency p50 {percentile(latencies, 0.5) * 1000:.2f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.2f} ms"
    )


async def bench_updates(store: SQLiteStore, writers: int, total: int) -> None:
    keys = [f"/registry/leases/bench/l-{i}" for i in range(writers)]
    revs = {k: (await store.create(k, b"0")).mod_revision for k in keys}

    async def writer(key: str) -> None:
        for i in range(total // writers):
            kv = await store.update(key, str(i).encode(), expected_mod_revision=revs[key])
            revs[key] = kv.mod_revision

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(k) for k in keys))
    elapsed = time.perf_counter() - t0
    print(
        f"conditional updates: {total} on {writers} keys in {elapsed:.2f} s "
        f"= {total / elapsed:,.0f}/s"
    )


async def bench_list(store: SQLiteStore, size: int) -> None:
    value = b'{"kind":"Pod","spec":{"containers":[{"name":"c","image":"nginx"}]}}' * 8
    await asyncio.gather(
        *(store.create(f"/registry/pods/ns/p-{i:06d}", value) for i in range(size))
    )
    for label, revision in (("latest", 0), ("at an old revision", -1)):
        rev = (await store.current_revision()) if revision == -1 else 0
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            result = await store.list("/registry/pods/", revision=rev)
            times.append(time.perf_counter() - t0)
        assert len(result.items) == size
        print(
            f"list {size} keys {label}: best {min(times) * 1000:.1f} ms, "
            f"median {statistics.median(times) * 1000:.1f} ms"
        )
    t0 = time.perf_counter()
    await store.count("/registry/pods/")
    print(f"count {size} keys: {(time.perf_counter() - t0) * 1000:.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--creates", type=int, default=20_000)
    parser.add_argument("--list", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "state.db")
        store = SQLiteStore(path, compact_interval_seconds=0)
        await store.start()
        try:
            print(f"sqlite store at {path} (synchronous=FULL, WAL), {os.cpu_count()} CPUs")
            await bench_creates(store, args.writers, args.creates)
            await bench_updates(store, args.writers, args.creates // 2)
            await bench_list(store, args.list)
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
