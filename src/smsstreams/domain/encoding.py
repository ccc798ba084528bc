"""SMS text encoding (GSM 03.38 7-bit / UCS-2) and message segmentation.

GSM-7 is the 3GPP TS 23.038 default alphabet: 128 basic characters plus an extension table
reached through the escape septet ``0x1B`` (each extension character costs two septets).
Text that does not fit GSM-7 is sent as UCS-2, which we emit as UTF-16-BE so that
characters outside the BMP (emoji) travel as surrogate pairs.

Limits: a single SMS carries 160 septets or 70 UTF-16 code units; in a concatenated
message each part loses room to the UDH and carries 153 septets or 67 code units.  An
escape pair and a surrogate pair are never split across parts.

All lookup tables and patterns are built once at import time; the per-message functions
only use C-level string operations (regex match, ``str.translate``, slicing, counting)
except on rare paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import AnyStr, Final, Literal

Encoding = Literal["gsm7", "ucs2"]

GSM7_SINGLE_SEPTETS: Final = 160
GSM7_PART_SEPTETS: Final = 153
UCS2_SINGLE_UNITS: Final = 70
UCS2_PART_UNITS: Final = 67

ESC: Final = 0x1B

# fmt: off
# Basic table, index = septet value.  0x1B is the escape to the extension table, not a
# character; the placeholder is never put in the lookup tables.
_BASIC_TABLE: Final[tuple[str, ...]] = (
    "@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
    "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", "\x1b", "Æ", "æ", "ß", "É",
    " ", "!", '"', "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
    "¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
    "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
    "¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
    "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
)
# fmt: on
assert len(_BASIC_TABLE) == 128

# Extension table: character -> code following the escape septet.
_EXT_TABLE: Final[dict[str, int]] = {
    "\x0c": 0x0A,  # form feed (page break)
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

#: Characters that cost one septet.
GSM7_BASIC_CHARS: Final[frozenset[str]] = frozenset(_BASIC_TABLE) - {"\x1b"}
#: Characters that cost two septets (escape + code).
GSM7_EXT_CHARS: Final[frozenset[str]] = frozenset(_EXT_TABLE)
#: Every character representable in GSM-7.
GSM7_CHARS: Final[frozenset[str]] = GSM7_BASIC_CHARS | GSM7_EXT_CHARS
_EXT_CHAR_LIST: Final = tuple(_EXT_TABLE)

# Whole-string membership checks: a possessive character-class regex is several times
# faster than frozenset.issuperset on message-sized strings.
_GSM7_BASIC_RE: Final = re.compile(
    "[" + "".join(re.escape(c) for c in sorted(GSM7_BASIC_CHARS)) + "]*+"
)
_GSM7_RE: Final = re.compile("[" + "".join(re.escape(c) for c in sorted(GSM7_CHARS)) + "]*+")

# str.translate table: code point -> unpacked septet(s) as latin-1 characters.
_ENCODE_MAP: Final[dict[int, str]] = {
    **{ord(c): chr(i) for i, c in enumerate(_BASIC_TABLE) if i != ESC},
    **{ord(c): chr(ESC) + chr(code) for c, code in _EXT_TABLE.items()},
}
# Decoding escapes, applied to already basic-translated text with str.replace in order:
# ESC ESC (reserved) reads as a space and goes first, so that runs of ESC pair up left to
# right; then each "ESC + basic char of an extension code" becomes the extension char.
# Remaining ESCs (codes missing from the extension table, 3GPP 23.038 §6.2.1.1: show the
# basic char) are deleted by the caller.
_ESCAPE_REPLACEMENTS: Final[tuple[tuple[str, str], ...]] = (
    ("\x1b\x1b", " "),
    *(("\x1b" + _BASIC_TABLE[code], c) for c, code in _EXT_TABLE.items()),
)
# bytes.translate table: high byte of a UTF-16 code unit -> 1 if high surrogate else 0.
_HIGH_SURROGATE_FLAGS: Final = bytes(1 if 0xD8 <= b <= 0xDB else 0 for b in range(256))


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 basic or extension table."""
    return _GSM7_RE.fullmatch(text) is not None


def _unencodable(text: str) -> ValueError:
    for i, ch in enumerate(text):
        if ch not in GSM7_CHARS:
            return ValueError(f"character {ch!r} (U+{ord(ch):04X}) at index {i} is not in GSM-7")
    return ValueError("text is not GSM-7")  # pragma: no cover - only called on bad text


def gsm7_encode(text: str) -> bytes:
    """Encode to unpacked GSM-7: one septet per byte, extension chars as ``0x1B, code``.

    This is what SMPP ``data_coding=0`` usually carries.  Raises ``ValueError`` for a
    character outside GSM-7.
    """
    if _GSM7_RE.fullmatch(text) is None:
        raise _unencodable(text)
    return text.translate(_ENCODE_MAP).encode("latin-1")


