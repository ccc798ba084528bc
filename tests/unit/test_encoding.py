"""Tests for GSM-7 / UCS-2 encoding and SMS segmentation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsstreams.domain.encoding import (
    GSM7_BASIC_CHARS,
    GSM7_CHARS,
    GSM7_EXT_CHARS,
    Segmented,
    count_segments,
    gsm7_decode,
    gsm7_encode,
    gsm7_pack,
    gsm7_septets,
    gsm7_unpack,
    is_gsm7,
    segment,
    ucs2_decode,
    ucs2_encode,
)

fast = settings(max_examples=200, deadline=None)

# Independent copy of the 3GPP 23.038 basic table (ESC at 0x1B shown as None).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x00ÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXT = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
       "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip

gsm_text = st.text(alphabet=sorted(GSM7_CHARS), max_size=500)
ext_heavy_text = st.text(alphabet=[*sorted(GSM7_EXT_CHARS), "a", "b"], max_size=500)
# Hypothesis favours short strings; these force multi-part texts.
long_ext_text = st.text(alphabet=[*sorted(GSM7_EXT_CHARS), "a", "b"], min_size=100, max_size=600)
any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=400)
astral_text = st.text(alphabet=st.sampled_from(["a", "é", "€", "😀", "𝄞", "中", "{"]), max_size=400)
long_astral_text = st.text(
    alphabet=st.sampled_from(["a", "中", "😀", "𝄞"]), min_size=50, max_size=400
)


def part_cost(part: str, encoding: str) -> int:
    if encoding == "gsm7":
        return len(gsm7_encode(part))
    return len(ucs2_encode(part)) // 2


# --- alphabet -------------------------------------------------------------------------


def test_basic_table_matches_standard() -> None:
    assert len(BASIC) == 128
    for code, ch in enumerate(BASIC):
        if code == 0x1B:
            continue
        assert gsm7_encode(ch) == bytes([code]), (hex(code), ch)
        assert gsm7_decode(bytes([code])) == ch


def test_extension_table_matches_standard() -> None:
    for ch, code in EXT.items():
        assert gsm7_encode(ch) == bytes([0x1B, code])
        assert gsm7_septets(ch) == [0x1B, code]
        assert gsm7_decode(bytes([0x1B, code])) == ch
    assert set(EXT) == GSM7_EXT_CHARS
    assert len(GSM7_BASIC_CHARS) == 127
    assert "\x1b" not in GSM7_CHARS


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", True), ("Hello @ £5 {x}", True), ("ç", False), ("Ç", True), ("`", False),
     ("😀", False), ("€", True), ("\x1b", False), ("\u03a9", True), ("\u2126", False)],
)  # fmt: skip
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected


def test_encode_rejects_non_gsm_with_position() -> None:
    with pytest.raises(ValueError, match=r"'ç' \(U\+00E7\) at index 3"):
        gsm7_encode("abcç")
    with pytest.raises(ValueError):
        gsm7_septets("😀")


def test_decode_unknown_escape_and_trailing_escape() -> None:
    assert gsm7_decode(bytes([0x1B, 0x41])) == "A"  # unknown ext code -> basic char
    assert gsm7_decode(bytes([0x1B, 0x1B, 0x41])) == " A"  # ESC ESC -> space
    assert gsm7_decode(bytes([0x41, 0x1B])) == "A"  # trailing lone ESC dropped
    with pytest.raises(ValueError, match="0x80"):
        gsm7_decode(b"A\x80")
    with pytest.raises(ValueError, match="0xFF"):
        gsm7_decode(b"\x1b\xff")


def reference_decode(data: bytes) -> str:
    """Septet-by-septet decoder written from the spec."""
    ext = {code: ch for ch, code in EXT.items()}
    out, i = [], 0
    while i < len(data):
        if data[i] != 0x1B:
            out.append(BASIC[data[i]])
        elif i + 1 < len(data):
            i += 1
            out.append(" " if data[i] == 0x1B else ext.get(data[i], BASIC[data[i]]))
        i += 1
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 0x7F), st.just(0x1B)), max_size=200).map(bytes))
def test_gsm7_decode_matches_reference(data: bytes) -> None:
    assert gsm7_decode(data) == reference_decode(data)


@fast
@given(gsm_text)
def test_gsm7_round_trip(text: str) -> None:
    data = gsm7_encode(text)
    assert gsm7_decode(data) == text
    assert list(data) == gsm7_septets(text)
    assert len(data) == len(text) + sum(text.count(c) for c in EXT)


@fast
@given(any_text)
def test_ucs2_round_trip(text: str) -> None:
    data = ucs2_encode(text)
    assert ucs2_decode(data) == text
    assert data == text.encode("utf-16-be")


def test_ucs2_surrogate_pairs() -> None:
    assert ucs2_encode("😀") == bytes.fromhex("d83dde00")
    assert ucs2_encode("é€") == bytes.fromhex("00e920ac")
    with pytest.raises(ValueError):
        ucs2_decode(bytes.fromhex("d83d"))  # lone high surrogate
    assert ucs2_decode(bytes.fromhex("d83d0041"), errors="replace") == "\ufffdA"


# --- packing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "packed_hex"),
    [
        ("hellohello", "e8329bfd4697d9ec37"),
        ("hello", "e8329bfd06"),
        ("", ""),
        ("1234567", "31d98c56b3dd00"),  # 7 septets: top 7 bits of last octet are zero
        ("12345678", "31d98c56b3dd70"),  # 8 septets fill 7 octets exactly
    ],
)
def test_pack_known_vectors(text: str, packed_hex: str) -> None:
    septets = gsm7_encode(text)
    assert gsm7_pack(septets).hex() == packed_hex
    assert gsm7_unpack(bytes.fromhex(packed_hex), len(septets)) == septets


def test_pack_with_fill_bits_vector() -> None:
    # One fill bit (UDH of 6 octets): septet 'h' (0x68) starts at bit 1.
    assert gsm7_pack(b"\x68", fill_bits=1) == bytes([0x68 << 1])
    assert gsm7_pack(b"\x7f\x7f", fill_bits=6) == bytes([0xC0, 0xFF, 0x0F])
    assert gsm7_unpack(bytes([0xC0, 0xFF, 0x0F]), 2, fill_bits=6) == b"\x7f\x7f"


@fast
@given(st.binary(max_size=300).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_pack_unpack_round_trip(septets: bytes, fill: int) -> None:
    packed = gsm7_pack(septets, fill_bits=fill)
    assert len(packed) == ((fill + 7 * len(septets) + 7) // 8 if septets else 0)
    assert gsm7_unpack(packed, len(septets), fill_bits=fill) == septets
    if fill and packed:
        assert packed[0] & ((1 << fill) - 1) == 0  # fill bits are zero


def reference_pack(septets: bytes, fill: int) -> bytes:
    """Bit-by-bit packing straight from the spec, to check the fast implementation."""
    bits = [0] * fill
    for s in septets:
        bits.extend((s >> i) & 1 for i in range(7))
    bits.extend([0] * (-len(bits) % 8))
    return bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=700).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_pack_matches_reference(septets: bytes, fill: int) -> None:
    expected = reference_pack(septets, fill) if septets else b""
    assert gsm7_pack(septets, fill_bits=fill) == expected
    assert gsm7_unpack(expected + b"\xff\xff", len(septets), fill_bits=fill) == septets


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 63, 64, 65, 255, 256, 257, 512, 513])
def test_pack_block_sizes(n: int) -> None:
    septets = bytes((i * 37 + 11) & 0x7F for i in range(n))
    for fill in (0, 3, 6):
        packed = gsm7_pack(septets, fill_bits=fill)
        assert packed == reference_pack(septets, fill)
        assert gsm7_unpack(packed, n, fill_bits=fill) == septets


def test_pack_unpack_errors() -> None:
    with pytest.raises(ValueError, match="septet"):
        gsm7_pack(b"\x80")
    with pytest.raises(ValueError, match="fill_bits"):
        gsm7_pack(b"a", fill_bits=7)
    with pytest.raises(ValueError, match="need 2 octets"):
        gsm7_unpack(b"\x00", 2)
    with pytest.raises(ValueError, match="negative"):
        gsm7_unpack(b"", -1)


# --- segmentation ---------------------------------------------------------------------


def check_invariants(text: str, seg: Segmented) -> None:
    assert "".join(seg.parts) == text
    assert seg.segments == len(seg.parts) >= 1
    costs = [part_cost(p, seg.encoding) for p in seg.parts]
    assert sum(costs) == seg.units
    if seg.encoding == "gsm7":
        assert is_gsm7(text)
        single, multi = 160, 153
    else:
        assert not is_gsm7(text)
        single, multi = 70, 67
    if len(seg.parts) == 1:
        assert seg.units <= single
    else:
        assert seg.units > single
        assert all(0 < c <= multi for c in costs)
        # Greedy: a part is only closed when the next character would not fit.
        for part, nxt, cost in zip(seg.parts, seg.parts[1:], costs, strict=False):
            assert cost + part_cost(nxt[0], seg.encoding) > multi, part
    for part in seg.parts:
        units = ucs2_encode(part)  # strict: raises on lone surrogates
        if units:
            assert not 0xDC00 <= int.from_bytes(units[:2], "big") <= 0xDFFF
            assert not 0xD800 <= int.from_bytes(units[-2:], "big") <= 0xDBFF


@settings(max_examples=300, deadline=None)
@given(st.one_of(gsm_text, ext_heavy_text, long_ext_text, any_text, astral_text, long_astral_text))
def test_segment_invariants(text: str) -> None:
    seg = segment(text)
    check_invariants(text, seg)
    assert count_segments(text) == (seg.encoding, seg.segments)


def reference_segment(text: str) -> tuple[str, tuple[str, ...]]:
    """Naive per-character greedy split, to check the fast implementation."""
    if all(c in GSM7_CHARS for c in text):
        encoding, cost, single, multi = "gsm7", lambda c: 1 + (c in EXT), 160, 153
    else:
        encoding, cost, single, multi = "ucs2", lambda c: 1 + (ord(c) > 0xFFFF), 70, 67
    if sum(cost(c) for c in text) <= single:
        return encoding, (text,)
    parts, current, used = [], "", 0
    for c in text:
        if used + cost(c) > multi:
            parts.append(current)
            current, used = "", 0
        current += c
        used += cost(c)
    parts.append(current)
    return encoding, tuple(parts)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ext_heavy_text, long_ext_text, astral_text, long_astral_text, any_text))
def test_segment_matches_reference(text: str) -> None:
    seg = segment(text)
    assert (seg.encoding, seg.parts) == reference_segment(text)


def test_segment_lone_surrogates_do_not_crash() -> None:
    text = "\ud83d" * 50 + "😀" * 20 + "\ude00" * 10
    seg = segment(text)
    assert seg.encoding == "ucs2"
    assert seg.units == 100
    assert "".join(seg.parts) == text
    assert seg.parts == reference_segment(text)[1]


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("", "gsm7", 1, 0),
        ("a" * 160, "gsm7", 1, 160),
        ("a" * 161, "gsm7", 2, 161),
        ("a" * 306, "gsm7", 2, 306),
        ("a" * 307, "gsm7", 3, 307),
        ("€" * 80, "gsm7", 1, 160),
        ("€" * 80 + "a", "gsm7", 2, 161),
        ("中" * 70, "ucs2", 1, 70),
        ("中" * 71, "ucs2", 2, 71),
        ("中" * 134, "ucs2", 2, 134),
        ("中" * 135, "ucs2", 3, 135),
        ("😀" * 35, "ucs2", 1, 70),
        ("😀" * 36, "ucs2", 2, 72),
        ("a" * 159 + "€", "gsm7", 2, 161),
        ("a" * 158 + "€", "gsm7", 1, 160),
        ("a" * 69 + "`", "ucs2", 1, 70),
    ],
)
def test_segment_boundaries(text: str, encoding: str, segments: int, units: int) -> None:
    seg = segment(text)
    assert (seg.encoding, seg.segments, seg.units) == (encoding, segments, units)
    check_invariants(text, seg)


def test_ext_char_straddling_boundary_moves_whole() -> None:
    text = "a" * 152 + "€" + "b" * 10  # € would occupy septets 153-154
    seg = segment(text)
    assert seg.parts == ("a" * 152, "€" + "b" * 10)
    assert seg.units == 164
    text = "a" * 151 + "€" + "b" * 10  # € fits exactly as septets 152-153
    assert segment(text).parts == ("a" * 151 + "€", "b" * 10)
    text = "a" * 152 + "€" + "b" * 200  # the part after the moved € must still fit
    seg = segment(text)
    assert seg.parts == ("a" * 152, "€" + "b" * 151, "b" * 49)
    check_invariants(text, seg)


def test_surrogate_pair_straddling_boundary_moves_whole() -> None:
    text = "中" * 66 + "😀" + "中" * 10  # 😀 would occupy units 67-68
    seg = segment(text)
    assert seg.encoding == "ucs2"
    assert seg.parts == ("中" * 66, "😀" + "中" * 10)
    assert seg.units == 78
    text = "中" * 65 + "😀" + "中" * 10
    assert segment(text).parts == ("中" * 65 + "😀", "中" * 10)
    text = "中" * 66 + "😀" + "中" * 100
    seg = segment(text)
    assert seg.parts == ("中" * 66, "😀" + "中" * 65, "中" * 35)
    check_invariants(text, seg)


def test_one_non_gsm_char_switches_whole_text_to_ucs2() -> None:
    seg = segment("a" * 100 + "ç")
    assert seg.encoding == "ucs2"
    assert seg.segments == 2
    assert [len(p) for p in seg.parts] == [67, 34]


def test_segmented_is_frozen() -> None:
    seg = segment("hi")
    with pytest.raises(AttributeError):
        seg.units = 5  # type: ignore[misc]
