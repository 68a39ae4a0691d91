"""Leader election on a coordination.k8s.io/v1 Lease (client-go tools/leaderelection).

Candidates race to write their identity into one Lease with optimistic
concurrency (the PUT carries the resourceVersion they read, so of two writers
one gets 409 Conflict). The record:

    holderIdentity        who leads ("" after a release: free at once)
    leaseDurationSeconds  how long others wait after the last change they saw
    acquireTime           when the current holder took it
    renewTime             when the holder last renewed (MicroTime)
    leaseTransitions      +1 whenever the holder changes

Timing (`LeaderElectionConfig`): a candidate retries every `retry_period` (with
jitter). The leader renews every `retry_period`; if it cannot renew for
`renew_deadline` it steps down. Others take over when the record has not
changed for `lease_duration` *as measured on their own clock since they saw it
change* (never by comparing renewTime with their clock: clocks of machines
disagree). Hence lease_duration > renew_deadline > retry_period * 1.2: a
leader gives up before anybody may consider its lease expired.

`LeaderElector.run()`: acquire (wait as long as it takes), then run
`on_started_leading()` as a task while renewing; when renewal fails, the
task ends by itself, or `run()` is cancelled: cancel the task, release the
lease (if `release_on_cancel`) and call `on_stopped_leading()` (only if it
had been leading). `on_new_leader(identity)` is called whenever the observed
holder changes, including to ourselves.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from kybernetes.client._client import Client
from kybernetes.client._clock import REAL_CLOCK, Clock
from kybernetes.client._discovery import builtin_resource
from kybernetes.client._errors import is_conflict, is_not_found

log = logging.getLogger("kybernetes.client.leaderelection")

JITTER_FACTOR = 1.2
MICROTIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

Obj = dict[str, Any]


def format_microtime(t: datetime) -> str:
    """metav1.MicroTime: "2006-01-02T15:04:05.000000Z" (UTC, microseconds)."""
    return t.strftime(MICROTIME_FORMAT)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class LeaderElectionRecord:
    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    leader_transitions: int = 0

    @classmethod
    def from_lease_spec(cls, spec: Obj) -> LeaderElectionRecord:
        return cls(holder_identity=spec.get("holderIdentity") or "",
                   lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
                   acquire_time=parse_time(spec.get("acquireTime")),
                   renew_time=parse_time(spec.get("renewTime")),
                   leader_transitions=int(spec.get("leaseTransitions") or 0))

    def to_lease_spec(self) -> Obj:
        spec: Obj = {"holderIdentity": self.holder_identity,
                     "leaseDurationSeconds": self.lease_duration_seconds,
                     "leaseTransitions": self.leader_transitions}
        if self.acquire_time is not None:
            spec["acquireTime"] = format_microtime(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = format_microtime(self.renew_time)
        return spec


class ResourceLock(Protocol):
    """Where the record lives. `update` is a compare-and-swap against the version
    last read or written; a lost race raises (409)."""

    identity: str

    async def get(self) -> LeaderElectionRecord | None: ...

    async def create(self, record: LeaderElectionRecord) -> None: ...

    async def update(self, record: LeaderElectionRecord) -> None: ...

    def describe(self) -> str: ...


class LeaseLock:
    """The record in `coordination.k8s.io/v1` Lease `namespace/name`."""

    def __init__(self, client: Client, *, namespace: str, name: str, identity: str) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self._lease: Obj | None = None
        self._resource = builtin_resource("coordination.k8s.io/v1", "Lease")

    async def get(self) -> LeaderElectionRecord | None:
        try:
            self._lease = await self.client.get(self._resource, self.name,
                                                namespace=self.namespace)
        except Exception as exc:
            if is_not_found(exc):
                self._lease = None
                return None
            raise
        return LeaderElectionRecord.from_lease_spec(self._lease.get("spec") or {})

    async def create(self, record: LeaderElectionRecord) -> None:
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.name, "namespace": self.namespace},
                 "spec": record.to_lease_spec()}
        self._lease = await self.client.create(self._resource, lease, namespace=self.namespace)

    async def update(self, record: LeaderElectionRecord) -> None:
        if self._lease is None:
            raise RuntimeError("update before get or create")
        # The resourceVersion read last rides along: a concurrent writer makes this 409.
        lease = {**self._lease, "spec": {**(self._lease.get("spec") or {}),
                                         **record.to_lease_spec()}}
        self._lease = await self.client.update(self._resource, lease, namespace=self.namespace)

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, kw_only=True)
class LeaderElectionConfig:
    """Durations in seconds; defaults are kube-scheduler's and kube-controller-manager's."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True

    def validate(self) -> LeaderElectionConfig:
        if self.retry_period <= 0:
            raise ValueError("retry_period must be greater than zero")
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError(f"renew_deadline must be greater than retry_period*{JITTER_FACTOR}")
        if self.lease_duration < 1:
            raise ValueError("lease_duration must be at least 1 second (the Lease counts "
                             "whole seconds)")
        return self


