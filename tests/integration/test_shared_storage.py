"""Kinds served in two versions over one storage: Events (core and events.k8s.io/v1)
and HorizontalPodAutoscalers (autoscaling v1 and v2), through the Python client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config, watch

from kybernetes.testing.server import ServerProcess


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    srv = ServerProcess(tmp_path_factory.mktemp("shared")).start()
    c = config.new_client_from_config(config_file=str(srv.kubeconfig))
    try:
        yield c
    finally:
        c.close()
        assert srv.stop() == 0
        assert "Traceback" not in srv.log_path.read_text()


def test_core_event_is_an_events_k8s_io_event(api: client.ApiClient) -> None:
    core, events = client.CoreV1Api(api), client.EventsV1Api(api)
    core.create_namespaced_event("default", {
        "metadata": {"name": "e1"}, "reason": "Pulled", "message": "image pulled",
        "type": "Normal", "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "source": {"component": "kubelet"}, "count": 2})
    ev = events.read_namespaced_event("e1", "default")
    assert ev.note == "image pulled"
    assert ev.regarding.name == "p"
    assert ev.deprecated_count == 2
    assert [e.metadata.name for e in events.list_namespaced_event("default").items] == ["e1"]
    # And the other way: written as events.k8s.io, read as core.
    events.create_namespaced_event("default", {
        "metadata": {"name": "e2"}, "reason": "Started", "note": "started",
        "type": "Normal", "action": "Start", "reportingController": "me",
        "reportingInstance": "me-1", "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Pod", "name": "q", "namespace": "default"}})
    core_ev = core.read_namespaced_event("e2", "default")
    assert core_ev.message == "started"
    assert core_ev.involved_object.name == "q"


def test_hpa_v1_and_v2_are_one_object(api: client.ApiClient) -> None:
    v1, v2 = client.AutoscalingV1Api(api), client.AutoscalingV2Api(api)
    w = watch.Watch()
    rv = v1.list_namespaced_horizontal_pod_autoscaler("default").metadata.resource_version
    v1.create_namespaced_horizontal_pod_autoscaler("default", {
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": "web"},
                 "maxReplicas": 4, "targetCPUUtilizationPercentage": 55}})
    got = v2.read_namespaced_horizontal_pod_autoscaler("h", "default")
    assert got.spec.metrics[0].resource.target.average_utilization == 55
    v2.patch_namespaced_horizontal_pod_autoscaler("h", "default", {"spec": {"maxReplicas": 9}})
    back = v1.read_namespaced_horizontal_pod_autoscaler("h", "default")
    assert (back.spec.max_replicas, back.spec.target_cpu_utilization_percentage) == (9, 55)
    seen = []
    for event in w.stream(v1.list_namespaced_horizontal_pod_autoscaler, "default",
                          resource_version=rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].spec.target_cpu_utilization_percentage,
                     event["object"].spec.max_replicas))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", 55, 4), ("MODIFIED", 55, 9)]
