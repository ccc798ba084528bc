"""Two-way: polling inbound messages, the demo injector, and the webhook delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from smsstreams.db.types import utcnow
from smsstreams.domain.errors import ValidationFailed
from smsstreams.domain.storable import REASON, is_storable
from smsstreams.runtime import Runtime
from smsstreams.services import inbound, streams, webhook_deliveries
from smsstreams.services.errors import Forbidden

from .deps import CurrentAccount, Db
from .sms import stream_for_request

router = APIRouter(tags=["two-way"])


class DemoInbound(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", max_length=32, examples=["+15551230000"])
    to: str = Field(max_length=32, description="One of your numeric sender IDs")
    text: str = Field(min_length=1, max_length=1600)

    @field_validator("from_", "to", "text")
    @classmethod
    def _storable(cls, value: str) -> str:
        if not is_storable(value):
            raise ValueError(REASON)
        return value


@router.get("/api/v1/sms/inbound", summary="Inbound messages of this stream (polling)")
async def list_inbound(
    request: Request,
    since: Annotated[int, Query(ge=0, description="Cursor: next_since of the last page")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    auth = await stream_for_request(request, sending=False)

    def read() -> tuple[list[dict[str, Any]], int]:
        with runtime.engine.connect() as conn:
            return inbound.list_for_stream(conn, auth.stream_id, since=since, limit=limit)

    rows, cursor = await run_in_threadpool(read)
    return JSONResponse({"data": rows, "count": len(rows), "next_since": cursor})


@router.post(
    "/api/v1/demo/inbound",
    status_code=201,
    summary="Demo streams: inject a message from a phone, as a carrier would deliver it",
)
async def demo_inbound(body: DemoInbound, request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    auth = await stream_for_request(request, sending=False)
    if not auth.demo:
        raise Forbidden(
            "not_demo", "Only demo streams accept injected inbound messages", "Authorization"
        )
    ours = inbound.normalize_ours(body.to)
    if ours not in auth.account_senders or not ours.isdigit():
        raise ValidationFailed(
            "unknown_number", "'to' must be one of your numeric sender IDs", "to"
        )

    def store() -> dict[str, Any]:
        with runtime.engine.begin() as conn:
            record = inbound.receive(
                conn,
                from_number=body.from_,
                to_number=ours,
                text=body.text,
                channel="demo",
                received_at=utcnow(),
                reply_window=runtime.reply_window,
                budget=runtime.webhook_budget,
            )
        return inbound.public(record)

    record = await run_in_threadpool(store)
    runtime.wake_webhooks()
    return JSONResponse(record, status_code=201)


# -- management: webhook log -----------------------------------------------------------------


@router.get("/api/v1/streams/{stream_id}/webhook-deliveries", tags=["management"])
def list_deliveries(
    stream_id: str,
    db: Db,
    account: CurrentAccount,
    state: Annotated[str | None, Query(pattern="^(pending|delivered|failed|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    stream = streams.get_stream(db, account.id, stream_id)
    conn = db.connection()
    rows = webhook_deliveries.list_for_stream(
        conn, stream.id, state=state, limit=limit, offset=offset
    )
    return {"data": rows, "count": len(rows), "states": webhook_deliveries.counts(conn, stream.id)}


@router.post(
    "/api/v1/streams/{stream_id}/webhook-deliveries/{delivery_id}/replay",
    status_code=202,
    tags=["management"],
)
def replay_delivery(
    stream_id: str, delivery_id: int, request: Request, db: Db, account: CurrentAccount
) -> dict[str, str]:
    runtime: Runtime = request.app.state.runtime
    stream = streams.get_stream(db, account.id, stream_id)
    webhook_deliveries.replay(
        db.connection(), stream.id, delivery_id, now=utcnow(), budget=runtime.webhook_budget
    )
    return {"status": "pending"}


@router.post("/api/v1/streams/{stream_id}/webhook/test", status_code=202, tags=["management"])
def send_test_event(
    stream_id: str, request: Request, db: Db, account: CurrentAccount
) -> dict[str, str]:
    runtime: Runtime = request.app.state.runtime
    stream = streams.get_stream(db, account.id, stream_id)
    webhook_deliveries.enqueue_test_event(
        db.connection(), stream.id, now=utcnow(), budget=runtime.webhook_budget
    )
    return {"status": "pending"}
