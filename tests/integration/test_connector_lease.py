"""Two server processes (here: two managers and dispatchers on one database) share the
connectors: each connector is bound by exactly one of them, the other hands messages over,
and a connector whose holder stops is taken over once its lease is released."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from smsstreams.channels.demo import DemoChannel
from smsstreams.channels.smpp import CarrierOptions, ConnectorManager
from smsstreams.db import migrate
from smsstreams.db.engine import make_engine, make_sessionmaker
from smsstreams.db.models import Message, messages_table
from smsstreams.db.types import utcnow
from smsstreams.schemas import StreamCreate
from smsstreams.services import connectors
from smsstreams.services.accounts import create_account
from smsstreams.services.streams import create_stream
from smsstreams.smpp.smsc_sim import SimConfig
from smsstreams.workers.dispatch import Dispatcher
from tests.support.smsc import SimThread

pytestmark = pytest.mark.timeout(60)
OPTIONS = CarrierOptions(poll_seconds=0.1, lease_seconds=0.6, bind_grace_seconds=0.5)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sim() -> Iterator[SimThread]:
    s = SimThread(SimConfig())
    yield s
    s.close()


def _until(predicate: object, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _queue_message(engine: Engine) -> str:
    now = utcnow()
    with make_sessionmaker(engine)() as db, db.begin():
        account = create_account(
            db, name="L", email=f"l{uuid.uuid4().hex[:8]}@x.test", password="password1"
        )
        stream = create_stream(
            db, account.account.id, StreamCreate(name="l", state="active", direction="one_way")
        ).stream
        message_id = str(uuid.uuid4())
        db.execute(
            messages_table.insert(),
            [
                {
                    "id": message_id,
                    "stream_id": stream.id,
                    "account_id": stream.account_id,
                    "sender": "Acme",
                    "recipient": "+12025550123",
                    "text": "hi",
                    "encoding": "gsm7",
                    "segments": 1,
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "expires_at": now + timedelta(hours=1),
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
    return message_id


def test_one_process_binds_the_other_hands_over(engine: Engine, sim: SimThread) -> None:
    with engine.begin() as conn:
        connectors.add_connector(
            conn,
            connectors.ConnectorSettings("c", "127.0.0.1", sim.port, "user", "pw"),
            now=utcnow(),
        )
        connectors.set_route(conn, "+", ["c"], now=utcnow())
    a = ConnectorManager(engine, OPTIONS, owner="process-a")
    a.start()
    b = ConnectorManager(engine, OPTIONS, owner="process-b")
    b.start()
    try:
        _until(lambda: sim.call(sim.bound) == 1)
        time.sleep(1.0)  # several lease renewals: still one bind
        assert sim.call(lambda: sim.sim.stats.binds) == 1
        assert a.snapshot.held == {"c"} and b.snapshot.held == frozenset()
        _until(lambda: b.snapshot.elsewhere == {"c"})

        message_id = _queue_message(engine)
        demo = DemoChannel()
        da = Dispatcher(engine, demo, carriers=a)
        db_ = Dispatcher(engine, demo, carriers=b)
        db_.run_once()  # b routes it to c, which a binds: handed over, not submitted
        with engine.connect() as conn:
            row = conn.execute(
                select(Message.status, Message.channel, Message.attempts).where(
                    Message.id == message_id
                )
            ).one()
        assert tuple(row) == ("queued", "smpp:c", 0)
        db_.run_once()
        assert sim.call(lambda: sim.sim.stats.submits) == 0  # b does not take it back
        da.run_once()  # a claims it and submits
        _until(lambda: da.run_once() is not None and _status(engine, message_id) != "queued")
        assert _status(engine, message_id) in ("sent", "delivered")
        assert sim.call(lambda: sim.sim.stats.submits) == 1

        a.stop()  # releases the lease: b takes the connector over
        _until(lambda: b.snapshot.held == {"c"})
        _until(lambda: sim.call(sim.bound) == 1)
    finally:
        a.stop()
        b.stop()


def _status(engine: Engine, message_id: str) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(Message.status).where(Message.id == message_id)))


def test_separate_transmitter_and_receiver_binds(engine: Engine, sim: SimThread) -> None:
    """bind tx+rx: submits on the transmitter, the receipt comes back on the receiver."""
    with engine.begin() as conn:
        connectors.add_connector(
            conn,
            connectors.ConnectorSettings(
                "c", "127.0.0.1", sim.port, "user", "pw", bind_type="tx+rx"
            ),
            now=utcnow(),
        )
        connectors.set_route(conn, "+1", ["c"], now=utcnow())
    manager = ConnectorManager(engine, OPTIONS, owner="process-a")
    manager.start()
    try:
        _until(lambda: sim.call(sim.bound) == 2)
        kinds = sim.call(
            lambda: sorted(
                type(r.pdu).__name__ for r in sim.sim.received if "Bind" in type(r.pdu).__name__
            )
        )
        assert kinds == ["BindReceiver", "BindTransmitter"]
        message_id = _queue_message(engine)
        dispatcher = Dispatcher(engine, DemoChannel(), carriers=manager)
        _until(
            lambda: dispatcher.run_once() is not None and _status(engine, message_id) == "delivered"
        )

        # the receipt is stored before its deliver_sm_resp goes out: wait for the resp too
        def received_pdus() -> list[tuple[int, str]]:
            return list(
                sim.call(lambda: [(r.connection, type(r.pdu).__name__) for r in sim.sim.received])
            )

        _until(lambda: any(kind == "DeliverSmResp" for _, kind in received_pdus()))
        received = received_pdus()
        receiver = next(n for n, kind in received if kind == "BindReceiver")
        assert {n for n, kind in received if kind == "DeliverSmResp"} == {receiver}
        assert {n for n, kind in received if kind == "SubmitSm"} != {receiver}
    finally:
        manager.stop()
