"""Long messages: splitting text into submit parts, and decoding / reassembling received parts.

Outbound (:func:`split_text`, :func:`build_parts`): the encoding and the split come from
:func:`smsstreams.domain.encoding.segment` -- GSM-7 when every character fits, else UCS-2 --
so an escape pair or a surrogate pair never straddles two parts.  A text that fits one SMS
(160 septets / 70 UTF-16 units) is sent as is.  Longer texts use one of:

* ``udh8``: a 6-octet User Data Header, IEI 0x00 with an 8-bit reference; 153 septets / 67
  units per part (exactly ``segment``'s parts);
* ``udh16``: a 7-octet UDH, IEI 0x08 with a 16-bit reference; 152 septets / 66 units;
* ``sar``: the sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs, the SMSC builds
  the UDH (so the parts are sized like ``udh8``);
* ``payload``: one PDU with the whole text in the message_payload TLV.

GSM-7 goes unpacked (one septet per octet, what ``data_coding=0`` means to most SMSCs) unless
``packed=True``.  Packed user data after a UDH starts with fill bits so that the first septet
starts on a septet boundary (1 bit after a 6-octet UDH, none after 7 octets).  When packing
leaves 7 spare bits, they hold a CR (3GPP TS 23.038 6.1.2.3.1) rather than zeros, which would
read as "@"; on decoding, a CR that exactly fills the last octet is taken as that padding and
dropped (so a text whose packed form genuinely ends with such a CR loses it -- the padding
convention of 23.038, which treats CR CR like CR).

Inbound (:func:`decode_user_data`, :func:`user_data_from_pdu`, :class:`Reassembler`): the
user data is decoded by ``data_coding`` (0 = the SMSC default alphabet, GSM-7 unless the
connector says Latin-1 or ASCII; 1 IA5/ASCII; 3 Latin-1; 8 UCS-2; 2/4 binary; the GSM 03.38
coding groups for 0x10-0xFF), a UDH is split off when esm_class has the UDHI bit, and parts are
kept as code units (septets / octets) so that reassembly joins units, not text: a sender that
did split an escape or surrogate pair still reassembles to the right text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from smsstreams.domain.encoding import (
    GSM7_EXT_CHARS,
    GSM7_PART_SEPTETS,
    UCS2_PART_UNITS,
    gsm7_decode,
    gsm7_encode,
    gsm7_pack,
    gsm7_unpack,
    segment,
    ucs2_encode,
)
from smsstreams.smpp.pdu import (
    DC_DEFAULT,
    DC_UCS2,
    ESM_UDHI,
    DataSm,
    ShortMessagePdu,
    Tag,
    Tlv,
)

Concat = Literal["udh8", "udh16", "sar", "payload"]
Alphabet = Literal["gsm7", "ascii", "latin1", "ucs2", "binary", "cyrillic", "hebrew"]
DefaultAlphabet = Literal["gsm7", "latin1", "ascii"]

IEI_CONCAT_8: Final = 0x00
IEI_CONCAT_16: Final = 0x08
MAX_PARTS: Final = 255
_CR: Final = 0x0D
_UDH16_SEPTETS: Final = GSM7_PART_SEPTETS - 1  # 7-octet UDH = 8 septets: 160 - 8 = 152
_UDH16_UNITS: Final = UCS2_PART_UNITS - 1  # (140 - 7) // 2 = 66


class MessageDecodeError(ValueError):
    """Received user data that cannot be taken apart (bad UDH, truncated packing)."""


# ------------------------------------------------------------------------------------ outbound


@dataclass(frozen=True, slots=True)
class Part:
    """What one submit_sm carries for one part of a message."""

    short_message: bytes
    esm_class: int  # ESM_UDHI when short_message starts with a UDH, else 0
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class Encoded:
    """A text encoded for SMPP: data_coding and the parts (their texts joined = the text)."""

    encoding: Literal["gsm7", "ucs2"]
    data_coding: int
    texts: tuple[str, ...]
    parts: tuple[Part, ...]


def _fill_bits(udh_octets: int) -> int:
    return (7 - (8 * udh_octets) % 7) % 7


def _pack(septets: bytes, fill: int) -> bytes:
    if (fill + 7 * len(septets)) % 8 == 1:  # 7 spare bits: pad with CR, not "@"
        septets += bytes((_CR,))
    return gsm7_pack(septets, fill)


def _split(text: str, encoding: str, budget: int) -> tuple[str, ...]:
    """Greedy split into parts of at most ``budget`` units, never splitting a pair."""
    parts: list[str] = []
    start = used = 0
    for i, ch in enumerate(text):
        if encoding == "gsm7":
            cost = 2 if ch in GSM7_EXT_CHARS else 1
        else:
            cost = 2 if ch > "\uffff" else 1
        if used + cost > budget:
            parts.append(text[start:i])
            start, used = i, 0
        used += cost
    parts.append(text[start:])
    return tuple(parts)


def split_text(
    text: str,
    *,
    concat: Concat = "udh8",
    reference: int = 0,
    packed: bool = False,
) -> Encoded:
    """Encode ``text`` and split it into parts (see the module docstring).

    ``reference`` is the concatenation reference shared by the parts: 0-255 for ``udh8``,
    0-65535 for ``udh16`` and ``sar``; the caller keeps a counter per destination or
    connector.  Raises ``ValueError`` for a bad reference, more than 255 parts, or lone
    surrogates in the text.
    """
    seg = segment(text)
    encoding = seg.encoding
    texts = seg.parts
    if len(texts) > 1 and concat == "udh16":
        texts = _split(text, encoding, _UDH16_SEPTETS if encoding == "gsm7" else _UDH16_UNITS)
    data_coding = DC_DEFAULT if encoding == "gsm7" else DC_UCS2

    def user_data(part_text: str, udh_octets: int) -> bytes:
        if encoding == "ucs2":
            return ucs2_encode(part_text)
        septets = gsm7_encode(part_text)
        return _pack(septets, _fill_bits(udh_octets)) if packed else septets

    if len(texts) == 1:
        return Encoded(encoding, data_coding, texts, (Part(user_data(text, 0), 0),))
    if concat == "payload":
        payload = Part(b"", 0, (Tlv(Tag.MESSAGE_PAYLOAD, user_data(text, 0)),))
        return Encoded(encoding, data_coding, (text,), (payload,))
    total = len(texts)
    if total > MAX_PARTS:
        raise ValueError(f"text needs {total} parts; at most {MAX_PARTS} are possible")
    limit = 0xFF if concat == "udh8" else 0xFFFF
    if not 0 <= reference <= limit:
        raise ValueError(f"reference {reference} does not fit {concat} (0..{limit})")
    parts: list[Part] = []
    for seq, part_text in enumerate(texts, start=1):
        if concat == "sar":
            tlvs = (
                Tlv(Tag.SAR_MSG_REF_NUM, reference),
                Tlv(Tag.SAR_TOTAL_SEGMENTS, total),
                Tlv(Tag.SAR_SEGMENT_SEQNUM, seq),
            )
            parts.append(Part(user_data(part_text, 0), 0, tlvs))
            continue
        if concat == "udh8":
            udh = bytes((5, IEI_CONCAT_8, 3, reference, total, seq))
        else:
            udh = bytes((6, IEI_CONCAT_16, 4, reference >> 8, reference & 0xFF, total, seq))
        parts.append(Part(udh + user_data(part_text, len(udh)), ESM_UDHI))
    return Encoded(encoding, data_coding, texts, tuple(parts))


_M = TypeVar("_M", bound=ShortMessagePdu)


def build_parts(
    template: _M,
    text: str,
    *,
    concat: Concat = "udh8",
    reference: int = 0,
    packed: bool = False,
) -> list[_M]:
    """One copy of ``template`` (a SubmitSm or DeliverSm) per part of ``text``.

    Sets short_message, data_coding, the UDHI bit and appends the part's TLVs to the
    template's; the options are those of :func:`split_text`.
    """
    encoded = split_text(text, concat=concat, reference=reference, packed=packed)
    return [
        dataclasses.replace(
            template,
            short_message=part.short_message,
            data_coding=encoded.data_coding,
            esm_class=template.esm_class | part.esm_class,
            tlvs=template.tlvs + part.tlvs,
        )
        for part in encoded.parts
    ]


# ------------------------------------------------------------------------------------- inbound


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """Where a part belongs: reference, number of parts, this part's number (from 1)."""

    reference: int
    total: int
    seqnum: int
    scheme: Literal["udh8", "udh16", "sar"]


