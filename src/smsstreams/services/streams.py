"""Streams: an account's API channels, from wizard draft to active to paused."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smsstreams.db.models import SenderId, Stream, StreamTag
from smsstreams.db.types import utcnow
from smsstreams.domain.errors import ValidationFailed
from smsstreams.domain.ipallow import parse_ip_entry
from smsstreams.domain.senders import can_receive_replies
from smsstreams.schemas import Header, StreamCreate, StreamPublic, StreamUpdate, Webhook
from smsstreams.webhooks import guard

from . import token_cache
from .errors import Conflict, NotFound
from .secrets import STREAM_TOKEN_PREFIX, display_prefix, hash_secret, new_secret
from .sender_ids import find_sender_id

CUSTOMIZED = "customized"
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class StreamResult:
    stream: Stream
    token: str | None  # set only when a token was just issued


def to_public(stream: Stream) -> StreamPublic:
    webhook = None
    if stream.webhook_url:
        webhook = Webhook(
            method=stream.webhook_method or "POST",
            url=stream.webhook_url,
            headers=[Header(**h) for h in stream.webhook_headers or []],
        )
    return StreamPublic(
        id=stream.id,
        name=stream.name,
        description=stream.description,
        type=stream.type,
        direction=stream.direction,
        tags=stream.tags,
        allowed_ips=list(stream.allowed_ips or []),
        default_sender=stream.default_sender.value if stream.default_sender else CUSTOMIZED,
        demo=stream.demo,
        webhook=webhook,
        webhook_secret=stream.webhook_secret,
        status_callbacks=stream.status_callbacks,
        state=stream.state,
        wizard_step=stream.wizard_step,
        token_prefix=stream.token_prefix,
        created_at=stream.created_at,
        updated_at=stream.updated_at,
    )


# -- validation -----------------------------------------------------------------------------


def clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("required", "Stream API name is required", "name")
    return name


def clean_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        tag = " ".join(raw.split())
        if not tag:
            continue
        if len(tag) > 50:
            raise ValidationFailed(
                "invalid_tag", f"Tag {tag[:20]!r}… is over 50 characters", "tags"
            )
        if tag not in out:
            out.append(tag)
    return out


def clean_ips(entries: list[str]) -> list[str]:
    out: list[str] = []
    for raw in entries:
        entry = parse_ip_entry(raw)
        if entry not in out:
            out.append(entry)
    return out


def clean_webhook(webhook: Webhook) -> Webhook:
    reason = guard.check_url(webhook.url, allow_private=guard.allow_private)
    if reason:
        raise ValidationFailed("invalid_url", reason, "webhook.url")
    seen: set[str] = set()
    for header in webhook.headers:
        name = header.name
        if not _HEADER_NAME.match(name):
            raise ValidationFailed(
                "invalid_header",
                f"Header name {name!r} is not a valid HTTP token",
                "webhook.headers",
            )
        if name.lower() in _RESERVED_HEADERS:
            raise ValidationFailed(
                "invalid_header", f"Header {name!r} is set by the server", "webhook.headers"
            )
        if any(c in header.value for c in "\r\n\0"):
            raise ValidationFailed(
                "invalid_header", f"Header {name!r} value has a line break", "webhook.headers"
            )
        if name.lower() in seen:
            raise ValidationFailed(
                "invalid_header", f"Header {name!r} is repeated", "webhook.headers"
            )
        seen.add(name.lower())
    return webhook


def resolve_sender(db: Session, account_id: int, value: str) -> SenderId | None:
    value = value.strip()
    if not value or value.lower() == CUSTOMIZED:
        return None
    row = find_sender_id(
        db, account_id, value.lstrip("+") if value.lstrip("+").isdigit() else value
    )
    if row is None:
        raise ValidationFailed(
            "unknown_sender",
            f"{value!r} is not one of your sender IDs; add it first or choose Customized",
            "default_sender",
        )
    return row


def check_two_way_sender(direction: str, sender: SenderId | None) -> None:
    if direction == "two_way" and sender is not None and not can_receive_replies(sender.kind):  # type: ignore[arg-type]
        raise ValidationFailed(
            "sender_cannot_receive",
            f"Alphanumeric sender {sender.value!r} cannot receive replies; a Two-Way stream needs "
            "a numeric sender (or Customized with a numeric sender per request)",
            "default_sender",
        )


# -- queries --------------------------------------------------------------------------------


def get_stream(db: Session, account_id: int, stream_id: str) -> Stream:
    stream = db.scalar(
        select(Stream).where(Stream.id == stream_id, Stream.account_id == account_id)
    )
    if stream is None:
        raise NotFound("Stream")
    return stream


def list_streams(
    db: Session,
    account_id: int,
    *,
    search: str = "",
    tag: str = "",
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Stream], int]:
    query = select(Stream).where(Stream.account_id == account_id)
    if search.strip():
        pattern = "%" + search.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(func.lower(Stream.name).like(pattern, escape="\\"))
    if tag.strip():
        query = query.where(
            Stream.id.in_(select(StreamTag.stream_id).where(StreamTag.tag == tag.strip()))
        )
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(
        query.order_by(Stream.created_at.desc(), Stream.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total


def account_tags(db: Session, account_id: int) -> list[str]:
    return list(
        db.scalars(
            select(StreamTag.tag)
            .join(Stream)
            .where(Stream.account_id == account_id)
            .distinct()
            .order_by(StreamTag.tag)
        )
    )


# -- commands -------------------------------------------------------------------------------


def _issue_token(stream: Stream) -> str:
    token = new_secret(STREAM_TOKEN_PREFIX)
    stream.token_hash = hash_secret(token)
    stream.token_prefix = display_prefix(token)
    return token


def _set_tags(stream: Stream, tags: list[str]) -> None:
    stream.tag_rows = [StreamTag(tag=t) for t in tags]


def _set_webhook(stream: Stream, webhook: Webhook | None) -> None:
    if webhook is None:
        stream.webhook_method = stream.webhook_url = None
        stream.webhook_headers = []
        return
    webhook = clean_webhook(webhook)
    stream.webhook_method = webhook.method
    stream.webhook_url = webhook.url
    stream.webhook_headers = [h.model_dump() for h in webhook.headers]


def create_stream(db: Session, account_id: int, data: StreamCreate) -> StreamResult:
    sender = resolve_sender(db, account_id, data.default_sender)
    check_two_way_sender(data.direction, sender)
    now = utcnow()
    stream = Stream(
        id=str(uuid.uuid4()),
        account_id=account_id,
        name=clean_name(data.name),
        description=data.description.strip(),
        type=data.type,
        direction=data.direction,
        allowed_ips=clean_ips(data.allowed_ips),
        default_sender_id=sender.id if sender else None,
        demo=data.demo,
        state=data.state,
        wizard_step=3 if data.state == "active" else data.wizard_step,
        webhook_headers=[],
        webhook_secret=secrets.token_hex(32),
        status_callbacks=data.status_callbacks,
        created_at=now,
        updated_at=now,
    )
    _set_tags(stream, clean_tags(data.tags))
    _set_webhook(stream, data.webhook)
    token = _issue_token(stream) if data.state == "active" else None
    db.add(stream)
    db.flush()
    db.refresh(stream)
    return StreamResult(stream, token)


def update_stream(db: Session, account_id: int, stream_id: str, data: StreamUpdate) -> StreamResult:
    stream = get_stream(db, account_id, stream_id)
    fields = data.model_fields_set
    if data.name is not None:
        stream.name = clean_name(data.name)
    if data.description is not None:
        stream.description = data.description.strip()
    if data.direction is not None:
        stream.direction = data.direction
    if data.tags is not None:
        _set_tags(stream, clean_tags(data.tags))
    if data.allowed_ips is not None:
        stream.allowed_ips = clean_ips(data.allowed_ips)
    if data.default_sender is not None:
        sender = resolve_sender(db, account_id, data.default_sender)
        stream.default_sender_id = sender.id if sender else None
        stream.default_sender = sender
    check_two_way_sender(stream.direction, stream.default_sender)
    if data.demo is not None:
        stream.demo = data.demo
    if data.status_callbacks is not None:
        stream.status_callbacks = data.status_callbacks
    if data.remove_webhook:
        _set_webhook(stream, None)
    elif "webhook" in fields and data.webhook is not None:
        _set_webhook(stream, data.webhook)
    if data.wizard_step is not None and stream.state == "draft":
        stream.wizard_step = max(stream.wizard_step, data.wizard_step)
    token = None
    if data.state == "active" and stream.state == "draft":
        stream.state = "active"
        stream.wizard_step = 3
        token = _issue_token(stream)
    elif data.state == "draft" and stream.state != "draft":
        raise Conflict(
            "invalid_state", "An active or paused stream cannot go back to draft", "state"
        )
    stream.updated_at = utcnow()
    db.flush()
    token_cache.invalidate_stream(stream.id)
    return StreamResult(stream, token)


def set_paused(db: Session, account_id: int, stream_id: str, paused: bool) -> Stream:
    stream = get_stream(db, account_id, stream_id)
    if stream.state == "draft":
        raise Conflict(
            "invalid_state", "A draft cannot be paused or resumed; create it first", "state"
        )
    stream.state = "paused" if paused else "active"
    stream.updated_at = utcnow()
    db.flush()
    token_cache.invalidate_stream(stream.id)
    return stream


def regenerate_token(db: Session, account_id: int, stream_id: str) -> StreamResult:
    stream = get_stream(db, account_id, stream_id)
    if stream.state == "draft":
        raise Conflict("invalid_state", "A draft has no token; create the stream first", "state")
    token = _issue_token(stream)
    stream.updated_at = utcnow()
    db.flush()
    token_cache.invalidate_stream(stream.id)
    return StreamResult(stream, token)


def delete_stream(db: Session, account_id: int, stream_id: str) -> None:
    stream = get_stream(db, account_id, stream_id)
    db.delete(stream)
    db.flush()
    token_cache.invalidate_stream(stream_id)
