"""The invoicing tables: rated sessions and their charges, invoices, their lines, delivery
state, the per-realm number counters and the billed periods.

They live in the provisioning database (same engine); the Alembic revision
``0003_invoicing`` in ``provisioning/migrations/versions`` creates them and must match
what is here. Money is an exact decimal string, instants naive UTC (the provisioning
column types).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from provisioning.tables import NAMING, Id, Money, UtcDateTime

metadata = MetaData(naming_convention=NAMING)

rated_sessions = Table(
    "rated_sessions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, nullable=False),
    Column("session_key", String(255), nullable=False),
    Column("realm", String(64), nullable=False),
    Column("username", String(253), nullable=False),
    Column("session_id", String(255), nullable=False),
    Column("nas", String(255), nullable=False),
    Column("start_at", UtcDateTime, nullable=False),
    Column("stop_at", UtcDateTime, nullable=False),
    Column("cause", String(64), nullable=False),
    Column("counters", JSON, nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "session_key", name="uq_rated_sessions_account_key"),
)

rated_charges = Table(
    "rated_charges", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_row", Id, ForeignKey("rated_sessions.id"), nullable=False),
    Column("account_id", Id, nullable=False),
    Column("realm", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),  # the charge's start: which period it belongs to
    Column("meter", String(32), nullable=False),
    Column("due", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("detail", JSON, nullable=False),  # rating.explain.charge_to_dict
    Column("invoice_id", Id),  # None until an invoice carries it
    Index("ix_rated_charges_account_open", "account_id", "invoice_id", "at"),
    Index("ix_rated_charges_realm_at", "realm", "at"),
)

invoices = Table(
    "invoices", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(128), nullable=False, unique=True),
    Column("realm", String(64), nullable=False),
    Column("account_id", Id, nullable=False),
    Column("username", String(253), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),  # inclusive, as printed
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", Money, nullable=False),
    Column("tax", Money, nullable=False),
    Column("total", Money, nullable=False),
    Column("credit_in", Money, nullable=False),
    Column("credit_forward", Money, nullable=False),
    Column("document", JSON, nullable=False),  # invoicing.codec.invoice_to_dict
    Column("pdf", LargeBinary),  # rendered by the worker; None until then
    Column("created_at", UtcDateTime, nullable=False),
    Column("overdue_at", UtcDateTime),  # when invoice.overdue was raised (once); None = not (yet)
    Index("ix_invoices_account_period", "account_id", "period_start"),
)

invoice_lines = Table(
    "invoice_lines", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("invoice_id", Id, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("line_group", String(128), nullable=False),
    Column("description", String(500), nullable=False),
    Column("quantity", Money, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("unit_price", Money),
    Column("amount", Money, nullable=False),  # as rated (unrounded)
    Column("tax_exempt", Boolean, nullable=False),
)

billed_periods = Table(
    "billed_periods", metadata,
    Column("account_id", Id, primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("invoice_id", Id),  # None: the period had nothing to bill
    Column("billed_at", UtcDateTime, nullable=False),
)

billed_ledger = Table(
    "billed_ledger", metadata,
    Column("ledger_id", Id, primary_key=True),  # provisioning's ledger row
    Column("invoice_id", Id, nullable=False),
)

receipts = Table(
    "receipts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(128), nullable=False, unique=True),
    Column("realm", String(64), nullable=False),
    Column("account_id", Id, nullable=False, index=True),
    Column("ledger_id", Id, nullable=False, unique=True),  # the payment: one receipt each
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("document", JSON, nullable=False),  # invoicing.codec.receipt_to_dict
    Column("pdf", LargeBinary),
    Column("status", String(10), nullable=False),  # pending | delivered | failed
    Column("channel", String(10)),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", Text),
    Column("detail", Text),  # the SMTP server's reply, or the outbox file written
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_receipts_status_next", "status", "next_attempt_at"),
)

receipt_counters = Table(
    "receipt_counters", metadata,
    Column("realm", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

invoice_counters = Table(
    "invoice_counters", metadata,
    Column("realm", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

deliveries = Table(
    "invoice_deliveries", metadata,
    Column("invoice_id", Id, primary_key=True),
    Column("status", String(10), nullable=False),  # pending | delivered | failed
    Column("channel", String(8)),  # email | print, once delivered
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),  # None unless pending
    Column("last_error", Text),
    Column("detail", Text),
    Column("message_key", String(160), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_invoice_deliveries_status_next", "status", "next_attempt_at"),
)
