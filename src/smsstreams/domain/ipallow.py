"""IP allowlists: validation of entries and matching of client addresses.

Entries are single IPv4/IPv6 addresses or CIDR networks.  A network with host bits set
(``10.0.0.1/8``) is rejected rather than silently widened.  IPv4-mapped IPv6 entries
(``::ffff:1.2.3.4``) are stored in their IPv4 form, and IPv4-mapped client addresses
match IPv4 rules, so dual-stack listeners behave as expected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from smsstreams.domain.errors import ValidationFailed

FIELD: Final = "allowed_ips"

_V4_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed("invalid_ip", message, FIELD)


def _unmap(net: IPNetwork) -> IPNetwork:
    """``::ffff:a.b.c.d/n`` (n >= 96) -> ``a.b.c.d/(n-96)``; anything else unchanged."""
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.subnet_of(_V4_MAPPED):
        v4 = ipaddress.IPv4Address(int(net.network_address) & 0xFFFFFFFF)
        return ipaddress.IPv4Network((v4, net.prefixlen - 96))
    return net


def _canonical(net: IPNetwork) -> str:
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _parse(s: str) -> IPNetwork:
    text = s.strip()
    if not text:
        raise _fail("IP address entry is empty")
    if "%" in text:
        raise _fail(f"{text!r}: zone ids ('%...') are not allowed in allowlist entries")
    if "/" not in text:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            raise _fail(f"{text!r} is not a valid IPv4 or IPv6 address") from None
        return _unmap(ipaddress.ip_network(addr))
    try:
        return _unmap(ipaddress.ip_network(text, strict=True))
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _fail(
            f"{text!r} is not a valid IPv4 or IPv6 address or CIDR network "
            "(expected e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32)"
        ) from None
    raise _fail(
        f"{text!r} has host bits set after the /{loose.prefixlen} prefix; "
        f"did you mean {_canonical(_unmap(loose))}?"
    )


def parse_ip_entry(s: str) -> str:
    """Validate one allowlist entry and return its canonical form.

    Canonical: compressed IPv6, IPv4-mapped IPv6 as IPv4, and a single host written
    without ``/32`` or ``/128``.  Raises :class:`ValidationFailed` (code ``invalid_ip``,
    field ``allowed_ips``).
    """
    return _canonical(_parse(s))


@lru_cache(maxsize=4096)
def _client_address(ip: str) -> tuple[int | None, int | None] | None:
    """``(ipv4_int, ipv6_int)`` for a client address (either may be None); None if garbage.

    An IPv4-mapped IPv6 address yields both.  Cached: the same clients call repeatedly and
    ``ipaddress`` parsing (IPv6 especially) is the expensive part of a check.
    """
    pct = ip.find("%")
    if pct >= 0:
        ip = ip[:pct]
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv4Address):
        return int(addr), None
    mapped = addr.ipv4_mapped
    return (None if mapped is None else int(mapped)), int(addr)


class IpAllowlist:
    """A set of allowed networks, matched per address family with integer masks.

    ``allows`` on an empty allowlist is False; callers that treat "no entries" as "no
    restriction" check :attr:`empty` first.
    """

    __slots__ = ("_entries", "_v4", "_v6")

    def __init__(self, entries: Iterable[str]) -> None:
        nets = [_parse(e) for e in entries]
        self._entries: tuple[str, ...] = tuple(dict.fromkeys(_canonical(n) for n in nets))
        v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
        v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
        self._v4: tuple[tuple[int, int], ...] = tuple(
            (int(n.network_address), int(n.netmask)) for n in ipaddress.collapse_addresses(v4)
        )
        self._v6: tuple[tuple[int, int], ...] = tuple(
            (int(n.network_address), int(n.netmask)) for n in ipaddress.collapse_addresses(v6)
        )

    @property
    def empty(self) -> bool:
        """True when the allowlist has no entries."""
        return not self._entries

    @property
    def entries(self) -> tuple[str, ...]:
        """Canonical entries, duplicates removed, in input order."""
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"IpAllowlist({list(self._entries)!r})"

    def allows(self, ip: str) -> bool:
        """True when client address ``ip`` falls inside an entry.

        IPv6 zone ids are ignored, IPv4-mapped IPv6 addresses match IPv4 rules (as well as
        any IPv6 rule that literally contains them, e.g. ``::/0``), and anything that is
        not an IP address is refused.
        """
        parsed = _client_address(ip)
        if parsed is None:
            return False
        v4, v6 = parsed
        if v6 is not None and any(v6 & mask == net for net, mask in self._v6):
            return True  # includes broad IPv6 rules such as ::/0 covering mapped space
        return v4 is not None and any(v4 & mask == net for net, mask in self._v4)
