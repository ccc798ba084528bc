"""Two-way on the stream page, against a real webhook receiver on 127.0.0.1.

Step 2 of the wizard turns status callbacks on; the stream page shows the webhook, its
signing secret (the one the API returns, and the one that signs the requests), inbound
messages as they arrive with a link to the message they answer, and the delivery log:
delivered, a test event that fails with the receiver's 400, replayed once the receiver
answers 200, all without a reload.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, expect

from tests.support.api import Api
from tests.support.receiver import Receiver

from .conftest import Console

NUMBER = "12025550142"  # the stream's numeric sender
PHONE = "+15551230000"  # a phone that writes to it
ECHO = "+12025550180"  # the demo channel answers messages to this number with "Echo: <text>"
ACCOUNT_PASSWORD = "correct horse"  # what Server.create_account sets


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _delivery(console: Console, kind: str) -> Locator:
    page = console.page
    return page.locator("#delivery-log .delivery-row", has=page.locator(f".kind-{kind}"))


def test_inbound_and_webhook_deliveries_on_the_stream_page(
    console: Console, receiver: Receiver, screenshots: Path
) -> None:
    page = console.page
    account = console.server.create_account("Replies")
    api = Api(console.server, account)
    console.sign_in(account["email"], ACCOUNT_PASSWORD)
    expect(page).to_have_url(console.url + "/streams")

    # -- the wizard: a Two-Way demo stream, the receiver as webhook, status callbacks on -----
    console.goto("/streams/new?type=otp&direction=two_way")
    page.get_by_label("Stream API name").fill("Support line")
    page.get_by_label("Add IP").fill("127.0.0.1")
    page.get_by_label("Default sender").select_option(label="Add new Sender ID")
    page.get_by_label("New Sender ID").fill(NUMBER)
    page.get_by_text("Demo Sending", exact=True).click()
    page.get_by_role("button", name="Save & Next").click()
    expect(page.get_by_role("heading", name="Step 2: Incoming Messages Webhook")).to_be_visible()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Header key").first.fill("X-Api-Key")
    page.get_by_label("Header value").first.fill("k-123")
    callbacks_label = "Also send delivery status updates (status callbacks)"
    callbacks = page.get_by_label(callbacks_label)
    expect(callbacks).not_to_be_checked()
    callbacks.check()
    page.get_by_role("button", name="Save & Next").click()
    summary = page.locator(".summary")
    expect(summary).to_contain_text(receiver.url)
    expect(summary).to_contain_text("Status callbacks")
    expect(summary).to_contain_text("On — delivery status updates are sent to the webhook too")
    page.get_by_role("button", name="Back").click()  # the choice is kept
    expect(page.get_by_label(callbacks_label)).to_be_checked()
    page.get_by_role("button", name="Save & Next").click()
    page.get_by_role("button", name="Create Stream").click()
    token = page.get_by_label("Authorization token").input_value()
    page.get_by_role("button", name="Done").click()
    page.get_by_role("link", name="Support line").click()
    expect(page.get_by_role("heading", name="Support line")).to_be_visible()
    stream_id = page.url.rsplit("/", 1)[1]
    stream = api.http.get(f"/api/v1/streams/{stream_id}").json()
    assert stream["status_callbacks"] is True

    # -- the webhook: method, URL, headers, the signing secret masked until revealed ---------
    webhook = page.get_by_role("region", name="Webhook", exact=True)
    expect(webhook.locator(".method")).to_have_text("POST")
    expect(webhook.locator("#webhook-endpoint")).to_have_text(receiver.url)
    expect(webhook).to_contain_text("X-Api-Key: k-123")
    expect(webhook).to_contain_text("sent, delivered and failed updates of your messages")
    secret = page.get_by_label("Signing secret", exact=True)
    expect(secret).to_have_attribute("type", "password")
    webhook.get_by_role("button", name="Reveal").click()
    expect(secret).to_have_attribute("type", "text")
    expect(webhook.get_by_role("button", name="Hide")).to_be_focused()
    shown = secret.input_value()
    assert shown and shown == stream["webhook_secret"]
    webhook.get_by_role("button", name="Copy signing secret").click()
    assert page.evaluate("navigator.clipboard.readText()") == shown
    webhook.get_by_text("How to verify a signature").click()
    expect(page.locator("#verify-python")).to_contain_text("hmac.compare_digest")
    expect(page.get_by_text("No inbound messages yet.")).to_be_visible()
    expect(page.get_by_text("No deliveries yet.")).to_be_visible()

    # -- an inbound message arrives: listed, delivered, signed with the secret shown --------
    page.evaluate("window.__sameDocument = true")
    injected = httpx.post(
        console.url + "/api/v1/demo/inbound",
        json={"from": PHONE, "to": NUMBER, "text": "Yes, that was me"},
        headers={"Authorization": token},
        timeout=10,
    )
    assert injected.status_code == 201, injected.text
    item = page.locator(f"#inbound-{injected.json()['id']}")
    expect(item).to_contain_text(PHONE)
    expect(item).to_contain_text("Yes, that was me")
    expect(item).to_contain_text("to +" + NUMBER)
    inbound_row = _delivery(console, "inbound")
    expect(inbound_row.locator(".log-row > summary .status")).to_have_text("Delivered")
    expect(inbound_row).to_contain_text(PHONE)
    expect(inbound_row.locator(".delivery-result")).to_contain_text("200")
    [request] = receiver.wait_for(1)
    assert request.headers["x-api-key"] == "k-123"
    assert request.headers["x-smsstreams-signature"] == _signature(
        shown, request.headers["x-smsstreams-timestamp"], request.body
    )

    # -- a reply to a message sent from this page links back to that message ---------------
    page.get_by_label("To", exact=True).fill(ECHO)
    page.get_by_label("Text", exact=True).fill("Code 2468")
    page.get_by_role("button", name="Send test message").click()
    expect(page.locator("#test-result p .status")).to_have_text("Delivered", timeout=15_000)
    echo = page.locator(".inbound-item", has_text="Echo: Code 2468")
    expect(echo).to_be_visible(timeout=15_000)
    link = echo.get_by_role("link")
    expect(link).to_contain_text("to " + ECHO)
    link.click()
    opened = page.locator("#message-log details[open]")
    expect(opened).to_have_count(1)
    expect(opened.locator("summary")).to_contain_text(ECHO)
    expect(opened.locator("summary")).to_be_focused()
    # status callbacks: the test message's changes went to the webhook too
    expect(_delivery(console, "status")).to_have_count(2)  # sent, delivered
    counts = page.locator("#delivery-counts")
    expect(counts).to_contain_text("Delivered 4")  # 2 inbound + 2 status
    expect(counts).to_contain_text("Pending 0")

    # -- the receiver refuses: the test event fails with its 400, and is not retried --------
    receiver.default = 400
    before = len(receiver.requests)
    webhook.get_by_role("button", name="Send test event").click()
    expect(page.locator("#test-event-feedback")).to_contain_text("Test event queued")
    test_row = _delivery(console, "test")
    expect(test_row.locator(".log-row > summary .status")).to_have_text("Failed")
    expect(test_row.locator(".delivery-result")).to_contain_text("400")
    expect(counts).to_contain_text("Failed 1")
    test_row.locator(".log-row > summary").click()
    attempts = test_row.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(1)
    expect(attempts.first).to_contain_text("400")
    expect(attempts.first).to_contain_text("HTTP 400")
    expect(attempts.first).to_contain_text('{"error": "scripted"}')  # the response excerpt
    expect(attempts.first).to_contain_text(" ms")

    # the filter by state, kept in the address
    state = page.get_by_label("State", exact=True)
    state.select_option("failed")
    expect(page.locator("#delivery-log .delivery-row")).to_have_count(1)
    assert page.url.endswith("?state=failed")
    state.select_option("")
    expect(page.locator("#delivery-log .delivery-row")).to_have_count(5)
    time.sleep(0.5)  # well past the retry delay: a 400 is final
    assert len(receiver.requests) == before + 1

    # -- the receiver is fixed: Replay delivers it -----------------------------------------
    receiver.default = 200
    test_row.get_by_role("button", name="Replay").click()
    expect(page.locator("#toast")).to_contain_text("queued again")
    expect(test_row.locator(".log-row > summary .status")).to_have_text("Delivered")
    expect(attempts).to_have_count(2)  # the row stayed open through the refreshes
    expect(attempts.nth(1)).to_contain_text("200")
    expect(counts).to_contain_text("Failed 0")
    assert len(receiver.wait_for(before + 2)) == before + 2
    assert receiver.requests[-1].headers["x-smsstreams-event"] == "test"
    assert page.evaluate("window.__sameDocument") is True  # no reload happened

    # the API sees the same log
    log = api.http.get(f"/api/v1/streams/{stream_id}/webhook-deliveries").json()
    assert log["states"] == {"pending": 0, "delivered": 5, "failed": 0, "dead": 0}
    webhook.get_by_role("button", name="Hide").click()
    expect(secret).to_have_attribute("type", "password")
    webhook.get_by_text("How to verify a signature").click()  # folds it again
    page.locator("#toast").evaluate("el => el.classList.remove('is-visible')")
    console.screenshot(screenshots / "6-stream-page.png")

    # the edit page has the same checkbox
    page.get_by_role("link", name="Edit", exact=True).first.click()
    expect(page.get_by_label(callbacks_label)).to_be_checked()
    page.get_by_label(callbacks_label).uncheck()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    expect(webhook).to_contain_text("Off — only inbound messages")
    assert api.http.get(f"/api/v1/streams/{stream_id}").json()["status_callbacks"] is False

    # at phone width, nothing overflows
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(test_row.get_by_role("button", name="Replay")).to_be_visible()
    api.close()
