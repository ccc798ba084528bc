"""X-Forwarded-For is used for the allowlist only when the operator trusts the proxy."""

from __future__ import annotations

import httpx

from tests.support.api import Api, msg
from tests.support.server import Server


def test_trusted_proxy_header_is_used(server_factory: type[Server]) -> None:
    server = server_factory(
        env={"SMSSTREAMS_TRUST_PROXY_HEADERS": "true", "SMSSTREAMS_TRUSTED_PROXIES": "127.0.0.0/8"}
    ).start()
    api = Api(server)
    _, token = api.stream(allowed_ips=["203.0.113.0/24"])
    url = server.url + "/api/v1/sms/send"
    body = {"messages": [msg("p1")]}
    direct = httpx.post(url, json=body, headers={"Authorization": token})
    assert direct.status_code == 403 and "127.0.0.1" in direct.json()["error"]["message"]
    # the client is the right-most address that is not a trusted proxy
    spoofed_left = {"Authorization": token, "X-Forwarded-For": "203.0.113.9, 198.51.100.1"}
    r = httpx.post(url, json=body, headers=spoofed_left)
    assert r.status_code == 403 and "198.51.100.1" in r.json()["error"]["message"]
    forwarded = {"Authorization": token, "X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    r = httpx.post(url, json=body, headers=forwarded)
    assert r.status_code == 202, r.text
    api.close()
