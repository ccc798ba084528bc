"""Send and Status API through the real server: every check, per-message results, demo flow."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import DELIVERED_NUMBER, Api, msg
from tests.support.server import Server


@pytest.fixture
def api(live_server: Server) -> Iterator[Api]:
    client = Api(live_server)
    yield client
    client.close()


def _error(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"], error
    return dict(error)


def test_demo_message_goes_queued_sent_delivered(api: Api) -> None:
    api.sender("12025550100")
    _, token = api.stream(default_sender="12025550100")
    assert token
    r = api.send(token, msg("order-1"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] is True
    result = body["messages"][0]
    assert result["internal_id"] == "order-1" and result["status"] == "queued"
    assert (result["encoding"], result["segments"]) == ("gsm7", 1)
    final = api.wait_status(token, result["message_uuid"], {"delivered"})
    assert final["status"] == "delivered", final
    assert final["recipient_phone"] == "+" + DELIVERED_NUMBER
    assert final["sender"] == "12025550100" and final["channel"] == "demo"
    steps = [t["status"] for t in final["transitions"]]
    assert steps == ["queued", "sent", "delivered"]
    times = [t["at"] for t in final["transitions"]]
    assert times == sorted(times)


def test_token_forms_and_aliases(api: Api) -> None:
    _, token = api.stream(default_sender="customized")
    api.sender("Acme")
    for i, (path, header) in enumerate(
        [
            ("/api/v1/sms/send", token),
            ("/api/v1/sms/send", f"Bearer {token}"),
            ("/simple_send/", token),
            ("/simple_send", f"Bearer {token}"),
        ]
    ):
        r = httpx.post(
            api.server.url + path,
            json={"messages": [msg(f"alias-{i}", sender="Acme")]},
            headers={"Authorization": header},
        )
        assert r.status_code == 202, (path, r.text)
        assert "message_uuid" in r.json()["messages"][0], r.text


def test_authentication_and_state_errors(api: Api) -> None:
    _error(
        httpx.post(api.server.url + "/api/v1/sms/send", json={"messages": []}), 401, "missing_token"
    )
    _error(api.send("sst_not-a-token", msg("x")), 401, "invalid_token")
    stream, token = api.stream()
    assert token
    api.http.post(f"/api/v1/streams/{stream['id']}/pause")
    error = _error(api.send(token, msg("paused")), 403, "stream_not_active")
    assert "paused" in str(error["message"])
    api.http.post(f"/api/v1/streams/{stream['id']}/resume")
    assert api.send(token, msg("resumed")).status_code == 202
    new_token = api.http.post(f"/api/v1/streams/{stream['id']}/token").json()["token"]
    _error(api.send(token, msg("old")), 401, "invalid_token")
    assert api.send(new_token, msg("new")).status_code == 202
    api.http.delete(f"/api/v1/streams/{stream['id']}")
    _error(api.send(new_token, msg("deleted")), 401, "invalid_token")


def test_ip_allowlist(api: Api) -> None:
    _, token = api.stream(allowed_ips=[])
    error = _error(api.send(token, msg("a")), 403, "ip_not_allowed")
    assert "empty" in str(error["message"])
    _, token = api.stream(allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    error = _error(api.send(token, msg("b")), 403, "ip_not_allowed")
    assert "127.0.0.1" in str(error["message"])
    _, token = api.stream(allowed_ips=["127.0.0.0/8"])
    assert api.send(token, msg("c")).status_code == 202
    # a forwarded header is ignored unless the operator trusts proxies
    _, token = api.stream(allowed_ips=["203.0.113.7"])
    r = httpx.post(
        api.server.url + "/api/v1/sms/send",
        json={"messages": [msg("d")]},
        headers={"Authorization": token, "X-Forwarded-For": "203.0.113.7"},
    )
    _error(r, 403, "ip_not_allowed")


def test_per_message_results_in_a_batch(api: Api) -> None:
    api.sender("Acme")
    api.sender("12025550100")
    _, token = api.stream(default_sender="customized")
    r = api.send(
        token,
        msg("ok", sender="Acme"),
        msg("bad-phone", phone="12345", sender="Acme"),
        msg("empty", text="", sender="Acme"),
        msg("no-sender"),
        msg("foreign-sender", sender="Other"),
        msg("plus-sender", sender="+12025550100"),
        {"internal_id": "no-phone", "message_content": "hi", "sender": "Acme"},
        "not an object",
        msg("long", text="x" * 2000, sender="Acme"),
    )
    assert r.status_code == 202, r.text
    results = r.json()["messages"]
    assert r.json()["status"] is True
    codes = [m.get("error", {}).get("code") for m in results]
    assert codes == [
        None,
        "invalid_phone",
        "empty_message",
        "sender_required",
        "unknown_sender",
        None,
        "invalid_phone",
        "invalid_message",
        "too_many_segments",
    ]
    fields = [m.get("error", {}).get("field") for m in results]
    assert fields[1:5] == ["recipient_phone", "message_content", "sender", "sender"]
    assert results[0]["message_uuid"] and results[5]["message_uuid"]


def test_nul_character_is_refused_without_failing_the_others(api: Api) -> None:
    """PostgreSQL text cannot hold NUL: such a row must be refused alone, never fail the
    group commit that carries other requests' messages."""
    _, token = api.stream()
    lone_surrogate = '{"messages": [{"internal_id": "s", "recipient_phone": "12025550123", '
    lone_surrogate += '"message_content": "a\\ud800b"}]}'
    r = httpx.post(
        api.server.url + "/api/v1/sms/send",
        content=lone_surrogate,
        headers={"Authorization": token, "Content-Type": "application/json"},
    )
    assert r.status_code == 202, r.text
    assert r.json()["messages"][0]["error"]["code"] == "invalid_message_content"
    r = api.send(token, msg("nul", text="a\x00b"), msg("fine"))
    assert r.status_code == 202, r.text
    results = r.json()["messages"]
    assert results[0]["error"]["code"] == "invalid_message_content"
    assert results[0]["error"]["field"] == "message_content"
    assert api.status(token, results[1]["message_uuid"])["status"] in {
        "queued",
        "sent",
        "delivered",
    }


