"""Retry scheduling: capped exponential backoff with jitter.

``attempt`` is the 1-based number of the attempt that just failed: after attempt 1 the
delay is about ``base``, after attempt 2 about ``2 * base``, and so on up to ``cap``; the
capped delay is then spread by ``± jitter`` (a fraction) to avoid retry storms.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

# Beyond this many doublings any realistic base exceeds any realistic cap; also keeps
# 2 ** (attempt - 1) from overflowing a float.
_MAX_DOUBLINGS = 64


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: float = 0.2,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (>= 1).

    ``min(cap, base * 2 ** (attempt - 1))`` scaled by a uniform factor in
    ``[1 - jitter, 1 + jitter)``; ``rand`` returns a float in ``[0, 1)``.  The jittered
    value may exceed ``cap`` by up to ``jitter * cap``.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if base < 0 or cap < 0:
        raise ValueError(f"base and cap must not be negative, got base={base}, cap={cap}")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be between 0 and 1, got {jitter}")
    doublings = attempt - 1
    delay = cap if doublings >= _MAX_DOUBLINGS else min(cap, base * (1 << doublings))
    if jitter:
        delay *= 1 + jitter * (2 * rand() - 1)
    return max(0.0, delay)


def next_attempt(
    attempt: int,
    max_attempts: int,
    *,
    base: float,
    cap: float,
    now: datetime,
    jitter: float = 0.2,
    rand: Callable[[], float] = random.random,
) -> datetime | None:
    """When to run the attempt after failed attempt ``attempt``; None means give up.

    Gives up once ``attempt >= max_attempts``.
    """
    if attempt >= max_attempts:
        return None
    delay = backoff_delay(attempt, base=base, cap=cap, jitter=jitter, rand=rand)
    return now + timedelta(seconds=delay)
