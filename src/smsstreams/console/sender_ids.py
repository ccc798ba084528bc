"""The Sender IDs page: list, add, delete (refused while a stream uses one as default)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from smsstreams.domain.errors import DomainError
from smsstreams.services import sender_ids

from .web import CurrentUser, Form, field_errors, flash, redirect, render, text, transaction

router = APIRouter(include_in_schema=False)


def _rows(db: Session, account_id: int) -> list[dict[str, Any]]:
    used = sender_ids.sender_usage(db, account_id)
    return [
        {
            "id": s.id,
            "value": s.value,
            "kind": s.kind,
            "created_at": s.created_at,
            "used_by": used.get(s.id, []),
        }
        for s in sender_ids.list_sender_ids(db, account_id)
    ]


def _page(
    request: Request,
    user: CurrentUser,
    *,
    value: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with transaction(request) as db:
        rows = _rows(db, user.account_id)
    context = {"rows": rows, "value": value, "errors": errors or {}}
    return render(request, "sender_ids/list.html", context, user=user, status=status)


@router.get("/sender-ids")
def sender_ids_page(request: Request, user: CurrentUser) -> Response:
    return _page(request, user)


@router.post("/sender-ids")
def add_sender_id(request: Request, user: CurrentUser, form: Form) -> Response:
    value = text(form, "value")
    try:
        with transaction(request) as db:
            created = sender_ids.create_sender_id(db, user.account_id, value).value
    except DomainError as exc:
        return _page(request, user, value=value, errors=field_errors(exc), status=422)
    flash(request, f"Sender ID {created} added.")
    return redirect(request, "/sender-ids")


@router.post("/sender-ids/{sender_id}/delete")
def delete_sender_id(request: Request, user: CurrentUser, form: Form, sender_id: int) -> Response:
    try:
        with transaction(request) as db:
            value = sender_ids.get_sender_id(db, user.account_id, sender_id).value
            sender_ids.delete_sender_id(db, user.account_id, sender_id)
    except DomainError as exc:
        if exc.http_status == 404:
            raise
        flash(request, exc.message, "error")
        return redirect(request, "/sender-ids")
    flash(request, f"Sender ID {value} deleted.")
    return redirect(request, "/sender-ids")
