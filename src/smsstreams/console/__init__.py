"""The customer console: server-rendered pages (Jinja2 + htmx) on the same app as the API.

:func:`install` adds it to the app: signed-cookie sessions and security headers on console
paths only, the pages, ``/static``, and HTML error pages for console paths (the API keeps
its JSON errors).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from smsstreams.config import Settings

from . import auth, carriers, sender_ids, streams, webhooks, wizard
from .middleware import ConsoleMiddleware
from .security import LoginThrottle, load_secret_key
from .web import STATIC_DIR, install_error_pages


def install(app: FastAPI, settings: Settings) -> None:
    secret = load_secret_key(settings.secret_key, settings.data_dir)
    app.state.login_throttle = LoginThrottle()
    app.add_middleware(
        ConsoleMiddleware,
        secret_key=secret,
        https_only=settings.base_url.startswith("https://"),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # wizard first: /streams/new
    for module in (auth, wizard, streams, webhooks, sender_ids, carriers):
        app.include_router(module.router)
    install_error_pages(app)
