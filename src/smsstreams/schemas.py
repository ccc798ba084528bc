"""Request and response shapes of the JSON API (Pydantic), one naming pattern:
``XCreate`` / ``XUpdate`` in, ``XPublic`` / ``XsPublic(data, count)`` out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Direction = Literal["two_way", "one_way"]
StreamState = Literal["draft", "active", "paused"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Header(_In):
    name: str = Field(max_length=100)
    value: str = Field(max_length=2000)


class Webhook(_In):
    method: Literal["GET", "POST"] = "POST"
    url: str = Field(max_length=2000)
    headers: list[Header] = Field(default_factory=list, max_length=30)


class StreamCreate(_In):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=2000)
    type: Literal["otp"] = "otp"
    direction: Direction = "two_way"
    tags: list[str] = Field(default_factory=list, max_length=20)
    allowed_ips: list[str] = Field(default_factory=list, max_length=100)
    default_sender: str = Field(
        "customized", description='"customized" or one of the account\'s sender IDs'
    )
    demo: bool = False
    webhook: Webhook | None = None
    status_callbacks: bool = Field(
        False, description="Also POST outbound status changes to the webhook"
    )
    state: Literal["draft", "active"] = "draft"
    wizard_step: int = Field(1, ge=1, le=3)


class StreamUpdate(_In):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    direction: Direction | None = None
    tags: list[str] | None = Field(None, max_length=20)
    allowed_ips: list[str] | None = Field(None, max_length=100)
    default_sender: str | None = None
    demo: bool | None = None
    webhook: Webhook | None = None
    status_callbacks: bool | None = None
    remove_webhook: bool = False
    state: Literal["draft", "active"] | None = Field(
        None, description='"active" activates a draft and returns its token once'
    )
    wizard_step: int | None = Field(None, ge=1, le=3)


class StreamPublic(BaseModel):
    id: str
    name: str
    description: str
    type: str
    direction: str
    tags: list[str]
    allowed_ips: list[str]
    default_sender: str
    demo: bool
    webhook: Webhook | None
    webhook_secret: str | None = Field(
        None, description="Signs webhook requests (HMAC-SHA256); see docs/webhooks.md"
    )
    status_callbacks: bool = False
    state: StreamState
    wizard_step: int
    token_prefix: str | None
    created_at: datetime
    updated_at: datetime


class StreamWithToken(BaseModel):
    stream: StreamPublic
    token: str | None = Field(
        None, description="The send token: shown only in this response, store it now"
    )


class StreamsPublic(BaseModel):
    data: list[StreamPublic]
    count: int
    page: int
    per_page: int


class SenderIdCreate(_In):
    value: str = Field(max_length=32)


class SenderIdPublic(BaseModel):
    id: int
    value: str
    kind: str
    created_at: datetime


class SenderIdsPublic(BaseModel):
    data: list[SenderIdPublic]
    count: int
