"""Without SMSSTREAMS_WEBHOOK_ALLOW_PRIVATE, webhooks to local or private addresses are refused."""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.support.server import Server


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
        "ftp://example.com/x",
    ],
)
def test_private_webhook_urls_are_refused(live_server: Server, url: str) -> None:
    api = Api(live_server)
    r = api.http.post(
        "/api/v1/streams", json={"name": "x", "webhook": {"method": "POST", "url": url}}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "webhook.url"
    ok = api.http.post(
        "/api/v1/streams", json={"name": "x", "webhook": {"url": "https://hooks.example.com/in"}}
    )
    assert ok.status_code == 201
    api.close()
