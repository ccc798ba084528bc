"""The table (search, tag filter, drafts reopened at the step reached) and the stream page
actions: pause/resume, regenerate the token, filter the log, delete."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from .conftest import Console


def _send(console: Console, token: str) -> httpx.Response:
    body = {"messages": [{"recipient_phone": "12025550123", "message_content": "Code 1"}]}
    return httpx.post(
        console.url + "/api/v1/sms/send", headers={"Authorization": token}, json=body, timeout=10
    )


def _accepted(response: httpx.Response) -> bool:
    return response.status_code == 202 and "message_uuid" in response.json()["messages"][0]


def _new_stream(console: Console, name: str, tag: str, sender: str = "Acme") -> str:
    page = console.page
    console.goto("/streams/new?type=otp&direction=one_way")
    page.get_by_label("Stream API name").fill(name)
    page.get_by_label("Add IP").fill("127.0.0.1")
    page.get_by_role("combobox", name="Tags").fill(tag)
    choice = page.get_by_label("Default sender")
    if choice.locator("option", has_text=sender).count():
        choice.select_option(sender)
    else:
        choice.select_option(label="Add new Sender ID")
        page.get_by_label("New Sender ID").fill(sender)
    page.get_by_text("Demo Sending", exact=True).click()
    page.get_by_role("button", name="Save & Next").click()
    page.get_by_role("button", name="Skip").click()
    page.get_by_role("button", name="Create Stream").click()
    token = page.get_by_label("Authorization token").input_value()
    page.get_by_role("button", name="Done").click()
    return token


def test_table_search_filter_and_drafts(console: Console) -> None:
    page = console.page
    console.sign_up("Tables")
    _new_stream(console, "Alpha login", "eu")
    _new_stream(console, "Beta checkout", "us")
    # a draft left on step 2 reopens on step 2, with an existing tag applied in one click
    console.goto("/streams/new?type=otp&direction=two_way")
    page.get_by_label("Stream API name").fill("Gamma draft")
    page.get_by_role("button", name="+ eu").click()
    expect(page.locator("#tag-list .chip", has_text="eu")).to_be_visible()
    expect(page.get_by_role("button", name="+ eu")).to_have_count(0)
    page.get_by_role("button", name="Save & Next").click()
    page.get_by_label("URL").fill("https://example.com/hook")
    page.get_by_role("button", name="Save as draft").click()

    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Gamma draft")  # newest first
    expect(rows.nth(0)).to_contain_text("Draft · step 2")
    expect(rows.nth(1)).to_contain_text("Beta checkout")

    page.get_by_label("Search by name").fill("alpha")
    page.get_by_label("Search by name").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Alpha login")
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Filter by tag").select_option("eu")  # submits by itself
    expect(page).to_have_url(console.url + "/streams?q=&tag=eu")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("Beta checkout")).to_have_count(0)

    page.get_by_role("link", name="Gamma draft").click()
    expect(page.get_by_role("heading", name="Step 2: Incoming Messages Webhook")).to_be_visible()
    expect(page.get_by_label("URL")).to_have_value("https://example.com/hook")
    page.get_by_role("link", name="Step 1 Stream API Details").click()
    expect(page.get_by_label("Stream API name")).to_have_value("Gamma draft")


def test_pause_resume_regenerate_filter_delete(console: Console) -> None:
    page = console.page
    console.sign_up("Actions")
    token = _new_stream(console, "Lifecycle", "ops")
    assert _accepted(_send(console, token))
    page.get_by_role("link", name="Lifecycle").click()
    expect(page.locator("#message-log summary .status")).to_have_text("Delivered", timeout=15_000)

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Lifecycle is paused")).to_be_visible()
    expect(page.locator("h1 .badge-paused")).to_have_text("Paused")
    refused = _send(console, token)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "stream_not_active"
    expect(page.get_by_text("Resume the stream to send test messages.")).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("h1 .badge-active")).to_be_visible()

    page.get_by_role("button", name="Regenerate token").click()
    confirm = page.get_by_role("dialog", name="Regenerate the token?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Regenerate token").click()
    fresh = page.get_by_role("dialog", name="New token")
    expect(fresh).to_contain_text("you will not see it again")
    new_token = page.get_by_label("Authorization token").input_value()
    assert new_token.startswith("sst_") and new_token != token
    expect(page).to_have_url(console.url + "/streams/" + page.url.split("/streams/")[1])
    assert not page.url.endswith("/token")  # a reload cannot repeat the POST
    fresh.get_by_role("button", name="Done").click()
    assert _send(console, token).status_code == 401
    assert _accepted(_send(console, new_token))

    # the log filter: only failures → empty; delivered → the messages
    expect(page.locator("#message-log summary")).to_have_count(2, timeout=15_000)
    page.get_by_label("Status", exact=True).select_option("undelivered")
    expect(page.get_by_text("No messages with status undelivered yet.")).to_be_visible()
    assert page.url.endswith("?status=undelivered")
    page.get_by_label("Status", exact=True).select_option("")
    expect(page.locator("#message-log summary")).to_have_count(2)

    page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog", name="Delete Lifecycle?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete", exact=True).click()
    dialog.get_by_role("button", name="Delete stream").click()
    expect(page.get_by_text("Stream Lifecycle was deleted.")).to_be_visible()
    expect(page.get_by_text("No streams yet")).to_be_visible()
    assert _send(console, new_token).status_code == 401
