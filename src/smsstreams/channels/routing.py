"""Carrier routing: destination prefix -> ordered list of connectors (pure, no I/O).

A rule's prefix is a run of E.164 digits (``"44"``, ``"4420"``); ``"+"`` or ``""`` is the
empty prefix, which matches every destination. For a recipient the rule with the longest
matching prefix wins, and its connectors are tried in order (failover). Which of them are
usable right now (enabled, bound in this process) is the dispatcher's business, not the
table's: a route whose connectors are all unusable does *not* fall back to a shorter
prefix, so that an operator who routes ``+44`` to a dedicated carrier never sends UK
traffic elsewhere by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

MAX_PREFIX: Final = 15  # an E.164 number has at most 15 digits
_SEPARATORS: Final = frozenset(" -.()")


class InvalidPrefix(ValueError):
    """A route prefix that is not E.164 digits."""


def normalize_prefix(raw: str) -> str:
    """``"+44 20"`` -> ``"4420"``; ``"+"`` and ``""`` -> ``""`` (every destination)."""
    text = raw.strip()
    text = text.removeprefix("+")
    if text.startswith("00"):
        raise InvalidPrefix(f"{raw!r}: write the country code without 00 (e.g. +44)")
    digits = "".join(ch for ch in text if ch not in _SEPARATORS)
    if not digits.isascii() or not (digits == "" or digits.isdigit()):
        raise InvalidPrefix(f"{raw!r}: a prefix is '+' followed by E.164 digits")
    if len(digits) > MAX_PREFIX:
        raise InvalidPrefix(f"{raw!r}: longer than an E.164 number ({MAX_PREFIX} digits)")
    if digits.startswith("0"):
        raise InvalidPrefix(f"{raw!r}: an E.164 prefix starts with a country code, not 0")
    return digits


def display_prefix(prefix: str) -> str:
    """How a stored prefix is shown: always with the ``+``."""
    return "+" + prefix


def destination_digits(recipient: str) -> str:
    """The digits of an E.164 recipient (``"+4915..."`` -> ``"4915..."``)."""
    return recipient.strip().removeprefix("+")


@dataclass(frozen=True, slots=True)
class Match:
    prefix: str
    connectors: tuple[str, ...]


class RouteTable:
    """An immutable routing table; :meth:`lookup` is a few dict probes."""

    __slots__ = ("_lengths", "_routes")

    def __init__(self, routes: Mapping[str, Sequence[str]] | Iterable[tuple[str, Sequence[str]]]):
        items = routes.items() if isinstance(routes, Mapping) else routes
        self._routes: dict[str, tuple[str, ...]] = {}
        for prefix, connectors in items:
            key = normalize_prefix(prefix)
            if not connectors:
                raise ValueError(f"route {display_prefix(key)} has no connectors")
            self._routes[key] = tuple(connectors)
        self._lengths = sorted({len(p) for p in self._routes}, reverse=True)

    def __len__(self) -> int:
        return len(self._routes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RouteTable) and self._routes == other._routes

    def __hash__(self) -> int:
        return hash(frozenset(self._routes.items()))

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return sorted(self._routes.items())

    def lookup(self, recipient: str) -> Match | None:
        """The rule for ``recipient`` (E.164, with or without ``+``), or None."""
        digits = destination_digits(recipient)
        for length in self._lengths:
            if length > len(digits):
                continue
            prefix = digits[:length]
            connectors = self._routes.get(prefix)
            if connectors is not None:
                return Match(prefix, connectors)
        return None

    def uses(self, connector: str) -> list[str]:
        """The prefixes whose connector list names ``connector``."""
        return sorted(p for p, names in self._routes.items() if connector in names)


EMPTY: Final = RouteTable({})
