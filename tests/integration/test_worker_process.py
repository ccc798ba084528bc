"""SMSSTREAMS_WORKER_PROCESS=true: the dispatcher, carrier connectors and webhook worker
run in a child of the server, woken through a pipe; the child follows its server."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import WEBHOOK_ENV
from tests.support.api import Api, msg
from tests.support.receiver import Receiver
from tests.support.server import Server, wait_gone

NUMBER = "12025550142"
# a slow poll, so that a missing wake-up shows: work must start at the pipe's signal
ENV = {**WEBHOOK_ENV, "SMSSTREAMS_WORKER_PROCESS": "true", "SMSSTREAMS_POLL_INTERVAL_SECONDS": "5"}


@pytest.fixture
def server(server_factory: type[Server]) -> Iterator[Server]:
    server = server_factory(env=ENV).start()
    yield server
    server.stop()


def _wait_children(server: Server, count: int, timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = server.children()
        if len(children) == count:
            return children
        time.sleep(0.05)
    raise AssertionError(f"expected {count} worker process(es), found {server.children()}")


def test_messages_and_webhooks_go_through_the_worker_process(server: Server) -> None:
    [worker] = _wait_children(server, 1)
    api = Api(server)
    receiver = Receiver()
    try:
        api.sender(NUMBER)
        webhook = {"method": "POST", "url": receiver.url, "headers": []}
        _, token = api.stream(direction="two_way", default_sender=NUMBER, webhook=webhook)
        assert token
        time.sleep(1)  # the worker's first passes are over: it waits for a wake-up or 5 s
        started = time.monotonic()
        sent = api.send(token, msg("w-1"))
        assert sent.status_code == 202, sent.text
        uuid = sent.json()["messages"][0]["message_uuid"]
        api.wait_status(token, uuid, {"sent", "delivered"}, timeout=10)
        assert time.monotonic() - started < 2, "dispatched at the poll, not at the wake-up"
        # the receipt is due 0.2-0.4 s later; the dispatcher finds it at its next pass
        final = api.wait_status(token, uuid, {"delivered"}, timeout=15)
        assert final["status"] == "delivered", final
        started = time.monotonic()
        r = httpx.post(
            server.url + "/api/v1/demo/inbound",
            json={"from": "+15551230000", "to": NUMBER, "text": "reply via the worker"},
            headers={"Authorization": token},
        )
        assert r.status_code == 201, r.text
        [call] = receiver.wait_for(1, timeout=10)
        assert b"reply via the worker" in call.body
        assert time.monotonic() - started < 2, "webhook sent at the poll, not at the wake-up"
        assert server.children() == [worker]
    finally:
        receiver.close()
        api.close()


def test_a_dead_worker_process_is_replaced(server: Server) -> None:
    [first] = _wait_children(server, 1)
    os.kill(first, signal.SIGKILL)
    assert wait_gone(first, 5)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        children = server.children()
        if children and children != [first]:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the server did not start another worker process")
    api = Api(server)
    try:
        _, token = api.stream()
        assert token
        sent = api.send(token, msg("after-restart"))
        uuid = sent.json()["messages"][0]["message_uuid"]
        assert api.wait_status(token, uuid, {"delivered"}, timeout=15)["status"] == "delivered"
    finally:
        api.close()


def test_the_worker_process_stops_with_its_server(server: Server) -> None:
    [worker] = _wait_children(server, 1)
    server.stop()  # SIGINT, as Ctrl-C
    assert wait_gone(worker, 5)
    assert "worker process" in server.log() and "stopping" in server.log()
