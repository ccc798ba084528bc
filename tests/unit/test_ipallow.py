"""Tests for IP allowlist entries and matching."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsstreams.domain.errors import ValidationFailed
from smsstreams.domain.ipallow import IpAllowlist, parse_ip_entry


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("203.0.113.7/32", "203.0.113.7"),
        ("203.0.113.0/24", "203.0.113.0/24"),
        ("10.0.0.0/255.0.0.0", "10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8::1/128", "2001:db8::1"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("::/0", "::/0"),
        ("::1", "::1"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("::ffff:0:0/96", "0.0.0.0/0"),
    ],
)
def test_parse_entry_canonical(entry: str, canonical: str) -> None:
    assert parse_ip_entry(entry) == canonical
    assert parse_ip_entry(canonical) == canonical


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("10.0.0.1/8", "did you mean 10.0.0.0/8?"),
        ("192.168.1.77/24", "did you mean 192.168.1.0/24?"),
        ("2001:db8::1/32", "did you mean 2001:db8::/32?"),
        ("10.0.0.0/33", "not a valid IPv4 or IPv6 address or CIDR"),
        ("::/129", "not a valid"),
        ("300.1.1.1", "not a valid IPv4 or IPv6 address"),
        ("010.0.0.1", "not a valid"),
        ("example.com", "not a valid"),
        ("10.0.0.0/", "not a valid"),
        ("fe80::1%eth0", "zone ids"),
    ],
)
def test_parse_entry_errors(entry: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_ip_entry(entry)
    assert info.value.code == "invalid_ip"
    assert info.value.field == "allowed_ips"
    assert reason in info.value.message


def test_ipv4_rules() -> None:
    allow = IpAllowlist(["10.0.0.0/8", "192.0.2.5"])
    assert allow.allows("10.0.0.0")
    assert allow.allows("10.255.255.255")
    assert not allow.allows("11.0.0.0")
    assert not allow.allows("9.255.255.255")
    assert allow.allows("192.0.2.5")
    assert not allow.allows("192.0.2.6")
    assert not allow.allows("2001:db8::1")


def test_ipv4_mapped_client_and_rule() -> None:
    allow = IpAllowlist(["192.0.2.0/24"])
    assert allow.allows("::ffff:192.0.2.10")
    assert allow.allows("::FFFF:c000:020a")
    assert not allow.allows("::ffff:192.0.3.10")
    mapped_rule = IpAllowlist(["::ffff:198.51.100.1"])
    assert mapped_rule.entries == ("198.51.100.1",)
    assert mapped_rule.allows("198.51.100.1")
    assert mapped_rule.allows("::ffff:198.51.100.1")
    # Not mapped: the IPv4-compatible / NAT64 forms are different addresses.
    assert not mapped_rule.allows("::198.51.100.1")
    assert not mapped_rule.allows("64:ff9b::198.51.100.1")


def test_ipv6_rules_and_zone_ids() -> None:
    allow = IpAllowlist(["2001:db8::/32", "fe80::1"])
    assert allow.allows("2001:db8::")
    assert allow.allows("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
    assert not allow.allows("2001:db9::")
    assert allow.allows("fe80::1%eth0")
    assert allow.allows("fe80::1%3")
    assert not allow.allows("fe80::2%eth0")
    assert not allow.allows("10.0.0.1")


def test_prefix_edges() -> None:
    everything4 = IpAllowlist(["0.0.0.0/0"])
    assert everything4.allows("0.0.0.0")
    assert everything4.allows("255.255.255.255")
    assert everything4.allows("::ffff:8.8.8.8")
    assert not everything4.allows("::1")
    everything6 = IpAllowlist(["::/0"])
    assert everything6.allows("::ffff:8.8.8.8")  # literally inside ::/0
    assert everything6.allows("::")
    assert everything6.allows("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
    assert not everything6.allows("127.0.0.1")
    host4 = IpAllowlist(["127.0.0.1/32"])
    assert host4.allows("127.0.0.1") and not host4.allows("127.0.0.2")
    host6 = IpAllowlist(["::1/128"])
    assert host6.allows("::1") and not host6.allows("::2")


@pytest.mark.parametrize(
    "garbage", ["", " ", "localhost", "1.2.3", "1.2.3.4.5", "[::1]", "::1/128", "%eth0", "1.2.3.4 "]
)
def test_garbage_client_ip_is_refused(garbage: str) -> None:
    assert not IpAllowlist(["0.0.0.0/0", "::/0"]).allows(garbage)


def test_empty_allowlist() -> None:
    allow = IpAllowlist([])
    assert allow.empty
    assert len(allow) == 0
    assert not allow.allows("127.0.0.1")
    assert not IpAllowlist(["127.0.0.1"]).empty


def test_entries_canonical_and_deduplicated() -> None:
    allow = IpAllowlist(["10.0.0.0/8", "10.0.0.0/255.0.0.0", "2001:DB8::1/128", "10.1.0.0/16"])
    assert allow.entries == ("10.0.0.0/8", "2001:db8::1", "10.1.0.0/16")
    assert len(allow) == 3


def test_bad_entry_rejected_by_constructor() -> None:
    with pytest.raises(ValidationFailed, match=r"did you mean 10\.0\.0\.0/8"):
        IpAllowlist(["127.0.0.1", "10.0.0.1/8"])


@settings(max_examples=200, deadline=None)
@given(
    st.ip_addresses(v=4),
    st.integers(0, 32),
    st.ip_addresses(v=4),
)
def test_ipv4_matches_stdlib(
    base: ipaddress.IPv4Address, prefix: int, probe: ipaddress.IPv4Address
) -> None:
    net = ipaddress.IPv4Network((base, prefix), strict=False)
    allow = IpAllowlist([str(net)])
    assert allow.allows(str(probe)) is (probe in net)
    assert allow.allows(str(ipaddress.IPv6Address(int(probe) | 0xFFFF00000000))) is (probe in net)


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(v=6), st.integers(0, 128), st.ip_addresses(v=6))
def test_ipv6_matches_stdlib(
    base: ipaddress.IPv6Address, prefix: int, probe: ipaddress.IPv6Address
) -> None:
    net = ipaddress.IPv6Network((base, prefix), strict=False)
    allow = IpAllowlist([str(net)])
    if net.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96")):
        # Stored as the equivalent IPv4 network; still matches the same mapped addresses.
        assert ":" not in allow.entries[0]
    assert allow.allows(str(probe)) is (probe in net)
