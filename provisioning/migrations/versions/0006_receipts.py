"""receipts: one per payment, numbered per realm, with its PDF and delivery state

Revision ID: 0006_receipts
Revises: 0005_account_invoice_email
Create Date: 2026-12-07 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_receipts"
down_revision = "0005_account_invoice_email"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.String(length=40)


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("realm", sa.String(length=64), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("ledger_id", ID, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("number", name=op.f("uq_receipts_number")),
        sa.UniqueConstraint("ledger_id", name=op.f("uq_receipts_ledger_id")),
    )
    op.create_index("ix_receipts_account_id", "receipts", ["account_id"])
    op.create_index("ix_receipts_status_next", "receipts", ["status", "next_attempt_at"])
    op.create_table(
        "receipt_counters",
        sa.Column("realm", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("realm", "year", name=op.f("pk_receipt_counters")),
    )


def downgrade() -> None:
    op.drop_index("ix_receipts_status_next", table_name="receipts")
    op.drop_index("ix_receipts_account_id", table_name="receipts")
    op.drop_table("receipt_counters")
    op.drop_table("receipts")
