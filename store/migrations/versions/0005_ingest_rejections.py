"""ingest rejections (Segment messages set aside while their batch was accepted)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_rejection",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint", sa.String(length=16), nullable=False),
        sa.Column("batch_index", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_truncated", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "digest", name="uq_ingest_rejection_digest"),
    )
    with op.batch_alter_table("ingest_rejection", schema=None) as batch_op:
        batch_op.create_index("ix_ingest_rejection_workspace", ["workspace_id", "id"], unique=False)
        batch_op.create_index("ix_ingest_rejection_received", ["workspace_id", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingest_rejection", schema=None) as batch_op:
        batch_op.drop_index("ix_ingest_rejection_received")
        batch_op.drop_index("ix_ingest_rejection_workspace")
    op.drop_table("ingest_rejection")
