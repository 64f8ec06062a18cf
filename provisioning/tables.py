"""Every provisioning table, in one SQLAlchemy Core metadata (no ORM).

Money is kept as exact decimal strings (``Money``), instants as naive UTC
(``UtcDateTime`` returns aware datetimes), so SQLite and PostgreSQL behave alike.
Migrations in ``provisioning/migrations/versions`` must match what is here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Constraint names every Jet table follows (the invoicing tables too), so migrations can name them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Money(TypeDecorator[Decimal]):
    """A Decimal stored as its exact string form."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC; read back as aware UTC."""

    impl = DateTime()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        aware: datetime = value
        return aware.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC)


realms = Table(
    "realms", metadata,
    Column("name", String(64), primary_key=True),
    Column("domains", JSON, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tax_name", String(32), nullable=False),
    Column("tax_rate", Money, nullable=False),
    Column("invoice_format", String(128), nullable=False),
    Column("email_delivery", Boolean, nullable=False),
    Column("auth_mode", String(8), nullable=False),
    Column("auth_settings", JSON, nullable=False),
    Column("allow_chap", Boolean, nullable=False),
    Column("allow_mschap", Boolean, nullable=False),
    Column("logo_path", String(512)),
    Column("colour_primary", String(7)),
    Column("colour_accent", String(7)),
    Column("watermark", String(128)),
    Column("footer", Text),
    Column("owner_account_id", Id),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

accounts = Table(
    "accounts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("realm", String(64), ForeignKey("realms.name"), nullable=False),
    Column("username", String(253), nullable=False),
    Column("status", String(10), nullable=False),
    Column("contact_name", String(200)),
    Column("email", String(254)),
    Column("cycle_day", Integer, nullable=False),
    Column("password_hash", String(200)),
    Column("nt_hash", String(32)),
    Column("cleartext", String(253)),
    Column("simultaneous_use", Integer),
    Column("static_ip", String(45)),
    Column("pool", String(64)),
    Column("reply", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("invoice_email", Boolean),  # invoices by e-mail: True/False; None = as the realm says
    UniqueConstraint("realm", "username", name="uq_accounts_realm_username"),
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("plan", String(128), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),  # exclusive: the day the next one starts; None = open
    Column("created_at", UtcDateTime, nullable=False),
)

ledger = Table(
    "ledger", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("realm", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # charge | payment | topup
    Column("amount", Money, nullable=False),  # always positive; kind gives the sign
    Column("currency", String(3), nullable=False),
    Column("description", String(500), nullable=False),
    Column("reference", String(128)),
    Column("entry_date", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("realm", String(64), ForeignKey("realms.name")),  # None = operator-wide
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

audit = Table(
    "audit", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(300), nullable=False),
    Column("realm", String(64)),
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_audit_realm_id", "realm", "id"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("account_id", Id),
    Column("realm", String(64)),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

idempotency = Table(
    "idempotency", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_id", Id, nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer),  # None while the first request runs
    Column("body", Text),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("token_id", "key", name="uq_idempotency_token_key"),
)
