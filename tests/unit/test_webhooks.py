"""Webhook signing, retry policy and destination guard (pure)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from smsstreams.webhooks import guard, policy, signing

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_signature_known_answer() -> None:
    expected = hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signing.signature("secret", 1700000000, b"{}") == f"v1={expected}"


def test_verify_checks_value_and_age() -> None:
    sig = signing.signature("s", 1000, b"body")
    assert signing.verify("s", "1000", b"body", sig, now=1100)
    assert not signing.verify("s", "1000", b"body!", sig, now=1100)
    assert not signing.verify("t", "1000", b"body", sig, now=1100)
    assert not signing.verify("s", "1000", b"body", sig, now=2000)
    assert not signing.verify("s", "soon", b"body", sig, now=1000)


def test_canonical_query_is_sorted_and_encodes() -> None:
    q = signing.canonical_query({"text": "a&b c", "from": "+1", "in_reply_to": None})
    assert q == "from=%2B1&in_reply_to=&text=a%26b+c"


def decide(
    status: int | None, attempt: int = 1, retry_after: str | None = None, **kw: object
) -> policy.Outcome:
    args: dict[str, object] = {
        "status_code": status,
        "retry_after": retry_after,
        "attempt": attempt,
        "max_attempts": 15,
        "give_up_at": NOW + timedelta(hours=24),
        "now": NOW,
        "base": 10.0,
        "cap": 3600.0,
    }
    args.update(kw)
    return policy.decide(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (301, "failed"),
        (400, "failed"),
        (401, "failed"),
        (404, "failed"),
        (408, "pending"),
        (429, "pending"),
        (500, "pending"),
        (503, "pending"),
        (None, "pending"),
    ],
)
def test_classification(status: int | None, state: str) -> None:
    assert decide(status).state == state


def test_backoff_grows_and_budget_ends_in_dead() -> None:
    first = decide(503, attempt=1).next_attempt_at
    fifth = decide(503, attempt=5).next_attempt_at
    assert first is not None and fifth is not None
    assert timedelta(seconds=7) <= first - NOW <= timedelta(seconds=13)
    assert fifth - NOW >= timedelta(seconds=100)
    assert decide(503, attempt=15).state == "dead"
    assert decide(None, give_up_at=NOW + timedelta(seconds=1)).state == "dead"


def test_retry_after_is_honoured() -> None:
    out = decide(429, retry_after="120")
    assert out.next_attempt_at is not None and out.next_attempt_at - NOW >= timedelta(seconds=120)
    date = "Fri, 27 Nov 2026 12:10:00 GMT"
    out = decide(503, retry_after=date)
    assert out.next_attempt_at == NOW + timedelta(minutes=10)
    assert policy.parse_retry_after("soon", NOW) is None
    assert policy.parse_retry_after("999999", NOW) == policy.MAX_RETRY_AFTER


@pytest.mark.parametrize(
    ("url", "blocked"),
    [
        ("https://example.com/hook", False),
        ("http://93.184.216.34/x", False),
        ("http://127.0.0.1/x", True),
        ("http://localhost:8080/x", True),
        ("http://10.0.0.1/x", True),
        ("http://192.168.1.1/x", True),
        ("http://169.254.169.254/x", True),
        ("http://[::1]/x", True),
        ("http://[fe80::1]/x", True),
        ("http://[::ffff:127.0.0.1]/x", True),
        ("ftp://example.com/x", True),
        ("/relative", True),
    ],
)
def test_guard(url: str, blocked: bool) -> None:
    assert (guard.check_url(url, allow_private=False) is not None) is blocked


def test_guard_allow_private_and_resolution() -> None:
    assert guard.check_url("http://127.0.0.1/x", allow_private=True) is None
    with pytest.raises(guard.BlockedDestination):
        guard.check_resolved("http://localhost./x", allow_private=False)
    guard.check_resolved("http://127.0.0.1:1/x", allow_private=True)
