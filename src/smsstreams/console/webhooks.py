"""The stream page's two-way part: inbound messages, the webhook's delivery log (live, by
state), a test event and replays.

Every route loads the stream through the signed-in user's account first, so another
account's stream, delivery or message is a 404. The POSTs need the CSRF token (form field
without JavaScript, ``X-CSRF-Token`` header with htmx) and answer htmx with the refreshed
fragment, plain forms with a redirect back to the stream page.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from smsstreams.db.types import utcnow
from smsstreams.domain.errors import DomainError
from smsstreams.services import inbound, message_status, streams, webhook_deliveries

from .web import CurrentUser, Form, flash, is_htmx, redirect, render, runtime_of, transaction

router = APIRouter(include_in_schema=False)

DELIVERY_LIMIT = 50
INBOUND_LIMIT = 20
DELIVERY_STATES = webhook_deliveries.STATES


def _state(value: str) -> str:
    return value if value in DELIVERY_STATES else ""


def delivery_context(db: Session, stream_id: str, state: str = "") -> dict[str, Any]:
    """The delivery log (newest first, optionally one state) and the count of each state."""
    state = _state(state)
    conn = db.connection()
    rows = webhook_deliveries.list_for_stream(
        conn, stream_id, state=state or None, limit=DELIVERY_LIMIT
    )
    for row in rows:
        row["payload_text"] = json.dumps(row["payload"], indent=2, ensure_ascii=False)
    return {
        "deliveries": rows,
        "delivery_counts": webhook_deliveries.counts(conn, stream_id),
        "delivery_filter": state,
    }


def inbound_context(db: Session, stream_id: str) -> dict[str, Any]:
    """The newest inbound messages, each with the outbound message it answers when known."""
    rows = inbound.recent_for_stream(db.connection(), stream_id, limit=INBOUND_LIMIT)
    uuids = sorted({r["in_reply_to"] for r in rows if r["in_reply_to"]})
    found = message_status.by_uuids(db, stream_id, uuids) if uuids else []
    replied = {m["message_uuid"]: m for m in found}
    for row in rows:
        row["reply_to"] = replied.get(row["in_reply_to"] or "")
    return {"inbound": rows, "inbound_limit": INBOUND_LIMIT}


def _deliveries_fragment(
    request: Request, user: CurrentUser, stream_id: str, state: str, **extra: Any
) -> Response:
    with transaction(request) as db:
        stream = streams.get_stream(db, user.account_id, stream_id)
        context = delivery_context(db, stream.id, state)
    return render(
        request,
        "streams/_deliveries.html",
        {"stream_id": stream.id, "oob": True, **context, **extra},
        user=user,
    )


@router.get("/streams/{stream_id}/webhook-deliveries")
def deliveries_log(
    request: Request, user: CurrentUser, stream_id: str, state: str = ""
) -> Response:
    return _deliveries_fragment(request, user, stream_id, state)


@router.get("/streams/{stream_id}/inbound")
def inbound_list(request: Request, user: CurrentUser, stream_id: str) -> Response:
    with transaction(request) as db:
        stream = streams.get_stream(db, user.account_id, stream_id)
        context = inbound_context(db, stream.id)
        demo = stream.demo
    return render(request, "streams/_inbound.html", {"demo": demo, **context}, user=user)


@router.post("/streams/{stream_id}/webhook/test")
def send_test_event(request: Request, user: CurrentUser, form: Form, stream_id: str) -> Response:
    runtime = runtime_of(request)
    error: str | None = None
    now = utcnow()
    try:
        with transaction(request) as db:
            stream = streams.get_stream(db, user.account_id, stream_id)
            webhook_deliveries.enqueue_test_event(
                db.connection(), stream.id, now=now, budget=runtime.webhook_budget
            )
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        error = exc.message
    else:
        runtime.wake_webhooks()
    if not is_htmx(request):
        if error:
            flash(request, error, "error")
        else:
            flash(request, "Test event queued: see it in the delivery log.")
        return redirect(request, f"/streams/{stream_id}#webhook-title")
    state = form.get("state")
    return _deliveries_fragment(
        request,
        user,
        stream_id,
        state if isinstance(state, str) else "",
        test_event={"error": error, "queued_at": now},
    )


@router.post("/streams/{stream_id}/webhook-deliveries/{delivery_id}/replay")
def replay_delivery(
    request: Request, user: CurrentUser, form: Form, stream_id: str, delivery_id: int
) -> Response:
    runtime = runtime_of(request)
    kind = "success"
    try:
        with transaction(request) as db:
            stream = streams.get_stream(db, user.account_id, stream_id)
            webhook_deliveries.replay(
                db.connection(), stream.id, delivery_id, now=utcnow(), budget=runtime.webhook_budget
            )
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        message, kind = exc.message, "error"  # e.g. still pending: nothing to replay
    else:
        runtime.wake_webhooks()
        message = f"Delivery {delivery_id} is queued again."
    if not is_htmx(request):
        flash(request, message, kind)
        return redirect(request, f"/streams/{stream_id}#deliveries-title")
    state = form.get("state")
    response = _deliveries_fragment(
        request, user, stream_id, state if isinstance(state, str) else ""
    )
    response.headers["HX-Trigger"] = json.dumps({"toast": message})
    return response
