"""delivery foundation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("provider_id", sa.String(length=40), nullable=False),
        sa.Column("provider_event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        sa.Column("message_log_id", sa.String(length=40), nullable=True),
        sa.Column("contact_id", sa.String(length=40), nullable=True),
        sa.Column("bounce_type", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("raw_type", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_id", "provider_event_id", name="uq_delivery_event"),
    )
    with op.batch_alter_table("delivery_event", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_event_message", ["workspace_id", "provider_message_id"], unique=False)

    op.create_table(
        "delivery_provider",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_delivery_provider_name"),
    )
    with op.batch_alter_table("delivery_provider", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_provider_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "sending_domain",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dkim_selector", sa.String(length=63), nullable=False),
        sa.Column("dkim_private_key", sa.Text(), nullable=False),
        sa.Column("dkim_public_key", sa.Text(), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("last_check", sa.JSON(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "domain", name="uq_sending_domain"),
    )
    with op.batch_alter_table("sending_domain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sending_domain_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "channel", "address", name="uq_suppression"),
    )
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.create_index("ix_message_log_provider_message", ["workspace_id", "provider_message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_log", schema=None) as batch_op:
        batch_op.drop_index("ix_message_log_provider_message")

    op.drop_table("suppression")
    with op.batch_alter_table("sending_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sending_domain_workspace_id"))

    op.drop_table("sending_domain")
    with op.batch_alter_table("delivery_provider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_provider_workspace_id"))

    op.drop_table("delivery_provider")
    with op.batch_alter_table("delivery_event", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_event_message")

    op.drop_table("delivery_event")
