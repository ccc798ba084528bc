"""Carrier receipts in the database: segments, matching, the final-status rule, pending ones.

Every submitted part of a message has a row in ``carrier_segments`` with the carrier's id
(normalised, so hex/decimal differences between the submit_sm_resp and the receipt do not
matter). A receipt is matched by (connector, id); the newest segment with that id wins.

The rule for a multipart message (one receipt per part):

* the message becomes ``delivered`` when **every** part has a ``delivered`` receipt;
* it takes a failure status (``undelivered``, ``expired``, ``rejected``) as soon as **any**
  part has a final failure receipt -- the text is incomplete on the handset, whatever the
  other parts do; later receipts of the other parts are stored on their segment only;
* receipts that are not final (ENROUTE, ACCEPTD, ...) are acknowledged and not applied.

A receipt for a segment that already has its final receipt, or for a message that is
already final, is logged and not applied again. A receipt whose id is not known yet (the
carrier sent it before the submit_sm_resp, or we have not stored the resp yet) goes to
``pending_receipts`` and is applied in the transaction that records the id, or by the
periodic sweep (:func:`apply_pending`); one that never matches is dropped after the
pending timeout and logged.

All functions work in the caller's transaction; the caller commits before the carrier
gets its deliver_sm_resp.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from smsstreams.db.models import messages_table, pending_receipts_table, segments_table
from smsstreams.domain.status import FINAL, Status

from .transitions import Move, apply

log = logging.getLogger(__name__)

_m = messages_table
_seg = segments_table
_p = pending_receipts_table


@dataclass(frozen=True, slots=True)
class ReceiptIn:
    """A receipt as received, boiled down (see ``smpp.receipts.report_from_pdu``)."""

    connector: str
    carrier_id: str  # normalised key
    raw_id: str
    outcome: str | None  # delivered | undelivered | expired | rejected | None (not final)
    stat: str | None = None
    err: str | None = None
    done_date: str | None = None
    network_error: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReceiptIn:
        net = data.get("network_error")
        return cls(**{**data, "network_error": tuple(net) if net else None})


@dataclass(frozen=True, slots=True)
class SegmentIn:
    """One accepted part, recorded when the message becomes ``sent``."""

    message_id: str
    segment: int
    connector: str
    carrier_id: str
    raw_id: str


@dataclass(slots=True)
class ReceiptCounts:
    applied: int = 0  # stored on their segment
    moved: int = 0  # messages that changed status
    pending: int = 0
    duplicates: int = 0
    not_final: int = 0
    webhooks: int = 0

    def add(self, other: ReceiptCounts) -> None:
        for name in ("applied", "moved", "pending", "duplicates", "not_final", "webhooks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def record_segments(
    conn: Connection, segments: list[SegmentIn], at: datetime, *, callback_budget: timedelta
) -> ReceiptCounts:
    """Store accepted parts, then apply any receipt that was waiting for their ids."""
    if not segments:
        return ReceiptCounts()
    conn.execute(
        _seg.insert(),
        [
            {
                "message_id": s.message_id,
                "segment": s.segment,
                "connector": s.connector,
                "carrier_id": s.carrier_id,
                "raw_id": s.raw_id,
                "submitted_at": at,
            }
            for s in segments
        ],
    )
    by_connector: dict[str, set[str]] = defaultdict(set)
    for s in segments:
        by_connector[s.connector].add(s.carrier_id)
    waiting: list[ReceiptIn] = []
    for connector, keys in by_connector.items():
        rows = conn.execute(
            delete(_p)
            .where(_p.c.connector == connector, _p.c.carrier_id.in_(keys))
            .returning(_p.c.id, _p.c.report)
        ).all()
        waiting += [ReceiptIn.from_json(r.report) for r in sorted(rows, key=lambda r: r.id)]
    if not waiting:
        return ReceiptCounts()
    log.info("applying %d receipt(s) that arrived before their submit_sm_resp", len(waiting))
    return store_receipts(conn, waiting, at, callback_budget=callback_budget, park=False)


def store_receipts(
    conn: Connection,
    receipts: list[ReceiptIn],
    at: datetime,
    *,
    callback_budget: timedelta,
    park: bool = True,
) -> ReceiptCounts:
    """Match and apply receipts; unknown ids are parked in pending_receipts (``park``)."""
    counts = ReceiptCounts()
    if not receipts:
        return counts
    wanted: dict[str, set[str]] = defaultdict(set)
    for r in receipts:
        wanted[r.connector].add(r.carrier_id)
    segments: dict[tuple[str, str], Any] = {}
    for connector, keys in wanted.items():
        for row in conn.execute(
            select(_seg.c.id, _seg.c.message_id, _seg.c.segment, _seg.c.carrier_id, _seg.c.outcome)
            .where(_seg.c.connector == connector, _seg.c.carrier_id.in_(keys))
            .order_by(_seg.c.id)
        ):
            segments[(connector, row.carrier_id)] = row  # the newest row wins
    updates: list[dict[str, Any]] = []
    done: set[int] = set()
    latest: dict[str, tuple[ReceiptIn, Any]] = {}  # message -> (receipt, segment) of this batch
    unknown: list[ReceiptIn] = []
    for r in receipts:
        seg = segments.get((r.connector, r.carrier_id))
        if seg is None:
            unknown.append(r)
            continue
        if seg.outcome is not None or seg.id in done:
            counts.duplicates += 1
            log.info(
                "receipt %s on %s for segment %d of message %s: already has its final "
                "receipt; not applied again",
                r.raw_id,
                r.connector,
                seg.segment,
                seg.message_id,
            )
            continue
        if r.outcome is None:
            counts.not_final += 1
            continue
        done.add(seg.id)
        updates.append(
            {
                "_id": seg.id,
                "outcome": r.outcome,
                "stat": (r.stat or "")[:16] or None,
                "err": (r.err or "")[:16] or None,
                "receipt_at": at,
            }
        )
        previous = latest.get(seg.message_id)
        if previous is None or previous[0].outcome == "delivered":
            latest[seg.message_id] = (r, seg)  # the last receipt, unless a failure came first
    if updates:
        # set-wise: receipts of a batch mostly say the same (DELIVRD, 000)
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for u in updates:
            groups[(u["outcome"], u["stat"], u["err"])].append(u["_id"])
        for (outcome, stat, err), ids in groups.items():
            for i in range(0, len(ids), 500):
                conn.execute(
                    update(_seg)
                    .where(_seg.c.id.in_(ids[i : i + 500]))
                    .values(outcome=outcome, stat=stat, err=err, receipt_at=at)
                )
        counts.applied += len(updates)
    if latest:
        moves = _moves(conn, latest)
        counts.moved += len(moves)
        counts.webhooks += apply(conn, moves, at, callback_budget=callback_budget)
    if unknown:
        if park:
            conn.execute(
                _p.insert(),
                [
                    {
                        "connector": r.connector,
                        "carrier_id": r.carrier_id,
                        "report": r.to_json(),
                        "received_at": at,
                    }
                    for r in unknown
                ],
            )
        counts.pending += len(unknown)
    return counts


def _moves(conn: Connection, latest: dict[str, tuple[ReceiptIn, Any]]) -> list[Move]:
    # the messages (locked on PostgreSQL, in id order) with the outcome of each segment
    query = (
        select(_m.c.id, _m.c.status, _seg.c.outcome)
        .join(_seg, _seg.c.message_id == _m.c.id)
        .where(_m.c.id.in_(sorted(latest)))
        .order_by(_m.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=_m)
    statuses: dict[str, str] = {}
    outcomes: dict[str, list[str | None]] = defaultdict(list)
    for message_id, status, outcome in conn.execute(query):
        statuses[message_id] = status
        outcomes[message_id].append(outcome)
    moves: list[Move] = []
    for message_id, (receipt, _) in latest.items():
        status = statuses.get(message_id)
        if status is None:
            continue  # the message was deleted with its stream
        if Status(status) in FINAL:
            log.info(
                "receipt %s on %s: message %s is already %s; stored on the segment only",
                receipt.raw_id,
                receipt.connector,
                message_id,
                status,
            )
            continue
        parts = outcomes[message_id]
        failed = receipt.outcome if receipt.outcome != "delivered" else None
        if failed is None and all(o == "delivered" for o in parts):
            target = "delivered"
        elif failed is not None:
            target = failed
        else:
            continue  # other parts still owe their receipt
        # the raw receipt; the carrier ids are in the `sent` event and carrier_segments.
        # Receipts that read the same make the same detail, so apply() writes them set-wise.
        detail: dict[str, Any] = {
            "channel": f"smpp:{receipt.connector}",
            "stat": receipt.stat,
            "err": receipt.err,
        }
        if len(parts) > 1:
            detail["segments"] = len(parts)
        if receipt.done_date:
            detail["done_date"] = receipt.done_date
        if receipt.network_error:
            detail["network_error"] = list(receipt.network_error)
        moves.append(Move(message_id, status, target, detail))
    return moves


def apply_pending(
    conn: Connection, at: datetime, *, callback_budget: timedelta, connectors: Iterable[str]
) -> ReceiptCounts:
    """Apply parked receipts whose id has been recorded since (the periodic sweep)."""
    names = list(connectors)
    if not names:
        return ReceiptCounts()
    ready = conn.execute(
        select(_p.c.id)
        .join(_seg, (_seg.c.connector == _p.c.connector) & (_seg.c.carrier_id == _p.c.carrier_id))
        .where(_p.c.connector.in_(names))
        .distinct()
        .limit(1000)
    ).scalars()
    ids = list(ready)
    if not ids:
        return ReceiptCounts()
    # DELETE ... RETURNING claims them: a concurrent sweep or submit that got there first
    # leaves nothing to apply twice
    rows = conn.execute(delete(_p).where(_p.c.id.in_(ids)).returning(_p.c.id, _p.c.report)).all()
    receipts = [ReceiptIn.from_json(r.report) for r in sorted(rows, key=lambda r: r.id)]
    return store_receipts(conn, receipts, at, callback_budget=callback_budget, park=False)


def drop_stale_pending(conn: Connection, before: datetime) -> int:
    """Forget parked receipts older than ``before`` (their id never became known)."""
    rows = conn.execute(
        delete(_p)
        .where(_p.c.received_at < before)
        .returning(_p.c.connector, _p.c.carrier_id, _p.c.report)
    ).all()
    for row in rows[:20]:
        log.warning(
            "dropping receipt %s on %s: no message was ever recorded with that id",
            row.report.get("raw_id"),
            row.connector,
        )
    if len(rows) > 20:
        log.warning("... and %d more unknown receipts dropped", len(rows) - 20)
    return len(rows)
