"""SMPP 3.4 PDUs and their wire codec, without I/O.

Every PDU is a small dataclass whose field declarations *are* the wire layout: fields made with
:func:`_cstr`, :func:`_u8` and :func:`_sm` are encoded in declaration order after the 16-octet
header (``command_length, command_id, command_status, sequence_number``), followed by the
optional parameters (TLVs).  :func:`encode` turns a PDU into bytes; :class:`Decoder` takes any
chunks of bytes and hands back whole PDUs.

Strings are C-Octet strings (NUL terminated) decoded as Latin-1, so any octet sequence decodes;
their maximum sizes (including the NUL) follow the specification (system_id 16, password 9,
source_addr 21, ...).  ``short_message`` carries its own ``sm_length`` octet (0-254).

TLVs are kept in a tuple in wire order.  Known tags get typed values (``int``, ``str`` for
C-Octet strings, ``bytes`` for octet strings, :class:`NetworkErrorCode`); unknown tags, and
known tags whose value has the wrong size, are kept as raw ``bytes`` and written back unchanged.
A C-Octet string TLV that lacks its NUL (some carriers omit it from ``receipted_message_id``) is
accepted as a string.  Every PDU may carry TLVs (SMPP 5.0 peers add some to responses).

Errors: :class:`LocalProtocolError` when *we* ask for something impossible (a field too long, a
value out of range); :class:`RemoteProtocolError` when the peer's bytes are bad.  The latter
carries the ``command_id`` and ``sequence_number`` when they are known, the ``status`` to answer
with, and ``fatal`` when the byte stream cannot be re-synchronised (a ``command_length`` below 16
or above the cap) -- the session then sends ``generic_nack`` and closes.  A bad body inside a
well-framed PDU is not fatal: the frame is skipped and decoding continues.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, Final, NamedTuple, NoReturn, TypeVar

HEADER: Final = struct.Struct(">IIII")
HEADER_SIZE: Final = 16
DEFAULT_MAX_LENGTH: Final = 64 * 1024
#: Largest sequence number; the session wraps from here back to 1.
MAX_SEQUENCE: Final = 0x7FFFFFFF
#: Largest ``sm_length``.
MAX_SHORT_MESSAGE: Final = 254
RESPONSE_BIT: Final = 0x80000000

# esm_class (5.2.12)
ESM_MODE_MASK: Final = 0x03
ESM_STORE_AND_FORWARD: Final = 0x03
ESM_TYPE_MASK: Final = 0x3C
ESM_TYPE_DELIVERY_RECEIPT: Final = 0x04
ESM_TYPE_DELIVERY_ACK: Final = 0x08
ESM_TYPE_USER_ACK: Final = 0x10
ESM_TYPE_INTERMEDIATE_NOTIFICATION: Final = 0x20
ESM_UDHI: Final = 0x40
ESM_REPLY_PATH: Final = 0x80

# registered_delivery (5.2.17)
REGISTERED_DELIVERY_NONE: Final = 0x00
REGISTERED_DELIVERY_FINAL: Final = 0x01
REGISTERED_DELIVERY_FAILURE: Final = 0x02

# data_coding (5.2.19)
DC_DEFAULT: Final = 0x00
DC_IA5: Final = 0x01
DC_BINARY: Final = 0x02
DC_LATIN1: Final = 0x03
DC_BINARY2: Final = 0x04
DC_UCS2: Final = 0x08


class CommandId(IntEnum):
    """command_id values (5.1.2.1), including the operations we do not implement."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


class CommandStatus(IntEnum):
    """command_status values (5.1.3).  Peers may send others (vendor range 0x400-0x4FF)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


_STATUS_VALUES: Final = frozenset(int(s) for s in CommandStatus)


def status_name(status: int) -> str:
    """``"ESME_RTHROTTLED (0x58)"`` for known statuses, ``"0x00000400"`` otherwise."""
    if status in _STATUS_VALUES:
        return f"{CommandStatus(status).name} (0x{status:02X})"
    return f"0x{status:08X}"


class MessageState(IntEnum):
    """message_state TLV values (5.3.2.35); SCHEDULED and SKIPPED come from SMPP 5.0."""

    SCHEDULED = 0
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9


class Tag(IntEnum):
    """Optional parameter tags (5.3.2)."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


# ---------------------------------------------------------------------------------------- errors


class PduError(Exception):
    """The SMPP protocol error family.

    :class:`LocalProtocolError` means this side misused the API (our bug or bad input from our
    own caller); :class:`RemoteProtocolError` means the peer sent something the protocol does
    not allow.  Neither is raised for an SMPP error *status*, which is a normal answer.
    """


class LocalProtocolError(PduError):
    """We tried to encode or send something SMPP does not allow."""


