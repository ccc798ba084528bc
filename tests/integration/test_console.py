"""The console over plain HTTP against the real server (SQLite and PostgreSQL): sessions,
CSRF, sign-in throttling, the sign-up switch, HTML vs JSON errors, security headers, and
the two-way routes of the stream page scoped to their account."""

from __future__ import annotations

import re
import stat
import time
from typing import Any

import httpx

from tests.conftest import WEBHOOK_ENV
from tests.support.api import Api
from tests.support.receiver import Receiver
from tests.support.server import Server

PASSWORD = "correct horse"  # what Server.create_account sets


def _client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=10)


def _csrf(client: httpx.Client, path: str = "/signin") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF field on " + path
    return match.group(1)


def _sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post(
        "/signin", data={"csrf_token": _csrf(client), "email": email, "password": password}
    )


def test_sign_in_is_throttled_after_repeated_failures(server: Server) -> None:
    email = server.create_account("Throttled")["email"]
    with _client(server) as client:
        for _ in range(5):
            assert _sign_in(client, email, "wrong password").status_code == 401
        blocked = _sign_in(client, email, "wrong password")
        assert blocked.status_code == 429
        assert "Too many failed sign-in attempts" in blocked.text
        assert int(blocked.headers["retry-after"]) > 0
        # the right password does not get through the block either
        assert _sign_in(client, email).status_code == 429
        assert client.get("/streams").status_code == 303
    other = server.create_account("Unblocked")["email"]
    with _client(server) as client:
        signed_in = _sign_in(client, other)
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/streams"


def test_session_cookie_flags_secret_file_and_restart(server_factory: type[Server]) -> None:
    server = server_factory().start()
    email = server.create_account("Sticky")["email"]
    with _client(server) as client:
        response = _sign_in(client, email)
        assert response.status_code == 303
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert client.get("/streams").status_code == 200
        secret = server.data_dir / "secret_key"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        server.stop()
        server.start()
        assert client.get("/streams").status_code == 200  # the session survived the restart


def test_csrf_is_required_on_every_post(server: Server) -> None:
    email = server.create_account("Guarded")["email"]
    with _client(server) as client:
        # no session yet: even the sign-in form needs the token from its page
        response = client.post("/signin", data={"email": email, "password": PASSWORD})
        assert response.status_code == 403
        assert _sign_in(client, email).status_code == 303
        token = _csrf(client, "/streams")
        for path in ("/streams/new", "/sender-ids", "/signout"):
            assert client.post(path, data={"name": "x", "value": "Acme"}).status_code == 403
            forged = {"csrf_token": token[::-1], "name": "x", "value": "Acme"}
            assert client.post(path, data=forged).status_code == 403
        ok = client.post("/sender-ids", headers={"X-CSRF-Token": token}, data={"value": "Acme"})
        assert ok.status_code == 303
        assert "Acme" in client.get("/sender-ids").text


