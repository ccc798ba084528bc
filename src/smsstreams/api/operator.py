"""Operator API: carrier connectors and routes, for whoever runs the platform.

Guarded by ``SMSSTREAMS_OPERATOR_KEY`` (``Authorization: Bearer <key>``). Without that
setting the operator API does not exist (404). It reads and changes what the CLI does
(``smsstreams connector ...``, ``smsstreams route ...``), through the same service; a
running server picks the changes up within ``SMSSTREAMS_CONNECTOR_POLL_SECONDS``.
Passwords are accepted and never returned (``password_set`` says whether there is one).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from smsstreams.db.types import utcnow
from smsstreams.domain.errors import ValidationFailed
from smsstreams.runtime import Runtime
from smsstreams.schemas import (
    NULLABLE_CONNECTOR_SETTINGS,
    ConnectorCreate,
    ConnectorPublic,
    ConnectorsPublic,
    ConnectorUpdate,
    RouteCreate,
    RoutePublic,
    RoutesPublic,
)
from smsstreams.services import connectors
from smsstreams.services.errors import Conflict, Forbidden, NotFound, Unauthorized

from .deps import bearer

router = APIRouter(prefix="/api/v1/operator", tags=["operator"])


def operator_runtime(request: Request) -> Runtime:
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


Operator = Annotated[Runtime, Depends(operator_runtime)]


@contextmanager
def _transaction(runtime: Runtime) -> Iterator[Connection]:
    """One transaction; a unique or foreign key clash with a concurrent change is a 409."""
    try:
        with runtime.engine.begin() as conn:
            yield conn
    except IntegrityError:
        raise Conflict(
            "concurrent_change", "Another change to the same connector or route came first; retry"
        ) from None


def _public(conn: Connection, name: str) -> dict[str, Any]:
    return connectors.get_connector(conn, name, now=utcnow())


# -- connectors -------------------------------------------------------------------------------


@router.get(
    "/connectors",
    response_model=ConnectorsPublic,
    summary="Carrier connectors: settings (never passwords), routes, live state, counters",
)
def list_connectors(runtime: Operator) -> dict[str, Any]:
    with _transaction(runtime) as conn:
        rows = connectors.list_connectors(conn, now=utcnow())
    return {"data": rows, "count": len(rows)}


@router.post("/connectors", response_model=ConnectorPublic, status_code=201)
def create_connector(body: ConnectorCreate, runtime: Operator) -> dict[str, Any]:
    """Add a connector; a running server binds it (when enabled) within about a second."""
    settings = connectors.ConnectorSettings(**body.model_dump())
    with _transaction(runtime) as conn:
        connectors.add_connector(conn, settings, now=utcnow())
        return _public(conn, settings.name)


@router.get("/connectors/{name}", response_model=ConnectorPublic)
def get_connector(name: str, runtime: Operator) -> dict[str, Any]:
    with _transaction(runtime) as conn:
        return _public(conn, name)


@router.patch("/connectors/{name}", response_model=ConnectorPublic)
def update_connector(name: str, body: ConnectorUpdate, runtime: Operator) -> dict[str, Any]:
    """Change the settings given; a running server re-binds the connector."""
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None and key not in NULLABLE_CONNECTOR_SETTINGS:
            raise ValidationFailed("invalid_connector", f"{key}: may not be null", key)
    with _transaction(runtime) as conn:
        connectors.update_connector(conn, name, changes, now=utcnow())
        return _public(conn, name)


@router.delete("/connectors/{name}", status_code=204)
def remove_connector(name: str, runtime: Operator) -> Response:
    """Remove a connector (409 ``connector_in_use`` while a route uses it)."""
    with _transaction(runtime) as conn:
        connectors.remove_connector(conn, name)
    return Response(status_code=204)


@router.post("/connectors/{name}/enable", response_model=ConnectorPublic)
def enable_connector(name: str, runtime: Operator) -> dict[str, Any]:
    with _transaction(runtime) as conn:
        connectors.set_enabled(conn, name, True, now=utcnow())
        return _public(conn, name)


@router.post("/connectors/{name}/disable", response_model=ConnectorPublic)
def disable_connector(name: str, runtime: Operator) -> dict[str, Any]:
    """Disable a connector: a running server unbinds it; routes skip it."""
    with _transaction(runtime) as conn:
        connectors.set_enabled(conn, name, False, now=utcnow())
        return _public(conn, name)


# -- routes -----------------------------------------------------------------------------------


@router.get("/routes", response_model=RoutesPublic)
def list_routes(runtime: Operator) -> dict[str, Any]:
    with _transaction(runtime) as conn:
        rows = connectors.list_routes(conn)
    return {"data": rows, "count": len(rows)}


@router.post(
    "/routes",
    response_model=RoutePublic,
    status_code=201,
    responses={200: {"description": "The prefix's rule was replaced", "model": RoutePublic}},
)
def set_route(body: RouteCreate, runtime: Operator, response: Response) -> dict[str, Any]:
    """Route a prefix to connectors, tried in order; replaces the prefix's rule (then 200)."""
    with _transaction(runtime) as conn:
        replaced = connectors.set_route(conn, body.prefix, body.connectors, now=utcnow())
        prefix = connectors.shown_prefix(body.prefix)
        route = next(r for r in connectors.list_routes(conn) if r["prefix"] == prefix)
    if replaced:
        response.status_code = 200
    return route


@router.delete("/routes/{prefix}", status_code=204)
def remove_route(prefix: str, runtime: Operator) -> Response:
    """Remove a prefix's rule; ``+`` is the rule for every destination."""
    with _transaction(runtime) as conn:
        connectors.remove_route(conn, prefix)
    return Response(status_code=204)
