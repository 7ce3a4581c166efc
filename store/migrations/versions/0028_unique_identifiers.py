"""unique identifiers: contact.email_key and contact.phone_key under unique indexes, backfilled by the policy

Existing duplicates keep the key on the newest contact (updated_at, then id); the older ones keep no key and are
listed by GET /v1/identity/duplicates for an operator to merge.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.identity_keys import backfill_all

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("phone_key", sa.String(length=32), nullable=True))
    op.create_index(
        "uq_contact_email_key", "contact", ["workspace_id", "email_key"], unique=True,
        sqlite_where=sa.text("email_key IS NOT NULL"), postgresql_where=sa.text("email_key IS NOT NULL"),
    )  # fmt: skip
    op.create_index(
        "uq_contact_phone_key", "contact", ["workspace_id", "phone_key"], unique=True,
        sqlite_where=sa.text("phone_key IS NOT NULL"), postgresql_where=sa.text("phone_key IS NOT NULL"),
    )  # fmt: skip
    backfill_all(op.get_bind())


def downgrade() -> None:
    op.drop_index("uq_contact_phone_key", table_name="contact")
    op.drop_index("uq_contact_email_key", table_name="contact")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("phone_key")
        batch.drop_column("email_key")
