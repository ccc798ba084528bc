"""Typed dependencies: the database session and the signed-in account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from smsstreams.db.models import Account
from smsstreams.runtime import Runtime
from smsstreams.services.accounts import account_for_api_key
from smsstreams.services.errors import Unauthorized


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_db(request: Request) -> Iterator[Session]:
    with get_runtime(request).sessions() as session, session.begin():
        yield session


# scope="function": commit before the response is sent, so a client that reads right
# after a write sees it.
Db = Annotated[Session, Depends(get_db, scope="function")]


def bearer(request: Request) -> str:
    value = request.headers.get("authorization", "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def current_account(request: Request, db: Db) -> Account:
    key = bearer(request)
    if not key:
        raise Unauthorized(
            "missing_api_key", "Send your account API key as 'Authorization: Bearer <key>'"
        )
    account = account_for_api_key(db, key)
    if account is None:
        raise Unauthorized("invalid_api_key", "This API key is not valid")
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]