def test_fixed_sender_stream_refuses_another_sender(api: Api) -> None:
    api.sender("Acme")
    api.sender("Other")
    _, token = api.stream(default_sender="Acme")
    r = api.send(token, msg("same", sender="Acme"), msg("none"), msg("diff", sender="Other"))
    results = r.json()["messages"]
    assert "message_uuid" in results[0] and "message_uuid" in results[1]
    assert results[2]["error"]["code"] == "sender_not_allowed"


def test_all_invalid_batch_has_status_false(api: Api) -> None:
    _, token = api.stream()
    r = api.send(token, msg("a", phone="1"), msg("b", text=""))
    assert r.status_code == 202 and r.json()["status"] is False


def test_encoding_and_segments(api: Api) -> None:
    _, token = api.stream()
    r = api.send(
        token,
        msg("gsm", text="a" * 160),
        msg("gsm2", text="a" * 161),
        msg("ext", text="{" * 80),
        msg("ucs", text="Привет"),
        msg("ucs2", text="😀" * 35),
        msg("ucs3", text="😀" * 36),
    )
    got = [(m["encoding"], m["segments"]) for m in r.json()["messages"]]
    assert got == [("gsm7", 1), ("gsm7", 2), ("gsm7", 1), ("ucs2", 1), ("ucs2", 1), ("ucs2", 2)]


def test_repeated_internal_id_sends_nothing_twice(api: Api) -> None:
    stream, token = api.stream()
    first = api.send(token, msg("same-id")).json()["messages"][0]
    again = api.send(token, msg("same-id", text="different text")).json()["messages"][0]
    assert again["message_uuid"] == first["message_uuid"] and again.get("duplicate") is True
    both = api.send(token, msg("in-batch"), msg("in-batch")).json()["messages"]
    assert both[0]["message_uuid"] == both[1]["message_uuid"]
    stats = api.http.get(f"/api/v1/streams/{stream['id']}/stats").json()["counts"]
    assert sum(stats.values()) == 2
    # the same internal_id in another stream is another message
    _, token2 = api.stream()
    other = api.send(token2, msg("same-id")).json()["messages"][0]
    assert other["message_uuid"] != first["message_uuid"]


def test_body_errors(api: Api) -> None:
    _, token = api.stream()
    url = api.server.url + "/api/v1/sms/send"
    h = {"Authorization": token}
    _error(httpx.post(url, content=b"{nope", headers=h), 422, "invalid_json")
    _error(httpx.post(url, json={"msgs": []}, headers=h), 422, "invalid_request")
    _error(httpx.post(url, json={"messages": []}, headers=h), 422, "no_messages")
    too_many = {"messages": [msg(str(i)) for i in range(1001)]}
    _error(httpx.post(url, json=too_many, headers=h, timeout=30), 413, "too_many_messages")
    big = b'{"messages": [' + b" " * (4 * 1024 * 1024) + b"]}"
    _error(httpx.post(url, content=big, headers=h, timeout=30), 413, "body_too_large")


