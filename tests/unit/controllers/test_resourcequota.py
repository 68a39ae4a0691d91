"""The resource quota controller's status computation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kybernetes.controllers.resourcequota import compute_status, names_by_resource, same_status

Obj = dict[str, Any]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pod(cpu: str, *, phase: str = "Running", best_effort: bool = False) -> Obj:
    resources = {} if best_effort else {"requests": {"cpu": cpu, "memory": "64Mi"}}
    return {"metadata": {"name": "p"}, "status": {"phase": phase},
            "spec": {"containers": [{"name": "c", "resources": resources}]}}


def test_names_are_grouped_by_the_resource_that_uses_them() -> None:
    assert names_by_resource({"pods": 1, "requests.cpu": 1, "services": 1,
                              "count/deployments.apps": 1, "nonsense": 1}) == {
        ("", "pods"): ["pods", "requests.cpu"], ("", "services"): ["services"],
        ("apps", "deployments"): ["count/deployments.apps"]}


def test_status_hard_is_the_spec_and_used_covers_every_tracked_resource() -> None:
    q = {"spec": {"hard": {"pods": "10", "requests.cpu": "2", "requests.memory": "1Gi",
                           "configmaps": "5", "count/widgets.example.com": "1"}}}
    objects = {("", "pods"): [pod("100m"), pod("250m"), pod("1", phase="Succeeded")],
               ("", "configmaps"): []}
    assert compute_status(q, objects, NOW) == {
        "hard": q["spec"]["hard"],
        "used": {"configmaps": "0", "pods": "2", "requests.cpu": "350m",
                 "requests.memory": "128Mi"}}


def test_scoped_quota() -> None:
    q = {"spec": {"hard": {"pods": "10"}, "scopes": ["BestEffort"]}}
    objects = {("", "pods"): [pod("100m"), pod("", best_effort=True)]}
    assert compute_status(q, objects, NOW)["used"] == {"pods": "1"}


def test_same_status_compares_amounts() -> None:
    assert same_status({"hard": {"cpu": "1000m"}, "used": {"cpu": "0.5"}},
                       {"hard": {"cpu": "1"}, "used": {"cpu": "500m"}})
    assert not same_status({"hard": {"cpu": "1"}}, {"hard": {"cpu": "1"}, "used": {"cpu": "1"}})
    assert same_status({}, {"hard": {}, "used": {}})
