"""The stream forms (wizard steps and the edit page): what the user typed, kept as typed so
a form with an error comes back filled in, and turned into the services' inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from smsstreams.domain.errors import DomainError, ValidationFailed
from smsstreams.domain.ipallow import parse_ip_entry
from smsstreams.domain.senders import validate_sender
from smsstreams.schemas import Header, StreamCreate, StreamPublic, StreamUpdate, Webhook
from smsstreams.services import sender_ids, streams
from smsstreams.services.streams import CUSTOMIZED, StreamResult, clean_tags

from .web import text, texts

NEW_SENDER = "__new__"

# Service field names → the form field that shows the message.
FIELD_ALIASES = {
    "description": "description",
    "webhook": "webhook.url",
    "webhook.method": "webhook.url",
    "webhook.headers.name": "webhook.headers",
    "webhook.headers.value": "webhook.headers",
    "value": "new_sender",
    "state": "form",
}


@dataclass
class DetailsForm:
    """Step 1: Stream API Details."""

    name: str = ""
    description: str = ""
    direction: Literal["two_way", "one_way"] = "two_way"
    allowed_ips: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    default_sender: str = CUSTOMIZED
    new_sender: str = ""
    demo: bool = False
    ip_entry: str = ""
    tag_entry: str = ""

    @classmethod
    def from_form(cls, form: FormData) -> DetailsForm:
        direction = text(form, "direction")
        return cls(
            name=text(form, "name"),
            description=text(form, "description"),
            direction="one_way" if direction == "one_way" else "two_way",
            allowed_ips=[v for v in texts(form, "allowed_ips") if v],
            tags=[v for v in texts(form, "tags") if v],
            default_sender=text(form, "default_sender") or CUSTOMIZED,
            new_sender=text(form, "new_sender"),
            demo=text(form, "demo") in ("on", "true", "1"),
            ip_entry=text(form, "ip_entry"),
            tag_entry=text(form, "tag_entry"),
        )

    @classmethod
    def from_stream(cls, stream: StreamPublic) -> DetailsForm:
        return cls(
            name=stream.name,
            description=stream.description,
            direction="one_way" if stream.direction == "one_way" else "two_way",
            allowed_ips=list(stream.allowed_ips),
            tags=list(stream.tags),
            default_sender=stream.default_sender,
            demo=stream.demo,
        )

    def check(self) -> dict[str, str]:
        """Every error the pure rules find, one per field, before any service is called."""
        errors: dict[str, str] = {}
        checks: list[tuple[str, Callable[[], object]]] = [
            ("name", lambda: streams.clean_name(self.name)),
            ("allowed_ips", lambda: self.ip_entry and parse_ip_entry(self.ip_entry)),
            ("tags", lambda: clean_tags([*self.tags, self.tag_entry])),
        ]
        if self.default_sender == NEW_SENDER:
            checks.append(
                ("new_sender", lambda: self.new_sender and validate_sender(self.new_sender))
            )
        for name, check in checks:
            try:
                check()
            except DomainError as exc:
                errors[name] = exc.message
        if self.default_sender == NEW_SENDER and not self.new_sender:
            errors["new_sender"] = "Enter the new Sender ID"
        return errors

    def absorb_pending(self, errors: dict[str, str]) -> None:
        """Show valid entries typed but not added as chips when the form comes back."""
        if self.ip_entry and "allowed_ips" not in errors:
            entry = parse_ip_entry(self.ip_entry)
            self.allowed_ips += [] if entry in self.allowed_ips else [entry]
            self.ip_entry = ""
        if self.tag_entry and "tags" not in errors:
            self.tags = clean_tags([*self.tags, self.tag_entry])
            self.tag_entry = ""

    def values(self, db: Session, account_id: int) -> dict[str, Any]:
        """The service's fields; adds a pending IP/tag and creates an inline new sender."""
        ips = list(self.allowed_ips)
        if self.ip_entry:
            ips.append(parse_ip_entry(self.ip_entry))
        tags = list(self.tags)
        if self.tag_entry:
            tags += clean_tags([self.tag_entry])
        sender = self.default_sender
        if sender == NEW_SENDER:
            if not self.new_sender:
                raise ValidationFailed("required", "Enter the new Sender ID", "new_sender")
            sender = sender_ids.create_sender_id(
                db, account_id, self.new_sender, "new_sender"
            ).value
        return {
            "name": self.name,
            "description": self.description,
            "direction": self.direction,
            "allowed_ips": ips,
            "tags": tags,
            "default_sender": sender,
            "demo": self.demo,
        }


@dataclass
class WebhookForm:
    """Step 2: Incoming Messages Webhook."""

    method: Literal["GET", "POST"] = "POST"
    url: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    status_callbacks: bool = False

    @classmethod
    def from_form(cls, form: FormData) -> WebhookForm:
        names, values = texts(form, "header_name"), texts(form, "header_value")
        rows = [(n, v) for n, v in zip(names, values, strict=False) if n or v]
        return cls(
            method="GET" if text(form, "webhook_method") == "GET" else "POST",
            url=text(form, "webhook_url"),
            headers=rows,
            status_callbacks=text(form, "status_callbacks") in ("on", "true", "1"),
        )

    @classmethod
    def from_stream(cls, stream: StreamPublic) -> WebhookForm:
        if stream.webhook is None:
            return cls(status_callbacks=stream.status_callbacks)
        return cls(
            method=stream.webhook.method,
            url=stream.webhook.url,
            headers=[(h.name, h.value) for h in stream.webhook.headers],
            status_callbacks=stream.status_callbacks,
        )

    def values(self) -> dict[str, Any]:
        """``webhook`` (validated by the service) or ``remove_webhook`` when left empty, and
        ``status_callbacks``."""
        for name, value in self.headers:
            if not name:
                raise ValidationFailed(
                    "invalid_header",
                    f"Give the header name for the value {value[:30]!r}",
                    "webhook.headers",
                )
        if not self.url:
            if self.headers:
                raise ValidationFailed(
                    "required", "Enter the webhook URL, or remove the headers", "webhook.url"
                )
            return {"remove_webhook": True, "status_callbacks": self.status_callbacks}
        headers = [Header(name=n, value=v) for n, v in self.headers]
        return {
            "webhook": Webhook(method=self.method, url=self.url, headers=headers),
            "status_callbacks": self.status_callbacks,
        }


def save_details(
    db: Session, account_id: int, stream_id: str | None, form: DetailsForm, *, wizard_step: int
) -> StreamResult:
    """Step 1: create the draft, or update it (the step reached only grows)."""
    values = form.values(db, account_id)
    if stream_id is None:
        return streams.create_stream(
            db, account_id, StreamCreate(**values, state="draft", wizard_step=wizard_step)
        )
    return streams.update_stream(
        db, account_id, stream_id, StreamUpdate(**values, wizard_step=wizard_step)
    )


def save_webhook(
    db: Session, account_id: int, stream_id: str, form: WebhookForm, *, wizard_step: int
) -> StreamResult:
    """Step 2: set or clear the webhook."""
    update = StreamUpdate(**form.values(), wizard_step=wizard_step)
    return streams.update_stream(db, account_id, stream_id, update)


def save_all(
    db: Session, account_id: int, stream_id: str, details: DetailsForm, webhook: WebhookForm
) -> StreamResult:
    """The edit page of a created stream: every setting at once."""
    update = StreamUpdate(**details.values(db, account_id), **webhook.values())
    return streams.update_stream(db, account_id, stream_id, update)
