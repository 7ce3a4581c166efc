"""journey dead letters (executions that failed for good)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_dead_letter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=True),
        sa.Column("error_type", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "run_id", name="uq_journey_dead_letter_run"),
    )
    with op.batch_alter_table("journey_dead_letter", schema=None) as batch_op:
        batch_op.create_index("ix_journey_dead_letter_journey", ["workspace_id", "journey_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("journey_dead_letter", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_dead_letter_journey")
    op.drop_table("journey_dead_letter")
