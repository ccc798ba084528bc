"""Outbound message statuses and the transitions allowed between them.

``queued`` -> ``sent`` when the carrier accepts the message, or straight to a failure
(``sent_failed``, ``no_routes``).  A delivery receipt moves ``sent`` to ``delivered``,
``undelivered``, ``expired`` or ``rejected``; the receipt may race ahead of our own
``sent`` bookkeeping, so those moves are also allowed from ``queued``.  Final statuses
never change.  Re-queueing a message for a later retry is not a status transition.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final

from smsstreams.domain.errors import DomainError


class Status(StrEnum):
    """Lifecycle status of an outbound message (values are stored and sent as-is)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    SENT_FAILED = "sent_failed"
    NO_ROUTES = "no_routes"


class IllegalTransition(DomainError):
    """A status change the state machine forbids (HTTP 409)."""

    http_status = 409

    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(
            "illegal_transition",
            f"A message in status {str(current)!r} cannot move to {str(target)!r}",
        )
        self.current = current
        self.target = target


_RECEIPT_OUTCOMES: Final = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.EXPIRED, Status.REJECTED}
)

#: Statuses that never change again.
FINAL: Final[frozenset[Status]] = _RECEIPT_OUTCOMES | {Status.SENT_FAILED, Status.NO_ROUTES}

#: Outcomes that mean the message did not reach the handset.
FAILED: Final[frozenset[Status]] = FINAL - {Status.DELIVERED}

TRANSITIONS: Final[MappingProxyType[Status, frozenset[Status]]] = MappingProxyType(
    {
        Status.QUEUED: _RECEIPT_OUTCOMES | {Status.SENT, Status.SENT_FAILED, Status.NO_ROUTES},
        Status.SENT: _RECEIPT_OUTCOMES,
        **{s: frozenset[Status]() for s in FINAL},
    }
)

_SOURCES: Final[MappingProxyType[Status, frozenset[Status]]] = MappingProxyType(
    {t: frozenset(s for s, targets in TRANSITIONS.items() if t in targets) for t in Status}
)

#: What each failure means, keyed by the error code reported for failed messages.
ERROR_DESCRIPTIONS: Final[MappingProxyType[str, str]] = MappingProxyType(
    {
        "no_routes": "No carrier route serves this destination",
        "sent_failed": "The carrier refused the message when we submitted it",
        "undelivered": "The handset could not be reached",
        "expired": "No delivery receipt within the validity period",
        "rejected": "The carrier or handset network rejected the message",
    }
)

STATUS_DESCRIPTIONS: Final[MappingProxyType[Status, str]] = MappingProxyType(
    {
        Status.QUEUED: "Accepted and waiting to be handed to a carrier",
        Status.SENT: "Handed to the carrier; waiting for a delivery receipt",
        Status.DELIVERED: "Delivered to the handset",
        **{Status(code): text for code, text in ERROR_DESCRIPTIONS.items()},
    }
)


def is_final(status: Status) -> bool:
    """True when ``status`` can never change again."""
    return status in FINAL


def can_transition(current: Status, target: Status) -> bool:
    """True when a message may move from ``current`` to ``target``."""
    return target in TRANSITIONS[current]


def check_transition(current: Status, target: Status) -> None:
    """Raise :class:`IllegalTransition` unless ``current`` -> ``target`` is allowed."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def sources_for(target: Status) -> frozenset[Status]:
    """Statuses from which ``target`` is reachable (for ``WHERE status IN (...)``)."""
    return _SOURCES[target]


def describe(status: Status) -> str:
    """Human-readable description of ``status``."""
    return STATUS_DESCRIPTIONS[status]


def describe_error(code: str) -> str | None:
    """Description of a failure error code, or None when the code is unknown."""
    return ERROR_DESCRIPTIONS.get(code)
