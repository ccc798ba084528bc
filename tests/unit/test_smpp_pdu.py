"""Tests for the SMPP 3.4 codec (smsstreams.smpp.pdu)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsstreams.smpp import pdu as P
from smsstreams.smpp.pdu import (
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    CommandStatus,
    DataSm,
    DataSmResp,
    Decoder,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    LocalProtocolError,
    NetworkErrorCode,
    Outbind,
    Pdu,
    PduError,
    RemoteProtocolError,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Unbind,
    UnbindResp,
    decode,
    encode,
)

fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------------- strategies
# Field sizes are written here from the SMPP 3.4 specification (maximum characters, i.e. the
# C-Octet string size minus its NUL), independently of the module under test.

LATIN1 = st.characters(min_codepoint=1, max_codepoint=255)


def cstr(max_chars: int) -> st.SearchStrategy[str]:
    return st.text(LATIN1, max_size=max_chars)


u8 = st.integers(0, 255)
u32 = st.integers(0, 0xFFFFFFFF)
# schedule_delivery_time / validity_period: empty or a 16-character time
smpp_time = st.one_of(st.just(""), st.from_regex(r"\A[0-9]{12}[0-9][0-9][0-9][+\-R]\Z"))

INT_SIZES = {
    Tag.DEST_ADDR_SUBUNIT: 1,
    Tag.DEST_NETWORK_TYPE: 1,
    Tag.DEST_BEARER_TYPE: 1,
    Tag.DEST_TELEMATICS_ID: 2,
    Tag.SOURCE_ADDR_SUBUNIT: 1,
    Tag.QOS_TIME_TO_LIVE: 4,
    Tag.PAYLOAD_TYPE: 1,
    Tag.USER_MESSAGE_REFERENCE: 2,
    Tag.SOURCE_PORT: 2,
    Tag.DESTINATION_PORT: 2,
    Tag.SAR_MSG_REF_NUM: 2,
    Tag.SAR_TOTAL_SEGMENTS: 1,
    Tag.SAR_SEGMENT_SEQNUM: 1,
    Tag.SC_INTERFACE_VERSION: 1,
    Tag.MS_AVAILABILITY_STATUS: 1,
    Tag.DELIVERY_FAILURE_REASON: 1,
    Tag.MORE_MESSAGES_TO_SEND: 1,
    Tag.MESSAGE_STATE: 1,
    Tag.LANGUAGE_INDICATOR: 1,
    Tag.DPF_RESULT: 1,
    Tag.SMS_SIGNAL: 2,
}
STR_MAX = {Tag.RECEIPTED_MESSAGE_ID: 64, Tag.ADDITIONAL_STATUS_INFO_TEXT: 255}
BYTES_TAGS = [Tag.MESSAGE_PAYLOAD, Tag.SOURCE_SUBADDRESS, Tag.CALLBACK_NUM]

tlv_strategy = st.one_of(
    st.sampled_from(sorted(INT_SIZES)).flatmap(
        lambda t: st.integers(0, (1 << (8 * INT_SIZES[t])) - 1).map(lambda v: Tlv(t, v))
    ),
    st.sampled_from(sorted(STR_MAX)).flatmap(lambda t: cstr(STR_MAX[t]).map(lambda v: Tlv(t, v))),
    st.sampled_from(BYTES_TAGS).flatmap(lambda t: st.binary(max_size=300).map(lambda v: Tlv(t, v))),
    st.builds(NetworkErrorCode, u8, st.integers(0, 0xFFFF)).map(
        lambda v: Tlv(Tag.NETWORK_ERROR_CODE, v)
    ),
    # unknown (vendor) tags keep raw bytes
    st.integers(0x1400, 0x3FFF).flatmap(lambda t: st.binary(max_size=40).map(lambda v: Tlv(t, v))),
)
tlvs = st.lists(tlv_strategy, max_size=4).map(tuple)
no_payload_tlvs = tlvs.filter(lambda ts: all(t.tag != Tag.MESSAGE_PAYLOAD for t in ts))
header: dict[str, Any] = {"sequence_number": u32, "command_status": u32, "tlvs": tlvs}


def message_fields(addr: int) -> dict[str, Any]:
    return {
        "service_type": cstr(5),
        "source_addr_ton": u8,
        "source_addr_npi": u8,
        "source_addr": cstr(addr),
        "dest_addr_ton": u8,
        "dest_addr_npi": u8,
        "destination_addr": cstr(addr),
        "esm_class": u8,
    }


short_message_fields = {
    **message_fields(20),
    "protocol_id": u8,
    "priority_flag": u8,
    "schedule_delivery_time": smpp_time,
    "validity_period": smpp_time,
    "registered_delivery": u8,
    "replace_if_present_flag": u8,
    "data_coding": u8,
    "sm_default_msg_id": u8,
    "short_message": st.binary(max_size=254),
}
bind_fields = {
    "system_id": cstr(15),
    "password": cstr(8),
    "system_type": cstr(12),
    "interface_version": u8,
    "addr_ton": u8,
    "addr_npi": u8,
    "address_range": cstr(40),
}


def short_message_pdu(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    def build(values: dict[str, Any], extra: tuple[Tlv, ...]) -> Pdu:
        if values["short_message"]:
            extra = tuple(t for t in extra if t.tag != Tag.MESSAGE_PAYLOAD)
        return cls(**values, tlvs=extra)

    fields = {**short_message_fields, "sequence_number": u32, "command_status": u32}
    return st.builds(build, st.fixed_dictionaries(fields), tlvs)


PDU_STRATEGIES: dict[type[Pdu], st.SearchStrategy[Pdu]] = {
    GenericNack: st.builds(GenericNack, **header),
    BindTransmitter: st.builds(BindTransmitter, **header, **bind_fields),
    BindReceiver: st.builds(BindReceiver, **header, **bind_fields),
    BindTransceiver: st.builds(BindTransceiver, **header, **bind_fields),
    BindTransmitterResp: st.builds(BindTransmitterResp, **header, system_id=cstr(15)),
    BindReceiverResp: st.builds(BindReceiverResp, **header, system_id=cstr(15)),
    BindTransceiverResp: st.builds(BindTransceiverResp, **header, system_id=cstr(15)),
    Outbind: st.builds(Outbind, **header, system_id=cstr(15), password=cstr(8)),
    Unbind: st.builds(Unbind, **header),
    UnbindResp: st.builds(UnbindResp, **header),
    EnquireLink: st.builds(EnquireLink, **header),
    EnquireLinkResp: st.builds(EnquireLinkResp, **header),
    SubmitSm: short_message_pdu(SubmitSm),
    SubmitSmResp: st.builds(SubmitSmResp, **header, message_id=cstr(64)),
    DeliverSm: short_message_pdu(DeliverSm),
    DeliverSmResp: st.builds(DeliverSmResp, **header, message_id=cstr(64)),
    DataSm: st.builds(
        DataSm, **header, **message_fields(64), registered_delivery=u8, data_coding=u8
    ),
    DataSmResp: st.builds(DataSmResp, **header, message_id=cstr(64)),
    AlertNotification: st.builds(
        AlertNotification,
        **header,
        source_addr_ton=u8,
        source_addr_npi=u8,
        source_addr=cstr(64),
        esme_addr_ton=u8,
        esme_addr_npi=u8,
        esme_addr=cstr(64),
    ),
}
any_pdu = st.one_of(*PDU_STRATEGIES.values())


def test_every_pdu_class_has_a_strategy() -> None:
    assert set(PDU_STRATEGIES) == set(P.PDU_CLASSES.values())
    expected = {
        "generic_nack", "bind_transmitter", "bind_transmitter_resp", "bind_receiver",
        "bind_receiver_resp", "bind_transceiver", "bind_transceiver_resp", "outbind", "unbind",
        "unbind_resp", "enquire_link", "enquire_link_resp", "submit_sm", "submit_sm_resp",
        "deliver_sm", "deliver_sm_resp", "data_sm", "data_sm_resp", "alert_notification",
    }  # fmt: skip
    assert {CommandId(c).name.lower() for c in P.PDU_CLASSES} == expected


# ----------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("cls", list(PDU_STRATEGIES), ids=lambda c: c.__name__)
@fast
@given(data=st.data())
def test_round_trip_every_type(cls: type[Pdu], data: st.DataObject) -> None:
    pdu = data.draw(PDU_STRATEGIES[cls])
    wire = encode(pdu)
    assert int.from_bytes(wire[:4], "big") == len(wire)
    assert int.from_bytes(wire[4:8], "big") == cls.command_id
    assert decode(wire) == pdu


@fast
@given(pdus=st.lists(any_pdu, min_size=1, max_size=8), data=st.data())
def test_any_split_of_the_stream_gives_the_same_pdus(pdus: list[Pdu], data: st.DataObject) -> None:
    stream = b"".join(encode(p) for p in pdus)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    decoder = Decoder()
    out: list[Pdu] = []
    for chunk in chunks:
        decoder.feed(chunk)
        out.extend(decoder)
    assert out == pdus
    assert decoder.buffered == 0


@fast
@given(pdus=st.lists(any_pdu, min_size=1, max_size=5))
def test_byte_by_byte_feeding(pdus: list[Pdu]) -> None:
    stream = b"".join(encode(p) for p in pdus)
    decoder = Decoder()
    out = []
    for i in range(len(stream)):
        decoder.feed(stream[i : i + 1])
        pdu = decoder.next_pdu()
        if pdu is not None:
            out.append(pdu)
    assert out == pdus


def _drain(decoder: Decoder) -> list[Pdu]:
    """Take PDUs until more bytes are needed or framing is lost; only PduError may escape."""
    out: list[Pdu] = []
    while True:
        try:
            pdu = decoder.next_pdu()
        except RemoteProtocolError as exc:
            if exc.fatal:
                return out
            continue
        if pdu is None:
            return out
        out.append(pdu)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_pdu_errors(data: bytes) -> None:
    decoder = Decoder(max_length=1024)
    decoder.feed(data)
    _drain(decoder)


@settings(max_examples=500, deadline=None)
@given(
    command_id=st.sampled_from(sorted(P.PDU_CLASSES)),
    body=st.binary(max_size=300),
    status=u32,
    seq=u32,
)
def test_random_bodies_behind_a_valid_header(
    command_id: int, body: bytes, status: int, seq: int
) -> None:
    wire = P.HEADER.pack(16 + len(body), command_id, status, seq) + body
    decoder = Decoder()
    decoder.feed(wire)
    try:
        pdu = decoder.next_pdu()
    except RemoteProtocolError as exc:
        assert not exc.fatal
        assert exc.command_id == command_id
        assert exc.sequence_number == seq
        assert exc.status != CommandStatus.ESME_ROK
    else:
        assert pdu is not None
        assert pdu.command_id == command_id
        assert pdu.sequence_number == seq


@fast
@given(pdu=any_pdu, data=st.data())
def test_corrupted_pdus_only_raise_pdu_errors(pdu: Pdu, data: st.DataObject) -> None:
    wire = bytearray(encode(pdu))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(wire) - 1))
        wire[i] = data.draw(u8)
    decoder = Decoder()
    decoder.feed(bytes(wire) + encode(EnquireLink(sequence_number=9)))
    _drain(decoder)


@settings(max_examples=300, deadline=None)
@given(cls=st.sampled_from(sorted(P.PDU_CLASSES.values(), key=lambda c: c.command_id)),
       body=st.binary(max_size=200), seq=u32, status=u32)  # fmt: skip
def test_generated_decoder_agrees_with_the_reference(
    cls: type[Pdu], body: bytes, seq: int, status: int
) -> None:
    wire = P.HEADER.pack(16 + len(body), cls.command_id, status, seq) + body
    try:
        expected: Pdu | int = P._decode_body(cls, wire, seq, status)
    except RemoteProtocolError as exc:
        expected = exc.status
    try:
        got: Pdu | int = cls._fast_decode(wire, seq, status)
    except RemoteProtocolError as exc:
        got = exc.status
    assert got == expected


@fast
@given(pdu=any_pdu)
def test_generated_encoder_agrees_with_the_reference(pdu: Pdu) -> None:
    assert type(pdu)._fast_encode(pdu) == P._encode_fields(pdu)


# ------------------------------------------------------------------------ known-answer vectors


def test_enquire_link_vector() -> None:
    wire = bytes.fromhex("00000010 00000015 00000000 00000001")
    assert encode(EnquireLink(sequence_number=1)) == wire
    assert decode(wire) == EnquireLink(sequence_number=1)


def test_generic_nack_vector() -> None:
    wire = bytes.fromhex("00000010 80000000 00000003 00000007")
    nack = GenericNack(sequence_number=7, command_status=CommandStatus.ESME_RINVCMDID)
    assert encode(nack) == wire
    assert decode(wire) == nack


def test_bind_transceiver_vector() -> None:
    # system_id "test", password "pw", system_type "", interface_version 0x34, ton/npi 0,
    # address_range "": 5 + 3 + 1 + 1 + 1 + 1 + 1 = 13 body octets, 29 in all.
    wire = bytes.fromhex("0000001d 00000009 00000000 0000000174657374007077000034000000")
    bind = BindTransceiver(sequence_number=1, system_id="test", password="pw")
    assert encode(bind) == wire
    assert decode(wire) == bind


def test_bind_resp_with_sc_interface_version_vector() -> None:
    wire = bytes.fromhex("0000001a 80000009 00000000 00000001534d5343000210 0001 34")
    resp = BindTransceiverResp(
        sequence_number=1, system_id="SMSC", tlvs=(Tlv(Tag.SC_INTERFACE_VERSION, 0x34),)
    )
    assert encode(resp) == wire
    assert decode(wire) == resp


def test_submit_sm_vector() -> None:
    wire = bytes.fromhex(
        "00000033 00000004 00000000 00000002"
        "00"  # service_type ""
        "05 00 5465737400"  # alphanumeric source "Test"
        "01 01 34343737303039303030303000"  # international destination 447700900000
        "00 00 00"  # esm_class, protocol_id, priority_flag
        "00 00"  # schedule_delivery_time, validity_period
        "01 00 00 00"  # registered_delivery, replace_if_present, data_coding, sm_default_msg_id
        "02 4869"  # sm_length 2, "Hi"
    )
    submit = SubmitSm(
        sequence_number=2,
        source_addr_ton=5,
        source_addr="Test",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="447700900000",
        registered_delivery=1,
        short_message=b"Hi",
    )
    assert encode(submit) == wire
    assert decode(wire) == submit


def test_submit_sm_resp_vector() -> None:
    wire = bytes.fromhex("00000014 80000004 00000000 00000002 61626300")
    assert decode(wire) == SubmitSmResp(sequence_number=2, message_id="abc")
    assert encode(SubmitSmResp(sequence_number=2, message_id="abc")) == wire


def test_error_response_has_no_body() -> None:
    # 3.4: "the body is not returned if command_status is non-zero"
    wire = bytes.fromhex("00000010 80000004 00000058 00000005")
    resp = SubmitSmResp(sequence_number=5, command_status=CommandStatus.ESME_RTHROTTLED)
    assert encode(resp) == wire
    assert decode(wire) == resp


def test_receipt_vector_with_tlvs() -> None:
    text = b"id:abc stat:DELIVRD"
    wire = (
        bytes.fromhex(
            "0000004b 00000005 00000000 0000000a"
            "00 01 01 343931373000 00 00 313233343500"
            "04 00 00 00 00 00 00 00 00"
        )
        + bytes([len(text)])
        + text
        + bytes.fromhex("001e 0004 616263000427 0001 02")
    )
    receipt = DeliverSm(
        sequence_number=10,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="49170",
        destination_addr="12345",
        esm_class=P.ESM_TYPE_DELIVERY_RECEIPT,
        short_message=text,
        tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, "abc"), Tlv(Tag.MESSAGE_STATE, 2)),
    )
    assert len(wire) == 0x4B
    assert encode(receipt) == wire
    got = decode(wire)
    assert got == receipt
    assert isinstance(got, DeliverSm)
    assert got.is_receipt
    assert got.tlv_str(Tag.RECEIPTED_MESSAGE_ID) == "abc"
    assert got.tlv_int(Tag.MESSAGE_STATE) == P.MessageState.DELIVERED


# ------------------------------------------------------------------------------------------ TLVs


def test_unknown_tlv_is_preserved_byte_for_byte() -> None:
    wire = encode(SubmitSm(sequence_number=1)) + bytes.fromhex("1401 0003 616263")
    wire = (len(wire)).to_bytes(4, "big") + wire[4:]
    pdu = decode(wire)
    assert pdu.tlvs == (Tlv(0x1401, b"abc"),)
    assert encode(pdu) == wire


def test_known_tlv_of_the_wrong_size_is_kept_raw() -> None:
    base = encode(DeliverSm(sequence_number=1))
    wire = base + bytes.fromhex("0427 0002 0002")  # message_state must be one octet
    wire = (len(wire)).to_bytes(4, "big") + wire[4:]
    pdu = decode(wire)
    assert pdu.tlvs == (Tlv(Tag.MESSAGE_STATE, b"\x00\x02"),)
    assert pdu.tlv_int(Tag.MESSAGE_STATE) is None
    assert encode(pdu) == wire


def test_receipted_message_id_without_nul_is_accepted() -> None:
    base = encode(DeliverSm(sequence_number=1))
    wire = base + bytes.fromhex("001e 0003 616263")
    wire = (len(wire)).to_bytes(4, "big") + wire[4:]
    assert decode(wire).tlv_str(Tag.RECEIPTED_MESSAGE_ID) == "abc"


def test_network_error_code_is_typed() -> None:
    pdu = DeliverSm(tlvs=(Tlv(Tag.NETWORK_ERROR_CODE, NetworkErrorCode(3, 0x0101)),))
    assert encode(pdu).endswith(bytes.fromhex("0423 0003 03 0101"))
    assert decode(encode(pdu)).tlv(Tag.NETWORK_ERROR_CODE) == (3, 0x0101)


def test_truncated_tlv_is_a_remote_error() -> None:
    wire = encode(SubmitSm(sequence_number=4)) + bytes.fromhex("0424 0010 6162")
    wire = (len(wire)).to_bytes(4, "big") + wire[4:]
    with pytest.raises(RemoteProtocolError) as info:
        decode(wire)
    assert info.value.status == CommandStatus.ESME_RINVOPTPARSTREAM
    assert info.value.sequence_number == 4
    assert info.value.command_id == CommandId.SUBMIT_SM
    assert not info.value.fatal


def test_message_payload_accessor() -> None:
    pdu = DataSm(tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"long text"),))
    assert pdu.payload == b"long text"
    assert DeliverSm(short_message=b"short").payload == b"short"


# ----------------------------------------------------------------------------- remote errors


def _with_body(command_id: int, body: bytes, seq: int = 77) -> bytes:
    return P.HEADER.pack(16 + len(body), command_id, 0, seq) + body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\x00\x00\x00" + b"1" * 21 + b"\x00", CommandStatus.ESME_RINVSRCADR),  # 21 digits
        (b"\x00\x00\x00\x00\x00\x00" + b"2" * 25 + b"\x00", CommandStatus.ESME_RINVDSTADR),
        (b"serv123\x00", CommandStatus.ESME_RINVSERTYP),
        (b"\x00\x00\x00", CommandStatus.ESME_RINVCMDLEN),  # source_addr never terminated
    ],
)
def test_bad_submit_sm_field_gives_the_matching_status(body: bytes, status: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode(_with_body(CommandId.SUBMIT_SM, body))
    assert info.value.status == status
    assert info.value.command_id == CommandId.SUBMIT_SM
    assert info.value.sequence_number == 77
    assert not info.value.fatal


def test_sm_length_over_254_is_rejected() -> None:
    body = bytes(encode(SubmitSm())[16:-1]) + b"\xff" + b"x" * 255
    with pytest.raises(RemoteProtocolError) as info:
        decode(_with_body(CommandId.SUBMIT_SM, body))
    assert info.value.status == CommandStatus.ESME_RINVMSGLEN


def test_bind_with_long_password_is_rejected() -> None:
    body = b"user\x00" + b"123456789\x00" + b"\x00\x34\x00\x00\x00"
    with pytest.raises(RemoteProtocolError) as info:
        decode(_with_body(CommandId.BIND_TRANSCEIVER, body))
    assert info.value.status == CommandStatus.ESME_RINVPASWD


def test_unknown_command_id_is_not_fatal_and_decoding_goes_on() -> None:
    decoder = Decoder()
    decoder.feed(
        encode(EnquireLink(sequence_number=1))
        + _with_body(CommandId.QUERY_SM, b"abc\x00\x00\x00\x00", seq=2)
        + encode(EnquireLink(sequence_number=3))
    )
    assert decoder.next_pdu() == EnquireLink(sequence_number=1)
    with pytest.raises(RemoteProtocolError) as info:
        decoder.next_pdu()
    assert info.value.status == CommandStatus.ESME_RINVCMDID
    assert info.value.command_id == CommandId.QUERY_SM
    assert info.value.sequence_number == 2
    assert not info.value.fatal
    assert decoder.next_pdu() == EnquireLink(sequence_number=3)
    assert decoder.next_pdu() is None


@pytest.mark.parametrize("length", [0, 1, 15])
def test_command_length_below_16_is_fatal(length: int) -> None:
    decoder = Decoder()
    decoder.feed(length.to_bytes(4, "big") + bytes.fromhex("00000015 00000000 00000009"))
    with pytest.raises(RemoteProtocolError) as info:
        decoder.next_pdu()
    assert info.value.fatal
    assert info.value.status == CommandStatus.ESME_RINVCMDLEN
    assert info.value.sequence_number == 9
    decoder.feed(encode(EnquireLink(sequence_number=1)))
    with pytest.raises(RemoteProtocolError):  # the stream stays broken
        decoder.next_pdu()


def test_command_length_over_the_cap_is_fatal_before_the_body_arrives() -> None:
    decoder = Decoder(max_length=1000)
    decoder.feed((1001).to_bytes(4, "big"))
    with pytest.raises(RemoteProtocolError) as info:
        decoder.next_pdu()
    assert info.value.fatal
    assert info.value.sequence_number is None  # header not complete yet


def test_default_cap_is_64_kib() -> None:
    payload = b"x" * (65536 - 200)
    pdu = DataSm(tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, payload),))
    assert decode(encode(pdu)) == pdu
    big = DataSm(tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, payload), Tlv(0x1400, b"y" * 300)))
    decoder = Decoder()
    decoder.feed(encode(big))
    with pytest.raises(RemoteProtocolError):
        decoder.next_pdu()


def test_incomplete_input_waits() -> None:
    wire = encode(SubmitSm(sequence_number=3, short_message=b"hello"))
    decoder = Decoder()
    decoder.feed(wire[:-1])
    assert decoder.next_pdu() is None
    assert decoder.buffered == len(wire) - 1
    decoder.feed(wire[-1:])
    assert decoder.next_pdu() == SubmitSm(sequence_number=3, short_message=b"hello")


def test_pdu_error_family() -> None:
    assert issubclass(LocalProtocolError, PduError)
    assert issubclass(RemoteProtocolError, PduError)


# ------------------------------------------------------------------------------ local errors


@pytest.mark.parametrize(
    "pdu",
    [
        BindTransceiver(system_id="x" * 16),
        BindTransceiver(password="123456789"),
        BindTransceiver(system_type="x" * 13),
        SubmitSm(source_addr="1" * 21),
        SubmitSm(destination_addr="1" * 21),
        SubmitSm(short_message=b"x" * 255),
        SubmitSm(short_message=b"x", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"y"),)),
        SubmitSm(source_addr="€uro"),  # not Latin-1
        SubmitSm(source_addr="a\0b"),
        SubmitSm(esm_class=256),
        SubmitSm(data_coding=-1),
        SubmitSm(sequence_number=1 << 32),
        SubmitSmResp(message_id="x" * 65),
        SubmitSm(tlvs=(Tlv(Tag.SAR_TOTAL_SEGMENTS, 256),)),
        SubmitSm(tlvs=(Tlv(Tag.SAR_MSG_REF_NUM, "7"),)),
        SubmitSm(tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, "x" * 65),)),
        SubmitSm(tlvs=(Tlv(0x1400, "vendor values must be bytes"),)),
        SubmitSm(tlvs=(Tlv(0x10000, b""),)),
        SubmitSm(tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"x" * 65536),)),
    ],
    ids=repr,
)
def test_invalid_values_raise_local_protocol_error(pdu: Pdu) -> None:
    with pytest.raises(LocalProtocolError):
        encode(pdu)


def test_a_plain_pdu_base_class_cannot_be_encoded() -> None:
    with pytest.raises(LocalProtocolError):
        encode(P.MessageIdResp())


# ------------------------------------------------------------------------------------ helpers


def test_response_helper() -> None:
    submit = SubmitSm(sequence_number=42)
    resp = submit.response(message_id="abc")
    assert resp == SubmitSmResp(sequence_number=42, message_id="abc")
    nack = DeliverSm(sequence_number=5).response(CommandStatus.ESME_RX_T_APPN)
    assert nack == DeliverSmResp(sequence_number=5, command_status=0x64)
    with pytest.raises(LocalProtocolError):
        resp.response()
    with pytest.raises(LocalProtocolError):
        Outbind().response()


def test_status_name() -> None:
    assert P.status_name(0x58) == "ESME_RTHROTTLED (0x58)"
    assert P.status_name(0x0E) == "ESME_RINVPASWD (0x0E)"
    assert P.status_name(0x400) == "0x00000400"


def test_command_status_values_from_the_specification() -> None:
    expected = {
        "ESME_ROK": 0x00, "ESME_RINVMSGLEN": 0x01, "ESME_RINVCMDLEN": 0x02,
        "ESME_RINVCMDID": 0x03, "ESME_RINVBNDSTS": 0x04, "ESME_RALYBND": 0x05,
        "ESME_RSYSERR": 0x08, "ESME_RINVSRCADR": 0x0A, "ESME_RINVDSTADR": 0x0B,
        "ESME_RBINDFAIL": 0x0D, "ESME_RINVPASWD": 0x0E, "ESME_RINVSYSID": 0x0F,
        "ESME_RMSGQFUL": 0x14, "ESME_RTHROTTLED": 0x58, "ESME_RX_T_APPN": 0x64,
    }  # fmt: skip
    for name, value in expected.items():
        assert CommandStatus[name] == value


def test_receipt_and_udhi_flags() -> None:
    assert DeliverSm(esm_class=0x04).is_receipt
    assert not DeliverSm(esm_class=0x00).is_receipt
    assert DeliverSm(esm_class=0x40).udhi
    assert DataSm(esm_class=0x44).is_receipt and DataSm(esm_class=0x44).udhi


def test_field_order_of_submit_sm_follows_the_specification() -> None:
    names = [f.name for f in dataclasses.fields(SubmitSm)][3:]
    assert names == [
        "service_type", "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton",
        "dest_addr_npi", "destination_addr", "esm_class", "protocol_id", "priority_flag",
        "schedule_delivery_time", "validity_period", "registered_delivery",
        "replace_if_present_flag", "data_coding", "sm_default_msg_id", "short_message",
    ]  # fmt: skip


@fast
@given(st.binary(min_size=1, max_size=254) | st.just(b"\0" * 254))
def test_short_message_octets_are_opaque(message: bytes) -> None:
    got = decode(encode(SubmitSm(short_message=message)))
    assert isinstance(got, SubmitSm)
    assert got.short_message == message
