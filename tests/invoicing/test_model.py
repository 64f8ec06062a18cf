"""The model validates when built: an invalid invoice cannot exist."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, replace
from datetime import date
from decimal import Decimal as D

import pytest

from invoicing.errors import BrandingError, InvoiceModelError
from invoicing.model import Branding, InvoiceLine, Receipt, SettledInvoice, Tax, UsagePoint, UsageSeries
from tests.invoicing import factories as f


def test_invoices_are_frozen_and_hashable() -> None:
    inv = f.s7_june()
    with pytest.raises(FrozenInstanceError):
        inv.number = "x"  # type: ignore[misc]
    assert hash(inv.lines) == hash(f.s7_june().lines)


def test_invoices_pickle_for_a_process_pool() -> None:
    inv = f.s7_june()
    assert inv.totals.total == D("148.35")  # cached, then pickled along
    again = pickle.loads(pickle.dumps(inv))
    assert again == inv and again.totals == inv.totals


def test_lists_become_tuples() -> None:
    inv = replace(f.s7_july(), lines=[InvoiceLine("a", D("1.00"))], notes=["n"])  # type: ignore[arg-type]
    assert isinstance(inv.lines, tuple) and inv.notes == ("n",)


@pytest.mark.parametrize(
    "change",
    [
        {"period_end": date(2026, 6, 1), "period_start": date(2026, 6, 2)},
        {"due_date": date(2026, 6, 1)},
        {"credit_in": D("-1")},
        {"number": " "},
        {"currency": "nzd"},
        {"credit_in": 1},
        {"lines": ("not a line",)},
    ],
)
def test_invalid_invoices_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(InvoiceModelError):
        replace(f.s7_july(), **change)  # type: ignore[arg-type]


def test_lines_tax_and_usage_validate() -> None:
    with pytest.raises(InvoiceModelError):
        InvoiceLine("x", D("NaN"))
    with pytest.raises(InvoiceModelError):
        InvoiceLine("x", D(1), quantity=2)  # type: ignore[arg-type]
    with pytest.raises(InvoiceModelError):
        Tax("GST", D("15"))  # a fraction, not a percentage
    assert Tax("GST", D("0.125")).percent == "12.5%"
    day = date(2026, 6, 1)
    with pytest.raises(InvoiceModelError):
        UsageSeries("GB", (UsagePoint(day, D(1)), UsagePoint(day, D(2))))


def test_branding_colours_are_checked() -> None:
    assert Branding(primary_color="#abc").primary_color == "#abc"
    for bad in ("red", "#12345", "0B4F6C"):
        with pytest.raises(BrandingError):
            Branding(primary_color=bad)


def test_receipt_cannot_settle_more_than_was_paid() -> None:
    r = f.receipt()
    with pytest.raises(InvoiceModelError):
        replace(r, settled=(SettledInvoice("INV-1", D("200.00")),))
    with pytest.raises(InvoiceModelError):
        replace(r, amount=D("0"))
    assert isinstance(r, Receipt) and r.filename == "RCT-default-2026-000001.pdf"


def test_filenames_are_safe() -> None:
    assert replace(f.s7_july(), number="INV/../../etc 1").filename == "INV_.._.._etc_1.pdf"
