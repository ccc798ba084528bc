"""Non-demo streams through the real server and SMPP to the SMSC simulator (real TCP on
127.0.0.1): delivery with carrier ids, long messages, failover, carrier errors, receipts
before responses, MO reassembly, bind errors in the operator view, live reconfiguration."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from smsstreams.db.engine import make_engine
from smsstreams.db.models import CarrierSegment, PendingReceipt
from smsstreams.smpp.pdu import CommandStatus, SubmitSm
from smsstreams.smpp.smsc_sim import SimConfig, SimConnection, SmscSimulator
from tests.support.api import Api, msg
from tests.support.server import Server, free_port
from tests.support.smsc import SimThread

pytestmark = pytest.mark.timeout(90)

FINAL = {"delivered", "undelivered", "expired", "rejected", "sent_failed", "no_routes"}
OPERATOR_KEY = "op-key-for-tests"
CARRIER_ENV = {
    "SMSSTREAMS_CONNECTOR_POLL_SECONDS": "0.2",
    "SMSSTREAMS_CONNECTOR_LEASE_SECONDS": "3",
    "SMSSTREAMS_SMPP_BIND_GRACE_SECONDS": "0.5",
    "SMSSTREAMS_SMPP_RESPONSE_TIMEOUT_SECONDS": "2",
    "SMSSTREAMS_SUBMIT_RETRY_BASE_SECONDS": "0.2",
    "SMSSTREAMS_SUBMIT_RETRY_CAP_SECONDS": "0.5",
    "SMSSTREAMS_OPERATOR_KEY": OPERATOR_KEY,
}
NUMBER = "12025550142"  # our numeric sender (long code)
PHONE = "+15551230000"
REJECTED_SUFFIX = "66"


class RejectingSim(SmscSimulator):
    """Refuses submits to numbers ending in 66 with ESME_RINVDSTADR (a permanent error)."""

    def _on_submit(self, conn: SimConnection, pdu: SubmitSm) -> None:  # type: ignore[override]
        if pdu.destination_addr.endswith(REJECTED_SUFFIX):
            self.stats.submits += 1
            conn.outstanding += 1
            self._respond(conn, pdu.response(CommandStatus.ESME_RINVDSTADR))
            return
        super()._on_submit(conn, pdu)


@pytest.fixture
def sim() -> Iterator[SimThread]:
    s = SimThread(SimConfig(credentials={"user": "secret", "other": "secret"}), RejectingSim)
    yield s
    s.close()


@pytest.fixture
def server(server_factory: type[Server]) -> Server:
    return server_factory(env=CARRIER_ENV).start()


def add_connector(server: Server, name: str, port: int, *extra: str, user: str = "user") -> None:
    server.cli(
        "connector", "add", name, "--host", "127.0.0.1", "--port", str(port),
        "--system-id", user, "--password", "secret", *extra,
    )  # fmt: skip


def connectors(server: Server, cli: bool = False) -> dict[str, dict[str, Any]]:
    """The connectors as the operator sees them: operator API (fast) or CLI."""
    if cli:
        rows = json.loads(server.cli("connector", "list", "--json").stdout)
    else:
        r = httpx.get(
            server.url + "/api/v1/operator/connectors",
            headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        )
        assert r.status_code == 200, r.text
        rows = r.json()["data"]
    return {c["name"]: c for c in rows}


def wait_state(server: Server, name: str, wanted: set[str], within: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        row = connectors(server)[name]
        if row["state"] in wanted:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"connector {name} is {row['state']}, not {wanted}: {row}")
        time.sleep(0.2)


def carrier_stream(api: Api, **fields: Any) -> str:
    api.sender(NUMBER)
    _, token = api.stream(demo=False, default_sender=NUMBER, **fields)
    assert token
    return token


def send_one(api: Api, token: str, internal_id: str = "x", **fields: Any) -> str:
    r = api.send(token, msg(internal_id, **fields))
    assert r.status_code == 202, r.text
    return str(r.json()["messages"][0]["message_uuid"])


def test_non_demo_stream_is_delivered_over_smpp_with_carrier_ids(
    server: Server, sim: SimThread
) -> None:
    add_connector(server, "sim", sim.port)
    server.cli("route", "add", "+", "sim")
    wait_state(server, "sim", {"bound"})
    api = Api(server)
    token = carrier_stream(api)
    uuid = send_one(api, token)
    data = api.wait_status(token, uuid, FINAL)
    assert data["status"] == "delivered", data
    assert data["channel"] == "smpp:sim"
    sent = next(t for t in data["transitions"] if t["status"] == "sent")
    carrier_id = sent["detail"]["carrier_ids"][0]
    assert carrier_id in sim.call(lambda: dict(sim.sim.messages))
    assert sent["detail"]["pdu_status"] == "ESME_ROK" and sent["detail"]["connector"] == "sim"
    assert "attempts" not in sent["detail"]  # listed only when an attempt failed first
    delivered = data["transitions"][-1]
    assert delivered["detail"] == {
        "channel": "smpp:sim",
        "stat": "DELIVRD",
        "err": "000",
        "done_date": delivered["detail"]["done_date"],
    }
    pdu = sim.call(lambda: sim.sim.messages[carrier_id])
    assert isinstance(pdu, SubmitSm)
    assert (pdu.source_addr, pdu.source_addr_ton, pdu.destination_addr) == (
        NUMBER,
        1,
        "12025550123",
    )
    assert pdu.registered_delivery == 1 and pdu.validity_period.endswith("00+")
    deadline = time.monotonic() + 5
    while connectors(server)["sim"]["stats"].get("accepted", 0) < 1:
        assert time.monotonic() < deadline, "the counters were not written"
        time.sleep(0.1)
    row = connectors(server, cli=True)["sim"]
    assert row["state"] == "bound" and row["routes"] == ["+"]
    assert row["stats"]["accepted"] == 1 and row["stats"]["delivers_received"] == 1
    listing = server.cli("connector", "list").stdout + json.dumps(row)
    assert "secret" not in listing  # the password is never shown back
    api.close()


def test_long_message_goes_as_udh_parts_and_waits_for_every_receipt(
    server: Server, sim: SimThread
) -> None:
    sim.call(lambda: setattr(sim.sim.config, "receipt_delay", 0.3))
    add_connector(server, "sim", sim.port)
    server.cli("route", "add", "+1", "sim")
    api = Api(server)
    token = carrier_stream(api)
    wait_state(server, "sim", {"bound"})
    text = "".join(f"{i:03d} " for i in range(100))  # 400 GSM-7 chars: 3 parts
    uuid = send_one(api, token, message_content=text)
    data = api.wait_status(token, uuid, FINAL)
    assert data["status"] == "delivered" and data["segments"] == 3
    ids = next(t for t in data["transitions"] if t["status"] == "sent")["detail"]["carrier_ids"]
    assert len(ids) == 3
    parts = sim.call(lambda: [sim.sim.messages[i] for i in ids])
    assert all(p.esm_class & 0x40 for p in parts)  # UDHI
    assert [p.short_message[5] for p in parts] == [1, 2, 3]
    assert len({p.short_message[3] for p in parts}) == 1  # one reference
    engine = make_engine(server.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(CarrierSegment.segment, CarrierSegment.outcome, CarrierSegment.raw_id)
            .where(CarrierSegment.message_id == uuid)
            .order_by(CarrierSegment.segment)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(n, "delivered", i) for n, i in enumerate(ids, start=1)]
    api.close()


def test_failover_to_the_second_connector_when_the_first_is_down(
    server: Server, sim: SimThread
) -> None:
    add_connector(server, "dead", free_port())
    add_connector(server, "live", sim.port)
    server.cli("route", "add", "+", "dead", "live")
    wait_state(server, "live", {"bound"})
    dead = wait_state(server, "dead", {"down", "connecting"})
    api = Api(server)
    token = carrier_stream(api)
    time.sleep(0.6)  # past the bind grace of the dead connector
    uuid = send_one(api, token)
    data = api.wait_status(token, uuid, FINAL)
    assert data["status"] == "delivered" and data["channel"] == "smpp:live"
    attempts = next(t for t in data["transitions"] if t["status"] == "sent")["detail"]["attempts"]
    assert [a["connector"] for a in attempts] == ["dead", "live"]
    assert attempts[0]["transient"] is True and "not bound" in attempts[0]["error"]
    assert "cannot connect" in (dead["last_error"] or "")
    api.close()


def test_permanent_carrier_error_on_every_route_is_sent_failed(
    server: Server, sim: SimThread
) -> None:
    add_connector(server, "one", sim.port)
    add_connector(server, "two", sim.port, user="other")
    server.cli("route", "add", "+", "one", "two")
    wait_state(server, "one", {"bound"})
    wait_state(server, "two", {"bound"})
    api = Api(server)
    token = carrier_stream(api)
    uuid = send_one(api, token, recipient_phone="120255501" + REJECTED_SUFFIX)
    data = api.wait_status(token, uuid, FINAL)
    assert data["status"] == "sent_failed", data
    assert data["error_code"] == "ESME_RINVDSTADR"
    assert "one" in data["error_description"] and "ESME_RINVDSTADR" in data["error_description"]
    attempts = data["transitions"][-1]["detail"]["attempts"]
    assert [(a["connector"], a["transient"]) for a in attempts] == [("one", False), ("two", False)]
    api.close()


def test_transient_failures_are_retried_then_sent_failed(
    server_factory: type[Server],
) -> None:
    server = server_factory(env={**CARRIER_ENV, "SMSSTREAMS_SUBMIT_MAX_ATTEMPTS": "2"}).start()
    add_connector(server, "dead", free_port())
    server.cli("route", "add", "+", "dead")
    api = Api(server)
    token = carrier_stream(api)
    time.sleep(0.8)
    uuid = send_one(api, token)
    data = api.wait_status(token, uuid, FINAL, timeout=20)
    assert data["status"] == "sent_failed", data
    assert "gave up after 2 attempts" in data["error_description"]
    retries = [t for t in data["transitions"] if t["status"] == "queued" and "detail" in t]
    assert len(retries) == 1 and retries[0]["detail"]["attempts"][0]["connector"] == "dead"
    api.close()


def test_receipt_before_the_submit_resp_is_applied(server: Server, sim: SimThread) -> None:
    sim.call(lambda: setattr(sim.sim.config, "receipt_before_resp", True))
    add_connector(server, "sim", sim.port)
    server.cli("route", "add", "+", "sim")
    wait_state(server, "sim", {"bound"})
    api = Api(server)
    token = carrier_stream(api)
    uuids = [send_one(api, token, internal_id=f"r{i}") for i in range(5)]
    for uuid in uuids:
        data = api.wait_status(token, uuid, FINAL)
        assert data["status"] == "delivered", data
        assert [t["status"] for t in data["transitions"]] == ["queued", "sent", "delivered"]
    engine = make_engine(server.database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PendingReceipt)) == 0
    engine.dispose()
    api.close()


def test_mo_multipart_out_of_order_reaches_the_stream(server: Server, sim: SimThread) -> None:
    add_connector(server, "sim", sim.port)
    api = Api(server)
    token = carrier_stream(api, direction="two_way")
    wait_state(server, "sim", {"bound"})
    text = "Reply: " + "".join(f"{i:03d} " for i in range(80)) + "€ end"
    sim.run(sim.sim.inject_mo(text, source=PHONE[1:], destination=NUMBER, order=[2, 0, 1]))
    sim.run(sim.sim.inject_mo("short one", source=PHONE[1:], destination=NUMBER))
    deadline = time.monotonic() + 15
    while True:
        r = httpx.get(
            server.url + "/api/v1/sms/inbound", headers={"Authorization": token}, timeout=10
        )
        data = r.json()["data"]
        if len(data) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [m["text"] for m in data] == [text, "short one"]
    assert data[0]["from"] == PHONE and data[0]["to"] == "+" + NUMBER
    sim.wait(lambda: sim.sim.stats.deliver_resps == 4)
    assert sim.call(lambda: sim.sim.stats.deliver_refused) == 0
    api.close()


def test_bind_refused_shows_in_the_connector_state(server: Server, sim: SimThread) -> None:
    server.cli(
        "connector", "add", "wrong", "--host", "127.0.0.1", "--port", str(sim.port),
        "--system-id", "user", "--password", "nope",
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while True:
        row = connectors(server)["wrong"]
        if "ESME_RINVPASWD" in (row["last_error"] or "") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert row["state"] in ("down", "connecting")
    assert "bind refused: ESME_RINVPASWD" in row["last_error"]
    assert row["stats"]["bind_failures"] >= 1
    text = server.cli("connector", "list").stdout
    assert "wrong" in text and "ESME_RINVPASWD" in text and "nope" not in text
    # the operator API shows the same, and only with the operator key
    url = server.url + "/api/v1/operator/connectors"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer guess"}).status_code == 403
    r = httpx.get(url, headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
    assert r.status_code == 200, r.text
    (api_row,) = r.json()["data"]
    assert "ESME_RINVPASWD" in api_row["last_error"] and "password" not in api_row
    assert "nope" not in r.text


def test_operator_api_is_absent_without_a_key(server_factory: type[Server]) -> None:
    server = server_factory().start()
    r = httpx.get(server.url + "/api/v1/operator/connectors", headers={"Authorization": "x"})
    assert r.status_code == 404


def test_a_running_server_follows_connector_and_route_changes(
    server: Server, sim: SimThread
) -> None:
    api = Api(server)
    token = carrier_stream(api)
    before = send_one(api, token, internal_id="before")
    assert api.wait_status(token, before, FINAL)["status"] == "no_routes"
    add_connector(server, "sim", sim.port)
    server.cli("route", "add", "+1202", "sim")
    wait_state(server, "sim", {"bound"})
    sim.wait(lambda: sim.bound() == 1)
    server.cli("connector", "disable", "sim")
    assert wait_state(server, "sim", {"disabled"})["state"] == "disabled"
    sim.wait(lambda: sim.bound() == 0)  # unbound by the server
    server.cli("connector", "enable", "sim")
    wait_state(server, "sim", {"bound"})
    uuid = send_one(api, token, internal_id="routed")
    assert api.wait_status(token, uuid, FINAL)["status"] == "delivered"
    server.cli("connector", "update", "sim", "--window", "3")
    sim.wait(lambda: sim.sim.stats.binds >= 3)  # re-bound with the new settings
    assert connectors(server, cli=True)["sim"]["window"] == 3
    server.cli("route", "remove", "+1202")
    time.sleep(0.5)
    after = send_one(api, token, internal_id="after")
    assert api.wait_status(token, after, FINAL)["status"] == "no_routes"
    api.close()
