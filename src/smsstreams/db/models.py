"""SQLAlchemy models: the whole schema. Changes go through Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnClause

from .types import JSONText, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _where(condition: str) -> dict[str, Any]:
    """The same partial-index condition on SQLite and PostgreSQL."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


#: Statuses written into SQL as literals, for queries that must match a partial index
#: (with a bound parameter, SQLite cannot use it, and PostgreSQL not in a generic plan).
QUEUED: Final[ColumnClause[str]] = literal_column("'queued'")
SENT: Final[ColumnClause[str]] = literal_column("'sent'")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    #: may see and change the carrier connectors in the console (``smsstreams operator``)
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An account API key for the management API: only its SHA-256 hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SenderId(Base):
    __tablename__ = "sender_ids"
    __table_args__ = (UniqueConstraint("account_id", "value", name="uq_sender_ids_account_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Stream(Base):
    __tablename__ = "streams"
    __table_args__ = (Index("ix_streams_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(16), default="otp")
    direction: Mapped[str] = mapped_column(String(16), default="two_way")
    allowed_ips: Mapped[list[str]] = mapped_column(JSONText, default=list)
    default_sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("sender_ids.id", ondelete="RESTRICT"), nullable=True
    )
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_method: Mapped[str | None] = mapped_column(String(8), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_headers: Mapped[list[dict[str, str]]] = mapped_column(JSONText, default=list)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    wizard_step: Mapped[int] = mapped_column(Integer, default=1)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    token_prefix: Mapped[str | None] = mapped_column(String(16), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status_callbacks: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    default_sender: Mapped[SenderId | None] = relationship(lazy="joined")
    tag_rows: Mapped[list[StreamTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="StreamTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class StreamTag(Base):
    __tablename__ = "stream_tags"

    stream_id: Mapped[str] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class Message(Base):
    """One outbound SMS; the table is also the dispatch queue."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("stream_id", "internal_id", name="uq_messages_stream_internal_id"),
        # Partial indexes: each holds only the rows its worker looks for, so a message that
        # moves on leaves them (cheaper inserts and status moves than full indexes). The
        # queries that use them name the status as a literal (see workers/dispatch.py).
        Index("ix_messages_queue", "next_attempt_at", **_where("status = 'queued'")),
        # the dispatcher claims demo and carrier messages separately
        Index(
            "ix_messages_channel_queue", "channel", "next_attempt_at", **_where("status = 'queued'")
        ),
        Index(
            "ix_messages_demo_receipt", "demo_receipt_at", **_where("demo_receipt_at IS NOT NULL")
        ),
        Index("ix_messages_expiry", "expires_at", **_where("status = 'sent'")),
        Index("ix_messages_stream_created", "stream_id", "created_at"),
        Index("ix_messages_reply_route", "sender", "recipient", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stream_id: Mapped[str] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(Integer)
    internal_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sender: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recipient: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    carrier_ids: Mapped[list[str] | None] = mapped_column(JSONText, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    demo_receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageEvent(Base):
    """Append-only history of a message: every status transition with its time."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONText, nullable=True)


class InboundMessage(Base):
    """A message from a phone (MO): routed to a stream, or kept unrouted for the operator."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_stream_seq", "stream_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stream_id: Mapped[str | None] = mapped_column(
        ForeignKey("streams.id", ondelete="SET NULL"), nullable=True
    )
    from_number: Mapped[str] = mapped_column(String(24))
    to_number: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(32))
    in_reply_to: Mapped[str | None] = mapped_column(String(36), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event to POST/GET to a stream's webhook, retried until delivered or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_stream", "stream_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream_id: Mapped[str] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONText)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    give_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)


class Connector(Base):
    """A carrier connection (SMPP bind), configured by the operator.

    ``password`` is kept as given (the server needs it to bind) and never shown back by
    the CLI or any API. ``lease_owner`` / ``lease_until`` say which server process binds
    it (exactly one at a time); ``live_*`` are written by that process about once a second
    so that any process (CLI, operator API) can show the connector's state.
    """

    __tablename__ = "connectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    bind_type: Mapped[str] = mapped_column(String(16), default="transceiver")
    system_id: Mapped[str] = mapped_column(String(16))
    password: Mapped[str] = mapped_column(String(16))
    system_type: Mapped[str] = mapped_column(String(16), default="")
    window: Mapped[int] = mapped_column(Integer, default=10)
    max_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    source_ton: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_npi: Mapped[int | None] = mapped_column(Integer, nullable=True)
    concat: Mapped[str] = mapped_column(String(8), default="udh8")
    packed: Mapped[bool] = mapped_column(Boolean, default=False)
    id_format: Mapped[str] = mapped_column(String(8), default="auto")
    receipt_id_format: Mapped[str] = mapped_column(String(8), default="auto")
    default_alphabet: Mapped[str] = mapped_column(String(8), default="gsm7")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    live_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    live_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    live_stats: Mapped[dict[str, Any] | None] = mapped_column(JSONText, nullable=True)
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CarrierRoute(Base):
    """Destinations starting with ``prefix`` (E.164 digits; '' = all) go to these connectors."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RouteConnector(Base):
    """One connector of a route, in failover order (position 0 is tried first)."""

    __tablename__ = "route_connectors"

    route_id: Mapped[int] = mapped_column(
        ForeignKey("routes.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector_id: Mapped[int] = mapped_column(
        ForeignKey("connectors.id", ondelete="RESTRICT"), index=True
    )


class CarrierSegment(Base):
    """One submitted part of a message: the carrier's id for it and its receipt.

    ``carrier_id`` is the normalised id (see ``smpp.receipts.normalize_message_id``),
    ``raw_id`` the id as the carrier wrote it. Receipts are matched by
    (connector, carrier_id); ids are not unique over time (an SMSC may restart its
    counter), so the newest row wins.
    """

    __tablename__ = "carrier_segments"
    __table_args__ = (Index("ix_carrier_segments_lookup", "connector", "carrier_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    segment: Mapped[int] = mapped_column(Integer)
    connector: Mapped[str] = mapped_column(String(32))
    carrier_id: Mapped[str] = mapped_column(String(72))
    raw_id: Mapped[str] = mapped_column(String(72))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    stat: Mapped[str | None] = mapped_column(String(16), nullable=True)
    err: Mapped[str | None] = mapped_column(String(16), nullable=True)
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PendingReceipt(Base):
    """A receipt whose carrier id is not known (yet): kept until the id is recorded, or
    dropped (and logged) after ``SMSSTREAMS_PENDING_RECEIPT_SECONDS``."""

    __tablename__ = "pending_receipts"
    __table_args__ = (Index("ix_pending_receipts_lookup", "connector", "carrier_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(String(32))
    carrier_id: Mapped[str] = mapped_column(String(72))
    report: Mapped[dict[str, Any]] = mapped_column(JSONText)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class InboundPart(Base):
    """One part of a multipart MO message, stored before it is acknowledged."""

    __tablename__ = "inbound_parts"
    __table_args__ = (
        UniqueConstraint(
            "connector",
            "source",
            "destination",
            "scheme",
            "reference",
            "total",
            "seqnum",
            name="uq_inbound_parts_part",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(24))
    destination: Mapped[str] = mapped_column(String(24))
    scheme: Mapped[str] = mapped_column(String(8))
    reference: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    seqnum: Mapped[int] = mapped_column(Integer)
    alphabet: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


messages_table = cast(Table, Message.__table__)
events_table = cast(Table, MessageEvent.__table__)
streams_table = cast(Table, Stream.__table__)
sender_ids_table = cast(Table, SenderId.__table__)
inbound_table = cast(Table, InboundMessage.__table__)
deliveries_table = cast(Table, WebhookDelivery.__table__)
attempts_table = cast(Table, WebhookAttempt.__table__)
connectors_table = cast(Table, Connector.__table__)
routes_table = cast(Table, CarrierRoute.__table__)
route_connectors_table = cast(Table, RouteConnector.__table__)
segments_table = cast(Table, CarrierSegment.__table__)
pending_receipts_table = cast(Table, PendingReceipt.__table__)
inbound_parts_table = cast(Table, InboundPart.__table__)
