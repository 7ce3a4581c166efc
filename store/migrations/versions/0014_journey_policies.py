"""journey policies: entries per enrollment (re-entry) and the intent trigger's running counts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journey_enrollment") as batch:
        batch.add_column(sa.Column("entries", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "journey_intent",
        sa.Column("journey_id", sa.String(length=40), primary_key=True),
        sa.Column("contact_id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.Column("seen", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("journey_intent")
    with op.batch_alter_table("journey_enrollment") as batch:
        batch.drop_column("entries")
