"""Sessions and browser security headers, for console paths only.

The Send API is the hot path and never uses a session, so its requests pass straight
through: no cookie parsing, no signing, no extra headers.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "smsstreams_session"
SESSION_MAX_AGE = 14 * 24 * 3600

CONSOLE_PREFIXES = (
    "/signin",
    "/signup",
    "/signout",
    "/streams",
    "/sender-ids",
    "/operator",
    "/static/",
)

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def is_console_path(path: str) -> bool:
    return path == "/" or path.startswith(CONSOLE_PREFIXES)


class ConsoleMiddleware:
    def __init__(self, app: ASGIApp, *, secret_key: str, https_only: bool) -> None:
        self.app = app
        self.sessions = SessionMiddleware(
            app,
            secret_key=secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            same_site="lax",
            https_only=https_only,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not scope["path"].startswith("/static/"):
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.sessions(scope, receive, send_with_headers)
