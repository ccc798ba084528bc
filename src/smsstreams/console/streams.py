"""The Streams API table and the stream page: settings, actions, messages, test message."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from smsstreams.domain.errors import DomainError
from smsstreams.schemas import StreamPublic
from smsstreams.services import message_status, sender_ids, streams
from smsstreams.services.sending import Rejected

from .previews import request_previews
from .test_message import send_test_message, stream_auth
from .web import (
    STATUSES,
    CurrentUser,
    Form,
    field_errors,
    flash,
    redirect,
    render,
    runtime_of,
    text,
    transaction,
)
from .webhooks import delivery_context, inbound_context

router = APIRouter(include_in_schema=False)

PER_PAGE = 20
LOG_LIMIT = 50


def base_url(request: Request) -> str:
    configured = runtime_of(request).settings.base_url
    return (configured or str(request.base_url)).rstrip("/")


def sender_choices(db: Session, account_id: int) -> list[dict[str, str]]:
    return [{"value": s.value, "kind": s.kind} for s in sender_ids.list_sender_ids(db, account_id)]


def previews_for(request: Request, stream: StreamPublic, senders: list[dict[str, str]]) -> Any:
    customized = stream.default_sender == streams.CUSTOMIZED
    numeric = [s["value"] for s in senders if s["kind"] == "numeric"]
    names = numeric if stream.direction == "two_way" else [s["value"] for s in senders]
    return request_previews(
        base_url(request), customized=customized, sample_sender=names[0] if names else None
    )


# -- the table ------------------------------------------------------------------------------


@router.get("/streams")
def streams_table(
    request: Request, user: CurrentUser, q: str = "", tag: str = "", page: int = 1
) -> Response:
    page = max(page, 1)
    q, tag = q.strip()[:200], tag.strip()[:50]
    with transaction(request) as db:
        rows, total = streams.list_streams(
            db, user.account_id, search=q, tag=tag, page=page, per_page=PER_PAGE
        )
        data = [streams.to_public(s) for s in rows]
        tags = streams.account_tags(db, user.account_id)
    context = {
        "streams": data,
        "total": total,
        "tags": tags,
        "q": q,
        "tag": tag,
        "page": page,
        "pages": max(1, math.ceil(total / PER_PAGE)),
        "highlight": request.query_params.get("new", ""),
    }
    return render(request, "streams/list.html", context, user=user)


# -- the stream page ------------------------------------------------------------------------


def _log_context(db: Session, stream_id: str, status: str) -> dict[str, Any]:
    status = status if status in STATUSES else ""
    return {
        "messages": message_status.recent(db, stream_id, status=status or None, limit=LOG_LIMIT),
        "counts": message_status.counts(db, stream_id),
        "status_filter": status,
    }


def _stream_page(
    request: Request, user: CurrentUser, stream_id: str, extra: dict[str, Any] | None = None
) -> Response:
    with transaction(request) as db:
        stream = streams.to_public(streams.get_stream(db, user.account_id, stream_id))
        if stream.state == "draft":
            return redirect(request, f"/streams/{stream.id}/wizard")
        senders = sender_choices(db, user.account_id)
        log = _log_context(db, stream.id, request.query_params.get("status", ""))
        deliveries = delivery_context(db, stream.id, request.query_params.get("state", ""))
        replies = inbound_context(db, stream.id)
    context = {
        "stream": stream,
        "senders": senders,
        "previews": previews_for(request, stream, senders),
        **log,
        **deliveries,
        **replies,
        **(extra or {}),
    }
    return render(request, "streams/detail.html", context, user=user)


@router.get("/streams/{stream_id}")
def stream_page(request: Request, user: CurrentUser, stream_id: str) -> Response:
    return _stream_page(request, user, stream_id)


@router.get("/streams/{stream_id}/messages")
def messages_log(request: Request, user: CurrentUser, stream_id: str, status: str = "") -> Response:
    with transaction(request) as db:
        stream = streams.get_stream(db, user.account_id, stream_id)
        log = _log_context(db, stream.id, status)
    return render(
        request, "streams/_messages.html", {"stream_id": stream_id, "oob": True, **log}, user=user
    )


@router.get("/streams/{stream_id}/messages/{message_uuid}")
def message_card(
    request: Request, user: CurrentUser, stream_id: str, message_uuid: str
) -> Response:
    with transaction(request) as db:
        stream = streams.get_stream(db, user.account_id, stream_id)
        found = message_status.by_uuids(db, stream.id, [message_uuid])
    if not found:
        return render(request, "error.html", {"status": 404, "title": "Not found"}, status=404)
    return render(
        request, "streams/_test_result.html", {"stream_id": stream_id, "m": found[0]}, user=user
    )


@router.post("/streams/{stream_id}/pause")
def pause(request: Request, user: CurrentUser, form: Form, stream_id: str) -> Response:
    with transaction(request) as db:
        stream = streams.set_paused(db, user.account_id, stream_id, True)
        name = stream.name
    flash(request, f"{name} is paused: the Send API refuses its messages until you resume it.")
    return redirect(request, f"/streams/{stream_id}")


@router.post("/streams/{stream_id}/resume")
def resume(request: Request, user: CurrentUser, form: Form, stream_id: str) -> Response:
    with transaction(request) as db:
        stream = streams.set_paused(db, user.account_id, stream_id, False)
        name = stream.name
    flash(request, f"{name} is active again.")
    return redirect(request, f"/streams/{stream_id}")


@router.post("/streams/{stream_id}/token")
def regenerate_token(request: Request, user: CurrentUser, form: Form, stream_id: str) -> Response:
    with transaction(request) as db:
        result = streams.regenerate_token(db, user.account_id, stream_id)
    return _stream_page(request, user, stream_id, {"new_token": result.token, "regenerated": True})


@router.post("/streams/{stream_id}/delete")
def delete(request: Request, user: CurrentUser, form: Form, stream_id: str) -> Response:
    with transaction(request) as db:
        name = streams.get_stream(db, user.account_id, stream_id).name
        streams.delete_stream(db, user.account_id, stream_id)
    flash(request, f"Stream {name} was deleted.")
    return redirect(request, "/streams")


@router.post("/streams/{stream_id}/test")
async def test_message(request: Request, user: CurrentUser, form: Form, stream_id: str) -> Response:
    runtime = runtime_of(request)
    values = {
        "recipient_phone": text(form, "recipient_phone"),
        "message_content": text(form, "message_content"),
        "sender": text(form, "sender"),
    }

    def load() -> tuple[StreamPublic, list[dict[str, str]], Any]:
        with transaction(request) as db:
            stream = streams.to_public(streams.get_stream(db, user.account_id, stream_id))
            senders = sender_choices(db, user.account_id)
            try:
                return stream, senders, stream_auth(db, user.account_id, stream_id)
            except DomainError as exc:
                return stream, senders, exc

    stream, senders, auth = await run_in_threadpool(load)
    context: dict[str, Any] = {"stream": stream, "senders": senders, "values": values}
    if isinstance(auth, DomainError):
        context["errors"] = field_errors(auth)
        return render(request, "streams/_test_card.html", context, user=user)
    result = await send_test_message(
        runtime,
        auth,
        phone=values["recipient_phone"],
        text=values["message_content"],
        sender=values["sender"] or None,
    )
    if isinstance(result, Rejected):
        context["errors"] = field_errors(result.error)
        return render(request, "streams/_test_card.html", context, user=user)

    def lookup() -> dict[str, Any]:
        with transaction(request) as db:
            return message_status.by_uuids(db, stream_id, [result.message_uuid])[0]

    context["m"] = await run_in_threadpool(lookup)
    return render(request, "streams/_test_card.html", context, user=user)
