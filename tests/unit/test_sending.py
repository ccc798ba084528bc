"""The pure per-message checks of the Send API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smsstreams.domain.ipallow import IpAllowlist
from smsstreams.services.sending import Accepted, Rejected, prepare
from smsstreams.services.token_cache import StreamAuth

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def auth(default_sender: str | None = None, demo: bool = True) -> StreamAuth:
    return StreamAuth(
        stream_id="s1",
        account_id=1,
        token_hash="h",
        state="active",
        demo=demo,
        direction="one_way",
        allowlist=IpAllowlist(["127.0.0.1"]),
        default_sender=default_sender,
        account_senders=frozenset({"Acme", "12025550100"}),
    )


def run(
    item: object, a: StreamAuth | None = None, max_segments: int = 10
) -> dict[str, object] | Rejected:
    return prepare(
        a or auth("Acme"), item, now=NOW, validity=timedelta(hours=1), max_segments=max_segments
    )


def error_code(result: object) -> str:
    assert isinstance(result, Rejected), result
    return result.error.code


def test_valid_message_becomes_a_queued_row() -> None:
    row = run({"internal_id": "a", "recipient_phone": "+1 (202) 555-0123", "message_content": "Hi"})
    assert isinstance(row, dict)
    assert row["recipient"] == "+12025550123" and row["sender"] == "Acme"
    assert (row["status"], row["encoding"], row["segments"], row["channel"]) == (
        "queued",
        "gsm7",
        1,
        "demo",
    )
    assert row["expires_at"] == NOW + timedelta(hours=1) and row["next_attempt_at"] == NOW


def test_numeric_internal_id_and_phone_are_accepted() -> None:
    row = run({"internal_id": 42, "recipient_phone": 12025550123, "message_content": "x"})
    assert isinstance(row, dict) and row["internal_id"] == "42"


def test_non_demo_stream_has_no_channel_yet() -> None:
    row = run({"recipient_phone": "12025550123", "message_content": "x"}, auth("Acme", demo=False))
    assert isinstance(row, dict) and row["channel"] is None


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ("text", "invalid_message", "messages"),
        (
            {"internal_id": "", "recipient_phone": "12025550123", "message_content": "x"},
            "invalid_internal_id",
            "internal_id",
        ),
        (
            {"internal_id": "x" * 101, "recipient_phone": "12025550123", "message_content": "x"},
            "invalid_internal_id",
            "internal_id",
        ),
        (
            {"internal_id": True, "recipient_phone": "12025550123", "message_content": "x"},
            "invalid_internal_id",
            "internal_id",
        ),
        ({"recipient_phone": None, "message_content": "x"}, "invalid_phone", "recipient_phone"),
        (
            {"recipient_phone": "15551234567", "message_content": "x"},
            "invalid_phone",
            "recipient_phone",
        ),
        (
            {"recipient_phone": "12025550123", "message_content": ""},
            "empty_message",
            "message_content",
        ),
        (
            {"recipient_phone": "12025550123", "message_content": 5},
            "empty_message",
            "message_content",
        ),
        (
            {"recipient_phone": "12025550123", "message_content": "a\x00b"},
            "invalid_message_content",
            "message_content",
        ),
        (
            {"internal_id": "a\x00", "recipient_phone": "12025550123", "message_content": "x"},
            "invalid_internal_id",
            "internal_id",
        ),
        (
            {"recipient_phone": "12025550123", "message_content": "a\ud800b"},
            "invalid_message_content",
            "message_content",
        ),
        (
            {"internal_id": "\udc00", "recipient_phone": "12025550123", "message_content": "x"},
            "invalid_internal_id",
            "internal_id",
        ),
        (
            {"recipient_phone": "12025550123", "message_content": "x", "sender": "Other"},
            "sender_not_allowed",
            "sender",
        ),
        (
            {"recipient_phone": "12025550123", "message_content": "x", "sender": 7},
            "invalid_sender",
            "sender",
        ),
    ],
)
def test_each_rule_has_its_own_error(item: object, code: str, field: str) -> None:
    result = run(item)
    assert error_code(result) == code
    assert isinstance(result, Rejected) and result.error.field == field


def test_customized_stream_needs_a_known_sender() -> None:
    customized = auth(None)
    base = {"recipient_phone": "12025550123", "message_content": "x"}
    assert error_code(run(base, customized)) == "sender_required"
    assert error_code(run({**base, "sender": "Nope"}, customized)) == "unknown_sender"
    row = run({**base, "sender": "+12025550100"}, customized)
    assert isinstance(row, dict) and row["sender"] == "12025550100"


def test_segment_maximum() -> None:
    base = {"recipient_phone": "12025550123"}
    assert isinstance(run({**base, "message_content": "a" * 306}, max_segments=2), dict)
    assert (
        error_code(run({**base, "message_content": "a" * 307}, max_segments=2))
        == "too_many_segments"
    )
    assert (
        error_code(run({**base, "message_content": "ж" * 135}, max_segments=2))
        == "too_many_segments"
    )


def test_public_shapes() -> None:
    accepted = Accepted("a", "u", "queued", "gsm7", 1)
    assert accepted.public() == {
        "internal_id": "a",
        "message_uuid": "u",
        "status": "queued",
        "encoding": "gsm7",
        "segments": 1,
    }
    assert Accepted("a", "u", "sent", "gsm7", 1, duplicate=True).public()["duplicate"] is True
    rejected = run({"recipient_phone": "1", "message_content": "x", "internal_id": "z"})
    assert isinstance(rejected, Rejected)
    assert rejected.public()["error"]["field"] == "recipient_phone"  # type: ignore[index]
