"""Recording status transitions: the row's status and an event, in the caller's transaction.

Callers first lock the rows they move (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
single writer lock on SQLite) and check the move with the status machine, so a final
status is written exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, bindparam, literal, select, update

from smsstreams.db.models import events_table, messages_table, streams_table
from smsstreams.db.types import JSONText, UTCDateTime
from smsstreams.domain.status import Status, check_transition, describe_error
from smsstreams.services import webhook_deliveries


@dataclass(slots=True)
class Move:
    message_id: str
    current: str
    target: str
    detail: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)


_t = messages_table
_s = streams_table


_CHUNK = 500


def _group_key(move: Move) -> str:
    """Moves with the same target, values and detail are written by one statement."""
    return json.dumps([move.target, move.values, move.detail], sort_keys=True, default=str)


def apply(
    conn: Connection, moves: list[Move], at: datetime, *, callback_budget: timedelta | None = None
) -> int:
    """Write every move (already locked and checked by the caller) and its event.

    Moves that set the same values are written set-wise (one UPDATE and one INSERT ...
    SELECT per group), so a batch costs a few statements, not a few per message.
    With ``callback_budget``, streams that asked for status callbacks get a webhook
    delivery per move, in the same transaction. Returns how many were queued.
    """
    if not moves:
        return 0
    groups: dict[str, list[Move]] = {}
    for move in moves:
        check_transition(Status(move.current), Status(move.target))
        groups.setdefault(_group_key(move), []).append(move)
    singles = [group[0] for group in groups.values() if len(group) == 1]
    if singles:
        _apply_each(conn, singles, at)
    for group in groups.values():
        if len(group) == 1:
            continue
        first = group[0]
        values = {**_row_values(first, at), **first.values}
        for i in range(0, len(group), _CHUNK):
            ids = [m.message_id for m in group[i : i + _CHUNK]]
            conn.execute(update(_t).where(_t.c.id.in_(ids)).values(values))
        record_events(conn, [m.message_id for m in group], first.target, at, first.detail)
    if callback_budget is None:
        return 0
    return _queue_status_callbacks(conn, moves, at, callback_budget)


def record_events(
    conn: Connection,
    message_ids: list[str],
    status: str,
    at: datetime,
    detail: dict[str, Any] | None,
    *,
    callback_budget: timedelta | None = None,
) -> int:
    """The timeline events of messages that all moved to ``status`` at ``at`` with the
    same ``detail``, written set-wise (the caller already wrote the rows); with
    ``callback_budget``, their status callbacks too. Returns how many were queued."""
    event = select(
        _t.c.id,
        literal(status, String),
        literal(at, UTCDateTime),
        literal(detail, JSONText),
    )
    for i in range(0, len(message_ids), _CHUNK):
        ids = message_ids[i : i + _CHUNK]
        conn.execute(
            events_table.insert().from_select(
                ["message_id", "status", "at", "detail"], event.where(_t.c.id.in_(ids))
            )
        )
    if callback_budget is None or not message_ids:
        return 0
    moves = [Move(message_id, "", status, detail) for message_id in message_ids]
    return _queue_status_callbacks(conn, moves, at, callback_budget)


def _row_values(move: Move, at: datetime) -> dict[str, Any]:
    error_code = None if move.target in ("sent", "delivered") else move.target
    return {
        "status": move.target,
        "error_code": error_code,
        "error_description": describe_error(error_code) if error_code else None,
        "updated_at": at,
        "lease_until": None,
        "claimed_by": None,
    }


def _apply_each(conn: Connection, moves: list[Move], at: datetime) -> None:
    """Moves with values of their own (carrier ids, errors): executemany, row by row."""
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for move in moves:
        params = {"_id": move.message_id, **_row_values(move, at), **move.values}
        by_keys.setdefault(tuple(sorted(params)), []).append(params)
    for keys, params_list in by_keys.items():
        stmt = (
            update(_t)
            .where(_t.c.id == bindparam("_id"))
            .values({k: bindparam(k) for k in keys if k != "_id"})
        )
        conn.execute(stmt, params_list)
    conn.execute(
        events_table.insert(),
        [
            {"message_id": m.message_id, "status": m.target, "at": at, "detail": m.detail}
            for m in moves
        ],
    )


def _queue_status_callbacks(
    conn: Connection, moves: list[Move], at: datetime, budget: timedelta
) -> int:
    wanted = conn.execute(
        select(_t.c.id, _t.c.internal_id, _t.c.stream_id, _t.c.recipient)
        .join(_s, _s.c.id == _t.c.stream_id)
        .where(
            _t.c.id.in_([m.message_id for m in moves]),
            _s.c.status_callbacks.is_(True),
            _s.c.webhook_url.is_not(None),
        )
    ).all()
    if not wanted:
        return 0
    by_id = {m.message_id: m for m in moves}
    for row in wanted:
        move = by_id[row.id]
        error_code = None if move.target in ("sent", "delivered") else move.target
        webhook_deliveries.enqueue(
            conn,
            stream_id=row.stream_id,
            kind="status",
            event_id=f"{row.id}:{move.target}",
            payload={
                "type": "status",
                "message_uuid": row.id,
                "internal_id": row.internal_id,
                "recipient_phone": row.recipient,
                "status": move.target,
                "error_code": error_code,
                "error_description": describe_error(error_code) if error_code else None,
                "at": at.isoformat(),
                "stream": row.stream_id,
            },
            now=at,
            budget=budget,
        )
    return len(wanted)