class RemoteProtocolError(PduError):
    """The peer sent bytes that are not a valid PDU.

    ``status`` is the command_status to answer with (in a ``generic_nack`` or in the request's
    own response); ``command_id`` and ``sequence_number`` are set when the header was readable;
    ``fatal`` means the byte stream cannot be re-synchronised and the connection must close.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = CommandStatus.ESME_RSYSERR,
        command_id: int | None = None,
        sequence_number: int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.fatal = fatal


# ------------------------------------------------------------------------------------------ TLVs


class NetworkErrorCode(NamedTuple):
    """Value of the network_error_code TLV: network type (1 ANSI-136, 2 IS-95, 3 GSM, ...)."""

    network_type: int
    error_code: int


TlvValue = int | str | bytes | NetworkErrorCode

_T_U8, _T_U16, _T_U32, _T_CSTR, _T_OCTETS, _T_NETERR = range(6)

#: tag -> (kind, size): integer width, C-string maximum (with the NUL), or 0.
_TLV_TYPES: Final[dict[int, tuple[int, int]]] = {
    Tag.DEST_ADDR_SUBUNIT: (_T_U8, 1),
    Tag.DEST_NETWORK_TYPE: (_T_U8, 1),
    Tag.DEST_BEARER_TYPE: (_T_U8, 1),
    Tag.DEST_TELEMATICS_ID: (_T_U16, 2),
    Tag.SOURCE_ADDR_SUBUNIT: (_T_U8, 1),
    Tag.SOURCE_NETWORK_TYPE: (_T_U8, 1),
    Tag.SOURCE_BEARER_TYPE: (_T_U8, 1),
    Tag.SOURCE_TELEMATICS_ID: (_T_U8, 1),
    Tag.QOS_TIME_TO_LIVE: (_T_U32, 4),
    Tag.PAYLOAD_TYPE: (_T_U8, 1),
    Tag.ADDITIONAL_STATUS_INFO_TEXT: (_T_CSTR, 256),
    Tag.RECEIPTED_MESSAGE_ID: (_T_CSTR, 65),
    Tag.MS_MSG_WAIT_FACILITIES: (_T_U8, 1),
    Tag.PRIVACY_INDICATOR: (_T_U8, 1),
    Tag.SOURCE_SUBADDRESS: (_T_OCTETS, 0),
    Tag.DEST_SUBADDRESS: (_T_OCTETS, 0),
    Tag.USER_MESSAGE_REFERENCE: (_T_U16, 2),
    Tag.USER_RESPONSE_CODE: (_T_U8, 1),
    Tag.SOURCE_PORT: (_T_U16, 2),
    Tag.DESTINATION_PORT: (_T_U16, 2),
    Tag.SAR_MSG_REF_NUM: (_T_U16, 2),
    Tag.LANGUAGE_INDICATOR: (_T_U8, 1),
    Tag.SAR_TOTAL_SEGMENTS: (_T_U8, 1),
    Tag.SAR_SEGMENT_SEQNUM: (_T_U8, 1),
    Tag.SC_INTERFACE_VERSION: (_T_U8, 1),
    Tag.CALLBACK_NUM_PRES_IND: (_T_U8, 1),
    Tag.CALLBACK_NUM_ATAG: (_T_OCTETS, 0),
    Tag.NUMBER_OF_MESSAGES: (_T_U8, 1),
    Tag.CALLBACK_NUM: (_T_OCTETS, 0),
    Tag.DPF_RESULT: (_T_U8, 1),
    Tag.SET_DPF: (_T_U8, 1),
    Tag.MS_AVAILABILITY_STATUS: (_T_U8, 1),
    Tag.NETWORK_ERROR_CODE: (_T_NETERR, 3),
    Tag.MESSAGE_PAYLOAD: (_T_OCTETS, 0),
    Tag.DELIVERY_FAILURE_REASON: (_T_U8, 1),
    Tag.MORE_MESSAGES_TO_SEND: (_T_U8, 1),
    Tag.MESSAGE_STATE: (_T_U8, 1),
    Tag.USSD_SERVICE_OP: (_T_U8, 1),
    Tag.DISPLAY_TIME: (_T_U8, 1),
    Tag.SMS_SIGNAL: (_T_U16, 2),
    Tag.MS_VALIDITY: (_T_U8, 1),
    Tag.ALERT_ON_MESSAGE_DELIVERY: (_T_OCTETS, 0),
    Tag.ITS_REPLY_TYPE: (_T_U8, 1),
    Tag.ITS_SESSION_INFO: (_T_U16, 2),
}

#: Tags whose typed value is an ``int``, a ``str``, or ``bytes`` (for strategies and checks).
INT_TAGS: Final = frozenset(t for t, (k, _) in _TLV_TYPES.items() if k in (_T_U8, _T_U16, _T_U32))
STR_TAGS: Final = frozenset(t for t, (k, _) in _TLV_TYPES.items() if k == _T_CSTR)
BYTES_TAGS: Final = frozenset(t for t, (k, _) in _TLV_TYPES.items() if k == _T_OCTETS)
KNOWN_TAGS: Final = frozenset(_TLV_TYPES)


def tlv_limits(tag: int) -> tuple[int, int] | None:
    """For a known tag: (octets of an integer value, or the C-string maximum with its NUL)."""
    kind_size = _TLV_TYPES.get(tag)
    return None if kind_size is None else (kind_size[0], kind_size[1])


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter.  ``value`` is typed for known tags, raw ``bytes`` otherwise."""

    tag: int
    value: TlvValue


