"""What to do after a webhook attempt: done, retry later, or give up.

Success is any 2xx. Timeouts, connection errors, 5xx, 408 and 429 are transient and retried
with exponential backoff and jitter (honouring ``Retry-After``) until the budget (attempts
or time) is spent, then the delivery is ``dead``. Any other answer (3xx, other 4xx) is a
permanent ``failed``: the receiver told us the request itself is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from smsstreams.domain.retry import next_attempt

RETRYABLE_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True, slots=True)
class Outcome:
    state: str  # delivered | pending (retry) | failed | dead
    next_attempt_at: datetime | None = None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min((when - now).total_seconds(), MAX_RETRY_AFTER))


def is_transient(status_code: int | None) -> bool:
    """None means no HTTP answer at all (timeout, refused, reset)."""
    return status_code is None or status_code >= 500 or status_code in RETRYABLE_STATUS


def decide(
    *,
    status_code: int | None,
    retry_after: str | None,
    attempt: int,
    max_attempts: int,
    give_up_at: datetime,
    now: datetime,
    base: float,
    cap: float,
) -> Outcome:
    if status_code is not None and 200 <= status_code < 300:
        return Outcome("delivered")
    if not is_transient(status_code):
        return Outcome("failed")
    when = next_attempt(attempt, max_attempts, base=base, cap=cap, now=now)
    wait = parse_retry_after(retry_after, now)
    if when is not None and wait is not None:
        when = max(when, now + timedelta(seconds=wait))
    if when is None or when > give_up_at:
        return Outcome("dead")
    return Outcome("pending", when)