def test_console_errors_are_html_and_api_errors_stay_json(server: Server) -> None:
    email = server.create_account("Pages")["email"]
    with _client(server) as client:
        assert client.get("/").headers["location"] == "/signin"
        assert client.get("/streams").headers["location"] == "/signin?next=/streams"
        assert _sign_in(client, email).status_code == 303
        assert client.get("/").headers["location"] == "/streams"
        missing = client.get("/streams/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "Not found" in missing.text
        bad = client.get("/streams?page=abc")
        assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
        api = client.get("/api/v1/sms/00000000-0000-0000-0000-000000000000")
        assert api.status_code == 401
        assert api.json()["error"]["code"] == "missing_token"
        assert "set-cookie" not in api.headers  # the API never touches the session
        assert "content-security-policy" not in api.headers
        page = client.get("/streams")
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        css = client.get("/static/app.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert client.get("/static/htmx.min.js").status_code == 200


def test_public_sign_up_can_be_turned_off(server_factory: type[Server]) -> None:
    server = server_factory(env={"SMSSTREAMS_PUBLIC_SIGNUP": "false"}).start()
    with _client(server) as client:
        page = client.get("/signup")
        assert page.status_code == 403
        assert "Sign-up is turned off" in page.text
        assert "Create an account" not in client.get("/signin").text
        token = _csrf(client)
        response = client.post(
            "/signup",
            data={"csrf_token": token, "name": "X", "email": "x@example.test", "password": "p" * 9},
        )
        assert response.status_code == 403
        email = server.create_account("Operator")["email"]  # the CLI still works
        assert _sign_in(client, email).status_code == 303


def test_sign_up_signs_in_and_rejects_a_taken_email(server: Server) -> None:
    with _client(server) as client:
        token = _csrf(client, "/signup")
        form = {"csrf_token": token, "name": "Fresh", "email": "Fresh@Example.test"}
        response = client.post("/signup", data={**form, "password": "long enough"})
        assert response.status_code == 303 and response.headers["location"] == "/streams"
        assert "Fresh" in client.get("/streams").text
    with _client(server) as client:
        token = _csrf(client, "/signup")
        again = client.post(
            "/signup", data={**form, "csrf_token": token, "password": "long enough"}
        )
        assert again.status_code == 422
        assert "already exists" in again.text


def _wait_for_state(api: Api, stream_id: str, state: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        log = api.http.get(f"/api/v1/streams/{stream_id}/webhook-deliveries").json()
        if log["states"][state] >= count or time.monotonic() > deadline:
            return dict(log)
        time.sleep(0.1)


def test_two_way_routes_are_account_scoped(server_factory: type[Server]) -> None:
    server = server_factory(env=WEBHOOK_ENV).start()
    receiver = Receiver(default=400)
    alice, bob = Api(server), Api(server)
    try:
        stream, token = alice.stream(
            direction="two_way", webhook={"method": "POST", "url": receiver.url}
        )
        base = f"/streams/{stream['id']}"
        injected = httpx.post(
            server.url + "/api/v1/demo/inbound",
            json={"from": "+15551230000", "to": Api.DEFAULT_SENDER, "text": "Alice's secret reply"},
            headers={"Authorization": token or ""},
        )
        assert injected.status_code == 201, injected.text
        log = _wait_for_state(alice, stream["id"], "failed", 1)
        [delivery] = log["data"]
        bob_stream, _ = bob.stream()

        with _client(server) as client:
            assert _sign_in(client, bob.account["email"]).status_code == 303
            csrf = _csrf(client, "/streams")
            for path in (
                f"{base}/inbound",
                f"{base}/webhook-deliveries",
                f"{base}/webhook-deliveries?state=failed",
            ):
                page = client.get(path)
                assert page.status_code == 404, path
                assert page.headers["content-type"].startswith("text/html")
                assert "secret reply" not in page.text and receiver.url not in page.text
            for path in (
                f"{base}/webhook/test",
                f"{base}/webhook-deliveries/{delivery['id']}/replay",
                # Alice's delivery through Bob's own stream
                f"/streams/{bob_stream['id']}/webhook-deliveries/{delivery['id']}/replay",
            ):
                assert client.post(path, data={"csrf_token": csrf}).status_code == 404, path
                htmx = {"HX-Request": "true", "X-CSRF-Token": csrf}
                assert client.post(path, headers=htmx).status_code == 404, path
                assert client.post(path).status_code == 403, path  # no CSRF token

        time.sleep(0.3)
        assert len(receiver.requests) == 1  # Bob queued nothing, replayed nothing
        assert alice.http.get(f"/api/v1/streams/{stream['id']}/webhook-deliveries").json()[
            "states"
        ] == {"pending": 0, "delivered": 0, "failed": 1, "dead": 0}

        # Alice herself gets the fragments, and her buttons work
        receiver.default = 200
        with _client(server) as client:
            assert _sign_in(client, alice.account["email"]).status_code == 303
            assert "Alice&#39;s secret reply" in client.get(f"{base}/inbound").text
            failed = client.get(f"{base}/webhook-deliveries?state=failed")
            assert failed.status_code == 200 and f"delivery-{delivery['id']}" in failed.text
            csrf = _csrf(client, base)
            replayed = client.post(
                f"{base}/webhook-deliveries/{delivery['id']}/replay", data={"csrf_token": csrf}
            )
            assert replayed.status_code == 303
            assert replayed.headers["location"] == f"{base}#deliveries-title"
            test = client.post(
                f"{base}/webhook/test", headers={"HX-Request": "true", "X-CSRF-Token": csrf}
            )
            assert test.status_code == 200 and "Test event queued" in test.text
        log = _wait_for_state(alice, stream["id"], "delivered", 2)
        assert log["states"] == {"pending": 0, "delivered": 2, "failed": 0, "dead": 0}
        # the replay and the test event are delivered concurrently: in either order
        events = [r.headers["x-smsstreams-event"] for r in receiver.wait_for(3)]
        assert events[0] == "inbound" and sorted(events[1:]) == ["inbound", "test"]
    finally:
        alice.close()
        bob.close()
        receiver.close()
