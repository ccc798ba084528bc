"""A thin client for the management and SMS APIs, as a customer's script would use them."""

from __future__ import annotations

import time
from typing import Any

import httpx

from .server import Server

DELIVERED_NUMBER = "12025550123"


class Api:
    def __init__(self, server: Server, account: dict[str, Any] | None = None) -> None:
        self.server = server
        self.account = account or server.create_account()
        self.http = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {self.account['api_key']}"},
            timeout=30,
        )

    def close(self) -> None:
        self.http.close()

    def sender(self, value: str) -> dict[str, Any]:
        r = self.http.post("/api/v1/sender-ids", json={"value": value})
        assert r.status_code == 201, r.text
        return dict(r.json())

    DEFAULT_SENDER = "12025550199"

    def stream(self, **fields: Any) -> tuple[dict[str, Any], str | None]:
        """An active demo stream from 127.0.0.1; a fixed numeric sender unless told otherwise."""
        if "default_sender" not in fields:
            if not getattr(self, "_default_sender_made", False):
                self.sender(self.DEFAULT_SENDER)
                self._default_sender_made = True
            fields["default_sender"] = self.DEFAULT_SENDER
        body = {
            "name": "OTP stream",
            "state": "active",
            "demo": True,
            "direction": "one_way",
            "allowed_ips": ["127.0.0.1"],
            **fields,
        }
        r = self.http.post("/api/v1/streams", json=body)
        assert r.status_code == 201, r.text
        data = r.json()
        return data["stream"], data["token"]

    def send(
        self, token: str, *messages: dict[str, Any], path: str = "/api/v1/sms/send"
    ) -> httpx.Response:
        return httpx.post(
            self.server.url + path,
            json={"messages": list(messages)},
            headers={"Authorization": token},
            timeout=30,
        )

    def status(self, token: str, message_uuid: str) -> dict[str, Any]:
        r = httpx.get(
            f"{self.server.url}/api/v1/sms/{message_uuid}",
            headers={"Authorization": token},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait_status(
        self, token: str, message_uuid: str, wanted: set[str], timeout: float = 15
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            data = self.status(token, message_uuid)
            if data["status"] in wanted or time.monotonic() > deadline:
                return data
            time.sleep(0.1)


def msg(
    internal_id: str, phone: str = DELIVERED_NUMBER, text: str = "Your code is 123456", **extra: Any
) -> dict[str, Any]:
    return {"internal_id": internal_id, "recipient_phone": phone, "message_content": text, **extra}
