"""Delivery receipts: the standard receipt text, message-id matching, and status mapping.

The SMPP 3.4 specification (appendix B) shows the de-facto receipt text::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:...

Carriers vary it: keys in any case, ``Text:`` or ``text:``, dates with seconds, fields
missing, extra whitespace (even a line break inside ``done date``).  :func:`parse_receipt` takes
all of that.  The ``text`` field runs to the end, so it is cut off before the other keys are
looked for.

Status mapping (our statuses are those of :mod:`smsstreams.domain.status`, given here as
strings so that this module stays free of the domain layer):

=============================  ===============  =====================================
``stat`` (and aliases)         message_state    outcome
=============================  ===============  =====================================
DELIVRD, DELIVERED             2 DELIVERED      ``delivered``
UNDELIV, UNDELIVERABLE, FAILED 5 UNDELIVERABLE  ``undelivered``
EXPIRED                        3 EXPIRED        ``expired``
REJECTD, REJECTED              8 REJECTED       ``rejected``
DELETED                        4 DELETED        ``rejected`` (removed by the SMSC/operator)
UNKNOWN                        7 UNKNOWN        ``undelivered`` (final, delivery unproven)
SKIPPED                        9 SKIPPED        ``rejected``
ACCEPTD, ACCEPTED              6 ACCEPTED       None: not final
ENROUTE, SCHEDULED, BUFFERED   1, 0             None: not final
anything else                  other values     None: not final
=============================  ===============  =====================================

ACCEPTD is final in the SMPP text, but carriers mostly use it for "accepted by the SMSC", so a
later receipt (or the validity period running out) decides.  When both a ``message_state`` TLV
and a ``stat`` text are present, the TLV wins (it is not free text).

Message ids: carriers disagree on hex versus decimal between the submit_sm_resp and the
receipt (Kannel calls this ``msg-id-type``).  :func:`normalize_message_id` maps an id to a
canonical key: numeric ids become their decimal value without leading zeros; other ids are
upper-cased.  With ``id_format="auto"`` (the default) an id of only decimal digits is read as
decimal, an id with hex letters (a-f) as hex, anything else (UUIDs, ...) as an opaque string.
"auto" cannot tell that an all-digit id such as ``"1234"`` was meant as hex, so a connector
whose carrier sends hex in one place and decimal in the other must say so with ``"hex"`` /
``"decimal"`` for each side.  :func:`message_id_keys` gives every plausible key of an id for a
last-resort lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from smsstreams.smpp.pdu import DataSm, DeliverSm, MessageState, Tag

Outcome = Literal["delivered", "undelivered", "expired", "rejected"]
IdFormat = Literal["auto", "hex", "decimal", "string"]

_STAT_OUTCOMES: Final[dict[str, Outcome | None]] = {
    "DELIVRD": "delivered",
    "DELIVERED": "delivered",
    "UNDELIV": "undelivered",
    "UNDELIVERABLE": "undelivered",
    "FAILED": "undelivered",
    "UNKNOWN": "undelivered",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "REJECTED": "rejected",
    "DELETED": "rejected",
    "SKIPPED": "rejected",
    "ACCEPTD": None,
    "ACCEPTED": None,
    "ENROUTE": None,
    "SCHEDULED": None,
    "BUFFERED": None,
}

_STATE_OUTCOMES: Final[dict[int, Outcome | None]] = {
    MessageState.SCHEDULED: None,
    MessageState.ENROUTE: None,
    MessageState.DELIVERED: "delivered",
    MessageState.EXPIRED: "expired",
    MessageState.DELETED: "rejected",
    MessageState.UNDELIVERABLE: "undelivered",
    MessageState.ACCEPTED: None,
    MessageState.UNKNOWN: "undelivered",
    MessageState.REJECTED: "rejected",
    MessageState.SKIPPED: "rejected",
}

#: The receipt ``stat`` word for each message_state (what the simulator writes).
STAT_FOR_STATE: Final[dict[int, str]] = {
    MessageState.SCHEDULED: "SCHEDULED",
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
    MessageState.SKIPPED: "SKIPPED",
}
STATE_FOR_STAT: Final[dict[str, int]] = {stat: state for state, stat in STAT_FOR_STATE.items()}


def outcome_for_stat(stat: str | None) -> Outcome | None:
    """Our final status for a receipt ``stat`` word; None when not final or unknown."""
    if not stat:
        return None
    return _STAT_OUTCOMES.get(stat.strip().upper())


def outcome_for_state(state: int | None) -> Outcome | None:
    """Our final status for a ``message_state`` TLV value; None when not final or unknown."""
    if state is None:
        return None
    return _STATE_OUTCOMES.get(state)


# ------------------------------------------------------------------------------------- parsing

_TEXT_RE: Final = re.compile(r"(?:^|\s)text\s*:", re.IGNORECASE)
_FIELD_RE: Final = re.compile(
    r"(?<![A-Za-z_])(id|sub|dlvrd|submit[\s_]*date|done[\s_]*date|stat|err)\s*:\s*(\S*)",
    re.IGNORECASE,
)
_KEYS: Final = {"id": "id", "sub": "sub", "dlvrd": "dlvrd", "stat": "stat", "err": "err"}


@dataclass(frozen=True, slots=True)
class Receipt:
    """The fields of a receipt text; each is None when missing.

    ``stat`` is upper-cased; the dates are kept as sent (``YYMMDDhhmm[ss]``), see
    :func:`parse_receipt_date`.
    """

    message_id: str | None = None
    submitted: str | None = None
    delivered: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None

    @property
    def outcome(self) -> Outcome | None:
        return outcome_for_stat(self.stat)


def parse_receipt(text: str | bytes) -> Receipt | None:
    """Parse a receipt text; None when it has neither an ``id:`` nor a ``stat:`` field."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    body = text
    rest: str | None = None
    m = _TEXT_RE.search(text)
    if m:
        body = text[: m.start()]
        rest = text[m.end() :]
    found: dict[str, str] = {}
    for key, value in _FIELD_RE.findall(body):
        name = re.sub(r"[\s_]+", " ", key.lower())
        found.setdefault(name, value)
    if "id" not in found and "stat" not in found:
        return None
    stat = found.get("stat")
    return Receipt(
        message_id=found.get("id"),
        submitted=found.get("sub"),
        delivered=found.get("dlvrd"),
        submit_date=found.get("submit date"),
        done_date=found.get("done date"),
        stat=stat.upper() if stat is not None else None,
        err=found.get("err"),
        text=rest,
    )


