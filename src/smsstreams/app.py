"""The ASGI application: API, docs and (in one process by default) the workers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

from smsstreams import __version__, console
from smsstreams.api import errors, health, inbound, management, operator, sms
from smsstreams.config import Settings, load_settings
from smsstreams.runtime import Runtime

DESCRIPTION = """
Send SMS through **streams**: API channels with their own token, IP allowlist, default
sender and (optionally) a demo channel that simulates a carrier.

* **Send Request** `POST /api/v1/sms/send` (alias `POST /simple_send/`), header
  `Authorization: <stream token>`: up to 1,000 messages; each is accepted (stored, then
  `202`) or refused with its own error.
* **Status Request** `GET /api/v1/sms/{message_uuid}` or `POST /api/v1/sms/status`.
* **Management API** under `/api/v1` with `Authorization: Bearer <account API key>`.

Errors are always `{"error": {"code", "message", "field"}}` with a 4xx status.
"""


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime.build(settings)
        app.state.runtime = rt
        await rt.start()
        # What exists now lives as long as the process: keep it out of the collector's
        # full passes, which would otherwise pause every request now and then.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await rt.stop()

    app = FastAPI(
        title="smsstreams",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # No OpenTelemetry hooks: they cost a few percent of CPU per request on the hot path.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(inbound.router)  # before sms: /sms/inbound is not a message uuid
    app.include_router(sms.router)
    app.include_router(management.router)
    app.include_router(operator.router)
    console.install(app, settings)
    # The Send route is the hot path: serve it as a plain Starlette route, ahead of the
    # documented FastAPI one (which stays for /docs), to skip dependency solving.
    app.router.routes[:0] = [
        Route(path, sms.send, methods=["POST"], include_in_schema=False) for path in sms.SEND_PATHS
    ]
    return app
