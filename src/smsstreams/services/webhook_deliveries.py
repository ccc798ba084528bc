"""Webhook deliveries: queued with the event they carry, claimed by the webhook worker,
logged attempt by attempt, replayable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from smsstreams.db.models import attempts_table, deliveries_table, streams_table
from smsstreams.db.types import utcnow

from .errors import Conflict, NotFound

_d = deliveries_table
_a = attempts_table
_s = streams_table

STATES = ("pending", "delivered", "failed", "dead")


def enqueue(
    conn: Connection,
    *,
    stream_id: str,
    kind: str,
    event_id: str,
    payload: dict[str, Any],
    now: datetime,
    budget: timedelta,
) -> None:
    conn.execute(
        _d.insert(),
        [
            {
                "stream_id": stream_id,
                "kind": kind,
                "event_id": event_id,
                "payload": payload,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "give_up_at": now + budget,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )


def enqueue_test_event(
    conn: Connection, stream_id: str, *, now: datetime, budget: timedelta
) -> None:
    row = conn.execute(
        select(_s.c.webhook_url, _s.c.default_sender_id).where(_s.c.id == stream_id)
    ).first()
    if row is None or not row.webhook_url:
        raise Conflict("no_webhook", "This stream has no webhook URL", "webhook.url")
    event_id = str(uuid.uuid4())
    enqueue(
        conn,
        stream_id=stream_id,
        kind="test",
        event_id=event_id,
        payload={
            "type": "test",
            "id": event_id,
            "from": "+12025550100",
            "to": "+12025550199",
            "text": "This is a test event from smsstreams",
            "received_at": now.isoformat(),
            "stream": stream_id,
            "in_reply_to": None,
        },
        now=now,
        budget=budget,
    )


# -- the worker's side ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    stream_id: str
    kind: str
    event_id: str
    payload: dict[str, Any]
    attempts: int
    give_up_at: datetime
    method: str
    url: str
    headers: list[dict[str, str]]
    secret: str


def claim(
    conn: Connection,
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    slots: int,
    per_stream: int,
    busy: dict[str, int],
    postgres: bool,
) -> list[Claimed]:
    """Lease up to ``slots`` due deliveries, at most ``per_stream`` in flight per stream."""
    candidates = (
        select(_d.c.id, _d.c.stream_id)
        .where(
            _d.c.state == "pending",
            _d.c.next_attempt_at <= now,
            or_(_d.c.lease_until.is_(None), _d.c.lease_until < now),
        )
        .order_by(_d.c.next_attempt_at, _d.c.id)
        .limit(slots * 4)
    )
    full = [s for s, n in busy.items() if n >= per_stream]
    if full:
        candidates = candidates.where(_d.c.stream_id.not_in(full))
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    chosen: list[int] = []
    taken = dict(busy)
    for row in conn.execute(candidates):
        if len(chosen) >= slots:
            break
        if taken.get(row.stream_id, 0) < per_stream:
            taken[row.stream_id] = taken.get(row.stream_id, 0) + 1
            chosen.append(row.id)
    if not chosen:
        return []
    conn.execute(
        update(_d)
        .where(_d.c.id.in_(chosen))
        .values(claimed_by=worker_id, lease_until=now + lease, updated_at=now)
    )
    rows = conn.execute(
        select(
            _d.c.id,
            _d.c.stream_id,
            _d.c.kind,
            _d.c.event_id,
            _d.c.payload,
            _d.c.attempts,
            _d.c.give_up_at,
            _s.c.webhook_method,
            _s.c.webhook_url,
            _s.c.webhook_headers,
            _s.c.webhook_secret,
        )
        .join(_s, _s.c.id == _d.c.stream_id)
        .where(_d.c.id.in_(chosen))
    ).all()
    return [
        Claimed(
            r.id,
            r.stream_id,
            r.kind,
            r.event_id,
            r.payload,
            r.attempts,
            r.give_up_at,
            r.webhook_method or "POST",
            r.webhook_url or "",
            r.webhook_headers or [],
            r.webhook_secret or "",
        )
        for r in rows
    ]


def record_attempt(
    conn: Connection,
    *,
    delivery_id: int,
    worker_id: str,
    at: datetime,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
    excerpt: str | None,
    state: str,
    next_attempt_at: datetime | None,
) -> bool:
    """Store an attempt and the delivery's new state, if this worker still holds it."""
    result = conn.execute(
        update(_d)
        .where(_d.c.id == delivery_id, _d.c.claimed_by == worker_id, _d.c.state == "pending")
        .values(
            state=state,
            attempts=_d.c.attempts + 1,
            next_attempt_at=next_attempt_at or at,
            lease_until=None,
            claimed_by=None,
            last_status_code=status_code,
            last_error=error,
            updated_at=at,
            delivered_at=at if state == "delivered" else None,
        )
    )
    if result.rowcount != 1:
        return False
    conn.execute(
        _a.insert(),
        [
            {
                "delivery_id": delivery_id,
                "at": at,
                "status_code": status_code,
                "latency_ms": latency_ms,
                "error": error,
                "response_excerpt": excerpt,
            }
        ],
    )
    return True


# -- console / API side ---------------------------------------------------------------------


def _public(row: Any, attempts: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "event_id": row.event_id,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.state == "pending" else None,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat(),
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
        "payload": row.payload,
        "log": [
            {
                "at": a.at.isoformat(),
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
                "response_excerpt": a.response_excerpt,
            }
            for a in attempts
        ],
    }


def list_for_stream(
    conn: Connection, stream_id: str, *, state: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    query = select(_d).where(_d.c.stream_id == stream_id)
    if state:
        query = query.where(_d.c.state == state)
    rows = conn.execute(query.order_by(_d.c.id.desc()).limit(limit).offset(offset)).all()
    by_delivery: dict[int, list[Any]] = {r.id: [] for r in rows}
    if rows:
        for a in conn.execute(
            select(_a).where(_a.c.delivery_id.in_(list(by_delivery))).order_by(_a.c.id)
        ):
            by_delivery[a.delivery_id].append(a)
    return [_public(r, by_delivery[r.id]) for r in rows]


def counts(conn: Connection, stream_id: str) -> dict[str, int]:
    out = dict.fromkeys(STATES, 0)
    for state, n in conn.execute(
        select(_d.c.state, func.count()).where(_d.c.stream_id == stream_id).group_by(_d.c.state)
    ):
        out[state] = n
    return out


def replay(
    conn: Connection, stream_id: str, delivery_id: int, *, now: datetime, budget: timedelta
) -> None:
    row = conn.execute(
        select(_d.c.state).where(and_(_d.c.id == delivery_id, _d.c.stream_id == stream_id))
    ).first()
    if row is None:
        raise NotFound("Webhook delivery")
    if row.state == "pending":
        raise Conflict("already_pending", "This delivery is still being tried", "delivery_id")
    conn.execute(
        update(_d)
        .where(_d.c.id == delivery_id)
        .values(
            state="pending",
            attempts=0,
            next_attempt_at=now,
            give_up_at=now + budget,
            lease_until=None,
            claimed_by=None,
            delivered_at=None,
            updated_at=utcnow(),
        )
    )
