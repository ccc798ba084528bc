"""Inbound messages (MO): the one entry point every channel calls, and their routing.

A message to number N from phone P goes to the two-way stream that most recently sent
from N to P within the reply window; otherwise to the (non-draft) stream whose default
sender is N; otherwise it is stored unrouted, for the operator. A routed message with a
webhook gets a delivery queued in the same transaction, so nothing is lost between them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select

from smsstreams.db.models import (
    inbound_table,
    messages_table,
    sender_ids_table,
    streams_table,
)
from smsstreams.domain.encoding import is_gsm7
from smsstreams.domain.errors import ValidationFailed
from smsstreams.domain.numbers import parse_msisdn

from . import webhook_deliveries

_m = messages_table
_s = streams_table


@dataclass(frozen=True, slots=True)
class Route:
    stream_id: str
    account_id: int
    in_reply_to: str | None
    webhook: bool


def normalize_phone(raw: str) -> str:
    """A phone's number as E.164 when it parses, else '+' and its digits."""
    try:
        return parse_msisdn(raw)
    except ValidationFailed:
        digits = "".join(c for c in raw if c.isdigit())
        return "+" + digits if digits else raw.strip()


def normalize_ours(raw: str) -> str:
    """Our own number (a numeric sender ID) as stored: digits without '+'."""
    value = raw.strip()
    digits = value.lstrip("+")
    return digits if digits.isdigit() else value


def route(conn: Connection, to_number: str, from_number: str, *, since: datetime) -> Route | None:
    row = conn.execute(
        select(_m.c.id, _m.c.stream_id, _m.c.account_id, _s.c.webhook_url)
        .join(_s, _s.c.id == _m.c.stream_id)
        .where(
            _m.c.sender == to_number,
            _m.c.recipient == from_number,
            _m.c.created_at >= since,
            _s.c.direction == "two_way",
        )
        .order_by(_m.c.created_at.desc())
        .limit(1)
    ).first()
    if row is not None:
        return Route(row.stream_id, row.account_id, row.id, bool(row.webhook_url))
    senders = sender_ids_table
    owner = conn.execute(
        select(_s.c.id, _s.c.account_id, _s.c.webhook_url)
        .join(senders, and_(senders.c.id == _s.c.default_sender_id))
        .where(senders.c.value == to_number, _s.c.state != "draft")
        .order_by(_s.c.created_at.desc())
        .limit(1)
    ).first()
    if owner is not None:
        return Route(owner.id, owner.account_id, None, bool(owner.webhook_url))
    return None


def receive(
    conn: Connection,
    *,
    from_number: str,
    to_number: str,
    text: str,
    channel: str,
    received_at: datetime,
    reply_window: timedelta,
    budget: timedelta,
) -> dict[str, Any]:
    """Store one inbound message (and queue its webhook) in the caller's transaction."""
    phone = normalize_phone(from_number)
    ours = normalize_ours(to_number)
    found = route(conn, ours, phone, since=received_at - reply_window)
    record: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "account_id": found.account_id if found else None,
        "stream_id": found.stream_id if found else None,
        "from_number": phone,
        "to_number": ours,
        "text": text,
        "encoding": "gsm7" if is_gsm7(text) else "ucs2",
        "channel": channel,
        "in_reply_to": found.in_reply_to if found else None,
        "received_at": received_at,
    }
    conn.execute(inbound_table.insert(), [record])
    if found and found.webhook:
        webhook_deliveries.enqueue(
            conn,
            stream_id=found.stream_id,
            kind="inbound",
            event_id=record["id"],
            payload=public(record),
            now=received_at,
            budget=budget,
        )
    return record


def public(record: Any) -> dict[str, Any]:
    """The inbound message as customers see it (webhook payload and polling API)."""

    def get(key: str) -> Any:
        return record[key] if isinstance(record, dict) else getattr(record, key)

    to_number = get("to_number")
    return {
        "type": "inbound",
        "id": get("id"),
        "from": get("from_number"),
        "to": ("+" + to_number) if str(to_number).isdigit() else to_number,
        "text": get("text"),
        "received_at": get("received_at").isoformat(),
        "stream": get("stream_id"),
        "in_reply_to": get("in_reply_to"),
    }


def list_for_stream(
    conn: Connection, stream_id: str, *, since: int = 0, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    t = inbound_table
    rows = conn.execute(
        select(t).where(t.c.stream_id == stream_id, t.c.seq > since).order_by(t.c.seq).limit(limit)
    ).all()
    cursor = rows[-1].seq if rows else since
    return [public(r) for r in rows], cursor


def list_unrouted(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    t = inbound_table
    rows = conn.execute(
        select(t).where(t.c.stream_id.is_(None)).order_by(t.c.seq.desc()).limit(limit)
    ).all()
    return [public(r) for r in rows]


def recent_for_stream(conn: Connection, stream_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The stream's newest inbound messages first (the console's list)."""
    t = inbound_table
    rows = conn.execute(
        select(t).where(t.c.stream_id == stream_id).order_by(t.c.seq.desc()).limit(limit)
    ).all()
    return [{**public(r), "encoding": r.encoding, "channel": r.channel} for r in rows]