@dataclass(frozen=True, slots=True)
class UserData:
    """Received user data split from its header.

    ``data`` holds code units: unpacked septets for GSM-7, the octets otherwise (UTF-16-BE
    for UCS-2).  ``udh`` is the header's information elements (without the UDHL octet).
    """

    alphabet: Alphabet
    data: bytes
    udh: bytes = b""
    concat: ConcatInfo | None = None

    @property
    def text(self) -> str:
        return units_to_text(self.alphabet, self.data)


def alphabet_for(data_coding: int, default_alphabet: DefaultAlphabet = "gsm7") -> Alphabet:
    """The alphabet a data_coding value selects (SMPP 5.2.19, GSM 03.38 coding groups)."""
    dc = data_coding
    if dc == 0:
        return default_alphabet
    simple: dict[int, Alphabet] = {1: "ascii", 3: "latin1", 6: "cyrillic", 7: "hebrew", 8: "ucs2"}
    if dc in simple:
        return simple[dc]
    if 0x10 <= dc <= 0x3F:  # general data coding: bit 5 compressed, bits 3-2 alphabet
        if dc & 0x20:
            return "binary"
        return ("gsm7", "binary", "ucs2", "gsm7")[(dc >> 2) & 0x03]
    if 0xC0 <= dc <= 0xDF:  # message waiting indication, GSM-7
        return "gsm7"
    if 0xE0 <= dc <= 0xEF:  # message waiting indication, UCS-2
        return "ucs2"
    if dc >= 0xF0:  # data coding / message class: bit 2 selects 8-bit data
        return "binary" if dc & 0x04 else "gsm7"
    return "binary"


