"""Receipts and MO parts in the database, on SQLite and PostgreSQL: the matching rules,
the multipart rule, pending receipts, duplicates, reassembly and its timeout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from smsstreams.db import migrate
from smsstreams.db.engine import make_engine, make_sessionmaker
from smsstreams.db.models import (
    InboundMessage,
    Message,
    MessageEvent,
    PendingReceipt,
    WebhookDelivery,
    messages_table,
    segments_table,
)
from smsstreams.db.types import utcnow
from smsstreams.schemas import StreamCreate
from smsstreams.services.accounts import create_account
from smsstreams.services.sender_ids import create_sender_id
from smsstreams.services.streams import create_stream
from smsstreams.smpp.concat import ConcatInfo, UserData
from smsstreams.workers import mo_parts
from smsstreams.workers.receipts import (
    ReceiptIn,
    SegmentIn,
    apply_pending,
    drop_stale_pending,
    record_segments,
    store_receipts,
)
from smsstreams.workers.transitions import Move, apply

BUDGET = timedelta(hours=1)
NUMBER = "12025550142"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _stream(engine: Engine, **fields: object) -> str:
    with make_sessionmaker(engine)() as db, db.begin():
        account = create_account(
            db, name="R", email=f"r{uuid.uuid4().hex[:8]}@x.test", password="password1"
        )
        create_sender_id(db, account.account.id, NUMBER)
        data = {"name": "r", "state": "active", "direction": "two_way", "default_sender": NUMBER}
        stream = create_stream(db, account.account.id, StreamCreate(**{**data, **fields}))
        return stream.stream.id


def _sent(engine: Engine, stream_id: str, ids: list[str], connector: str = "c1") -> str:
    """A message `sent` with one segment per id, as the dispatcher records it."""
    now = utcnow()
    message_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            messages_table.insert(),
            [
                {
                    "id": message_id,
                    "stream_id": stream_id,
                    "account_id": 1,
                    "sender": NUMBER,
                    "recipient": "+15551230000",
                    "text": "hi",
                    "encoding": "gsm7",
                    "segments": len(ids),
                    "status": "queued",
                    "attempts": 1,
                    "next_attempt_at": now,
                    "expires_at": now + timedelta(hours=1),
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        apply(conn, [Move(message_id, "queued", "sent", {"channel": f"smpp:{connector}"})], now)
        record_segments(
            conn,
            [SegmentIn(message_id, n, connector, i, i) for n, i in enumerate(ids, start=1)],
            now,
            callback_budget=BUDGET,
        )
    return message_id


def _receipt(
    carrier_id: str, outcome: str | None = "delivered", connector: str = "c1"
) -> ReceiptIn:
    stat = {"delivered": "DELIVRD", "undelivered": "UNDELIV", None: "ENROUTE"}[outcome]
    return ReceiptIn(connector, carrier_id, carrier_id, outcome, stat, "000")


def _store(engine: Engine, *receipts: ReceiptIn) -> object:
    with engine.begin() as conn:
        return store_receipts(conn, list(receipts), utcnow(), callback_budget=BUDGET)


def _status(engine: Engine, message_id: str) -> tuple[str, list[str]]:
    with engine.connect() as conn:
        status = conn.scalar(select(Message.status).where(Message.id == message_id))
        events = conn.scalars(
            select(MessageEvent.status)
            .where(MessageEvent.message_id == message_id)
            .order_by(MessageEvent.id)
        ).all()
    return str(status), list(events)


def test_delivered_only_when_every_part_is_delivered(engine: Engine) -> None:
    stream = _stream(engine)
    m = _sent(engine, stream, ["101", "102", "103"])
    _store(engine, _receipt("101"))
    _store(engine, _receipt("102"), _receipt("999"))
    assert _status(engine, m) == ("sent", ["sent"])
    _store(engine, _receipt("103"))
    assert _status(engine, m) == ("delivered", ["sent", "delivered"])
    with engine.connect() as conn:
        outcomes = conn.scalars(
            select(segments_table.c.outcome).where(segments_table.c.message_id == m)
        ).all()
    assert outcomes == ["delivered"] * 3


def test_a_failed_part_fails_the_message_at_once_and_later_receipts_change_nothing(
    engine: Engine,
) -> None:
    stream = _stream(engine)
    m = _sent(engine, stream, ["201", "202"])
    counts = _store(engine, _receipt("202", "undelivered"))
    assert _status(engine, m) == ("undelivered", ["sent", "undelivered"])
    counts = _store(engine, _receipt("201"), _receipt("202", "undelivered"))
    assert counts.duplicates == 1 and counts.moved == 0  # type: ignore[attr-defined]
    assert _status(engine, m) == ("undelivered", ["sent", "undelivered"])
    with engine.connect() as conn:
        assert conn.scalar(select(Message.error_code).where(Message.id == m)) == "undelivered"


def test_duplicates_and_non_final_receipts_are_not_applied(engine: Engine) -> None:
    stream = _stream(engine)
    m = _sent(engine, stream, ["301"])
    counts = _store(engine, _receipt("301", None), _receipt("301"), _receipt("301"))
    assert (counts.not_final, counts.applied, counts.duplicates) == (1, 1, 1)  # type: ignore[attr-defined]
    _store(engine, _receipt("301"))
    assert _status(engine, m) == ("delivered", ["sent", "delivered"])


def test_same_id_on_another_connector_is_another_message(engine: Engine) -> None:
    stream = _stream(engine)
    a = _sent(engine, stream, ["401"], connector="c1")
    b = _sent(engine, stream, ["401"], connector="c2")
    _store(engine, _receipt("401", "undelivered", connector="c2"))
    assert _status(engine, a)[0] == "sent"
    assert _status(engine, b)[0] == "undelivered"


def test_the_newest_segment_with_an_id_wins(engine: Engine) -> None:
    """An SMSC that restarted its id counter: the old message is final, the new one gets it."""
    stream = _stream(engine)
    old = _sent(engine, stream, ["501"])
    _store(engine, _receipt("501"))
    new = _sent(engine, stream, ["501"])
    _store(engine, _receipt("501", "undelivered"))
    assert _status(engine, old)[0] == "delivered"
    assert _status(engine, new)[0] == "undelivered"


def test_receipt_before_its_id_waits_and_is_applied_when_the_id_is_recorded(
    engine: Engine,
) -> None:
    stream = _stream(engine)
    counts = _store(engine, _receipt("601"))
    assert counts.pending == 1  # type: ignore[attr-defined]
    m = _sent(engine, stream, ["601"])  # records the id: the parked receipt applies at once
    assert _status(engine, m) == ("delivered", ["sent", "delivered"])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PendingReceipt)) == 0


def test_the_sweep_applies_parked_receipts_and_drops_stale_ones(engine: Engine) -> None:
    stream = _stream(engine)
    m = _sent(engine, stream, ["701"])
    now = utcnow()
    with engine.begin() as conn:  # parked while the id was being recorded elsewhere (a race)
        conn.execute(
            PendingReceipt.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "connector": "c1",
                    "carrier_id": "701",
                    "report": _receipt("701").to_json(),
                    "received_at": now,
                },
                {
                    "connector": "c1",
                    "carrier_id": "unknown",
                    "report": _receipt("unknown").to_json(),
                    "received_at": now - timedelta(hours=2),
                },
            ],
        )
    with engine.begin() as conn:
        counts = apply_pending(conn, now, callback_budget=BUDGET, connectors=["c1"])
        assert counts.applied == 1
        assert drop_stale_pending(conn, now - timedelta(hours=1)) == 1
    assert _status(engine, m) == ("delivered", ["sent", "delivered"])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PendingReceipt)) == 0


def test_receipts_queue_status_callbacks(engine: Engine) -> None:
    stream = _stream(
        engine,
        status_callbacks=True,
        webhook={"method": "POST", "url": "https://example.test/hook"},
    )
    m = _sent(engine, stream, ["801"])
    counts = _store(engine, _receipt("801"))
    assert counts.webhooks == 1  # type: ignore[attr-defined]
    with engine.connect() as conn:
        kinds = conn.scalars(
            select(WebhookDelivery.event_id).where(WebhookDelivery.stream_id == stream)
        ).all()
    assert kinds == [f"{m}:delivered"]


def _part(text: str, seq: int, total: int, ref: int = 7) -> mo_parts.MoIn:
    ud = UserData("gsm7", text.encode(), concat=ConcatInfo(ref, total, seq, "udh8"))
    return mo_parts.MoIn("c1", "15551230000", NUMBER, ud)


def test_mo_parts_out_of_order_are_joined_once(engine: Engine) -> None:
    stream = _stream(engine)
    inbox = mo_parts.Inbox(timedelta(days=7), BUDGET)
    now = utcnow()
    with engine.begin() as conn:
        assert mo_parts.store_mo(conn, [_part("C", 3, 3), _part("A", 1, 3)], now, inbox) == 0
    with engine.begin() as conn:  # a re-sent part is ignored; the last one completes the set
        assert mo_parts.store_mo(conn, [_part("A", 1, 3), _part("B", 2, 3)], now, inbox) == 1
    with engine.begin() as conn:
        whole = mo_parts.MoIn("c1", "15551230000", NUMBER, UserData("gsm7", b"single"))
        assert mo_parts.store_mo(conn, [whole], now, inbox) == 1
    with engine.connect() as conn:
        rows = conn.execute(
            select(InboundMessage.text, InboundMessage.stream_id, InboundMessage.channel).order_by(
                InboundMessage.seq
            )
        ).all()
    assert [tuple(r) for r in rows] == [("ABC", stream, "smpp:c1"), ("single", stream, "smpp:c1")]


def test_incomplete_mo_sets_are_delivered_with_a_mark_after_the_timeout(engine: Engine) -> None:
    _stream(engine)
    inbox = mo_parts.Inbox(timedelta(days=7), BUDGET)
    then = utcnow() - timedelta(minutes=20)
    with engine.begin() as conn:
        mo_parts.store_mo(conn, [_part("A", 1, 3, ref=9), _part("C", 3, 3, ref=9)], then, inbox)
        mo_parts.store_mo(conn, [_part("X", 1, 2, ref=10)], utcnow(), inbox)
    now = utcnow()
    with engine.begin() as conn:
        assert (
            mo_parts.expire_sets(conn, now - timedelta(minutes=10), now, inbox, connectors=["c1"])
            == 1
        )
    with engine.connect() as conn:
        texts = conn.scalars(select(InboundMessage.text)).all()
    assert texts == [f"A{mo_parts.MISSING_MARK}C"]
