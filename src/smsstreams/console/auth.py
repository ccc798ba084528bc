"""Sign up, sign in, sign out."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from starlette.responses import Response

from smsstreams.api.sms import client_ip
from smsstreams.domain.errors import DomainError
from smsstreams.services.accounts import (
    authenticate_user,
    check_password,
    create_account,
    normalize_email,
)

from .security import LoginThrottle, new_csrf_token, safe_next
from .web import Form, field_errors, flash, redirect, render, runtime_of, text, transaction

router = APIRouter(include_in_schema=False)


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _start_session(request: Request, user_id: int) -> None:
    request.session.clear()  # a fresh session: nothing from before sign-in carries over
    request.session["uid"] = user_id
    request.session["csrf"] = new_csrf_token()


@router.get("/")
def home(request: Request) -> Response:
    return redirect(
        request, "/streams" if isinstance(request.session.get("uid"), int) else "/signin"
    )


@router.get("/signin")
def signin_page(request: Request, next: str = "") -> Response:
    return render(request, "auth/signin.html", {"next": safe_next(next), "email": ""})


@router.post("/signin")
def signin(request: Request, form: Form) -> Response:
    email, password = text(form, "email"), str(form.get("password") or "")
    target = safe_next(text(form, "next"))
    ip = client_ip(request, runtime_of(request))
    throttle = _throttle(request)
    context = {"next": target, "email": email}
    wait = throttle.retry_after(email, ip)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        message = (
            "Too many failed sign-in attempts. "
            f"Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
        return render(
            request,
            "auth/signin.html",
            {**context, "errors": {"form": message}},
            status=429,
            headers={"Retry-After": str(math.ceil(wait))},
        )
    with transaction(request) as db:
        user = authenticate_user(db, email, password)
        user_id = user.id if user else None
    if user_id is None:
        throttle.failed(email, ip)
        errors = {"form": "Wrong email or password."}
        return render(request, "auth/signin.html", {**context, "errors": errors}, status=401)
    throttle.succeeded(email, ip)
    _start_session(request, user_id)
    return redirect(request, target)


@router.get("/signup")
def signup_page(request: Request) -> Response:
    enabled = runtime_of(request).settings.public_signup
    return render(
        request,
        "auth/signup.html",
        {"enabled": enabled, "values": {}},
        status=200 if enabled else 403,
    )


def _signup_errors(name: str, email: str, password: str) -> dict[str, str]:
    """Every field's problem at once (the service stops at the first)."""
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Account name is required"
    for field, check in (
        ("email", lambda: normalize_email(email)),
        ("password", lambda: check_password(password)),
    ):
        try:
            check()
        except DomainError as exc:
            errors[field] = exc.message
    return errors


@router.post("/signup")
def signup(request: Request, form: Form) -> Response:
    if not runtime_of(request).settings.public_signup:
        return render(request, "auth/signup.html", {"enabled": False, "values": {}}, status=403)
    values = {"name": text(form, "name"), "email": text(form, "email")}
    password = str(form.get("password") or "")
    errors = _signup_errors(values["name"], values["email"], password)
    if errors:
        context = {"enabled": True, "values": values, "errors": errors}
        return render(request, "auth/signup.html", context, status=422)
    try:
        with transaction(request) as db:
            created = create_account(
                db, name=values["name"], email=values["email"], password=password
            )
            user_id = created.user.id
    except DomainError as exc:
        return render(
            request,
            "auth/signup.html",
            {"enabled": True, "values": values, "errors": field_errors(exc)},
            status=422,
        )
    _start_session(request, user_id)
    flash(request, f"Welcome! Your account {values['name']} is ready.")
    return redirect(request, "/streams")


@router.post("/signout")
def signout(request: Request, form: Form) -> Response:
    request.session.clear()
    flash(request, "You are signed out.")
    return redirect(request, "/signin")
