"""segments: saved filters, current membership, membership history; the event index segment filters count on

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("time_based", sa.Boolean(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_segment_workspace", "segment", ["workspace_id", "id"])
    op.create_table(
        "segment_membership",
        sa.Column("segment_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "contact_id"),
    )
    op.create_index("ix_segment_membership_contact", "segment_membership", ["workspace_id", "contact_id"])
    op.create_table(
        "segment_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("segment_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("exited_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_segment_history_segment", "segment_history", ["segment_id", "id"])
    op.create_index("ix_segment_history_open", "segment_history", ["segment_id", "contact_id", "exited_at"])
    # event filters count a named event per contact within a window
    op.create_index("ix_event_segment", "event", ["workspace_id", "name", "contact_id", "timestamp"])
    # the scheduled refresh looks for events that left a window: by name and time, whatever the contact
    op.create_index("ix_event_name_time", "event", ["workspace_id", "name", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_event_name_time", table_name="event")
    op.drop_index("ix_event_segment", table_name="event")
    op.drop_table("segment_history")
    op.drop_table("segment_membership")
    op.drop_table("segment")
