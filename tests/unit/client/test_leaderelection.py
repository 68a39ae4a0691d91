"""Leader election on virtual time over an in-memory compare-and-swap lock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from kybernetes.client import (
    FakeClock,
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
    StatusError,
)
from kybernetes.client._clock import settle
from kybernetes.client._leaderelection import JITTER_FACTOR, format_microtime

from .support import run


class Cell:
    """The stored record and its version, shared by every candidate's lock."""

    def __init__(self) -> None:
        self.record: LeaderElectionRecord | None = None
        self.version = 0
        self.failing = False
        self.writes: list[LeaderElectionRecord] = []


class MemoryLock:
    def __init__(self, cell: Cell, identity: str) -> None:
        self.cell = cell
        self.identity = identity
        self.seen_version = -1

    def _check(self) -> None:
        if self.cell.failing:
            raise StatusError(503, "ServiceUnavailable", "apiserver down")

    async def get(self) -> LeaderElectionRecord | None:
        self._check()
        self.seen_version = self.cell.version
        return self.cell.record

    async def create(self, record: LeaderElectionRecord) -> None:
        self._check()
        if self.cell.record is not None:
            raise StatusError(409, "AlreadyExists", "exists")
        self._write(record)

    async def update(self, record: LeaderElectionRecord) -> None:
        self._check()
        if self.seen_version != self.cell.version:
            raise StatusError(409, "Conflict", "the object has been modified")
        self._write(record)

    def _write(self, record: LeaderElectionRecord) -> None:
        self.cell.record = record
        self.cell.version += 1
        self.seen_version = self.cell.version
        self.cell.writes.append(record)

    def describe(self) -> str:
        return "memory"


CONFIG = LeaderElectionConfig(lease_duration=15, renew_deadline=10, retry_period=2)


