"""Every validation error shows next to its field, and the form keeps what was typed."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from .conftest import Console


def test_sign_up_errors_show_next_to_each_field(console: Console) -> None:
    page = console.page
    console.goto("/signup")
    page.get_by_label("Work email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#error-name")).to_have_text("Account name is required")
    expect(page.locator("#error-email")).to_have_text("Enter a valid email address")
    expect(page.locator("#error-password")).to_contain_text("at least 8 characters")
    expect(page.get_by_label("Work email")).to_have_value("not-an-email")
    expect(page.get_by_label("Account name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Account name")).to_be_focused()  # first invalid field


def test_wizard_and_sender_errors_show_next_to_fields(console: Console, screenshots: Path) -> None:
    page = console.page
    console.sign_up("Validator")

    # Sender IDs: invalid, duplicate
    console.goto("/sender-ids")
    sender = page.get_by_label("Sender ID", exact=True)
    sender.fill("Acme!")
    page.get_by_role("button", name="Add Sender ID").click()
    expect(page.locator("#error-value")).to_contain_text("may only use A-Z, a-z, 0-9 and space")
    expect(sender).to_have_value("Acme!")
    sender.fill("AcmeOTP")
    page.get_by_role("button", name="Add Sender ID").click()
    page.get_by_label("Sender ID", exact=True).fill("AcmeOTP")
    page.get_by_role("button", name="Add Sender ID").click()
    expect(page.locator("#error-value")).to_contain_text("already exists")

    # Step 1: several errors at once, each next to its field
    console.goto("/streams/new?type=otp&direction=two_way")
    page.get_by_label("Add IP").fill("10.0.0.1/8")
    page.get_by_label("Default sender").select_option(label="Add new Sender ID")
    page.get_by_label("New Sender ID").fill("+12ab")
    page.get_by_role("button", name="Save & Next").click()
    expect(page.locator("#error-name")).to_have_text("Stream API name is required")
    expect(page.locator("#error-allowed_ips")).to_contain_text("did you mean 10.0.0.0/8?")
    expect(page.locator("#error-new_sender")).to_contain_text("must be a phone number")
    expect(page.get_by_label("Add IP")).to_have_value("10.0.0.1/8")  # kept as typed
    expect(page.get_by_label("New Sender ID")).to_be_visible()
    console.screenshot(screenshots / "validation-step-1.png")

    # a Two-Way stream cannot default to an alphanumeric sender
    page.get_by_label("Stream API name").fill("Checkout")
    page.get_by_label("Add IP").fill("10.0.0.0/8")
    page.get_by_label("Default sender").select_option("AcmeOTP")
    expect(page.get_by_label("New Sender ID")).to_be_hidden()
    page.get_by_role("button", name="Save & Next").click()
    expect(page.locator("#error-default_sender")).to_contain_text("cannot receive replies")
    expect(page.locator("#error-name")).to_be_empty()
    expect(page.locator("#ip-list .chip", has_text="10.0.0.0/8")).to_be_visible()

    # Add tag / Add IP errors come back without a reload
    page.get_by_role("button", name="Add", exact=True).last.click()
    expect(page.locator("#error-tags")).to_have_text("Enter a tag first")
    page.get_by_role("combobox", name="Tags").fill("x" * 51)
    page.locator("#add-tag").click()
    expect(page.locator("#error-tags")).to_contain_text("over 50 characters")
    page.get_by_role("combobox", name="Tags").fill("checkout")
    page.locator("#add-tag").click()
    expect(page.locator("#error-tags")).to_be_empty()
    page.get_by_label("Add IP").fill("10.0.0.0/8")
    page.locator("#add-ip").click()
    expect(page.locator("#error-allowed_ips")).to_contain_text("already in the list")

    page.get_by_label("Default sender").select_option(label="Customized")
    page.get_by_role("button", name="Save & Next").click()

    # Step 2: URL and headers
    expect(page.get_by_role("heading", name="Step 2: Incoming Messages Webhook")).to_be_visible()
    page.get_by_label("URL").fill("ftp://example.com/in")
    page.get_by_role("button", name="Save & Next").click()
    expect(page.locator("#error-webhook-url")).to_contain_text("http:// or https://")
    expect(page.get_by_label("URL")).to_have_value("ftp://example.com/in")
    page.get_by_label("URL").fill("https://example.com/in")
    page.get_by_label("Header key").first.fill("Bad Header")
    page.get_by_label("Header value").first.fill("1")
    page.get_by_role("button", name="Save & Next").click()
    expect(page.locator("#error-webhook-headers")).to_contain_text("not a valid HTTP token")
    expect(page.locator("#error-webhook-url")).to_be_empty()
    page.get_by_label("Header key").first.fill("")
    page.get_by_role("button", name="Save & Next").click()
    expect(page.locator("#error-webhook-headers")).to_contain_text("Give the header name")
    page.get_by_role("button", name="Remove this header").click()
    page.get_by_role("button", name="Skip").click()
    expect(page.get_by_role("heading", name="Step 3: Stream Summary")).to_be_visible()
    expect(page.get_by_text("None yet")).to_be_hidden()  # an IP was added
    page.get_by_role("button", name="Create Stream").click()
    page.get_by_role("button", name="Done").click()

    # Edit: the same rules
    page.get_by_role("link", name="Checkout").click()
    page.get_by_role("link", name="Edit", exact=True).first.click()
    page.get_by_label("Stream API name").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#error-name")).to_have_text("Stream API name is required")
    page.get_by_label("Stream API name").fill("Checkout codes")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Checkout codes")).to_be_visible()

    # Test message: the Send API's checks, next to the fields
    page.get_by_label("To", exact=True).fill("123")
    page.get_by_role("button", name="Send test message").click()
    expect(page.locator("#error-recipient_phone")).not_to_be_empty()
    expect(page.get_by_label("To", exact=True)).to_have_value("123")

    # a Sender ID in use as default cannot be deleted
    page.get_by_role("link", name="Edit", exact=True).first.click()
    page.get_by_label("Default sender").select_option(label="Add new Sender ID")
    page.get_by_label("New Sender ID").fill("12025550199")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    console.goto("/sender-ids")
    page.get_by_role("button", name="Delete 12025550199").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete Sender ID").click()
    expect(page.get_by_role("alert")).to_contain_text("is the default sender of: Checkout codes")
    expect(page.get_by_role("cell", name="12025550199", exact=True)).to_be_visible()
    page.get_by_role("button", name="Delete AcmeOTP").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete Sender ID").click()
    expect(page.get_by_text("Sender ID AcmeOTP deleted.")).to_be_visible()
