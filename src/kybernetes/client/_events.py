"""`EventRecorder`: write core/v1 Events about objects, without ever blocking the caller.

`recorder.event(obj, "Normal", "Scheduled", "assigned ns/p to n1")` builds the
Event at once (timestamps from the clock, upstream's name `<object>.<hex unix
nanoseconds>`, the involved object's reference, source and reporting
component/instance) and puts it on a bounded queue; a background task writes
it through the `EventCorrelator` (create, or PATCH count/lastTimestamp of an
identical recent event, or drop spam). A full queue drops the event with a
log line: events are best-effort, the caller's work is not.

Events of cluster-scoped objects go to the "default" namespace, as upstream.
`await recorder.flush()` waits until everything queued so far is written;
`await recorder.close()` flushes and stops the writer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.client._client import Client
from kybernetes.client._clock import REAL_CLOCK, Clock
from kybernetes.client._discovery import builtin_resource
from kybernetes.client._errors import TransportError, is_already_exists, is_not_found
from kybernetes.client._eventcorrelator import CREATE, PATCH, EventCorrelator
from kybernetes.client._ratelimit import Backoff

log = logging.getLogger("kybernetes.client.events")

Obj = dict[str, Any]

NORMAL, WARNING = "Normal", "Warning"
_EVENTS = builtin_resource("v1", "events")
_WRITE_ATTEMPTS = 3


def object_reference(obj: Obj, *, field_path: str = "") -> Obj:
    """The `ObjectReference` of an object (or `obj` itself if it already is one)."""
    if "metadata" not in obj and "name" in obj:
        ref = dict(obj)
    else:
        meta = obj.get("metadata") or {}
        ref = {"kind": obj.get("kind", ""), "namespace": meta.get("namespace", ""),
               "name": meta.get("name", ""), "uid": meta.get("uid", ""),
               "apiVersion": obj.get("apiVersion", ""),
               "resourceVersion": meta.get("resourceVersion", "")}
    if field_path:
        ref["fieldPath"] = field_path
    return {k: v for k, v in ref.items() if v}


def _rfc3339(clock: Clock) -> tuple[str, int]:
    t = clock.wall()
    nanos = int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000
    return t.strftime("%Y-%m-%dT%H:%M:%SZ"), nanos


class EventRecorder:
    """Records Events as `component` on `host` (source, reportingComponent/Instance)."""

    def __init__(self, client: Client, component: str, host: str = "", *,
                 clock: Clock | None = None, queue_size: int = 1000,
                 correlator: EventCorrelator | None = None) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.clock: Clock = clock or REAL_CLOCK
        self.correlator = correlator or EventCorrelator()
        self._queue: asyncio.Queue[Obj] = asyncio.Queue(maxsize=queue_size)
        self._worker: asyncio.Task[None] | None = None
        self.dropped = 0  # events lost to a full queue or failed writes

    def event(self, obj: Obj, event_type: str, reason: str, message: str, *,
              field_path: str = "", annotations: dict[str, str] | None = None) -> None:
        """Record an event about `obj` (an object or an ObjectReference). Never blocks;
        must be called on the loop the recorder writes from."""
        if event_type not in (NORMAL, WARNING):
            log.error("unsupported event type %r (reason %s): dropped", event_type, reason)
            return
        event = self._make(object_reference(obj, field_path=field_path), event_type, reason,
                           message, annotations)
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event queue full: dropping %s %s for %s", event_type, reason,
                        event["involvedObject"].get("name"))
            return
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name=f"events {self.component}")

    def _make(self, ref: Obj, event_type: str, reason: str, message: str,
              annotations: dict[str, str] | None) -> Obj:
        stamp, nanos = _rfc3339(self.clock)
        meta: Obj = {"name": f"{ref.get('name', '')}.{nanos:x}",
                     "namespace": ref.get("namespace") or "default"}
        if annotations:
            meta["annotations"] = dict(annotations)
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {"apiVersion": "v1", "kind": "Event", "metadata": meta, "involvedObject": ref,
                "reason": reason, "message": message, "type": event_type,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
                "source": source, "reportingComponent": self.component,
                "reportingInstance": self.host}

    async def flush(self) -> None:
        """Wait until every event recorded so far has been written (or dropped)."""
        if self._worker is not None and not self._worker.done():
            await self._queue.join()

    async def close(self) -> None:
        await self.flush()
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._write(event)
            except asyncio.CancelledError:
                raise
            except (StatusError, TransportError) as err:
                self.dropped += 1
                log.warning("cannot write event %s: %s", event["metadata"]["name"], err)
            except Exception:
                self.dropped += 1
                log.exception("cannot write event %s", event["metadata"]["name"])
            finally:
                self._queue.task_done()

    async def _write(self, event: Obj) -> None:
        decision = self.correlator.observe(event, self.clock.now())
        if decision.action not in (CREATE, PATCH):
            log.debug("event %s dropped by the spam filter", event["metadata"]["name"])
            self.dropped += 1
            return
        ev = decision.event
        ns, name = ev["metadata"]["namespace"], ev["metadata"]["name"]
        backoff = Backoff(initial=1.0, cap=10.0, jitter=0.2)
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                if decision.action == PATCH:
                    try:
                        await self.client.patch(_EVENTS, name, decision.patch, namespace=ns,
                                                patch_type="strategic")
                        return
                    except StatusError as err:
                        if not is_not_found(err):
                            raise
                        # Expired or deleted meanwhile: create it again under its name.
                await self.client.create(_EVENTS, ev, namespace=ns)
                return
            except StatusError as err:
                if is_already_exists(err):
                    return  # an identical event is there: nothing to add
                if err.code < 500 and err.code != 429:
                    raise
                last: Exception = err
            except TransportError as err:
                last = err
            if attempt + 1 < _WRITE_ATTEMPTS:
                await self.clock.sleep(backoff.next())
        raise last