def test_send_route_errors_match_the_rest_of_the_api(api: Api) -> None:
    """The Send paths skip the middleware stack (api/fastpath.py): their errors must still
    be the documented JSON, and other methods on the same path still reach the app."""
    url = api.server.url + "/api/v1/sms/send"
    for path in ("/api/v1/sms/send", "/simple_send/", "/simple_send"):
        r = httpx.post(api.server.url + path, json={"messages": [msg("x")]})
        body = _error(r, 401, r.json()["error"]["code"])
        assert set(body) == {"code", "message", "field"}
        assert r.headers["content-type"] == "application/json"
    _, token = api.stream()
    r = httpx.get(url, headers={"Authorization": token})  # the Status route: no such message
    assert r.status_code == 404 and r.json()["error"]["field"] == "message_uuid", r.text


def test_status_api(api: Api) -> None:
    _, token = api.stream()
    sent = api.send(token, msg("s1"), msg("s2", phone="12025550155")).json()["messages"]
    uuids = [m["message_uuid"] for m in sent]
    api.wait_status(token, uuids[1], {"undelivered"})
    api.wait_status(token, uuids[0], {"delivered"})
    url = api.server.url + "/api/v1/sms/status"
    by_uuid = httpx.post(
        url, json={"message_uuids": uuids}, headers={"Authorization": token}
    ).json()
    assert [m["status"] for m in by_uuid["messages"]] == ["delivered", "undelivered"]
    failed = by_uuid["messages"][1]
    assert failed["error_code"] == "undelivered" and failed["error_description"]
    by_internal = httpx.post(
        url, json={"internal_ids": ["s2", "s1", "missing"]}, headers={"Authorization": token}
    ).json()
    assert [m["internal_id"] for m in by_internal["messages"]] == ["s2", "s1"]
    h = {"Authorization": token}
    _error(httpx.post(url, json={}, headers=h), 422, "invalid_request")
    _error(
        httpx.post(url, json={"message_uuids": uuids, "internal_ids": ["s1"]}, headers=h),
        422,
        "invalid_request",
    )
    _error(httpx.post(url, json={"message_uuids": ["x"] * 101}, headers=h), 413, "too_many_ids")
    _error(httpx.get(api.server.url + "/api/v1/sms/not-a-message", headers=h), 404, "not_found")


def test_another_streams_token_cannot_read_a_message(api: Api, live_server: Server) -> None:
    _, token = api.stream()
    uuid = api.send(token, msg("mine")).json()["messages"][0]["message_uuid"]
    other = Api(live_server, live_server.create_account("Thief"))
    _, other_token = other.stream()
    r = httpx.get(f"{live_server.url}/api/v1/sms/{uuid}", headers={"Authorization": other_token})
    _error(r, 404, "not_found")
    r = httpx.post(
        f"{live_server.url}/api/v1/sms/status",
        json={"message_uuids": [uuid]},
        headers={"Authorization": other_token},
    )
    assert r.json()["messages"] == []
    # same account, other stream: still not visible
    _, sibling = api.stream()
    _error(
        httpx.get(f"{live_server.url}/api/v1/sms/{uuid}", headers={"Authorization": sibling}),
        404,
        "not_found",
    )
    other.close()


def test_demo_test_numbers(api: Api) -> None:
    _, token = api.stream()
    sent = api.send(token, msg("u", phone="12025550150"), msg("r", phone="12025550160")).json()
    u, rj = (m["message_uuid"] for m in sent["messages"])
    assert api.wait_status(token, u, {"undelivered"})["status"] == "undelivered"
    rejected = api.wait_status(token, rj, {"rejected"})
    assert rejected["status"] == "rejected"
    assert rejected["transitions"][-1]["detail"]["stat"] == "REJECTD"


def test_non_demo_stream_without_routes_gets_no_routes(api: Api) -> None:
    _, token = api.stream(demo=False)
    uuid = api.send(token, msg("carrier")).json()["messages"][0]["message_uuid"]
    final = api.wait_status(token, uuid, {"no_routes"})
    assert final["status"] == "no_routes"
    assert final["error_code"] == "no_routes" and "route" in final["error_description"]
    assert [t["status"] for t in final["transitions"]] == ["queued", "no_routes"]
