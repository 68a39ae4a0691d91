"""The scheduler's metrics (`pkg/scheduler/metrics`) and its small HTTP endpoint.

Metrics (upstream names and labels):

    scheduler_schedule_attempts_total{result, profile}          counter
        result: scheduled | unschedulable | error
    scheduler_scheduling_attempt_duration_seconds{result, profile}  histogram
        from the pop to the end of the attempt (for "scheduled": the bind returned)
    scheduler_pending_pods{queue}                                gauge, read at scrape
        queue: active | backoff | unschedulable | gated
    scheduler_preemption_attempts_total                          counter
    scheduler_preemption_victims                                 histogram

Each `SchedulerMetrics` has its own registry, so several schedulers in one process
(tests, `kyb server`) do not collide. `serve_http` serves `/metrics`, `/healthz`
and `/readyz` on a plain HTTP port (loopback by default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger("kybernetes.scheduler")

RESULT_SCHEDULED = "scheduled"
RESULT_UNSCHEDULABLE = "unschedulable"
RESULT_ERROR = "error"
QUEUES = ("active", "backoff", "unschedulable", "gated")


def _exponential(start: float, factor: float, count: int) -> list[float]:
    return [start * factor**i for i in range(count)]


class SchedulerMetrics:
    """The metrics of one scheduler process; `pending_source` is read at every scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.schedule_attempts = Counter(
            "scheduler_schedule_attempts", "Number of attempts to schedule pods, by the result. "
            "'unschedulable' means a pod could not be scheduled, while 'error' means an "
            "internal scheduler problem.", ["result", "profile"], registry=self.registry)
        self.attempt_duration = Histogram(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            ["result", "profile"], buckets=_exponential(0.001, 2, 15), registry=self.registry)
        self.preemption_attempts = Counter(
            "scheduler_preemption_attempts", "Total preemption attempts in the cluster till now",
            registry=self.registry)
        self.preemption_victims = Histogram(
            "scheduler_preemption_victims", "Number of selected preemption victims",
            buckets=_exponential(1, 2, 7), registry=self.registry)
        self.pending_source: Callable[[], Mapping[str, int]] | None = None
        self.registry.register(_PendingPods(self))

    def observe_attempt(self, result: str, profile: str, seconds: float) -> None:
        self.schedule_attempts.labels(result, profile).inc()
        self.attempt_duration.labels(result, profile).observe(max(seconds, 0.0))

    def attempts(self, result: str, profile: str) -> float:
        """The current value of scheduler_schedule_attempts_total (for tests and logs)."""
        value = self.registry.get_sample_value("scheduler_schedule_attempts_total",
                                               {"result": result, "profile": profile})
        return value or 0.0

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return _generate_latest(self.registry)


class _PendingPods:
    """scheduler_pending_pods, computed from the current scheduler's queue at scrape time."""

    def __init__(self, metrics: SchedulerMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "scheduler_pending_pods", "Number of pending pods, by the queue type. 'active' "
            "means number of pods in activeQ; 'backoff' means number of pods in backoffQ; "
            "'unschedulable' means number of pods in unschedulablePods that the scheduler "
            "attempted to schedule and failed; 'gated' is the number of unschedulable pods "
            "that the scheduler never attempted to schedule because they are gated.",
            labels=["queue"])
        source = self._metrics.pending_source
        counts = source() if source is not None else {}
        for queue in QUEUES:
            family.add_metric([queue], counts.get(queue, 0))
        yield family


class HTTPEndpoint:
    """`/metrics`, `/healthz` and `/readyz` over plain HTTP; `port` is known after start()."""

    def __init__(self, metrics: SchedulerMetrics, *, host: str = "127.0.0.1", port: int = 0,
                 ready: Callable[[], bool] = lambda: True) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self._ready = ready
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/livez", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("Serving /metrics and /healthz address=http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self._ready():
            return web.Response(text="ok")
        return web.Response(status=503, text="informers not synced")
