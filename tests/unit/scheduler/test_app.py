"""The process around the core: KubeSchedulerConfiguration's leaderElection and
clientConnection sections, Go durations, and the metrics exposition."""

from __future__ import annotations

import pytest

from kybernetes.scheduler.app import ProcessOptions, parse_duration
from kybernetes.scheduler.errors import ConfigError
from kybernetes.scheduler.metrics import SchedulerMetrics


@pytest.mark.parametrize(("text", "seconds"), [
    pytest.param("15s", 15.0, id="seconds"),
    pytest.param("1m30s", 90.0, id="minutes"),
    pytest.param("500ms", 0.5, id="millis"),
    pytest.param("1h", 3600.0, id="hours"),
    pytest.param(2, 2.0, id="number"),
])
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "s", "1x", "15s junk"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_process_options_default_like_upstream() -> None:
    options = ProcessOptions.from_config(None)
    assert options == ProcessOptions()
    assert (options.leader_elect, options.resource_namespace, options.resource_name) == (
        True, "kube-system", "kube-scheduler")
    assert (options.qps, options.burst) == (50.0, 100)
    election = options.election()
    assert (election.lease_duration, election.renew_deadline, election.retry_period) == (
        15.0, 10.0, 2.0)


def test_process_options_from_a_config_file() -> None:
    options = ProcessOptions.from_config("""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: false
  leaseDuration: 30s
  renewDeadline: 20s
  retryPeriod: 4s
  resourceName: my-scheduler
clientConnection:
  qps: 200
  burst: 400
""")
    assert options == ProcessOptions(leader_elect=False, lease_duration=30, renew_deadline=20,
                                     retry_period=4, resource_name="my-scheduler", qps=200,
                                     burst=400)


def test_process_options_reject_inconsistent_lease_timing() -> None:
    with pytest.raises(ConfigError, match="renew_deadline"):
        ProcessOptions.from_config({"leaderElection": {"leaseDuration": "5s",
                                                       "renewDeadline": "10s"}})


def test_metrics_exposition() -> None:
    metrics = SchedulerMetrics()
    metrics.pending_source = lambda: {"active": 2, "unschedulable": 1}
    metrics.observe_attempt("scheduled", "default-scheduler", 0.01)
    text = metrics.exposition().decode()
    assert ('scheduler_schedule_attempts_total{profile="default-scheduler",'
            'result="scheduled"} 1.0') in text
    assert ('scheduler_scheduling_attempt_duration_seconds_count{profile="default-scheduler",'
            'result="scheduled"} 1.0') in text
    for queue, count in (("active", 2), ("backoff", 0), ("unschedulable", 1), ("gated", 0)):
        assert f'scheduler_pending_pods{{queue="{queue}"}} {count}.0' in text
    assert metrics.attempts("scheduled", "default-scheduler") == 1
    assert metrics.attempts("error", "default-scheduler") == 0
