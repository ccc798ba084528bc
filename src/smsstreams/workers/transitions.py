"""Recording status transitions: the row's status and an event, in the caller's transaction.

Callers first lock the rows they move (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
single writer lock on SQLite) and check the move with the status machine, so a final
status is written exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update

from smsstreams.db.models import events_table, messages_table
from smsstreams.domain.status import Status, check_transition, describe_error


@dataclass(slots=True)
class Move:
    message_id: str
    current: str
    target: str
    detail: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)


_t = messages_table


def apply(conn: Connection, moves: list[Move], at: datetime) -> None:
    """Write every move (already locked and checked by the caller) and its event."""
    if not moves:
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for move in moves:
        check_transition(Status(move.current), Status(move.target))
        error_code = None if move.target in ("sent", "delivered") else move.target
        params = {
            "_id": move.message_id,
            "status": move.target,
            "error_code": error_code,
            "error_description": describe_error(error_code) if error_code else None,
            "updated_at": at,
            "lease_until": None,
            "claimed_by": None,
            **move.values,
        }
        groups.setdefault(tuple(sorted(params)), []).append(params)
    for keys, params_list in groups.items():
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
