"""A webhook whose receiver is down while the server is SIGKILLed still arrives later."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import WEBHOOK_ENV
from tests.support.api import Api
from tests.support.receiver import Receiver
from tests.support.server import Server

pytestmark = pytest.mark.slow


def test_delivery_survives_receiver_down_and_server_sigkill(server_factory: type[Server]) -> None:
    env = {**WEBHOOK_ENV, "SMSSTREAMS_WEBHOOK_RETRY_BASE_SECONDS": "0.3"}
    server = server_factory(env=env).start()
    probe = Receiver()
    port = probe.port
    probe.close()  # the receiver is down
    api = Api(server)
    api.sender("12025550142")
    stream, token = api.stream(
        direction="two_way",
        default_sender="12025550142",
        webhook={"url": f"http://127.0.0.1:{port}/hook"},
    )
    r = httpx.post(
        server.url + "/api/v1/demo/inbound",
        json={"from": "+15551230000", "to": "12025550142", "text": "survive"},
        headers={"Authorization": token},
    )
    assert r.status_code == 201
    event_id = r.json()["id"]
    deliveries = api.http.get(f"/api/v1/streams/{stream['id']}/webhook-deliveries").json()
    assert deliveries["data"][0]["state"] == "pending"
    api.close()
    server.kill()

    receiver = Receiver(port=port)  # the receiver comes back, then the server
    try:
        server.start()
        got = receiver.wait_for(1, timeout=20)
        assert [json.loads(g.body)["id"] for g in got] == [event_id]
    finally:
        server.stop()
        receiver.close()
