"""The dispatcher: claims queued messages in batches and hands them to their channel.

The messages table is the queue. A claim is one statement: it stamps the batch with this
worker's id and a lease; a worker that dies leaves claims that others take again once the
lease has run out. The same thread produces the demo channel's receipts and expires
messages whose validity ended without a receipt.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, and_, or_, select, update

from smsstreams.channels.demo import DemoChannel
from smsstreams.db.models import messages_table, streams_table
from smsstreams.db.types import utcnow
from smsstreams.services import inbound

from .transitions import Move, apply

log = logging.getLogger(__name__)
_t = messages_table
_s = streams_table

Router = Callable[[str], Any | None]


def no_carrier_routes(recipient: str) -> None:
    """The routing table while no carrier connector is configured: nothing is served."""
    return None


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        demo: DemoChannel,
        *,
        batch: int = 500,
        lease: timedelta = timedelta(seconds=30),
        poll_interval: float = 0.5,
        route: Router = no_carrier_routes,
        reply_window: timedelta = timedelta(days=7),
        webhook_budget: timedelta = timedelta(hours=24),
        on_webhooks: Callable[[], None] = lambda: None,
    ) -> None:
        self.reply_window = reply_window
        self.webhook_budget = webhook_budget
        self.on_webhooks = on_webhooks
        self.engine = engine
        self.demo = demo
        self.batch = batch
        self.lease = lease
        self.poll_interval = poll_interval
        self.route = route
        self.worker_id = f"w-{uuid.uuid4().hex[:12]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pg = engine.dialect.name == "postgresql"

    # -- lifecycle ------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self.run_once()
            except Exception:
                log.exception("dispatcher pass failed; retrying")
                busy = False
                self._stop.wait(1.0)
            if not busy:
                self._wake.wait(self.poll_interval)

    def run_once(self, now: datetime | None = None) -> bool:
        """One pass over all due work; True when a batch was full (more may be waiting)."""
        now = now or utcnow()
        claimed = self.claim(now)
        if claimed:
            self.submit(claimed, now)
        receipts = self.demo_receipts(now)
        expired = self.expire(now)
        return len(claimed) >= self.batch or receipts >= self.batch or expired >= self.batch

    # -- dispatch -------------------------------------------------------------------------

    def claim(self, now: datetime) -> list[Row[Any]]:
        due = (
            select(_t.c.id)
            .where(
                _t.c.status == "queued",
                _t.c.next_attempt_at <= now,
                or_(_t.c.lease_until.is_(None), _t.c.lease_until < now),
            )
            .order_by(_t.c.next_attempt_at)
            .limit(self.batch)
        )
        if self._pg:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(_t)
            .where(_t.c.id.in_(due.scalar_subquery()))
            .values(
                claimed_by=self.worker_id,
                lease_until=now + self.lease,
                attempts=_t.c.attempts + 1,
            )
            .returning(_t.c.id, _t.c.channel, _t.c.recipient, _t.c.segments)
        )
        with self.engine.begin() as conn:
            return list(conn.execute(stmt))

    def submit(self, claimed: list[Row[Any]], now: datetime) -> None:
        moves: list[Move] = []
        for row in claimed:
            if row.channel == "demo":
                result = self.demo.submit(row.recipient, row.segments, now)
                moves.append(
                    Move(
                        row.id,
                        "queued",
                        "sent",
                        {"channel": "demo", "carrier_ids": result.carrier_ids},
                        {"carrier_ids": result.carrier_ids, "demo_receipt_at": result.receipt_at},
                    )
                )
            elif self.route(row.recipient) is None:
                moves.append(Move(row.id, "queued", "no_routes", {"recipient": row.recipient}))
        self._finish_claimed(moves, now)

    def _finish_claimed(self, moves: list[Move], now: datetime) -> None:
        """Apply moves for messages this worker still holds (its lease may have been lost)."""
        if not moves:
            return
        ids = [m.message_id for m in moves]
        held = select(_t.c.id).where(
            _t.c.id.in_(ids), _t.c.claimed_by == self.worker_id, _t.c.status == "queued"
        )
        if self._pg:
            held = held.with_for_update()
        with self.engine.begin() as conn:
            still = {r[0] for r in conn.execute(held)}
            if len(still) < len(ids):
                log.warning(
                    "%d claimed messages were taken over by another worker", len(ids) - len(still)
                )
            queued = apply(
                conn,
                [m for m in moves if m.message_id in still],
                now,
                callback_budget=self.webhook_budget,
            )
        if queued:
            self.on_webhooks()

    # -- demo receipts and expiry ---------------------------------------------------------

    def _take(self, conn: Any, condition: Any, *extra: Any) -> list[Row[Any]]:
        query = (
            select(_t.c.id, _t.c.status, _t.c.recipient, *extra).where(condition).limit(self.batch)
        )
        if self._pg:
            query = query.with_for_update(skip_locked=True, of=_t)
        return list(conn.execute(query))

    def demo_receipts(self, now: datetime) -> int:
        webhooks = 0
        with self.engine.begin() as conn:
            rows = self._take(
                conn,
                and_(
                    _t.c.status == "sent",
                    _t.c.demo_receipt_at <= now,
                    _t.c.channel == "demo",
                    _s.c.id == _t.c.stream_id,
                ),
                _t.c.sender,
                _t.c.text,
                _s.c.direction,
            )
            moves = []
            replies = []
            for row in rows:
                receipt = self.demo.receipt(row.recipient)
                moves.append(
                    Move(
                        row.id,
                        row.status,
                        receipt.status,
                        {"stat": receipt.stat, "err": receipt.err, "channel": "demo"},
                        {"demo_receipt_at": None},
                    )
                )
                if receipt.status == "delivered" and row.direction == "two_way" and row.sender:
                    answer = self.demo.reply(row.recipient, row.text)
                    if answer is not None:
                        replies.append((row.recipient, row.sender, answer))
            webhooks += apply(conn, moves, now, callback_budget=self.webhook_budget)
            for phone, ours, text in replies:
                inbound.receive(
                    conn,
                    from_number=phone,
                    to_number=ours,
                    text=text,
                    channel="demo",
                    received_at=now,
                    reply_window=self.reply_window,
                    budget=self.webhook_budget,
                )
            webhooks += len(replies)
        if webhooks:
            self.on_webhooks()
        return len(rows)

    def expire(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            rows = self._take(conn, and_(_t.c.status == "sent", _t.c.expires_at <= now))
            apply(
                conn,
                [
                    Move(r.id, r.status, "expired", {"reason": "validity period ended"})
                    for r in rows
                ],
                now,
            )
            return len(rows)
