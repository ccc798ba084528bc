"""Sender ID rules.

A sender ID is either *numeric* (a phone number or short code: 1-15 digits, an optional
leading ``+`` is dropped) or *alphanumeric* (1-11 characters from ``A-Z a-z 0-9`` and
space, with at least one letter).  Only numeric senders can receive replies.
"""

from __future__ import annotations

from typing import Final, Literal

from smsstreams.domain.errors import ValidationFailed

SenderKind = Literal["alphanumeric", "numeric"]

FIELD: Final = "value"
NUMERIC_MAX_DIGITS: Final = 15
ALPHANUMERIC_MAX_CHARS: Final = 11

_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ALPHANUMERIC_CHARS: Final = _LETTERS | frozenset("0123456789 ")


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed("invalid_sender", message, FIELD)


def _is_ascii_digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def validate_sender(value: str) -> tuple[str, SenderKind]:
    """Validate and normalise a sender ID; return ``(normalised, kind)``.

    Outer whitespace is stripped.  All-digit values (optionally ``+``-prefixed, the ``+``
    is dropped) are numeric; anything else must be a valid alphanumeric sender ID.
    Raises :class:`ValidationFailed` (code ``invalid_sender``, field ``value``).
    """
    v = value.strip()
    if not v:
        raise _fail("Sender ID is empty")
    if v[0] == "+":
        digits = v[1:]
        if not _is_ascii_digits(digits):
            raise _fail(
                f"Sender ID {v!r} starts with '+' so it must be a phone number, "
                "but it does not continue with digits only"
            )
        v = digits
    if _is_ascii_digits(v):
        if len(v) > NUMERIC_MAX_DIGITS:
            raise _fail(
                f"Numeric sender ID has {len(v)} digits; the maximum is {NUMERIC_MAX_DIGITS}"
            )
        return v, "numeric"
    if not _ALPHANUMERIC_CHARS.issuperset(v):
        bad = next(c for c in v if c not in _ALPHANUMERIC_CHARS)
        raise _fail(
            f"Sender ID {v!r} contains {bad!r}; alphanumeric sender IDs may only use "
            "A-Z, a-z, 0-9 and space"
        )
    if len(v) > ALPHANUMERIC_MAX_CHARS:
        raise _fail(
            f"Alphanumeric sender ID {v!r} has {len(v)} characters; "
            f"the maximum is {ALPHANUMERIC_MAX_CHARS}"
        )
    if _LETTERS.isdisjoint(v):
        raise _fail(
            f"Sender ID {v!r} has no letter; alphanumeric sender IDs need at least one "
            "letter and numeric sender IDs may contain digits only (no spaces)"
        )
    return v, "alphanumeric"


def can_receive_replies(kind: SenderKind) -> bool:
    """Only numeric senders can be replied to; alphanumeric ones are one-way."""
    return kind == "numeric"
