"""kube-scheduler as a process (`cmd/kube-scheduler/app/server.go`).

    await run_scheduler(client, config=cfg, leader_elect=True, metrics_port=10259)

What runs, per term of leadership:

    informers (started at once, so a standby's cache and queue are warm)
        └─▶ EventHandlers ─▶ Scheduler.cache / .queue / .objects
    LeaderElector on Lease kube-system/kube-scheduler
        └─▶ while leading: Scheduler.run()  (pop, schedule, bind)

Losing the lease ends the term: the loop stops, in-flight bindings are cancelled,
the informers stop, and everything is built afresh for the next campaign (upstream
exits the process instead; in `kyb server` the scheduler is one task among others).
The HTTP endpoint (`/metrics`, `/healthz`, `/readyz`) and the metrics outlive terms.

`kyb scheduler` is `load_setup` (kubeconfig, an optional KubeSchedulerConfiguration
file whose leaderElection and clientConnection sections, which `config.load_config`
ignores, are read here) then `run_from_setup` (SIGTERM/SIGINT stop it cleanly,
releasing the lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kybernetes.client import (
    Client,
    Config,
    LeaderElectionConfig,
    LeaderElector,
    LeaseLock,
    SharedInformerFactory,
    load_config,
    load_kubeconfig,
)
from kybernetes.scheduler.config import SchedulerConfiguration
from kybernetes.scheduler.config import load_config as load_scheduler_config
from kybernetes.scheduler.errors import ConfigError
from kybernetes.scheduler.eventhandlers import EventHandlers
from kybernetes.scheduler.metrics import HTTPEndpoint, SchedulerMetrics
from kybernetes.scheduler.scheduler import ClientAPI, Scheduler

log = logging.getLogger("kybernetes.scheduler")

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "kube-scheduler"
EVENT_FLUSH_SECONDS = 5.0  # at the end of a term, how long recorded events may take to go


@dataclass(frozen=True, kw_only=True)
class ProcessOptions:
    """The process-level sections of a KubeSchedulerConfiguration, with upstream's
    defaults: leaderElection (durations in seconds) and clientConnection."""

    leader_elect: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    resource_namespace: str = LEASE_NAMESPACE
    resource_name: str = LEASE_NAME
    qps: float = 50.0
    burst: int = 100

    @classmethod
    def from_config(cls, source: str | bytes | Mapping[str, Any] | None) -> ProcessOptions:
        data = yaml.safe_load(source) if isinstance(source, str | bytes) else source
        data = data or {}
        le = data.get("leaderElection") or {}
        cc = data.get("clientConnection") or {}
        try:
            out = cls(
                leader_elect=bool(le.get("leaderElect", True)),
                lease_duration=parse_duration(le.get("leaseDuration", "15s")),
                renew_deadline=parse_duration(le.get("renewDeadline", "10s")),
                retry_period=parse_duration(le.get("retryPeriod", "2s")),
                resource_namespace=le.get("resourceNamespace") or LEASE_NAMESPACE,
                resource_name=le.get("resourceName") or LEASE_NAME,
                qps=float(cc.get("qps", 50)),
                burst=int(cc.get("burst", 100)))
            out.election().validate()
        except (TypeError, ValueError) as err:
            raise ConfigError([f"leaderElection/clientConnection: {err}"]) from err
        return out

    def election(self) -> LeaderElectionConfig:
        return LeaderElectionConfig(lease_duration=self.lease_duration,
                                    renew_deadline=self.renew_deadline,
                                    retry_period=self.retry_period)


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?)(h|ms|m|s|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6,
                 "ns": 1e-9}


def parse_duration(value: Any) -> float:
    """A Go duration ("15s", "1m30s", "500ms") or a number of seconds -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {value!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


class SchedulerApp:
    """The scheduler process: informers, leader election, the loop, the HTTP endpoint.

    `run()` runs until cancelled. While it runs, `scheduler` is the current term's
    `Scheduler`, `metrics_port` the bound HTTP port (when `metrics_port` was given,
    0 picks a free one) and `is_leader()` tells whether this instance schedules.
    """

    def __init__(self, client: Client, *, config: SchedulerConfiguration | None = None,
                 leader_elect: bool = True, metrics_port: int | None = None,
                 metrics_address: str = "127.0.0.1", identity: str | None = None,
                 election: LeaderElectionConfig | None = None,
                 lease_namespace: str = LEASE_NAMESPACE, lease_name: str = LEASE_NAME,
                 events_client: Client | None = None) -> None:
        self.client = client
        self.config = config if config is not None else load_scheduler_config(None)
        self.leader_elect = leader_elect
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"
        self.election = election or LeaderElectionConfig()
        self.lease_namespace = lease_namespace
        self.lease_name = lease_name
        self.metrics = SchedulerMetrics()
        self.http = (HTTPEndpoint(self.metrics, host=metrics_address, port=metrics_port,
                                  ready=self.ready)
                     if metrics_port is not None else None)
        self.scheduler: Scheduler | None = None
        self.elector: LeaderElector | None = None
        self._events_client = events_client
        self._synced = False

    @property
    def metrics_port(self) -> int | None:
        return self.http.port if self.http is not None else None

    def ready(self) -> bool:
        """The informers of the current term have synced."""
        return self._synced

    def is_leader(self) -> bool:
        if not self.leader_elect:
            return self.scheduler is not None
        return self.elector is not None and self.elector.is_leader()

    async def run(self) -> None:
        if self.http is not None:
            await self.http.start()
        events_client = self._events_client or Client(self.client.config)
        try:
            while True:
                await self._term(events_client)
                log.error("Leader election lost; starting over identity=%s", self.identity)
        finally:
            if self._events_client is None:
                await events_client.close()
            if self.http is not None:
                await self.http.stop()

    async def _term(self, events_client: Client) -> None:
        api = ClientAPI(self.client, events_client)
        sched = Scheduler(api, config=self.config, metrics=self.metrics)
        self.scheduler = sched
        self.metrics.pending_source = sched.queue.counts
        factory = SharedInformerFactory(self.client)
        try:
            await EventHandlers(sched).start(factory)
            self._synced = True
            if not self.leader_elect:
                await sched.run()
                return
            lock = LeaseLock(self.client, namespace=self.lease_namespace, name=self.lease_name,
                             identity=self.identity)
            self.elector = LeaderElector(lock, self.election, on_started_leading=sched.run)
            await self.elector.run()
        finally:
            self._synced = False
            await sched.close()
            with contextlib.suppress(Exception):  # events are best-effort
                await asyncio.wait_for(api.close(), EVENT_FLUSH_SECONDS)
            await factory.shutdown()


async def run_scheduler(client: Client, *, config: SchedulerConfiguration | None = None,
                        leader_elect: bool = True, metrics_port: int | None = None) -> None:
    """Run kube-scheduler on `client` until cancelled (see the module docstring).
    `metrics_port` serves /metrics and /healthz on loopback (0: a free port)."""
    await SchedulerApp(client, config=config, leader_elect=leader_elect,
                       metrics_port=metrics_port).run()


@dataclass(frozen=True, kw_only=True)
class ProcessSetup:
    """What `kyb scheduler` reads from its files before it starts (see `load_setup`)."""

    client_config: Config
    config: SchedulerConfiguration
    options: ProcessOptions


def load_setup(*, kubeconfig: str | None = None, config_path: str | None = None) -> ProcessSetup:
    """Read the kubeconfig (None: $KUBECONFIG, in-cluster, ~/.kube/config) and the optional
    KubeSchedulerConfiguration file. Raises the scheduler's ConfigError, the client's
    ConfigError or OSError when they are unusable."""
    text = Path(config_path).read_text() if config_path else None
    config = load_scheduler_config(text)
    options = ProcessOptions.from_config(text)
    overrides = {"qps": options.qps, "burst": options.burst, "user_agent": "kube-scheduler"}
    client_config = (load_kubeconfig(kubeconfig, **overrides) if kubeconfig
                     else load_config(**overrides))
    return ProcessSetup(client_config=client_config, config=config, options=options)


async def run_from_setup(setup: ProcessSetup, *, leader_elect: bool | None = None,
                         metrics_port: int | None = None,
                         metrics_address: str = "127.0.0.1") -> None:
    """`kyb scheduler`: run until SIGTERM or SIGINT, then release the lease and return.
    `leader_elect` None: the config file's leaderElection.leaderElect (default true)."""
    options = setup.options
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if main is not None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, main.cancel)
    async with Client(setup.client_config) as client:
        app = SchedulerApp(client, config=setup.config,
                           leader_elect=options.leader_elect if leader_elect is None
                           else leader_elect,
                           metrics_port=metrics_port, metrics_address=metrics_address,
                           election=options.election(),
                           lease_namespace=options.resource_namespace,
                           lease_name=options.resource_name)
        with contextlib.suppress(asyncio.CancelledError):
            await app.run()
