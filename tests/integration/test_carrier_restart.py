"""SIGKILL the server while messages are in flight on a real SMPP bind; after a restart
every accepted message ends in exactly one final status (``delivered`` here)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import func, select

from smsstreams.db.engine import make_engine
from smsstreams.db.models import CarrierSegment, Message
from smsstreams.domain.status import FINAL
from smsstreams.smpp.smsc_sim import SimConfig
from tests.support.api import Api, msg
from tests.support.outcomes import outcomes, wait_all_final
from tests.support.server import Server
from tests.support.smsc import SimThread

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

ENV = {
    "SMSSTREAMS_CONNECTOR_POLL_SECONDS": "0.2",
    "SMSSTREAMS_CONNECTOR_LEASE_SECONDS": "2",
    "SMSSTREAMS_DISPATCH_LEASE_SECONDS": "3",
    "SMSSTREAMS_SMPP_RESPONSE_TIMEOUT_SECONDS": "2",
    "SMSSTREAMS_SUBMIT_RETRY_BASE_SECONDS": "0.2",
    "SMSSTREAMS_SUBMIT_RETRY_CAP_SECONDS": "1",
}


def test_sigkill_with_messages_in_flight_on_a_bind(server_factory: type[Server]) -> None:
    sim = SimThread(SimConfig(receipt_delay=0.5, response_delay=0.005))
    try:
        _run(server_factory, sim)
    finally:
        sim.close()


def _run(server_factory: type[Server], sim: SimThread) -> None:
    server = server_factory(env=ENV).start()
    server.cli(
        "connector", "add", "sim", "--host", "127.0.0.1", "--port", str(sim.port),
        "--system-id", "user", "--password", "pw", "--window", "20",
    )  # fmt: skip
    server.cli("route", "add", "+", "sim")
    api = Api(server)
    api.sender("12025550142")
    _, token = api.stream(demo=False, default_sender="12025550142")
    assert token
    sim.wait(lambda: sim.bound() == 1)
    accepted: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": token}) as client:
            n = 0
            while not stop.is_set() and n < 100:
                batch = [msg(f"m{n}-{i}") for i in range(20)]
                n += 1
                try:
                    r = client.post("/api/v1/sms/send", json={"messages": batch}, timeout=10)
                except httpx.HTTPError:
                    return
                if r.status_code == 202:
                    accepted.extend(m["message_uuid"] for m in r.json()["messages"])

    worker = threading.Thread(target=load)
    worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        len(accepted) < 300 or sim.call(lambda: sim.sim.stats.receipts_sent) < 50
    ):
        time.sleep(0.01)
    server.kill()  # submits in flight, receipts owed, messages queued
    stop.set()
    worker.join(timeout=20)
    api.close()
    assert len(accepted) >= 300

    engine = make_engine(server.database_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Message.id, Message.status)).all())
    assert set(accepted) <= set(stored)
    unfinished = [s for s in stored.values() if s not in FINAL]
    assert unfinished, "the kill came too late to test recovery"
    submits_before = sim.call(lambda: sim.sim.stats.submits)

    server.start()
    wait_all_final(engine, 90)
    server.stop()
    result = outcomes(engine)
    statuses, finals, sent = result.statuses, result.finals, result.sent
    with engine.connect() as conn:
        query = select(CarrierSegment.message_id, func.count()).group_by(CarrierSegment.message_id)
        segments = {r[0]: r[1] for r in conn.execute(query)}
    engine.dispose()
    not_delivered = {m: s for m, s in statuses.items() if s != "delivered"}
    assert not not_delivered, not_delivered
    assert all(finals.get(m) == 1 for m in statuses), "a message got more or less than one final"
    assert all(sent.get(m) == 1 for m in statuses), "a message was recorded sent twice"
    assert all(segments.get(m) == 1 for m in statuses)
    submits = sim.call(lambda: sim.sim.stats.submits)
    # a message submitted just before the kill, whose submit_sm_resp was not yet recorded,
    # is submitted again (the documented duplicate): at most what one process may have in
    # flight (40 windows of 20 here, see ConnectorLink.capacity)
    duplicates = submits - len(statuses)
    print(f"messages {len(statuses)}, submits {submits} ({submits_before} before the kill)")
    assert 0 <= duplicates <= 40 * 20, (submits, submits_before, len(statuses))
