"""companies with custom attributes; contacts linked to a company

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "company",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "domain", name="uq_company_domain"),
        sa.UniqueConstraint("workspace_id", "external_id", name="uq_company_external_id"),
    )
    op.create_index("ix_company_workspace_id", "company", ["workspace_id"])
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("company_id", sa.String(length=40), nullable=True))
        batch.create_index("ix_contact_company", ["workspace_id", "company_id"])


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_index("ix_contact_company")
        batch.drop_column("company_id")
    op.drop_index("ix_company_workspace_id", table_name="company")
    op.drop_table("company")
