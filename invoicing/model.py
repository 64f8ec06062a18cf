"""The invoice and receipt model: pure, frozen, Decimal-only.

Billing runs, the store and the API build these; the renderer and the mailer read them.
Objects validate when built, so an invalid invoice cannot exist. Lists passed for the
tuple fields are turned into tuples. Totals are not stored: `Invoice.totals` computes
them in one place (`invoicing.totals`) from the lines, the tax and the credit carried in.

Dates are `datetime.date`; a period is inclusive at both ends (16 Jun – 30 Jun 2026 is
the 15 days billed), which is how it is printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from invoicing.currency import currency_scale
from invoicing.errors import BrandingError, InvoiceModelError
from invoicing.totals import InvoiceTotals, LineGroup, compute_totals, group_lines

_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")

# Usual line groups; any other non-empty text is allowed (e.g. "Data — web, peak").
GROUP_RECURRING = "Recurring"
GROUP_ONE_OFF = "One-off"


def _tuples(obj: Any) -> None:
    """Coerce list fields of a frozen dataclass to tuples (so instances stay hashable)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, list):
            object.__setattr__(obj, f.name, tuple(value))


def _require_decimal(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise InvoiceModelError(f"{owner}.{name} must be a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise InvoiceModelError(f"{owner}.{name} must be finite, got {value}")


def _require_text(owner: str, name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvoiceModelError(f"{owner}.{name} must be non-empty text")


def _require_date(owner: str, name: str, value: object) -> None:
    if not isinstance(value, date) or type(value) is not date:
        raise InvoiceModelError(f"{owner}.{name} must be a datetime.date, got {type(value).__name__}")


@dataclass(frozen=True)
class Branding:
    """How a realm's documents look. Colours are "#RRGGBB" or "#RGB"."""

    logo_path: str | None = None  # PNG or JPEG
    primary_color: str = "#1F3A5F"  # headings, table header, totals box
    accent_color: str = "#E9EEF5"  # group rows, zebra stripes, chart bars use primary
    watermark: str | None = None  # diagonal light text on every page, e.g. a brand or "DRAFT"
    footer: str = ""  # small print at the bottom of every page

    def __post_init__(self) -> None:
        for name in ("primary_color", "accent_color"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
                raise BrandingError(f"branding.{name} must be a hex colour like '#1F3A5F', got {value!r}")


@dataclass(frozen=True)
class Seller:
    """The realm issuing the document."""

    name: str
    address: tuple[str, ...] = ()
    tax_id: str | None = None  # e.g. "GST 123-456-789"
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    branding: Branding = field(default_factory=Branding)

    def __post_init__(self) -> None:
        _tuples(self)
        _require_text("Seller", "name", self.name)


@dataclass(frozen=True)
class Buyer:
    """The account billed."""

    name: str
    username: str
    email: str | None = None
    address: tuple[str, ...] = ()
    account_id: str | None = None

    def __post_init__(self) -> None:
        _tuples(self)
        _require_text("Buyer", "name", self.name)
        _require_text("Buyer", "username", self.username)


@dataclass(frozen=True)
class InvoiceLine:
    """One charge or credit. `amount` is as rated (voice keeps 4 decimals); it is rounded
    half up to the currency's scale when written. Credits are negative amounts."""

    description: str
    amount: Decimal
    group: str = GROUP_RECURRING
    quantity: Decimal = Decimal(1)
    unit: str = ""  # "month", "GB", "min", "kWh", "day", "" for a plain count
    unit_price: Decimal | None = None
    tax_exempt: bool = False

    def __post_init__(self) -> None:
        _require_text("InvoiceLine", "description", self.description)
        _require_text("InvoiceLine", "group", self.group)
        _require_decimal("InvoiceLine", "amount", self.amount)
        _require_decimal("InvoiceLine", "quantity", self.quantity)
        if self.unit_price is not None:
            _require_decimal("InvoiceLine", "unit_price", self.unit_price)


@dataclass(frozen=True)
class Tax:
    """A realm's tax: `Tax("GST", Decimal("0.15"))` is 15%."""

    name: str
    rate: Decimal

    def __post_init__(self) -> None:
        _require_text("Tax", "name", self.name)
        _require_decimal("Tax", "rate", self.rate)
        if not Decimal(0) <= self.rate < Decimal(1):
            raise InvoiceModelError(f"Tax.rate is a fraction in [0, 1), e.g. 0.15 for 15%; got {self.rate}")

    @property
    def percent(self) -> str:
        """"15%", "12.5%"."""
        return f"{(self.rate * 100).normalize():f}%"


@dataclass(frozen=True)
class UsagePoint:
    day: date
    quantity: Decimal

    def __post_init__(self) -> None:
        _require_date("UsagePoint", "day", self.day)
        _require_decimal("UsagePoint", "quantity", self.quantity)


@dataclass(frozen=True)
class UsageSeries:
    """Daily usage for the chart, e.g. GB per day. Days without a point are drawn as 0."""

    unit: str
    points: tuple[UsagePoint, ...]
    title: str = "Daily usage"

    def __post_init__(self) -> None:
        _tuples(self)
        _require_text("UsageSeries", "unit", self.unit)
        days = [p.day for p in self.points]
        if len(set(days)) != len(days):
            raise InvoiceModelError("UsageSeries.points has the same day twice")

    @classmethod
    def from_mapping(cls, unit: str, daily: dict[date, Decimal], title: str = "Daily usage") -> UsageSeries:
        return cls(unit, tuple(UsagePoint(d, q) for d, q in sorted(daily.items())), title)


@dataclass(frozen=True)
class Invoice:
    number: str  # e.g. "INV-default-2026-000001", gapless per realm (the store's job)
    realm: str
    currency: str  # ISO 4217
    issue_date: date
    due_date: date
    period_start: date
    period_end: date  # inclusive
    seller: Seller
    buyer: Buyer
    lines: tuple[InvoiceLine, ...]
    tax: Tax | None = None
    credit_in: Decimal = Decimal(0)  # credit carried in from earlier invoices (>= 0)
    usage: UsageSeries | None = None
    payment_instructions: str = ""
    notes: tuple[str, ...] = ()
    watermark: str | None = None  # overrides the branding's, e.g. "PAID", "DRAFT"

    def __post_init__(self) -> None:
        _tuples(self)
        _require_text("Invoice", "number", self.number)
        _require_text("Invoice", "realm", self.realm)
        currency_scale(self.currency)
        for name in ("issue_date", "due_date", "period_start", "period_end"):
            _require_date("Invoice", name, getattr(self, name))
        if self.period_end < self.period_start:
            raise InvoiceModelError(f"period ends {self.period_end} before it starts {self.period_start}")
        if self.due_date < self.issue_date:
            raise InvoiceModelError(f"due date {self.due_date} is before the issue date {self.issue_date}")
        for line in self.lines:
            if not isinstance(line, InvoiceLine):
                raise InvoiceModelError(f"Invoice.lines holds a {type(line).__name__}, not an InvoiceLine")
        _require_decimal("Invoice", "credit_in", self.credit_in)
        if self.credit_in < 0:
            raise InvoiceModelError(f"Invoice.credit_in must not be negative, got {self.credit_in}")

    @cached_property
    def totals(self) -> InvoiceTotals:
        return compute_totals(self.lines, self.currency, self.tax, self.credit_in)

    @cached_property
    def groups(self) -> tuple[LineGroup, ...]:
        return group_lines(self.lines, self.currency)

    @property
    def filename(self) -> str:
        return pdf_filename(self.number)

    @property
    def effective_watermark(self) -> str | None:
        return self.watermark if self.watermark is not None else self.seller.branding.watermark


@dataclass(frozen=True)
class SettledInvoice:
    """An invoice (part-)paid by a payment."""

    number: str
    amount: Decimal  # applied to this invoice
    issue_date: date | None = None

    def __post_init__(self) -> None:
        _require_text("SettledInvoice", "number", self.number)
        _require_decimal("SettledInvoice", "amount", self.amount)


@dataclass(frozen=True)
class Receipt:
    """Proof of one payment."""

    number: str  # e.g. "RCT-default-2026-000001"
    realm: str
    currency: str
    payment_date: date
    amount: Decimal
    method: str  # "Bank transfer", "Card", "Cash", …
    seller: Seller
    buyer: Buyer
    reference: str = ""
    settled: tuple[SettledInvoice, ...] = ()
    balance_after: Decimal = Decimal(0)  # still owed after this payment; negative = in credit
    notes: tuple[str, ...] = ()
    watermark: str | None = None

    def __post_init__(self) -> None:
        _tuples(self)
        _require_text("Receipt", "number", self.number)
        _require_text("Receipt", "realm", self.realm)
        _require_text("Receipt", "method", self.method)
        currency_scale(self.currency)
        _require_date("Receipt", "payment_date", self.payment_date)
        _require_decimal("Receipt", "amount", self.amount)
        _require_decimal("Receipt", "balance_after", self.balance_after)
        if self.amount <= 0:
            raise InvoiceModelError(f"Receipt.amount must be positive, got {self.amount}")
        applied = sum((s.amount for s in self.settled), Decimal(0))
        if applied > self.amount:
            raise InvoiceModelError(f"Receipt settles {applied} but the payment is only {self.amount}")

    @property
    def filename(self) -> str:
        return pdf_filename(self.number)

    @property
    def effective_watermark(self) -> str | None:
        return self.watermark if self.watermark is not None else self.seller.branding.watermark


def pdf_filename(number: str) -> str:
    """The file name of an invoice's or a receipt's PDF (attachment, print outbox)."""
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', number).strip('._') or 'document'}.pdf"
