"""One account never sees another's streams; posts without the CSRF token are refused;
the session cookie cannot be read by scripts; the pages work at phone width."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from .conftest import PASSWORD, Console


def _create_stream(console: Console, name: str) -> str:
    page = console.page
    console.goto("/streams/new?type=otp&direction=one_way")
    page.get_by_label("Stream API name").fill(name)
    page.get_by_label("Add IP").fill("127.0.0.1")
    page.get_by_text("Demo Sending", exact=True).click()
    page.get_by_role("button", name="Save & Next").click()
    page.get_by_role("button", name="Skip").click()
    page.get_by_role("button", name="Create Stream").click()
    page.get_by_role("button", name="Done").click()
    href = page.get_by_role("link", name=name).get_attribute("href")
    assert href and href.startswith("/streams/")
    return href.removeprefix("/streams/")


def test_one_account_never_sees_another(console_factory: Callable[..., Console]) -> None:
    alice, bob = console_factory(), console_factory()
    alice.sign_up("Alice Co")
    stream_id = _create_stream(alice, "Alice private stream")
    alice.goto("/streams/new?type=otp&direction=two_way")
    alice.page.get_by_label("Stream API name").fill("Alice draft")
    alice.page.get_by_role("button", name="Save as draft").click()
    draft_href = alice.page.get_by_role("link", name="Alice draft").get_attribute("href")
    assert draft_href

    bob.sign_up("Bob Co")
    page = bob.page
    expect(page.get_by_text("No streams yet")).to_be_visible()
    expect(page.get_by_text("Alice")).to_have_count(0)
    for path in (
        f"/streams/{stream_id}",
        f"/streams/{stream_id}/edit",
        f"/streams/{stream_id}/wizard",
        f"/streams/{stream_id}/messages",
        f"/streams/{stream_id}/inbound",
        f"/streams/{stream_id}/webhook-deliveries",
        draft_href,
    ):
        response = bob.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_text("Alice")).to_have_count(0)

    # Bob's own CSRF token does not open Alice's stream to him either.
    console_token = _token_on(bob, "/streams")
    for action in ("delete", "pause", "token", "webhook/test", "webhook-deliveries/1/replay"):
        response = page.request.post(
            f"{bob.url}/streams/{stream_id}/{action}", form={"csrf_token": console_token}
        )
        assert response.status == 404, action
    alice.goto(f"/streams/{stream_id}")
    expect(alice.page.get_by_role("heading", name="Alice private stream")).to_be_visible()
    expect(alice.page.locator(".badge-active")).to_be_visible()


def _token_on(console: Console, path: str) -> str:
    console.goto(path)
    return console.csrf()


def test_posts_without_the_csrf_token_are_refused(console: Console) -> None:
    page = console.page
    console.sign_up("Csrf Co")
    stream_id = _create_stream(console, "Guarded")
    form = {"name": "Forged", "action": "draft", "direction": "two_way"}
    for data in (form, {**form, "csrf_token": "forged-token"}):
        response = page.request.post(console.url + "/streams/new", form=data)
        assert response.status == 403
        assert "security token" in response.text()
    response = page.request.post(f"{console.url}/streams/{stream_id}/delete", form={})
    assert response.status == 403
    response = page.request.post(console.url + "/signout", form={})
    assert response.status == 403
    for action in ("webhook/test", "webhook-deliveries/1/replay"):  # the htmx buttons
        response = page.request.post(
            f"{console.url}/streams/{stream_id}/{action}", form={}, headers={"HX-Request": "true"}
        )
        assert response.status == 403, action
    console.goto("/streams")
    expect(page.get_by_role("link", name="Guarded")).to_be_visible()  # still there, still signed in
    expect(page.get_by_text("Forged")).to_have_count(0)

    # htmx requests carry the token in a header; without it, they are refused too.
    response = page.request.post(
        console.url + "/streams/chips/ip",
        form={"ip_entry": "127.0.0.1"},
        headers={"HX-Request": "true"},
    )
    assert response.status == 403

    # the session cookie: HttpOnly, SameSite=Lax
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["smsstreams_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert "smsstreams_session" not in page.evaluate("document.cookie")


def test_sign_out_and_sign_in_again(console: Console) -> None:
    page = console.page
    email = console.sign_up("Returning Co")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    console.goto("/sender-ids")
    expect(page).to_have_url(console.url + "/signin?next=/sender-ids")
    console.page.get_by_label("Email").fill(email)
    console.page.get_by_label("Password").fill("wrong password")
    console.page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    console.page.get_by_label("Password").fill(PASSWORD)
    console.page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(console.url + "/sender-ids")  # back where they were going
    expect(page.get_by_role("heading", name="Sender IDs", exact=True)).to_be_visible()


def test_phone_width(console_factory: Callable[..., Console], screenshots: Path) -> None:
    phone = console_factory(width=390, height=844)
    page = phone.page
    phone.sign_up("Pocket Co")
    _create_stream(phone, "Pocket stream")
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(fits), "the Streams API table overflows at phone width"
    expect(page.get_by_role("navigation", name="Main menu")).to_be_visible()
    phone.screenshot(screenshots / "phone-streams-table.png", full_page=False)
    phone.goto("/streams/new?type=otp&direction=two_way")
    assert page.evaluate(fits), "the wizard overflows at phone width"
    phone.screenshot(screenshots / "phone-wizard-step-1.png")
    phone.goto("/streams")
    page.get_by_role("link", name="Pocket stream").click()
    expect(page.get_by_role("heading", name="Pocket stream")).to_be_visible()
    assert page.evaluate(fits), "the stream page overflows at phone width"