_TLV_HEAD: Final = struct.Struct(">HH")


def _decode_tlv_value(tag: int, raw: bytes) -> TlvValue:
    kind_size = _TLV_TYPES.get(tag)
    if kind_size is None:
        return raw
    kind, size = kind_size
    if kind <= _T_U32:
        return int.from_bytes(raw, "big") if len(raw) == size else raw
    if kind == _T_CSTR:
        text = raw[:-1] if raw.endswith(b"\0") else raw
        if b"\0" in text or len(text) >= size:
            return raw
        return text.decode("latin-1")
    if kind == _T_NETERR:
        if len(raw) != 3:
            return raw
        return NetworkErrorCode(raw[0], int.from_bytes(raw[1:], "big"))
    return raw


def _encode_tlv_value(tag: int, value: TlvValue) -> bytes:
    if isinstance(value, bytes):
        return value
    kind_size = _TLV_TYPES.get(tag)
    if kind_size is None:
        raise LocalProtocolError(f"TLV 0x{tag:04X} is not a known tag; give its value as bytes")
    kind, size = kind_size
    name = _tag_name(tag)
    if kind <= _T_U32:
        if type(value) is not int and not isinstance(value, IntEnum):
            raise LocalProtocolError(f"TLV {name} needs an int, got {type(value).__name__}")
        if not 0 <= value < 1 << (8 * size):
            raise LocalProtocolError(f"TLV {name} value {value} does not fit {size} octet(s)")
        return value.to_bytes(size, "big")
    if kind == _T_CSTR:
        if not isinstance(value, str):
            raise LocalProtocolError(f"TLV {name} needs a str, got {type(value).__name__}")
        return _cstring(value, size, name)
    if kind == _T_NETERR:
        if not isinstance(value, tuple) or len(value) != 2:
            raise LocalProtocolError(f"TLV {name} needs a NetworkErrorCode")
        network_type, error_code = value
        if not (0 <= network_type <= 0xFF and 0 <= error_code <= 0xFFFF):
            raise LocalProtocolError(f"TLV {name} value {value} out of range")
        return bytes([network_type]) + error_code.to_bytes(2, "big")
    raise LocalProtocolError(f"TLV {name} needs bytes, got {type(value).__name__}")


def _tag_name(tag: int) -> str:
    try:
        return Tag(tag).name.lower()
    except ValueError:
        return f"0x{tag:04X}"


def _decode_tlvs(data: bytes, pos: int, end: int) -> tuple[Tlv, ...]:
    out: list[Tlv] = []
    while pos < end:
        if pos + 4 > end:
            raise RemoteProtocolError(
                "truncated TLV header", status=CommandStatus.ESME_RINVOPTPARSTREAM
            )
        tag, length = _TLV_HEAD.unpack_from(data, pos)
        pos += 4
        if pos + length > end:
            raise RemoteProtocolError(
                f"TLV 0x{tag:04X} length {length} runs past the end of the PDU",
                status=CommandStatus.ESME_RINVOPTPARSTREAM,
            )
        out.append(Tlv(tag, _decode_tlv_value(tag, data[pos : pos + length])))
        pos += length
    return tuple(out)


def _encode_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    parts: list[bytes] = []
    for t in tlvs:
        if not isinstance(t, Tlv):
            raise LocalProtocolError(f"tlvs must hold Tlv objects, got {type(t).__name__}")
        if not 0 <= t.tag <= 0xFFFF:
            raise LocalProtocolError(f"TLV tag {t.tag} does not fit 16 bits")
        raw = _encode_tlv_value(t.tag, t.value)
        if len(raw) > 0xFFFF:
            raise LocalProtocolError(f"TLV {_tag_name(t.tag)} value is {len(raw)} octets")
        parts.append(_TLV_HEAD.pack(t.tag, len(raw)))
        parts.append(raw)
    return b"".join(parts)


# ------------------------------------------------------------------------------- field helpers

_WIRE: Final = "smpp"
_F_CSTR, _F_U8, _F_SM = range(3)


def _cstr(max_octets: int, status: int = CommandStatus.ESME_RINVCMDLEN) -> Any:
    """A C-Octet string field of at most ``max_octets`` octets including its NUL."""
    return field(default="", metadata={_WIRE: (_F_CSTR, max_octets, status)})


