"""The console over plain HTTP against the real server (SQLite and PostgreSQL): sessions,
CSRF, sign-in throttling, the sign-up switch, HTML vs JSON errors, security headers."""

from __future__ import annotations

import re
import stat

import httpx

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
