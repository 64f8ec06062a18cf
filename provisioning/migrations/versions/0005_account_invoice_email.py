"""accounts.invoice_email: an account's own choice of invoices by e-mail (None: the realm's)

Revision ID: 0005_account_invoice_email
Revises: 0004_invoice_overdue
Create Date: 2026-12-07 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_account_invoice_email"
down_revision = "0004_invoice_overdue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("invoice_email", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("invoice_email")
