"""invoicing: rated sessions and charges, invoices, lines, deliveries, counters

Revision ID: 0003_invoicing
Revises: 0002_hooks
Create Date: 2026-11-26 07:00:00

The tables are described in invoicing/tables.py (owned by the invoicing worker).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_invoicing"
down_revision = "0002_hooks"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.String(length=40)


def upgrade() -> None:
    op.create_table(
        "rated_sessions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("session_key", sa.String(length=255), nullable=False),
        sa.Column("realm", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("nas", sa.String(length=255), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("stop_at", sa.DateTime(), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column("stream_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_sessions")),
        sa.UniqueConstraint("account_id", "session_key", name="uq_rated_sessions_account_key"),
    )
    op.create_table(
        "rated_charges",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("session_row", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("realm", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("meter", sa.String(length=32), nullable=False),
        sa.Column("due", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("invoice_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["session_row"], ["rated_sessions.id"],
                                name=op.f("fk_rated_charges_session_row_rated_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_charges")),
    )
    op.create_index("ix_rated_charges_account_open", "rated_charges", ["account_id", "invoice_id", "at"])
    op.create_index("ix_rated_charges_realm_at", "rated_charges", ["realm", "at"])
    op.create_table(
        "invoices",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("realm", sa.String(length=64), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", MONEY, nullable=False),
        sa.Column("tax", MONEY, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("credit_in", MONEY, nullable=False),
        sa.Column("credit_forward", MONEY, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    op.create_index("ix_invoices_account_period", "invoices", ["account_id", "period_start"])
    op.create_table(
        "invoice_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("invoice_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line_group", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("unit_price", MONEY, nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("tax_exempt", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"],
                                name=op.f("fk_invoice_lines_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    op.create_index("ix_invoice_lines_invoice_id", "invoice_lines", ["invoice_id"])
    op.create_table(
        "billed_periods",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("invoice_id", ID, nullable=True),
        sa.Column("billed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "period_start", name=op.f("pk_billed_periods")),
    )
    op.create_table(
        "billed_ledger",
        sa.Column("ledger_id", ID, nullable=False),
        sa.Column("invoice_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("ledger_id", name=op.f("pk_billed_ledger")),
    )
    op.create_table(
        "invoice_counters",
        sa.Column("realm", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("realm", "year", name=op.f("pk_invoice_counters")),
    )
    op.create_table(
        "invoice_deliveries",
        sa.Column("invoice_id", ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("message_key", sa.String(length=160), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_deliveries")),
    )
    op.create_index("ix_invoice_deliveries_status_next", "invoice_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    for index, table in (("ix_invoice_deliveries_status_next", "invoice_deliveries"),
                         ("ix_invoice_lines_invoice_id", "invoice_lines"),
                         ("ix_invoices_account_period", "invoices"),
                         ("ix_rated_charges_realm_at", "rated_charges"),
                         ("ix_rated_charges_account_open", "rated_charges")):
        op.drop_index(index, table_name=table)
    for table in ("invoice_deliveries", "invoice_counters", "billed_ledger", "billed_periods",
                  "invoice_lines", "invoices", "rated_charges", "rated_sessions"):
        op.drop_table(table)
