"""The public SMS API (stream token): Send Request and Status Request.

The Send route is the hot path: it reads the body itself (one ``json.loads``), checks each
message with the pure ``prepare``, and hands all rows to the group-commit writer; the
202 is written only after the commit that holds them.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from smsstreams.db.models import SenderId, Stream
from smsstreams.db.types import utcnow
from smsstreams.domain.errors import ValidationFailed
from smsstreams.domain.ipallow import IpAllowlist
from smsstreams.runtime import Runtime
from smsstreams.services import message_status, token_cache
from smsstreams.services.errors import Forbidden, NotFound, TooLarge, Unauthorized
from smsstreams.services.sending import Accepted, prepare
from smsstreams.services.token_cache import StreamAuth

from .deps import bearer

log = logging.getLogger(__name__)
router = APIRouter(tags=["sms"])

MAX_BODY = 4 * 1024 * 1024
MAX_STATUS_IDS = 100


class SendItem(BaseModel):
    internal_id: str | None = Field(
        None, max_length=100, description="Your reference; a repeat in this stream sends nothing"
    )
    recipient_phone: str = Field(description="E.164, with or without '+'", examples=["12025550123"])
    message_content: str = Field(description="GSM-7 or any Unicode text")
    sender: str | None = Field(
        None, description="One of your sender IDs; only for streams whose default is Customized"
    )


SEND_EXAMPLE = {
    "messages": [
        {
            "internal_id": "order-42",
            "sender": "Acme",
            "recipient_phone": "12025550123",
            "message_content": "Your code is 123456",
        }
    ]
}
SEND_RESPONSE_EXAMPLE = {
    "status": True,
    "messages": [
        {
            "internal_id": "order-42",
            "message_uuid": "6f1c1f0e-8a4e-4d52-9b7f-2f3b8c1f7a10",
            "status": "queued",
            "encoding": "gsm7",
            "segments": 1,
        },
        {
            "internal_id": "order-43",
            "error": {
                "code": "invalid_phone",
                "field": "recipient_phone",
                "message": "'12345' is too short to be a phone number",
            },
        },
    ],
}
STATUS_EXAMPLE = {
    "messages": [
        {
            "message_uuid": "6f1c1f0e-8a4e-4d52-9b7f-2f3b8c1f7a10",
            "internal_id": "order-42",
            "status": "delivered",
            "status_description": "Delivered to the handset",
            "error_code": None,
            "error_description": None,
            "sender": "Acme",
            "recipient_phone": "+12025550123",
            "encoding": "gsm7",
            "segments": 1,
            "channel": "demo",
            "created_at": "2026-11-27T10:00:00+00:00",
            "updated_at": "2026-11-27T10:00:01.4+00:00",
            "transitions": [
                {"status": "queued", "at": "2026-11-27T10:00:00+00:00"},
                {"status": "sent", "at": "2026-11-27T10:00:00.02+00:00"},
                {"status": "delivered", "at": "2026-11-27T10:00:01.4+00:00"},
            ],
        }
    ]
}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}


def _error_doc(description: str, code: str, message: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": _ERROR_SCHEMA,
                "example": {"error": {"code": code, "message": message, "field": None}},
            }
        },
    }


_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error_doc("Missing or unknown token", "invalid_token", "This token is not valid"),
    403: _error_doc(
        "Stream not active, or client IP not allowed", "ip_not_allowed", "IP not in allowlist"
    ),
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
        status_code=status,
        media_type="application/json",
    )


# -- authentication -------------------------------------------------------------------------


def _load_auth(runtime: Runtime, token_hash: str) -> StreamAuth | None:
    with runtime.sessions() as db, db.begin():
        stream = db.scalar(select(Stream).where(Stream.token_hash == token_hash))
        if stream is None:
            return None
        senders = frozenset(
            db.scalars(select(SenderId.value).where(SenderId.account_id == stream.account_id))
        )
        return StreamAuth(
            stream_id=stream.id,
            account_id=stream.account_id,
            token_hash=token_hash,
            state=stream.state,
            demo=stream.demo,
            direction=stream.direction,
            allowlist=IpAllowlist(stream.allowed_ips or []),
            default_sender=stream.default_sender.value if stream.default_sender else None,
            account_senders=senders,
        )


@functools.lru_cache(maxsize=4)
def trusted_proxies(value: str) -> IpAllowlist:
    """SMSSTREAMS_TRUSTED_PROXIES, parsed once (it was validated at start-up)."""
    return IpAllowlist(p.strip() for p in value.split(",") if p.strip())


def client_ip(request: Request, runtime: Runtime) -> str:
    peer = request.client.host if request.client else ""
    settings = runtime.settings
    if not settings.trust_proxy_headers:
        return peer
    is_trusted = trusted_proxies(settings.trusted_proxies).allows

    if not is_trusted(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer


_loading: dict[str, asyncio.Future[StreamAuth | None]] = {}
_refreshing: set[asyncio.Task[StreamAuth | None]] = set()


async def _load_once(runtime: Runtime, token_hash: str) -> StreamAuth | None:
    """Look a token up; requests that miss the cache at the same time share one look-up."""
    pending = _loading.get(token_hash)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[StreamAuth | None] = asyncio.get_running_loop().create_future()
    _loading[token_hash] = future
    try:
        auth = await run_in_threadpool(_load_auth, runtime, token_hash)
        token_cache.put(token_hash, auth)
        future.set_result(auth)
        return auth
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: no "never retrieved" warning when nobody waits
        raise
    finally:
        del _loading[token_hash]


def _refreshed(task: asyncio.Task[StreamAuth | None]) -> None:
    _refreshing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning(
            "refreshing a stream token failed; the cached entry is kept: %r", task.exception()
        )


async def stream_for_request(request: Request, *, sending: bool) -> StreamAuth:
    runtime: Runtime = request.app.state.runtime
    token = bearer(request)
    if not token:
        raise Unauthorized(
            "missing_token", "Send the stream's token in the Authorization header", "Authorization"
        )
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    state, auth = token_cache.cached(token_hash)
    if state == "missing":
        auth = await _load_once(runtime, token_hash)
    elif state == "stale" and token_hash not in _loading:
        task = asyncio.create_task(_load_once(runtime, token_hash))
        _refreshing.add(task)
        task.add_done_callback(_refreshed)
    if auth is None:
        raise Unauthorized("invalid_token", "This token is not valid", "Authorization")
    if sending and auth.state != "active":
        raise Forbidden(
            "stream_not_active", f"This stream is {auth.state}; resume it to send", "Authorization"
        )
    if auth.allowlist.empty:
        raise Forbidden(
            "ip_not_allowed",
            "This stream's IP allowlist is empty, so no IP may call it: add your server's IP "
            "in the stream settings",
            "allowed_ips",
        )
    ip = client_ip(request, runtime)
    if not auth.allowlist.allows(ip):
        raise Forbidden(
            "ip_not_allowed", f"IP {ip} is not in this stream's allowlist", "allowed_ips"
        )
    return auth


async def _read_json(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:  # refused before it is read
        raise TooLarge("body_too_large", f"Request body is over {MAX_BODY} bytes")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise TooLarge("body_too_large", f"Request body is over {MAX_BODY} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("invalid_json", f"Body is not valid JSON: {exc}") from None


# -- Send -----------------------------------------------------------------------------------

_SEND_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["messages"],
                    "properties": {
                        "messages": {
                            "type": "array",
                            "maxItems": 1000,
                            "items": SendItem.model_json_schema(),
                        }
                    },
                },
                "example": SEND_EXAMPLE,
            }
        },
    }
}
_SEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Each message accepted (stored, queued) or refused with its own error",
        "content": {"application/json": {"example": SEND_RESPONSE_EXAMPLE}},
    },
    **_AUTH_ERRORS,
    413: _error_doc("Too many messages", "too_many_messages", "At most 1000 messages"),
    422: _error_doc("Malformed body", "invalid_request", "messages must be a list"),
}


async def send(request: Request) -> Response:
    """Send Request: queue up to 1,000 messages; answers 202 once they are stored."""
    runtime: Runtime = request.app.state.runtime
    auth = await stream_for_request(request, sending=True)
    body = await _read_json(request)
    items = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ValidationFailed("invalid_request", 'Body must be {"messages": [...]}', "messages")
    if not items:
        raise ValidationFailed("no_messages", "messages is empty", "messages")
    limit = runtime.settings.max_batch
    if len(items) > limit:
        raise TooLarge("too_many_messages", f"At most {limit} messages per request", "messages")
    now = utcnow()
    validity = timedelta(seconds=runtime.settings.validity_seconds)
    max_segments = runtime.settings.max_segments
    prepared = [
        prepare(auth, item, now=now, validity=validity, max_segments=max_segments) for item in items
    ]
    rows = [p for p in prepared if isinstance(p, dict)]
    stored = iter(await runtime.writer.store(rows))
    results = []
    accepted = 0
    for p in prepared:
        if isinstance(p, dict):
            result: Accepted = next(stored)
            results.append(result.public())
            accepted += 1
        else:
            results.append(p.public())
    return _json({"status": accepted > 0, "messages": results}, 202)


SEND_PATHS = ("/api/v1/sms/send", "/simple_send/", "/simple_send")

for path in SEND_PATHS:
    router.add_api_route(
        path,
        send,
        methods=["POST"],
        status_code=202,
        openapi_extra=_SEND_DOC,
        responses=_SEND_RESPONSES,
        include_in_schema=path != "/simple_send",
        summary="Send Request" if path.startswith("/api") else "Send Request (compatible alias)",
        operation_id="send" if path.startswith("/api") else f"send_alias{path.count('/')}",
    )


# -- Status ---------------------------------------------------------------------------------


@router.post(
    "/api/v1/sms/status",
    summary="Status Request",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "message_uuids": {"type": "array", "items": {"type": "string"}},
                            "internal_ids": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "example": {"message_uuids": ["6f1c1f0e-8a4e-4d52-9b7f-2f3b8c1f7a10"]},
                }
            },
        }
    },
    responses={
        200: {
            "description": "The stream's messages among those asked for",
            "content": {"application/json": {"example": STATUS_EXAMPLE}},
        },
        **_AUTH_ERRORS,
    },
)
async def status(request: Request) -> Response:
    """Status of up to 100 messages of this stream, by message_uuids or internal_ids."""
    runtime: Runtime = request.app.state.runtime
    auth = await stream_for_request(request, sending=False)
    body = await _read_json(request)
    if not isinstance(body, dict):
        raise ValidationFailed("invalid_request", "Body must be a JSON object")
    uuids, internal = body.get("message_uuids"), body.get("internal_ids")
    if (uuids is None) == (internal is None):
        raise ValidationFailed(
            "invalid_request", "Give exactly one of message_uuids or internal_ids", "message_uuids"
        )
    field = "message_uuids" if uuids is not None else "internal_ids"
    ids = uuids if uuids is not None else internal
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids:
        raise ValidationFailed(
            "invalid_request", f"{field} must be a non-empty list of strings", field
        )
    if len(ids) > MAX_STATUS_IDS:
        raise TooLarge("too_many_ids", f"At most {MAX_STATUS_IDS} ids per request", field)
    ids = list(dict.fromkeys(ids))

    def lookup() -> list[dict[str, Any]]:
        with runtime.sessions() as db, db.begin():
            if uuids is not None:
                return message_status.by_uuids(db, auth.stream_id, ids)
            return message_status.by_internal_ids(db, auth.stream_id, ids)

    found = await run_in_threadpool(lookup)
    return _json({"messages": found})


@router.get(
    "/api/v1/sms/{message_uuid}",
    summary="Status of one message",
    responses={
        200: {
            "description": "The message, with every transition's time",
            "content": {"application/json": {"example": STATUS_EXAMPLE["messages"][0]}},
        },
        **_AUTH_ERRORS,
        404: _error_doc("Not a message of this stream", "not_found", "Message not found"),
    },
)
async def status_one(message_uuid: str, request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    auth = await stream_for_request(request, sending=False)

    def lookup() -> list[dict[str, Any]]:
        with runtime.sessions() as db, db.begin():
            return message_status.by_uuids(db, auth.stream_id, [message_uuid])

    found = await run_in_threadpool(lookup)
    if not found:
        raise NotFound("Message", "message_uuid")
    return _json(found[0])
