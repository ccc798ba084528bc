"""The Send Request and Status Request previews of Step 3 and the stream page (pure)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

TOKEN_PLACEHOLDER = "YOUR_STREAM_TOKEN"
SAMPLE_PHONE = "12025550123"
SAMPLE_UUID = "MESSAGE_UUID"


@dataclass(frozen=True)
class RequestPreview:
    title: str
    slug: str
    method: str
    endpoint: str
    headers: list[tuple[str, str]]
    body: str
    curl: str

    @property
    def headers_text(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.headers)


def _curl(method: str, url: str, headers: list[tuple[str, str]], body: str) -> str:
    lines = [f"curl -X {method} {shlex.quote(url)}"]
    lines += [f"  -H {shlex.quote(f'{name}: {value}')}" for name, value in headers]
    lines.append(f"  -d {shlex.quote(json.dumps(json.loads(body), separators=(',', ':')))}")
    return " \\\n".join(lines)


def request_previews(
    base_url: str, *, customized: bool, sample_sender: str | None, token: str | None = None
) -> list[RequestPreview]:
    """Both requests filled in for one stream: the real endpoint, its headers and a body.

    ``sample_sender`` goes into the body only when the stream's default sender is
    Customized (otherwise the stream always sends from its own and the field is omitted).
    """
    base = base_url.rstrip("/")
    headers = [
        ("Authorization", token or TOKEN_PLACEHOLDER),
        ("Content-Type", "application/json"),
    ]
    message: dict[str, str] = {"internal_id": "order-1001"}
    if customized:
        message["sender"] = sample_sender or "YOUR_SENDER_ID"
    message["recipient_phone"] = SAMPLE_PHONE
    message["message_content"] = "Your code is 123456"
    send_body = json.dumps({"messages": [message]}, indent=2)
    status_body = json.dumps({"message_uuids": [SAMPLE_UUID]}, indent=2)
    send_url = f"{base}/api/v1/sms/send"
    status_url = f"{base}/api/v1/sms/status"
    return [
        RequestPreview(
            "Send Request",
            "send",
            "POST",
            send_url,
            headers,
            send_body,
            _curl("POST", send_url, headers, send_body),
        ),
        RequestPreview(
            "Status Request",
            "status",
            "POST",
            status_url,
            headers,
            status_body,
            _curl("POST", status_url, headers, status_body),
        ),
    ]
