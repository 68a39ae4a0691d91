"""Version conversion for kinds served in two versions over one storage."""

from __future__ import annotations

import pytest

from kybernetes.api.conversion import ConversionError, convert

CORE_EVENT = {
    "apiVersion": "v1", "kind": "Event",
    "metadata": {"name": "e", "namespace": "ns"},
    "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns", "uid": "u"},
    "reason": "Scheduled", "message": "assigned", "type": "Normal", "count": 3,
    "source": {"component": "scheduler"}, "firstTimestamp": "2026-01-01T00:00:00Z",
    "lastTimestamp": "2026-01-01T00:01:00Z", "reportingComponent": "sched",
}

HPA_V2 = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "h", "namespace": "ns"},
    "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d", "apiVersion": "apps/v1"},
             "minReplicas": 1, "maxReplicas": 5,
             "metrics": [
                 {"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 70}}},
                 {"type": "Resource", "resource": {"name": "memory", "target": {
                     "type": "AverageValue", "averageValue": "100Mi"}}}],
             "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}},
    "status": {"currentReplicas": 2, "desiredReplicas": 3,
               "currentMetrics": [{"type": "Resource", "resource": {
                   "name": "cpu", "current": {"averageUtilization": 55}}}],
               "conditions": [{"type": "AbleToScale", "status": "True"}]},
}


def test_event_core_to_events_v1() -> None:
    out = convert(CORE_EVENT, "events.k8s.io/v1")
    assert out["apiVersion"] == "events.k8s.io/v1"
    assert out["regarding"]["name"] == "p"
    assert out["note"] == "assigned"
    assert out["deprecatedCount"] == 3
    assert out["reportingController"] == "sched"
    assert "involvedObject" not in out and "message" not in out


def test_event_round_trip() -> None:
    back = convert(convert(CORE_EVENT, "events.k8s.io/v1"), "v1")
    # eventTime is filled from firstTimestamp (events.k8s.io requires it).
    assert back.pop("eventTime") == "2026-01-01T00:00:00.000000Z"
    assert back == CORE_EVENT


def test_hpa_v2_to_v1() -> None:
    v1 = convert(HPA_V2, "autoscaling/v1")
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    assert "metrics" not in v1["spec"]
    assert v1["status"]["currentCPUUtilizationPercentage"] == 55
    assert "autoscaling.alpha.kubernetes.io/metrics" in v1["metadata"]["annotations"]


def test_hpa_round_trip_loses_nothing() -> None:
    assert convert(convert(HPA_V2, "autoscaling/v1"), "autoscaling/v2") == HPA_V2


def test_hpa_v1_cpu_only() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
          "metadata": {"name": "h"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3,
                   "targetCPUUtilizationPercentage": 50}}
    v2 = convert(v1, "autoscaling/v2")
    assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 50
    assert "annotations" not in v2["metadata"]


def test_input_is_not_changed() -> None:
    before = repr(HPA_V2)
    convert(HPA_V2, "autoscaling/v1")
    assert repr(HPA_V2) == before


def test_unknown_conversion() -> None:
    with pytest.raises(ConversionError):
        convert({"apiVersion": "v1", "kind": "Pod"}, "apps/v1")
