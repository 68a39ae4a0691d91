"""API server benchmark: a real `kyb server` over HTTPS; prints figures, asserts nothing.

.venv/bin/python bench/apiserver.py [--pods 5000] [--clients 16] [--list 10000]
    [--watchers 10] [--watch-events 1000] [--watch-rate 100]

1. pod creates/s with --clients concurrent keep-alive client sessions (admin client
   cert), and create latency p50/p99;
2. LIST of --list pods in one namespace: in full, paginated by limit=500, and as
   the Table kubectl asks for (in full and paginated);
3. watch delivery latency (annotation send time -> watcher receive time) to
   --watchers concurrent watch streams while a writer creates pods at a steady rate;
4. the same create load against a bare aiohttp HTTPS handler in a subprocess
   (orjson-decode, store in a dict, echo 201), and the ratio kybernetes/bare.

The client runs in this process on uvloop, and shares the machine's cores with
the server, so on a small box these figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop
import yaml

from kybernetes.testing.server import ServerProcess

NAMESPACE = "bench"
WATCH_NAMESPACE = "bench-watch"
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"
PAGE = 500

GOALS = (
    "goals (from the issue): >= 1,000 pod creates/s with 16 clients, create p99 < 100 ms, "
    "LIST 10,000 pods < 0.5 s, create throughput >= 50% of a bare aiohttp handler"
)

BARE_SERVER = r"""
import asyncio, ssl, sys
import orjson, uvloop
from aiohttp import web

store = {}

async def create(request):
    obj = orjson.loads(await request.read())
    name = obj["metadata"]["name"]
    if name in store:
        return web.Response(status=409, body=b'{"reason":"AlreadyExists"}',
                            content_type="application/json")
    store[name] = obj
    return web.Response(status=201, body=orjson.dumps(obj), content_type="application/json")

async def healthz(request):
    return web.Response(text="ok")

async def main():
    crt, key, ca = sys.argv[1:4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(crt, key)
    ctx.load_verify_locations(cafile=ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/api/v1/namespaces/{ns}/pods", create)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx, backlog=1024)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

uvloop.run(main())
"""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def cpu_seconds(pid: int) -> float | None:
    """User+system CPU of process `pid` (all threads) from /proc; None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Client:
    """TLS material from a kubeconfig, and sessions that present the admin cert."""

    def __init__(self, kubeconfig: Path, tmp: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.url = cluster["server"]
        self.ca_path = tmp / "client-ca.crt"
        self.ca_path.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        crt, key = tmp / "client.crt", tmp / "client.key"
        crt.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        self.ssl = ssl.create_default_context(cafile=str(self.ca_path))
        self.ssl.load_cert_chain(str(crt), str(key))

    def session(self, limit: int = 1, url: str | None = None) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self.ssl, limit=limit, keepalive_timeout=300)
        return aiohttp.ClientSession(base_url=url or self.url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=None,
                                                                   sock_read=120))


def pod(name: str, annotations: dict[str, str] | None = None) -> bytes:
    meta: dict[str, Any] = {"name": name, "labels": {"app": "bench"}}
    if annotations:
        meta["annotations"] = annotations
    return orjson.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
    })


JSON = {"Content-Type": "application/json", "Accept": "application/json"}


async def ensure_namespace(session: aiohttp.ClientSession, name: str) -> None:
    body = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    async with session.post("/api/v1/namespaces", data=body, headers=JSON) as resp:
        await resp.read()
        if resp.status not in (201, 409):
            raise RuntimeError(f"creating namespace {name}: {resp.status}")


async def create_load(client: Client, clients: int, names: list[str], *, url: str | None = None,
                      warmup_path: str = "/healthz", server_pid: int | None = None
                      ) -> tuple[float, list[float], float | None]:
    """POST a pod per name from `clients` keep-alive sessions.

    Returns (elapsed, latencies, server CPU seconds used meanwhile or None)."""
    latencies: list[float] = []
    todo = iter(names)
    sessions = [client.session(url=url) for _ in range(clients)]
    try:
        # Handshakes before the clock starts: keep-alive is the thing measured.
        async def warm(s: aiohttp.ClientSession) -> None:
            async with s.get(warmup_path) as resp:
                await resp.read()
        await asyncio.gather(*(warm(s) for s in sessions))

        async def worker(s: aiohttp.ClientSession) -> None:
            for name in todo:
                body = pod(name)
                t0 = time.perf_counter()
                async with s.post(f"/api/v1/namespaces/{NAMESPACE}/pods", data=body,
                                  headers=JSON) as resp:
                    await resp.read()
                    if resp.status != 201:
                        raise RuntimeError(f"create {name}: {resp.status} "
                                           f"{(await resp.read())[:300]!r}")
                latencies.append(time.perf_counter() - t0)

        cpu0 = cpu_seconds(server_pid) if server_pid else None
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(s) for s in sessions))
        elapsed = time.perf_counter() - t0
        cpu1 = cpu_seconds(server_pid) if server_pid else None
        cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
        return elapsed, latencies, cpu
    finally:
        await asyncio.gather(*(s.close() for s in sessions))


