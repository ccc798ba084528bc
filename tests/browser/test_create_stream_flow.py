"""The whole flow of the spec, as a new customer walks it in Chromium.

Sign up, add a sender ID, Create Streams API → OTP / Two-Way, fill every Step 1 field
(two IPs, a tag, a new sender inline, Demo Sending), save as draft, leave, reopen the
draft from the table, Step 2 with POST and a header, Step 3 previews with the real
endpoint, Create Stream, copy the token, Done, the stream is at the top of the table; then
the copied token sends through the Send API and the stream page shows the message
delivered without a reload.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import expect

from .conftest import Console

DEMO_PHONE = "12025550123"


def test_create_stream_wizard_end_to_end(console: Console, screenshots: Path) -> None:
    page = console.page

    # -- sign up ------------------------------------------------------------------------
    console.goto("/")
    expect(page).to_have_url(console.url + "/signin")
    page.get_by_role("link", name="Create an account").click()
    console.sign_up("Acme Telecom")
    expect(page.get_by_role("heading", name="Streams API")).to_be_visible()
    expect(page.get_by_text("No streams yet")).to_be_visible()

    # -- a sender ID first ----------------------------------------------------------------
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Sender IDs").click()
    page.get_by_label("Sender ID", exact=True).fill("AcmeOTP")
    page.get_by_role("button", name="Add Sender ID").click()
    expect(page.get_by_text("Sender ID AcmeOTP added.")).to_be_visible()
    expect(page.get_by_role("cell", name="AcmeOTP", exact=True)).to_be_visible()

    # -- Streams API → Create Streams API → OTP / Two-Way ----------------------------------
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Streams API").click()
    create = page.get_by_role("button", name="Create Streams API").first
    create.focus()
    page.keyboard.press("Enter")  # the pop-up works from the keyboard
    dialog = page.get_by_role("dialog", name="Create Streams API")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    create.click()
    dialog.get_by_label("OTP").check()
    dialog.get_by_label("Two-Way").check()
    console.screenshot(screenshots / "0-stream-type.png", full_page=False)
    dialog.get_by_role("button", name="Continue").click()

    # -- Step 1: Stream API Details ---------------------------------------------------------
    expect(page.get_by_role("heading", name="Create New Stream")).to_be_visible()
    expect(page.get_by_role("heading", name="Step 1: Stream API Details")).to_be_visible()
    page.get_by_label("Stream API name").fill("Login codes")
    page.get_by_label("Stream API description").fill("Sign-in codes for the mobile app")
    ip = page.get_by_label("Add IP")
    ip.fill("999.1.2.3")
    page.get_by_role("button", name="Add", exact=True).first.click()
    expect(page.locator("#error-allowed_ips")).to_contain_text("not a valid IPv4 or IPv6")
    expect(ip).to_have_attribute("aria-invalid", "true")
    ip.fill("127.0.0.1")
    ip.press("Enter")  # Enter adds the IP, it does not submit the wizard
    expect(page.locator("#ip-list .chip", has_text="127.0.0.1")).to_be_visible()
    expect(page.locator("#error-allowed_ips")).to_be_empty()
    expect(ip).to_have_value("")
    ip.fill("203.0.113.0/24")
    page.locator("#add-ip").click()
    expect(page.locator("#ip-list .chip")).to_have_count(2)
    tag = page.get_by_role("combobox", name="Tags")
    tag.fill("production")
    tag.press("Enter")
    expect(page.locator("#tag-list .chip", has_text="production")).to_be_visible()
    page.get_by_label("Default sender").select_option(label="Add new Sender ID")
    page.get_by_label("New Sender ID").fill("12025550100")
    page.get_by_text("Demo Sending", exact=True).click()
    expect(page.get_by_role("switch", name="Demo Sending")).to_be_checked()
    console.screenshot(screenshots / "1-stream-api-details.png")
    page.get_by_role("button", name="Save as draft").click()

    # -- the draft is in the table; leave and come back -------------------------------------
    expect(page.get_by_text("Draft Login codes saved")).to_be_visible()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Login codes")
    expect(row).to_contain_text("Draft")
    expect(row).to_contain_text("Demo")
    page.get_by_role("link", name="Sender IDs").click()
    expect(
        page.get_by_role("cell", name="12025550100", exact=True)
    ).to_be_visible()  # created inline
    page.get_by_role("link", name="Streams API").click()
    page.get_by_role("link", name="Login codes").click()
    expect(page.get_by_role("heading", name="Step 1: Stream API Details")).to_be_visible()
    expect(page.get_by_label("Stream API name")).to_have_value("Login codes")
    expect(page.get_by_label("Stream API description")).to_have_value(
        "Sign-in codes for the mobile app"
    )
    expect(page.locator("#ip-list input")).to_have_count(2)
    expect(page.locator("#tag-list .chip", has_text="production")).to_be_visible()
    expect(page.get_by_label("Default sender")).to_have_value("12025550100")
    expect(page.get_by_role("switch", name="Demo Sending")).to_be_checked()
    page.get_by_role("button", name="Save & Next").click()

    # -- Step 2: Incoming Messages Webhook --------------------------------------------------
    expect(page.get_by_role("heading", name="Step 2: Incoming Messages Webhook")).to_be_visible()
    expect(page.get_by_role("button", name="Skip")).to_be_visible()
    page.get_by_label("Method").select_option("POST")
    page.get_by_label("URL").fill("https://example.com/sms/incoming")
    page.get_by_label("Header key").first.fill("X-Api-Key")
    page.get_by_label("Header value").first.fill("s3cret")
    page.get_by_role("button", name="Add header").click()
    expect(page.get_by_label("Header key")).to_have_count(2)
    page.get_by_role("button", name="Remove this header").last.click()
    expect(page.get_by_label("Header key")).to_have_count(1)
    console.screenshot(screenshots / "2-incoming-messages-webhook.png")
    page.get_by_role("button", name="Save & Next").click()

    # -- Step 3: Stream Summary with the real endpoint --------------------------------------
    expect(page.get_by_role("heading", name="Step 3: Stream Summary")).to_be_visible()
    summary = page.locator(".summary")
    for text in ("Login codes", "127.0.0.1", "203.0.113.0/24", "production", "12025550100"):
        expect(summary).to_contain_text(text)
    expect(summary).to_contain_text("https://example.com/sms/incoming")
    expect(summary).to_contain_text("X-Api-Key: s3cret")
    expect(page.get_by_role("heading", name="Send Request")).to_be_visible()
    expect(page.get_by_role("heading", name="Status Request")).to_be_visible()
    expect(page.locator("#send-endpoint")).to_have_text(console.url + "/api/v1/sms/send")
    expect(page.locator("#status-endpoint")).to_have_text(console.url + "/api/v1/sms/status")
    expect(page.locator("#send-headers")).to_contain_text("Authorization: YOUR_STREAM_TOKEN")
    expect(page.locator("#send-body")).to_contain_text('"recipient_phone": "12025550123"')
    expect(page.locator("#send-curl")).to_contain_text(
        f"curl -X POST {console.url}/api/v1/sms/send"
    )
    console.screenshot(screenshots / "3-stream-summary.png")
    page.get_by_role("button", name="Copy Send Request endpoint").click()
    assert page.evaluate("navigator.clipboard.readText()") == console.url + "/api/v1/sms/send"
    page.get_by_role("button", name="Create Stream").click()

    # -- the token, shown once --------------------------------------------------------------
    token_dialog = page.get_by_role("dialog", name="Stream created")
    expect(token_dialog).to_be_visible()
    expect(token_dialog).to_contain_text("you will not see it again")
    token = page.get_by_label("Authorization token").input_value()
    assert token.startswith("sst_")
    token_dialog.get_by_role("button", name="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == token
    console.screenshot(screenshots / "4-token.png", full_page=False)
    token_dialog.get_by_role("button", name="Done").click()

    # -- the new stream is at the top of the table ------------------------------------------
    expect(page.get_by_role("heading", name="Streams API")).to_be_visible()
    first = page.locator("tbody tr").first
    expect(first).to_contain_text("Login codes")
    expect(first).to_contain_text("Active")
    expect(first).to_contain_text("Demo")
    expect(first).to_contain_text("OTP")
    expect(first).to_contain_text("Two-Way")
    console.screenshot(screenshots / "5-streams-table.png", full_page=False)

    # -- the copied token works with the Send API; the page updates by itself ---------------
    first.get_by_role("link", name="Login codes").click()
    expect(page.get_by_role("heading", name="Login codes")).to_be_visible()
    expect(page.get_by_text("No messages yet")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    response = httpx.post(
        console.url + "/api/v1/sms/send",
        headers={"Authorization": copied},
        json={
            "messages": [
                {
                    "internal_id": "order-42",
                    "recipient_phone": DEMO_PHONE,
                    "message_content": "Your code is 123456",
                }
            ]
        },
        timeout=10,
    )
    assert response.status_code == 202, response.text
    message = response.json()["messages"][0]
    assert message["status"] == "queued", message
    row = page.locator(f"details[data-id='{message['message_uuid']}']")
    expect(row.locator("summary .status")).to_have_text("Delivered", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    row.locator("summary").click()
    timeline = row.locator(".timeline")
    expect(timeline).to_contain_text("Queued")
    expect(timeline).to_contain_text("Sent")
    expect(timeline).to_contain_text("Delivered")
    expect(row).to_contain_text("order-42")
    expect(page.locator("#status-chart")).to_contain_text("Delivered 1")

    # -- a test message from the stream page, status live -----------------------------------
    page.get_by_label("To", exact=True).fill("+" + DEMO_PHONE)
    page.get_by_label("Text", exact=True).fill("Test from the console")
    page.get_by_role("button", name="Send test message").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Test message to +12025550123")
    expect(result.locator("p .status")).to_have_text("Delivered", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True
    # (the stream page's screenshot, 6-stream-page.png, comes from test_two_way.py: it shows
    # inbound messages and webhook deliveries too)
