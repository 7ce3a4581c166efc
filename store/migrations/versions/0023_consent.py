"""consent: topics, current state per contact/channel/topic, append-only history, workspace settings

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_topic",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "key", name="uq_consent_topic_key"),
    )
    op.create_table(
        "contact_consent",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "contact_id", "channel", "topic", name="uq_contact_consent"),
    )
    op.create_index("ix_contact_consent_contact", "contact_consent", ["contact_id"])
    op.create_table(
        "consent_history",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("previous_status", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_consent_history_contact", "consent_history", ["contact_id", "recorded_at"])
    op.create_table(
        "workspace_consent_settings",
        sa.Column("workspace_id", sa.String(length=40), sa.ForeignKey("workspace.id"), primary_key=True),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column("double_opt_in", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workspace_consent_settings")
    op.drop_index("ix_consent_history_contact", table_name="consent_history")
    op.drop_table("consent_history")
    op.drop_index("ix_contact_consent_contact", table_name="contact_consent")
    op.drop_table("contact_consent")
    op.drop_table("consent_topic")