def units_to_text(alphabet: Alphabet, data: bytes) -> str:
    """Decode code units; never raises (bad input is replaced or read as Latin-1)."""
    if alphabet == "gsm7":
        try:
            return gsm7_decode(data)
        except ValueError:  # octets above 0x7F: not GSM-7 after all, most likely Latin-1
            return data.decode("latin-1")
    if alphabet == "ucs2":
        return data[: len(data) & ~1].decode("utf-16-be", "replace")
    if alphabet == "ascii":
        return data.decode("ascii", "replace")
    if alphabet == "cyrillic":
        return data.decode("iso8859_5", "replace")
    if alphabet == "hebrew":
        return data.decode("iso8859_8", "replace")
    return data.decode("latin-1")  # latin1, and binary shown octet for octet


def parse_udh(udh: bytes) -> list[tuple[int, bytes]]:
    """The information elements of a UDH (without its length octet) as (IEI, data) pairs."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(udh):
        if i + 2 > len(udh):
            raise MessageDecodeError("truncated information element in the UDH")
        iei, length = udh[i], udh[i + 1]
        if i + 2 + length > len(udh):
            raise MessageDecodeError(f"UDH element 0x{iei:02X} runs past the header")
        out.append((iei, udh[i + 2 : i + 2 + length]))
        i += 2 + length
    return out


def _concat_from_udh(udh: bytes) -> ConcatInfo | None:
    for iei, value in parse_udh(udh):
        if iei == IEI_CONCAT_8 and len(value) == 3:
            return ConcatInfo(value[0], value[1], value[2], "udh8")
        if iei == IEI_CONCAT_16 and len(value) == 4:
            return ConcatInfo((value[0] << 8) | value[1], value[2], value[3], "udh16")
    return None


def decode_user_data(
    data: bytes,
    data_coding: int,
    *,
    udhi: bool = False,
    packed: bool = False,
    default_alphabet: DefaultAlphabet = "gsm7",
) -> UserData:
    """Split off the UDH (when ``udhi``) and turn the rest into code units.

    ``packed`` says GSM-7 arrives packed 7-in-8 (the connector setting); raises
    :class:`MessageDecodeError` for a UDH that does not fit.
    """
    alphabet = alphabet_for(data_coding, default_alphabet)
    udh = b""
    header_octets = 0
    if udhi:
        if not data:
            raise MessageDecodeError("UDHI set but the user data is empty")
        header_octets = 1 + data[0]
        if header_octets > len(data):
            raise MessageDecodeError(f"UDH length {data[0]} exceeds the user data")
        udh = data[1:header_octets]
    body = data[header_octets:]
    if alphabet == "gsm7" and packed:
        fill = _fill_bits(header_octets) if header_octets else 0
        bits = 8 * len(body) - fill
        count = max(bits // 7, 0)
        septets = gsm7_unpack(body, count, fill) if count else b""
        if count and bits == 7 * count and septets[-1] == _CR:
            septets = septets[:-1]  # CR padding in the last 7 bits
        body = septets
    return UserData(alphabet, body, udh, _concat_from_udh(udh) if udh else None)


def user_data_from_pdu(
    pdu: ShortMessagePdu | DataSm,
    *,
    packed: bool = False,
    default_alphabet: DefaultAlphabet = "gsm7",
) -> UserData:
    """Decode a deliver_sm / data_sm: message_payload or short_message, UDH, SAR TLVs."""
    ud = decode_user_data(
        pdu.payload,
        pdu.data_coding,
        udhi=pdu.udhi,
        packed=packed,
        default_alphabet=default_alphabet,
    )
    if ud.concat is None:
        ref = pdu.tlv_int(Tag.SAR_MSG_REF_NUM)
        total = pdu.tlv_int(Tag.SAR_TOTAL_SEGMENTS)
        seq = pdu.tlv_int(Tag.SAR_SEGMENT_SEQNUM)
        if ref is not None and total is not None and seq is not None:
            ud = dataclasses.replace(ud, concat=ConcatInfo(ref, total, seq, "sar"))
    return ud


# --------------------------------------------------------------------------------- reassembly


@dataclass(slots=True)
class _Pending:
    first_seen: float
    parts: dict[int, UserData]


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A set of parts that timed out (or was evicted) before all parts arrived."""

    key: Hashable
    reference: int
    total: int
    parts: dict[int, UserData]

    @property
    def partial_text(self) -> str:
        """The parts received, in order (missing parts simply absent)."""
        return "".join(self.parts[i].text for i in sorted(self.parts))


