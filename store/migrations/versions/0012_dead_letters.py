"""one dead-letter store for everything that exhausts its retries; journey dead letters move into it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Each journey_dead_letter row becomes a dead_letter of kind journey_step whose subject is "<workflow id>:<run id>"
(the old table's unique key); its version and step go into the input. The old table is dropped.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from store.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _dead_letter_table() -> sa.Table:
    return op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=250), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("activity_id", sa.String(length=64), nullable=True),
        sa.Column("journey_id", sa.String(length=40), nullable=True),
        sa.Column("contact_id", sa.String(length=40), nullable=True),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("error_type", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", UTCDateTime(), nullable=False),
        sa.Column("last_failed_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject_id", name="uq_dead_letter_subject"),
    )


_OLD = sa.table(
    "journey_dead_letter",
    sa.column("id", sa.Integer()),
    sa.column("workspace_id", sa.String()),
    sa.column("journey_id", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("contact_id", sa.String()),
    sa.column("workflow_id", sa.String()),
    sa.column("run_id", sa.String()),
    sa.column("step_id", sa.String()),
    sa.column("error_type", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("failed_at", UTCDateTime()),
)


def upgrade() -> None:
    table = _dead_letter_table()
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.create_index("ix_dead_letter_workspace", ["workspace_id", "status", "id"], unique=False)
        batch_op.create_index("ix_dead_letter_journey", ["workspace_id", "journey_id", "id"], unique=False)
    rows = op.get_bind().execute(sa.select(_OLD).order_by(_OLD.c.id)).mappings().all()
    moved: list[dict[str, Any]] = [
        {
            "workspace_id": r["workspace_id"],
            "kind": "journey_step",
            "subject_id": f"{r['workflow_id']}:{r['run_id']}",
            "workflow_id": r["workflow_id"],
            "run_id": r["run_id"],
            "journey_id": r["journey_id"],
            "contact_id": r["contact_id"],
            "input": {
                "workspace_id": r["workspace_id"],
                "journey_id": r["journey_id"],
                "version": r["version"],
                "contact_id": r["contact_id"],
                "step_id": r["step_id"],
            },
            "error_type": r["error_type"],
            "error": r["reason"],
            "attempts": 1,
            "first_failed_at": r["failed_at"],
            "last_failed_at": r["failed_at"],
            "status": "open",
        }
        for r in rows
    ]
    if moved:
        op.bulk_insert(table, moved)
    with op.batch_alter_table("journey_dead_letter", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_dead_letter_journey")
    op.drop_table("journey_dead_letter")


def downgrade() -> None:
    old = op.create_table(
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
    new = sa.table(
        "dead_letter",
        *(sa.column(name) for name in ("workspace_id", "kind", "workflow_id", "run_id", "journey_id")),
        *(sa.column(name) for name in ("contact_id", "error_type", "error")),
        sa.column("last_failed_at", UTCDateTime()),
        sa.column("input", sa.JSON()),
    )
    rows = op.get_bind().execute(sa.select(new).where(new.c.kind == "journey_step")).mappings().all()
    back = [
        {
            "workspace_id": r["workspace_id"],
            "journey_id": r["journey_id"],
            "version": int(r["input"].get("version") or 0),
            "contact_id": r["contact_id"],
            "workflow_id": r["workflow_id"],
            "run_id": r["run_id"],
            "step_id": r["input"].get("step_id"),
            "error_type": r["error_type"],
            "reason": r["error"],
            "failed_at": r["last_failed_at"],
        }
        for r in rows
        if r["journey_id"] and r["workflow_id"] and r["run_id"]
    ]
    if back:
        op.bulk_insert(old, back)
    with op.batch_alter_table("dead_letter", schema=None) as batch_op:
        batch_op.drop_index("ix_dead_letter_journey")
        batch_op.drop_index("ix_dead_letter_workspace")
    op.drop_table("dead_letter")
