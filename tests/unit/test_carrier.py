"""Pure rules of the carrier channel: error classes, addresses, validity, connector settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from smsstreams.channels.carrier import (
    Attempt,
    SubmitJob,
    SubmitResult,
    classify_status,
    error_code,
    smpp_time,
    source_address,
)
from smsstreams.domain.errors import ValidationFailed
from smsstreams.services.connectors import ConnectorSettings
from smsstreams.smpp.pdu import CommandStatus

NOW = datetime(2026, 11, 27, 21, 58, 7, 345000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (CommandStatus.ESME_RTHROTTLED, True),
        (CommandStatus.ESME_RMSGQFUL, True),
        (CommandStatus.ESME_RSYSERR, True),
        (CommandStatus.ESME_RX_T_APPN, True),
        (CommandStatus.ESME_RINVDSTADR, False),
        (CommandStatus.ESME_RINVSRCADR, False),
        (CommandStatus.ESME_RSUBMITFAIL, False),
        (CommandStatus.ESME_RX_P_APPN, False),
        (0x400, False),
    ],
)
def test_classify_status(status: int, transient: bool) -> None:
    assert classify_status(status) is transient


def test_error_code() -> None:
    assert error_code(CommandStatus.ESME_RINVDSTADR) == "ESME_RINVDSTADR"
    assert error_code(0x401) == "SMPP_0x00000401"


def test_smpp_time_is_absolute_utc() -> None:
    assert smpp_time(NOW) == "261127215807300+"
    assert len(smpp_time(NOW)) == 16


@pytest.mark.parametrize(
    ("sender", "ton", "npi", "expected"),
    [
        ("Acme", None, None, (5, 0, "Acme")),
        ("12025550199", None, None, (1, 1, "12025550199")),
        ("+12025550199", None, None, (1, 1, "12025550199")),
        ("12345", None, None, (3, 0, "12345")),
        ("12345", 2, None, (2, 0, "12345")),
        ("Acme", 5, 9, (5, 9, "Acme")),
    ],
)
def test_source_address(
    sender: str, ton: int | None, npi: int | None, expected: tuple[int, int, str]
) -> None:
    assert source_address(sender, ton, npi) == expected


def _result(*attempts: Attempt) -> SubmitResult:
    job = SubmitJob("m", "Acme", "+12025550123", "hi", NOW, ("a", "b"))
    return SubmitResult(job, list(attempts))


def test_permanent_only_when_every_attempt_failed_for_good() -> None:
    bad = Attempt("a", NOW, 0x0B, "ESME_RINVDSTADR", transient=False)
    slow = Attempt("b", NOW, None, "ConnectionLost", transient=True)
    assert _result(bad).permanent
    assert not _result(bad, slow).permanent
    assert not _result().permanent
    # the permanent error is the one reported, even after a transient one
    assert _result(slow, bad).last_error() is bad
    assert _result(slow).last_error() is slow
    ok = Attempt("a", NOW, 0, carrier_ids=["1"])
    assert ok.ok and _result(ok).last_error() is None
    assert bad.public()["pdu_status"] == "ESME_RINVDSTADR (0x0B)"


GOOD = ConnectorSettings("sim", "127.0.0.1", 2775, "user", "secret")


def test_connector_settings_validate() -> None:
    assert GOOD.validate() is GOOD
    for changes in (
        {"name": ""},
        {"name": "has space"},
        {"name": "x" * 28},
        {"port": 0},
        {"port": 70000},
        {"system_id": ""},
        {"system_id": "x" * 16},
        {"password": "x" * 9},
        {"system_type": "x" * 13},
        {"window": 0},
        {"max_per_second": 0.0},
        {"source_ton": 7},
        {"source_npi": 2},
        {"concat": "udh7"},
        {"id_format": "octal"},
        {"bind_type": "both"},
        {"host": "bad host"},
    ):
        with pytest.raises(ValidationFailed):
            replace(GOOD, **changes).validate()  # type: ignore[arg-type]