class Reassembler:
    """Collects message parts (UDH 8/16-bit or SAR, in any order) into whole texts.

    Pure: the caller passes the time (``now``, seconds on any monotonic scale).  ``key``
    separates conversations, typically ``(source_addr, destination_addr)``.  A set that is
    not complete ``timeout`` seconds after its first part is dropped by :meth:`expire` and
    handed back as :class:`Incomplete`; beyond ``max_pending`` sets the oldest is evicted the
    same way.  A part claiming a single-part set, or a part number outside 1..total, is
    treated as a whole message.  A repeated part number keeps the first copy.
    """

    def __init__(self, timeout: float = 600.0, max_pending: int = 10_000) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self._sets: dict[tuple[Hashable, str, int, int], _Pending] = {}
        self._evicted: list[Incomplete] = []

    @property
    def pending(self) -> int:
        """Sets still waiting for parts."""
        return len(self._sets)

    def add(self, key: Hashable, part: UserData, now: float) -> str | None:
        """Add a part; returns the whole text when this part completes it, else None."""
        info = part.concat
        if info is None or info.total <= 1 or not 1 <= info.seqnum <= info.total:
            return part.text
        set_key = (key, "sar" if info.scheme == "sar" else "udh", info.reference, info.total)
        pending = self._sets.get(set_key)
        if pending is None:
            if len(self._sets) >= self.max_pending:
                self._evict_oldest()
            pending = self._sets[set_key] = _Pending(now, {})
        pending.parts.setdefault(info.seqnum, part)
        if len(pending.parts) < info.total:
            return None
        del self._sets[set_key]
        return join_parts(pending.parts[i] for i in range(1, info.total + 1))

    def expire(self, now: float) -> list[Incomplete]:
        """Drop and return the sets older than ``timeout`` (plus any evicted ones)."""
        out, self._evicted = self._evicted, []
        for set_key, pending in list(self._sets.items()):
            if now - pending.first_seen >= self.timeout:
                del self._sets[set_key]
                out.append(Incomplete(set_key[0], set_key[2], set_key[3], pending.parts))
        return out

    def next_deadline(self) -> float | None:
        """When the oldest pending set expires, or None."""
        if not self._sets:
            return None
        return min(p.first_seen for p in self._sets.values()) + self.timeout

    def _evict_oldest(self) -> None:
        set_key = min(self._sets, key=lambda k: self._sets[k].first_seen)
        pending = self._sets.pop(set_key)
        self._evicted.append(Incomplete(set_key[0], set_key[2], set_key[3], pending.parts))


def join_parts(parts: Iterable[UserData]) -> str:
    """The text of a complete set of parts given in order (joined as code units, so a pair
    split across parts by the sender still decodes); for a reassembly kept in a database."""
    items = list(parts)
    alphabets = {p.alphabet for p in items}
    if len(alphabets) == 1:
        return units_to_text(items[0].alphabet, b"".join(p.data for p in items))
    return "".join(p.text for p in items)
