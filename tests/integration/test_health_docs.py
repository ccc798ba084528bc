"""Probes and API docs."""

from __future__ import annotations

import httpx

from tests.support.server import Server


def test_health_and_ready(live_server: Server) -> None:
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(live_server.url + "/readyz")
    assert ready.status_code == 200
    assert (
        ready.json()["status"] == "ready" and ready.json()["migration"] == ready.json()["expected"]
    )


def test_openapi_has_send_and_status_with_examples(live_server: Server) -> None:
    assert httpx.get(live_server.url + "/docs").status_code == 200
    spec = httpx.get(live_server.url + "/openapi.json").json()
    send = spec["paths"]["/api/v1/sms/send"]["post"]
    assert send["requestBody"]["content"]["application/json"]["example"]["messages"][0][
        "internal_id"
    ]
    assert "202" in send["responses"]
    assert "/simple_send/" in spec["paths"]
    status = spec["paths"]["/api/v1/sms/status"]["post"]
    assert status["responses"]["200"]["content"]["application/json"]["example"]["messages"]
    assert "/api/v1/sms/{message_uuid}" in spec["paths"]


def test_unknown_path_is_json_404(live_server: Server) -> None:
    r = httpx.get(live_server.url + "/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
