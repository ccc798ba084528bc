"""The ASGI application: API, docs and (in one process by default) the workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from smsstreams import __version__, console
from smsstreams.api import errors, health, inbound, management, sms
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
        try:
            yield
        finally:
            await rt.stop()

    app = FastAPI(
        title="smsstreams",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(inbound.router)  # before sms: /sms/inbound is not a message uuid
    app.include_router(sms.router)
    app.include_router(management.router)
    console.install(app, settings)
    return app
