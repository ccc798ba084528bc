"""Management API through the real server: sender IDs and streams, errors, account scope."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import Api
from tests.support.server import Server


@pytest.fixture
def api(live_server: Server) -> Iterator[Api]:
    client = Api(live_server)
    yield client
    client.close()


@pytest.fixture
def other(live_server: Server) -> Iterator[Api]:
    client = Api(live_server, live_server.create_account("Other"))
    yield client
    client.close()


def _error(r: httpx.Response, status: int, code: str, field: str | None = "?") -> dict[str, object]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    if field != "?":
        assert error["field"] == field, error
    return dict(error)


def test_api_key_is_required_and_checked(live_server: Server) -> None:
    r = httpx.get(live_server.url + "/api/v1/streams")
    _error(r, 401, "missing_api_key")
    r = httpx.get(live_server.url + "/api/v1/streams", headers={"Authorization": "Bearer ssk_nope"})
    _error(r, 401, "invalid_api_key")


def test_sender_ids_lifecycle(api: Api) -> None:
    alpha = api.sender("Acme")
    numeric = api.sender("+12025550100")
    assert alpha["kind"] == "alphanumeric"
    assert numeric == {**numeric, "value": "12025550100", "kind": "numeric"}
    listed = api.http.get("/api/v1/sender-ids").json()
    assert [s["value"] for s in listed["data"]] == ["12025550100", "Acme"]
    _error(
        api.http.post("/api/v1/sender-ids", json={"value": "Acme"}), 409, "sender_exists", "value"
    )
    assert api.http.delete(f"/api/v1/sender-ids/{alpha['id']}").status_code == 204
    assert [s["value"] for s in api.http.get("/api/v1/sender-ids").json()["data"]] == [
        "12025550100"
    ]


@pytest.mark.parametrize(
    "value", ["", "TwelveChars1", "Ac_me", "12345678901234567", "12 34", "   "]
)
def test_invalid_sender_ids_are_refused_with_the_field(api: Api, value: str) -> None:
    _error(
        api.http.post("/api/v1/sender-ids", json={"value": value}), 422, "invalid_sender", "value"
    )


def test_sender_in_use_cannot_be_deleted(api: Api) -> None:
    sender = api.sender("12025550101")
    api.stream(name="Uses it", default_sender="12025550101")
    r = api.http.delete(f"/api/v1/sender-ids/{sender['id']}")
    error = _error(r, 409, "sender_in_use")
    assert "Uses it" in str(error["message"])


def test_draft_then_activate_returns_token_once(api: Api) -> None:
    r = api.http.post(
        "/api/v1/streams",
        json={"name": "Draft one", "state": "draft", "wizard_step": 2, "tags": ["otp", "eu"]},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"] is None
    stream = body["stream"]
    assert (stream["state"], stream["wizard_step"], stream["token_prefix"]) == ("draft", 2, None)
    assert stream["tags"] == ["eu", "otp"]
    r = api.http.patch(f"/api/v1/streams/{stream['id']}", json={"state": "active"})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert token.startswith("sst_")
    assert r.json()["stream"]["token_prefix"] == token[:10]
    again = api.http.get(f"/api/v1/streams/{stream['id']}").json()
    assert again["state"] == "active" and "token" not in again
    # activating again issues nothing new
    r = api.http.patch(f"/api/v1/streams/{stream['id']}", json={"state": "active"})
    assert r.json()["token"] is None


def test_stream_fields_are_validated(api: Api) -> None:
    api.sender("Acme")
    cases = [
        ({"name": "  "}, "required", "name"),
        ({"name": "x", "allowed_ips": ["10.0.0.1/8"]}, "invalid_ip", "allowed_ips"),
        ({"name": "x", "allowed_ips": ["300.1.1.1"]}, "invalid_ip", "allowed_ips"),
        ({"name": "x", "default_sender": "Nobody"}, "unknown_sender", "default_sender"),
        (
            {"name": "x", "direction": "two_way", "default_sender": "Acme"},
            "sender_cannot_receive",
            "default_sender",
        ),
        (
            {"name": "x", "webhook": {"method": "POST", "url": "ftp://x"}},
            "invalid_url",
            "webhook.url",
        ),
        (
            {
                "name": "x",
                "webhook": {
                    "url": "https://e.test/h",
                    "headers": [{"name": "Bad Name", "value": "v"}],
                },
            },
            "invalid_header",
            "webhook.headers",
        ),
    ]
    for body, code, field in cases:
        _error(api.http.post("/api/v1/streams", json=body), 422, code, field)
    r = api.http.post("/api/v1/streams", json={"name": "x", "direction": "sideways"})
    _error(r, 422, "invalid_request", "direction")
    r = api.http.post(
        "/api/v1/streams", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = api.http.post(
        "/api/v1/streams", content=b'{"name": "x"}', headers={"Content-Type": "text/plain"}
    )
    _error(r, 415, "unsupported_media_type")


def test_ipv6_and_cidr_entries_are_canonical(api: Api) -> None:
    stream, _ = api.stream(
        allowed_ips=["2001:DB8::1", "192.168.0.0/24", "::ffff:10.0.0.1", "10.1.2.3/32"]
    )
    assert stream["allowed_ips"] == ["2001:db8::1", "192.168.0.0/24", "10.0.0.1", "10.1.2.3"]


def test_list_is_newest_first_searchable_filterable_paginated(api: Api) -> None:
    ids = []
    for i, tags in enumerate([["a"], ["b"], ["a", "b"], []]):
        stream, _ = api.stream(name=f"Stream {i} {'Login' if i % 2 else 'Pay'}", tags=tags)
        ids.append(stream["id"])
    listed = api.http.get("/api/v1/streams").json()
    assert [s["id"] for s in listed["data"]] == ids[::-1]
    assert listed["count"] == 4
    login = api.http.get("/api/v1/streams", params={"search": "login"}).json()
    assert {s["id"] for s in login["data"]} == {ids[1], ids[3]}
    tagged = api.http.get("/api/v1/streams", params={"tag": "a"}).json()
    assert [s["id"] for s in tagged["data"]] == [ids[2], ids[0]]
    page2 = api.http.get("/api/v1/streams", params={"per_page": 3, "page": 2}).json()
    assert [s["id"] for s in page2["data"]] == [ids[0]] and page2["count"] == 4
    r = api.http.get("/api/v1/streams", params={"per_page": 0})
    _error(r, 422, "invalid_request", "per_page")


def test_update_pause_resume_regenerate_delete(api: Api) -> None:
    stream, token = api.stream(name="Lifecycle")
    sid = stream["id"]
    r = api.http.patch(
        f"/api/v1/streams/{sid}",
        json={
            "description": "For logins",
            "tags": ["x"],
            "webhook": {
                "method": "GET",
                "url": "https://hooks.example/in",
                "headers": [{"name": "X-Key", "value": "1"}],
            },
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()["stream"]
    assert updated["description"] == "For logins" and updated["tags"] == ["x"]
    assert updated["webhook"] == {
        "method": "GET",
        "url": "https://hooks.example/in",
        "headers": [{"name": "X-Key", "value": "1"}],
    }
    assert api.http.post(f"/api/v1/streams/{sid}/pause").json()["state"] == "paused"
    assert api.http.post(f"/api/v1/streams/{sid}/resume").json()["state"] == "active"
    regenerated = api.http.post(f"/api/v1/streams/{sid}/token").json()
    assert regenerated["token"] != token and regenerated["token"].startswith("sst_")
    assert api.http.delete(f"/api/v1/streams/{sid}").status_code == 204
    _error(api.http.get(f"/api/v1/streams/{sid}"), 404, "not_found")


def test_draft_cannot_be_paused_or_get_token(api: Api) -> None:
    r = api.http.post("/api/v1/streams", json={"name": "d"})
    sid = r.json()["stream"]["id"]
    _error(api.http.post(f"/api/v1/streams/{sid}/pause"), 409, "invalid_state")
    _error(api.http.post(f"/api/v1/streams/{sid}/token"), 409, "invalid_state")


def test_other_accounts_streams_are_404(api: Api, other: Api) -> None:
    stream, _ = api.stream(name="Mine")
    sender = api.sender("Mine")
    sid = stream["id"]
    for method, path, body in [
        ("GET", f"/api/v1/streams/{sid}", None),
        ("PATCH", f"/api/v1/streams/{sid}", {"name": "stolen"}),
        ("POST", f"/api/v1/streams/{sid}/pause", None),
        ("POST", f"/api/v1/streams/{sid}/token", None),
        ("GET", f"/api/v1/streams/{sid}/stats", None),
        ("GET", f"/api/v1/streams/{sid}/messages", None),
        ("DELETE", f"/api/v1/streams/{sid}", None),
        ("DELETE", f"/api/v1/sender-ids/{sender['id']}", None),
    ]:
        r = other.http.request(method, path, json=body)
        _error(r, 404, "not_found")
    assert other.http.get("/api/v1/streams").json()["count"] == 0
    assert api.http.get(f"/api/v1/streams/{sid}").json()["name"] == "Mine"
    # other account may not use my sender ID as its default
    _error(
        other.http.post("/api/v1/streams", json={"name": "x", "default_sender": "Mine"}),
        422,
        "unknown_sender",
    )
