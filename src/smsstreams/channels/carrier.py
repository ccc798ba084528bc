"""What the dispatcher and the connector manager exchange, and the pure rules between them.

* :class:`SubmitJob` -- one message to submit, with the connectors to try in order;
* :class:`Attempt` -- what one connector answered (the Status API timeline shows each);
* :class:`SubmitResult` -- the outcome: accepted by one connector, handed off to a
  connector bound by another process, or failed (permanently or not);
* :func:`classify_status` -- which submit_sm_resp statuses are worth trying again.

Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from smsstreams.smpp.pdu import CommandStatus, status_name

#: submit_sm_resp statuses that say "not now" rather than "never": the next connector is
#: tried, and the message is retried later. ESME_RTHROTTLED / ESME_RMSGQFUL arrive here
#: only after the client's own slow-down-and-retry rounds.
TRANSIENT_STATUSES: Final = frozenset(
    {
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RX_T_APPN,
    }
)


def classify_status(status: int) -> bool:
    """True when a submit_sm_resp error status is transient (see TRANSIENT_STATUSES)."""
    return status in TRANSIENT_STATUSES


def error_code(status: int) -> str:
    """The ``error_code`` a message gets for a carrier status: ``ESME_RINVDSTADR``, or
    ``SMPP_0x00000400`` for a vendor status."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"SMPP_0x{status:08X}"


def smpp_time(at: datetime) -> str:
    """SMPP absolute time (``YYMMDDhhmmsstnnp``) in UTC, e.g. ``261127215800000+``."""
    utc = at.astimezone(UTC)
    return f"{utc:%y%m%d%H%M%S}{utc.microsecond // 100_000}00+"


def source_address(sender: str, ton: int | None, npi: int | None) -> tuple[int, int, str]:
    """(TON, NPI, address) for a sender ID; the connector's TON/NPI win when set.

    Automatic: an alphanumeric sender is TON 5 (alphanumeric) / NPI 0; a number longer
    than 8 digits is TON 1 (international) / NPI 1 (E.164); a shorter one (a short code)
    TON 3 (network specific) / NPI 0.
    """
    addr = sender.strip().removeprefix("+")
    if addr.isdigit():
        auto = (1, 1) if len(addr) > 8 else (3, 0)
    else:
        auto = (5, 0)
        addr = sender.strip()
    return (auto[0] if ton is None else ton, auto[1] if npi is None else npi, addr)


@dataclass(frozen=True, slots=True)
class SubmitJob:
    message_id: str
    sender: str
    recipient: str  # E.164 with '+'
    text: str
    expires_at: datetime
    #: usable connectors of the route in failover order, from the first one to try
    connectors: tuple[str, ...]
    #: which attempt at this message this is (1 for the first claim)
    attempt: int = 1


@dataclass(slots=True)
class Attempt:
    """One connector's answer to one message (all its parts)."""

    connector: str
    at: datetime
    status: int | None = None  # command_status of the failing response (0 when accepted)
    error: str | None = None  # None: every part was accepted
    transient: bool = False
    carrier_ids: list[str] = field(default_factory=list)  # accepted parts' ids, raw

    @property
    def ok(self) -> bool:
        return self.error is None

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "connector": self.connector,
            "at": self.at.isoformat(),
            "pdu_status": status_name(self.status) if self.status is not None else None,
            "carrier_ids": list(self.carrier_ids),
        }
        if self.error is not None:
            out["error"] = self.error
            out["transient"] = self.transient
        return out


@dataclass(slots=True)
class SubmitResult:
    job: SubmitJob
    attempts: list[Attempt] = field(default_factory=list)
    #: the connector that accepted every part (its attempt is the last one)
    accepted_by: str | None = None
    #: (segment number, normalised id, raw id) per accepted part
    segments: list[tuple[int, str, str]] = field(default_factory=list)
    #: a connector of the route that another process binds: hand the message over
    handoff: str | None = None
    #: why nothing was tried, when nothing was
    note: str | None = None

    @property
    def permanent(self) -> bool:
        """Every attempt failed for good (and nothing is left to try)."""
        return bool(self.attempts) and all(not a.ok and not a.transient for a in self.attempts)

    def last_error(self) -> Attempt | None:
        failed = [a for a in self.attempts if not a.ok]
        if not failed:
            return None
        permanent = [a for a in failed if not a.transient]
        return (permanent or failed)[0]
