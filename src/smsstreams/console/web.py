"""What every console page shares: templates, the signed-in user, CSRF, flash messages,
one transaction per action, and HTML error pages.

Pages are thin: they read the form, call a service inside :func:`transaction`, and
render. A service's :class:`DomainError` names its ``field``; :func:`field_errors` turns
it into ``{field: message}`` so the template shows the message next to that input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from smsstreams import __version__
from smsstreams.db.models import Account, User
from smsstreams.domain.errors import DomainError
from smsstreams.domain.status import Status, describe
from smsstreams.runtime import Runtime

from .middleware import is_console_path
from .security import CSRF_FIELD, CSRF_HEADER, csrf_matches, new_csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

DIRECTIONS = {"two_way": "Two-Way", "one_way": "One-Way"}
TYPES = {"otp": "OTP"}
STATUSES = [s.value for s in Status]
FINAL_STATUSES = {"delivered", "undelivered", "expired", "rejected", "sent_failed", "no_routes"}
DELIVERY_STATE_HELP = {
    "pending": "Being delivered: timeouts, 5xx, 408 and 429 are retried with backoff",
    "delivered": "The webhook answered 2xx",
    "failed": "Not retried: the webhook answered 3xx or 4xx, or its address is not allowed",
    "dead": "Given up: no 2xx within the attempts or the time allowed",
}


def _fmt_time(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def _status_help(status: str) -> str:
    try:
        return describe(Status(status))
    except ValueError:
        return ""


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters["time"] = _fmt_time
templates.env.filters["status_label"] = _status_label
templates.env.filters["status_help"] = _status_help
templates.env.globals.update(
    version=__version__,
    DIRECTIONS=DIRECTIONS,
    TYPES=TYPES,
    FINAL_STATUSES=FINAL_STATUSES,
    STATUSES=STATUSES,
    DELIVERY_STATE_HELP=DELIVERY_STATE_HELP,
)


# -- errors ---------------------------------------------------------------------------------


Handler = Callable[[Request, Exception], Awaitable[Response]]


class SignInRequired(Exception):
    """No signed-in user: go to the sign-in page (then come back)."""


class CsrfRejected(Exception):
    """A POST without the session's CSRF token."""


def field_errors(
    exc: DomainError | ValidationError, aliases: dict[str, str] | None = None
) -> dict[str, str]:
    """``{field: message}`` for the form; unknown fields go to ``"form"`` (top of the form)."""
    aliases = aliases or {}
    if isinstance(exc, DomainError):
        key = exc.field or "form"
        return {aliases.get(key, key): exc.message}
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        key = ".".join(p for p in loc if not p.isdigit()) or "form"
        key = aliases.get(key, key)
        message = str(err.get("msg", "Invalid value")).removeprefix("Value error, ")
        out.setdefault(key, message)
    return out


# -- runtime, transaction, user -------------------------------------------------------------


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@contextmanager
def transaction(request: Request) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back when it raises."""
    with runtime_of(request).sessions() as db, db.begin():
        yield db


@dataclass(frozen=True)
class ConsoleUser:
    user_id: int
    account_id: int
    account_name: str
    email: str
    is_operator: bool = False


def current_user(request: Request) -> ConsoleUser:
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise SignInRequired
    with transaction(request) as db:
        row = db.execute(
            select(User.id, User.email, Account.id, Account.name, User.is_operator)
            .join(Account, Account.id == User.account_id)
            .where(User.id == user_id)
        ).first()
    if row is None:
        request.session.clear()
        raise SignInRequired
    return ConsoleUser(
        user_id=row[0], email=row[1], account_id=row[2], account_name=row[3], is_operator=row[4]
    )


CurrentUser = Annotated[ConsoleUser, Depends(current_user)]


def operator_user(user: CurrentUser) -> ConsoleUser:
    """The signed-in user, when an operator; anyone else gets the plain 404 page (the
    operator pages do not exist for them)."""
    if not user.is_operator:
        raise StarletteHTTPException(404)
    return user


OperatorUser = Annotated[ConsoleUser, Depends(operator_user)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token (field or ``X-CSRF-Token`` header) matched."""
    form = await request.form()
    given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not csrf_matches(request.session.get("csrf"), given if isinstance(given, str) else None):
        raise CsrfRejected
    if any(isinstance(v, str) and "\x00" in v for _, v in form.multi_items()):
        # no browser sends NUL from a form field, and PostgreSQL cannot store it (form
        # values are decoded with replacement, so they hold no unpaired surrogates)
        form = FormData(
            [(k, v.replace("\x00", "") if isinstance(v, str) else v) for k, v in form.multi_items()]
        )
    return form


Form = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str)]


# -- rendering ------------------------------------------------------------------------------


def flash(request: Request, message: str, kind: str = "success") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    user: ConsoleUser | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    ctx: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token(request),
        "flashes": [] if is_htmx(request) else request.session.pop("flash", []),
        "settings": runtime_of(request).settings,
        "errors": {},
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, template, ctx, status_code=status, headers=headers)


def redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def install_error_pages(app: FastAPI) -> None:
    """Console paths get HTML error pages; every other path keeps the JSON error body."""

    def page(request: Request, status: int, title: str, message: str) -> Response:
        if is_htmx(request):
            return Response(message, status_code=status, media_type="text/plain")
        return render(
            request,
            "error.html",
            {"status": status, "title": title, "message": message},
            status=status,
        )

    def wrap(exc_class: type[Exception]) -> None:
        original = cast(Handler, app.exception_handlers[exc_class])

        async def handler(request: Request, exc: Exception) -> Response:
            if not is_console_path(request.url.path):
                response: Response = await original(request, exc)
                return response
            if isinstance(exc, DomainError):
                status = exc.http_status
                title = "Not found" if status == 404 else "Cannot do that"
                return page(request, status, title, exc.message)
            if isinstance(exc, StarletteHTTPException):
                title = "Not found" if exc.status_code == 404 else "Error"
                detail = exc.detail if isinstance(exc.detail, str) else title
                if exc.status_code == 404:
                    detail = "There is nothing at this address."
                return page(request, exc.status_code, title, detail)
            if isinstance(exc, RequestValidationError):
                return page(request, 400, "Bad request", "This address has a value we cannot read.")
            await original(request, exc)  # logs it
            return page(
                request,
                500,
                "Something went wrong",
                "Something went wrong on our side; retry later.",
            )

        app.exception_handlers[exc_class] = handler

    for exc_class in (DomainError, StarletteHTTPException, RequestValidationError, Exception):
        wrap(exc_class)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        url = (
            "/signin"
            if request.method != "GET" or is_htmx(request)
            else f"/signin?next={quote(target)}"
        )
        return redirect(request, url)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        return page(
            request,
            403,
            "Form expired",
            "This form was not sent with a valid security token (it may have expired). "
            "Go back, reload the page and try again.",
        )
