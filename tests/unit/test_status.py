"""Tests for the message status state machine."""

from __future__ import annotations

import itertools

import pytest

from smsstreams.domain.errors import DomainError
from smsstreams.domain.status import (
    FINAL,
    IllegalTransition,
    Status,
    can_transition,
    check_transition,
    describe,
    describe_error,
    is_final,
    sources_for,
)

S = Status
ALLOWED = {
    (S.QUEUED, S.SENT),
    (S.QUEUED, S.SENT_FAILED),
    (S.QUEUED, S.NO_ROUTES),
    (S.QUEUED, S.DELIVERED),
    (S.QUEUED, S.UNDELIVERED),
    (S.QUEUED, S.EXPIRED),
    (S.QUEUED, S.REJECTED),
    (S.SENT, S.DELIVERED),
    (S.SENT, S.UNDELIVERED),
    (S.SENT, S.EXPIRED),
    (S.SENT, S.REJECTED),
}


def test_values() -> None:
    assert [s.value for s in Status] == [
        "queued", "sent", "delivered", "undelivered", "expired", "rejected", "sent_failed",
        "no_routes",
    ]  # fmt: skip
    assert Status("sent") is S.SENT
    assert S.SENT == "sent"


def test_final_set() -> None:
    assert {S.DELIVERED, S.UNDELIVERED, S.EXPIRED, S.REJECTED, S.SENT_FAILED, S.NO_ROUTES} == FINAL
    assert not is_final(S.QUEUED) and not is_final(S.SENT)
    assert all(is_final(s) for s in FINAL)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(Status, Status)))
def test_transition_table(a: Status, b: Status) -> None:
    allowed = (a, b) in ALLOWED
    assert can_transition(a, b) is allowed
    if allowed:
        check_transition(a, b)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(a, b)
        assert isinstance(info.value, DomainError)
        assert info.value.code == "illegal_transition"
        assert a.value in info.value.message and b.value in info.value.message


def test_finals_are_final_and_no_self_loops() -> None:
    for final in FINAL:
        assert not any(can_transition(final, t) for t in Status)
    assert not can_transition(S.QUEUED, S.QUEUED)
    assert not can_transition(S.SENT, S.QUEUED)
    assert not can_transition(S.SENT, S.SENT_FAILED)


def test_sources_for() -> None:
    assert sources_for(S.DELIVERED) == {S.QUEUED, S.SENT}
    assert sources_for(S.SENT) == {S.QUEUED}
    assert sources_for(S.NO_ROUTES) == {S.QUEUED}
    assert sources_for(S.QUEUED) == frozenset()
    for target in Status:
        assert sources_for(target) == {a for a, b in ALLOWED if b == target}


def test_describe() -> None:
    assert describe(S.NO_ROUTES) == "No carrier route serves this destination"
    assert describe(S.UNDELIVERED) == "The handset could not be reached"
    assert describe(S.EXPIRED) == "No delivery receipt within the validity period"
    for s in Status:
        assert describe(s)
    assert describe_error("rejected") == describe(S.REJECTED)
    assert describe_error("sent_failed")
    assert describe_error("nope") is None
