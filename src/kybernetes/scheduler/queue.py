"""The scheduling queue (`internal/queue/scheduling_queue.go`): activeQ, backoffQ, unschedulable.

    add / update ──PreEnqueue──▶ activeQ ──pop──▶ scheduling cycle
                       │ gated      ▲   ▲               │ failed
                       ▼            │   │ backoff done  ▼
                 unschedulablePods ─┘  backoffQ ◀── add_unschedulable_if_not_present
                       ▲  cluster event whose     (a move request during the cycle,
                       │  plug-in hint says QUEUE   or an error: straight to backoffQ)
                       └── 5 min without one: UnschedulableTimeout moves it anyway

Invariants: a pod (by namespace/name) is in at most one of activeQ, backoffQ
and unschedulablePods; a popped pod is in none until it is re-added.

* activeQ is ordered by the profile's QueueSort (PrioritySort: priority, then
  the time the pod was queued).
* Back-off: 1 s after the first failed attempt, doubling per attempt up to
  10 s, counted from the time the pod was re-queued; `flush_backoff_completed`
  moves expired pods to activeQ (call it about once a second).
* A pod rejected by plug-ins waits in unschedulablePods until an event that
  one of those plug-ins registered (and whose queueing hint says QUEUE)
  arrives; then it goes to backoffQ if still backing off, else to activeQ.
  A pod that failed with an error (no rejecting plug-in) goes to backoffQ.
* `flush_unschedulable_leftover` moves pods that waited more than 5 minutes.
* PreEnqueue plug-ins (SchedulingGates) keep a pod out of activeQ; a gated
  pod leaves unschedulablePods only when it is updated.

Time comes from the injected `clock` (seconds, monotonic); nothing blocks:
`pop()` returns None when activeQ is empty. The queue is also the pod
nominator: pods nominated to a node by preemption, which Filter counts as
already there (`nominated_pods_for_node`).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kybernetes.scheduler.framework.events import (
    EVENT_ASSIGNED_POD_ADD,
    EVENT_ASSIGNED_POD_DELETE,
    EVENT_FORCE_ACTIVATE,
    EVENT_NODE_ADD,
    EVENT_NODE_DELETE,
    EVENT_UNSCHEDULABLE_TIMEOUT,
    UNSCHEDULABLE_POD,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
    assigned_pod_update_events,
    node_update_events,
    unscheduled_pod_update_events,
)
from kybernetes.scheduler.framework.interface import MODE_OVERRIDE, NominatingInfo
from kybernetes.scheduler.framework.runtime import Framework
from kybernetes.scheduler.framework.types import (
    PodInfo,
    QueuedPodInfo,
    as_pod_info,
    pod_key,
)
from kybernetes.scheduler.plugins.names import SCHEDULING_GATES

Obj = Mapping[str, Any]
Less = Callable[[QueuedPodInfo, QueuedPodInfo], bool]

DEFAULT_POD_INITIAL_BACKOFF = 1.0
DEFAULT_POD_MAX_BACKOFF = 10.0
DEFAULT_POD_MAX_IN_UNSCHEDULABLE = 5 * 60.0
DEFAULT_SCHEDULER_NAME = "default-scheduler"

ACTIVE_Q = "activeQ"
BACKOFF_Q = "backoffQ"
UNSCHEDULABLE_PODS = "unschedulablePods"

_SKIP, _AFTER_BACKOFF, _IMMEDIATELY = 0, 1, 2
EVENT_UNSCHEDULED_POD_DELETE = ClusterEvent(UNSCHEDULABLE_POD, ActionType.DELETE,
                                            "UnscheduledPodDelete")
EVENT_BACKOFF_COMPLETE = ClusterEvent("*", ActionType.ALL, "BackoffComplete")
EVENT_UNSCHEDULED_POD_ADD = ClusterEvent(UNSCHEDULABLE_POD, ActionType.ADD,
                                         "UnscheduledPodAdd")


class _Entry:
    __slots__ = ("item", "less", "seq")

    def __init__(self, item: QueuedPodInfo, seq: int, less: Less) -> None:
        self.item, self.seq, self.less = item, seq, less

    def __lt__(self, other: _Entry) -> bool:
        if self.less(self.item, other.item):
            return True
        if self.less(other.item, self.item):
            return False
        return self.seq < other.seq


class _Heap:
    """A keyed heap with lazy deletion: `entries` holds the live entry per key."""

    def __init__(self, less: Less) -> None:
        self._less = less
        self._heap: list[_Entry] = []
        self._entries: dict[str, _Entry] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> QueuedPodInfo | None:
        entry = self._entries.get(key)
        return entry.item if entry is not None else None

    def add_or_update(self, item: QueuedPodInfo) -> None:
        self._seq += 1
        entry = _Entry(item, self._seq, self._less)
        self._entries[item.key] = entry
        heapq.heappush(self._heap, entry)

    def delete(self, key: str) -> QueuedPodInfo | None:
        entry = self._entries.pop(key, None)
        return entry.item if entry is not None else None

    def peek(self) -> QueuedPodInfo | None:
        self._drop_stale()
        return self._heap[0].item if self._heap else None

    def pop(self) -> QueuedPodInfo | None:
        self._drop_stale()
        if not self._heap:
            return None
        entry = heapq.heappop(self._heap)
        del self._entries[entry.item.key]
        return entry.item

    def items(self) -> list[QueuedPodInfo]:
        return [e.item for e in self._entries.values()]

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and self._entries.get(heap[0].item.key) is not heap[0]:
            heapq.heappop(heap)


class SchedulingQueue:
    """activeQ + backoffQ + unschedulablePods, and the nominated pods (see module docstring)."""

    def __init__(
        self,
        *,
        less: Less,
        pre_enqueue: Mapping[str, list[Any]] | None = None,
        events: Mapping[str, Mapping[str, list[ClusterEventWithHint]]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        initial_backoff: float = DEFAULT_POD_INITIAL_BACKOFF,
        max_backoff: float = DEFAULT_POD_MAX_BACKOFF,
        max_in_unschedulable: float = DEFAULT_POD_MAX_IN_UNSCHEDULABLE,
    ) -> None:
        self._clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self._pre_enqueue = pre_enqueue or {}
        self._events = events or {}
        self._active = _Heap(less)
        self._backoff = _Heap(lambda a, b: self.backoff_expiry(a) < self.backoff_expiry(b))
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self.scheduling_cycle = 0
        self._move_request_cycle = -1
        self._nominated_node: dict[str, str] = {}
        self._nominated: dict[str, list[PodInfo]] = {}

    @classmethod
    def from_frameworks(cls, frameworks: Mapping[str, Framework], **kwargs: Any
                        ) -> SchedulingQueue:
        """A queue for these profiles; sorted by the first profile's QueueSort, as upstream.

        Also makes the queue the frameworks' nominator."""
        first = next(iter(frameworks.values()))
        queue = cls(
            less=first.queue_sort_less,
            pre_enqueue={name: list(fw.pre_enqueue_plugins) for name, fw in frameworks.items()},
            events={name: fw.events_to_register() for name, fw in frameworks.items()},
            **kwargs)
        for fw in frameworks.values():
            fw.nominator = queue
        return queue

    # --- introspection ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._active) + len(self._backoff) + len(self._unschedulable)

    def where(self, pod: Obj | PodInfo) -> str | None:
        """Which internal queue holds the pod: activeQ, backoffQ, unschedulablePods or None."""
        key = pod.key if isinstance(pod, PodInfo) else pod_key(pod)
        if key in self._active:
            return ACTIVE_Q
        if key in self._backoff:
            return BACKOFF_Q
        if key in self._unschedulable:
            return UNSCHEDULABLE_PODS
        return None

    def pending_pods(self) -> dict[str, list[str]]:
        """Keys of the pods in each internal queue (for debugging and /debug endpoints)."""
        return {ACTIVE_Q: sorted(i.key for i in self._active.items()),
                BACKOFF_Q: sorted(i.key for i in self._backoff.items()),
                UNSCHEDULABLE_PODS: sorted(self._unschedulable)}

    def counts(self) -> dict[str, int]:
        """Pods per queue as the scheduler_pending_pods metric labels them; "gated" pods
        (held by a PreEnqueue plug-in) are not counted as "unschedulable"."""
        gated = sum(1 for q in self._unschedulable.values() if q.gated)
        return {"active": len(self._active), "backoff": len(self._backoff),
                "unschedulable": len(self._unschedulable) - gated, "gated": gated}

    def get(self, pod: Obj | PodInfo) -> QueuedPodInfo | None:
        key = pod.key if isinstance(pod, PodInfo) else pod_key(pod)
        return (self._active.get(key) or self._backoff.get(key)
                or self._unschedulable.get(key))

    # --- back-off ---------------------------------------------------------------------------

    def backoff_duration(self, qpi: QueuedPodInfo) -> float:
        """0 before the first attempt; initial * 2^(attempts-1), capped at max."""
        if qpi.attempts == 0:
            return 0.0
        duration = self.initial_backoff
        for _ in range(1, qpi.attempts):
            if duration > self.max_backoff - duration:
                return self.max_backoff
            duration += duration
        return duration

    def backoff_expiry(self, qpi: QueuedPodInfo) -> float:
        return qpi.timestamp + self.backoff_duration(qpi)

    def is_backing_off(self, qpi: QueuedPodInfo) -> bool:
        return self.backoff_expiry(qpi) > self._clock()

    # --- adding and popping -----------------------------------------------------------------

    def add(self, pod: Obj | PodInfo) -> None:
        """A new unscheduled pod: to activeQ, or to unschedulablePods if a PreEnqueue gates it."""
        info = as_pod_info(pod)
        self._move_to_active(QueuedPodInfo(info, timestamp=self._clock()),
                             EVENT_UNSCHEDULED_POD_ADD)

    def pop(self) -> QueuedPodInfo | None:
        """The next pod to schedule, or None; counts an attempt and starts a scheduling cycle."""
        qpi = self._active.pop()
        if qpi is None:
            return None
        self.scheduling_cycle += 1
        qpi.attempts += 1
        qpi.unschedulable_plugins = frozenset()
        qpi.pending_plugins = frozenset()
        return qpi

    def add_unschedulable_if_not_present(self, qpi: QueuedPodInfo,
                                         pod_scheduling_cycle: int | None = None) -> bool:
        """Requeue a pod whose cycle failed; `qpi.unschedulable_plugins` names the rejecters.

        False (and nothing changes) if the pod is already queued.
        """
        if self.where(qpi.pod_info) is not None:
            return False
        cycle = self.scheduling_cycle if pod_scheduling_cycle is None else pod_scheduling_cycle
        qpi.timestamp = self._clock()
        rejectors = qpi.unschedulable_plugins | qpi.pending_plugins
        if self._move_request_cycle >= cycle or not rejectors:
            # An event arrived while this pod was being scheduled, or it failed with an
            # error: retry after the back-off instead of waiting for another event.
            self._backoff.add_or_update(qpi)
        else:
            self._unschedulable[qpi.key] = qpi
        self.add_nominated_pod(qpi.pod_info, None)
        return True

    def activate(self, pods: Iterable[Obj | PodInfo]) -> None:
        """Move these pods from backoffQ/unschedulablePods to activeQ (PodsToActivate)."""
        for pod in pods:
            key = pod.key if isinstance(pod, PodInfo) else pod_key(pod)
            qpi = self._unschedulable.get(key) or self._backoff.get(key)
            if qpi is None:
                # Possibly in flight: make sure it is retried when it comes back.
                self._move_request_cycle = self.scheduling_cycle
                continue
            self._backoff.delete(key)
            self._move_to_active(qpi, EVENT_FORCE_ACTIVATE)

    def _run_pre_enqueue(self, qpi: QueuedPodInfo) -> bool:
        scheduler_name = qpi.pod_info.spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME
        for plugin in self._pre_enqueue.get(scheduler_name, ()):
            status = plugin.pre_enqueue(qpi.pod_info)
            if status is not None and not status.is_success():
                qpi.unschedulable_plugins = qpi.unschedulable_plugins | {plugin.name}
                return False
        return True

    def _move_to_active(self, qpi: QueuedPodInfo, event: ClusterEvent) -> bool:
        qpi.gated = not self._run_pre_enqueue(qpi)
        key = qpi.key
        if qpi.gated:
            if key not in self._active and key not in self._backoff:
                self._unschedulable[key] = qpi
            return False
        if qpi.initial_attempt_timestamp is None:
            qpi.initial_attempt_timestamp = self._clock()
        self._active.add_or_update(qpi)
        self._unschedulable.pop(key, None)
        self._backoff.delete(key)
        if event.label in ("UnscheduledPodAdd", "UnscheduledPodUpdate"):
            self.add_nominated_pod(qpi.pod_info, None)
        return True

    # --- updates and deletes of unscheduled pods --------------------------------------------

    def update(self, old: Obj | None, new: Obj) -> None:
        """An unscheduled pod changed: update it in place, or requeue it if that may help."""
        key = pod_key(new)
        for heap in (self._active, self._backoff):
            qpi = heap.get(key)
            if qpi is not None:
                qpi.pod_info = info = qpi.pod_info.updated(new)
                self._update_nominated(old, info)
                heap.add_or_update(qpi)
                return
        qpi = self._unschedulable.get(key)
        if qpi is None:
            self._move_to_active(QueuedPodInfo(PodInfo(new), timestamp=self._clock()),
                                 ClusterEvent(UNSCHEDULABLE_POD, ActionType.UPDATE,
                                              "UnscheduledPodUpdate"))
            return
        qpi.pod_info = info = qpi.pod_info.updated(new)
        self._update_nominated(old, info)
        for event in unscheduled_pod_update_events(old or {}, new):
            strategy = self._worth_requeuing(qpi, event, old, new)
            if self._requeue(qpi, strategy) != UNSCHEDULABLE_PODS:
                return

    def delete(self, pod: Obj | PodInfo) -> None:
        """Forget a pod (deleted, or bound by someone else)."""
        key = pod.key if isinstance(pod, PodInfo) else pod_key(pod)
        self.delete_nominated_pod_if_exists(pod)
        self._active.delete(key)
        self._backoff.delete(key)
        self._unschedulable.pop(key, None)

    # --- cluster events ---------------------------------------------------------------------

    def move_all_to_active_or_backoff(self, event: ClusterEvent, old: Any = None,
                                      new: Any = None,
                                      precheck: Callable[[QueuedPodInfo], bool] | None = None
                                      ) -> None:
        """Move the unschedulable pods this event may help (by their plug-ins' hints)."""
        pods = [q for q in self._unschedulable.values() if precheck is None or precheck(q)]
        self._move_pods(pods, event, old, new)

    def _move_pods(self, pods: Iterable[QueuedPodInfo], event: ClusterEvent, old: Any,
                   new: Any) -> None:
        for qpi in pods:
            # Gated pods only leave when they themselves are updated (kubernetes#124384).
            if qpi.gated and SCHEDULING_GATES in qpi.unschedulable_plugins:
                continue
            strategy = self._worth_requeuing(qpi, event, old, new)
            if strategy != _SKIP:
                self._unschedulable.pop(qpi.key, None)
                self._requeue(qpi, strategy)
        self._move_request_cycle = self.scheduling_cycle

    def _worth_requeuing(self, qpi: QueuedPodInfo, event: ClusterEvent, old: Any,
                         new: Any) -> int:
        rejectors = qpi.unschedulable_plugins | qpi.pending_plugins
        if not rejectors or event.is_wildcard():
            return _AFTER_BACKOFF
        scheduler_name = qpi.pod_info.spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME
        registered = self._events.get(scheduler_name)
        if registered is None:
            return _AFTER_BACKOFF
        strategy = _SKIP
        for plugin in rejectors:
            for entry in registered.get(plugin, ()):
                if not entry.event.matches(event):
                    continue
                hint = QueueingHint.QUEUE
                if entry.hint is not None:
                    try:
                        hint = entry.hint(qpi.pod_info, old, new)
                    except Exception:  # a broken hint must not strand the pod
                        hint = QueueingHint.QUEUE
                if hint == QueueingHint.SKIP:
                    continue
                if plugin in qpi.pending_plugins:
                    return _IMMEDIATELY
                strategy = _AFTER_BACKOFF
        return strategy

    def _requeue(self, qpi: QueuedPodInfo, strategy: int) -> str:
        if strategy == _SKIP:
            self._unschedulable[qpi.key] = qpi
            return UNSCHEDULABLE_PODS
        if strategy == _AFTER_BACKOFF and self.is_backing_off(qpi):
            self._unschedulable.pop(qpi.key, None)
            self._backoff.add_or_update(qpi)
            return BACKOFF_Q
        if self._move_to_active(qpi, EVENT_FORCE_ACTIVATE):
            return ACTIVE_Q
        return UNSCHEDULABLE_PODS

    def on_node_add(self, node: Obj) -> None:
        self.move_all_to_active_or_backoff(EVENT_NODE_ADD, None, node)

    def on_node_update(self, old: Obj, new: Obj) -> None:
        for event in node_update_events(old, new):
            self.move_all_to_active_or_backoff(event, old, new)

    def on_node_delete(self, node: Obj) -> None:
        self.move_all_to_active_or_backoff(EVENT_NODE_DELETE, node, None)

    def on_assigned_pod_add(self, pod: Obj) -> None:
        self.delete_nominated_pod_if_exists(pod)
        self.move_all_to_active_or_backoff(EVENT_ASSIGNED_POD_ADD, None, pod)

    def on_assigned_pod_update(self, old: Obj, new: Obj) -> None:
        for event in assigned_pod_update_events(old, new):
            self.move_all_to_active_or_backoff(event, old, new)

    def on_assigned_pod_delete(self, pod: Obj) -> None:
        self.move_all_to_active_or_backoff(EVENT_ASSIGNED_POD_DELETE, pod, None)

    def on_unscheduled_pod_delete(self, pod: Obj) -> None:
        self.delete(pod)
        self.move_all_to_active_or_backoff(EVENT_UNSCHEDULED_POD_DELETE, pod, None)

    # --- periodic flushes -------------------------------------------------------------------

    def flush_backoff_completed(self) -> None:
        """Move pods whose back-off has expired to activeQ (upstream: every second)."""
        now = self._clock()
        while (qpi := self._backoff.peek()) is not None and self.backoff_expiry(qpi) <= now:
            self._backoff.pop()
            self._move_to_active(qpi, EVENT_BACKOFF_COMPLETE)

    def flush_unschedulable_leftover(self) -> None:
        """Move pods that waited in unschedulablePods longer than 5 minutes (every 30 s)."""
        now = self._clock()
        stale = [q for q in self._unschedulable.values()
                 if now - q.timestamp > self.max_in_unschedulable]
        if stale:
            self._move_pods(stale, EVENT_UNSCHEDULABLE_TIMEOUT, None, None)

    def flush(self) -> None:
        self.flush_backoff_completed()
        self.flush_unschedulable_leftover()

    # --- nominator --------------------------------------------------------------------------

    def add_nominated_pod(self, pod: PodInfo, nominating_info: NominatingInfo | None) -> None:
        """Record where the pod is nominated; None keeps status.nominatedNodeName (ModeNoop)."""
        self.delete_nominated_pod_if_exists(pod)
        if nominating_info is not None and nominating_info.mode == MODE_OVERRIDE:
            node = nominating_info.nominated_node_name
        else:
            node = (pod.pod.get("status") or {}).get("nominatedNodeName") or ""
        if not node or pod.node_name:
            return
        self._nominated_node[pod.key] = node
        self._nominated.setdefault(node, []).append(pod)

    def delete_nominated_pod_if_exists(self, pod: Obj | PodInfo) -> None:
        key = pod.key if isinstance(pod, PodInfo) else pod_key(pod)
        node = self._nominated_node.pop(key, None)
        if node is None:
            return
        remaining = [p for p in self._nominated.get(node, ()) if p.key != key]
        if remaining:
            self._nominated[node] = remaining
        else:
            self._nominated.pop(node, None)

    def _update_nominated(self, old: Obj | None, info: PodInfo) -> None:
        """Follow status.nominatedNodeName changes; keep an in-memory nomination the API
        has not caught up with yet (neither version carries one)."""
        def nominated(pod: Obj | None) -> str:
            return ((pod or {}).get("status") or {}).get("nominatedNodeName") or ""

        keep = None
        if not nominated(old) and not nominated(info.pod) and info.key in self._nominated_node:
            keep = NominatingInfo(self._nominated_node[info.key], MODE_OVERRIDE)
        self.add_nominated_pod(info, keep)

    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]:
        return list(self._nominated.get(node_name, ()))

    def nominated_node(self, pod: Obj | PodInfo) -> str | None:
        key = pod.key if isinstance(pod, PodInfo) else pod_key(pod)
        return self._nominated_node.get(key)
