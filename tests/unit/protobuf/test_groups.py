"""Round trips for the API groups beyond core/v1, and spot checks of upstream field numbers."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.protobuf import MAGIC, decode, encode, message_for

NS_META = {"name": "x", "namespace": "default", "creationTimestamp": None}
CLUSTER_META = {"name": "x", "creationTimestamp": None}
T0 = "2024-01-02T03:04:05Z"

HPA_V2: dict[str, Any] = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": NS_META,
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            },
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "packets-per-second"},
                    "target": {"type": "AverageValue", "averageValue": "1k"},
                },
            },
            {
                "type": "Object",
                "object": {
                    "describedObject": {
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "Ingress",
                        "name": "main",
                    },
                    "metric": {
                        "name": "requests-per-second",
                        "selector": {"matchLabels": {"verb": "GET"}},
                    },
                    "target": {"type": "Value", "value": "10k"},
                },
            },
            {
                "type": "External",
                "external": {
                    "metric": {"name": "queue_messages_ready"},
                    "target": {"type": "AverageValue", "averageValue": "30"},
                },
            },
            {
                "type": "ContainerResource",
                "containerResource": {
                    "name": "memory",
                    "container": "app",
                    "target": {"type": "Utilization", "averageUtilization": 60},
                },
            },
        ],
        "behavior": {
            "scaleDown": {
                "stabilizationWindowSeconds": 300,
                "selectPolicy": "Min",
                "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
            },
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15},
                ],
                "tolerance": "50m",
            },
        },
    },
    "status": {
        "observedGeneration": 3,
        "lastScaleTime": T0,
        "currentReplicas": 2,
        "desiredReplicas": 0,
        "currentMetrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": 50, "averageValue": "100m"},
                },
            }
        ],
        "conditions": [
            {
                "type": "AbleToScale",
                "status": "True",
                "lastTransitionTime": T0,
                "reason": "ReadyForNewScale",
                "message": "ok",
            }
        ],
    },
}

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com", "creationTimestamp": None},
    "spec": {
        "group": "example.com",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "listKind": "WidgetList",
            "shortNames": ["wd"],
            "categories": ["all"],
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "A widget.",
                        "required": ["spec"],
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {
                                        "type": "integer",
                                        "format": "int32",
                                        "minimum": 0,
                                        "maximum": 100,
                                        "default": 3,
                                    },
                                    "color": {
                                        "type": "string",
                                        "enum": ["red", "green", None],
                                        "pattern": "^[a-z]+$",
                                        "maxLength": 16,
                                        "nullable": True,
                                    },
                                    "tags": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "x-kubernetes-list-type": "set",
                                    },
                                    "ports": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "name": {"type": "string"},
                                                "port": {"x-kubernetes-int-or-string": True},
                                            },
                                        },
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["name"],
                                    },
                                    "labels": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                        "x-kubernetes-map-type": "atomic",
                                    },
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                    "template": {
                                        "type": "object",
                                        "x-kubernetes-embedded-resource": True,
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                    "limits": {
                                        "type": "object",
                                        "default": {"cpu": "1", "nested": [1, 2.5, True]},
                                    },
                                },
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.size <= 50 || has(self.color)",
                                        "message": "big widgets need a color",
                                        "fieldPath": ".size",
                                        "reason": "FieldValueInvalid",
                                    }
                                ],
                            },
                            "status": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"ready": {"type": "boolean"}},
                            },
                        },
                    }
                },
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.size",
                        "statusReplicasPath": ".status.replicas",
                    },
                },
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1}
                ],
                "selectableFields": [{"jsonPath": ".spec.color"}],
            },
            {
                "name": "v1beta1",
                "served": False,
                "storage": False,
                "deprecated": True,
                "deprecationWarning": "use v1",
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            },
        ],
        "conversion": {"strategy": "None"},
    },
    "status": {
        "conditions": [
            {
                "type": "Established",
                "status": "True",
                "lastTransitionTime": T0,
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            }
        ],
        "acceptedNames": {"plural": "widgets", "kind": "Widget"},
        "storedVersions": ["v1"],
    },
}

OBJECTS: list[dict[str, Any]] = [
    HPA_V2,
    CRD,
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": NS_META,
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "a"}},
            "template": {
                "metadata": {"labels": {"app": "a"}, "creationTimestamp": None},
                "spec": {"containers": [{"name": "c", "image": "i", "resources": {}}]},
            },
            "strategy": {"type": "Recreate"},
            "minReadySeconds": 5,
            "revisionHistoryLimit": 0,
            "progressDeadlineSeconds": 600,
            "paused": True,
        },
        "status": {
            "observedGeneration": 4,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "unavailableReplicas": 1,
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "True",
                    "lastUpdateTime": T0,
                    "lastTransitionTime": T0,
                    "reason": "NewReplicaSetAvailable",
                    "message": "done",
                }
            ],
            "collisionCount": 0,
        },
    },
    {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": NS_META,
        "spec": {
            "schedule": "0 * * * *",
            "timeZone": "Etc/UTC",
            "startingDeadlineSeconds": 0,
            "concurrencyPolicy": "Replace",
            "suspend": True,
            "successfulJobsHistoryLimit": 0,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": {"job": "x"}, "creationTimestamp": None},
                "spec": {
                    "backoffLimit": 2,
                    "ttlSecondsAfterFinished": 100,
                    "template": {
                        "metadata": {"creationTimestamp": None},
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "i", "resources": {}}],
                        },
                    },
                },
            },
        },
        "status": {
            "active": [{"kind": "Job", "name": "x-1", "namespace": "default", "uid": "u"}],
            "lastScheduleTime": T0,
            "lastSuccessfulTime": T0,
        },
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": NS_META,
        "rules": [
            {
                "verbs": ["get", "list", "watch"],
                "apiGroups": ["", "apps"],
                "resources": ["pods", "deployments/scale"],
                "resourceNames": ["a", "b"],
            },
            {"verbs": ["*"], "apiGroups": ["batch"], "resources": ["jobs"]},
        ],
    },
    {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": CLUSTER_META,
        "value": 1000000,
        "globalDefault": True,
        "description": "important",
        "preemptionPolicy": "PreemptLowerPriority",
    },
    {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "node-1_0f3c",
            "leaseDurationSeconds": 15,
            "acquireTime": "2024-01-02T03:04:05.123456Z",
            "renewTime": "2024-01-02T03:04:20.000001Z",
            "leaseTransitions": 7,
        },
    },
    {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {"name": "default", "namespace": "default", "creationTimestamp": None},
        "spec": {
            "audiences": ["api", "vault"],
            "expirationSeconds": 600,
            "boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "s", "uid": "u2"},
        },
        "status": {"token": "eyJhbGciOi.x.y", "expirationTimestamp": T0},
    },
    {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "metadata": {"creationTimestamp": None},
        "spec": {"token": "t", "audiences": ["api"]},
        "status": {
            "authenticated": True,
            "user": {
                "username": "system:serviceaccount:default:sa",
                "uid": "u",
                "groups": ["system:serviceaccounts"],
                "extra": {"authentication.kubernetes.io/pod-name": ["p"]},
            },
            "audiences": ["api"],
        },
    },
    {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {"creationTimestamp": None},
        "spec": {
            "resourceAttributes": {
                "namespace": "default",
                "verb": "list",
                "group": "apps",
                "version": "v1",
                "resource": "deployments",
                "subresource": "scale",
                "name": "web",
                "fieldSelector": {
                    "requirements": [{"key": "spec.nodeName", "operator": "In", "values": ["n1"]}]
                },
                "labelSelector": {"rawSelector": "app=web"},
            }
        },
        "status": {"allowed": True, "reason": "RBAC: allowed"},
    },
    {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "metadata": {"creationTimestamp": None},
        "spec": {"namespace": "default"},
        "status": {
            "resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
            "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/api"]}],
            "incomplete": False,
        },
    },
    {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": CLUSTER_META,
        "webhooks": [
            {
                "name": "v.example.com",
                "clientConfig": {
                    "service": {"namespace": "ns", "name": "svc", "path": "/v", "port": 443},
                    "caBundle": "Y2E=",
                },
                "rules": [
                    {
                        "operations": ["CREATE", "UPDATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                        "scope": "Namespaced",
                    }
                ],
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "namespaceSelector": {},
                "objectSelector": {"matchLabels": {"a": "b"}},
                "sideEffects": "None",
                "timeoutSeconds": 10,
                "admissionReviewVersions": ["v1"],
                "matchConditions": [{"name": "not-system", "expression": "true"}],
            }
        ],
    },
    {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": CLUSTER_META,
        "webhooks": [
            {
                "name": "m.example.com",
                "clientConfig": {"url": "https://example.com/m"},
                "rules": [
                    {
                        "operations": ["*"],
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "resources": ["*/*"],
                    }
                ],
                "sideEffects": "NoneOnDryRun",
                "admissionReviewVersions": ["v1", "v1beta1"],
                "reinvocationPolicy": "IfNeeded",
                "objectSelector": {"matchLabels": {"inject": "yes"}},
            }
        ],
    },
    {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": CLUSTER_META,
        "spec": {
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {
                "resourceRules": [
                    {
                        "resourceNames": ["a"],
                        "operations": ["CREATE"],
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "resources": ["deployments"],
                    }
                ],
                "excludeResourceRules": [
                    {
                        "operations": ["DELETE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                    }
                ],
                "matchPolicy": "Exact",
            },
            "validations": [
                {
                    "expression": "object.spec.replicas <= params.data.max",
                    "message": "too many",
                    "reason": "Invalid",
                    "messageExpression": "'max ' + params.data.max",
                }
            ],
            "failurePolicy": "Fail",
            "auditAnnotations": [{"key": "k", "valueExpression": "'v'"}],
            "matchConditions": [{"name": "c", "expression": "true"}],
            "variables": [{"name": "r", "expression": "object.spec.replicas"}],
        },
        "status": {
            "observedGeneration": 1,
            "typeChecking": {
                "expressionWarnings": [{"fieldRef": "spec.validations[0]", "warning": "w"}]
            },
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastTransitionTime": T0,
                    "reason": "Ok",
                    "message": "",
                }
            ],
        },
    },
    {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": CLUSTER_META,
        "spec": {
            "policyName": "p",
            "paramRef": {
                "name": "limits",
                "namespace": "default",
                "parameterNotFoundAction": "Deny",
            },
            "matchResources": {"namespaceSelector": {"matchLabels": {"env": "prod"}}},
            "validationActions": ["Deny", "Audit"],
        },
    },
    {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": CLUSTER_META,
        "spec": {
            "request": "LS0tLS1CRUdJTg==",
            "signerName": "kubernetes.io/kube-apiserver-client",
            "expirationSeconds": 86400,
            "usages": ["digital signature", "client auth"],
            "username": "alice",
            "uid": "u",
            "groups": ["system:authenticated"],
            "extra": {"scopes": ["a"]},
        },
        "status": {
            "conditions": [
                {
                    "type": "Approved",
                    "status": "True",
                    "reason": "AutoApproved",
                    "message": "ok",
                    "lastUpdateTime": T0,
                    "lastTransitionTime": T0,
                }
            ],
            "certificate": "Y2VydA==",
        },
    },
    {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "FlowSchema",
        "metadata": CLUSTER_META,
        "spec": {
            "priorityLevelConfiguration": {"name": "workload-low"},
            "matchingPrecedence": 9000,
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [
                {
                    "subjects": [
                        {"kind": "Group", "group": {"name": "system:authenticated"}},
                        {"kind": "User", "user": {"name": "*"}},
                        {
                            "kind": "ServiceAccount",
                            "serviceAccount": {"namespace": "kube-system", "name": "*"},
                        },
                    ],
                    "resourceRules": [
                        {
                            "verbs": ["*"],
                            "apiGroups": ["*"],
                            "resources": ["*"],
                            "clusterScope": True,
                            "namespaces": ["*"],
                        }
                    ],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                }
            ],
        },
        "status": {
            "conditions": [
                {"type": "Dangling", "status": "False", "lastTransitionTime": T0, "reason": "Found"}
            ]
        },
    },
    {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "PriorityLevelConfiguration",
        "metadata": CLUSTER_META,
        "spec": {
            "type": "Limited",
            "limited": {
                "nominalConcurrencyShares": 0,
                "lendablePercent": 50,
                "borrowingLimitPercent": 100,
                "limitResponse": {
                    "type": "Queue",
                    "queuing": {"queues": 64, "handSize": 6, "queueLengthLimit": 50},
                },
            },
        },
    },
    {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "PriorityLevelConfiguration",
        "metadata": {"name": "exempt", "creationTimestamp": None},
        "spec": {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0, "lendablePercent": 0}},
    },
    {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": CLUSTER_META,
        "spec": {
            "attachRequired": False,
            "podInfoOnMount": True,
            "volumeLifecycleModes": ["Persistent", "Ephemeral"],
            "storageCapacity": False,
            "fsGroupPolicy": "File",
            "tokenRequests": [{"audience": "", "expirationSeconds": 3600}],
            "requiresRepublish": False,
            "seLinuxMount": True,
        },
    },
    {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSINode",
        "metadata": CLUSTER_META,
        "spec": {
            "drivers": [
                {
                    "name": "csi.example.com",
                    "nodeID": "node-1",
                    "topologyKeys": ["topology.kubernetes.io/zone"],
                    "allocatable": {"count": 0},
                }
            ]
        },
    },
    {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIStorageCapacity",
        "metadata": NS_META,
        "nodeTopology": {"matchLabels": {"topology.kubernetes.io/zone": "a"}},
        "storageClassName": "fast",
        "capacity": "100Gi",
        "maximumVolumeSize": "10Gi",
    },
    {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "VolumeAttachment",
        "metadata": CLUSTER_META,
        "spec": {
            "attacher": "csi.example.com",
            "source": {"persistentVolumeName": "pv-1"},
            "nodeName": "node-1",
        },
        "status": {
            "attached": False,
            "attachmentMetadata": {"devicePath": "/dev/xvdb"},
            "attachError": {"time": T0, "message": "boom", "errorCode": 0},
        },
    },
    {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "VolumeAttachment",
        "metadata": CLUSTER_META,
        "spec": {
            "attacher": "csi.example.com",
            "source": {
                "inlineVolumeSpec": {
                    "capacity": {"storage": "1Gi"},
                    "csi": {"driver": "csi.example.com", "volumeHandle": "h", "readOnly": True},
                    "accessModes": ["ReadWriteOnce"],
                }
            },
            "nodeName": "node-2",
        },
        "status": {"attached": True},
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": CLUSTER_META,
        "spec": {
            "controller": "example.com/ingress",
            "parameters": {
                "apiGroup": "k8s.example.com",
                "kind": "IngressParameters",
                "name": "p",
                "scope": "Namespace",
                "namespace": "default",
            },
        },
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": CLUSTER_META,
        "spec": {"cidrs": ["10.96.0.0/12", "fd00::/108"]},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastTransitionTime": T0,
                    "reason": "",
                    "message": "",
                }
            ]
        },
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {"name": "10.96.0.1", "creationTimestamp": None},
        "spec": {"parentRef": {"resource": "services", "namespace": "default", "name": "kube"}},
    },
]


@pytest.mark.parametrize(
    "obj", OBJECTS, ids=lambda o: f"{o['apiVersion']}/{o['kind']}:{o['metadata'].get('name')}"
)
def test_round_trip(obj: dict[str, Any]) -> None:
    body = encode(obj)
    assert body.startswith(MAGIC)
    assert decode(body) == obj


def test_json_schema_unions() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "$ref": "#/definitions/x",
        "id": "x",
        "type": "object",
        "items": [{"type": "string"}, {"type": "integer"}],
        "additionalItems": True,
        "additionalProperties": {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
        "dependencies": {"a": ["b", "c"], "d": {"required": ["e"]}},
        "patternProperties": {"^x-": {"type": "string"}},
        "definitions": {"x": {"type": "object"}},
        "allOf": [{"type": "object"}],
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "not": {"type": "null"},
        "externalDocs": {"description": "d", "url": "https://example.com"},
        "example": {"a": [1, "two", None]},
        "multipleOf": 0.5,
        "minProperties": 0,
        "maxItems": 3,
        "uniqueItems": True,
    }
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "a.b"},
        "spec": {
            "group": "b",
            "names": {"plural": "a", "kind": "A"},
            "scope": "Cluster",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
            "preserveUnknownFields": True,
        },
    }
    assert decode(encode(crd)) == crd


def test_schema_or_bool_false_and_empty_schema() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "a.b"},
        "spec": {
            "group": "b",
            "names": {"plural": "a", "kind": "A"},
            "scope": "Cluster",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "any": {},
                                "open": {"type": "object", "additionalProperties": {}},
                            },
                        }
                    },
                }
            ],
        },
    }
    assert decode(encode(crd)) == crd


# (apiVersion, kind, dotted field path, upstream field number): numbers that are easy to get
# wrong because they are not sequential in upstream's generated.proto.
FIELD_NUMBERS = [
    ("autoscaling/v2", "HPAScalingRules", "stabilizationWindowSeconds", 3),
    ("autoscaling/v2", "HPAScalingRules", "tolerance", 4),
    ("autoscaling/v2", "MetricSpec", "containerResource", 7),
    ("autoscaling/v2", "ObjectMetricStatus", "describedObject", 3),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinitionSpec", "versions", 7),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinitionSpec", "conversion", 9),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinitionVersion", "deprecated", 7),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinitionVersion", "selectableFields", 9),
    ("apiextensions.k8s.io/v1", "JSONSchemaProps", "xKubernetesValidations", 44),
    ("apiextensions.k8s.io/v1", "WebhookClientConfig", "url", 3),
    ("apiextensions.k8s.io/v1", "WebhookConversion", "clientConfig", 2),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhook", "objectSelector", 10),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhook", "matchConditions", 11),
    ("admissionregistration.k8s.io/v1", "MutatingWebhook", "objectSelector", 11),
    ("admissionregistration.k8s.io/v1", "MutatingWebhook", "matchConditions", 12),
    ("admissionregistration.k8s.io/v1", "MatchResources", "matchPolicy", 7),
    ("admissionregistration.k8s.io/v1", "ExpressionWarning", "fieldRef", 2),
    ("certificates.k8s.io/v1", "CertificateSigningRequestCondition", "status", 6),
    ("certificates.k8s.io/v1", "CertificateSigningRequestSpec", "signerName", 7),
    ("certificates.k8s.io/v1", "CertificateSigningRequestSpec", "expirationSeconds", 8),
    ("flowcontrol.apiserver.k8s.io/v1", "NonResourcePolicyRule", "nonResourceURLs", 6),
    ("storage.k8s.io/v1", "CSIStorageCapacity", "maximumVolumeSize", 5),
    ("authentication.k8s.io/v1", "TokenRequestSpec", "expirationSeconds", 4),
    ("authentication.k8s.io/v1", "TokenReviewStatus", "audiences", 4),
    ("authorization.k8s.io/v1", "SubjectAccessReviewStatus", "denied", 4),
    ("apps/v1", "DeploymentStatus", "readyReplicas", 7),
    ("apps/v1", "DeploymentStatus", "terminatingReplicas", 9),
    ("batch/v1", "JobSpec", "successPolicy", 16),
    ("batch/v1", "CronJobSpec", "timeZone", 8),
    ("networking.k8s.io/v1", "IngressBackend", "service", 4),
    ("discovery.k8s.io/v1", "EndpointSlice", "addressType", 4),
    ("meta.k8s.io/v1", "ObjectMeta", "managedFields", 17),
    ("meta.k8s.io/v1", "DeleteOptions", "ignoreStoreReadErrorWithClusterBreakingPotential", 6),
]


@pytest.mark.parametrize(("api_version", "kind", "field", "number"), FIELD_NUMBERS)
def test_upstream_field_numbers(api_version: str, kind: str, field: str, number: int) -> None:
    assert message_for(api_version, kind).fields_by_name[field].number == number
