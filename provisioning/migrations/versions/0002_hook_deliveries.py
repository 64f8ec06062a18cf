"""hooks: per-hook outbox cursors and delivery state

Revision ID: 0002_hooks
Revises: 0001
Create Date: 2026-11-26 06:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_hooks"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hook_cursors",
        sa.Column("hook", sa.String(length=128), nullable=False),
        sa.Column("last_event_id", ID, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hook", name=op.f("pk_hook_cursors")),
    )
    op.create_table(
        "hook_deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("hook", sa.String(length=128), nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("realm", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_deliveries")),
        sa.UniqueConstraint("hook", "event_id", name="uq_hook_deliveries_hook_event"),
    )
    with op.batch_alter_table("hook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_hook_deliveries_status_hook", ["status", "hook", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_hook_deliveries_status_hook")
    op.drop_table("hook_deliveries")
    op.drop_table("hook_cursors")
