"""Routing rules: longest E.164 prefix wins; '+' or '' matches every destination."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsstreams.channels.routing import (
    InvalidPrefix,
    RouteTable,
    display_prefix,
    normalize_prefix,
)

digits = st.text("0123456789", min_size=0, max_size=6).filter(lambda s: not s.startswith("0"))
numbers = st.text("0123456789", min_size=7, max_size=15).filter(lambda s: s[0] != "0")
chains = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=3, unique=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+", ""),
        ("", ""),
        ("+44", "44"),
        ("44", "44"),
        (" +44 20-7 ", "44207"),
        ("+1 (202)", "1202"),
    ],
)
def test_normalize_prefix(raw: str, expected: str) -> None:
    assert normalize_prefix(raw) == expected


@pytest.mark.parametrize("raw", ["+44a", "0044", "+0", "++44", "+" + "1" * 16, "+\uff14\uff14"])
def test_invalid_prefixes(raw: str) -> None:
    with pytest.raises(InvalidPrefix):
        normalize_prefix(raw)


def test_longest_prefix_wins_and_empty_prefix_catches_all() -> None:
    table = RouteTable({"+": ["default"], "+44": ["uk"], "+447": ["uk-mobile", "uk"]})
    assert table.lookup("+447700900123").connectors == ("uk-mobile", "uk")  # type: ignore[union-attr]
    assert table.lookup("+442071234567").connectors == ("uk",)  # type: ignore[union-attr]
    assert table.lookup("+12025550123").connectors == ("default",)  # type: ignore[union-attr]
    assert table.lookup("12025550123").prefix == ""  # type: ignore[union-attr]
    assert RouteTable({"+44": ["uk"]}).lookup("+12025550123") is None
    assert RouteTable({}).lookup("+12025550123") is None
    assert display_prefix("") == "+" and display_prefix("44") == "+44"


def test_a_route_needs_connectors() -> None:
    with pytest.raises(ValueError):
        RouteTable({"+44": []})


@given(st.dictionaries(digits, chains, max_size=8), numbers)
def test_lookup_is_the_longest_matching_prefix(routes: dict[str, list[str]], number: str) -> None:
    table = RouteTable(routes)
    matching = [p for p in routes if number.startswith(p)]
    match = table.lookup("+" + number)
    if not matching:
        assert match is None
    else:
        best = max(matching, key=len)
        assert match is not None and match.prefix == best
        assert match.connectors == tuple(routes[best])


@given(st.dictionaries(digits, chains, max_size=8), numbers, chains)
def test_the_empty_prefix_only_changes_unmatched_numbers(
    routes: dict[str, list[str]], number: str, fallback: list[str]
) -> None:
    without = RouteTable({p: c for p, c in routes.items() if p})
    with_all = RouteTable({**{p: c for p, c in routes.items() if p}, "+": fallback})
    before = without.lookup(number)
    after = with_all.lookup(number)
    assert after is not None
    if before is None:
        assert after.connectors == tuple(fallback) and after.prefix == ""
    else:
        assert after == before


@given(st.dictionaries(digits, chains, max_size=8), digits, chains, numbers)
def test_a_longer_prefix_only_takes_its_own_numbers(
    routes: dict[str, list[str]], prefix: str, chain: list[str], number: str
) -> None:
    before = RouteTable(routes).lookup(number)
    after = RouteTable({**routes, prefix: chain}).lookup(number)
    if number.startswith(prefix) and (before is None or len(prefix) >= len(before.prefix)):
        assert after is not None and after.connectors == tuple(chain)
    else:
        assert after == before


@given(st.dictionaries(digits, chains, max_size=8))
def test_uses_lists_the_prefixes_of_a_connector(routes: dict[str, list[str]]) -> None:
    table = RouteTable(routes)
    for name in "abcd":
        assert table.uses(name) == sorted(p for p, c in routes.items() if name in c)
