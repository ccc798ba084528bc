"""Tests for retry backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smsstreams.domain.retry import backoff_delay, next_attempt

MID = 0.5  # rand() == 0.5 means "no jitter"


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "jitter", "rnd", "expected"),
    [
        (1, 1.0, 60.0, 0.2, MID, 1.0),
        (2, 1.0, 60.0, 0.2, MID, 2.0),
        (3, 1.0, 60.0, 0.2, MID, 4.0),
        (6, 1.0, 60.0, 0.2, MID, 32.0),
        (7, 1.0, 60.0, 0.2, MID, 60.0),  # 64 capped
        (10_000, 1.0, 60.0, 0.2, MID, 60.0),  # no overflow
        (3, 5.0, 600.0, 0.0, 0.99, 20.0),  # jitter disabled ignores rand
        (1, 10.0, 60.0, 0.2, 0.0, 8.0),  # lowest jitter: -20%
        (1, 10.0, 60.0, 0.2, 0.75, 11.0),  # +10%
        (7, 1.0, 60.0, 0.5, 0.0, 30.0),  # jitter applies after the cap
        (1, 0.0, 60.0, 0.2, 0.9, 0.0),
        (4, 2.0, 0.0, 0.2, 0.9, 0.0),
    ],
)
def test_backoff_table(
    attempt: int, base: float, cap: float, jitter: float, rnd: float, expected: float
) -> None:
    got = backoff_delay(attempt, base=base, cap=cap, jitter=jitter, rand=lambda: rnd)
    assert got == pytest.approx(expected)


def test_jitter_bounds() -> None:
    for r in (0.0, 0.25, 0.5, 0.999999):
        d = backoff_delay(4, base=1.0, cap=100.0, jitter=0.2, rand=lambda r=r: r)  # type: ignore[misc]
        assert 6.4 <= d < 9.6


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "jitter"),
    [(0, 1.0, 1.0, 0.2), (-3, 1.0, 1.0, 0.2), (1, -1.0, 1.0, 0.2), (1, 1.0, -1.0, 0.2),
     (1, 1.0, 1.0, 1.5), (1, 1.0, 1.0, -0.1)],
)  # fmt: skip
def test_backoff_rejects_bad_arguments(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    with pytest.raises(ValueError):
        backoff_delay(attempt, base=base, cap=cap, jitter=jitter)


NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempt", "max_attempts", "expected"),
    [
        (1, 5, NOW + timedelta(seconds=30)),
        (2, 5, NOW + timedelta(seconds=60)),
        (4, 5, NOW + timedelta(seconds=240)),
        (5, 5, None),
        (6, 5, None),
        (1, 1, None),
        (9, 20, NOW + timedelta(seconds=3600)),  # capped
    ],
)
def test_next_attempt_table(attempt: int, max_attempts: int, expected: datetime | None) -> None:
    got = next_attempt(attempt, max_attempts, base=30.0, cap=3600.0, now=NOW, rand=lambda: MID)
    assert got == expected
    if got is not None:
        assert got.tzinfo is UTC


def test_next_attempt_uses_jitter() -> None:
    got = next_attempt(1, 3, base=100.0, cap=1000.0, now=NOW, jitter=0.1, rand=lambda: 0.0)
    assert got == NOW + timedelta(seconds=90)
