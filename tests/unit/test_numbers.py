"""Tests for MSISDN parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsstreams.domain.errors import DomainError, ValidationFailed
from smsstreams.domain.numbers import is_e164, parse_msisdn


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+12025550123", "+12025550123"),
        ("12025550123", "+12025550123"),
        (" +1 (202) 555-0123 ", "+12025550123"),
        ("1.202.555.0123", "+12025550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+44 (0)20 7946 0958", "+442079460958"),  # national trunk prefix dropped
        ("4915123456789", "+4915123456789"),
        ("+6837012", "+6837012"),  # Niue: short but valid
    ],
)
def test_valid_numbers(raw: str, expected: str) -> None:
    assert parse_msisdn(raw) == expected
    assert is_e164(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("+", "no digits"),
        ("abc", "only digits"),
        ("+1202x5550123", "only digits"),
        ("+1 202 555 0123 ext 4", "only digits"),
        ("+٣٣٣٣٣٣٣٣", "only digits"),  # non-ASCII digits
        ("1", "too short"),
        ("1234567890123456", "at most 15 digits"),
        ("0044 20 7946 0958", "country code"),
        ("999123456", "known country code"),
        ("+15551234567", "not a valid number for country code +1 (US)"),
        ("+4420794609581", "too long"),
        ("+882123", "too short"),
    ],
)
def test_invalid_numbers(raw: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_msisdn(raw)
    err = info.value
    assert isinstance(err, DomainError)
    assert err.code == "invalid_phone"
    assert err.field == "recipient_phone"
    assert reason in err.message


def test_cached_result_still_raises_every_time() -> None:
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            parse_msisdn("+15551234567")
        assert parse_msisdn("+12025550123") == "+12025550123"


@pytest.mark.parametrize(
    ("s", "expected"),
    [("+12025550123", True), ("+15551234567", True), ("12025550123", False),
     ("+0123", False), ("+1", False), ("+12", True), ("+1234567890123456", False),
     ("+1 202", False), ("+12025550123\n", False), ("+١٢٣", False), ("", False)],
)  # fmt: skip
def test_is_e164(s: str, expected: bool) -> None:
    assert is_e164(s) is expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=25))
def test_parse_never_crashes_and_output_is_e164(raw: str) -> None:
    try:
        out = parse_msisdn(raw)
    except ValidationFailed as err:
        assert err.code == "invalid_phone"
        assert err.message
    else:
        assert is_e164(out)
        assert parse_msisdn(out) == out