def report_creates(label: str, total: int, clients: int, elapsed: float,
                   latencies: list[float], cpu: float | None) -> tuple[float, float | None]:
    """Print the figures; returns (creates/s, server CPU seconds per create)."""
    rate = total / elapsed
    print(f"{label}: {total} pod creates, {clients} clients, {elapsed:.2f} s "
          f"= {rate:,.0f}/s")
    print(f"  latency p50 {ms(percentile(latencies, 0.5))}, "
          f"p99 {ms(percentile(latencies, 0.99))}, max {ms(max(latencies))}")
    if cpu is None:
        return rate, None
    print(f"  server CPU {cpu / total * 1e6:.0f} us/create, all threads "
          f"({cpu / elapsed:.0%} of a core)")
    return rate, cpu / total


async def timed(fn: Callable[[], Awaitable[int]], runs: int) -> tuple[float, float, int]:
    times, count = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        count = await fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), count


async def bench_list(client: Client, size: int, runs: int) -> None:
    path = f"/api/v1/namespaces/{NAMESPACE}/pods"
    async with client.session() as s:
        async def full(accept: str = "application/json") -> int:
            async with s.get(path, headers={"Accept": accept}) as resp:
                body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"list: {resp.status} {body[:300]!r}")
            # Decoding is timed too (a client has to); raw_only times the bytes alone.
            doc = orjson.loads(body)
            return len(doc.get("items", doc.get("rows", [])))

        async def paged(accept: str = "application/json") -> int:
            n, token = 0, ""
            while True:
                params = {"limit": str(PAGE)}
                if token:
                    params["continue"] = token
                async with s.get(path, params=params, headers={"Accept": accept}) as resp:
                    body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"list page: {resp.status} {body[:300]!r}")
                doc = orjson.loads(body)
                n += len(doc.get("items", doc.get("rows", [])))
                token = doc["metadata"].get("continue", "")
                if not token:
                    return n

        async def raw_only() -> int:
            async with s.get(path) as resp:
                body = await resp.read()
            return len(body)

        await full()  # warm the connection and any lazy server state
        cases: list[tuple[str, Callable[[], Awaitable[int]]]] = [
            ("LIST full (JSON, incl. client decode)", full),
            ("LIST full (JSON, bytes received only)", raw_only),
            (f"LIST limit={PAGE}, all pages (JSON)", paged),
            ("LIST full as Table", lambda: full(TABLE_ACCEPT)),
            (f"LIST limit={PAGE} as Table, all pages (kubectl get pods)",
             lambda: paged(TABLE_ACCEPT)),
        ]
        for label, fn in cases:
            best, median, count = await timed(fn, runs)
            what = f"{count / 1e6:.1f} MB" if fn is raw_only else f"{count} items"
            print(f"{label}: best {ms(best)}, median {ms(median)} ({what}, {runs} runs)")


