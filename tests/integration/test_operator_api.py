"""The operator API's write side against the real server (SQLite and PostgreSQL): connectors
and routes created, changed and removed, JSON errors naming the field, passwords never
returned, and a running server that binds, re-binds and unbinds as the API says."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from smsstreams.smpp.smsc_sim import SimConfig
from tests.support.server import Server, free_port
from tests.support.smsc import SimThread

pytestmark = pytest.mark.timeout(90)

KEY = "operator-key-for-tests"
ENV = {
    "SMSSTREAMS_OPERATOR_KEY": KEY,
    "SMSSTREAMS_CONNECTOR_POLL_SECONDS": "0.2",
    "SMSSTREAMS_CONNECTOR_LEASE_SECONDS": "3",
    "SMSSTREAMS_SMPP_RESPONSE_TIMEOUT_SECONDS": "2",
}
PASSWORD = "s3cr3t"


@pytest.fixture
def server(server_factory: type[Server]) -> Server:
    return server_factory(env=ENV).start()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url + "/api/v1/operator",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    ) as client:
        yield client


def connector(name: str, port: Any, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "host": "127.0.0.1",
        "port": port,
        "system_id": "user",
        "password": PASSWORD,
        **extra,
    }


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == {"code", "message", "field"}
    return body


def test_without_the_key_nothing_is_read_or_changed(server_factory: type[Server]) -> None:
    server = server_factory(env=ENV).start()
    url = server.url + "/api/v1/operator"
    # refused before the body is looked at: a bad body without a key is still 401
    assert error(httpx.post(url + "/connectors", json={"x": 1}), 401)["code"] == (
        "missing_operator_key"
    )
    wrong = {"Authorization": "Bearer nope"}
    for method, path in [
        ("POST", "/connectors"),
        ("PATCH", "/connectors/c1"),
        ("DELETE", "/connectors/c1"),
        ("POST", "/connectors/c1/enable"),
        ("POST", "/connectors/c1/disable"),
        ("GET", "/routes"),
        ("POST", "/routes"),
        ("DELETE", "/routes/+"),
    ]:
        response = httpx.request(method, url + path, json={}, headers=wrong)
        assert error(response, 403)["code"] == "invalid_operator_key", (method, path)
    server.stop()
    without = server_factory(env={}).start()  # no SMSSTREAMS_OPERATOR_KEY: no operator API
    response = httpx.post(
        without.url + "/api/v1/operator/connectors", json={}, headers={"Authorization": "Bearer x"}
    )
    assert error(response, 404)["code"] == "not_found"


def test_connectors_are_created_changed_and_removed(server: Server, api: httpx.Client) -> None:
    seen: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = api.request(method, path, **kwargs)
        seen.append(response.text)
        assert response.status_code < 500, response.text
        return response

    closed = free_port()  # nothing listens: the connector stays down, nothing leaves the host
    created = call("POST", "/connectors", json=connector("c1", closed, window=20))
    assert created.status_code == 201, created.text
    body = created.json()
    assert "password" not in body and body["password_set"] is True
    assert (body["name"], body["port"], body["window"], body["enabled"]) == ("c1", closed, 20, True)
    assert body["bind_type"] == "transceiver" and body["routes"] == []

    # every mistake is a 4xx naming the field
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        (connector("c1", closed), 409, "connector_exists", "name"),
        (connector("c2", closed, password="much-too-long"), 422, "invalid_connector", "password"),
        (connector("c2", 0), 422, "invalid_connector", "port"),
        (connector("c2", "abc"), 422, "invalid_request", "port"),
        (connector("c2", closed, bind_type="both"), 422, "invalid_request", "bind_type"),
        (connector("c2", closed, window=0), 422, "invalid_connector", "window"),
        (connector("c2", closed, window=None), 422, "invalid_request", "window"),
        (connector("c2", closed, max_per_second=-1), 422, "invalid_connector", "max_per_second"),
        (connector("c2", closed, source_npi=2), 422, "invalid_connector", "source_npi"),
        (connector("bad name", closed), 422, "invalid_connector", "name"),
        (connector("c2", closed, host="no host"), 422, "invalid_connector", "host"),
        (connector("c2", closed, system_id=""), 422, "invalid_connector", "system_id"),
        (connector("c2", closed, system_id="a\u0000b"), 422, "invalid_connector", "system_id"),
        (connector("c2", closed, password="p\nw"), 422, "invalid_connector", "password"),
        (connector("c2", closed, passwd="x"), 422, "invalid_request", "passwd"),
        (
            {"name": "c2", "port": 1, "system_id": "u", "password": ""},
            422,
            "invalid_request",
            "host",
        ),
    ]
    for payload, status, code, field in cases:
        got = error(call("POST", "/connectors", json=payload), status)
        assert (got["code"], got["field"]) == (code, field), payload
    not_json = call(
        "POST", "/connectors", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert error(not_json, 400)["code"] == "invalid_json"
    assert error(call("GET", "/connectors/nope"), 404)["field"] == "name"
    assert error(call("GET", "/connectors/a%00b"), 404)["field"] == "name"
    assert error(call("POST", "/connectors/a%00b/disable"), 404)["field"] == "name"

    # PATCH changes what is given; null clears only the optional limits
    changed = call(
        "PATCH", "/connectors/c1", json={"window": 5, "max_per_second": 50, "password": "n3w"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["window"] == 5 and changed.json()["max_per_second"] == 50
    cleared = call("PATCH", "/connectors/c1", json={"max_per_second": None})
    assert cleared.json()["max_per_second"] is None and cleared.json()["window"] == 5
    for payload, status, field in [
        ({"window": None}, 422, "window"),
        ({"name": "c9"}, 422, "name"),
        ({"system_id": "x" * 16}, 422, "system_id"),
        ({"concat": "udh7"}, 422, "concat"),
    ]:
        assert error(call("PATCH", "/connectors/c1", json=payload), status)["field"] == field
    assert error(call("PATCH", "/connectors/nope", json={"window": 3}), 404)["field"] == "name"

    # enable / disable
    disabled = call("POST", "/connectors/c1/disable").json()
    assert disabled["enabled"] is False and disabled["state"] == "disabled"
    assert call("POST", "/connectors/c1/enable").json()["enabled"] is True
    assert error(call("POST", "/connectors/nope/enable"), 404)["field"] == "name"

    # routes
    second = call("POST", "/connectors", json=connector("c2", closed, enabled=False))
    assert second.status_code == 201 and second.json()["state"] == "disabled"
    added = call("POST", "/routes", json={"prefix": "+", "connectors": ["c1"]})
    assert added.status_code == 201 and added.json() == {"prefix": "+", "connectors": ["c1"]}
    replaced = call("POST", "/routes", json={"prefix": "", "connectors": ["c1", "c2"]})
    assert replaced.status_code == 200 and replaced.json()["connectors"] == ["c1", "c2"]
    uk = call("POST", "/routes", json={"prefix": "+44 7", "connectors": ["c2"]})
    assert uk.status_code == 201 and uk.json()["prefix"] == "+447"
    for payload, status, code, field in [
        ({"prefix": "0044", "connectors": ["c1"]}, 422, "invalid_prefix", "prefix"),
        ({"prefix": "+1", "connectors": []}, 422, "invalid_route", "connectors"),
        ({"prefix": "+1", "connectors": ["c1", "c1"]}, 422, "invalid_route", "connectors"),
        ({"prefix": "+1", "connectors": ["nope"]}, 404, "not_found", "connectors"),
        ({"prefix": "+1"}, 422, "invalid_request", "connectors"),
    ]:
        got = error(call("POST", "/routes", json=payload), status)
        assert (got["code"], got["field"]) == (code, field), payload
    for payload in (
        {"prefix": "+1", "connectors": ["a\u0000"]},
        {"prefix": "+1\u0000", "connectors": ["c1"]},
    ):  # a NUL is refused (422) or matches nothing (404), never reaches the database
        response = call("POST", "/routes", json=payload)
        assert response.status_code in (404, 422), response.text
    routes = call("GET", "/routes").json()
    assert routes == {
        "data": [
            {"prefix": "+", "connectors": ["c1", "c2"]},
            {"prefix": "+447", "connectors": ["c2"]},
        ],
        "count": 2,
    }
    assert call("GET", "/connectors/c2").json()["routes"] == ["+", "+447"]

    # a connector that a route uses is not removed
    in_use = error(call("DELETE", "/connectors/c2"), 409)
    assert in_use["code"] == "connector_in_use" and "+447" in in_use["message"]
    assert call("DELETE", "/routes/%2B447").status_code == 204
    assert call("DELETE", "/routes/+").status_code == 204
    assert error(call("DELETE", "/routes/+"), 404)["field"] == "prefix"
    assert error(call("DELETE", "/routes/00"), 422)["field"] == "prefix"
    assert call("DELETE", "/connectors/c2").status_code == 204
    assert error(call("DELETE", "/connectors/c2"), 404)["field"] == "name"
    listed = call("GET", "/connectors").json()
    assert listed["count"] == 1 and listed["data"][0]["name"] == "c1"

    # the password was never sent back, in any answer; the CLI sees the same data
    assert not [text for text in seen if PASSWORD in text or "n3w" in text]
    assert "c1" in server.cli("connector", "list").stdout


def wait_for(predicate: Any, what: str, within: float = 15) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_the_running_server_applies_api_changes(api: httpx.Client) -> None:
    sim = SimThread(SimConfig(credentials={"user": PASSWORD}))
    try:

        def state() -> dict[str, Any]:
            data: dict[str, Any] = api.get("/connectors/sim").json()
            return data

        assert api.post("/connectors", json=connector("sim", sim.port)).status_code == 201
        sim.wait(lambda: sim.bound("user") == 1)
        bound = wait_for(lambda: (s := state())["state"] == "bound" and s, "bound")
        assert bound["held_by"] and bound["stats"]["binds"] == 1
        assert bound["stats"]["history"]["step"] == 5 and "per_second_1m" in bound["stats"]

        api.post("/connectors/sim/disable")
        sim.wait(lambda: sim.bound("user") == 0)
        assert state()["state"] == "disabled"
        api.post("/connectors/sim/enable")
        sim.wait(lambda: sim.bound("user") == 1)

        # a wrong password: the server re-binds with it, is refused, and says so
        assert api.patch("/connectors/sim", json={"password": "wrong"}).status_code == 200
        down = wait_for(
            lambda: (s := state())["last_error"] and "ESME_RINVPASWD" in s["last_error"] and s,
            "the bind refusal",
        )
        assert down["state"] in ("down", "connecting")
        assert down["stats"]["error_at"]
        api.patch("/connectors/sim", json={"password": PASSWORD})
        wait_for(lambda: state()["state"] == "bound", "bound again")
        sim.wait(lambda: sim.bound("user") == 1)

        api.post("/connectors/sim/disable")
        assert api.delete("/connectors/sim").status_code == 204
        sim.wait(lambda: sim.bound("user") == 0)
    finally:
        sim.close()
