"""Tests for delivery receipt parsing, id normalisation and status mapping."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsstreams.smpp.pdu import (
    DataSm,
    DeliverSm,
    MessageState,
    NetworkErrorCode,
    Tag,
    Tlv,
)
from smsstreams.smpp.receipts import (
    STAT_FOR_STATE,
    Receipt,
    format_receipt,
    message_id_keys,
    normalize_message_id,
    outcome_for_stat,
    outcome_for_state,
    parse_receipt,
    parse_receipt_date,
    report_from_pdu,
)

fast = settings(max_examples=200, deadline=None)

STANDARD = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231"
    " stat:DELIVRD err:000 text:Hello world"
)


def test_standard_receipt() -> None:
    assert parse_receipt(STANDARD) == Receipt(
        message_id="0123456789",
        submitted="001",
        delivered="001",
        submit_date="2401151230",
        done_date="2401151231",
        stat="DELIVRD",
        err="000",
        text="Hello world",
    )


def test_bytes_and_spec_capitalisation() -> None:
    raw = (
        b"id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm"
        b" stat:UNDELIV err:E Text: . . . ."
    )
    r = parse_receipt(raw)
    assert r is not None
    assert r.message_id == "IIIIIIIIII"
    assert r.stat == "UNDELIV"
    assert r.err == "E"
    assert r.text == " . . . ."


def test_keys_in_any_case_and_line_break_inside_done_date() -> None:
    r = parse_receipt(
        "ID:abc SUB:001 DLVRD:000 SUBMIT DATE:2401151230 done\ndate:2401151231 Stat:expired"
    )
    assert r is not None
    assert r.message_id == "abc"
    assert r.done_date == "2401151231"
    assert r.stat == "EXPIRED"
    assert r.outcome == "expired"
    assert r.err is None and r.text is None


def test_missing_fields_are_none() -> None:
    r = parse_receipt("id:77 stat:REJECTD")
    assert r == Receipt(message_id="77", stat="REJECTD")
    assert r.outcome == "rejected"


def test_text_may_contain_key_like_words() -> None:
    r = parse_receipt("id:1 stat:DELIVRD err:000 text:stat:UNDELIV id:2")
    assert r is not None
    assert r.message_id == "1"
    assert r.stat == "DELIVRD"
    assert r.text == "stat:UNDELIV id:2"


def test_keys_inside_other_words_do_not_match() -> None:
    r = parse_receipt("userid:5 id:6 substat:X stat:DELIVRD")
    assert r is not None
    assert r.message_id == "6"
    assert r.stat == "DELIVRD"


@pytest.mark.parametrize("text", ["", "Hello, see you at 5", "your code: 1234", "\x00\xff"])
def test_ordinary_messages_are_not_receipts(text: str) -> None:
    assert parse_receipt(text) is None


def test_dates() -> None:
    assert parse_receipt_date("2401151230") == datetime(2024, 1, 15, 12, 30)
    assert parse_receipt_date("240115123059") == datetime(2024, 1, 15, 12, 30, 59)
    assert parse_receipt_date("2413151230") is None  # month 13
    assert parse_receipt_date("YYMMDDhhmm") is None
    assert parse_receipt_date(None) is None


ids = st.text(st.sampled_from("0123456789abcdefABCDEF-xyz"), min_size=1, max_size=20)
stats = st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "ACCEPTD"])


@fast
@given(message_id=ids, stat=stats, text=st.text(max_size=30), err=st.integers(0, 999))
def test_format_then_parse(message_id: str, stat: str, text: str, err: int) -> None:
    when = datetime(2024, 2, 29, 23, 59)
    formatted = format_receipt(
        message_id, stat, err=err, submit_date=when, done_date=when, text=text
    )
    r = parse_receipt(formatted)
    assert r is not None
    assert r.message_id == message_id
    assert r.stat == stat
    assert r.err == f"{err:03d}"
    assert r.submit_date == r.done_date == "2402292359"
    assert r.text == text[:20]
    assert r.delivered == ("001" if stat == "DELIVRD" else "000")


@pytest.mark.parametrize(
    ("stat", "outcome"),
    [
        ("DELIVRD", "delivered"),
        ("delivrd", "delivered"),
        ("DELIVERED", "delivered"),
        ("UNDELIV", "undelivered"),
        ("UNDELIVERABLE", "undelivered"),
        ("FAILED", "undelivered"),
        ("UNKNOWN", "undelivered"),
        ("EXPIRED", "expired"),
        ("REJECTD", "rejected"),
        ("REJECTED", "rejected"),
        ("DELETED", "rejected"),
        ("ACCEPTD", None),
        ("ENROUTE", None),
        ("BUFFERED", None),
        ("WHATEVER", None),
        ("", None),
        (None, None),
    ],
)
def test_stat_mapping(stat: str | None, outcome: str | None) -> None:
    assert outcome_for_stat(stat) == outcome


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (MessageState.ENROUTE, None),
        (MessageState.DELIVERED, "delivered"),
        (MessageState.EXPIRED, "expired"),
        (MessageState.DELETED, "rejected"),
        (MessageState.UNDELIVERABLE, "undelivered"),
        (MessageState.ACCEPTED, None),
        (MessageState.UNKNOWN, "undelivered"),
        (MessageState.REJECTED, "rejected"),
        (200, None),
        (None, None),
    ],
)
def test_message_state_mapping(state: int | None, outcome: str | None) -> None:
    assert outcome_for_state(state) == outcome


def test_state_and_stat_tables_agree() -> None:
    for state, stat in STAT_FOR_STATE.items():
        assert outcome_for_state(state) == outcome_for_stat(stat)


# ------------------------------------------------------------------------------ message ids


def test_hex_and_decimal_forms_of_one_id_compare_equal() -> None:
    assert normalize_message_id("1A2B3C") == normalize_message_id("1715004")
    assert normalize_message_id("1a2b3c") == normalize_message_id("1A2B3C")
    assert normalize_message_id("0000000012345678") == normalize_message_id("12345678")
    assert normalize_message_id(" 42\0") == "42"


def test_auto_reads_all_digit_ids_as_decimal_and_explicit_formats_override() -> None:
    assert normalize_message_id("1234") == "1234"
    assert normalize_message_id("1234", "hex") == "4660"
    assert normalize_message_id("1234", "hex") == normalize_message_id("4660", "decimal")
    assert normalize_message_id("abc", "decimal") == "ABC"  # not decimal: opaque
    assert normalize_message_id("00ab", "string") == "00AB"


def test_opaque_ids() -> None:
    uuid = "550e8400-e29b-41d4-a716-446655440000"
    assert normalize_message_id(uuid) == uuid.upper()
    assert normalize_message_id("") == ""


@fast
@given(n=st.integers(0, 2**64))
def test_explicit_formats_match_every_number(n: int) -> None:
    assert normalize_message_id(f"{n:x}", "hex") == normalize_message_id(str(n), "decimal")
    assert normalize_message_id(f"{n:X}", "hex") == normalize_message_id(f"{n:010d}", "decimal")


@fast
@given(n=st.integers(0, 2**64))
def test_auto_matches_whenever_the_hex_form_has_a_letter(n: int) -> None:
    hex_id = f"{n:x}"
    if not hex_id.isdigit():
        assert normalize_message_id(hex_id) == normalize_message_id(str(n))
    assert normalize_message_id(hex_id, "hex") in message_id_keys(str(n)) | message_id_keys(hex_id)
    assert message_id_keys(hex_id) & message_id_keys(str(n)) or hex_id.isdigit()


# ------------------------------------------------------------------------------ from a PDU


def test_report_prefers_the_tlvs() -> None:
    pdu = DeliverSm(
        esm_class=0x04,
        short_message=b"id:1715004 sub:001 dlvrd:000 stat:DELIVRD err:000 text:x",
        tlvs=(
            Tlv(Tag.RECEIPTED_MESSAGE_ID, "1a2b3c"),
            Tlv(Tag.MESSAGE_STATE, MessageState.UNDELIVERABLE),
            Tlv(Tag.NETWORK_ERROR_CODE, NetworkErrorCode(3, 27)),
        ),
    )
    report = report_from_pdu(pdu)
    assert report.message_id == "1a2b3c"
    assert report.text_id == "1715004"
    assert normalize_message_id(report.message_id) == normalize_message_id(report.text_id)
    assert report.outcome == "undelivered"  # the TLV wins over the text
    assert report.message_state == MessageState.UNDELIVERABLE
    assert report.network_error == (3, 27)
    assert report.err == "000"


def test_report_from_text_only() -> None:
    report = report_from_pdu(DeliverSm(esm_class=4, short_message=STANDARD.encode()))
    assert report.message_id == "0123456789"
    assert report.outcome == "delivered"
    assert report.message_state is None
    assert report.stat == "DELIVRD"


def test_report_from_tlvs_only() -> None:
    report = report_from_pdu(
        DataSm(
            esm_class=4,
            tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, "77"), Tlv(Tag.MESSAGE_STATE, 3)),
        )
    )
    assert report.message_id == "77"
    assert report.outcome == "expired"
    assert report.stat == "EXPIRED"
    assert report.receipt is None


def test_report_reads_message_payload() -> None:
    report = report_from_pdu(
        DataSm(esm_class=4, tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"id:9 stat:REJECTD"),))
    )
    assert report.message_id == "9"
    assert report.outcome == "rejected"
