"""lead scoring: rules, group settings, ledger, thresholds, alerts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the grants of an event rule read its events only, (workspace, name, contact) ranges per chunk of contacts:
    # through ix_event_segment (workspace, name, contact, timestamp) of migration 0009, which has that prefix
    op.create_table(
        "score_rule",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("score_group", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_name", sa.String(length=255), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_score_rule_workspace", "score_rule", ["workspace_id", "id"])
    op.create_table(
        "score_group_setting",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("score_group", sa.String(length=64), nullable=False),
        sa.Column("half_life_hours", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "score_group"),
    )
    op.create_table(
        "score_ledger",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("score_group", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("points_micro", sa.BigInteger(), nullable=False),
        sa.Column("granted_hour", sa.Integer(), nullable=False),
        sa.Column("half_life_hours", sa.Integer(), nullable=True),
        sa.Column("cap_window", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("rule_id", "event_id", name="uq_score_ledger_rule_event"),
    )
    op.create_index("ix_score_ledger_contact", "score_ledger", ["workspace_id", "contact_id", "id"])
    op.create_index("ix_score_ledger_window", "score_ledger", ["rule_id", "contact_id", "cap_window"])
    op.create_table(
        "score_threshold",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("score_group", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("alert_ttl_hours", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_score_threshold_workspace", "score_threshold", ["workspace_id", "score_group"])
    op.create_table(
        "score_alert",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("threshold_id", sa.String(length=40), nullable=False),
        sa.Column("score_group", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("previous", sa.Float(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_score_alert_workspace", "score_alert", ["workspace_id", "id"])
    op.create_index("ix_score_alert_open", "score_alert", ["closed_at", "expires_at"])


def downgrade() -> None:
    for table in ("score_alert", "score_threshold", "score_ledger", "score_group_setting", "score_rule"):
        op.drop_table(table)