class LeaderElector:
    """Campaign for, hold and give up one lock. See the module docstring."""

    def __init__(self, lock: ResourceLock, config: LeaderElectionConfig | None = None, *,
                 on_started_leading: Callable[[], Awaitable[None]],
                 on_stopped_leading: Callable[[], None] | None = None,
                 on_new_leader: Callable[[str], None] | None = None,
                 clock: Clock | None = None) -> None:
        self.lock = lock
        self.config = (config or LeaderElectionConfig()).validate()
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.clock: Clock = clock or REAL_CLOCK
        self._observed = LeaderElectionRecord()
        self._observed_time = 0.0
        self._reported_leader: str | None = None

    # --- state ---------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        return self.lock.identity

    def is_leader(self) -> bool:
        """True if the last record seen or written names us."""
        return bool(self._observed.holder_identity) and (
            self._observed.holder_identity == self.identity)

    def get_leader(self) -> str:
        """The holder in the last record seen ("" if none)."""
        return self._observed.holder_identity

    def _observe(self, record: LeaderElectionRecord) -> None:
        self._observed = record
        self._observed_time = self.clock.now()

    def _report_transition(self) -> None:
        holder = self._observed.holder_identity
        if holder == self._reported_leader:
            return
        self._reported_leader = holder
        if holder:
            log.info("lock %s: new leader %s", self.lock.describe(), holder)
        if self.on_new_leader is not None and holder:
            try:
                self.on_new_leader(holder)
            except Exception:
                log.exception("on_new_leader failed")

    # --- one attempt ---------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the lock (client-go tryAcquireOrRenew)."""
        now = self.clock.wall()
        desired = LeaderElectionRecord(
            holder_identity=self.identity,
            lease_duration_seconds=max(1, math.ceil(self.config.lease_duration)),
            acquire_time=now, renew_time=now)
        try:
            old = await self.lock.get()
        except Exception as exc:
            log.warning("lock %s: cannot read it: %s", self.lock.describe(), exc)
            return False
        if old is None:
            try:
                await self.lock.create(desired)
            except Exception as exc:
                log.info("lock %s: cannot create it: %s", self.lock.describe(), exc)
                return False
            self._observe(desired)
            return True
        if old != self._observed:
            self._observe(old)
        held_by_other = (old.holder_identity and not self.is_leader() and
                         self._observed_time + old.lease_duration_seconds > self.clock.now())
        if held_by_other:
            return False
        if self.is_leader():
            desired = replace(desired, acquire_time=old.acquire_time,
                              leader_transitions=old.leader_transitions)
        else:
            desired = replace(desired, leader_transitions=old.leader_transitions + 1)
        try:
            await self.lock.update(desired)
        except Exception as exc:
            log.info("lock %s: cannot update it: %s", self.lock.describe(), exc)
            return False
        self._observe(desired)
        return True

    async def release(self) -> bool:
        """Give the lock up at once if we hold it (holder "", so others need not wait)."""
        if not self.is_leader():
            return True
        now = self.clock.wall()
        record = LeaderElectionRecord(holder_identity="", lease_duration_seconds=1,
                                      acquire_time=now, renew_time=now,
                                      leader_transitions=self._observed.leader_transitions)
        for attempt in range(2):
            try:
                await self.lock.update(record)
                break
            except Exception as exc:
                if attempt > 0 or not is_conflict(exc):
                    log.warning("lock %s: cannot release it: %s", self.lock.describe(), exc)
                    return False
            # A renewal cancelled in flight may have reached the server after all, leaving
            # our copy stale: read it again, and retry once if it still names us.
            try:
                current = await self.lock.get()
            except Exception as exc:
                log.warning("lock %s: cannot release it: %s", self.lock.describe(), exc)
                return False
            if current is None or current.holder_identity != self.identity:
                return True  # somebody else holds it now: nothing to release
        self._observe(record)
        return True

    # --- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Acquire, lead while renewing, then step down (see the module docstring).
        Re-raises an exception from `on_started_leading`."""
        await self._acquire()
        leading = asyncio.create_task(self.on_started_leading(), name="leading")
        try:
            await self._renew(leading)
        finally:
            if not leading.done():
                leading.cancel()
            try:
                await asyncio.shield(self._wait_quietly(leading))
            finally:
                if self.config.release_on_cancel:
                    await asyncio.shield(self.release())
                self._report_transition()
                if self.on_stopped_leading is not None:
                    self.on_stopped_leading()
        if not leading.cancelled() and leading.exception() is not None:
            raise leading.exception()  # type: ignore[misc]

    @staticmethod
    async def _wait_quietly(task: asyncio.Task[None]) -> None:
        try:
            await task
        except BaseException:
            pass

    async def _acquire(self) -> None:
        log.info("lock %s: %s is trying to acquire it", self.lock.describe(), self.identity)
        while True:
            acquired = await self.try_acquire_or_renew()
            self._report_transition()
            if acquired:
                log.info("lock %s: %s acquired it", self.lock.describe(), self.identity)
                return
            period = self.config.retry_period
            await self.clock.sleep(period + random.random() * JITTER_FACTOR * period)

    async def _renew(self, leading: asyncio.Task[None]) -> None:
        cfg = self.config
        while True:
            deadline = self.clock.now() + cfg.renew_deadline
            renewed = False
            while True:
                remaining = deadline - self.clock.now()
                try:
                    renewed = await asyncio.wait_for(self.try_acquire_or_renew(),
                                                     max(remaining, 0.001))
                except TimeoutError:
                    renewed = False
                if renewed or self.clock.now() + cfg.retry_period > deadline:
                    break
                if await self._sleep_unless_done(cfg.retry_period, leading):
                    return
            self._report_transition()
            if not renewed:
                log.warning("lock %s: %s failed to renew it within %.1fs; stepping down",
                            self.lock.describe(), self.identity, cfg.renew_deadline)
                return
            if await self._sleep_unless_done(cfg.retry_period, leading):
                return

    async def _sleep_unless_done(self, seconds: float, task: asyncio.Task[None]) -> bool:
        """Sleep `seconds`; True (early) if `task` finished meanwhile."""
        if task.done():
            return True
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({sleeper, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        return task.done()
