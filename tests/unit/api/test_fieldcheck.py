"""Decoding checks: unknown fields (pruned), duplicate keys, wrong JSON types."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from kybernetes.api import schema
from kybernetes.api.fieldcheck import (
    FieldReport,
    check_and_prune,
    find_duplicates,
    quantity_error,
    strict_error_message,
    type_error_message,
    warnings,
)

POD = schema.for_kind("", "v1", "Pod")
DEPLOYMENT = schema.for_kind("apps", "v1", "Deployment")
CONFIGMAP = schema.for_kind("", "v1", "ConfigMap")
SECRET = schema.for_kind("", "v1", "Secret")


def make_pod(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"anything": "goes"},
                     "annotations": {"x/y": "z"}},
        "spec": {"containers": [{"name": "c", "image": "nginx", **container}]},
    }


UNKNOWN = [
    ("top", {"bogus": 1}, ["bogus"]),
    ("spec", {"spec": {"containers": [], "foo": 1}}, ["spec.foo"]),
    ("metadata", {"metadata": {"namspace": "x"}}, ["metadata.namspace"]),
    ("list-index", {"spec": {"containers": [{"name": "a"}, {"name": "b", "bogus": 1}]}},
     ["spec.containers[1].bogus"]),
    ("nested", {"spec": {"containers": [{"livenessProbe": {"tcpSocket": {"command": 1}}}]}},
     ["spec.containers[0].livenessProbe.tcpSocket.command"]),
    ("open-maps", {"metadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}},
                   "spec": {"nodeSelector": {"e": "f"}}}, []),
    ("managed-fields", {"metadata": {"managedFields": [{"fieldsV1": {"f:spec": {}}}]}}, []),
    ("type-meta", {"apiVersion": "v1", "kind": "Pod"}, []),
    ("case-sensitive", {"Spec": {}}, ["Spec"]),
]


@pytest.mark.parametrize(("obj", "want"), [c[1:] for c in UNKNOWN], ids=[c[0] for c in UNKNOWN])
def test_unknown_fields(obj: dict[str, Any], want: list[str]) -> None:
    report = check_and_prune(obj, POD, kind="Pod", version="v1")
    assert report.unknown == want
    assert report.type_errors == []


def test_prune_removes_unknown_fields() -> None:
    obj = make_pod(bogus=1)
    obj["spec"]["foo"] = {"bar": 1}
    obj["extra"] = True
    check_and_prune(obj, POD)
    assert obj == make_pod()


def test_prune_is_idempotent() -> None:
    obj = make_pod(bogus=1)
    check_and_prune(obj, POD)
    assert check_and_prune(obj, POD).unknown == []


def test_preserve_unknown_fields_not_walked() -> None:
    crd = schema.for_kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition")
    obj = {"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    assert check_and_prune(obj, crd).unknown == []


TYPE_ERRORS = [
    ("string-for-int", DEPLOYMENT, "Deployment", {"spec": {"replicas": "3"}},
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas "
     "of type int32"),
    ("float-for-int", DEPLOYMENT, "Deployment", {"spec": {"replicas": 3.0}},
     "json: cannot unmarshal number 3.0 into Go struct field DeploymentSpec.spec.replicas "
     "of type int32"),
    ("int-overflow", DEPLOYMENT, "Deployment", {"spec": {"replicas": 2**31}},
     "json: cannot unmarshal number 2147483648 into Go struct field "
     "DeploymentSpec.spec.replicas of type int32"),
    ("bool-for-int", DEPLOYMENT, "Deployment", {"spec": {"replicas": True}},
     "json: cannot unmarshal bool into Go struct field DeploymentSpec.spec.replicas "
     "of type int32"),
    ("object-for-list", POD, "Pod", {"spec": {"containers": {"name": "c"}}},
     "json: cannot unmarshal object into Go struct field PodSpec.spec.containers "
     "of type []v1.Container"),
    ("nested-no-index", POD, "Pod",
     {"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": 1}]}]}},
     "json: cannot unmarshal number into Go struct field EnvVar.spec.containers.env.value "
     "of type string"),
    ("map-value", CONFIGMAP, "ConfigMap", {"data": {"a": 1}},
     "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
    ("string-for-bool", POD, "Pod", {"spec": {"hostNetwork": "yes"}},
     "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"),
    ("quantity", POD, "Pod",
     {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1x"}}}]}},
     "quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("int-or-string", POD, "Pod",
     {"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": True}}}]}},
     "json: cannot unmarshal bool into Go value of type int32"),
    ("base64", SECRET, "Secret", {"data": {"a": "not base64!"}},
     "illegal base64 data at input byte 3"),
]


@pytest.mark.parametrize(("s", "kind", "obj", "want"), [c[1:] for c in TYPE_ERRORS],
                         ids=[c[0] for c in TYPE_ERRORS])
def test_type_errors(s: dict[str, Any], kind: str, obj: dict[str, Any], want: str) -> None:
    report = check_and_prune(obj, s, kind=kind, version="v1")
    assert type_error_message(report) == (
        f'{kind} in version "v1" cannot be handled as a {kind}: {want}')


@pytest.mark.parametrize("obj", [
    {"spec": {"replicas": 3, "paused": False, "template": {"spec": {"containers": []}}}},
    {"spec": {"replicas": None}},
    {"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}}},
], ids=["plain", "null", "int-or-string"])
def test_no_type_errors(obj: dict[str, Any]) -> None:
    assert check_and_prune(obj, DEPLOYMENT).type_errors == []


def test_quantity_formats() -> None:
    for good in ("1", "100m", "1.5Gi", "1e3", "0.5", "+1k", "5E"):
        assert quantity_error(good) is None, good
    assert quantity_error("1iK") == "unable to parse quantity's suffix"


DUPLICATES = [
    ("none", b'{"metadata":{"name":"a","labels":{"x":"y:z"}}}', []),
    ("top", b'{"kind":"Pod","kind":"Pod"}', ["kind"]),
    ("nested", b'{"metadata":{"name":"a","name":"b"}}', ["metadata.name"]),
    ("in-list", b'{"spec":{"containers":[{"name":"a"},{"name":"b","image":"x","image":"y"}]}}',
     ["spec.containers[1].image"]),
    ("in-map", b'{"metadata":{"labels":{"a":"1","a":"2"}}}', ["metadata.labels.a"]),
    ("spaces", b'{ "a" : 1 , "a" : 2 }', ["a"]),
]


@pytest.mark.parametrize(("raw", "want"), [c[1:] for c in DUPLICATES],
                         ids=[c[0] for c in DUPLICATES])
def test_duplicates(raw: bytes, want: list[str]) -> None:
    assert find_duplicates(raw) == want


def test_messages() -> None:
    report = FieldReport(unknown=["spec.foo", "spec.bar"], duplicates=["metadata.name"],
                         kind="Pod", version="v1")
    assert strict_error_message(report) == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.foo", unknown field "spec.bar", duplicate field "metadata.name"')
    assert warnings(report) == [
        'unknown field "spec.foo"', 'unknown field "spec.bar"', 'duplicate field "metadata.name"']
    assert strict_error_message(FieldReport()) is None
    assert type_error_message(FieldReport()) is None


def test_check_with_raw_reports_duplicates() -> None:
    raw = b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"}}'
    report = check_and_prune(json.loads(raw), POD, raw=raw, kind="Pod", version="v1")
    assert report.duplicates == ["metadata.name"]


def _bench_pod() -> dict[str, Any]:
    pod = make_pod(
        ports=[{"containerPort": 80, "name": "http", "protocol": "TCP"}],
        env=[{"name": "A", "value": "1"},
             {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        resources={"requests": {"cpu": "100m", "memory": "128Mi"},
                   "limits": {"cpu": "500m", "memory": "256Mi"}},
        readinessProbe={"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5},
        volumeMounts=[{"name": "data", "mountPath": "/data"}],
    )
    pod["spec"].update({
        "volumes": [{"name": "data", "emptyDir": {}},
                    {"name": "cfg", "configMap": {"name": "web-config"}}],
        "restartPolicy": "Always", "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
    })
    return pod


def test_benchmark_pod() -> None:
    """Prints the cost of a full check of a ~1 KB pod (no timing assertion)."""
    pod = _bench_pod()
    raw = json.dumps(pod).encode()
    check_and_prune(copy.deepcopy(pod), POD, raw=raw)  # warm the compiled schema
    n = 2000
    objs = [json.loads(raw) for _ in range(n)]
    start = time.perf_counter()
    for obj in objs:
        check_and_prune(obj, POD, raw=raw, kind="Pod", version="v1")
    per = (time.perf_counter() - start) / n * 1e6
    print(f"\ncheck_and_prune: {len(raw)} byte pod, {per:.1f} us per call")
