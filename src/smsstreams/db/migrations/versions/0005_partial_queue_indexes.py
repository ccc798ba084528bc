"""partial queue indexes on messages

Written by hand. The four indexes the dispatcher searches (queued, waiting for a demo
receipt, waiting for expiry) held every message ever sent, with the status as their first
column, so each status move rewrote entries in all of them (on PostgreSQL it also ruled
out HOT updates for nothing). As partial indexes they hold only the rows still waiting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PARTIAL = (
    ("ix_messages_queue", ["next_attempt_at"], "status = 'queued'"),
    ("ix_messages_channel_queue", ["channel", "next_attempt_at"], "status = 'queued'"),
    ("ix_messages_demo_receipt", ["demo_receipt_at"], "demo_receipt_at IS NOT NULL"),
    ("ix_messages_expiry", ["expires_at"], "status = 'sent'"),
)
_FULL = (
    ("ix_messages_queue", ["status", "next_attempt_at"]),
    ("ix_messages_channel_queue", ["status", "channel", "next_attempt_at"]),
    ("ix_messages_demo_receipt", ["status", "demo_receipt_at"]),
    ("ix_messages_expiry", ["status", "expires_at"]),
)


def upgrade() -> None:
    for name, _columns, _where in _PARTIAL:
        op.drop_index(name, table_name="messages")
    for name, columns, where in _PARTIAL:
        op.create_index(
            name,
            "messages",
            columns,
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _columns, _where in _PARTIAL:
        op.drop_index(name, table_name="messages")
    for name, columns in _FULL:
        op.create_index(name, "messages", columns, unique=False)
