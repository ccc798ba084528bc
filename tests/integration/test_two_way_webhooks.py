"""Two-way messaging end to end: inbound routing, webhook delivery, signing, retries, replay.

Receivers are real HTTP servers on 127.0.0.1; the signature is checked with an
implementation written here, independent of the product's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import Api, msg
from tests.support.receiver import Receiver
from tests.support.server import Server

NUMBER = "12025550142"  # our numeric sender ID (a long code)
PHONE = "+15551230000"


@pytest.fixture
def api(webhook_server: Server) -> Iterator[Api]:
    client = Api(webhook_server)
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def two_way(api: Api, receiver: Receiver, **fields: Any) -> tuple[dict[str, Any], str]:
    webhook = {
        "method": "POST",
        "url": receiver.url,
        "headers": [{"name": "X-Api-Key", "value": "k-123"}],
    }
    webhook.update(fields.pop("webhook", {}))
    stream, token = api.stream(
        direction="two_way", default_sender=NUMBER, webhook=webhook, **fields
    )
    assert token
    return stream, token


def inject(api: Api, token: str, text: str, to: str = NUMBER, frm: str = PHONE) -> httpx.Response:
    return httpx.post(
        api.server.url + "/api/v1/demo/inbound",
        json={"from": frm, "to": to, "text": text},
        headers={"Authorization": token},
    )


def expected_signature(secret: str, timestamp: str, signed: bytes) -> str:
    return (
        "v1="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + signed, hashlib.sha256).hexdigest()
    )


def deliveries(api: Api, stream_id: str) -> dict[str, Any]:
    r = api.http.get(f"/api/v1/streams/{stream_id}/webhook-deliveries")
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_state(api: Api, stream_id: str, state: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = deliveries(api, stream_id)
        if any(d["state"] == state for d in data["data"]) or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


def test_post_webhook_payload_headers_and_signature(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    stream, token = two_way(api, receiver)
    r = inject(api, token, "Hello there ünïcode")
    assert r.status_code == 201, r.text
    injected = r.json()
    got = receiver.wait_for(1)
    assert len(got) == 1
    req = got[0]
    assert req.method == "POST" and req.path == "/hook"
    assert req.headers["x-api-key"] == "k-123"
    assert req.headers["content-type"] == "application/json"
    payload = json.loads(req.body)
    assert payload == {
        "type": "inbound",
        "id": injected["id"],
        "from": PHONE,
        "to": "+" + NUMBER,
        "text": "Hello there ünïcode",
        "received_at": payload["received_at"],
        "stream": stream["id"],
        "in_reply_to": None,
    }
    ts = req.headers["x-smsstreams-timestamp"]
    assert abs(int(ts) - time.time()) < 60
    secret = stream["webhook_secret"]
    assert secret and req.headers["x-smsstreams-signature"] == expected_signature(
        secret, ts, req.body
    )
    assert expected_signature("wrong", ts, req.body) != req.headers["x-smsstreams-signature"]
    log = wait_state(api, stream["id"], "delivered")["data"][0]
    assert log["state"] == "delivered" and log["log"][0]["status_code"] == 200
    assert log["log"][0]["latency_ms"] >= 0 and "ok" in log["log"][0]["response_excerpt"]


def test_get_webhook_sends_query_parameters_signed(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    stream, token = two_way(api, receiver, webhook={"method": "GET"})
    inject(api, token, "code 42 & more")
    req = receiver.wait_for(1)[0]
    assert req.method == "GET" and req.body == b""
    params = req.params
    assert params["text"] == "code 42 & more" and params["from"] == PHONE
    assert params["stream"] == stream["id"] and params["in_reply_to"] == ""
    ts = req.headers["x-smsstreams-timestamp"]
    assert req.headers["x-smsstreams-signature"] == expected_signature(
        stream["webhook_secret"], ts, req.query.encode()
    )


def test_three_failures_then_success_is_delivered_once(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    receiver.script.extend([503, 500, 429])
    stream, token = two_way(api, receiver)
    inject(api, token, "retry me")
    got = receiver.wait_for(4)
    time.sleep(1.0)  # nothing more may come
    assert len(receiver.requests) == 4
    assert len({json.loads(r.body)["id"] for r in got}) == 1
    data = wait_state(api, stream["id"], "delivered")
    d = data["data"][0]
    assert d["state"] == "delivered" and d["attempts"] == 4
    assert [a["status_code"] for a in d["log"]] == [503, 500, 429, 200]
    assert data["states"]["delivered"] == 1


def test_4xx_is_permanent_and_replay_works(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    receiver.default = 400
    stream, token = two_way(api, receiver)
    inject(api, token, "bad request")
    receiver.wait_for(1)
    data = wait_state(api, stream["id"], "failed")
    d = data["data"][0]
    assert d["state"] == "failed" and d["attempts"] == 1 and d["last_error"] == "HTTP 400"
    time.sleep(0.6)
    assert len(receiver.requests) == 1, "a 400 must not be retried"
    receiver.default = 200
    r = api.http.post(f"/api/v1/streams/{stream['id']}/webhook-deliveries/{d['id']}/replay")
    assert r.status_code == 202, r.text
    receiver.wait_for(2)
    d = wait_state(api, stream["id"], "delivered")["data"][0]
    assert d["state"] == "delivered"
    r = api.http.post(f"/api/v1/streams/{stream['id']}/webhook-deliveries/99999999/replay")
    assert r.status_code == 404


def test_unreachable_receiver_is_retried_until_dead_budget(api: Api) -> None:
    api.sender(NUMBER)
    closed = Receiver()
    url = closed.url
    closed.close()
    stream, token = api.stream(
        direction="two_way", default_sender=NUMBER, webhook={"method": "POST", "url": url}
    )
    inject(api, token, "nobody home")
    data = wait_state(api, stream["id"], "dead", timeout=30)
    d = data["data"][0]
    assert d["state"] == "dead", d
    assert d["attempts"] == 15 and all(a["status_code"] is None for a in d["log"])
    assert "ConnectError" in d["last_error"]


def test_slow_receiver_does_not_delay_another_stream(api: Api) -> None:
    api.sender(NUMBER)
    api.sender("12025550143")
    slow, fast = Receiver(), Receiver()
    slow.delay = 1.5
    try:
        _, slow_token = api.stream(
            direction="two_way", default_sender=NUMBER, webhook={"url": slow.url}
        )
        _, fast_token = api.stream(
            direction="two_way", default_sender="12025550143", webhook={"url": fast.url}
        )
        for i in range(12):
            inject(api, slow_token, f"slow {i}")
        start = time.monotonic()
        inject(api, fast_token, "fast", to="12025550143")
        assert fast.wait_for(1, timeout=5)
        assert time.monotonic() - start < 1.2, "the fast stream waited behind the slow one"
        assert len(slow.requests) < 12
    finally:
        slow.close()
        fast.close()


def test_routing_reply_goes_to_the_stream_that_last_sent(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    other = Receiver()
    try:
        owner, owner_token = two_way(api, receiver)
        later, later_token = api.stream(
            direction="two_way", default_sender="customized", webhook={"url": other.url}
        )
        sent = api.send(later_token, msg("otp-1", phone="12025550123", sender=NUMBER)).json()
        uuid = sent["messages"][0]["message_uuid"]
        inject(api, owner_token, "reply to the OTP", frm="+12025550123")
        got = other.wait_for(1)
        payload = json.loads(got[0].body)
        assert payload["stream"] == later["id"] and payload["in_reply_to"] == uuid
        # a phone nobody sent to lands on the stream whose default sender is the number
        inject(api, owner_token, "cold message", frm="+12025550111")
        payload = json.loads(receiver.wait_for(1)[0].body)
        assert payload["stream"] == owner["id"] and payload["in_reply_to"] is None
    finally:
        other.close()


def test_polling_api_with_cursor(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    _, token = two_way(api, receiver)
    for i in range(3):
        inject(api, token, f"poll {i}")
    h = {"Authorization": token}
    page = httpx.get(api.server.url + "/api/v1/sms/inbound", params={"limit": 2}, headers=h).json()
    assert [m["text"] for m in page["data"]] == ["poll 0", "poll 1"]
    rest = httpx.get(
        api.server.url + "/api/v1/sms/inbound", params={"since": page["next_since"]}, headers=h
    ).json()
    assert [m["text"] for m in rest["data"]] == ["poll 2"]
    empty = httpx.get(
        api.server.url + "/api/v1/sms/inbound", params={"since": rest["next_since"]}, headers=h
    ).json()
    assert empty["data"] == [] and empty["next_since"] == rest["next_since"]


def test_unrouted_inbound_is_stored_for_the_operator(api: Api, webhook_server: Server) -> None:
    api.sender(NUMBER)
    api.sender("12025550144")  # owned, but no stream uses it
    _, token = two_way(api, Receiver())
    r = inject(api, token, "to nowhere", to="12025550144")
    assert r.status_code == 201 and r.json()["stream"] is None
    out = webhook_server.cli("inbound", "unrouted", "--json")
    assert any(
        m["text"] == "to nowhere" and m["id"] == r.json()["id"] for m in json.loads(out.stdout)
    )


def test_demo_inbound_is_refused_for_non_demo_streams_and_foreign_numbers(api: Api) -> None:
    api.sender(NUMBER)
    _, token = api.stream(direction="two_way", default_sender=NUMBER, demo=False)
    r = inject(api, token, "x")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_demo"
    _, demo_token = api.stream(direction="two_way", default_sender=NUMBER)
    r = inject(api, demo_token, "x", to="19995550000")
    assert r.status_code == 422 and r.json()["error"]["field"] == "to"
    r = httpx.post(
        api.server.url + "/api/v1/demo/inbound",
        json={"to": NUMBER},
        headers={"Authorization": demo_token},
    )
    assert r.status_code == 422


def test_demo_echo_number_replies_and_status_callbacks(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    _, token = two_way(api, receiver, status_callbacks=True)
    uuid = api.send(token, msg("echo-1", phone="12025550181", text="Code 777")).json()["messages"][
        0
    ]["message_uuid"]
    got = receiver.wait_for(3)
    payloads = [json.loads(r.body) for r in got]
    statuses = [p["status"] for p in payloads if p["type"] == "status"]
    assert statuses[:2] == ["sent", "delivered"]
    replies = [p for p in payloads if p["type"] == "inbound"]
    assert replies and replies[0]["text"] == "Echo: Code 777"
    assert replies[0]["in_reply_to"] == uuid and replies[0]["from"] == "+12025550181"


def test_send_test_event(api: Api, receiver: Receiver) -> None:
    api.sender(NUMBER)
    stream, _ = two_way(api, receiver)
    r = api.http.post(f"/api/v1/streams/{stream['id']}/webhook/test")
    assert r.status_code == 202
    req = receiver.wait_for(1)[0]
    assert json.loads(req.body)["type"] == "test" and req.headers["x-smsstreams-event"] == "test"
    no_hook, _ = api.stream(direction="two_way", default_sender=NUMBER)
    r = api.http.post(f"/api/v1/streams/{no_hook['id']}/webhook/test")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_webhook"


def test_two_way_stream_needs_numeric_sender(api: Api) -> None:
    api.sender("Acme")
    r = api.http.post(
        "/api/v1/streams", json={"name": "x", "direction": "two_way", "default_sender": "Acme"}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "default_sender"