async def bench_watch(client: Client, watchers: int, events: int, rate: float) -> None:
    path = f"/api/v1/namespaces/{WATCH_NAMESPACE}/pods"
    async with client.session() as s:
        await ensure_namespace(s, WATCH_NAMESPACE)
        async with s.get(path, params={"limit": "1"}) as resp:
            rv = orjson.loads(await resp.read())["metadata"]["resourceVersion"]

    latencies: list[float] = []
    received = [0] * watchers
    sessions = [client.session() for _ in range(watchers)]
    responses: list[aiohttp.ClientResponse] = []
    try:
        for s in sessions:
            resp = await s.get(path, params={"watch": "true", "resourceVersion": rv},
                               headers={"Accept": "application/json"})
            if resp.status != 200:
                raise RuntimeError(f"watch: {resp.status}")
            responses.append(resp)

        async def watcher(i: int, resp: aiohttp.ClientResponse) -> None:
            while received[i] < events:
                line = await resp.content.readline()
                now = time.time()
                if not line:
                    raise RuntimeError(f"watch {i} ended after {received[i]} events")
                ev = orjson.loads(line)
                if ev["type"] != "ADDED":
                    continue
                sent = float(ev["object"]["metadata"]["annotations"]["bench/sent"])
                latencies.append(now - sent)
                received[i] += 1

        tasks = [asyncio.create_task(watcher(i, r)) for i, r in enumerate(responses)]

        # Open loop: creates are issued on a fixed schedule, whatever their latency.
        async with client.session(limit=16) as w:
            async def send(n: int) -> None:
                sent = time.time()
                body = pod(f"w-{n:06d}", {"bench/sent": repr(sent)})
                async with w.post(path, data=body, headers=JSON) as resp:
                    await resp.read()
                    if resp.status != 201:
                        raise RuntimeError(f"watch writer: {resp.status}")

            async with w.get("/healthz") as resp:
                await resp.read()
            start = time.perf_counter()
            sends = []
            for n in range(events):
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sends.append(asyncio.create_task(send(n)))
            await asyncio.gather(*sends)
            write_elapsed = time.perf_counter() - start
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    finally:
        for r in responses:
            r.close()
        await asyncio.gather(*(s.close() for s in sessions))
    print(f"watch: {events} pod creates at {events / write_elapsed:,.0f}/s "
          f"(target {rate:,.0f}/s) to {watchers} watchers = {len(latencies)} deliveries")
    print(f"  send->receive latency p50 {ms(percentile(latencies, 0.5))}, "
          f"p99 {ms(percentile(latencies, 0.99))}, max {ms(max(latencies))}")


async def bench_bare(client: Client, data_dir: Path, clients: int, total: int
                     ) -> tuple[float, float | None]:
    pki = data_dir / "pki"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BARE_SERVER, str(pki / "apiserver.crt"),
        str(pki / "apiserver.key"), str(pki / "ca.crt"), stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(await proc.stdout.readline())
        names = [f"bare-{n:06d}" for n in range(total)]
        result = await create_load(client, clients, names, url=f"https://127.0.0.1:{port}",
                                   server_pid=proc.pid)
        return report_creates("bare aiohttp", total, clients, *result)
    finally:
        proc.terminate()
        await proc.wait()


async def run(args: argparse.Namespace, tmp: Path) -> None:
    data_dir = tmp / "server"
    t0 = time.perf_counter()
    server = ServerProcess(data_dir).start()
    print(f"kyb server at {server.url} (data dir {data_dir}), "
          f"ready in {time.perf_counter() - t0:.1f} s")
    try:
        client = Client(server.kubeconfig, tmp)
        async with client.session() as s:
            await ensure_namespace(s, NAMESPACE)

        print()
        names = [f"pod-{n:06d}" for n in range(args.pods)]
        assert server.proc is not None
        result = await create_load(client, args.clients, names, server_pid=server.proc.pid)
        kyb_rate, kyb_cpu = report_creates("kybernetes", args.pods, args.clients, *result)

        print()
        if args.list > args.pods:
            t0 = time.perf_counter()
            extra = [f"pod-{n:06d}" for n in range(args.pods, args.list)]
            await create_load(client, args.clients, extra)
            print(f"(topped up to {args.list} pods in {time.perf_counter() - t0:.1f} s)")
        await bench_list(client, max(args.list, args.pods), args.list_runs)

        print()
        await bench_watch(client, args.watchers, args.watch_events, args.watch_rate)
    finally:
        server.stop()

    print()
    bare_rate, bare_cpu = await bench_bare(client, data_dir, args.clients, args.pods)
    print(f"kybernetes / bare aiohttp create throughput: {kyb_rate / bare_rate:.0%}")
    if kyb_cpu and bare_cpu:
        # Less sensitive than throughput to whatever else runs on the machine.
        print(f"kybernetes / bare aiohttp server CPU efficiency (bare us/create over "
              f"kybernetes us/create): {bare_cpu / kyb_cpu:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=5_000, help="pods created in part 1")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--list", type=int, default=10_000, help="pods present for LIST")
    parser.add_argument("--list-runs", type=int, default=5)
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--watch-events", type=int, default=1_000)
    parser.add_argument("--watch-rate", type=float, default=100.0, help="creates/s")
    args = parser.parse_args()
    print(f"kybernetes apiserver benchmark: {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.system()} {platform.release()}")
    print(f"client: aiohttp {aiohttp.__version__} on uvloop {uvloop.__version__}, "
          "same machine as the server")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()
        print(f"load average before start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              "(other work on the machine skews throughput and tail latency)")
    print(GOALS)
    with tempfile.TemporaryDirectory() as tmp:
        uvloop.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
