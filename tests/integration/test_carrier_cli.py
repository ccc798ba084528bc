"""``smsstreams connector ...`` and ``smsstreams route ...`` as an operator types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.server import Server

ADD = ("connector", "add", "c1", "--host", "smsc.example.net", "--port", "2775",
       "--system-id", "acme", "--password", "s3cr3t")  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [("connector",), ("connector", "add"), ("connector", "list"), ("route",), ("route", "add")],
)
def test_help(args: tuple[str, ...], database_url: str, tmp_path: Path) -> None:
    out = Server(database_url, tmp_path / "data").cli(*args, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout


def test_connectors_and_routes(database_url: str, tmp_path: Path) -> None:
    server = Server(database_url, tmp_path / "data")
    out = server.cli(*ADD, "--window", "50", "--max-per-second", "100", "--concat", "udh16",
                     "--bind", "tx+rx", "--tls")  # fmt: skip
    assert "Connector 'c1' added" in out.stdout and "s3cr3t" not in out.stdout
    server.cli("connector", "add", "c2", "--host", "10.0.0.2", "--port", "2776",
               "--system-id", "acme", "--password", "pw", "--disabled")  # fmt: skip
    dup = server.cli(*ADD, check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    bad = server.cli(*ADD[:-1], "much-too-long-password", check=False)
    assert bad.returncode == 1 and "password: at most 8" in bad.stderr

    assert "every destination -> c1 -> c2" in server.cli("route", "add", "+", "c1", "c2").stdout
    assert "added" in server.cli("route", "add", "+44 7", "c2").stdout
    assert "replaced" in server.cli("route", "add", "+447", "c1").stdout
    unknown = server.cli("route", "add", "+1", "nope", check=False)
    assert unknown.returncode == 1 and "'nope' not found" in unknown.stderr
    invalid = server.cli("route", "add", "0044", "c1", check=False)
    assert invalid.returncode == 1 and "without 00" in invalid.stderr
    routes = json.loads(server.cli("route", "list", "--json").stdout)
    assert routes == [
        {"prefix": "+", "connectors": ["c1", "c2"]},
        {"prefix": "+447", "connectors": ["c1"]},
    ]

    rows = {r["name"]: r for r in json.loads(server.cli("connector", "list", "--json").stdout)}
    assert rows["c1"]["window"] == 50 and rows["c1"]["bind_type"] == "tx+rx"
    assert rows["c1"]["tls"] is True and rows["c1"]["concat"] == "udh16"
    assert rows["c1"]["routes"] == ["+", "+447"] and rows["c1"]["password_set"] is True
    assert rows["c1"]["state"] == "unbound"  # no server runs
    assert rows["c2"]["state"] == "disabled" and rows["c2"]["routes"] == ["+"]
    text = server.cli("connector", "list").stdout
    assert "s3cr3t" not in text and "pw" not in text.split()
    assert "s3cr3t" not in json.dumps(rows)

    in_use = server.cli("connector", "remove", "c2", check=False)
    assert in_use.returncode == 1 and "used by route(s) +" in in_use.stderr
    server.cli("connector", "update", "c1", "--window", "5", "--no-tls", "--password", "n3w")
    server.cli("connector", "enable", "c2")
    rows = {r["name"]: r for r in json.loads(server.cli("connector", "list", "--json").stdout)}
    assert rows["c1"]["window"] == 5 and rows["c1"]["tls"] is False
    assert rows["c2"]["enabled"] is True
    server.cli("route", "remove", "+")
    server.cli("route", "add", "+", "c1")
    server.cli("connector", "remove", "c2")
    missing = server.cli("route", "remove", "+1", check=False)
    assert missing.returncode == 1 and "Route +1 not found" in missing.stderr
    assert [r["name"] for r in json.loads(server.cli("connector", "list", "--json").stdout)] == [
        "c1"
    ]
