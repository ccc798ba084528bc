"""Request and response shapes of the JSON API (Pydantic), one naming pattern:
``XCreate`` / ``XUpdate`` in, ``XPublic`` / ``XsPublic(data, count)`` out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smsstreams.domain import storable
from smsstreams.domain.storable import is_storable
from smsstreams.services.connectors import BindType, ConcatMethod, DefaultAlphabet, IdFormat

Direction = Literal["two_way", "one_way"]
StreamState = Literal["draft", "active", "paused"]


def _storable(value: Any) -> Any:
    """Refuse text no database stores (see domain/storable.py)."""
    if isinstance(value, str) and not is_storable(value):
        raise ValueError(storable.REASON)
    if isinstance(value, list):
        for item in value:
            _storable(item)
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    _no_nul = field_validator("*", mode="before")(_storable)


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


# -- operator API: carrier connectors and routes ----------------------------------------------


class _ConnectorIn(BaseModel):
    # no stripping: a password is kept exactly as given
    model_config = ConfigDict(extra="forbid")


class ConnectorCreate(_ConnectorIn):
    """A connector's settings; each is checked as ``smsstreams connector add`` checks it."""

    name: str = Field(description="1-27 letters, digits, '.', '_', '-'; the channel is smpp:NAME")
    host: str
    port: int
    system_id: str = Field(description="bind system_id, up to 15 characters")
    password: str = Field(description="bind password, up to 8 characters; never returned")
    tls: bool = False
    bind_type: BindType = "transceiver"
    system_type: str = ""
    window: int = Field(10, description="submits outstanding at once, 1-1000")
    max_per_second: float | None = Field(None, description="throughput limit; null: none")
    source_ton: int | None = Field(None, description="null: from the sender")
    source_npi: int | None = Field(None, description="null: from the sender")
    concat: ConcatMethod = "udh8"
    packed: bool = False
    id_format: IdFormat = "auto"
    receipt_id_format: IdFormat = "auto"
    default_alphabet: DefaultAlphabet = "gsm7"
    enabled: bool = True


class ConnectorUpdate(_ConnectorIn):
    """Only the settings given change; ``null`` clears ``max_per_second``, ``source_ton``
    and ``source_npi``. A running server re-binds a connector whose settings changed."""

    host: str | None = None
    port: int | None = None
    system_id: str | None = None
    password: str | None = None
    tls: bool | None = None
    bind_type: BindType | None = None
    system_type: str | None = None
    window: int | None = None
    max_per_second: float | None = None
    source_ton: int | None = None
    source_npi: int | None = None
    concat: ConcatMethod | None = None
    packed: bool | None = None
    id_format: IdFormat | None = None
    receipt_id_format: IdFormat | None = None
    default_alphabet: DefaultAlphabet | None = None
    enabled: bool | None = None


#: settings that ``null`` clears; any other setting given as ``null`` is refused
NULLABLE_CONNECTOR_SETTINGS = frozenset({"max_per_second", "source_ton", "source_npi"})


class ConnectorPublic(BaseModel):
    """A connector as the operator sees it: settings (never the password) and live state."""

    name: str
    host: str
    port: int
    system_id: str
    password_set: bool
    tls: bool
    bind_type: str
    system_type: str
    window: int
    max_per_second: float | None
    source_ton: int | None
    source_npi: int | None
    concat: str
    packed: bool
    id_format: str
    receipt_id_format: str
    default_alphabet: str
    enabled: bool
    state: str = Field(description="bound, connecting, down, disabled or unbound")
    last_error: str | None
    state_at: datetime | None = Field(None, description="when the binding process last wrote it")
    held_by: str | None = Field(None, description="the server process that binds it")
    stats: dict[str, Any] = Field(
        description="counters since the connector was last bound (submitted, accepted, "
        "errors, receipts, outstanding, ...), per_second_1m, and history: accepted and "
        "failed counts per step seconds, oldest first"
    )
    routes: list[str] = Field(default_factory=list, description="prefixes that use it")


class ConnectorsPublic(BaseModel):
    data: list[ConnectorPublic]
    count: int


class RouteCreate(_In):
    prefix: str = Field(
        max_length=40, description="E.164 prefix such as +44; '+' or '' for every destination"
    )
    connectors: list[str] = Field(max_length=20, description="tried in this order")


class RoutePublic(BaseModel):
    prefix: str
    connectors: list[str]


class RoutesPublic(BaseModel):
    data: list[RoutePublic]
    count: int
