"""Hollow nodes for integration tests: `HollowCluster(server, count=N).start()`.

The nodes run in a background thread with an event loop of its own, against a
`ServerProcess` (or any kubeconfig), so a synchronous test, or an async test
on another loop, can use them alike:

    with HollowCluster(kyb, count=3, name_prefix="n-") as hollow:
        ...                                   # nodes n-0..n-2 are registered and Ready
        hollow.stop_heartbeats("n-1")         # its Lease stops being renewed
        hollow.resume_heartbeats("n-1")

`start()` returns once every Node and Lease exists and the pod informer has
synced. Options are `HollowOptions` fields (e.g. `lease_duration_seconds=4`
for quicker heartbeats, `job_duration_seconds=0.2`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from kybernetes.client import Client, load_kubeconfig
from kybernetes.hollow import HollowNodes, HollowOptions, Stats, hollow_client_config
from kybernetes.testing.server import ServerProcess

T = TypeVar("T")


class HollowCluster:
    def __init__(self, server: ServerProcess | str | Path, *, count: int,
                 **options: Any) -> None:
        self.kubeconfig = server.kubeconfig if isinstance(server, ServerProcess) else Path(server)
        self.options = HollowOptions(count=count, **options).validate()
        self.nodes: HollowNodes | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    @property
    def node_names(self) -> list[str]:
        return self.options.node_names()

    def start(self, timeout: float = 120.0) -> HollowCluster:
        self._thread = threading.Thread(target=self._main, name="hollow-nodes", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("hollow nodes did not start")
        if self._error is not None:
            raise RuntimeError("hollow nodes failed to start") from self._error
        assert self.nodes is not None
        if not self.call(self.nodes.wait_registered(timeout), timeout + 5):
            self.stop()
            raise RuntimeError(f"hollow nodes did not register within {timeout}s; "
                               f"errors: {dict(self.nodes.stats.errors)}")
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        try:
            config = hollow_client_config(load_kubeconfig(self.kubeconfig), self.options)
            client = Client(config)
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        async with client:
            self.nodes = HollowNodes(client, self.options)
            self._task = asyncio.create_task(self.nodes.run())
            self._started.set()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run `coro` on the hollow nodes' loop and return its result."""
        assert self._loop is not None, "start() first"
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def stop_heartbeats(self, *names: str, pods: bool = True) -> None:
        """Silence nodes (see `HollowNodes.stop_heartbeats`); returns once no heartbeat
        of theirs is in flight."""
        assert self.nodes is not None
        self.call(self.nodes.stop_heartbeats(*names, pods=pods))

    def resume_heartbeats(self, *names: str) -> None:
        assert self.nodes is not None
        nodes = self.nodes

        async def resume() -> None:
            nodes.resume_heartbeats(*names)

        self.call(resume())

    @property
    def stats(self) -> Stats:
        assert self.nodes is not None
        return self.nodes.stats

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the simulation (the Node objects stay, as when kubelets stop)."""
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> HollowCluster:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
