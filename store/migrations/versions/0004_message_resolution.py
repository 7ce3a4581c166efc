"""message resolution (the audit trail of operators resolving uncertain messages)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_resolution",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("message_log_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("api_key_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_log_id"], ["message_log.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_resolution", schema=None) as batch_op:
        batch_op.create_index("ix_message_resolution_message_log_id", ["message_log_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_resolution", schema=None) as batch_op:
        batch_op.drop_index("ix_message_resolution_message_log_id")
    op.drop_table("message_resolution")
