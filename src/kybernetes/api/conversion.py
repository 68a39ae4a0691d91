"""Conversion between API versions that share one storage (upstream's conversion funcs).

Two built-in resources are served in two shapes over one stored object:

- `Event`: stored as core/v1, also served as `events.k8s.io/v1` (renamed
  fields: involvedObject <-> regarding, message <-> note, source <->
  deprecatedSource, ...).
- `HorizontalPodAutoscaler`: stored as autoscaling/v2, also served as
  autoscaling/v1 (`targetCPUUtilizationPercentage` <-> a CPU Utilization
  metric). What v1 cannot express travels in the same annotations upstream
  uses (`autoscaling.alpha.kubernetes.io/...`) so that a v1 round trip loses
  nothing.

`convert(obj, to_group_version)` returns a new dict; the input is not changed.
Same-version conversion returns a (shallow) copy with the apiVersion set.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

Obj = dict[str, Any]

CORE_EVENT = "v1"
EVENTS_V1 = "events.k8s.io/v1"
HPA_V1 = "autoscaling/v1"
HPA_V2 = "autoscaling/v2"

# core field -> events.k8s.io field
_EVENT_RENAMES = {
    "involvedObject": "regarding",
    "message": "note",
    "reportingComponent": "reportingController",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
}
_EVENT_BACK = {v: k for k, v in _EVENT_RENAMES.items()}

_ANN_METRICS = "autoscaling.alpha.kubernetes.io/metrics"
_ANN_BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
_ANN_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
_ANN_CURRENT = "autoscaling.alpha.kubernetes.io/current-metrics"


class ConversionError(ValueError):
    pass


def convert(obj: Obj, to_group_version: str) -> Obj:
    """`obj` converted to `to_group_version` (same kind)."""
    src = obj.get("apiVersion", "")
    kind = obj.get("kind", "")
    if src == to_group_version:
        return dict(obj)
    pair = (kind, src, to_group_version)
    fn = _CONVERSIONS.get(pair)
    if fn is None:
        raise ConversionError(f"no conversion for {kind} from {src} to {to_group_version}")
    out = fn(copy.deepcopy(obj))
    out["apiVersion"] = to_group_version
    return out


def _rename(obj: Obj, names: dict[str, str]) -> Obj:
    out: Obj = {}
    for k, v in obj.items():
        out[names.get(k, k)] = v
    return out


def _event_to_events_v1(obj: Obj) -> Obj:
    out = _rename(obj, _EVENT_RENAMES)
    if not out.get("eventTime"):
        # eventTime is required in events.k8s.io (clients' models reject null); core
        # events from old recorders only carry the second-resolution timestamps.
        when = (out.get("deprecatedFirstTimestamp") or out.get("deprecatedLastTimestamp")
                or (out.get("metadata") or {}).get("creationTimestamp"))
        if isinstance(when, str) and when.endswith("Z") and "." not in when:
            out["eventTime"] = when[:-1] + ".000000Z"
    return out


def _event_to_core(obj: Obj) -> Obj:
    return _rename(obj, _EVENT_BACK)


def _cpu_target(metric: Obj) -> int | None:
    if metric.get("type") != "Resource":
        return None
    res = metric.get("resource") or {}
    target = res.get("target") or {}
    if res.get("name") != "cpu" or target.get("type") != "Utilization":
        return None
    value = target.get("averageUtilization")
    return value if isinstance(value, int) else None


def _hpa_to_v1(obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ann = dict((obj.get("metadata") or {}).get("annotations") or {})
    new_spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas")
                     if k in spec}
    others = []
    for m in spec.get("metrics") or []:
        cpu = _cpu_target(m)
        if cpu is not None and "targetCPUUtilizationPercentage" not in new_spec:
            new_spec["targetCPUUtilizationPercentage"] = cpu
        else:
            others.append(m)
    if others:
        ann[_ANN_METRICS] = orjson.dumps(others).decode()
    if spec.get("behavior"):
        ann[_ANN_BEHAVIOR] = orjson.dumps(spec["behavior"]).decode()
    new_status: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime",
                                               "currentReplicas", "desiredReplicas")
                       if k in status}
    if status:
        new_status.setdefault("currentReplicas", 0)
        new_status.setdefault("desiredReplicas", 0)
    current_others = []
    for m in status.get("currentMetrics") or []:
        res = m.get("resource") or {}
        cur = res.get("current") or {}
        if m.get("type") == "Resource" and res.get("name") == "cpu" and isinstance(
                cur.get("averageUtilization"), int):
            new_status["currentCPUUtilizationPercentage"] = cur["averageUtilization"]
        else:
            current_others.append(m)
    if current_others:
        ann[_ANN_CURRENT] = orjson.dumps(current_others).decode()
    if status.get("conditions"):
        ann[_ANN_CONDITIONS] = orjson.dumps(status["conditions"]).decode()
    out = dict(obj)
    out["spec"] = new_spec
    if "status" in obj:
        out["status"] = new_status
    if ann:
        out.setdefault("metadata", {})["annotations"] = ann
    return out


def _load(ann: dict[str, str], key: str) -> Any:
    text = ann.pop(key, None)
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _hpa_to_v2(obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = obj.setdefault("metadata", {})
    ann = dict(meta.get("annotations") or {})
    new_spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas")
                     if k in spec}
    metrics: list[Obj] = []
    cpu = spec.get("targetCPUUtilizationPercentage")
    if isinstance(cpu, int):
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}})
    others = _load(ann, _ANN_METRICS)
    if isinstance(others, list):
        metrics.extend(others)
    if metrics:
        new_spec["metrics"] = metrics
    behavior = _load(ann, _ANN_BEHAVIOR)
    if isinstance(behavior, dict):
        new_spec["behavior"] = behavior
    new_status: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime",
                                               "currentReplicas", "desiredReplicas")
                       if k in status}
    current: list[Obj] = []
    cur_cpu = status.get("currentCPUUtilizationPercentage")
    if isinstance(cur_cpu, int):
        current.append({"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": cur_cpu}}})
    more = _load(ann, _ANN_CURRENT)
    if isinstance(more, list):
        current.extend(more)
    if current:
        new_status["currentMetrics"] = current
    conditions = _load(ann, _ANN_CONDITIONS)
    if isinstance(conditions, list):
        new_status["conditions"] = conditions
    out = dict(obj)
    out["spec"] = new_spec
    if "status" in obj or new_status:
        out["status"] = new_status
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    return out


_CONVERSIONS = {
    ("Event", CORE_EVENT, EVENTS_V1): _event_to_events_v1,
    ("Event", EVENTS_V1, CORE_EVENT): _event_to_core,
    ("HorizontalPodAutoscaler", HPA_V2, HPA_V1): _hpa_to_v1,
    ("HorizontalPodAutoscaler", HPA_V1, HPA_V2): _hpa_to_v2,
}
