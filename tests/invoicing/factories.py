"""Invoices of the pricing scenarios (../shared/scenarios/pricing.md), built by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from invoicing.model import (
    Branding,
    Buyer,
    Invoice,
    InvoiceLine,
    Receipt,
    Seller,
    SettledInvoice,
    Tax,
    UsageSeries,
)

GST = Tax("GST", D("0.15"))


def seller(logo_path: str | None = None, watermark: str | None = None) -> Seller:
    return Seller(
        name="Ōtautahi Fibre Ltd",
        address=("12 Tūranga Lane", "Christchurch 8011", "New Zealand"),
        tax_id="GST 123-456-789",
        email="accounts@otautahi.example",
        phone="+64 3 555 0100",
        website="otautahi.example",
        branding=Branding(
            logo_path=logo_path,
            primary_color="#0B4F6C",
            accent_color="#E3F2F7",
            watermark=watermark,
            footer="Ōtautahi Fibre Ltd · Company 1234567 · Questions? accounts@otautahi.example",
        ),
    )


def buyer() -> Buyer:
    return Buyer(
        name="Mere Pōtae",
        username="mere",
        email="mere@example.net",
        address=("4 Kōwhai Street", "Lyttelton 8082"),
        account_id="42",
    )


def daily(start: date, end: date, unit: str = "GB") -> UsageSeries:
    days = (end - start).days + 1
    return UsageSeries.from_mapping(
        unit, {start + timedelta(n): D(n % 7 * 3 + 1) / 2 for n in range(days)}, title="Daily data usage"
    )


def s7_june(logo_path: str | None = None, watermark: str | None = None) -> Invoice:
    """S7: Fibre 300 60.00/month in advance, activated 16 June + installation 99.00."""
    return Invoice(
        number="INV-default-2026-000001",
        realm="default",
        currency="NZD",
        issue_date=date(2026, 6, 30),
        due_date=date(2026, 7, 20),
        period_start=date(2026, 6, 16),
        period_end=date(2026, 6, 30),
        seller=seller(logo_path, watermark),
        buyer=buyer(),
        lines=(
            InvoiceLine(
                "Fibre 300, 16 Jun – 30 Jun (15 of 30 days)",
                D("30.00"),
                quantity=D("0.5"),
                unit="month",
                unit_price=D("60.00"),
            ),
            InvoiceLine("Installation fee", D("99.00"), group="One-off", unit_price=D("99.00")),
        ),
        tax=GST,
        usage=daily(date(2026, 6, 16), date(2026, 6, 30)),
        payment_instructions="Pay by bank transfer to 12-3456-7890123-00, reference INV-default-2026-000001.",
        notes=("Thank you for choosing Ōtautahi Fibre.",),
    )


def s7_july() -> Invoice:
    return Invoice(
        number="INV-default-2026-000002",
        realm="default",
        currency="NZD",
        issue_date=date(2026, 7, 1),
        due_date=date(2026, 7, 20),
        period_start=date(2026, 7, 1),
        period_end=date(2026, 7, 31),
        seller=seller(),
        buyer=buyer(),
        lines=(InvoiceLine("Fibre 300, July", D("60.00"), unit="month", unit_price=D("60.00")),),
        tax=GST,
    )


def s8_owner() -> Invoice:
    """S8: the VISP owner's wholesale invoice."""
    return Invoice(
        number="INV-default-2026-000003",
        realm="default",
        currency="NZD",
        issue_date=date(2026, 6, 30),
        due_date=date(2026, 7, 20),
        period_start=date(2026, 6, 1),
        period_end=date(2026, 6, 30),
        seller=seller(),
        buyer=Buyer("VISP Example Ltd", "visp-owner", "owner@visp.example"),
        lines=(
            InvoiceLine(
                "Active subscribers in visp.example",
                D("15.00"),
                quantity=D(3),
                unit="subscriber",
                unit_price=D("5.00"),
            ),
            InvoiceLine(
                "Data, all users of visp.example",
                D("30.00"),
                group="Data — wholesale",
                quantity=D(60),
                unit="GB",
                unit_price=D("0.50"),
            ),
        ),
        tax=GST,
    )


S4_CALLS = ("0.0000", "0.1000", "0.1520", "0.8500", "0.1900")


def s4_calls_line() -> InvoiceLine:
    total = sum((D(c) for c in S4_CALLS), D(0))
    return InvoiceLine("Calls, 5", total, group="Calls — national", quantity=D(5), unit="calls")


def s6_talk250() -> Invoice:
    return Invoice(
        number="INV-default-2026-000004",
        realm="default",
        currency="NZD",
        issue_date=date(2026, 6, 30),
        due_date=date(2026, 7, 20),
        period_start=date(2026, 6, 1),
        period_end=date(2026, 6, 30),
        seller=seller(),
        buyer=buyer(),
        lines=(
            InvoiceLine("Talk 250, June", D("30.00"), unit="month", unit_price=D("30.00")),
            InvoiceLine("Calls beyond the 250.00 bundle", D("50.2000"), group="Calls", unit="calls",
                        quantity=D(1290)),
        ),
    )  # fmt: skip


def receipt(logo_path: str | None = None) -> Receipt:
    return Receipt(
        number="RCT-default-2026-000001",
        realm="default",
        currency="NZD",
        payment_date=date(2026, 7, 10),
        amount=D("148.35"),
        method="Bank transfer",
        reference="MERE PŌTAE INV-000001",
        seller=seller(logo_path, watermark="PAID"),
        buyer=buyer(),
        settled=(SettledInvoice("INV-default-2026-000001", D("148.35"), date(2026, 6, 30)),),
        balance_after=D("0.00"),
    )
