"""A test message sent from the stream page, through the same checks as the Send API.

The signed-in user stands in for the stream's token, so the IP allowlist does not apply;
the stream must be active, and the sender, number and text follow the Send API's rules.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from smsstreams.db.types import utcnow
from smsstreams.domain.ipallow import IpAllowlist
from smsstreams.runtime import Runtime
from smsstreams.services.errors import Conflict
from smsstreams.services.sender_ids import list_sender_ids
from smsstreams.services.sending import Accepted, Rejected, prepare
from smsstreams.services.streams import get_stream
from smsstreams.services.token_cache import StreamAuth


def stream_auth(db: Session, account_id: int, stream_id: str) -> StreamAuth:
    """What the Send API would know about this stream (NotFound for another account's)."""
    stream = get_stream(db, account_id, stream_id)
    if stream.state != "active":
        raise Conflict(
            "stream_not_active",
            f"This stream is {stream.state}; resume it to send test messages",
            "form",
        )
    senders = frozenset(s.value for s in list_sender_ids(db, account_id))
    return StreamAuth(
        stream_id=stream.id,
        account_id=account_id,
        token_hash=stream.token_hash or "",
        state=stream.state,
        demo=stream.demo,
        direction=stream.direction,
        allowlist=IpAllowlist(stream.allowed_ips or []),
        default_sender=stream.default_sender.value if stream.default_sender else None,
        account_senders=senders,
    )


async def send_test_message(
    runtime: Runtime, auth: StreamAuth, *, phone: str, text: str, sender: str | None
) -> Accepted | Rejected:
    item = {
        "internal_id": f"console-test-{secrets.token_hex(4)}",
        "recipient_phone": phone,
        "message_content": text,
        "sender": sender or None,
    }
    settings = runtime.settings
    prepared = prepare(
        auth,
        item,
        now=utcnow(),
        validity=timedelta(seconds=settings.validity_seconds),
        max_segments=settings.max_segments,
    )
    if isinstance(prepared, Rejected):
        return prepared
    [accepted] = await runtime.writer.store([prepared])
    return accepted
