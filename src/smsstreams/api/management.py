"""Management API (account API key): sender IDs and streams."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from smsstreams.schemas import (
    SenderIdCreate,
    SenderIdPublic,
    SenderIdsPublic,
    StreamCreate,
    StreamPublic,
    StreamsPublic,
    StreamUpdate,
    StreamWithToken,
)
from smsstreams.services import message_status, sender_ids, streams

from .deps import CurrentAccount, Db

router = APIRouter(prefix="/api/v1", tags=["management"])


def _sender_public(row: object) -> SenderIdPublic:
    return SenderIdPublic.model_validate(row, from_attributes=True)


@router.get("/sender-ids", response_model=SenderIdsPublic)
def list_sender_ids(db: Db, account: CurrentAccount) -> SenderIdsPublic:
    rows = sender_ids.list_sender_ids(db, account.id)
    return SenderIdsPublic(data=[_sender_public(r) for r in rows], count=len(rows))


@router.post("/sender-ids", response_model=SenderIdPublic, status_code=201)
def create_sender_id(body: SenderIdCreate, db: Db, account: CurrentAccount) -> SenderIdPublic:
    return _sender_public(sender_ids.create_sender_id(db, account.id, body.value))


@router.delete("/sender-ids/{sender_id}", status_code=204)
def delete_sender_id(sender_id: int, db: Db, account: CurrentAccount) -> Response:
    sender_ids.delete_sender_id(db, account.id, sender_id)
    return Response(status_code=204)


@router.get("/streams", response_model=StreamsPublic)
def list_streams(
    db: Db,
    account: CurrentAccount,
    search: Annotated[str, Query(max_length=200, description="Part of the name")] = "",
    tag: Annotated[str, Query(max_length=50)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> StreamsPublic:
    rows, total = streams.list_streams(
        db, account.id, search=search, tag=tag, page=page, per_page=per_page
    )
    return StreamsPublic(
        data=[streams.to_public(s) for s in rows], count=total, page=page, per_page=per_page
    )


@router.post("/streams", response_model=StreamWithToken, status_code=201)
def create_stream(body: StreamCreate, db: Db, account: CurrentAccount) -> StreamWithToken:
    result = streams.create_stream(db, account.id, body)
    return StreamWithToken(stream=streams.to_public(result.stream), token=result.token)


@router.get("/streams/{stream_id}", response_model=StreamPublic)
def get_stream(stream_id: str, db: Db, account: CurrentAccount) -> StreamPublic:
    return streams.to_public(streams.get_stream(db, account.id, stream_id))


@router.patch("/streams/{stream_id}", response_model=StreamWithToken)
def update_stream(
    stream_id: str, body: StreamUpdate, db: Db, account: CurrentAccount
) -> StreamWithToken:
    result = streams.update_stream(db, account.id, stream_id, body)
    return StreamWithToken(stream=streams.to_public(result.stream), token=result.token)


@router.post("/streams/{stream_id}/pause", response_model=StreamPublic)
def pause_stream(stream_id: str, db: Db, account: CurrentAccount) -> StreamPublic:
    return streams.to_public(streams.set_paused(db, account.id, stream_id, True))


@router.post("/streams/{stream_id}/resume", response_model=StreamPublic)
def resume_stream(stream_id: str, db: Db, account: CurrentAccount) -> StreamPublic:
    return streams.to_public(streams.set_paused(db, account.id, stream_id, False))


@router.post("/streams/{stream_id}/token", response_model=StreamWithToken)
def regenerate_token(stream_id: str, db: Db, account: CurrentAccount) -> StreamWithToken:
    result = streams.regenerate_token(db, account.id, stream_id)
    return StreamWithToken(stream=streams.to_public(result.stream), token=result.token)


@router.delete("/streams/{stream_id}", status_code=204)
def delete_stream(stream_id: str, db: Db, account: CurrentAccount) -> Response:
    streams.delete_stream(db, account.id, stream_id)
    return Response(status_code=204)


@router.get("/streams/{stream_id}/stats")
def stream_stats(stream_id: str, db: Db, account: CurrentAccount) -> dict[str, object]:
    stream = streams.get_stream(db, account.id, stream_id)
    return {"stream_id": stream.id, "counts": message_status.counts(db, stream.id)}


@router.get("/streams/{stream_id}/messages")
def stream_messages(
    stream_id: str,
    db: Db,
    account: CurrentAccount,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    stream = streams.get_stream(db, account.id, stream_id)
    rows = message_status.recent(db, stream.id, status=status, limit=limit, offset=offset)
    return {"data": rows, "count": len(rows)}
