"""Reading messages back: the Status API and the console's message log."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smsstreams.db.models import events_table, messages_table
from smsstreams.domain.status import Status, describe
from smsstreams.domain.storable import is_storable

_t = messages_table
_e = events_table
_COLUMNS = (
    _t.c.id,
    _t.c.internal_id,
    _t.c.status,
    _t.c.error_code,
    _t.c.error_description,
    _t.c.sender,
    _t.c.recipient,
    _t.c.encoding,
    _t.c.segments,
    _t.c.channel,
    _t.c.created_at,
    _t.c.updated_at,
)


def _public(row: Any, events: list[Any]) -> dict[str, Any]:
    transitions = [{"status": "queued", "at": row.created_at.isoformat()}]
    transitions += [
        {"status": e.status, "at": e.at.isoformat(), **({"detail": e.detail} if e.detail else {})}
        for e in events
    ]
    return {
        "message_uuid": row.id,
        "internal_id": row.internal_id,
        "status": row.status,
        "status_description": describe(Status(row.status)),
        "error_code": row.error_code,
        "error_description": row.error_description,
        "sender": row.sender,
        "recipient_phone": row.recipient,
        "encoding": row.encoding,
        "segments": row.segments,
        "channel": row.channel,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "transitions": transitions,
    }


def _with_events(db: Session, rows: list[Any]) -> list[dict[str, Any]]:
    if not rows:
        return []
    by_message: dict[str, list[Any]] = defaultdict(list)
    for event in db.execute(
        select(_e.c.message_id, _e.c.status, _e.c.at, _e.c.detail)
        .where(_e.c.message_id.in_([r.id for r in rows]))
        .order_by(_e.c.id)
    ):
        by_message[event.message_id].append(event)
    return [_public(r, by_message[r.id]) for r in rows]


def by_uuids(db: Session, stream_id: str, uuids: list[str]) -> list[dict[str, Any]]:
    uuids = [u for u in uuids if is_storable(u)]  # anything else matches nothing
    rows = list(
        db.execute(select(*_COLUMNS).where(_t.c.stream_id == stream_id, _t.c.id.in_(uuids)))
    )
    order = {u: i for i, u in enumerate(uuids)}
    rows.sort(key=lambda r: order[r.id])
    return _with_events(db, rows)


def by_internal_ids(db: Session, stream_id: str, internal_ids: list[str]) -> list[dict[str, Any]]:
    internal_ids = [i for i in internal_ids if is_storable(i)]  # anything else matches nothing
    rows = list(
        db.execute(
            select(*_COLUMNS).where(_t.c.stream_id == stream_id, _t.c.internal_id.in_(internal_ids))
        )
    )
    order = {u: i for i, u in enumerate(internal_ids)}
    rows.sort(key=lambda r: order[r.internal_id])
    return _with_events(db, rows)


def recent(
    db: Session, stream_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    query = select(*_COLUMNS).where(_t.c.stream_id == stream_id)
    if status:
        query = query.where(_t.c.status == status)
    rows = list(db.execute(query.order_by(_t.c.created_at.desc()).limit(limit).offset(offset)))
    return _with_events(db, rows)


def counts(db: Session, stream_id: str) -> dict[str, int]:
    out = {s.value: 0 for s in Status}
    for status, n in db.execute(
        select(_t.c.status, func.count()).where(_t.c.stream_id == stream_id).group_by(_t.c.status)
    ):
        out[status] = n
    return out
