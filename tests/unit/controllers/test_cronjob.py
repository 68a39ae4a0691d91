"""The CronJob controller: schedules, the next and the missed activations (tables), and
the controller on virtual time against an in-memory API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kybernetes.client import FakeClock
from kybernetes.controllers.cronjob import (
    SCHEDULED_TIMESTAMP_ANNOTATION,
    CronJobController,
    ScheduleError,
    job_from_template,
    job_name,
    most_recent_schedule_time,
    next_schedule_delay,
    parse_go_duration,
    parse_schedule,
)

from .workloads_fake import drain, make_context, run

Obj = dict[str, Any]
T0 = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)  # half a minute past noon


def t(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def cron(schedule: str = "*/1 * * * *", *, created: datetime = T0,
         last: datetime | None = None, **spec: Any) -> Obj:
    obj: Obj = {"apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "tick", "namespace": "ns", "uid": "uid-tick",
                             "creationTimestamp": stamp(created)},
                "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False,
                         "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                         "jobTemplate": {"metadata": {"labels": {"app": "tick"}},
                                         "spec": {"template": {"spec": {
                                             "restartPolicy": "Never",
                                             "containers": [{"name": "main"}]}}}}, **spec},
                "status": {}}
    if last is not None:
        obj["status"]["lastScheduleTime"] = stamp(last)
    return obj


# --- schedules -------------------------------------------------------------------------


@pytest.mark.parametrize(("schedule", "after", "want"), [
    ("*/1 * * * *", "2026-01-01T12:00:30+00:00", "2026-01-01T12:01:00+00:00"),
    ("*/1 * * * *", "2026-01-01T12:01:00+00:00", "2026-01-01T12:02:00+00:00"),
    ("0 9 * * *", "2026-01-01T12:00:00+00:00", "2026-01-02T09:00:00+00:00"),
    ("@hourly", "2026-01-01T12:00:30+00:00", "2026-01-01T13:00:00+00:00"),
    ("@every 90s", "2026-01-01T12:00:30+00:00", "2026-01-01T12:02:00+00:00"),
    ("TZ=Europe/Berlin 0 9 * * *", "2026-01-01T00:00:00+00:00", "2026-01-01T08:00:00+00:00"),
], ids=["every-minute", "strictly-after", "daily", "descriptor", "every", "tz-prefix"])
def test_next_activation(schedule: str, after: str, want: str) -> None:
    sched = parse_schedule(cron(schedule))
    assert sched.next(datetime.fromisoformat(after)) == datetime.fromisoformat(want)


def test_time_zone_field_applies_across_dst() -> None:
    sched = parse_schedule(cron("0 9 * * *", timeZone="Europe/Berlin"))
    winter = sched.next(datetime(2026, 3, 27, 12, tzinfo=UTC))
    summer = sched.next(winter)  # summer time starts on 29 March 2026
    assert (winter.hour, summer.hour) == (8, 7)  # 09:00 CET, then 09:00 CEST, in UTC


@pytest.mark.parametrize("schedule", ["* * * *", "*/5 * * * * *", "61 * * * *", "@every x",
                                      "TZ=Nowhere/City * * * * *"])
def test_bad_schedules_are_rejected(schedule: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(cron(schedule))


def test_go_durations() -> None:
    assert parse_go_duration("1h30m") == 5400
    assert parse_go_duration("1.5s") == 1.5
    with pytest.raises(ScheduleError):
        parse_go_duration("5 minutes")


@pytest.mark.parametrize(("created", "last", "now", "deadline", "recent", "missed"), [
    (t(), None, t(seconds=20), None, None, 0),
    (t(), None, t(seconds=40), None, t(seconds=30), 0),
    (t(-10), t(-3.5), t(), None, t(-0.5), 3),
    (t(-10), t(-3.5), t(), 45, t(-0.5), 0),
    (t(-10), t(-3.5), t(), 20, None, 0),
    (t(-60 * 24 * 3), None, t(), None, t(-0.5), 4320),
], ids=["not-yet", "first-due", "missed-several", "deadline-keeps-last",
        "deadline-passed", "too-many-missed"])
def test_most_recent_unmet_activation(created: datetime, last: datetime | None,
                                      now: datetime, deadline: int | None,
                                      recent: datetime | None, missed: int) -> None:
    spec = {} if deadline is None else {"startingDeadlineSeconds": deadline}
    obj = cron(created=created, last=last, **spec)
    state = most_recent_schedule_time(obj, now, parse_schedule(obj), include_deadline=True)
    assert (state.most_recent, state.missed) == (recent, missed)


def test_impossible_schedule_errors() -> None:
    obj = cron("0 0 31 2 *", created=t(-600))
    with pytest.raises(ScheduleError):
        most_recent_schedule_time(obj, t(), parse_schedule(obj), include_deadline=True)


@pytest.mark.parametrize(("last", "now", "delay"), [
    (None, t(), 30.1),  # created at 12:00:30, next 12:01:00, then 100 ms
    (t(-0.5), t(), 30.1),  # ran at 12:00:00
    (t(-5.5), t(), 30.1),  # missed several: the next one from now
], ids=["fresh", "just-ran", "missed"])
def test_next_sync_is_just_after_the_next_activation(last: datetime | None, now: datetime,
                                                     delay: float) -> None:
    obj = cron(last=last)
    assert next_schedule_delay(obj, now, parse_schedule(obj)) == pytest.approx(delay)


def test_job_from_template() -> None:
    scheduled = datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    job = job_from_template(cron(), scheduled, ZoneInfo("Asia/Tokyo"))
    assert job["metadata"]["name"] == job_name(cron(), scheduled) == "tick-29454481"
    assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == (
        "2026-01-01T21:01:00+09:00")
    assert job["metadata"]["labels"] == {"app": "tick"}
    assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-tick"
    utc = job_from_template(cron(), scheduled, UTC)
    assert utc["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == (
        "2026-01-01T12:01:00Z")


# --- the controller on virtual time ----------------------------------------------------


class Harness:
    def __init__(self) -> None:
        self.clock = FakeClock(wall_start=T0)
        self.ctx, self.api = make_context(self.clock, options={"cronjob_time_zone": "UTC"})
        self.controller = CronJobController(self.ctx)

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await drain(self.controller)

    def jobs(self) -> list[Obj]:
        return sorted(self.api.objects("jobs"), key=lambda j: j["metadata"]["name"])

    def cron(self) -> Obj:
        return self.api.objects("cronjobs")[0]

    async def finish(self, job: Obj, kind: str, *, started: float = 0) -> None:
        job["status"] = {"startTime": stamp(t(started)), "completionTime": stamp(
            self.clock.wall()), "conditions": [{"type": kind, "status": "True"}]}
        await self.api.update(("batch/v1", "Job"), job, subresource="status")
        await drain(self.controller)


def test_a_job_is_created_at_each_minute() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.api.create(("batch/v1", "CronJob"), cron())
        await drain(h.controller)
        assert h.jobs() == []
        await h.advance(29.5)  # 12:00:59.5
        assert h.jobs() == []
        await h.advance(1)  # 12:01:00.5: synced 100 ms after the activation
        assert [j["metadata"]["name"] for j in h.jobs()] == ["tick-29454481"]
        status = h.cron()["status"]
        assert status["lastScheduleTime"] == "2026-01-01T12:01:00Z"
        assert [a["name"] for a in status["active"]] == ["tick-29454481"]
        await h.finish(h.jobs()[0], "Complete")
        status = h.cron()["status"]
        assert status["active"] == [] and status["lastSuccessfulTime"] == stamp(h.clock.wall())
        await h.advance(60)
        assert len(h.jobs()) == 2
        await h.ctx.close()

    run(scenario())


@pytest.mark.parametrize(("policy", "names"), [
    ("Allow", ["tick-29454481", "tick-29454482"]),
    ("Forbid", ["tick-29454481"]),
    ("Replace", ["tick-29454482"]),
])
def test_concurrency_policy(policy: str, names: list[str]) -> None:
    async def scenario() -> list[str]:
        h = Harness()
        await h.api.create(("batch/v1", "CronJob"), cron(concurrencyPolicy=policy))
        await drain(h.controller)
        await h.advance(31)  # the first runs, and keeps running
        await h.advance(60)
        await h.ctx.close()
        return [j["metadata"]["name"] for j in h.jobs()]

    assert run(scenario()) == names


def test_missed_schedules_start_only_the_latest_within_the_deadline() -> None:
    async def scenario() -> None:
        h = Harness()
        # Ten minutes of activations missed (controller down): only the latest runs.
        await h.api.create(("batch/v1", "CronJob"), cron(last=t(-10.5)))
        await drain(h.controller)
        assert [j["metadata"]["name"] for j in h.jobs()] == ["tick-29454480"]
        await h.ctx.close()

    run(scenario())


def test_a_missed_start_beyond_the_deadline_waits_for_the_next() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.api.create(("batch/v1", "CronJob"),
                           cron(last=t(-2.5), startingDeadlineSeconds=10))
        await drain(h.controller)
        assert h.jobs() == []  # 12:00:00 was 30 s ago, beyond the 10 s deadline
        await h.advance(31)
        assert [j["metadata"]["name"] for j in h.jobs()] == ["tick-29454481"]
        await h.ctx.close()

    run(scenario())


def test_suspended_cronjob_starts_nothing() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.api.create(("batch/v1", "CronJob"), cron(suspend=True))
        await drain(h.controller)
        await h.advance(120)
        assert h.jobs() == []
        await h.ctx.close()

    run(scenario())


def test_history_limits_delete_the_oldest_finished_jobs() -> None:
    async def scenario() -> None:
        h = Harness()
        await h.api.create(("batch/v1", "CronJob"),
                           cron(successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1))
        await drain(h.controller)
        for i in range(3):
            await h.advance(31 if i == 0 else 60)
            newest = h.jobs()[-1]
            await h.finish(newest, "Complete" if i < 2 else "Failed", started=i)
        names = [j["metadata"]["name"] for j in h.jobs()]
        assert names == ["tick-29454482", "tick-29454483"]  # one success, one failure
        await h.ctx.close()

    run(scenario())