def gsm7_septets(text: str) -> list[int]:
    """Unpacked septet values of ``text`` (extension chars as ``[0x1B, code]``).

    Raises ``ValueError`` for a character outside GSM-7.
    """
    return list(gsm7_encode(text))


def gsm7_decode(data: bytes) -> str:
    """Decode unpacked GSM-7 (one septet per byte), the inverse of :func:`gsm7_encode`.

    An escape followed by a code missing from the extension table yields the basic-table
    character for that code; ``ESC ESC`` yields a space; a trailing lone escape is
    dropped.  Raises ``ValueError`` for a byte above ``0x7F``.
    """
    if not data.isascii():
        bad = next(b for b in data if b > 0x7F)
        raise ValueError(f"byte 0x{bad:02X} is not a GSM-7 septet")
    # ESC maps to itself in _BASIC_TABLE; escape pairs are then resolved on the result.
    s = data.decode("ascii").translate(_BASIC_TABLE)
    if "\x1b" not in s:
        return s
    for pair, char in _ESCAPE_REPLACEMENTS:
        s = s.replace(pair, char)
    return s.replace("\x1b", "")  # unknown code: keep the basic char; lone trailing ESC


def _check_fill_bits(fill_bits: int) -> None:
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be between 0 and 6, got {fill_bits}")


# Packing works on whole big integers instead of looping over septets.  ``int.from_bytes``
# puts septet i at bit 8*i; _PACK_LEVELS squeezes pairs of neighbouring groups together
# (1, 2, 4, ... septets wide) until septet i sits at bit 7*i.  Unpacking runs the levels
# backwards.  Masks cover one block of _BLOCK septets (a whole number of octets packed).
_BLOCK: Final = 256
_PACKED_BLOCK_BYTES: Final = _BLOCK * 7 // 8


def _pack_levels() -> tuple[tuple[int, int, int], ...]:
    levels = []
    width = 1  # septets per group before merging
    while width < _BLOCK:
        lane = 16 * width  # bits per lane (two source groups of 8*width bits)
        low = (1 << (7 * width)) - 1
        lo_mask = hi_mask = 0
        for lane_start in range(0, 8 * _BLOCK, lane):
            lo_mask |= low << lane_start
            hi_mask |= low << (lane_start + 8 * width)
        levels.append((lo_mask, hi_mask, width))  # the high group moves down by `width` bits
        width *= 2
    return tuple(levels)


_PACK_LEVELS: Final = _pack_levels()


def _compact(block: bytes) -> int:
    """Septets one per byte (at most _BLOCK) -> integer with septet i at bit 7*i."""
    n = len(block)
    x = int.from_bytes(block, "little")
    for lo, hi, width in _PACK_LEVELS:
        if width >= n:  # everything already sits in the first group
            break
        x = (x & lo) | ((x & hi) >> width)
    return x


def _expand(x: int, n: int) -> int:
    """Inverse of :func:`_compact` for ``n`` septets."""
    for lo, hi, width in reversed(_PACK_LEVELS):
        if width < n:
            x = (x & lo) | ((x << width) & hi)
    return x


def gsm7_pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets (one per byte) into octets, least significant bit first (23.038 §6.1.2.1).

    ``fill_bits`` (0-6) zero bits are placed before the first septet so that it starts on
    a septet boundary after a UDH.  Unused bits of the last octet are zero (no CR padding
    is added; carry the septet count separately).
    """
    _check_fill_bits(fill_bits)
    n = len(septets)
    if not n:
        return b""
    if max(septets) > 0x7F:
        bad = next(s for s in septets if s > 0x7F)
        raise ValueError(f"0x{bad:02X} is not a septet")
    data = bytes(septets)
    if n <= _BLOCK:
        x = _compact(data)
    else:
        x = 0
        for i, start in enumerate(range(0, n, _BLOCK)):
            x |= _compact(data[start : start + _BLOCK]) << (8 * _PACKED_BLOCK_BYTES * i)
    return (x << fill_bits).to_bytes((fill_bits + 7 * n + 7) // 8, "little")


def gsm7_unpack(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Unpack ``count`` septets from packed octets; inverse of :func:`gsm7_pack`.

    ``fill_bits`` (0-6) leading bits are skipped.  Raises ``ValueError`` when ``data`` is
    too short to hold ``count`` septets.
    """
    _check_fill_bits(fill_bits)
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if not count:
        return b""
    needed = (fill_bits + 7 * count + 7) // 8
    if len(data) < needed:
        raise ValueError(f"{count} septets need {needed} octets, got {len(data)}")
    x = int.from_bytes(data[:needed], "little") >> fill_bits
    x &= (1 << (7 * count)) - 1
    if count <= _BLOCK:
        return _expand(x, count).to_bytes(count, "little")
    block_bits = 8 * _PACKED_BLOCK_BYTES
    block_mask = (1 << block_bits) - 1
    out = []
    for i in range(0, count, _BLOCK):
        size = min(_BLOCK, count - i)
        out.append(_expand(x & block_mask, size).to_bytes(size, "little"))
        x >>= block_bits
    return b"".join(out)