def parse_receipt_date(value: str | None) -> datetime | None:
    """``YYMMDDhhmm`` or ``YYMMDDhhmmss`` as a naive datetime (the SMSC's clock), or None."""
    if not value or not value.isdigit() or len(value) not in (10, 12):
        return None
    fmt = "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M"
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return None


def format_receipt(
    message_id: str,
    stat: str,
    *,
    err: str | int = "000",
    submitted: int = 1,
    delivered: int | None = None,
    submit_date: datetime | str | None = None,
    done_date: datetime | str | None = None,
    text: str = "",
) -> str:
    """The standard receipt text (``text`` is cut to its first 20 characters).

    Dates are datetimes (written ``YYMMDDhhmm``) or ready-made strings; default: now (UTC).
    """
    if delivered is None:
        delivered = submitted if outcome_for_stat(stat) == "delivered" else 0
    err_text = f"{err:03d}" if isinstance(err, int) else err
    return (
        f"id:{message_id} sub:{submitted:03d} dlvrd:{delivered:03d}"
        f" submit date:{_receipt_date(submit_date)} done date:{_receipt_date(done_date)}"
        f" stat:{stat} err:{err_text} text:{text[:20]}"
    )


def _receipt_date(value: datetime | str | None) -> str:
    if isinstance(value, str):
        return value
    return f"{value or datetime.now(UTC):%y%m%d%H%M}"


# --------------------------------------------------------------------------------- message ids

_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


def normalize_message_id(message_id: str, id_format: IdFormat = "auto") -> str:
    """Canonical key for a carrier message id (see the module docstring for the rule).

    Numeric readings give the decimal value without leading zeros (``"000123"`` -> ``"123"``,
    hex ``"7b"`` -> ``"123"``); other ids are stripped and upper-cased.  An id that does not
    parse in the requested format falls back to the opaque reading.
    """
    s = message_id.strip().strip("\0").strip()
    if not s:
        return ""
    if id_format == "string":
        return s.upper()
    if id_format in ("auto", "decimal") and s.isascii() and s.isdigit():
        return str(int(s, 10))
    if id_format in ("auto", "hex") and len(s) <= 64 and set(s) <= _HEX_DIGITS:
        return str(int(s, 16))
    return s.upper()


def message_id_keys(message_id: str) -> frozenset[str]:
    """Every canonical key ``message_id`` could have (decimal, hex and opaque readings)."""
    return frozenset(normalize_message_id(message_id, fmt) for fmt in ("decimal", "hex", "string"))


# ------------------------------------------------------------------------------------ from PDU


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A receipt PDU boiled down: which message, what outcome, and the raw evidence."""

    message_id: str | None  # receipted_message_id TLV if present, else the text's id
    text_id: str | None  # the id in the receipt text (may differ in hex/decimal)
    outcome: Outcome | None  # None: not final (see the table above)
    stat: str | None
    message_state: int | None
    err: str | None
    network_error: tuple[int, int] | None
    receipt: Receipt | None


def report_from_pdu(pdu: DeliverSm | DataSm) -> DeliveryReport:
    """Read a receipt deliver_sm / data_sm (TLVs first, then the standard text)."""
    receipt = parse_receipt(pdu.payload) if pdu.payload else None
    tlv_id = pdu.tlv_str(Tag.RECEIPTED_MESSAGE_ID)
    state = pdu.tlv_int(Tag.MESSAGE_STATE)
    net = pdu.tlv(Tag.NETWORK_ERROR_CODE)
    stat = receipt.stat if receipt else None
    if state is not None and state in _STATE_OUTCOMES:
        outcome = outcome_for_state(state)
        stat = stat or STAT_FOR_STATE.get(state)
    else:
        outcome = outcome_for_stat(stat)
    text_id = receipt.message_id if receipt else None
    return DeliveryReport(
        message_id=tlv_id or text_id,
        text_id=text_id,
        outcome=outcome,
        stat=stat,
        message_state=state,
        err=receipt.err if receipt else None,
        network_error=(net[0], net[1]) if isinstance(net, tuple) else None,
        receipt=receipt,
    )
