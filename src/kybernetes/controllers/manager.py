"""The controller manager: builds the enabled controllers and runs them while leading.

`CONTROLLERS` maps each controller's name (as upstream's --controllers flag
names them: "deployment", "replicaset", "garbagecollector", ...) to its
constructor. Each controller module adds itself there at import; `run()`
waits for leadership on the `kube-system/kube-controller-manager` Lease, then
starts the informers and every enabled controller, and stops them all when
leadership is lost.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from kybernetes.client import (
    Client,
    LeaderElectionConfig,
    LeaderElector,
    LeaseLock,
    SharedInformerFactory,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController

log = logging.getLogger("kybernetes.controllers")

ControllerFactory = Callable[[ControllerContext], Any]

# name -> factory; filled by the controller modules listed in CONTROLLER_MODULES.
CONTROLLERS: dict[str, ControllerFactory] = {}

# Modules that register controllers (imported lazily so a missing one is reported).
CONTROLLER_MODULES: list[str] = [
    "kybernetes.controllers.cronjob",
    "kybernetes.controllers.daemonset",
    "kybernetes.controllers.deployment",
    "kybernetes.controllers.disruption",
    "kybernetes.controllers.endpoints",
    "kybernetes.controllers.endpointslice",
    "kybernetes.controllers.garbagecollector",
    "kybernetes.controllers.job",
    "kybernetes.controllers.namespace",
    "kybernetes.controllers.nodeipam",
    "kybernetes.controllers.nodelifecycle",
    "kybernetes.controllers.podgc",
    "kybernetes.controllers.replicaset",
    "kybernetes.controllers.resourcequota",
    "kybernetes.controllers.rootcacert",
    "kybernetes.controllers.serviceaccount",
    "kybernetes.controllers.statefulset",
    "kybernetes.controllers.tainteviction",
    "kybernetes.controllers.ttlafterfinished",
]


def register(name: str) -> Callable[[ControllerFactory], ControllerFactory]:
    def deco(factory: ControllerFactory) -> ControllerFactory:
        CONTROLLERS[name] = factory
        return factory

    return deco


def load_controllers() -> dict[str, ControllerFactory]:
    for mod in CONTROLLER_MODULES:
        importlib.import_module(mod)
    return CONTROLLERS


def enabled(names: Iterable[str] | None) -> list[str]:
    """Upstream's --controllers: None or ["*"] = all; "-name" disables one."""
    all_names = sorted(load_controllers())
    if not names:
        return all_names
    names = list(names)
    chosen = set(all_names) if "*" in names else set()
    for n in names:
        if n.startswith("-"):
            chosen.discard(n[1:])
        elif n != "*":
            if n not in CONTROLLERS:
                raise ValueError(f"unknown controller {n!r}; known: {', '.join(all_names)}")
            chosen.add(n)
    return sorted(chosen)


class ControllerManager:
    def __init__(self, client: Client, *, controllers: Iterable[str] | None = None,
                 leader_elect: bool = True, options: dict[str, Any] | None = None,
                 identity: str | None = None) -> None:
        self.client = client
        self.names = enabled(controllers)
        self.leader_elect = leader_elect
        self.options = options or {}
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"

    async def run(self) -> None:
        if not self.leader_elect:
            await self._run_controllers()
            return
        lock = LeaseLock(self.client, namespace="kube-system", name="kube-controller-manager",
                         identity=self.identity)
        elector = LeaderElector(lock, LeaderElectionConfig(),
                                on_started_leading=self._run_controllers)
        await elector.run()

    async def _run_controllers(self) -> None:
        factory = SharedInformerFactory(self.client)
        ctx = ControllerContext(client=self.client, informers=factory,
                                host=socket.gethostname(), options=self.options)
        controllers = [CONTROLLERS[n](ctx) for n in self.names]
        factory.start()
        await factory.wait_for_sync()
        log.info("controller manager: started %s", ", ".join(self.names))
        tasks = [asyncio.create_task(c.run(), name=f"controller-{n}")
                 for n, c in zip(self.names, controllers, strict=True)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for c in controllers:
                close = getattr(c, "close", None)
                if close is not None:
                    await close()
            await factory.shutdown()
            await ctx.close()


__all__ = ["CONTROLLERS", "ControllerContext", "ControllerManager", "ReconcileController",
           "register"]
