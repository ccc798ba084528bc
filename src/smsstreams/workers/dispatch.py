"""The dispatcher: claims queued messages in batches and hands them to their channel.

The messages table is the queue. A claim is one statement: it stamps the batch with this
worker's id and a lease; a worker that dies leaves claims that others take again once the
lease has run out. Demo messages skip the claim: the demo channel accepts everything, so
one statement takes due demo messages straight to ``sent`` (:meth:`Dispatcher.send_demo`).
The same thread produces the demo channel's receipts and expires messages whose validity
ended without a receipt.

Carrier messages (streams not in demo mode), when a :class:`ConnectorManager` is given:

* they are claimed separately from demo messages, at most as many as the connectors of
  this process can have in flight, so a slow carrier never holds up the demo path;
* the routing table picks the rule (longest prefix); no rule -> ``no_routes``;
* the message is submitted on the first usable connector of the rule, failing over to the
  next on a connection failure or an error status (see ``channels/carrier.py``), without
  blocking this thread: the SMPP thread's writer records the results with
  :meth:`Dispatcher.record_carrier_results`, batched with the receipts it stores
  (``sent`` + carrier ids per segment, or ``sent_failed`` with the carrier's error when
  every connector refused it for good, or a retry with backoff after transient failures
  until ``SMSSTREAMS_SUBMIT_MAX_ATTEMPTS``); every attempt is in the event's detail (the
  Status API timeline);
* a rule whose connector is bound by another process: the message is handed over (its
  ``channel`` names the connector, and only that process claims it);
* the lease of a message in flight is renewed while the carrier has not answered.

Duplicates: a worker that dies after a submit_sm went out and before ``sent`` was recorded
leaves a claimed message that another worker submits again once the lease has run out --
the handset may get it twice. So may a message whose submit got no answer (connection lost,
response timeout): the carrier may have accepted it, but we cannot know, and we retry
rather than lose it. Receipts for the first, unrecorded submission match no segment, wait
in ``pending_receipts`` and are dropped (and logged) after the pending timeout.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    and_,
    bindparam,
    case,
    literal,
    null,
    or_,
    select,
    true,
    update,
)

from smsstreams.channels.carrier import SubmitJob, SubmitResult, error_code
from smsstreams.channels.demo import DemoChannel
from smsstreams.channels.routing import display_prefix
from smsstreams.db.models import QUEUED, SENT, events_table, messages_table, streams_table
from smsstreams.db.types import UTCDateTime, utcnow
from smsstreams.domain.retry import next_attempt
from smsstreams.services import inbound

from . import receipts, transitions
from .transitions import Move, apply

if TYPE_CHECKING:
    from smsstreams.channels.smpp import ConnectorManager

log = logging.getLogger(__name__)
_t = messages_table
_s = streams_table

#: Shortest time between two passes (see _run).
MIN_PASS_SECONDS = 0.025
#: How long stop() waits for submits in flight before leaving them to the lease.
DRAIN_SECONDS = 5.0
#: Demo receipts and expiry are looked at this often while carrier results keep the thread
#: busy (and on every pass otherwise).
HOUSEKEEPING_SECONDS = 0.05


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        demo: DemoChannel,
        *,
        batch: int = 500,
        lease: timedelta = timedelta(seconds=30),
        poll_interval: float = 0.5,
        carriers: ConnectorManager | None = None,
        max_attempts: int = 10,
        retry_base: float = 5.0,
        retry_cap: float = 600.0,
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
        self.carriers = carriers
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._inflight: set[str] = set()  # carrier submits not recorded yet
        # ids whose results the SMPP writer has recorded (filled on its thread)
        self._recorded: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
        self._housekeeping = 0.0  # when demo receipts and expiry are next looked at
        self._renewed = time.monotonic()
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
        last = 0.0
        while not self._stop.is_set():
            # Under load every Send commit wakes us: a short pause gathers more messages per
            # pass, so the dispatcher's commits (fsyncs on SQLite) do not crowd out the
            # writer's. It adds at most MIN_PASS_SECONDS to a message's way out.
            pause = MIN_PASS_SECONDS - (time.monotonic() - last)
            if pause > 0:
                self._stop.wait(pause)
            last = time.monotonic()
            self._wake.clear()
            try:
                busy = self.run_once()
            except Exception:
                log.exception("dispatcher pass failed; retrying")
                busy = False
                self._stop.wait(1.0)
            if not busy:
                self._wake.wait(self.poll_interval)
        self.drain()

    def run_once(self, now: datetime | None = None) -> bool:
        """One pass over all due work; True when a batch was full (more may be waiting)."""
        now = now or utcnow()
        busy = False
        demo = self.send_demo(now)
        if self.carriers is None:
            claimed = self.claim(now)  # without carriers: the rest is no_routes
        else:
            claimed = []
            busy = self.carrier_pass(now)
        if claimed:
            self.submit(claimed, now)
        receipts = self.demo_receipts(now)
        expired = self.expire(now)
        full = max(demo, len(claimed), receipts, expired) >= self.batch
        return busy or full

    # -- dispatch -------------------------------------------------------------------------

    def _due(self, now: datetime, condition: Any, limit: int | None = None) -> Any:
        """The ids of due, unleased queued messages that match ``condition``, oldest first
        (locked, skipping locked ones, on PostgreSQL)."""
        due = (
            select(_t.c.id)
            .where(
                _t.c.status == QUEUED,
                _t.c.next_attempt_at <= now,
                or_(_t.c.lease_until.is_(None), _t.c.lease_until < now),
                condition,
            )
            .order_by(_t.c.next_attempt_at)
            .limit(limit or self.batch)
        )
        if self._pg:
            due = due.with_for_update(skip_locked=True)
        return due.scalar_subquery()

    def send_demo(self, now: datetime) -> int:
        """Hand due demo messages to the demo channel: claimed and marked ``sent`` in one
        statement (the demo channel accepts everything, so there is nothing to wait for),
        their events set-wise. Returns how many."""
        never = self.demo.NEVER_RECEIPT_RECIPIENTS
        receipt_at = case(
            (_t.c.recipient.in_(never), null()),
            else_=literal(self.demo.receipt_time(now), UTCDateTime),
        )
        sent = (
            update(_t)
            .where(_t.c.id.in_(self._due(now, _t.c.channel == "demo")))
            .values(
                status="sent",
                error_code=None,
                error_description=None,
                carrier_ids=[],
                demo_receipt_at=receipt_at,
                attempts=_t.c.attempts + 1,
                updated_at=now,
                lease_until=None,
                claimed_by=None,
            )
            .returning(_t.c.id)
        )
        with self.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(sent)]
            queued = transitions.record_events(
                conn,
                ids,
                "sent",
                now,
                {"channel": "demo", "carrier_ids": []},
                callback_budget=self.webhook_budget,
            )
        if queued:
            self.on_webhooks()
        return len(ids)

    def claim(
        self,
        now: datetime,
        *,
        demo: bool | None = None,
        channels: list[str] | None = None,
        limit: int | None = None,
    ) -> list[Row[Any]]:
        """Claim due messages: all (``demo=None``), demo ones, or carrier ones (``demo=False``:
        unrouted ones and those handed to ``channels``)."""
        condition: Any = true()
        returning = [_t.c.id, _t.c.channel, _t.c.recipient, _t.c.segments]
        if demo is True:
            condition = _t.c.channel == "demo"
        elif demo is False:
            condition = _t.c.channel.is_(None)
            if channels:
                condition = or_(condition, _t.c.channel.in_(channels))
            returning += [_t.c.sender, _t.c.text, _t.c.expires_at, _t.c.attempts]
        stmt = (
            update(_t)
            .where(_t.c.id.in_(self._due(now, condition, limit)))
            .values(
                claimed_by=self.worker_id,
                lease_until=now + self.lease,
                attempts=_t.c.attempts + 1,
            )
            .returning(*returning)
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
            else:  # no carrier channel in this dispatcher
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

    # -- carrier messages -----------------------------------------------------------------

    def carrier_pass(self, now: datetime) -> bool:
        """Claim and route carrier messages, as many as the connectors of this process can
        take; True when a full batch was claimed (more may be waiting)."""
        assert self.carriers is not None
        self._take_recorded()
        snap = self.carriers.snapshot
        room = min(self.batch, snap.capacity - len(self._inflight))
        claimed = []
        if room > 0:
            claimed = self.claim(
                now, demo=False, channels=[f"smpp:{n}" for n in snap.held], limit=room
            )
            if claimed:
                self._route(claimed, now)
        self._renew_inflight(now)
        return room > 0 and len(claimed) >= room

    def _route(self, claimed: list[Row[Any]], now: datetime) -> None:
        assert self.carriers is not None
        snap = self.carriers.snapshot
        moves: list[Move] = []
        unsent: list[SubmitResult] = []
        jobs: list[SubmitJob] = []
        for row in claimed:
            match = snap.routes.lookup(row.recipient)
            if match is None:
                moves.append(Move(row.id, "queued", "no_routes", {"recipient": row.recipient}))
                continue
            if row.expires_at <= now:
                moves.append(
                    Move(
                        row.id,
                        "queued",
                        "sent_failed",
                        {"reason": "the validity period ended before a carrier accepted it"},
                        {
                            "error_code": "validity_expired",
                            "error_description": "The validity period ended before a carrier "
                            "accepted the message",
                        },
                    )
                )
                continue
            usable = tuple(c for c in match.connectors if c in snap.senders)
            first = next((c for c in usable if c in snap.held or c in snap.elsewhere), None)
            job = SubmitJob(
                row.id,
                row.sender or "",
                row.recipient,
                row.text,
                row.expires_at,
                usable[usable.index(first) :] if first else (),
                row.attempts,
            )
            if first is None:
                note = (
                    f"no connector of route {display_prefix(match.prefix)} "
                    f"({', '.join(match.connectors)}) is enabled and bound"
                )
                unsent.append(SubmitResult(job, note=note))
            elif first not in snap.held:
                unsent.append(SubmitResult(job, handoff=first))
            else:
                jobs.append(job)
        self._finish_claimed(moves, now)
        if unsent:
            self._finish_carrier(unsent, now)
        if jobs:
            self._inflight.update(j.message_id for j in jobs)
            self.carriers.submit_many(jobs, self)

    def carrier_results_recorded(self, message_ids: list[str]) -> None:
        """Called by the SMPP writer (its thread) after it committed these results."""
        self._recorded.put(message_ids)
        self._wake.set()

    def _take_recorded(self) -> None:
        while True:
            try:
                self._inflight.difference_update(self._recorded.get_nowait())
            except queue.Empty:
                return

    def _renew_inflight(self, now: datetime) -> None:
        """Keep the lease of messages whose submit has not been answered yet."""
        if not self._inflight:
            return
        clock = time.monotonic()
        if clock - self._renewed < self.lease.total_seconds() / 3:
            return
        self._renewed = clock
        with self.engine.begin() as conn:
            conn.execute(
                update(_t)
                .where(_t.c.id.in_(list(self._inflight)), _t.c.claimed_by == self.worker_id)
                .values(lease_until=now + self.lease)
            )

    def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """On stop: wait a little for submits in flight and record what they got."""
        give_up = time.monotonic() + timeout
        self._take_recorded()
        while self._inflight and time.monotonic() < give_up:
            time.sleep(0.05)
            self._take_recorded()
        if self._inflight:
            log.warning(
                "%d carrier submits unanswered at stop; their messages are retried after the lease",
                len(self._inflight),
            )

    def _finish_carrier(self, results: list[SubmitResult], now: datetime) -> None:
        """Record results made on this thread (hand-offs, nothing to try) at once."""
        with self.engine.begin() as conn:
            webhooks = self.record_carrier_results(conn, results, now)
        if webhooks:
            self.on_webhooks()

    def record_carrier_results(
        self, conn: Connection, results: list[SubmitResult], now: datetime
    ) -> int:
        """Record submit results of messages this worker still holds, in the caller's
        transaction (the SMPP writer's, together with the receipts it stores, so that a
        receipt right behind its submit_sm_resp matches at once). Returns the number of
        status callbacks queued."""
        ids = [r.job.message_id for r in results]
        held = select(_t.c.id).where(
            _t.c.id.in_(ids), _t.c.claimed_by == self.worker_id, _t.c.status == "queued"
        )
        if self._pg:
            held = held.with_for_update()
        moves: list[Move] = []
        segments: list[receipts.SegmentIn] = []
        requeue: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        still = {r[0] for r in conn.execute(held)}
        for r in results:
            job = r.job
            if job.message_id not in still:
                log.warning(
                    "message %s was taken over by another worker while it was submitted "
                    "(lease lost); the carrier may deliver it twice",
                    job.message_id,
                )
                continue
            first_try = r.accepted_by is not None and len(r.attempts) == 1
            attempts = [] if first_try else [a.public() for a in r.attempts]
            if r.accepted_by is not None:
                channel = f"smpp:{r.accepted_by}"
                raw_ids = [raw for _, _, raw in r.segments]
                # the accepting attempt is the event itself (connector, time, ESME_ROK,
                # carrier ids); earlier failed attempts are listed when there were any
                detail: dict[str, Any] = {
                    "channel": channel,
                    "connector": r.accepted_by,
                    "pdu_status": "ESME_ROK",
                    "carrier_ids": raw_ids,
                }
                if attempts:
                    detail["attempts"] = attempts
                values = {"channel": channel, "carrier_ids": raw_ids}
                moves.append(Move(job.message_id, "queued", "sent", detail, values))
                segments += [
                    receipts.SegmentIn(job.message_id, n, r.accepted_by, key, raw)
                    for n, key, raw in r.segments
                ]
                continue
            if r.handoff is not None:
                requeue.append(
                    {
                        "_id": job.message_id,
                        "_next": now,
                        "_channel": f"smpp:{r.handoff}",
                        "_attempts": job.attempt if attempts else job.attempt - 1,
                    }
                )
                if attempts:
                    detail = {"handed_to": r.handoff, "attempts": attempts}
                    events.append(_event(job.message_id, now, detail))
                continue
            when = None
            if not r.permanent:
                when = next_attempt(
                    job.attempt,
                    self.max_attempts,
                    base=self.retry_base,
                    cap=self.retry_cap,
                    now=now,
                )
            if when is None or when >= job.expires_at:
                moves.append(_failed(r, when is None and not r.permanent))
                continue
            requeue.append(
                {
                    "_id": job.message_id,
                    "_next": when,
                    "_channel": None,
                    "_attempts": job.attempt,
                }
            )
            detail = {"retry_at": when.isoformat(), "attempts": attempts}
            if r.note:
                detail["reason"] = r.note
            events.append(_event(job.message_id, now, detail))
        webhooks = apply(conn, moves, now, callback_budget=self.webhook_budget)
        webhooks += receipts.record_segments(
            conn, segments, now, callback_budget=self.webhook_budget
        ).webhooks
        if requeue:
            conn.execute(
                update(_t)
                .where(_t.c.id == bindparam("_id"))
                .values(
                    next_attempt_at=bindparam("_next"),
                    channel=bindparam("_channel"),
                    attempts=bindparam("_attempts"),
                    lease_until=None,
                    claimed_by=None,
                    updated_at=now,
                ),
                requeue,
            )
        if events:
            conn.execute(events_table.insert(), events)
        return webhooks

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
                    _t.c.status == SENT,
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
            rows = self._take(conn, and_(_t.c.status == SENT, _t.c.expires_at <= now))
            apply(
                conn,
                [
                    Move(r.id, r.status, "expired", {"reason": "validity period ended"})
                    for r in rows
                ],
                now,
            )
            return len(rows)


def _event(message_id: str, at: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry for a retry: the message stays (or goes back) ``queued``."""
    return {"message_id": message_id, "status": "queued", "at": at, "detail": detail}


def _failed(result: SubmitResult, exhausted: bool) -> Move:
    """``sent_failed`` with the carrier's error (the first permanent one, else the first)."""
    job = result.job
    err = result.last_error()
    attempts = [a.public() for a in result.attempts]
    if err is None:
        code = "sent_failed"
        description = result.note or "No carrier accepted the message"
    else:
        code = error_code(err.status) if err.status is not None else "sent_failed"
        description = f"Carrier {err.connector} refused the message: {err.error}"
    if exhausted:
        description = f"{description} (gave up after {job.attempt} attempts)"
    elif err is None or err.transient:
        description = f"{description} (the validity period ends before the next attempt)"
    detail: dict[str, Any] = {"attempts": attempts}
    if result.note:
        detail["reason"] = result.note
    return Move(
        job.message_id,
        "queued",
        "sent_failed",
        detail,
        {"error_code": code[:32], "error_description": description},
    )
