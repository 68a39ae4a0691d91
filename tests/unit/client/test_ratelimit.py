"""Pure rate-limit cores: token bucket (reserve and try), back-off; error predicates."""

from __future__ import annotations

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.client import (
    TransportError,
    is_already_exists,
    is_conflict,
    is_gone,
    is_not_found,
    is_too_many_requests,
)
from kybernetes.client._errors import error_from_response
from kybernetes.client._ratelimit import Backoff, TokenBucket


def test_bucket_reservations_queue_up_behind_the_debt() -> None:
    bucket = TokenBucket(qps=10, burst=2, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == pytest.approx([0, 0, 0.1, 0.2])
    # A second later the debt (2 tokens) is paid and 8 more came in, capped at burst.
    assert bucket.tokens(1.0) == pytest.approx(2.0)


def test_bucket_refill_is_capped_at_burst() -> None:
    bucket = TokenBucket(qps=1, burst=3, now=0.0)
    for _ in range(3):
        assert bucket.try_take(0.0)
    assert not bucket.try_take(0.5)
    assert bucket.try_take(1.0)
    assert bucket.tokens(100.0) == 3


def test_unlimited_bucket() -> None:
    bucket = TokenBucket(qps=0, burst=0)
    assert all(bucket.reserve(0.0) == 0 for _ in range(1000))


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial=0.5, cap=3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_backoff_jitter_stays_within_its_fraction() -> None:
    backoff = Backoff(initial=1.0, cap=100.0, jitter=0.5)
    for expected in (1, 2, 4, 8):
        assert expected <= backoff.next() <= expected * 1.5


E = StatusError


@pytest.mark.parametrize(("err", "predicate", "expected"), [
    (E(404, "NotFound", "x"), is_not_found, True),
    (E(404, "", "x"), is_not_found, True),
    (E(409, "Conflict", "x"), is_conflict, True),
    (E(409, "AlreadyExists", "x"), is_conflict, False),
    (E(409, "AlreadyExists", "x"), is_already_exists, True),
    (E(410, "Expired", "x"), is_gone, True),
    (E(410, "Gone", "x"), is_gone, True),
    (E(429, "TooManyRequests", "x"), is_too_many_requests, True),
    (TransportError("x"), is_not_found, False),
    (ValueError("x"), is_conflict, False),
], ids=lambda v: getattr(v, "__name__", None) or repr(v)[:30])
def test_predicates(err: BaseException, predicate: object, expected: bool) -> None:
    assert predicate(err) is expected  # type: ignore[operator]


def test_error_from_status_body_keeps_details() -> None:
    body = (b'{"kind":"Status","code":422,"reason":"Invalid","message":"bad",'
            b'"details":{"name":"a","kind":"pods","causes":[{"reason":"FieldValueRequired",'
            b'"message":"Required value","field":"spec.containers"}]}}')
    err = error_from_response(422, body)
    assert (err.code, err.reason, err.name, err.kind) == (422, "Invalid", "a", "pods")
    assert err.causes[0].field == "spec.containers"


def test_error_retry_after_comes_from_the_header() -> None:
    err = error_from_response(429, b"", retry_after=3)
    assert (err.reason, err.retry_after_seconds) == ("TooManyRequests", 3)
