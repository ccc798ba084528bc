"""The Step 3 request previews: the real endpoint, headers, body and a curl that works."""

from __future__ import annotations

import json
import shlex

from smsstreams.console.previews import TOKEN_PLACEHOLDER, request_previews


def test_send_and_status_previews_for_a_customized_stream() -> None:
    send, status = request_previews(
        "https://sms.example.com/", customized=True, sample_sender="12025550100"
    )
    assert (send.title, status.title) == ("Send Request", "Status Request")
    assert send.endpoint == "https://sms.example.com/api/v1/sms/send"
    assert status.endpoint == "https://sms.example.com/api/v1/sms/status"
    assert (
        send.headers_text == f"Authorization: {TOKEN_PLACEHOLDER}\nContent-Type: application/json"
    )
    message = json.loads(send.body)["messages"][0]
    assert message["sender"] == "12025550100"
    assert message["recipient_phone"] == "12025550123"
    assert json.loads(status.body) == {"message_uuids": ["MESSAGE_UUID"]}


def test_fixed_sender_streams_omit_sender_and_the_token_is_filled_in() -> None:
    send, _ = request_previews(
        "http://127.0.0.1:8000", customized=False, sample_sender=None, token="sst_abc"
    )
    assert "sender" not in json.loads(send.body)["messages"][0]
    assert ("Authorization", "sst_abc") in send.headers


def test_curl_command_parses_back_to_the_same_request() -> None:
    send, _ = request_previews(
        "http://h:1", customized=True, sample_sender="O'Brien", token="sst_x"
    )
    words = shlex.split(send.curl.replace("\\\n", " "))
    assert words[:4] == ["curl", "-X", "POST", "http://h:1/api/v1/sms/send"]
    assert words[words.index("-d") + 1] == json.dumps(json.loads(send.body), separators=(",", ":"))
    assert "Authorization: sst_x" in words
    assert json.loads(words[-1])["messages"][0]["sender"] == "O'Brien"
