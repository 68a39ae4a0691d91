"""The ReplicaSet controller's status computation (calculateStatus) and its write guard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.controllers.replicaset import calculate_status, status_unchanged

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def make_rs(replicas: int = 3, *, min_ready: int = 0, status: Obj | None = None,
            generation: int = 1) -> Obj:
    return {"metadata": {"name": "rs", "namespace": "ns", "generation": generation},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a", "tier": "web"}}}},
            "status": status or {"replicas": 0}}


def make_pod(*, ready: bool = True, since: str = "2026-01-01T11:59:55Z",
             labels: dict[str, str] | None = None) -> Obj:
    return {"metadata": {"labels": labels or {"app": "a", "tier": "web"}},
            "status": {"conditions": [{"type": "Ready", "status": str(ready),
                                       "lastTransitionTime": since}]}}


@pytest.mark.parametrize(("rs", "pods", "expected"), [
    pytest.param(make_rs(), [], {"replicas": 0}, id="no pods: zero counts left out"),
    pytest.param(make_rs(), [make_pod(), make_pod(ready=False)],
                 {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 1,
                  "availableReplicas": 1}, id="ready and available"),
    pytest.param(make_rs(), [make_pod(labels={"app": "a"})],
                 {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
                 id="missing template label: not fully labeled"),
    pytest.param(make_rs(min_ready=10), [make_pod(), make_pod(since="2026-01-01T11:00:00Z")],
                 {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2,
                  "availableReplicas": 1}, id="minReadySeconds not yet passed for one"),
])
def test_counts(rs: Obj, pods: list[Obj], expected: Obj) -> None:
    assert calculate_status(rs, pods, None, NOW) == expected


@pytest.mark.parametrize(("pods", "reason"), [
    pytest.param([], "FailedCreate", id="too few pods"),
    pytest.param([make_pod()] * 4, "FailedDelete", id="too many pods"),
])
def test_replica_failure_condition_set_and_cleared(pods: list[Obj], reason: str) -> None:
    rs = make_rs(3)
    err = StatusError(403, "Forbidden", 'pods "x" is forbidden: exceeded quota')
    failed = calculate_status(rs, pods, err, NOW)
    assert failed["conditions"] == [{
        "type": "ReplicaFailure", "status": "True", "lastTransitionTime": "2026-01-01T12:00:00Z",
        "reason": reason, "message": 'pods "x" is forbidden: exceeded quota'}]
    # A second failure keeps the first condition; success clears it.
    rs["status"] = failed
    assert calculate_status(rs, pods, err, NOW)["conditions"] == failed["conditions"]
    assert "conditions" not in calculate_status(rs, pods, None, NOW)


@pytest.mark.parametrize(("status", "generation", "new", "unchanged"), [
    pytest.param({"replicas": 2, "readyReplicas": 2, "observedGeneration": 1}, 1,
                 {"replicas": 2, "readyReplicas": 2}, True, id="steady state"),
    pytest.param({"replicas": 2, "observedGeneration": 1}, 2, {"replicas": 2}, False,
                 id="new generation to observe"),
    pytest.param({"replicas": 2, "observedGeneration": 1}, 1,
                 {"replicas": 2, "availableReplicas": 1}, False, id="count changed"),
    pytest.param({"replicas": 0, "observedGeneration": 1}, 1,
                 {"replicas": 0, "conditions": [{"type": "ReplicaFailure"}]}, False,
                 id="condition changed"),
])
def test_status_unchanged(status: Obj, generation: int, new: Obj, unchanged: bool) -> None:
    rs = make_rs(status=status, generation=generation)
    assert status_unchanged(rs, new) is unchanged
