"""The TTL-after-finished controller: deletes finished Jobs once their TTL has passed.

Upstream pkg/controller/ttlafterfinished (v1.32). A Job with
`spec.ttlSecondsAfterFinished` whose Complete or Failed condition is True is
queued; when its TTL (counted from that condition's lastTransitionTime) has
expired, the controller reads the Job again from the API -- the TTL may have
changed since the cache saw it -- and only if that fresh copy has expired too
deletes it, in the foreground and guarded by its uid, so its pods go first.
Jobs not expired yet are queued again for the moment they will be.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from kybernetes.client import is_not_found, split_key
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.controller_utils import parse_time
from kybernetes.controllers.manager import register

Obj = dict[str, Any]
log = logging.getLogger("kybernetes.controllers.ttlafterfinished")

JOBS = ("batch/v1", "Job")


class FinishTimeUnknown(Exception):
    """A finished Job without a usable lastTransitionTime on its finish condition."""


def is_finished(job: Obj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def needs_cleanup(job: Obj) -> bool:
    """Finished, with a TTL set."""
    return (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None \
        and is_finished(job)


def finish_time(job: Obj) -> datetime:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            when = parse_time(c.get("lastTransitionTime"))
            if when is None:
                break
            return when
    meta = job.get("metadata") or {}
    raise FinishTimeUnknown(f"unable to find the time when the Job {meta.get('namespace')}/"
                            f"{meta.get('name')} finished")


def time_left(job: Obj, now: datetime) -> tuple[float, datetime]:
    """(seconds until the TTL expires, <= 0 when it has; the expiry time)."""
    expire_at = finish_time(job) + timedelta(seconds=int(job["spec"]["ttlSecondsAfterFinished"]))
    return (expire_at - now).total_seconds(), expire_at


@register("ttl-after-finished")
class TTLAfterFinishedController(ReconcileController):
    name = "ttl-after-finished"
    workers = 5  # upstream --concurrent-ttl-after-finished-syncs

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.jobs = ctx.informers.informer(JOBS)
        self.jobs.add_event_handler(on_add=self._job_changed,
                                    on_update=lambda _old, new: self._job_changed(new))

    def _job_changed(self, job: Obj) -> None:
        if not job["metadata"].get("deletionTimestamp") and needs_cleanup(job):
            self.enqueue(job)

    async def reconcile(self, key: str) -> None:
        job = self.jobs.store.get(key)
        if job is None or self._expired(key, job) is None:
            return
        namespace, name = split_key(key)
        # The TTL may have changed since the cache saw it: decide on a fresh copy.
        try:
            fresh = await self.client.get(JOBS, name, namespace=namespace)
        except Exception as err:
            if is_not_found(err):
                return
            raise
        if self._expired(key, fresh) is None:
            return
        log.info("ttl-after-finished: cleaning up Job %s", key)
        await self.client.delete(JOBS, name, namespace=namespace, propagation_policy="Foreground",
                                 preconditions={"uid": fresh["metadata"]["uid"]})

    def _expired(self, key: str, job: Obj) -> datetime | None:
        """processTTL: the expiry time if the TTL has expired; otherwise None, and the
        Job is queued again for when it will (if it needs cleaning up at all)."""
        if job["metadata"].get("deletionTimestamp") or not needs_cleanup(job):
            return None
        left, expire_at = time_left(job, self.ctx.clock.wall())
        if left <= 0:
            return expire_at
        self.queue.add_after(key, left)
        return None
