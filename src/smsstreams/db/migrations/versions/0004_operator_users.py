"""operator users: users.is_operator

Written by hand: one column, false for every existing user (operators are named with
``smsstreams operator grant EMAIL``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:12:40.418305
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_operator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_operator")
