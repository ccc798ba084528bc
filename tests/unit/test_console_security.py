"""CSRF tokens, sign-in throttling, the sign-in redirect target and the session secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from smsstreams.console.security import (
    LoginThrottle,
    csrf_matches,
    load_secret_key,
    new_csrf_token,
    safe_next,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_csrf_tokens_are_random_and_compared_exactly() -> None:
    a, b = new_csrf_token(), new_csrf_token()
    assert a != b and len(a) >= 40
    assert csrf_matches(a, a)
    assert not csrf_matches(a, b)
    assert not csrf_matches(a, a[:-1])
    assert not csrf_matches(a, None)
    assert not csrf_matches(None, a)
    assert not csrf_matches("", "")


def test_five_failures_block_that_email_from_that_ip_until_the_window_passes() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=5, window=900, clock=clock)
    for _ in range(4):
        throttle.failed("a@x.test", "10.0.0.1")
        assert throttle.retry_after("a@x.test", "10.0.0.1") is None
    clock.now += 60
    throttle.failed("A@X.test ", "10.0.0.1")  # same email, other spelling
    wait = throttle.retry_after("a@x.test", "10.0.0.1")
    assert wait == pytest.approx(840)  # the oldest failure leaves the window in 14 minutes
    assert throttle.retry_after("a@x.test", "10.0.0.2") is None  # other IP
    assert throttle.retry_after("b@x.test", "10.0.0.1") is None  # other email
    clock.now += 840
    assert throttle.retry_after("a@x.test", "10.0.0.1") is None


def test_success_clears_the_pair() -> None:
    throttle = LoginThrottle(max_failures=2, clock=Clock())
    throttle.failed("a@x.test", "ip")
    throttle.succeeded("a@x.test", "ip")
    throttle.failed("a@x.test", "ip")
    assert throttle.retry_after("a@x.test", "ip") is None


def test_one_ip_trying_many_emails_is_blocked_too() -> None:
    throttle = LoginThrottle(max_failures=5, max_ip_failures=10, clock=Clock())
    for i in range(10):
        throttle.failed(f"user{i}@x.test", "10.0.0.9")
    assert throttle.retry_after("someone-else@x.test", "10.0.0.9") is not None
    assert throttle.retry_after("someone-else@x.test", "10.0.0.10") is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/streams/abc", "/streams/abc"),
        ("/sender-ids?x=1", "/sender-ids?x=1"),
        ("", "/streams"),
        (None, "/streams"),
        ("//evil.example/path", "/streams"),
        ("https://evil.example/", "/streams"),
        ("/\\evil.example", "/streams"),
        ("streams", "/streams"),
    ],
)
def test_safe_next_stays_on_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_secret_key_configured_wins(tmp_path: Path) -> None:
    assert load_secret_key("configured", tmp_path) == "configured"
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = load_secret_key("", data)
    path = data / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 48
    assert load_secret_key("", data) == first  # survives a restart