class Candidate:
    def __init__(self, cell: Cell, clock: FakeClock, identity: str,
                 config: LeaderElectionConfig = CONFIG, lead: Any = None) -> None:
        self.log: list[str] = []
        self.leading = asyncio.Event()

        async def default_lead() -> None:
            self.leading.set()
            self.log.append("started")
            await asyncio.Event().wait()

        self.elector = LeaderElector(
            MemoryLock(cell, identity), config, clock=clock,
            on_started_leading=lead or default_lead,
            on_stopped_leading=lambda: self.log.append("stopped"),
            on_new_leader=lambda who: self.log.append(f"leader={who}"))
        self.task = asyncio.create_task(self.elector.run())

    async def cancel(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def test_one_candidate_wins_and_keeps_renewing() -> None:
    async def main() -> None:
        cell, clock = Cell(), FakeClock()
        a = Candidate(cell, clock, "a")
        await settle()
        b = Candidate(cell, clock, "b")
        await settle()
        assert a.elector.is_leader() and not b.elector.is_leader()
        assert a.log == ["leader=a", "started"] and b.log == ["leader=a"]
        first = cell.record
        assert first is not None and first.lease_duration_seconds == 15
        await clock.advance(60)
        assert a.elector.is_leader() and not b.leading.is_set()
        record = cell.record
        assert record is not None and record.holder_identity == "a"
        assert record.acquire_time == first.acquire_time  # kept across renewals
        assert record.renew_time is not None and record.renew_time > first.acquire_time  # type: ignore[operator]
        assert record.leader_transitions == 0
        await a.cancel()
        await b.cancel()

    run(main())


def test_release_hands_over_at_the_next_retry() -> None:
    async def main() -> None:
        cell, clock = Cell(), FakeClock()
        a = Candidate(cell, clock, "a")
        await settle()
        b = Candidate(cell, clock, "b")
        await settle()
        await a.cancel()  # releases: holder ""
        assert a.log == ["leader=a", "started", "stopped"]
        assert cell.record is not None and cell.record.holder_identity == ""
        await clock.advance(CONFIG.retry_period * (1 + JITTER_FACTOR))  # b's next try
        assert b.elector.is_leader() and b.log == ["leader=a", "leader=b", "started"]
        assert cell.record.leader_transitions == 1
        await b.cancel()

    run(main())


def test_takeover_after_expiry_is_measured_on_the_follower_clock() -> None:
    async def main() -> None:
        cell, clock = Cell(), FakeClock()
        cfg = LeaderElectionConfig(lease_duration=15, renew_deadline=10, retry_period=2,
                                   release_on_cancel=False)
        a = Candidate(cell, clock, "a", cfg)
        await settle()
        b = Candidate(cell, clock, "b", cfg)
        await settle()
        await a.cancel()  # a crashes: no release, the record still names it
        assert cell.record is not None and cell.record.holder_identity == "a"
        await clock.advance(14)
        assert not b.elector.is_leader()  # 15 s have not passed since b saw the last change
        # Expiry at 15 s, then b's next try: at most one jittered retry gap later.
        await clock.advance(1 + CONFIG.retry_period * (1 + JITTER_FACTOR))
        assert b.elector.is_leader()
        assert cell.record.holder_identity == "b" and cell.record.leader_transitions == 1
        await b.cancel()

    run(main())


def test_leader_that_cannot_renew_steps_down_before_the_lease_expires() -> None:
    async def main() -> None:
        cell, clock = Cell(), FakeClock()
        a = Candidate(cell, clock, "a")
        await settle()
        cell.failing = True
        await clock.advance(CONFIG.retry_period)  # the first failed renewal starts the deadline
        await clock.advance(CONFIG.renew_deadline)
        assert a.task.done() and a.log == ["leader=a", "started", "stopped"]
        assert a.task.exception() is None

    run(main())


def test_concurrent_candidates_cannot_both_win() -> None:
    async def main() -> None:
        cell, clock = Cell(), FakeClock()
        candidates = [Candidate(cell, clock, f"c{i}") for i in range(5)]
        await clock.advance(30)
        leaders = [c for c in candidates if c.leading.is_set()]
        assert len(leaders) == 1
        for c in candidates:
            await c.cancel()

    run(main())


def test_leading_task_that_fails_gives_the_lock_up_and_reraises() -> None:
    async def main() -> None:
        cell, clock = Cell(), FakeClock()

        async def lead() -> None:
            raise RuntimeError("controller crashed")

        a = Candidate(cell, clock, "a", lead=lead)
        await settle()
        with pytest.raises(RuntimeError, match="controller crashed"):
            await a.task
        assert cell.record is not None and cell.record.holder_identity == ""
        assert a.log[-1] == "stopped"

    run(main())


def test_release_survives_a_renewal_that_landed_after_it_was_cancelled() -> None:
    async def main() -> None:
        cell, clock = Cell(), FakeClock()
        a = Candidate(cell, clock, "a")
        await settle()
        # Our own renewal reached the server but its answer was lost: our copy is stale.
        assert cell.record is not None
        cell.record = replace(cell.record, renew_time=None)
        cell.version += 1
        await a.cancel()
        assert cell.record.holder_identity == ""

    run(main())


@pytest.mark.parametrize(("kw", "message"), [
    ({"lease_duration": 10, "renew_deadline": 10}, "lease_duration must be greater"),
    ({"renew_deadline": 2, "retry_period": 2}, "renew_deadline must be greater"),
    ({"retry_period": 0}, "retry_period"),
    ({"lease_duration": 0.9, "renew_deadline": 0.5, "retry_period": 0.1}, "at least 1 second"),
])
def test_config_validation(kw: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LeaderElectionConfig(**kw).validate()


def test_record_round_trips_through_a_lease_spec() -> None:
    t = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    record = LeaderElectionRecord(holder_identity="me", lease_duration_seconds=15,
                                  acquire_time=t, renew_time=t, leader_transitions=3)
    spec = record.to_lease_spec()
    assert spec == {"holderIdentity": "me", "leaseDurationSeconds": 15,
                    "acquireTime": "2026-01-02T03:04:05.000678Z",
                    "renewTime": "2026-01-02T03:04:05.000678Z", "leaseTransitions": 3}
    assert LeaderElectionRecord.from_lease_spec(spec) == record
    assert format_microtime(t) == "2026-01-02T03:04:05.000678Z"
