"""carriers: connectors, routes, carrier segments, pending receipts, MO parts

Generated with autogenerate against 0002 and checked by hand: the new tables, and one
index on messages (status, channel, next_attempt_at) for the carrier claim.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 21:57:51.337256
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smsstreams.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("tls", sa.Boolean(), nullable=False),
        sa.Column("bind_type", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=16), nullable=False),
        sa.Column("password", sa.String(length=16), nullable=False),
        sa.Column("system_type", sa.String(length=16), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("max_per_second", sa.Float(), nullable=True),
        sa.Column("source_ton", sa.Integer(), nullable=True),
        sa.Column("source_npi", sa.Integer(), nullable=True),
        sa.Column("concat", sa.String(length=8), nullable=False),
        sa.Column("packed", sa.Boolean(), nullable=False),
        sa.Column("id_format", sa.String(length=8), nullable=False),
        sa.Column("receipt_id_format", sa.String(length=8), nullable=False),
        sa.Column("default_alphabet", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", smsstreams.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("live_state", sa.String(length=16), nullable=True),
        sa.Column("live_error", sa.Text(), nullable=True),
        sa.Column("live_stats", smsstreams.db.types.JSONText(), nullable=True),
        sa.Column("live_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connectors")),
        sa.UniqueConstraint("name", name=op.f("uq_connectors_name")),
    )
    op.create_table(
        "inbound_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("destination", sa.String(length=24), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seqnum", sa.Integer(), nullable=False),
        sa.Column("alphabet", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_parts")),
        sa.UniqueConstraint(
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
    with op.batch_alter_table("inbound_parts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_parts_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "pending_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("carrier_id", sa.String(length=72), nullable=False),
        sa.Column("report", smsstreams.db.types.JSONText(), nullable=False),
        sa.Column("received_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_receipts")),
    )
    with op.batch_alter_table("pending_receipts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pending_receipts_lookup", ["connector", "carrier_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pending_receipts_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
        sa.UniqueConstraint("prefix", name=op.f("uq_routes_prefix")),
    )
    op.create_table(
        "route_connectors",
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_route_connectors_connector_id_connectors"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["routes.id"],
            name=op.f("fk_route_connectors_route_id_routes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("route_id", "position", name=op.f("pk_route_connectors")),
    )
    with op.batch_alter_table("route_connectors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_route_connectors_connector_id"), ["connector_id"], unique=False
        )

    op.create_table(
        "carrier_segments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("carrier_id", sa.String(length=72), nullable=False),
        sa.Column("raw_id", sa.String(length=72), nullable=False),
        sa.Column("submitted_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("stat", sa.String(length=16), nullable=True),
        sa.Column("err", sa.String(length=16), nullable=True),
        sa.Column("receipt_at", smsstreams.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_carrier_segments_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_segments")),
    )
    with op.batch_alter_table("carrier_segments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_carrier_segments_lookup", ["connector", "carrier_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carrier_segments_message_id"), ["message_id"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_channel_queue", ["status", "channel", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_channel_queue")

    with op.batch_alter_table("carrier_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_segments_message_id"))
        batch_op.drop_index("ix_carrier_segments_lookup")

    op.drop_table("carrier_segments")
    with op.batch_alter_table("route_connectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_route_connectors_connector_id"))

    op.drop_table("route_connectors")
    op.drop_table("routes")
    with op.batch_alter_table("pending_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_receipts_received_at"))
        batch_op.drop_index("ix_pending_receipts_lookup")

    op.drop_table("pending_receipts")
    with op.batch_alter_table("inbound_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_parts_received_at"))

    op.drop_table("inbound_parts")
    op.drop_table("connectors")
