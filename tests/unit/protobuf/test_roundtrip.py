"""Round trips JSON form -> protobuf envelope -> JSON form, plus error handling."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.protobuf import (
    MAGIC,
    ProtobufDecodeError,
    decode,
    encode,
    format_duration,
    parse_duration,
)

META = {"name": "x", "namespace": "default", "creationTimestamp": None}

OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web"},
            "uid": "1234",
            "resourceVersion": "7",
            "generation": 3,
            "creationTimestamp": "2024-01-02T03:04:05Z",
            "annotations": {"a": "b"},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u", "controller": True}
            ],
        },
        "spec": {
            "replicas": 0,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
            },
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "nginx:1.25",
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}],
                            "env": [
                                {"name": "A", "value": "1"},
                                {
                                    "name": "B",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": "s", "key": "k", "optional": False}
                                    },
                                },
                            ],
                            "envFrom": [{"configMapRef": {"name": "cm"}}],
                            "resources": {
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                                "requests": {"cpu": "100m"},
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/", "port": 8080},
                                "initialDelaySeconds": 5,
                                "periodSeconds": 10,
                            },
                            "readinessProbe": {"tcpSocket": {"port": "http"}},
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": 0,
                                "allowPrivilegeEscalation": False,
                            },
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                    "volumes": [
                        {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "cfg", "configMap": {"name": "cm", "defaultMode": 420}},
                    ],
                    "terminationGracePeriodSeconds": 0,
                    "hostIPC": True,
                    "nodeSelector": {"disk": "ssd"},
                    "tolerations": [
                        {
                            "key": "k",
                            "operator": "Exists",
                            "effect": "NoExecute",
                            "tolerationSeconds": 30,
                        }
                    ],
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
        },
        "status": {},
    },
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": META,
        "data": {"k": "dg==", "bin": "AAEC/w=="},
        "type": "Opaque",
        "immutable": False,
    },
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": META,
        "data": {"a": "b"},
        "binaryData": {"blob": "3q2+7w=="},
    },
    {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ns", "creationTimestamp": None},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": META,
        "spec": {
            "ports": [
                {"name": "a", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "b", "port": 443, "targetPort": "https"},
            ],
            "selector": {"app": "web"},
            "type": "ClusterIP",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
        },
        "status": {"loadBalancer": {}},
    },
    {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": META,
        "spec": {
            "backoffLimit": 0,
            "completions": 1,
            "suspend": False,
            "template": {
                "metadata": {"creationTimestamp": None},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "j",
                            "image": "busybox",
                            "command": ["sh", "-c", "true"],
                            "resources": {},
                        }
                    ],
                },
            },
        },
        "status": {},
    },
    {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": META,
        "spec": {
            "schedule": "*/5 * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "metadata": {"name": "t", "creationTimestamp": None},
                "spec": {
                    "template": {
                        "metadata": {"creationTimestamp": None},
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "c", "image": "i", "resources": {}}],
                        },
                    }
                },
            },
        },
        "status": {"lastScheduleTime": "2024-05-06T07:08:09Z"},
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": META,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
            {"kind": "ServiceAccount", "name": "sa", "namespace": "default"},
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "cr", "creationTimestamp": None},
        "rules": [
            {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
        ],
    },
    {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {"creationTimestamp": None},
        "spec": {
            "resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}
        },
        "status": {"allowed": False},
    },
    {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "metadata": {"creationTimestamp": None},
        "spec": {
            "user": "bob",
            "groups": ["g"],
            "extra": {"scopes": ["a", "b"]},
            "nonResourceAttributes": {"path": "/api", "verb": "get"},
        },
        "status": {"allowed": True, "reason": "ok"},
    },
    {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {"name": "sa", "namespace": "default", "creationTimestamp": None},
        "spec": {
            "audiences": ["https://kubernetes.default.svc"],
            "expirationSeconds": 3600,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "u1"},
        },
        "status": {"token": "", "expirationTimestamp": None},
    },
    {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
        "metadata": {"creationTimestamp": None},
        "status": {
            "userInfo": {"username": "admin", "groups": ["system:masters"], "extra": {"k": ["v"]}}
        },
    },
    {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "propagationPolicy": "Foreground",
        "preconditions": {"uid": "abc"},
    },
    {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "propagationPolicy": "Background",
    },
    {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {
            "name": "e",
            "namespace": "default",
            "creationTimestamp": "2024-01-02T03:04:05Z",
        },
        "eventTime": "2024-01-02T03:04:05.123456Z",
        "reportingController": "kyb",
        "reportingInstance": "kyb-1",
        "action": "Pull",
        "reason": "Pulled",
        "type": "Normal",
        "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
        "note": "hi",
        "series": {"count": 2, "lastObservedTime": "2024-01-02T03:04:06.000001Z"},
    },
    {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e", "namespace": "default", "creationTimestamp": None},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "reason": "Started",
        "firstTimestamp": "2024-01-02T03:04:05Z",
        "lastTimestamp": None,
        "count": 1,
        "eventTime": None,
        "source": {"component": "kubelet"},
    },
    {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": META,
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        "status": {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        },
    },
    {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "p", "namespace": "default", "creationTimestamp": None},
        "deleteOptions": {"gracePeriodSeconds": 10},
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": META,
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "a.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
            "tls": [{"hosts": ["a.example"], "secretName": "tls"}],
        },
        "status": {"loadBalancer": {}},
    },
    {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "high", "creationTimestamp": None},
        "value": 0,
        "description": "d",
        "preemptionPolicy": "Never",
    },
    {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": META,
        "spec": {
            "holderIdentity": "me",
            "leaseDurationSeconds": 15,
            "renewTime": "2024-01-02T03:04:05.000000Z",
            "leaseTransitions": 0,
        },
    },
    {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": META,
        "spec": {"hard": {"pods": "10", "requests.cpu": "4"}},
        "status": {},
    },
    {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": META,
        "automountServiceAccountToken": False,
    },
    {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": META,
        "spec": {"replicas": 3},
        "status": {"replicas": 0},
    },
    {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": "rc", "creationTimestamp": None},
        "handler": "runc",
        "overhead": {"podFixed": {"memory": "10Mi"}},
    },
    {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": META,
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
    },
    {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "std", "creationTimestamp": None},
        "provisioner": "p",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    },
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            **META,
            "managedFields": [
                {
                    "manager": "kubectl",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": "2024-01-02T03:04:05Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}},
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "i",
                    "resources": {},
                    "startupProbe": {"grpc": {"port": 9000, "service": ""}},
                }
            ],
            "ephemeralContainers": [
                {"name": "dbg", "image": "busybox", "targetContainerName": "c", "resources": {}}
            ],
            "volumes": [
                {
                    "name": "s",
                    "secret": {
                        "secretName": "s",
                        "items": [{"key": "a", "path": "b", "mode": 256}],
                    },
                },
                {
                    "name": "p",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}
                        ]
                    },
                },
            ],
        },
        "status": {
            "phase": "Pending",
            "podIP": "10.1.2.3",
            "hostIP": "192.0.2.1",
            "startTime": "2024-01-02T03:04:05Z",
        },
    },
    {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": META,
        "data": {"spec": {"template": {"x": [1, 2]}}},
        "revision": 1,
    },
]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: f"{o['apiVersion']}/{o['kind']}")
def test_round_trip(obj: dict[str, Any]) -> None:
    body = encode(obj)
    assert body.startswith(MAGIC)
    assert decode(body) == obj


def test_zero_scalars_of_plain_fields_are_dropped() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "", "generation": 0, "uid": ""},
    }
    assert decode(encode(obj)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
    }


def test_time_nanos_and_offsets() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "n", "creationTimestamp": "2024-01-02T05:04:05.9+02:00"},
    }
    assert decode(encode(obj))["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"


def test_errors() -> None:
    with pytest.raises(ProtobufDecodeError):
        decode(b"{}")
    with pytest.raises(ProtobufDecodeError):
        decode(MAGIC + b"\xff\xff\xff")
    good = encode({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    unknown_kind = good.replace(b"ConfigMap", b"ConfigMaq")
    with pytest.raises(ProtobufDecodeError, match="ConfigMaq"):
        decode(unknown_kind)
    with pytest.raises(ProtobufDecodeError):
        decode(good[:-3])
    with pytest.raises(ValueError):
        encode({"apiVersion": "v1", "kind": "ConfigMap", "bogus": 1})
    assert decode(encode({"apiVersion": "v1", "kind": "ConfigMap", "bogus": 1}, strict=False)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
    }


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (2_000_000, "2ms"),
        (1_500_000_000, "1.5s"),
        (90 * 10**9, "1m30s"),
        (3600 * 10**9, "1h0m0s"),
        (-(3725 * 10**9), "-1h2m5s"),
    ],
)
def test_duration(nanos: int, text: str) -> None:
    assert format_duration(nanos) == text
    assert parse_duration(text) == nanos
