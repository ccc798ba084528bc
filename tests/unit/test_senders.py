"""Tests for sender ID validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsstreams.domain.errors import ValidationFailed
from smsstreams.domain.senders import SenderKind, can_receive_replies, validate_sender


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ACME", ("ACME", "alphanumeric")),
        ("  ACME Ltd ", ("ACME Ltd", "alphanumeric")),
        ("A", ("A", "alphanumeric")),
        ("Shop 24 7", ("Shop 24 7", "alphanumeric")),
        ("abcdefghijk", ("abcdefghijk", "alphanumeric")),  # exactly 11
        ("1a", ("1a", "alphanumeric")),
        ("+12025550123", ("12025550123", "numeric")),
        ("12025550123", ("12025550123", "numeric")),
        ("7", ("7", "numeric")),
        ("123456789012345", ("123456789012345", "numeric")),  # exactly 15
        (" +44 ", ("44", "numeric")),
    ],
)
def test_valid_senders(value: str, expected: tuple[str, SenderKind]) -> None:
    assert validate_sender(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("+", "digits only"),
        ("+ACME", "digits only"),
        ("+1 202", "digits only"),
        ("1234567890123456", "16 digits; the maximum is 15"),
        ("abcdefghijkl", "12 characters; the maximum is 11"),
        ("Hello!", "contains '!'"),
        ("Café", "contains 'é'"),
        ("ACME_Ltd", "contains '_'"),
        ("ACME\tLtd", "contains '\\t'"),
        ("123 456", "no letter"),
        ("١٢٣", "contains"),  # non-ASCII digits are neither numeric nor alphanumeric
    ],
)
def test_invalid_senders(value: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_sender(value)
    assert info.value.code == "invalid_sender"
    assert info.value.field == "value"
    assert reason in info.value.message


def test_replies_only_for_numeric() -> None:
    assert can_receive_replies("numeric") is True
    assert can_receive_replies("alphanumeric") is False


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_result_is_normalised_and_idempotent(value: str) -> None:
    try:
        norm, kind = validate_sender(value)
    except ValidationFailed:
        return
    assert norm == norm.strip() and norm
    assert validate_sender(norm) == (norm, kind)
    if kind == "numeric":
        assert norm.isascii() and norm.isdigit() and len(norm) <= 15
    else:
        assert len(norm) <= 11 and any(c.isalpha() for c in norm)
