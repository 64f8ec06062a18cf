"""invoices.overdue_at: when jet-invoicer raised invoice.overdue (once per invoice)

Revision ID: 0004_invoice_overdue
Revises: 0003_invoicing
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_invoice_overdue"
down_revision = "0003_invoicing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("overdue_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("overdue_at")
