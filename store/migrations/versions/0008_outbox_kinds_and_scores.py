"""outbox rows of several kinds (events, contact changes, segment entries and exits, score crossings); contact
scores per group

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dispatch_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=24), nullable=False, server_default="event"))
    op.create_table(
        "contact_score",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("score_group", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", "score_group"),
    )
    op.create_index(
        "ix_contact_score_leaderboard", "contact_score", ["workspace_id", "score_group", "score"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_contact_score_leaderboard", table_name="contact_score")
    op.drop_table("contact_score")
    with op.batch_alter_table("dispatch_outbox", schema=None) as batch_op:
        batch_op.drop_column("kind")
