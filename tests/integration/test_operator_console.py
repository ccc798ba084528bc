"""The console's Carriers pages over plain HTTP against the real server (SQLite and
PostgreSQL), and ``smsstreams operator ...``: only operators see them (404 for everyone
else), CSRF on every change, enable/disable/remove with a flash, the add form with every
field's error next to it and the password never shown back, routes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, free_port

PASSWORD = "correct horse"  # what Server.create_account sets
SECRET = "pw-5ecr"
ENV = {"SMSSTREAMS_CONNECTOR_POLL_SECONDS": "0.2"}
OPERATOR_URLS = [
    ("GET", "/operator"),
    ("GET", "/operator/connectors"),
    ("GET", "/operator/connectors/live"),
    ("POST", "/operator/connectors"),
    ("POST", "/operator/connectors/c1/enable"),
    ("POST", "/operator/connectors/c1/disable"),
    ("POST", "/operator/connectors/c1/remove"),
    ("POST", "/operator/routes"),
    ("POST", "/operator/routes/remove"),
]


@pytest.fixture
def server(server_factory: type[Server]) -> Server:
    return server_factory(env=ENV).start()


def _csrf(client: httpx.Client, path: str = "/signin") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF field on " + path
    return match.group(1)


@contextmanager
def _signed_in(server: Server, email: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as client:
        response = client.post(
            "/signin", data={"csrf_token": _csrf(client), "email": email, "password": PASSWORD}
        )
        assert response.status_code == 303, response.text
        yield client


def _flashes(page: str) -> list[str]:
    return re.findall(r'<div class="flash flash-\w+"[^>]*>([^<]*)</div>', page)


def _add_connector(server: Server, name: str, port: int, *extra: str) -> None:
    server.cli(
        "connector", "add", name, "--host", "127.0.0.1", "--port", str(port),
        "--system-id", "acme", "--password", SECRET, *extra,
    )  # fmt: skip


def test_operator_cli(database_url: str, tmp_path: Path) -> None:
    server = Server(database_url, tmp_path / "data")
    for args in (("operator",), ("operator", "grant"), ("operator", "revoke")):
        out = server.cli(*args, "--help")
        assert out.returncode == 0 and "usage:" in out.stdout
    assert "--operator" in server.cli("account", "create", "--help").stdout
    missing = server.cli("operator", check=False)
    assert missing.returncode == 2 and "usage:" in missing.stderr

    out = server.cli(
        "account", "create", "--name", "Ops", "--email", "ops@example.test",
        "--password", PASSWORD, "--operator",
    )  # fmt: skip
    assert "user ops@example.test (operator)" in out.stdout
    made = server.cli(
        "account", "create", "--name", "Acme", "--email", "Dev@Example.test",
        "--password", PASSWORD, "--json",
    )  # fmt: skip
    assert json.loads(made.stdout)["operator"] is False
    assert json.loads(server.cli("operator", "list", "--json").stdout) == ["ops@example.test"]

    granted = server.cli("operator", "grant", "DEV@example.test")
    assert "is now an operator" in granted.stdout
    assert "already an operator" in server.cli("operator", "grant", "dev@example.test").stdout
    assert server.cli("operator", "list").stdout.split() == ["dev@example.test", "ops@example.test"]
    assert "no longer an operator" in server.cli("operator", "revoke", "ops@example.test").stdout
    assert "was not an operator" in server.cli("operator", "revoke", "ops@example.test").stdout
    unknown = server.cli("operator", "grant", "nobody@example.test", check=False)
    assert unknown.returncode == 1
    assert "User 'nobody@example.test' not found" in unknown.stderr
    invalid = server.cli("operator", "revoke", "not-an-email", check=False)
    assert invalid.returncode == 1 and "valid email" in invalid.stderr
    server.cli("operator", "revoke", "dev@example.test")
    assert "No operators" in server.cli("operator", "list").stdout


def test_only_operators_see_the_carriers_pages(server: Server) -> None:
    _add_connector(server, "c1", free_port())
    anonymous = httpx.Client(base_url=server.url, follow_redirects=False, timeout=10)
    response = anonymous.get("/operator/connectors")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/operator/connectors"

    email = server.create_account("Customer")["email"]
    with _signed_in(server, email) as client:
        streams = client.get("/streams")
        assert streams.status_code == 200 and "/operator/connectors" not in streams.text
        token = _csrf(client, "/streams")
        for method, path in OPERATOR_URLS:
            response = client.request(method, path, data={"csrf_token": token})
            assert response.status_code == 404, (method, path, response.status_code)
            assert "There is nothing at this address." in response.text
            assert "c1" not in response.text
        assert "disabled" not in server.cli("connector", "list").stdout  # nothing changed

        # granted while signed in: the next page load shows the pages
        server.cli("operator", "grant", email)
        page = client.get("/streams")
        assert 'href="/operator/connectors"' in page.text and ">Carriers<" in page.text
        assert client.get("/operator/connectors").status_code == 200
        assert client.get("/operator").headers["location"] == "/operator/connectors"
        server.cli("operator", "revoke", email)
        assert client.get("/operator/connectors").status_code == 404
    anonymous.close()


def test_operator_sees_and_changes_connectors(server: Server) -> None:
    closed = free_port()
    _add_connector(server, "c1", closed, "--window", "7")
    _add_connector(server, "c2", closed, "--disabled", "--bind", "tx+rx", "--tls")
    server.cli("route", "add", "+", "c1", "c2")
    email = server.create_account("Ops")["email"]
    server.cli("operator", "grant", email)
    with _signed_in(server, email) as client:
        page = client.get("/operator/connectors")
        assert page.status_code == 200
        html = page.text
        assert 'aria-current="page"' in html and "<h1>Carriers</h1>" in html
        assert f"127.0.0.1:{closed}" in html and "tx+rx · TLS" in html
        assert 'hx-get="/operator/connectors/live" hx-trigger="every 2s"' in html
        assert SECRET not in html
        assert re.search(r'id="connector-c2" data-state="disabled"', html)
        # the route chain, in failover order
        assert re.search(r"<ol class=\"chain\">.*c1.*c2.*</ol>", html, re.S)

        # c1 cannot connect (nothing listens): the live partial says so, with the error
        def live() -> str:
            response = client.get("/operator/connectors/live", headers={"HX-Request": "true"})
            assert response.status_code == 200
            assert "<html" not in response.text  # a fragment, not a page
            return response.text

        for _ in range(100):
            fragment = live()
            if re.search(r'id="connector-c1" data-state="(down|connecting)"', fragment) and (
                "cannot connect" in fragment
            ):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("c1 never showed as down with its error:\n" + fragment)
        assert '0</strong> <span class="muted">/ 7' in fragment  # in flight / window

        # CSRF on every change
        token = _csrf(client, "/operator/connectors")
        refused = client.post("/operator/connectors/c1/disable")
        assert refused.status_code == 403 and "Form expired" in refused.text
        assert json.loads(server.cli("connector", "list", "--json").stdout)[0]["enabled"]

        done = client.post("/operator/connectors/c1/disable", data={"csrf_token": token})
        assert done.status_code == 303 and done.headers["location"] == "/operator/connectors"
        page = client.get("/operator/connectors").text
        assert _flashes(page) == ["Connector c1 disabled: the server unbinds it; routes skip it."]
        assert re.search(r'id="connector-c1" data-state="disabled"', page)
        client.post("/operator/connectors/c2/enable", data={"csrf_token": token})
        rows = {r["name"]: r for r in json.loads(server.cli("connector", "list", "--json").stdout)}
        assert rows["c1"]["enabled"] is False and rows["c2"]["enabled"] is True
        missing = client.post("/operator/connectors/nope/enable", data={"csrf_token": token})
        assert missing.status_code == 404 and "Connector &#39;nope&#39; not found" in missing.text

        # removing a connector that a route uses is refused, with the reason
        client.post("/operator/connectors/c2/remove", data={"csrf_token": token})
        page = client.get("/operator/connectors").text
        assert _flashes(page) == [
            "Connector &#39;c2&#39; is used by route(s) +; change or remove them first"
        ]
        assert 'class="flash flash-error"' in page

        # routes: replace, refuse, remove
        client.post(
            "/operator/routes", data={"csrf_token": token, "prefix": "+", "connectors": "c2"}
        )
        assert "Route + replaced: c2." in _flashes(client.get("/operator/connectors").text)[0]
        bad = client.post(
            "/operator/routes", data={"csrf_token": token, "prefix": "0044", "connectors": "c9"}
        )
        assert bad.status_code == 422
        assert re.search(r'id="error-route_prefix"[^>]*>[^<]*without 00', bad.text)
        assert 'value="0044"' in bad.text and 'value="c9"' in bad.text
        unknown = client.post(
            "/operator/routes", data={"csrf_token": token, "prefix": "+44", "connectors": "c9"}
        )
        assert re.search(
            r'id="error-route_connectors"[^>]*>Connector &#39;c9&#39; not found', unknown.text
        )
        client.post("/operator/connectors/c1/remove", data={"csrf_token": token})
        assert _flashes(client.get("/operator/connectors").text) == [
            "Connector c1 removed: the server unbinds it."
        ]
        client.post("/operator/routes/remove", data={"csrf_token": token, "prefix": "+"})
        assert _flashes(client.get("/operator/connectors").text) == ["Route + removed."]
        assert json.loads(server.cli("route", "list", "--json").stdout) == []


def test_add_connector_form(server: Server) -> None:
    email = server.create_account("Ops")["email"]
    server.cli("operator", "grant", email)
    with _signed_in(server, email) as client:
        token = _csrf(client, "/operator/connectors")
        form = {
            "csrf_token": token,
            "name": "bad name",
            "host": "smsc.example.net",
            "port": "70000",
            "system_id": "",
            "password": "far-too-long-password",
            "bind_type": "transceiver",
            "window": "many",
            "max_per_second": "",
            "source_ton": "9",
            "concat": "udh8",
            "id_format": "auto",
            "receipt_id_format": "auto",
            "default_alphabet": "gsm7",
            "tls": "on",
        }
        page = client.post("/operator/connectors", data=form)
        assert page.status_code == 422
        errors = dict(
            re.findall(r'<p class="field-error" id="error-(\w+)"[^>]*>([^<]+)</p>', page.text)
        )
        assert set(errors) == {"name", "port", "system_id", "password", "window", "source_ton"}
        assert errors["port"] == "port: 1-65535"
        assert errors["password"] == "password: at most 8 ASCII characters (SMPP 3.4 limit)"
        assert errors["window"] == "window: a whole number, 1-1000"
        assert 'id="name" name="name" value="bad name"' in page.text
        assert 'name="tls" checked' in page.text
        assert 'aria-invalid="true"' in page.text
        assert "far-too-long-password" not in page.text  # never shown back
        assert '<details class="field field-wide more-settings" open>' in page.text  # source TON
        assert json.loads(server.cli("connector", "list", "--json").stdout) == []

        form.update(
            name="carrier-a", port="2775", system_id="acme", password=SECRET, window="50",
            source_ton="", max_per_second="12.5", start_disabled="on",
        )  # fmt: skip
        done = client.post("/operator/connectors", data=form)
        assert done.status_code == 303, done.text
        page = client.get("/operator/connectors").text
        assert _flashes(page) == ["Connector carrier-a added (smsc.example.net:2775), disabled."]
        assert SECRET not in page
        (row,) = json.loads(server.cli("connector", "list", "--json").stdout)
        assert (row["name"], row["host"], row["port"], row["window"]) == (
            "carrier-a", "smsc.example.net", 2775, 50,
        )  # fmt: skip
        assert row["max_per_second"] == 12.5 and row["tls"] is True and row["enabled"] is False
        assert row["source_ton"] is None and row["password_set"] is True

        again = client.post("/operator/connectors", data=form)
        assert again.status_code == 422
        assert re.search(
            r'id="error-name"[^>]*>Connector &#39;carrier-a&#39; already exists', again.text
        )
