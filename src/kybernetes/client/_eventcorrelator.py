"""Event correlation, pure: decide for each new Event whether to create, patch or drop it.

client-go tools/record/events_cache.go, with time passed in:

1. Spam filter: per source + involved object, a token bucket (burst 25,
   refilled by one token every 5 minutes); an event finding it empty is dropped.
2. Aggregation: events alike but for their message (same source, object,
   type, reason) are counted per 10-minute window; from the 10th distinct
   message on, they are folded into one event whose message starts with
   "(combined from similar events): ".
3. Deduplication: an event identical to one seen in the last 10 minutes (same
   source, object, type, reason, message) does not create an object: the
   earlier Event is PATCHed with count+1 and a new lastTimestamp.

The caches are LRUs of 4096 entries, as upstream.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple

from kybernetes.client._ratelimit import TokenBucket

Obj = dict[str, Any]

AGGREGATE_PREFIX = "(combined from similar events): "
CREATE, PATCH, DROP = "create", "patch", "drop"


class Decision(NamedTuple):
    action: str  # CREATE, PATCH or DROP
    event: Obj  # the Event to create (or as it will be after the patch)
    patch: Obj | None = None  # for PATCH: a strategic merge patch of the existing Event


@dataclass
class _Seen:
    name: str
    count: int
    first_timestamp: str
    last_seen: float


@dataclass
class _Similar:
    messages: set[str]
    started: float


class _Lru(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def _object_key(event: Obj) -> tuple[str, ...]:
    source = event.get("source") or {}
    ref = event.get("involvedObject") or {}
    return (source.get("component", ""), source.get("host", ""), ref.get("kind", ""),
            ref.get("namespace", ""), ref.get("name", ""), ref.get("uid", ""),
            ref.get("apiVersion", ""), ref.get("fieldPath", ""))


def _join(parts: tuple[str, ...]) -> str:
    return "\x00".join(str(p) for p in parts)


class EventCorrelator:
    """Feed every new Event to `observe(event, now)`; `now` is monotonic seconds."""

    def __init__(self, *, window_seconds: float = 600.0, max_similar: int = 10,
                 spam_burst: int = 25, spam_qps: float = 1.0 / 300.0,
                 cache_size: int = 4096) -> None:
        self.window = window_seconds
        self.max_similar = max_similar
        self.spam_burst = spam_burst
        self.spam_qps = spam_qps
        self._spam: _Lru = _Lru(cache_size)
        self._similar: _Lru = _Lru(cache_size)
        self._seen: _Lru = _Lru(cache_size)

    def observe(self, event: Obj, now: float) -> Decision:
        base = _object_key(event)
        if not self._allow(_join(base), now):
            return Decision(DROP, event)
        event, dedup_key = self._aggregate(event, base, now)
        return self._dedup(event, dedup_key, now)

    def _allow(self, key: str, now: float) -> bool:
        bucket = self._spam.get(key)
        if bucket is None:
            bucket = TokenBucket(qps=self.spam_qps, burst=self.spam_burst, now=now)
        self._spam.put(key, bucket)
        return bucket.try_take(now)

    def _aggregate(self, event: Obj, base: tuple[str, ...], now: float) -> tuple[Obj, str]:
        group = _join((*base, event.get("type", ""), event.get("reason", "")))
        message = str(event.get("message", ""))
        similar = self._similar.get(group)
        if similar is None or now - similar.started > self.window:
            similar = _Similar(set(), now)
        similar.messages.add(message)
        self._similar.put(group, similar)
        if len(similar.messages) < self.max_similar:
            return event, _join((group, message))
        combined = {**event, "message": AGGREGATE_PREFIX + message}
        return combined, group  # every similar event now counts on one object

    def _dedup(self, event: Obj, key: str, now: float) -> Decision:
        seen = self._seen.get(key)
        if seen is not None and now - seen.last_seen <= self.window:
            seen.count += 1
            seen.last_seen = now
            self._seen.put(key, seen)
            updated = {**event, "count": seen.count, "firstTimestamp": seen.first_timestamp,
                       "metadata": {**(event.get("metadata") or {}), "name": seen.name}}
            patch = {"count": seen.count, "lastTimestamp": event.get("lastTimestamp"),
                     "message": event.get("message")}
            return Decision(PATCH, updated, patch)
        self._seen.put(key, _Seen(name=event["metadata"]["name"], count=1,
                                  first_timestamp=str(event.get("firstTimestamp") or ""),
                                  last_seen=now))
        return Decision(CREATE, event)
