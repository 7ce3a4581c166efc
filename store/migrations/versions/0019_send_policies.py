"""send policies: the workspace default, and the per-contact reservations frequency caps count

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_send_policy",
        sa.Column("workspace_id", sa.String(length=40), primary_key=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "send_counter",
        sa.Column("workspace_id", sa.String(length=40), primary_key=True),
        sa.Column("contact_id", sa.String(length=40), primary_key=True),
        sa.Column("reservations", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "send_reservation",
        sa.Column("idempotency_key", sa.String(length=255), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=True),
        sa.Column("reserved_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_send_reservation_contact", "send_reservation", ["workspace_id", "contact_id", "channel", "reserved_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_send_reservation_contact", table_name="send_reservation")
    op.drop_table("send_reservation")
    op.drop_table("send_counter")
    op.drop_table("workspace_send_policy")
