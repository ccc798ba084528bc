"""Phone number (MSISDN) parsing and E.164 normalisation.

Recipients arrive as ``+15551234567`` or as bare digits ``15551234567`` (the commercial
API sends them that way), sometimes with spaces, dashes, dots or parentheses.  Input is
always read as an international number (country code first) and must be a valid number
according to ``phonenumbers``; the result is E.164 (``+`` followed by digits).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from smsstreams.domain.errors import ValidationFailed

FIELD: Final = "recipient_phone"
E164_MAX_DIGITS: Final = 15

_E164_RE: Final = re.compile(r"\+[1-9][0-9]{1,14}")
# Separators people type inside numbers; deleted before parsing.
_SEPARATORS: Final = str.maketrans("", "", " \t\u00a0-.()")

_POSSIBLE_REASONS: Final[dict[int, str]] = {
    ValidationResult.INVALID_COUNTRY_CODE: "does not start with a known country code",
    ValidationResult.TOO_SHORT: "is too short for its country code",
    ValidationResult.TOO_LONG: "is too long for its country code",
    ValidationResult.INVALID_LENGTH: "has an invalid length for its country code",
}
_PARSE_REASONS: Final[dict[int, str]] = {
    NumberParseException.INVALID_COUNTRY_CODE: "does not start with a known country code",
    NumberParseException.TOO_SHORT_NSN: "is too short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    NumberParseException.TOO_LONG: "is too long",
    # Input reaching the parser is digits only, so this can only mean "too few digits".
    NumberParseException.NOT_A_NUMBER: "is too short",
}


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed("invalid_phone", message, FIELD)


def is_e164(s: str) -> bool:
    """True when ``s`` has E.164 shape (``+``, no leading zero, 2-15 digits).

    A syntactic check only; it does not tell whether the number is assigned.
    """
    return _E164_RE.fullmatch(s) is not None


@lru_cache(maxsize=8192)
def _check(digits: str) -> tuple[bool, str]:
    """``(True, e164)`` or ``(False, reason)`` for a digit string (country code first)."""
    shown = "+" + digits
    try:
        num = phonenumbers.parse(shown, None)
    except NumberParseException as exc:
        return False, f"{shown} {_PARSE_REASONS.get(exc.error_type, 'is not a phone number')}"
    reason = phonenumbers.is_possible_number_with_reason(num)
    if reason in _POSSIBLE_REASONS:
        return False, f"{shown} {_POSSIBLE_REASONS[reason]}"
    if not phonenumbers.is_valid_number(num):
        cc = num.country_code or 0  # always set after parsing an international number
        region = phonenumbers.region_code_for_country_code(cc)
        where = f"country code +{cc}"
        if region not in ("ZZ", "001"):
            where += f" ({region})"
        return False, f"{shown} is not a valid number for {where}"
    return True, phonenumbers.format_number(num, PhoneNumberFormat.E164)


def parse_msisdn(raw: str) -> str:
    """Parse a recipient number and return it in E.164 form (``+`` and digits).

    Accepts an optional leading ``+`` and ignores spaces, dashes, dots and parentheses.
    Raises :class:`ValidationFailed` (code ``invalid_phone``, field ``recipient_phone``)
    with a human-readable reason.
    """
    s = raw.strip().translate(_SEPARATORS)
    if not s:
        raise _fail("Phone number is empty")
    digits = s[1:] if s[0] == "+" else s
    if not digits:
        raise _fail(f"Phone number {raw.strip()!r} has no digits")
    if not (digits.isascii() and digits.isdigit()):
        raise _fail(
            f"Phone number {raw.strip()!r} must contain only digits, optionally after a "
            "leading '+' (spaces, dashes, dots and parentheses are ignored)"
        )
    if len(digits) > E164_MAX_DIGITS:
        raise _fail(
            f"Phone number +{digits} is too long: international numbers have at most "
            f"{E164_MAX_DIGITS} digits, got {len(digits)}"
        )
    if digits[0] == "0":
        raise _fail(
            f"Phone number {digits} must start with a country code; country codes never "
            "start with 0 (drop the international prefix '00')"
        )
    ok, result = _check(digits)
    if not ok:
        raise _fail(f"Phone number {result}")
    return result
