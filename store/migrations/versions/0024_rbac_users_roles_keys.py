"""RBAC: users, workspace memberships, custom roles; API keys gain a role, last-used and rotated times

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "membership",
        sa.Column("workspace_id", sa.String(length=40), primary_key=True),
        sa.Column("user_id", sa.String(length=40), primary_key=True),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_membership_user", "membership", ["user_id"])
    op.create_table(
        "access_role",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_access_role_name"),
    )
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("role", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("rotated_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("rotated_at")
        batch.drop_column("last_used_at")
        batch.drop_column("role")
    op.drop_table("access_role")
    op.drop_index("ix_membership_user", table_name="membership")
    op.drop_table("membership")
    op.drop_table("app_user")
