"""The Carriers page, for operators only: every connector's live state, throughput and
errors (refreshed every 2 s), enable / disable / remove, adding a connector, and routes.

Everyone else gets 404 on these addresses. Changes go through ``services.connectors``, as
the CLI's and the operator API's do, so a running server picks them up within a second.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from typing import Any, Final

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.responses import Response

from smsstreams.db.types import utcnow
from smsstreams.domain.errors import DomainError, ValidationFailed
from smsstreams.services import connectors
from smsstreams.services.connectors import ConnectorSettings

from .web import (
    Form,
    OperatorUser,
    field_errors,
    flash,
    redirect,
    render,
    runtime_of,
    text,
    texts,
)

router = APIRouter(include_in_schema=False)

PAGE: Final = "/operator/connectors"

STATE_HELP: Final = {
    "bound": "The bind is up: messages are submitted and receipts received",
    "connecting": "Connecting or binding; after a failure, between retries",
    "down": "Not bound; the last error says why. The server keeps retrying with backoff",
    "disabled": "Switched off by an operator: not bound, skipped in routes",
    "unbound": "Enabled, but no running server holds it (none runs, or its lease ran out)",
}

#: form fields that hold numbers: name -> (parse, what the operator is told)
_NUMBERS: Final = {
    "port": (int, "port: a whole number, 1-65535"),
    "window": (int, "window: a whole number, 1-1000"),
    "max_per_second": (float, "max per second: a number (empty: no limit)"),
    "source_ton": (int, "source TON: a whole number, 0-6 (empty: from the sender)"),
    "source_npi": (int, "source NPI: a whole number (empty: from the sender)"),
}
_CHECKBOXES: Final = ("tls", "packed")
_DEFAULT_TEXT: Final = {
    f.name: f.default for f in fields(ConnectorSettings) if isinstance(f.default, str)
}
#: good values of every setting: they stand in for the fields that failed
_STAND_IN: Final = ConnectorSettings(name="x", host="x", port=1, system_id="x", password="").row()


# -- presentation -----------------------------------------------------------------------------


def sparkline(
    values: list[float], peak: float | None = None, width: float = 140, height: float = 28
) -> str:
    """SVG polyline points for ``values`` across ``width``: 0 at the bottom, ``peak`` (by
    default the largest value, at least 1) at the top, 1 px margins."""
    if not values:
        return ""
    peak = max(peak if peak is not None else max(values), 1)
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 1 - (v / peak) * (height - 2):.1f}" for i, v in enumerate(values)
    )


def _rate(per_second: float) -> str:
    """``0``, ``7.4``, ``1,250``: one decimal while it matters."""
    if per_second >= 100:
        return f"{per_second:,.0f}"
    return f"{per_second:.1f}".removesuffix(".0")


def _view(row: dict[str, Any]) -> dict[str, Any]:
    """What a table row needs, worked out here so the template stays plain."""
    stats = row["stats"] or {}
    history = stats.get("history") or {}
    step = float(history.get("step") or 5)
    accepted = [n / step for n in history.get("accepted", [])]
    failed = [n / step for n in history.get("failed", [])]
    live = row["state"] not in ("disabled", "unbound")
    peak = max(accepted + failed, default=0)
    return {
        **row,
        "state_help": STATE_HELP.get(row["state"], ""),
        "live": live,
        "rate": _rate(stats.get("per_second_1m", stats.get("submit_per_second")) or 0),
        "in_flight": stats.get("outstanding"),
        "sent": stats.get("accepted", 0),
        "failed": stats.get("errors", 0),
        "receipts": stats.get("receipts", 0),
        "mo_parts": stats.get("mo_parts", 0),
        "since": stats.get("state_since") if live else None,
        "error_at": stats.get("error_at"),
        "chart": {
            "accepted": sparkline(accepted, peak),  # one scale for both lines
            "failed": sparkline(failed, peak) if any(failed) else "",
            "peak": math.ceil(peak * 10) / 10,
            "minutes": round(len(accepted) * step / 60),
        }
        if accepted
        else None,
    }


# -- reading --------------------------------------------------------------------------------


def _read(request: Request) -> dict[str, Any]:
    with runtime_of(request).engine.connect() as conn:
        rows = connectors.list_connectors(conn, now=utcnow())
        routes = connectors.list_routes(conn)
    states = {r["name"]: r["state"] for r in rows}
    return {
        "connectors": [_view(r) for r in rows],
        "routes": [
            {**r, "chain": [{"name": n, "state": states.get(n, "")} for n in r["connectors"]]}
            for r in routes
        ],
    }


def _page(
    request: Request,
    user: OperatorUser,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    route_values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        **_read(request),
        "values": values or {},
        "errors": errors or {},
        "route_values": route_values or {},
        "STATE_HELP": STATE_HELP,
        "BIND_TYPES": connectors.BIND_TYPES,
        "CONCAT_METHODS": connectors.CONCAT_METHODS,
        "ID_FORMATS": connectors.ID_FORMATS,
        "DEFAULT_ALPHABETS": connectors.DEFAULT_ALPHABETS,
        "defaults": {f.name: f.default for f in fields(ConnectorSettings)},
    }
    return render(request, "operator/connectors.html", context, user=user, status=status)


def _change(request: Request, fn: Any) -> Any:
    with runtime_of(request).engine.begin() as conn:
        assert isinstance(conn, Connection)
        return fn(conn)


@router.get("/operator")
def operator_home(request: Request, user: OperatorUser) -> Response:
    return redirect(request, PAGE)


@router.get(PAGE)
def connectors_page(request: Request, user: OperatorUser) -> Response:
    return _page(request, user)


@router.get(PAGE + "/live")
def connectors_live(request: Request, user: OperatorUser) -> Response:
    """The part of the page that refreshes itself (htmx, every 2 s)."""
    return render(request, "operator/_live.html", _read(request), user=user)


# -- enable, disable, remove ----------------------------------------------------------------


@router.post(PAGE + "/{name}/enable")
def enable(request: Request, user: OperatorUser, form: Form, name: str) -> Response:
    _change(request, lambda conn: connectors.set_enabled(conn, name, True, now=utcnow()))
    flash(request, f"Connector {name} enabled: a running server binds it within a few seconds.")
    return redirect(request, PAGE)


@router.post(PAGE + "/{name}/disable")
def disable(request: Request, user: OperatorUser, form: Form, name: str) -> Response:
    _change(request, lambda conn: connectors.set_enabled(conn, name, False, now=utcnow()))
    flash(request, f"Connector {name} disabled: the server unbinds it; routes skip it.")
    return redirect(request, PAGE)


@router.post(PAGE + "/{name}/remove")
def remove(request: Request, user: OperatorUser, form: Form, name: str) -> Response:
    try:
        _change(request, lambda conn: connectors.remove_connector(conn, name))
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        flash(request, exc.message, "error")
        return redirect(request, PAGE)
    flash(request, f"Connector {name} removed: the server unbinds it.")
    return redirect(request, PAGE)


# -- adding -----------------------------------------------------------------------------------


def _settings_from(
    form: FormData,
) -> tuple[dict[str, Any], ConnectorSettings | None, dict[str, str]]:
    """The values to show again (never the password), the settings when every field
    parses and validates, and ``{field: message}`` for each field that does not."""
    values: dict[str, Any] = {}
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in connectors.SETTING_NAMES:
        if name == "password":
            password = form.get(name)
            parsed[name] = password if isinstance(password, str) else ""
            continue  # never shown back
        if name in _CHECKBOXES:
            parsed[name] = values[name] = form.get(name) == "on"
        elif name == "enabled":
            parsed[name] = values[name] = form.get("start_disabled") != "on"
        elif name in _NUMBERS:
            parse, message = _NUMBERS[name]
            raw = values[name] = text(form, name)
            if not raw:
                parsed[name] = _STAND_IN[name] if name in ("port", "window") else None
                if name == "port":
                    errors[name] = "port: required"
                continue
            try:
                parsed[name] = parse(raw)
            except ValueError:
                parsed[name] = _STAND_IN[name]
                errors[name] = message
        else:
            raw = values[name] = text(form, name)
            parsed[name] = raw or _DEFAULT_TEXT.get(name, "")  # empty choice: the default
    settings = ConnectorSettings(**parsed)
    # every field's problem at once: a field that fails is replaced by a good stand-in,
    # and validation goes on (it stops at the first problem)
    while True:
        try:
            settings.validate()
            break
        except ValidationFailed as exc:
            if exc.field is None or exc.field in errors or exc.field not in _STAND_IN:
                errors.setdefault(exc.field or "form", exc.message)
                break
            errors[exc.field] = exc.message
            settings = replace(settings, **{exc.field: _STAND_IN[exc.field]})
    return values, (None if errors else settings), errors


@router.post(PAGE)
def add(request: Request, user: OperatorUser, form: Form) -> Response:
    values, settings, errors = _settings_from(form)
    if settings is not None:
        try:
            _change(request, lambda conn: connectors.add_connector(conn, settings, now=utcnow()))
        except DomainError as exc:
            errors = field_errors(exc)
    if settings is None or errors:
        return _page(request, user, values=values, errors=errors, status=422)
    where = f"{settings.host}:{settings.port}"
    flash(
        request,
        f"Connector {settings.name} added ({where})"
        + (
            ": a running server binds it within a few seconds. Route traffic to it below."
            if settings.enabled
            else ", disabled."
        ),
    )
    return redirect(request, PAGE)


# -- routes -----------------------------------------------------------------------------------


@router.post("/operator/routes")
def add_route(request: Request, user: OperatorUser, form: Form) -> Response:
    prefix = text(form, "prefix")
    chain = [n for v in texts(form, "connectors") for n in v.replace(",", " ").split() if n]
    route_values = {"prefix": prefix, "connectors": ", ".join(chain)}
    try:
        replaced = _change(
            request, lambda conn: connectors.set_route(conn, prefix, chain, now=utcnow())
        )
        shown = connectors.shown_prefix(prefix)
    except DomainError as exc:
        aliases = {"connectors": "route_connectors", "prefix": "route_prefix"}
        errors = field_errors(exc, {**aliases, "form": "route_connectors"})
        return _page(request, user, errors=errors, route_values=route_values, status=422)
    flash(request, f"Route {shown} {'replaced' if replaced else 'added'}: {' → '.join(chain)}.")
    return redirect(request, PAGE)


@router.post("/operator/routes/remove")
def remove_route(request: Request, user: OperatorUser, form: Form) -> Response:
    prefix = text(form, "prefix")
    try:
        _change(request, lambda conn: connectors.remove_route(conn, prefix))
    except DomainError as exc:
        flash(request, exc.message, "error")
        return redirect(request, PAGE)
    flash(request, f"Route {connectors.shown_prefix(prefix)} removed.")
    return redirect(request, PAGE)