def ucs2_encode(text: str) -> bytes:
    """Encode as UTF-16-BE (astral characters become surrogate pairs).

    Raises ``ValueError`` (``UnicodeEncodeError``) for lone surrogate code points.
    """
    return text.encode("utf-16-be")


def ucs2_decode(data: bytes, errors: str = "strict") -> str:
    """Decode UTF-16-BE; with ``errors="strict"`` malformed input raises ``ValueError``."""
    return data.decode("utf-16-be", errors)


@dataclass(frozen=True, slots=True)
class Segmented:
    """A text split into SMS parts.

    ``units`` is the total size: septets for ``gsm7``, UTF-16 code units for ``ucs2``.
    ``"".join(parts)`` is the original text.
    """

    encoding: Encoding
    parts: tuple[str, ...]
    units: int

    @property
    def segments(self) -> int:
        """Number of SMS parts."""
        return len(self.parts)


def _split_units(text: str, units: AnyStr, pair: AnyStr, budget: int) -> tuple[str, ...]:
    """Greedily split ``text`` into parts of at most ``budget`` units, never splitting pairs.

    ``units`` has one element per encoded unit (septet or UTF-16 code unit) and ``pair``
    marks the first unit of each two-unit character (escape septet / high surrogate), so a
    part of ``k`` units with ``p`` pair starts holds ``k - p`` characters.  Everything
    runs in C-level slicing and counting.
    """
    parts: list[str] = []
    total = len(units)
    u = 0  # unit offset
    c = 0  # character offset
    while u < total:
        end = u + budget
        if end < total and units[end - 1 : end] == pair:
            end -= 1  # the pair would straddle the boundary: move it to the next part
        else:
            end = min(end, total)
        nchars = end - u - units.count(pair, u, end)
        parts.append(text[c : c + nchars])
        c += nchars
        u = end
    return tuple(parts)


def _split_slow(text: str, heavy: frozenset[str] | None, budget: int) -> tuple[str, ...]:
    """Per-character greedy split; a char costs 2 if in ``heavy`` (None: outside the BMP)."""
    parts: list[str] = []
    start = 0
    used = 0
    for i, ch in enumerate(text):
        cost = (2 if ch in heavy else 1) if heavy is not None else (2 if ch > "\uffff" else 1)
        if used + cost > budget:
            parts.append(text[start:i])
            start = i
            used = 0
        used += cost
    parts.append(text[start:])
    return tuple(parts)


def _slices(text: str, size: int) -> tuple[str, ...]:
    return tuple(text[i : i + size] for i in range(0, len(text), size))


def segment(text: str) -> Segmented:
    """Choose the encoding for ``text`` and split it into SMS parts.

    GSM-7 (with the extension table) when every character fits, otherwise UCS-2.  Empty
    text gives a single empty part; rejecting empty messages is the caller's job.
    """
    n = len(text)
    if _GSM7_BASIC_RE.fullmatch(text):
        if n <= GSM7_SINGLE_SEPTETS:
            return Segmented("gsm7", (text,), n)
        return Segmented("gsm7", _slices(text, GSM7_PART_SEPTETS), n)
    if _GSM7_RE.fullmatch(text):
        units = n + sum([text.count(c) for c in _EXT_CHAR_LIST])
        if units <= GSM7_SINGLE_SEPTETS:
            return Segmented("gsm7", (text,), units)
        septets = text.translate(_ENCODE_MAP)
        return Segmented("gsm7", _split_units(text, septets, "\x1b", GSM7_PART_SEPTETS), units)
    try:
        utf16 = text.encode("utf-16-be")
    except UnicodeEncodeError:
        # Lone surrogate code points: not encodable, but still count and split them.
        units = len(text.encode("utf-16-be", "surrogatepass")) // 2
        if units <= UCS2_SINGLE_UNITS:
            return Segmented("ucs2", (text,), units)
        return Segmented("ucs2", _split_slow(text, None, UCS2_PART_UNITS), units)
    units = len(utf16) // 2
    if units <= UCS2_SINGLE_UNITS:
        return Segmented("ucs2", (text,), units)
    if units == n:  # BMP only: one unit per character
        return Segmented("ucs2", _slices(text, UCS2_PART_UNITS), n)
    # High byte of every code unit, mapped to 1 for high surrogates and 0 otherwise.
    highs = utf16[0::2].translate(_HIGH_SURROGATE_FLAGS)
    return Segmented("ucs2", _split_units(text, highs, b"\x01", UCS2_PART_UNITS), units)


def count_segments(text: str) -> tuple[Encoding, int]:
    """``(encoding, number_of_parts)`` for ``text``."""
    s = segment(text)
    return s.encoding, len(s.parts)
