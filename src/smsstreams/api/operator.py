"""Operator API: the carrier connectors' live state, for whoever runs the platform.

Guarded by ``SMSSTREAMS_OPERATOR_KEY`` (``Authorization: Bearer <key>``). Without that
setting the operator API does not exist (404). Connectors and routes are changed with the
CLI (``smsstreams connector ...``, ``smsstreams route ...``); this API only reads.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from smsstreams.db.types import utcnow
from smsstreams.runtime import Runtime
from smsstreams.services import connectors
from smsstreams.services.errors import Forbidden, NotFound, Unauthorized

from .deps import bearer

router = APIRouter(prefix="/api/v1/operator", tags=["operator"])


def _check_operator(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.operator_key
    if not expected:
        raise NotFound("Page")
    given = bearer(request)
    if not given:
        raise Unauthorized(
            "missing_operator_key", "Send the operator key as 'Authorization: Bearer <key>'"
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("invalid_operator_key", "This operator key is not valid")
    return runtime


@router.get(
    "/connectors",
    summary="Carrier connectors: settings (never passwords), routes, live state, counters",
)
async def list_connectors(request: Request) -> dict[str, Any]:
    runtime = _check_operator(request)

    def read() -> list[dict[str, Any]]:
        with runtime.engine.connect() as conn:
            return connectors.list_connectors(conn, now=utcnow())

    rows = await run_in_threadpool(read)
    return {"data": rows, "count": len(rows)}
