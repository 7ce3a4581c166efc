"""webhook nonces (replay protection for signed provider webhooks)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_nonce",
        sa.Column("provider_id", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", "nonce"),
    )
    with op.batch_alter_table("webhook_nonce", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_nonce_signed_at", ["provider_id", "signed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_nonce", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_nonce_signed_at")
    op.drop_table("webhook_nonce")
