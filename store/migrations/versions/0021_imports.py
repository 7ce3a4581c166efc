"""CSV imports: the import, its uploaded parts and its row errors; an index on contact phones for matching

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_import",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("part_bytes", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("data_offset", sa.BigInteger(), nullable=False),
        sa.Column("cursor_offset", sa.BigInteger(), nullable=False),
        sa.Column("cursor_row", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_contact_import_workspace_id", "contact_import", ["workspace_id"])
    op.create_table(
        "contact_import_part",
        sa.Column("import_id", sa.String(length=40), sa.ForeignKey("contact_import.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "contact_import_error",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.String(length=40), sa.ForeignKey("contact_import.id"), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_contact_import_error_row", "contact_import_error", ["import_id", "row"])
    op.create_index("ix_contact_workspace_phone", "contact", ["workspace_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_contact_workspace_phone", table_name="contact")
    op.drop_index("ix_contact_import_error_row", table_name="contact_import_error")
    op.drop_table("contact_import_error")
    op.drop_table("contact_import_part")
    op.drop_index("ix_contact_import_workspace_id", table_name="contact_import")
    op.drop_table("contact_import")
