"""The messages table as a queue, on the real databases: claims, leases, exactly-once moves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from smsstreams.channels.demo import DemoChannel
from smsstreams.db import migrate
from smsstreams.db.engine import make_engine, make_sessionmaker
from smsstreams.db.models import Message, MessageEvent, messages_table
from smsstreams.db.types import utcnow
from smsstreams.schemas import StreamCreate
from smsstreams.services.accounts import create_account
from smsstreams.services.streams import create_stream
from smsstreams.workers.dispatch import Dispatcher


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _queue(engine: Engine, count: int, *, demo: bool = True) -> list[str]:
    now = utcnow()
    with make_sessionmaker(engine)() as db, db.begin():
        account = create_account(
            db, name="Q", email=f"q{uuid.uuid4().hex[:8]}@x.test", password="password1"
        )
        stream = create_stream(
            db,
            account.account.id,
            StreamCreate(name="q", state="active", demo=demo, direction="one_way"),
        ).stream
        ids = [str(uuid.uuid4()) for _ in range(count)]
        db.execute(
            messages_table.insert(),
            [
                {
                    "id": i,
                    "stream_id": stream.id,
                    "account_id": stream.account_id,
                    "internal_id": None,
                    "sender": None,
                    "recipient": "+12025550123",
                    "text": "hi",
                    "encoding": "gsm7",
                    "segments": 1,
                    "status": "queued",
                    "channel": "demo" if demo else None,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "expires_at": now + timedelta(hours=1),
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
    return ids


def _dispatcher(engine: Engine, **kw: object) -> Dispatcher:
    demo = DemoChannel(delay_min=0, delay_max=0, undelivered_rate=0)
    return Dispatcher(engine, demo, batch=50, **kw)  # type: ignore[arg-type]


def test_claims_do_not_overlap_and_lease_expiry_releases(engine: Engine) -> None:
    ids = _queue(engine, 80)
    a, b = _dispatcher(engine), _dispatcher(engine)
    now = utcnow()
    first = {r.id for r in a.claim(now)}
    second = {r.id for r in b.claim(now)}
    assert len(first) == 50 and len(second) == 30 and not first & second
    assert first | second == set(ids)
    assert b.claim(now) == []  # everything is leased
    # both workers die; once the leases have run out a new worker takes everything again
    c = _dispatcher(engine)
    later = now + a.lease + timedelta(seconds=1)
    taken = [r.id for r in c.claim(later)] + [r.id for r in c.claim(later)]
    assert sorted(taken) == sorted(ids)
    assert c.claim(later) == []


def test_a_worker_that_lost_its_lease_cannot_finish(engine: Engine) -> None:
    _queue(engine, 5)
    a, b = _dispatcher(engine), _dispatcher(engine)
    now = utcnow()
    claimed_by_a = a.claim(now)
    later = now + a.lease + timedelta(seconds=1)
    claimed_by_b = b.claim(later)
    b.submit(claimed_by_b, later)
    a.submit(claimed_by_a, later)  # too late: must change nothing
    with make_sessionmaker(engine)() as db:
        sent_events = db.scalar(
            select(func.count()).select_from(MessageEvent).where(MessageEvent.status == "sent")
        )
        assert sent_events == 5
        assert set(db.scalars(select(Message.status))) == {"sent"}


def test_demo_flow_reaches_one_final_status_each(engine: Engine) -> None:
    ids = _queue(engine, 120)
    d = _dispatcher(engine)
    now = utcnow()
    for step in range(10):
        d.run_once(now + timedelta(seconds=step))
    with make_sessionmaker(engine)() as db:
        statuses = dict(db.execute(select(Message.id, Message.status)).all())
        assert all(statuses[i] == "delivered" for i in ids)
        per_message = db.execute(
            select(MessageEvent.message_id, func.count())
            .where(MessageEvent.status == "delivered")
            .group_by(MessageEvent.message_id)
        ).all()
        assert len(per_message) == 120 and all(n == 1 for _, n in per_message)


def test_non_demo_without_routes(engine: Engine) -> None:
    ids = _queue(engine, 3, demo=False)
    _dispatcher(engine).run_once()
    with make_sessionmaker(engine)() as db:
        rows = db.execute(
            select(Message.status, Message.error_code).where(Message.id.in_(ids))
        ).all()
        assert rows == [("no_routes", "no_routes")] * 3


def test_sent_without_receipt_expires(engine: Engine) -> None:
    ids = _queue(engine, 1)
    with engine.begin() as conn:
        conn.execute(messages_table.update().values(recipient="+12025550171"))
    d = _dispatcher(engine)
    now = utcnow()
    d.run_once(now)
    d.run_once(now + timedelta(minutes=30))
    with make_sessionmaker(engine)() as db:
        assert db.scalar(select(Message.status).where(Message.id == ids[0])) == "sent"
    d.run_once(now + timedelta(hours=2))
    with make_sessionmaker(engine)() as db:
        assert db.scalar(select(Message.status).where(Message.id == ids[0])) == "expired"
