"""Tests for splitting texts into SMPP parts and decoding / reassembling received parts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smsstreams.domain.encoding import GSM7_CHARS, gsm7_encode, gsm7_pack
from smsstreams.smpp.concat import (
    ConcatInfo,
    MessageDecodeError,
    Reassembler,
    UserData,
    alphabet_for,
    build_parts,
    decode_user_data,
    join_parts,
    parse_udh,
    split_text,
    user_data_from_pdu,
)
from smsstreams.smpp.pdu import (
    ESM_UDHI,
    DataSm,
    DeliverSm,
    SubmitSm,
    Tag,
    Tlv,
    decode,
    encode,
)

fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

gsm_text = st.text(alphabet=sorted(GSM7_CHARS), max_size=700)
ext_heavy = st.text(alphabet=["€", "[", "a", "{", "b", "^"], min_size=150, max_size=700)
any_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), max_size=400
)  # includes emoji (surrogate pairs in UTF-16)
emoji_heavy = st.text(alphabet=["😀", "a", "€", "ж", "🇩"], min_size=60, max_size=300)
texts = st.one_of(gsm_text, ext_heavy, any_text, emoji_heavy)
methods = st.sampled_from(["udh8", "udh16", "sar", "payload"])

# Part budgets from 3GPP 23.040: 140 octets of user data; a 6-octet UDH leaves 153 septets or
# 67 UCS-2 units, a 7-octet UDH 152 septets or 66 units.
BUDGET = {
    ("gsm7", "udh8"): 153,
    ("gsm7", "sar"): 153,
    ("gsm7", "udh16"): 152,
    ("ucs2", "udh8"): 67,
    ("ucs2", "sar"): 67,
    ("ucs2", "udh16"): 66,
}


def units(encoding: str, text: str) -> int:
    if encoding == "gsm7":
        return len(gsm7_encode(text))
    return len(text.encode("utf-16-be")) // 2


# ------------------------------------------------------------------------------- splitting


def test_short_text_is_one_plain_part() -> None:
    enc = split_text("Hello")
    assert enc.encoding == "gsm7"
    assert enc.data_coding == 0
    assert len(enc.parts) == 1
    part = enc.parts[0]
    assert part.short_message == b"Hello"
    assert part.esm_class == 0
    assert part.tlvs == ()


def test_160_gsm_characters_fit_one_part_161_need_two() -> None:
    assert len(split_text("a" * 160).parts) == 1
    enc = split_text("a" * 161, reference=0x42)
    assert [len(p.short_message) for p in enc.parts] == [6 + 153, 6 + 8]
    assert enc.parts[0].short_message[:6] == bytes.fromhex("050003 42 02 01")
    assert enc.parts[1].short_message[:6] == bytes.fromhex("050003 42 02 02")
    assert all(p.esm_class == ESM_UDHI for p in enc.parts)


def test_udh16() -> None:
    enc = split_text("b" * 305, concat="udh16", reference=0x1234)
    assert [len(p.short_message) for p in enc.parts] == [7 + 152, 7 + 152, 7 + 1]
    assert enc.parts[2].short_message[:7] == bytes.fromhex("060804 1234 03 03")


def test_ucs2_parts() -> None:
    text = "ж" * 71
    enc = split_text(text, reference=9)
    assert enc.encoding == "ucs2"
    assert enc.data_coding == 8
    assert [len(p.short_message) for p in enc.parts] == [6 + 134, 6 + 8]
    assert split_text("ж" * 70).parts[0].short_message == ("ж" * 70).encode("utf-16-be")


def test_sar_parts_carry_tlvs_and_no_udh() -> None:
    enc = split_text("c" * 200, concat="sar", reference=700)
    assert len(enc.parts) == 2
    for seq, part in enumerate(enc.parts, start=1):
        assert part.esm_class == 0
        assert part.tlvs == (
            Tlv(Tag.SAR_MSG_REF_NUM, 700),
            Tlv(Tag.SAR_TOTAL_SEGMENTS, 2),
            Tlv(Tag.SAR_SEGMENT_SEQNUM, seq),
        )
    assert enc.parts[0].short_message == b"c" * 153


def test_payload_puts_everything_in_one_pdu() -> None:
    text = "long " * 100
    enc = split_text(text, concat="payload")
    (part,) = enc.parts
    assert part.short_message == b""
    assert part.tlvs == (Tlv(Tag.MESSAGE_PAYLOAD, gsm7_encode(text)),)


def test_escape_pair_moves_whole_to_the_next_part() -> None:
    text = "a" * 152 + "€" + "b" * 20
    for method in ("udh8", "sar"):
        enc = split_text(text, concat=method)
        assert enc.texts[0] == "a" * 152
        assert enc.texts[1].startswith("€")
        first = enc.parts[0].short_message[6 if method == "udh8" else 0 :]
        assert first[-1] != 0x1B
    enc = split_text("a" * 151 + "€" + "b" * 20, concat="udh16")
    assert enc.texts[0] == "a" * 151


def test_surrogate_pair_moves_whole_to_the_next_part() -> None:
    text = "ж" * 66 + "😀" + "ж" * 10
    enc = split_text(text)
    assert enc.texts[0] == "ж" * 66
    assert enc.texts[1].startswith("😀")
    enc16 = split_text("ж" * 65 + "😀" + "ж" * 10, concat="udh16")
    assert enc16.texts[0] == "ж" * 65


def test_invalid_reference_and_too_many_parts() -> None:
    with pytest.raises(ValueError):
        split_text("x" * 200, reference=256)
    with pytest.raises(ValueError):
        split_text("x" * 200, concat="sar", reference=70000)
    with pytest.raises(ValueError):
        split_text("x" * (153 * 256))
    split_text("x" * 200, concat="udh16", reference=65535)


@fast
@given(text=texts, method=methods, packed=st.booleans(), ref=st.integers(0, 255))
def test_split_respects_budgets_and_joins_back(
    text: str, method: str, packed: bool, ref: int
) -> None:
    enc = split_text(text, concat=method, reference=ref, packed=packed)  # type: ignore[arg-type]
    assert "".join(enc.texts) == text
    octets = 140 if packed or enc.encoding == "ucs2" else 160  # what the air interface takes
    for part in enc.parts:
        assert len(part.short_message) <= octets
    if len(enc.texts) > 1:
        budget = BUDGET[enc.encoding, method]
        for part_text in enc.texts:
            assert 0 < units(enc.encoding, part_text) <= budget
    else:
        single = 160 if enc.encoding == "gsm7" else 70
        assert units(enc.encoding, text) <= single or method == "payload"


# ---------------------------------------------------------------------------- GSM-7 packing


def test_packed_known_vector() -> None:
    # The classic example from GSM 03.38: "hellohello" packs to E8329BFD4697D9EC37.
    enc = split_text("hellohello", packed=True)
    assert enc.parts[0].short_message == bytes.fromhex("E8329BFD4697D9EC37")


def test_packed_after_udh_starts_with_one_fill_bit() -> None:
    text = "A" * 153 + "B" * 8
    enc = split_text(text, packed=True, reference=7)
    second = enc.parts[1].short_message
    assert second[:6] == bytes.fromhex("050003 07 02 02")
    assert second[6] == 0x42 << 1  # the first 'B' starts after one fill bit
    # 1 fill bit + 8 septets leave 7 spare bits: a CR goes there
    assert second[6:] == gsm7_pack(b"\x42" * 8 + b"\x0d", fill_bits=1)
    assert len(enc.parts[0].short_message) == 140
    ud = decode_user_data(second, 0, udhi=True, packed=True)
    assert ud.text == "B" * 8
    assert ud.concat == ConcatInfo(7, 2, 2, "udh8")


def test_packed_seven_spare_bits_hold_cr_and_are_dropped() -> None:
    enc = split_text("abcdefg", packed=True)
    data = enc.parts[0].short_message
    assert len(data) == 7
    assert data[-1] >> 1 == 0x0D  # CR in the last 7 bits, not "@"
    assert decode_user_data(data, 0, packed=True).text == "abcdefg"
    # zero padding from a lax encoder reads as a trailing "@"
    zero_padded = gsm7_pack(gsm7_encode("abcdefg"))
    assert decode_user_data(zero_padded, 0, packed=True).text == "abcdefg@"


def test_packed_udh16_has_no_fill_bits() -> None:
    enc = split_text("C" * 161, concat="udh16", packed=True, reference=1)
    second = enc.parts[1].short_message
    assert second[7] == 0x43 | 0x80  # no fill bit: the next septet's low bit is on top
    assert second[7:] == gsm7_pack(b"\x43" * 9)
    assert decode_user_data(second, 0, udhi=True, packed=True).text == "C" * 9


# ---------------------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("dc", "data", "text"),
    [
        (0, bytes([0x00, 0x1B, 0x65, 0x41]), "@€A"),
        (1, b"plain ascii", "plain ascii"),
        (3, "café".encode("latin-1"), "café"),
        (8, "ж😀".encode("utf-16-be"), "ж😀"),
        (0xF0, b"\x41", "A"),  # message class 0, GSM-7
        (0x18, "ж".encode("utf-16-be"), "ж"),  # general group, UCS-2
        (6, "привет".encode("iso8859_5"), "привет"),
    ],
)
def test_decode_by_data_coding(dc: int, data: bytes, text: str) -> None:
    assert decode_user_data(data, dc).text == text


def test_data_coding_alphabets() -> None:
    assert alphabet_for(0) == "gsm7"
    assert alphabet_for(0, "latin1") == "latin1"
    assert alphabet_for(2) == alphabet_for(4) == alphabet_for(0xF4) == "binary"
    assert alphabet_for(0x08) == "ucs2"
    assert alphabet_for(0x34) == "binary"  # compressed


def test_dc0_with_high_octets_falls_back_to_latin1() -> None:
    assert decode_user_data("Grüße".encode("latin-1"), 0).text == "Grüße"


def test_odd_ucs2_length_does_not_raise() -> None:
    assert decode_user_data(b"\x00A\x00", 8).text == "A"


def test_udh_parsing() -> None:
    ud = decode_user_data(bytes.fromhex("0B 0504 0B84 23F0 00 03 AA 03 02") + b"hi", 0, udhi=True)
    assert ud.text == "hi"
    assert ud.concat == ConcatInfo(0xAA, 3, 2, "udh8")
    assert parse_udh(ud.udh) == [(0x05, bytes.fromhex("0B8423F0")), (0x00, b"\xaa\x03\x02")]
    ud16 = decode_user_data(bytes.fromhex("06 08 04 BEEF 02 01") + b"x", 0, udhi=True)
    assert ud16.concat == ConcatInfo(0xBEEF, 2, 1, "udh16")


@pytest.mark.parametrize(
    "data", [b"", bytes.fromhex("05 00 03 01"), bytes.fromhex("03 00 05 01 02")]
)
def test_bad_udh(data: bytes) -> None:
    with pytest.raises(MessageDecodeError):
        decode_user_data(data, 0, udhi=True)


def test_sar_tlvs_are_read_from_the_pdu() -> None:
    pdu = DeliverSm(
        short_message=b"part",
        tlvs=(
            Tlv(Tag.SAR_MSG_REF_NUM, 300),
            Tlv(Tag.SAR_TOTAL_SEGMENTS, 4),
            Tlv(Tag.SAR_SEGMENT_SEQNUM, 3),
        ),
    )
    assert user_data_from_pdu(pdu).concat == ConcatInfo(300, 4, 3, "sar")


def test_data_sm_payload_is_decoded() -> None:
    pdu = DataSm(data_coding=8, tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, "ok".encode("utf-16-be")),))
    assert user_data_from_pdu(pdu).text == "ok"


# ------------------------------------------------------------------------------ reassembly


def part(ref: int, total: int, seq: int, text: str, scheme: str = "udh8") -> UserData:
    return UserData("gsm7", gsm7_encode(text), b"", ConcatInfo(ref, total, seq, scheme))  # type: ignore[arg-type]


def test_out_of_order_and_duplicates() -> None:
    r = Reassembler()
    assert r.add("k", part(1, 3, 3, "c"), now=0) is None
    assert r.add("k", part(1, 3, 1, "a"), now=1) is None
    assert r.add("k", part(1, 3, 1, "X"), now=2) is None  # duplicate: first copy kept
    assert r.pending == 1
    assert r.add("k", part(1, 3, 2, "b"), now=3) == "abc"
    assert r.pending == 0


def test_keys_and_references_do_not_mix() -> None:
    r = Reassembler()
    assert r.add("alice", part(1, 2, 1, "A1"), now=0) is None
    assert r.add("bob", part(1, 2, 2, "B2"), now=0) is None
    assert r.add("alice", part(2, 2, 2, "other"), now=0) is None
    assert r.add("alice", part(1, 2, 2, "A2"), now=0) == "A1A2"
    assert r.pending == 2


def test_single_parts_and_invalid_numbers_pass_through() -> None:
    r = Reassembler()
    assert r.add("k", UserData("gsm7", b"hi"), now=0) == "hi"
    assert r.add("k", part(5, 1, 1, "one"), now=0) == "one"
    assert r.add("k", part(5, 3, 0, "zero"), now=0) == "zero"
    assert r.add("k", part(5, 3, 4, "four"), now=0) == "four"
    assert r.pending == 0


def test_timeout_expires_incomplete_sets() -> None:
    r = Reassembler(timeout=60)
    r.add("k", part(1, 3, 1, "first "), now=100)
    r.add("k", part(1, 3, 3, "third"), now=130)
    assert r.next_deadline() == 160
    assert r.expire(now=159) == []
    (lost,) = r.expire(now=160)
    assert lost.key == "k"
    assert lost.total == 3
    assert sorted(lost.parts) == [1, 3]
    assert lost.partial_text == "first third"
    assert r.pending == 0
    assert r.next_deadline() is None
    # a late part starts a new set instead of completing the expired one
    assert r.add("k", part(1, 3, 2, "second "), now=161) is None


def test_oldest_set_is_evicted_beyond_max_pending() -> None:
    r = Reassembler(max_pending=2)
    r.add("a", part(1, 2, 1, "a"), now=1)
    r.add("b", part(1, 2, 1, "b"), now=2)
    r.add("c", part(1, 2, 1, "c"), now=3)
    assert r.pending == 2
    (evicted,) = r.expire(now=3)
    assert evicted.key == "a"


def test_escape_split_by_the_sender_is_rejoined() -> None:
    septets = gsm7_encode("x€y")  # x ESC e y
    r = Reassembler()
    first = UserData("gsm7", septets[:2], b"", ConcatInfo(1, 2, 1, "udh8"))
    second = UserData("gsm7", septets[2:], b"", ConcatInfo(1, 2, 2, "udh8"))
    r.add("k", second, now=0)
    assert r.add("k", first, now=0) == "x€y"


def test_surrogate_split_by_the_sender_is_rejoined() -> None:
    raw = "a😀".encode("utf-16-be")
    r = Reassembler()
    r.add("k", UserData("ucs2", raw[:4], b"", ConcatInfo(2, 2, 1, "udh16")), now=0)
    assert r.add("k", UserData("ucs2", raw[4:], b"", ConcatInfo(2, 2, 2, "udh16")), now=0) == (
        "a😀"
    )


@fast
@given(
    text=texts,
    method=methods,
    packed=st.booleans(),
    ref=st.integers(0, 255),
    order=st.randoms(use_true_random=False),
)
def test_split_encode_decode_reassemble_round_trip(
    text: str, method: str, packed: bool, ref: int, order: object
) -> None:
    template = DeliverSm(source_addr="491701234567", destination_addr="12345")
    parts = build_parts(template, text, concat=method, reference=ref, packed=packed)  # type: ignore[arg-type]
    if packed:
        # 23.038 padding: a CR that exactly fills a part's last octet is read as padding
        assume(not any(t.endswith("\r") for t in split_text(text, concat=method).texts))  # type: ignore[arg-type]
    order.shuffle(parts)  # type: ignore[attr-defined]
    r = Reassembler()
    results = []
    for pdu in parts:
        wire = decode(encode(pdu))  # through the codec, as a carrier would send them
        assert isinstance(wire, DeliverSm)
        got = r.add(
            (wire.source_addr, wire.destination_addr),
            user_data_from_pdu(wire, packed=packed),
            now=0,
        )
        if got is not None:
            results.append(got)
    assert results == [text]
    assert r.pending == 0


def test_build_parts_keeps_the_template() -> None:
    template = SubmitSm(
        source_addr="Shop",
        destination_addr="4917012345",
        registered_delivery=1,
        esm_class=0x03,
        tlvs=(Tlv(Tag.USER_MESSAGE_REFERENCE, 5),),
    )
    parts = build_parts(template, "€" * 100, concat="sar", reference=3)
    assert len(parts) == 2
    for p in parts:
        assert p.source_addr == "Shop"
        assert p.registered_delivery == 1
        assert p.esm_class == 0x03
        assert p.tlvs[0] == Tlv(Tag.USER_MESSAGE_REFERENCE, 5)
        assert p.tlvs[1].tag == Tag.SAR_MSG_REF_NUM
    udh_parts = build_parts(template, "€" * 100, reference=3)
    assert all(p.esm_class == 0x43 for p in udh_parts)
    assert template.short_message == b""  # untouched


def test_join_parts_for_a_stored_reassembly() -> None:
    gsm = [UserData("gsm7", gsm7_encode("x")[:1] + b"\x1b"), UserData("gsm7", b"\x65")]
    assert join_parts(gsm) == "x€"
    mixed = [UserData("gsm7", gsm7_encode("a")), UserData("ucs2", "ж".encode("utf-16-be"))]
    assert join_parts(mixed) == "aж"
