"""Probes for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from smsstreams.db import migrate
from smsstreams.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Database reachable and migrations current")
async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime

    def check() -> tuple[bool, dict[str, object]]:
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current, head = (
                migrate.current_revision(runtime.engine),
                migrate.head_revision(runtime.engine),
            )
        except Exception as exc:
            return False, {"database": "unreachable", "detail": type(exc).__name__}
        ok = current == head
        return ok, {"database": "ok", "migration": current, "expected": head}

    ok, detail = await run_in_threadpool(check)
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", **detail}, status_code=200 if ok else 503
    )
