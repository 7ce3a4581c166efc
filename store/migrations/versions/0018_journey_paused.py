"""a journey's paused state: contacts entering a paused journey start paused (their sends held until resumed)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journey") as batch:
        batch.add_column(sa.Column("paused_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("journey") as batch:
        batch.drop_column("paused_at")
