"""An account's sender IDs: the names and numbers its messages may come from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsstreams.db.models import SenderId, Stream
from smsstreams.domain.errors import ValidationFailed
from smsstreams.domain.senders import validate_sender

from . import token_cache
from .errors import Conflict, NotFound


def list_sender_ids(db: Session, account_id: int) -> list[SenderId]:
    return list(
        db.scalars(
            select(SenderId).where(SenderId.account_id == account_id).order_by(SenderId.value)
        )
    )


def get_sender_id(db: Session, account_id: int, sender_id: int) -> SenderId:
    row = db.scalar(
        select(SenderId).where(SenderId.account_id == account_id, SenderId.id == sender_id)
    )
    if row is None:
        raise NotFound("Sender ID")
    return row


def find_sender_id(db: Session, account_id: int, value: str) -> SenderId | None:
    return db.scalar(
        select(SenderId).where(SenderId.account_id == account_id, SenderId.value == value)
    )


def create_sender_id(db: Session, account_id: int, value: str, field: str = "value") -> SenderId:
    try:
        normalized, kind = validate_sender(value)
    except ValidationFailed as exc:
        exc.field = field
        raise
    if find_sender_id(db, account_id, normalized) is not None:
        raise Conflict("sender_exists", f"Sender ID {normalized!r} already exists", field)
    row = SenderId(account_id=account_id, value=normalized, kind=kind)
    db.add(row)
    db.flush()
    token_cache.invalidate_account(account_id)
    return row


def delete_sender_id(db: Session, account_id: int, sender_id: int) -> None:
    row = get_sender_id(db, account_id, sender_id)
    users = list(
        db.scalars(
            select(Stream.name).where(
                Stream.account_id == account_id, Stream.default_sender_id == row.id
            )
        )
    )
    if users:
        raise Conflict(
            "sender_in_use",
            f"Sender ID {row.value!r} is the default sender of: {', '.join(users)}. "
            "Change those streams first.",
            "sender_id",
        )
    db.delete(row)
    db.flush()
    token_cache.invalidate_account(account_id)


def sender_usage(db: Session, account_id: int) -> dict[int, list[str]]:
    """Sender ID id → names of the account's streams that use it as default sender."""
    used: dict[int, list[str]] = {}
    for sender_id, name in db.execute(
        select(Stream.default_sender_id, Stream.name)
        .where(Stream.account_id == account_id, Stream.default_sender_id.is_not(None))
        .order_by(Stream.name)
    ):
        if sender_id is not None:
            used.setdefault(sender_id, []).append(name)
    return used
