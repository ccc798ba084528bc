"""Tests for the client's pure timing helpers: token bucket and reconnect backoff."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsstreams.smpp.client import TokenBucket, backoff_delay


def test_token_bucket_allows_the_burst_then_paces() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take(0.0)
    assert wait == pytest.approx(0.1)
    assert bucket.take(0.05) == pytest.approx(0.05)  # nothing was taken by asking
    assert bucket.take(0.1) == 0.0
    assert bucket.take(0.1) > 0


@given(
    rate=st.floats(1, 1000),
    times=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=200),
)
def test_token_bucket_never_exceeds_rate_plus_burst(rate: float, times: list[float]) -> None:
    bucket = TokenBucket(rate=rate, burst=2, now=0.0)
    times.sort()
    granted = sum(1 for t in times if bucket.take(t) == 0.0)
    assert granted <= 2 + rate * times[-1] + 1e-6


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)


def test_backoff_grows_exponentially_to_the_cap_with_jitter() -> None:
    assert backoff_delay(0, 0.5, 30, rand=lambda: 0.0) == 0.25
    assert backoff_delay(0, 0.5, 30, rand=lambda: 0.999999) == pytest.approx(0.5)
    assert backoff_delay(3, 0.5, 30, rand=lambda: 0.0) == 2.0
    assert backoff_delay(10, 0.5, 30, rand=lambda: 0.0) == 15.0
    assert backoff_delay(10_000, 0.5, 30, rand=lambda: 0.999999) == pytest.approx(30)


@given(attempt=st.integers(0, 100), r=st.floats(0, 0.999999))
def test_backoff_stays_within_bounds(attempt: int, r: float) -> None:
    delay = backoff_delay(attempt, 0.1, 10, rand=lambda: r)
    assert 0.05 <= delay <= 10
