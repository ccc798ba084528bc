"""The wizard forms: what the user typed, checked field by field, turned into service input."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from smsstreams.console.forms import NEW_SENDER, DetailsForm, WebhookForm
from smsstreams.domain.errors import ValidationFailed


def form(*pairs: tuple[str, str]) -> FormData:
    return FormData(list(pairs))


def test_details_form_reads_repeated_fields_and_the_switch() -> None:
    details = DetailsForm.from_form(
        form(
            ("name", "  Login codes "),
            ("allowed_ips", "127.0.0.1"),
            ("allowed_ips", "10.0.0.0/8"),
            ("allowed_ips", ""),
            ("tags", "prod"),
            ("default_sender", "12025550100"),
            ("demo", "on"),
            ("direction", "one_way"),
        )
    )
    assert details.name == "Login codes"
    assert details.allowed_ips == ["127.0.0.1", "10.0.0.0/8"]
    assert details.tags == ["prod"]
    assert details.default_sender == "12025550100"
    assert details.demo is True
    assert details.direction == "one_way"
    assert DetailsForm.from_form(form()).demo is False
    assert DetailsForm.from_form(form(("direction", "sideways"))).direction == "two_way"


def test_check_reports_every_field_at_once() -> None:
    details = DetailsForm(
        name=" ",
        ip_entry="10.0.0.1/8",
        tag_entry="x" * 51,
        default_sender=NEW_SENDER,
        new_sender="Acme!",
    )
    errors = details.check()
    assert set(errors) == {"name", "allowed_ips", "tags", "new_sender"}
    assert "did you mean 10.0.0.0/8" in errors["allowed_ips"]
    assert DetailsForm(name="ok", default_sender=NEW_SENDER).check() == {
        "new_sender": "Enter the new Sender ID"
    }
    assert DetailsForm(name="ok", ip_entry="2001:db8::/32", tag_entry="eu").check() == {}


def test_pending_entries_become_chips_when_valid() -> None:
    details = DetailsForm(
        name="x", allowed_ips=["127.0.0.1"], ip_entry="::ffff:127.0.0.1", tag_entry="eu"
    )
    details.absorb_pending({})
    assert details.allowed_ips == ["127.0.0.1"]  # the same address, not added twice
    assert details.tags == ["eu"]
    assert details.ip_entry == details.tag_entry == ""
    kept = DetailsForm(name="x", ip_entry="nope")
    kept.absorb_pending({"allowed_ips": "bad"})
    assert kept.ip_entry == "nope"


def test_webhook_form_rows_and_removal() -> None:
    webhook = WebhookForm.from_form(
        form(
            ("webhook_method", "GET"),
            ("webhook_url", "https://example.com/in"),
            ("header_name", "X-Key"),
            ("header_value", "v"),
            ("header_name", ""),
            ("header_value", ""),
        )
    )
    assert webhook.method == "GET"
    assert webhook.headers == [("X-Key", "v")]
    values = webhook.values()
    assert values["webhook"].url == "https://example.com/in"
    assert values["webhook"].headers[0].name == "X-Key"
    assert values["status_callbacks"] is False
    assert WebhookForm().values() == {"remove_webhook": True, "status_callbacks": False}
    assert WebhookForm.from_form(form(("webhook_method", "PUT"))).method == "POST"


def test_webhook_form_status_callbacks_checkbox() -> None:
    checked = WebhookForm.from_form(
        form(("webhook_url", "https://example.com/in"), ("status_callbacks", "on"))
    )
    assert checked.status_callbacks is True
    assert checked.values()["status_callbacks"] is True
    assert WebhookForm.from_form(form(("webhook_url", "https://e.com"))).status_callbacks is False
    # kept when the URL is cleared, so turning the webhook back on keeps the choice
    assert WebhookForm(status_callbacks=True).values() == {
        "remove_webhook": True,
        "status_callbacks": True,
    }


@pytest.mark.parametrize(
    ("webhook", "field"),
    [
        (WebhookForm(url="", headers=[("X-Key", "v")]), "webhook.url"),
        (WebhookForm(url="https://e.com", headers=[("", "orphan value")]), "webhook.headers"),
    ],
)
def test_webhook_form_errors_name_their_field(webhook: WebhookForm, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        webhook.values()
    assert caught.value.field == field
