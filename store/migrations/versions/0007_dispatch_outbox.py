"""dispatch outbox (events waiting to reach journeys) and dispatcher counters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_outbox",
        # BIGINT on PostgreSQL (a busy outbox passes 2^31 ids); INTEGER on SQLite, where only that is the rowid
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("parked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dispatch_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_dispatch_outbox_contact", ["contact_id", "id"], unique=False)
    op.create_table(
        "dispatcher_stats",
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("dispatched", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("failures", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("parked", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner"),
    )


def downgrade() -> None:
    op.drop_table("dispatcher_stats")
    with op.batch_alter_table("dispatch_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_dispatch_outbox_contact")
    op.drop_table("dispatch_outbox")
