"""The Send API's fast path: ``POST`` on a Send path skips the ASGI middleware stack.

The Send route already is a plain Starlette route (no dependency solving), but every
request still went through seven middleware layers (server errors, console sessions,
exception handlers, an exit stack, body limits, telemetry, the router), which together
cost more CPU than the endpoint itself (py-spy, one message per request). None of them
does anything for this route: it reads its own body with a size limit, raises only
:class:`DomainError` for what it refuses, and has no session. This wrapper, outside the
application, hands such requests straight to :func:`smsstreams.api.sms.send` and turns
errors into the same JSON bodies as the application's handlers (``api/errors.py``).
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from smsstreams.domain.errors import DomainError

from . import sms
from .errors import error_response

log = logging.getLogger(__name__)

_PATHS = frozenset(sms.SEND_PATHS)


class SendFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in _PATHS:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app  # the endpoint finds the runtime at request.app.state
        response: Response
        try:
            response = await sms.send(Request(scope, receive))
        except ClientDisconnect:
            return  # the client went away before its body arrived: nobody to answer
        except DomainError as exc:
            response = error_response(exc.http_status, exc.code, exc.message, exc.field)
        except Exception:
            log.exception("unhandled error on POST %s", scope["path"])
            response = error_response(
                500, "internal_error", "Something went wrong on our side; retry later"
            )
        await response(scope, receive, send)
