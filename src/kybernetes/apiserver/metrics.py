"""The apiserver's Prometheus metrics (`GET /metrics`), named as upstream's.

`apiserver_request_total{verb,group,version,resource,subresource,scope,component,code}`,
`apiserver_request_duration_seconds` (not for WATCH, as upstream),
`apiserver_registered_watchers{group,version,kind}` and
`apiserver_storage_objects{resource}` (sampled at scrape time).
Each server has its own registry so several servers in one process (tests) do
not collide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from kybernetes.apiserver.paths import RequestInfo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8,
            10, 15, 20, 30, 45, 60)

# Callable returning [(labels dict, value)] for a gauge sampled at scrape time.
Sampler = Callable[[], list[tuple[dict[str, str], float]]]


class _Sampled(Collector):
    def __init__(self, name: str, doc: str, labels: list[str], sample: Sampler) -> None:
        self.name, self.doc, self.labels, self.sample = name, doc, labels, sample

    def collect(self):  # type: ignore[no-untyped-def]
        family = GaugeMetricFamily(self.name, self.doc, labels=self.labels)
        for labels, value in self.sample():
            family.add_metric([labels.get(k, "") for k in self.labels], value)
        yield family


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Label values -> metric children (prometheus-client's labels() is slow-ish).
        self._children: dict[tuple[object, ...], tuple[Any, Any]] = {}
        labels = ["verb", "group", "version", "resource", "subresource", "scope", "component",
                  "code"]
        self.requests = Counter("apiserver_request_total", "Counter of apiserver requests "
                                "broken out for each verb, group, version, resource, scope, "
                                "component, and HTTP response code.", labels,
                                registry=self.registry)
        self.duration = Histogram("apiserver_request_duration_seconds", "Response latency "
                                  "distribution in seconds for each verb, group, version, "
                                  "resource, subresource, scope and component.", labels[:-1],
                                  buckets=_BUCKETS, registry=self.registry)

    def add_gauge(self, name: str, doc: str, labels: list[str], sample: Sampler) -> None:
        self.registry.register(_Sampled(name, doc, labels, sample))

    def observe(self, ri: RequestInfo, code: int, seconds: float) -> None:
        if ri.resource_request:
            verb = ri.verb.upper() if ri.verb != "watch" else "WATCH"
            if ri.verb == "list":
                verb = "LIST"
            scope = "resource" if ri.name else ("namespace" if ri.namespace else "cluster")
            values = [verb, ri.group, ri.version, ri.resource, ri.subresource, scope,
                      "apiserver"]
        else:
            values = [ri.verb.upper(), "", "", "", "", "", "apiserver"]
        key = (*values, code)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*values, str(code)),
                        self.duration.labels(*values) if values[0] != "WATCH" else None)
            self._children[key] = children
        children[0].inc()
        if children[1] is not None:
            children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
