"""Text no database stores (NUL; an unpaired surrogate) gets a 4xx naming the field, or
matches nothing where it is only looked up: never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import Api, msg
from tests.support.server import Server

NUL = "a\x00b"
# json.dumps keeps the escape, so the server's JSON parser sees a lone "\ud800"
SURROGATE = "a\ud800b"


def _json(body: object) -> dict[str, Any]:
    """Request arguments with ASCII-escaped JSON (httpx writes UTF-8, which has no lone
    surrogates), as a client in another language could send it."""
    return {"content": json.dumps(body), "headers": {"Content-Type": "application/json"}}


@pytest.fixture
def api(live_server: Server) -> Iterator[Api]:
    client = Api(live_server)
    yield client
    client.close()


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "{bad}"}, "name"),
        ({"name": "ok", "description": "{bad}"}, "description"),
        ({"name": "ok", "tags": ["{bad}"]}, "tags"),
        (
            {
                "name": "ok",
                "webhook": {
                    "url": "https://example.com/",
                    "headers": [{"name": "X", "value": "{bad}"}],
                },
            },
            "webhook.headers.0.value",
        ),
    ],
)
def test_management_api_names_the_field(
    api: Api, bad: str, body: dict[str, object], field: str
) -> None:
    def fill(value: object) -> object:
        if value == "{bad}":
            return bad
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    r = api.http.post("/api/v1/streams", **_json({**fill(body), "state": "draft"}))  # type: ignore[dict-item]
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"].startswith(field.split(".")[0])
    r = api.http.post("/api/v1/sender-ids", **_json({"value": bad}))
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_lookups_match_nothing(api: Api, bad: str) -> None:
    api.sender(Api.DEFAULT_SENDER)
    _, token = api.stream(default_sender=Api.DEFAULT_SENDER)
    sent = api.send(token, msg("ok"))
    assert sent.status_code == 202, sent.text
    uuid = sent.json()["messages"][0]["message_uuid"]
    for key in ("internal_ids", "message_uuids"):
        request = _json({key: [bad, "ok" if key == "internal_ids" else uuid]})
        request["headers"]["Authorization"] = token
        r = httpx.post(api.server.url + "/api/v1/sms/status", **request)
        assert r.status_code == 200, r.text
        assert [m["message_uuid"] for m in r.json()["messages"]] == [uuid], r.text
    r = httpx.get(f"{api.server.url}/api/v1/sms/a%00b", headers={"Authorization": token})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_demo_inbound_names_the_field(api: Api, bad: str) -> None:
    api.sender(Api.DEFAULT_SENDER)
    _, token = api.stream(default_sender=Api.DEFAULT_SENDER, demo=True)
    request = _json({"from": "+15551230000", "to": Api.DEFAULT_SENDER, "text": bad})
    request["headers"]["Authorization"] = token
    r = httpx.post(api.server.url + "/api/v1/demo/inbound", **request)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "text"
