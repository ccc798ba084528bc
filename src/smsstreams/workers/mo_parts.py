"""Inbound (MO) messages from carriers: parts stored durably, reassembled in the database.

A single-part MO message goes straight to :func:`smsstreams.services.inbound.receive`. A
part of a concatenated message (UDH 8/16-bit or SAR) is stored in ``inbound_parts`` keyed by
(connector, source, destination, scheme, reference, total, part number) -- a repeated part
(the carrier re-sent it) is ignored -- and when the set is complete its parts are joined as
code units (so a sender that split an escape or a surrogate pair still reads right), deleted
and handed to ``receive`` in the same transaction. The carrier gets its deliver_sm_resp only
after that transaction commits.

Incomplete sets: a set whose first part is older than ``SMSSTREAMS_MO_REASSEMBLY_SECONDS``
(default 600) is **delivered with what arrived**: the parts in order, each missing part
replaced by :data:`MISSING_MARK`, and a warning in the log. A partial reply is more use to
the customer than none, and the mark makes the gap visible. A part that arrives after its
set was delivered starts a new set, which is delivered the same way when it times out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from smsstreams.db.models import inbound_parts_table
from smsstreams.services import inbound
from smsstreams.smpp.concat import UserData, join_parts, units_to_text

log = logging.getLogger(__name__)

_t = inbound_parts_table
#: What stands for a part that never arrived, in a set delivered after the timeout.
MISSING_MARK: Final = "[…]"
_KEY: Final = ("connector", "source", "destination", "scheme", "reference", "total")


@dataclass(frozen=True, slots=True)
class MoIn:
    """One received MO deliver_sm, decoded (see ``smpp.concat.user_data_from_pdu``)."""

    connector: str
    source: str
    destination: str
    user_data: UserData


@dataclass(frozen=True, slots=True)
class Inbox:
    """Where complete messages go: ``inbound.receive`` with these settings."""

    reply_window: timedelta
    budget: timedelta

    def receive(
        self, conn: Connection, *, connector: str, source: str, dest: str, text: str, at: datetime
    ) -> None:
        inbound.receive(
            conn,
            from_number=source,
            to_number=dest,
            text=text,
            channel=f"smpp:{connector}",
            received_at=at,
            reply_window=self.reply_window,
            budget=self.budget,
        )


def _insert(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(_t).on_conflict_do_nothing()


def store_mo(conn: Connection, parts: list[MoIn], at: datetime, inbox: Inbox) -> int:
    """Store MO messages/parts; returns how many whole messages were handed on."""
    delivered = 0
    for part in parts:
        ud = part.user_data
        info = ud.concat
        if info is None or info.total <= 1 or not 1 <= info.seqnum <= info.total:
            inbox.receive(
                conn,
                connector=part.connector,
                source=part.source,
                dest=part.destination,
                text=ud.text,
                at=at,
            )
            delivered += 1
            continue
        key = {
            "connector": part.connector,
            "source": part.source[:24],
            "destination": part.destination[:24],
            "scheme": "sar" if info.scheme == "sar" else "udh",
            "reference": info.reference,
            "total": info.total,
        }
        conn.execute(
            _insert(conn),
            [
                {
                    **key,
                    "seqnum": info.seqnum,
                    "alphabet": ud.alphabet,
                    "data": ud.data,
                    "received_at": at,
                }
            ],
        )
        where = and_(*(_t.c[k] == v for k, v in key.items()))
        rows = conn.execute(
            select(_t.c.seqnum, _t.c.alphabet, _t.c.data).where(where).order_by(_t.c.seqnum)
        ).all()
        if len(rows) < info.total:
            continue
        text = join_parts(UserData(r.alphabet, r.data) for r in rows)
        conn.execute(delete(_t).where(where))
        inbox.receive(
            conn,
            connector=part.connector,
            source=part.source,
            dest=part.destination,
            text=text,
            at=at,
        )
        delivered += 1
    return delivered


def expire_sets(
    conn: Connection, before: datetime, at: datetime, inbox: Inbox, *, connectors: list[str]
) -> int:
    """Deliver the sets whose first part is older than ``before`` with what arrived."""
    if not connectors:
        return 0
    cols = [_t.c[k] for k in _KEY]
    stale = conn.execute(
        select(*cols)
        .where(_t.c.connector.in_(connectors))
        .group_by(*cols)
        .having(func.min(_t.c.received_at) < before)
        .limit(100)
    ).all()
    for key_row in stale:
        key = dict(zip(_KEY, key_row, strict=True))
        where = and_(*(_t.c[k] == v for k, v in key.items()))
        rows = conn.execute(
            delete(_t).where(where).returning(_t.c.seqnum, _t.c.alphabet, _t.c.data)
        ).all()
        if not rows:
            continue
        have = {r.seqnum: r for r in rows}
        text = "".join(
            units_to_text(have[i].alphabet, have[i].data) if i in have else MISSING_MARK
            for i in range(1, key["total"] + 1)
        )
        log.warning(
            "MO from %s to %s on %s: %d of %d parts arrived in time; delivering them with "
            "%s for each missing part",
            key["source"],
            key["destination"],
            key["connector"],
            len(have),
            key["total"],
            MISSING_MARK,
        )
        inbox.receive(
            conn,
            connector=key["connector"],
            source=key["source"],
            dest=key["destination"],
            text=text,
            at=at,
        )
    return len(stale)
