"""field-level controls: per-role field policies, the role an API key acts as, the role a webhook endpoint reads as

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_policy",
        sa.Column("workspace_id", sa.String(length=40), sa.ForeignKey("workspace.id"), primary_key=True),
        sa.Column("role", sa.String(length=64), primary_key=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    # api_key.role, which field policies key on, is the RBAC migration's
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.add_column(sa.Column("role", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.drop_column("role")
    op.drop_table("field_policy")