def _u8(default: int = 0) -> Any:
    """A one-octet integer field."""
    return field(default=default, metadata={_WIRE: (_F_U8, 1, CommandStatus.ESME_RINVCMDLEN)})


def _sm() -> Any:
    """``sm_length`` followed by ``short_message`` (0-254 octets)."""
    return field(
        default=b"", metadata={_WIRE: (_F_SM, MAX_SHORT_MESSAGE, CommandStatus.ESME_RINVMSGLEN)}
    )


def _cstring(value: str, max_octets: int, name: str) -> bytes:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{name} {value!r} is not Latin-1 text") from None
    if len(raw) >= max_octets:
        raise LocalProtocolError(f"{name} is {len(raw)} octets; at most {max_octets - 1} fit")
    if b"\0" in raw:
        raise LocalProtocolError(f"{name} must not contain NUL")
    return raw + b"\0"


# A compiled body layout: ("s", max_octets, status, name) for C-strings, ("i", Struct, names)
# for a run of one-octet integers, ("m", max, status, name) for sm_length + short_message.
_Step = tuple[Any, ...]


def _compile(cls: type[Pdu]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            steps.append(("i", struct.Struct(">" + "B" * len(run)), tuple(run)))
            run.clear()

    for f in fields(cls):
        spec = f.metadata.get(_WIRE)
        if spec is None:
            continue
        kind, size, status = spec
        if kind == _F_U8:
            run.append(f.name)
            continue
        flush()
        steps.append(("s" if kind == _F_CSTR else "m", size, status, f.name))
    flush()
    return tuple(steps)


_CLASSES: Final[dict[int, type[Pdu]]] = {}


_P = TypeVar("_P", bound="Pdu")


def _register(cls: type[_P]) -> type[_P]:
    cls._plan = _compile(cls)
    cls._names = tuple(name for step in cls._plan for name in _step_names(step))
    cls._fast_decode, cls._fast_encode = _generate(cls)
    _CLASSES[cls.command_id] = cls
    return cls


def _generate(cls: type[Pdu]) -> tuple[Callable[..., Pdu], Callable[[Pdu], bytes | None]]:
    """Straight-line decode/encode functions for ``cls``'s layout (as dataclasses does for
    ``__init__``): about three times faster than walking the plan.  :func:`_decode_body` and
    :func:`_encode_fields` walk the plan and remain the reference; the tests check that the
    two agree.  The generated encoder returns None for anything it does not like, and
    :func:`encode` then asks :func:`_encode_fields`, which raises the precise error."""
    ns: dict[str, Any] = {"cls": cls}
    dec = ["def decode(data, sequence_number, status):", "    end = len(data)"]
    if cls.empty_body_ok:
        dec += [
            "    if end == 16:",
            "        return cls(sequence_number=sequence_number, command_status=status)",
        ]
    dec.append("    pos = 16")
    enc_get: list[str] = []
    enc_check: list[str] = []
    enc_parts: list[str] = []
    for i, step in enumerate(cls._plan):
        if step[0] == "s":
            _, size, status, name = step
            dec += [
                f"    lim = pos + {size}",
                "    nul = data.find(0, pos, lim if lim < end else end)",
                f"    if nul < 0: _cstr_error({name!r}, {size}, {int(status)}, lim <= end)",
                f"    {name} = data[pos:nul].decode('latin-1')",
                "    pos = nul + 1",
            ]
            enc_get.append(f"        {name} = pdu.{name}.encode('latin-1')")
            enc_check.append(f"len({name}) >= {size} or b'\\0' in {name}")
            enc_parts += [name, "b'\\0'"]
        elif step[0] == "i":
            struct_name = f"_S{i}"
            ns[struct_name] = step[1]
            targets = ", ".join(step[2]) + ","
            dec += [
                f"    if pos + {step[1].size} > end: _overrun({step[2][0]!r})",
                f"    {targets} = {struct_name}.unpack_from(data, pos)",
                f"    pos += {step[1].size}",
            ]
            args = ", ".join(f"pdu.{n}" for n in step[2])
            enc_parts.append(f"{struct_name}.pack({args})")
        else:
            name = step[3]
            dec += [
                "    if pos >= end: _overrun('sm_length')",
                "    n = data[pos]",
                "    pos += 1",
                "    if n > 254 or pos + n > end: _sm_error(n)",
                f"    {name} = data[pos:pos + n]",
                "    pos += n",
            ]
            enc_get.append(f"        {name} = pdu.{name}")
            enc_check.append(
                f"type({name}) is not bytes or len({name}) > 254"
                f" or ({name} and pdu.tlvs and _has_payload(pdu.tlvs))"
            )
            enc_parts += [f"_LENGTH_OCTET[len({name})]", name]
    fields_kw = "".join(f", {n}={n}" for n in cls._names)
    dec += [
        "    tlvs = _decode_tlvs(data, pos, end) if pos < end else ()",
        "    return cls(sequence_number=sequence_number, command_status=status, tlvs=tlvs"
        + fields_kw
        + ")",
    ]
    enc = ["def encode(pdu):"]
    if enc_get:
        enc += ["    try:", *enc_get, "    except (AttributeError, UnicodeEncodeError):"]
        enc.append("        return None")
    if enc_check:
        enc += [f"    if {' or '.join(enc_check)}:", "        return None"]
    enc += [
        "    try:",
        f"        return b''.join(({', '.join(enc_parts)}{',' if enc_parts else ''}))",
        "    except struct.error:",
        "        return None",
    ]
    # A factory closes over cls and the Structs; the functions' globals are this module's.
    body = [f"    {line}" for line in (*dec, "", *enc, "return decode, encode")]
    source = "\n".join([f"def make({', '.join(ns)}):", *body]) + "\n"
    made: dict[str, Any] = {}
    exec(compile(source, f"<smpp codec {cls.__name__}>", "exec"), globals(), made)
    decode_fn, encode_fn = made["make"](**ns)
    return decode_fn, encode_fn


_LENGTH_OCTET: Final = tuple(bytes((n,)) for n in range(256))


def _cstr_error(name: str, size: int, status: int, too_long: bool) -> NoReturn:
    if too_long:
        raise RemoteProtocolError(f"{name} longer than {size - 1} octets", status=status)
    raise RemoteProtocolError(
        f"{name} runs past the end of the PDU", status=CommandStatus.ESME_RINVCMDLEN
    )


def _overrun(name: str) -> NoReturn:
    raise RemoteProtocolError(
        f"{name} runs past the end of the PDU", status=CommandStatus.ESME_RINVCMDLEN
    )


def _sm_error(length: int) -> NoReturn:
    if length > MAX_SHORT_MESSAGE:
        raise RemoteProtocolError(
            f"sm_length {length} exceeds {MAX_SHORT_MESSAGE}", status=CommandStatus.ESME_RINVMSGLEN
        )
    raise RemoteProtocolError(
        "short_message runs past the end of the PDU", status=CommandStatus.ESME_RINVMSGLEN
    )


def _has_payload(tlvs: tuple[Tlv, ...]) -> bool:
    return any(t.tag == Tag.MESSAGE_PAYLOAD for t in tlvs)


def _step_names(step: _Step) -> tuple[str, ...]:
    return step[2] if step[0] == "i" else (step[3],)


# ------------------------------------------------------------------------------------------ PDUs


@dataclass(slots=True, kw_only=True)
class Pdu:
    """Common header fields and TLVs.  Subclasses declare the body fields in wire order."""

    command_id: ClassVar[int]
    #: Responses that may come with an empty body (after an error, or from lax peers).
    empty_body_ok: ClassVar[bool] = False
    _plan: ClassVar[tuple[_Step, ...]] = ()
    _names: ClassVar[tuple[str, ...]] = ()
    _fast_decode: ClassVar[Callable[..., Pdu]]
    _fast_encode: ClassVar[Callable[[Pdu], bytes | None]]

    sequence_number: int = 0
    command_status: int = 0
    tlvs: tuple[Tlv, ...] = ()

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def tlv(self, tag: int) -> TlvValue | None:
        """Value of the first TLV with ``tag``, or None."""
        for t in self.tlvs:
            if t.tag == tag:
                return t.value
        return None

    def tlv_int(self, tag: int) -> int | None:
        value = self.tlv(tag)
        return value if isinstance(value, int) else None

    def tlv_str(self, tag: int) -> str | None:
        value = self.tlv(tag)
        return value if isinstance(value, str) else None

    def tlv_bytes(self, tag: int) -> bytes | None:
        value = self.tlv(tag)
        return value if isinstance(value, bytes) else None

    def response(self, command_status: int = CommandStatus.ESME_ROK, **values: Any) -> Pdu:
        """The response PDU to this request, with the same sequence number."""
        resp_cls = _CLASSES.get(self.command_id | RESPONSE_BIT)
        if self.is_response or resp_cls is None:
            raise LocalProtocolError(f"{type(self).__name__} has no response PDU")
        return resp_cls(
            sequence_number=self.sequence_number, command_status=command_status, **values
        )


@_register
@dataclass(slots=True, kw_only=True)
class GenericNack(Pdu):
    command_id: ClassVar[int] = CommandId.GENERIC_NACK


@dataclass(slots=True, kw_only=True)
class Bind(Pdu):
    """bind_transmitter / bind_receiver / bind_transceiver body (4.1)."""

    system_id: str = _cstr(16, CommandStatus.ESME_RINVSYSID)
    password: str = _cstr(9, CommandStatus.ESME_RINVPASWD)
    system_type: str = _cstr(13, CommandStatus.ESME_RINVSYSTYP)
    interface_version: int = _u8(0x34)
    addr_ton: int = _u8()
    addr_npi: int = _u8()
    address_range: str = _cstr(41)


@dataclass(slots=True, kw_only=True)
class BindResp(Pdu):
    """bind_*_resp body: the SMSC's system_id, optionally sc_interface_version TLV."""

    empty_body_ok: ClassVar[bool] = True
    system_id: str = _cstr(16, CommandStatus.ESME_RINVSYSID)


@_register
@dataclass(slots=True, kw_only=True)
class BindTransmitter(Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER


@_register
@dataclass(slots=True, kw_only=True)
class BindTransmitterResp(BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER_RESP


@_register
@dataclass(slots=True, kw_only=True)
class BindReceiver(Bind):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER


@_register
@dataclass(slots=True, kw_only=True)
class BindReceiverResp(BindResp):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER_RESP


@_register
@dataclass(slots=True, kw_only=True)
class BindTransceiver(Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER


@_register
@dataclass(slots=True, kw_only=True)
class BindTransceiverResp(BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER_RESP


@_register
@dataclass(slots=True, kw_only=True)
class Outbind(Pdu):
    command_id: ClassVar[int] = CommandId.OUTBIND
    system_id: str = _cstr(16, CommandStatus.ESME_RINVSYSID)
    password: str = _cstr(9, CommandStatus.ESME_RINVPASWD)


@_register
@dataclass(slots=True, kw_only=True)
class Unbind(Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND


@_register
@dataclass(slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND_RESP


@_register
@dataclass(slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK


@_register
@dataclass(slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP


class _MessageMixin:
    """Behaviour shared by submit_sm, deliver_sm and data_sm (a slot-less mixin, so that the
    dataclass fields keep their wire order)."""

    __slots__ = ()
    if TYPE_CHECKING:
        esm_class: int
        data_coding: int
        tlvs: tuple[Tlv, ...]

    @property
    def is_receipt(self) -> bool:
        """esm_class says SMSC delivery receipt (or intermediate delivery notification)."""
        kind = self.esm_class & ESM_TYPE_MASK
        return kind in (ESM_TYPE_DELIVERY_RECEIPT, ESM_TYPE_INTERMEDIATE_NOTIFICATION)

    @property
    def udhi(self) -> bool:
        """The user data starts with a User Data Header."""
        return bool(self.esm_class & ESM_UDHI)

    @property
    def payload(self) -> bytes:
        """``message_payload`` when present, else ``short_message`` (empty for data_sm)."""
        for t in self.tlvs:
            if t.tag == Tag.MESSAGE_PAYLOAD and isinstance(t.value, bytes):
                return t.value
        short_message: bytes = getattr(self, "short_message", b"")
        return short_message


@dataclass(slots=True, kw_only=True)
class ShortMessagePdu(_MessageMixin, Pdu):
    """submit_sm / deliver_sm body (4.4.1, 4.6.1)."""

    service_type: str = _cstr(6, CommandStatus.ESME_RINVSERTYP)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(21, CommandStatus.ESME_RINVSRCADR)
    dest_addr_ton: int = _u8()
    dest_addr_npi: int = _u8()
    destination_addr: str = _cstr(21, CommandStatus.ESME_RINVDSTADR)
    esm_class: int = _u8()
    protocol_id: int = _u8()
    priority_flag: int = _u8()
    schedule_delivery_time: str = _cstr(17, CommandStatus.ESME_RINVSCHED)
    validity_period: str = _cstr(17, CommandStatus.ESME_RINVEXPIRY)
    registered_delivery: int = _u8()
    replace_if_present_flag: int = _u8()
    data_coding: int = _u8()
    sm_default_msg_id: int = _u8()
    short_message: bytes = _sm()


@_register
@dataclass(slots=True, kw_only=True)
class SubmitSm(ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM


@_register
@dataclass(slots=True, kw_only=True)
class DeliverSm(ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.DELIVER_SM


@dataclass(slots=True, kw_only=True)
class MessageIdResp(Pdu):
    """submit_sm_resp / deliver_sm_resp / data_sm_resp body: message_id (65)."""

    empty_body_ok: ClassVar[bool] = True
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)


@_register
@dataclass(slots=True, kw_only=True)
class SubmitSmResp(MessageIdResp):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP


@_register
@dataclass(slots=True, kw_only=True)
class DeliverSmResp(MessageIdResp):
    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP


@_register
@dataclass(slots=True, kw_only=True)
class DataSm(_MessageMixin, Pdu):
    """data_sm body (4.7.1); the message itself travels in the message_payload TLV."""

    command_id: ClassVar[int] = CommandId.DATA_SM
    service_type: str = _cstr(6, CommandStatus.ESME_RINVSERTYP)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(65, CommandStatus.ESME_RINVSRCADR)
    dest_addr_ton: int = _u8()
    dest_addr_npi: int = _u8()
    destination_addr: str = _cstr(65, CommandStatus.ESME_RINVDSTADR)
    esm_class: int = _u8()
    registered_delivery: int = _u8()
    data_coding: int = _u8()


@_register
@dataclass(slots=True, kw_only=True)
class DataSmResp(MessageIdResp):
    command_id: ClassVar[int] = CommandId.DATA_SM_RESP


@_register
@dataclass(slots=True, kw_only=True)
class AlertNotification(Pdu):
    command_id: ClassVar[int] = CommandId.ALERT_NOTIFICATION
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(65, CommandStatus.ESME_RINVSRCADR)
    esme_addr_ton: int = _u8()
    esme_addr_npi: int = _u8()
    esme_addr: str = _cstr(65)


#: The PDUs that carry a message (and have ``is_receipt``, ``udhi``, ``payload``).
MessagePdu = SubmitSm | DeliverSm | DataSm

#: Every PDU class we encode and decode, by command_id.
PDU_CLASSES: Final = dict(_CLASSES)
BIND_CLASSES: Final = (BindTransmitter, BindReceiver, BindTransceiver)


def response_class(command_id: int) -> type[Pdu] | None:
    """The response class for a request command_id (None for outbind, alert, unknown)."""
    if command_id & RESPONSE_BIT:
        return None
    return _CLASSES.get(command_id | RESPONSE_BIT)


# ---------------------------------------------------------------------------------------- encode


def encode(pdu: Pdu) -> bytes:
    """The wire bytes of ``pdu``.  Raises :class:`LocalProtocolError` for invalid values."""
    cls = type(pdu)
    if _CLASSES.get(getattr(cls, "command_id", -1)) is not cls:
        raise LocalProtocolError(f"{cls.__name__} is not an encodable PDU")
    tlvs = pdu.tlvs
    if cls.empty_body_ok and pdu.command_status and not tlvs and _all_default(pdu):
        body = b""
    else:
        fast = cls._fast_encode(pdu)
        body = _encode_fields(pdu) if fast is None else fast
        if tlvs:
            if not isinstance(tlvs, tuple):
                raise LocalProtocolError("tlvs must be a tuple of Tlv")
            body += _encode_tlvs(tlvs)
    try:
        header = HEADER.pack(
            HEADER_SIZE + len(body), cls.command_id, pdu.command_status, pdu.sequence_number
        )
    except struct.error:
        raise LocalProtocolError(
            f"command_status {pdu.command_status!r} / sequence_number "
            f"{pdu.sequence_number!r} must fit 32 bits"
        ) from None
    return header + body


def _encode_fields(pdu: Pdu) -> bytes:
    """The mandatory fields, walking the plan; raises a precise LocalProtocolError."""
    parts: list[bytes] = []
    for step in type(pdu)._plan:
        kind = step[0]
        if kind == "i":
            values = [getattr(pdu, name) for name in step[2]]
            try:
                parts.append(step[1].pack(*values))
            except struct.error:
                bad = ", ".join(f"{n}={v!r}" for n, v in zip(step[2], values, strict=True))
                raise LocalProtocolError(f"one-octet field out of range: {bad}") from None
        elif kind == "s":
            value = getattr(pdu, step[3])
            if not isinstance(value, str):
                raise LocalProtocolError(f"{step[3]} must be str, got {type(value).__name__}")
            parts.append(_cstring(value, step[1], step[3]))
        else:
            value = getattr(pdu, step[3])
            if not isinstance(value, bytes):
                raise LocalProtocolError(f"{step[3]} must be bytes, got {type(value).__name__}")
            if len(value) > MAX_SHORT_MESSAGE:
                raise LocalProtocolError(
                    f"short_message is {len(value)} octets; at most {MAX_SHORT_MESSAGE} fit"
                    " (use message_payload or split the message)"
                )
            if value and _has_payload(pdu.tlvs):
                raise LocalProtocolError("short_message and message_payload are exclusive")
            parts.append(bytes((len(value),)))
            parts.append(value)
    return b"".join(parts)


_DEFAULTS: Final[dict[type[Pdu], tuple[Any, ...]]] = {}


def _all_default(pdu: Pdu) -> bool:
    cls = type(pdu)
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = _DEFAULTS[cls] = tuple(getattr(cls(), name) for name in cls._names)
    return all(getattr(pdu, n) == d for n, d in zip(cls._names, defaults, strict=True))


# ---------------------------------------------------------------------------------------- decode


def _decode_body(cls: type[Pdu], data: bytes, sequence_number: int, status: int) -> Pdu:
    """Decode a PDU of ``cls`` by walking its plan (the reference for the generated code)."""
    end = len(data)
    if end == HEADER_SIZE and cls.empty_body_ok:
        return cls(sequence_number=sequence_number, command_status=status)
    pos = HEADER_SIZE
    values: dict[str, Any] = {}
    for step in cls._plan:
        kind = step[0]
        if kind == "s":
            _, max_octets, field_status, name = step
            limit = pos + max_octets
            nul = data.find(0, pos, min(limit, end))
            if nul < 0:
                if limit <= end:
                    raise RemoteProtocolError(
                        f"{name} longer than {max_octets - 1} octets", status=field_status
                    )
                raise RemoteProtocolError(
                    f"{name} runs past the end of the PDU", status=CommandStatus.ESME_RINVCMDLEN
                )
            values[name] = data[pos:nul].decode("latin-1")
            pos = nul + 1
        elif kind == "i":
            st: struct.Struct = step[1]
            if pos + st.size > end:
                raise RemoteProtocolError(
                    f"{step[2][0]} runs past the end of the PDU",
                    status=CommandStatus.ESME_RINVCMDLEN,
                )
            values.update(zip(step[2], st.unpack_from(data, pos), strict=True))
            pos += st.size
        else:
            if pos >= end:
                raise RemoteProtocolError(
                    "sm_length runs past the end of the PDU", status=CommandStatus.ESME_RINVCMDLEN
                )
            length = data[pos]
            if length > MAX_SHORT_MESSAGE:
                raise RemoteProtocolError(
                    f"sm_length {length} exceeds {MAX_SHORT_MESSAGE}",
                    status=CommandStatus.ESME_RINVMSGLEN,
                )
            pos += 1
            if pos + length > end:
                raise RemoteProtocolError(
                    "short_message runs past the end of the PDU",
                    status=CommandStatus.ESME_RINVMSGLEN,
                )
            values[step[3]] = data[pos : pos + length]
            pos += length
    tlvs = _decode_tlvs(data, pos, end) if pos < end else ()
    return cls(sequence_number=sequence_number, command_status=status, tlvs=tlvs, **values)


class Decoder:
    """Incremental decoder: :meth:`feed` any chunks, then take PDUs with :meth:`next_pdu`.

    ``max_length`` caps ``command_length`` (default 64 KiB).  :meth:`next_pdu` returns None
    when more bytes are needed and raises :class:`RemoteProtocolError` for a bad PDU.  After a
    non-fatal error the bad frame has been consumed and decoding can go on; after a fatal one
    (framing lost) every later call raises the same error again.
    """

    __slots__ = ("_broken", "_buf", "_pos", "max_length")

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        if max_length < HEADER_SIZE:
            raise ValueError(f"max_length must be at least {HEADER_SIZE}")
        self.max_length = max_length
        self._buf = bytearray()
        self._pos = 0
        self._broken: RemoteProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as PDUs."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_pdu(self) -> Pdu | None:
        if self._broken is not None:
            raise self._broken
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < 4:
            return None
        length = int.from_bytes(buf[pos : pos + 4], "big")
        if length < HEADER_SIZE or length > self.max_length:
            command_id = sequence_number = None
            if avail >= HEADER_SIZE:
                _, command_id, _, sequence_number = HEADER.unpack_from(buf, pos)
            why = "below 16" if length < HEADER_SIZE else f"above the {self.max_length} cap"
            self._broken = RemoteProtocolError(
                f"command_length {length} is {why}",
                status=CommandStatus.ESME_RINVCMDLEN,
                command_id=command_id,
                sequence_number=sequence_number,
                fatal=True,
            )
            raise self._broken
        if avail < length:
            return None
        data = bytes(buf[pos : pos + length])
        pos += length
        if pos == len(buf):
            buf.clear()
            pos = 0
        elif pos > 65536:
            del buf[:pos]
            pos = 0
        self._pos = pos
        _, command_id, status, sequence_number = HEADER.unpack_from(data)
        cls = _CLASSES.get(command_id)
        if cls is None:
            raise RemoteProtocolError(
                f"unsupported command_id 0x{command_id:08X}",
                status=CommandStatus.ESME_RINVCMDID,
                command_id=command_id,
                sequence_number=sequence_number,
            )
        try:
            return cls._fast_decode(data, sequence_number, status)
        except RemoteProtocolError as exc:
            exc.command_id = command_id
            exc.sequence_number = sequence_number
            raise

    def __iter__(self) -> Iterator[Pdu]:
        """Yield every whole PDU buffered so far."""
        while (pdu := self.next_pdu()) is not None:
            yield pdu


def decode(data: bytes) -> Pdu:
    """Decode exactly one PDU from ``data`` (a convenience for tests and tools)."""
    decoder = Decoder(max_length=max(len(data), HEADER_SIZE))
    decoder.feed(data)
    pdu = decoder.next_pdu()
    if pdu is None:
        raise RemoteProtocolError("incomplete PDU", status=CommandStatus.ESME_RINVCMDLEN)
    if decoder.buffered:
        raise RemoteProtocolError(
            f"{decoder.buffered} octets after the PDU", status=CommandStatus.ESME_RINVCMDLEN
        )
    return pdu
