"""What the restart tests check after a SIGKILL: every message final, and how many times."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, func, select

from smsstreams.db.models import Message, MessageEvent
from smsstreams.domain.status import FINAL


def wait_all_final(engine: Engine, timeout: float) -> None:
    """Wait until no message is left in a non-final status (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.scalar(
                select(func.count()).select_from(Message).where(Message.status.not_in(list(FINAL)))
            )
        if left == 0:
            return
        time.sleep(0.2)


@dataclass
class Outcomes:
    statuses: dict[str, str]  # message id -> status
    finals: dict[str, int]  # message id -> final-status events
    sent: dict[str, int]  # message id -> `sent` events


def outcomes(engine: Engine) -> Outcomes:
    with engine.connect() as conn:
        statuses = {r[0]: r[1] for r in conn.execute(select(Message.id, Message.status))}

        def per_message(*where: ColumnElement[bool]) -> dict[str, int]:
            query = (
                select(MessageEvent.message_id, func.count())
                .where(*where)
                .group_by(MessageEvent.message_id)
            )
            return {r[0]: r[1] for r in conn.execute(query)}

        return Outcomes(
            statuses,
            per_message(MessageEvent.status.in_(list(FINAL))),
            per_message(MessageEvent.status == "sent"),
        )
