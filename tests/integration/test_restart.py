"""Nothing accepted is lost: SIGKILL the server while messages are queued and in flight."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from smsstreams.db.engine import make_engine
from smsstreams.db.models import Message
from smsstreams.domain.status import FINAL
from tests.support.api import Api, msg
from tests.support.outcomes import outcomes, wait_all_final
from tests.support.server import Server, wait_gone

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("worker_process", [False, True], ids=["threads", "worker-process"])
def test_sigkill_with_messages_queued_and_in_flight(
    server_factory: type[Server], worker_process: bool
) -> None:
    env = {
        "SMSSTREAMS_DEMO_RECEIPT_DELAY_MIN": "1.0",
        "SMSSTREAMS_DEMO_RECEIPT_DELAY_MAX": "2.0",
        "SMSSTREAMS_DISPATCH_LEASE_SECONDS": "2",
        "SMSSTREAMS_WORKER_PROCESS": str(worker_process).lower(),
    }
    server = server_factory(env=env).start()
    children = server.children()
    assert len(children) == (1 if worker_process else 0), children
    api = Api(server)
    _, token = api.stream()
    assert token
    accepted: list[str] = []
    errors: list[Any] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": token}) as client:
            n = 0
            while not stop.is_set() and n < 200:
                batch = [msg(f"m{n}-{i}") for i in range(20)]
                n += 1
                try:
                    r = client.post("/api/v1/sms/send", json={"messages": batch}, timeout=10)
                except httpx.HTTPError as exc:
                    errors.append(exc)
                    return
                if r.status_code == 202:
                    accepted.extend(m["message_uuid"] for m in r.json()["messages"])

    worker = threading.Thread(target=load)
    worker.start()
    deadline = time.monotonic() + 20
    while len(accepted) < 400 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # in the middle of the load: requests in flight, messages queued and sent
    stop.set()
    worker.join(timeout=20)
    assert len(accepted) >= 400
    api.close()
    for pid in children:  # the worker process sees the pipe close and stops by itself
        assert wait_gone(pid, 20), f"worker process {pid} outlived its server"

    engine = make_engine(server.database_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Message.id, Message.status)).all())
    assert set(accepted) <= set(stored), "a message answered with 202 is missing after SIGKILL"
    unfinished = [s for s in stored.values() if s not in FINAL]
    assert unfinished, "the kill came too late to test recovery"

    server.start()
    wait_all_final(engine, 60)
    server.stop()
    result = outcomes(engine)
    engine.dispose()
    statuses = result.statuses
    assert all(statuses[m] == "delivered" for m in accepted), {
        s for m, s in statuses.items() if s != "delivered"
    }
    assert all(result.finals.get(m) == 1 for m in statuses), (
        "a message got more or less than one final status"
    )
    assert all(result.sent.get(m) == 1 for m in statuses), "a message was submitted twice"
