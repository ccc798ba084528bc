"""The Create New Stream wizard (Stream API Details → Incoming Messages Webhook → Stream
Summary), drafts reopened at the step reached, and the edit page of a created stream.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from smsstreams.domain.errors import DomainError
from smsstreams.domain.ipallow import parse_ip_entry
from smsstreams.schemas import StreamPublic, StreamUpdate
from smsstreams.services import streams
from smsstreams.services.streams import clean_tags

from .forms import FIELD_ALIASES, DetailsForm, WebhookForm, save_all, save_details, save_webhook
from .streams import previews_for, sender_choices
from .web import ConsoleUser, CurrentUser, Form, field_errors, flash, redirect, render, text, texts
from .web import transaction as tx

router = APIRouter(include_in_schema=False)

STEPS = ["Stream API Details", "Incoming Messages Webhook", "Stream Summary"]
FormErrors = (DomainError, ValidationError)


def _wizard(
    request: Request,
    user: ConsoleUser,
    *,
    step: int,
    stream: StreamPublic | None,
    details: DetailsForm | None = None,
    webhook: WebhookForm | None = None,
    errors: dict[str, str] | None = None,
    token: str | None = None,
    status: int = 200,
) -> Response:
    with tx(request) as db:
        senders = sender_choices(db, user.account_id)
        tags = streams.account_tags(db, user.account_id)
    if details is None:
        details = DetailsForm.from_stream(stream) if stream else DetailsForm()
    if webhook is None:
        webhook = WebhookForm.from_stream(stream) if stream else WebhookForm()
    context: dict[str, Any] = {
        "steps": STEPS,
        "step": step,
        "reached": stream.wizard_step if stream else 1,
        "stream": stream,
        "details": details,
        "webhook": webhook,
        "senders": senders,
        "account_tags": tags,
        "errors": errors or {},
        "token": token,
        "action": f"/streams/{stream.id}/wizard?step={step}" if stream else "/streams/new",
    }
    if stream is not None and step == 3:
        context["previews"] = previews_for(request, stream, senders)
    return render(request, "streams/wizard.html", context, user=user, status=status)


def _load(request: Request, user: ConsoleUser, stream_id: str) -> StreamPublic:
    with tx(request) as db:
        return streams.to_public(streams.get_stream(db, user.account_id, stream_id))


@router.get("/streams/new")
def new_stream(request: Request, user: CurrentUser, direction: str = "two_way") -> Response:
    details = DetailsForm(direction="one_way" if direction == "one_way" else "two_way")
    return _wizard(request, user, step=1, stream=None, details=details)


@router.post("/streams/new")
def create_draft(request: Request, user: CurrentUser, form: Form) -> Response:
    return _post_details(request, user, None, form)


@router.get("/streams/{stream_id}/wizard")
def wizard_page(request: Request, user: CurrentUser, stream_id: str, step: int = 0) -> Response:
    stream = _load(request, user, stream_id)
    if stream.state != "draft":
        return redirect(request, f"/streams/{stream.id}")
    step = min(step or stream.wizard_step, stream.wizard_step, 3)
    return _wizard(request, user, step=max(step, 1), stream=stream)


@router.post("/streams/{stream_id}/wizard")
def wizard_post(
    request: Request, user: CurrentUser, form: Form, stream_id: str, step: int = 1
) -> Response:
    stream = _load(request, user, stream_id)
    if stream.state != "draft":
        return redirect(request, f"/streams/{stream.id}")
    if step == 2:
        return _post_webhook(request, user, stream, form)
    if step == 3:
        return _post_summary(request, user, stream, form)
    return _post_details(request, user, stream, form)


def _after_save(request: Request, stream: StreamPublic, action: str, step: int) -> Response:
    if action == "draft":
        flash(request, f"Draft {stream.name} saved. Open it from the table to go on.")
        return redirect(request, f"/streams?new={stream.id}")
    target = step - 1 if action == "back" else step + 1
    return redirect(request, f"/streams/{stream.id}/wizard?step={min(max(target, 1), 3)}")


def _post_details(
    request: Request, user: ConsoleUser, stream: StreamPublic | None, form: Any
) -> Response:
    action = text(form, "action")
    details = DetailsForm.from_form(form)
    if stream is not None:
        details.direction = stream.direction  # type: ignore[assignment]
    errors = details.check()
    if not errors:
        try:
            with tx(request) as db:
                result = save_details(
                    db,
                    user.account_id,
                    stream.id if stream else None,
                    details,
                    wizard_step=2 if action == "next" else 1,
                )
                saved = streams.to_public(result.stream)
        except FormErrors as exc:
            errors = field_errors(exc, FIELD_ALIASES)
        else:
            return _after_save(request, saved, action, 1)
    details.absorb_pending(errors)
    return _wizard(request, user, step=1, stream=stream, details=details, errors=errors, status=422)


def _post_webhook(request: Request, user: ConsoleUser, stream: StreamPublic, form: Any) -> Response:
    action = text(form, "action")
    if action == "skip":
        with tx(request) as db:
            result = streams.update_stream(
                db, user.account_id, stream.id, StreamUpdate.model_validate({"wizard_step": 3})
            )
            saved = streams.to_public(result.stream)
        return _after_save(request, saved, "next", 2)
    webhook = WebhookForm.from_form(form)
    try:
        with tx(request) as db:
            step_reached = 3 if action == "next" else 2
            result = save_webhook(db, user.account_id, stream.id, webhook, wizard_step=step_reached)
            saved = streams.to_public(result.stream)
    except FormErrors as exc:
        errors = field_errors(exc, FIELD_ALIASES)
        return _wizard(
            request, user, step=2, stream=stream, webhook=webhook, errors=errors, status=422
        )
    return _after_save(request, saved, action, 2)


def _post_summary(request: Request, user: ConsoleUser, stream: StreamPublic, form: Any) -> Response:
    action = text(form, "action")
    if action != "create":
        return _after_save(request, stream, "draft" if action == "draft" else "back", 3)
    try:
        with tx(request) as db:
            result = streams.update_stream(
                db, user.account_id, stream.id, StreamUpdate.model_validate({"state": "active"})
            )
            created = streams.to_public(result.stream)
    except FormErrors as exc:
        errors = field_errors(exc, FIELD_ALIASES)
        return _wizard(request, user, step=3, stream=stream, errors=errors, status=422)
    return _wizard(request, user, step=3, stream=created, token=result.token)


# -- the edit page --------------------------------------------------------------------------


def _edit_page(
    request: Request,
    user: ConsoleUser,
    stream: StreamPublic,
    details: DetailsForm | None = None,
    webhook: WebhookForm | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    with tx(request) as db:
        senders = sender_choices(db, user.account_id)
        tags = streams.account_tags(db, user.account_id)
    context = {
        "stream": stream,
        "details": details or DetailsForm.from_stream(stream),
        "webhook": webhook or WebhookForm.from_stream(stream),
        "senders": senders,
        "account_tags": tags,
        "errors": errors or {},
    }
    return render(request, "streams/edit.html", context, user=user, status=422 if errors else 200)


@router.get("/streams/{stream_id}/edit")
def edit_page(request: Request, user: CurrentUser, stream_id: str) -> Response:
    stream = _load(request, user, stream_id)
    if stream.state == "draft":
        return redirect(request, f"/streams/{stream.id}/wizard?step=1")
    return _edit_page(request, user, stream)


@router.post("/streams/{stream_id}/edit")
def edit(request: Request, user: CurrentUser, form: Form, stream_id: str) -> Response:
    stream = _load(request, user, stream_id)
    details, webhook = DetailsForm.from_form(form), WebhookForm.from_form(form)
    errors = details.check()
    if not errors:
        try:
            with tx(request) as db:
                save_all(db, user.account_id, stream.id, details, webhook)
        except FormErrors as exc:
            errors = field_errors(exc, FIELD_ALIASES)
        else:
            flash(request, "Changes saved.")
            return redirect(request, f"/streams/{stream.id}")
    details.absorb_pending(errors)
    return _edit_page(request, user, stream, details, webhook, errors)


# -- Add IP / Tags without a reload (htmx) ---------------------------------------------------

ChipKind = Literal["ip", "tag"]


@router.post("/streams/chips/{kind}")
def add_chip(request: Request, user: CurrentUser, form: Form, kind: ChipKind) -> Response:
    field = "allowed_ips" if kind == "ip" else "tags"
    entry = text(form, "ip_entry" if kind == "ip" else "tag_entry")
    present = texts(form, field)
    try:
        if not entry:
            raise DomainError(
                "required",
                "Enter an IP address or CIDR range first" if kind == "ip" else "Enter a tag first",
                field,
            )
        value = parse_ip_entry(entry) if kind == "ip" else clean_tags([entry])[0]
    except DomainError as exc:
        return render(
            request,
            "streams/_field_error.html",
            {"message": exc.message},
            headers={"HX-Retarget": f"#error-{field}", "HX-Reswap": "innerHTML"},
        )
    if value in present:
        return render(
            request,
            "streams/_field_error.html",
            {"message": f"{value} is already in the list"},
            headers={"HX-Retarget": f"#error-{field}", "HX-Reswap": "innerHTML"},
        )
    return render(request, "streams/_chip.html", {"name": field, "value": value, "oob_clear": True})
