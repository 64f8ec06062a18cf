"""Totals against the pricing scenarios: exact Decimal figures."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from invoicing.currency import currency_scale, format_money, round_money
from invoicing.errors import CurrencyError, InvoiceModelError
from invoicing.model import InvoiceLine, Tax
from invoicing.totals import compute_totals
from tests.invoicing import factories as f


def test_s7_june_prorated_fee_plus_installation_with_gst() -> None:
    t = f.s7_june().totals
    assert (t.subtotal, t.tax, t.total) == (D("129.00"), D("19.35"), D("148.35"))
    assert str(t.total) == "148.35"


def test_s7_july_full_month() -> None:
    t = f.s7_july().totals
    assert (t.subtotal, t.tax, t.total) == (D("60.00"), D("9.00"), D("69.00"))


def test_s8_wholesale_owner() -> None:
    t = f.s8_owner().totals
    assert (t.subtotal, t.tax, t.total) == (D("45.00"), D("6.75"), D("51.75"))


def test_s4_voice_line_is_rounded_half_up_when_written() -> None:
    line = f.s4_calls_line()
    assert line.amount == D("1.2920")
    t = compute_totals([line], "NZD", None)
    assert str(t.subtotal) == "1.29"


def test_s6_bundle_overage_four_decimals() -> None:
    t = f.s6_talk250().totals
    assert (t.subtotal, t.tax, t.total) == (D("80.20"), D("0.00"), D("80.20"))
    assert str(t.total) == "80.20"


def test_each_line_is_rounded_before_summing() -> None:
    lines = [InvoiceLine("call", D("0.0050"), group="Calls")] * 3
    # 3 x round(0.005) = 0.03, not round(0.015) = 0.02
    assert compute_totals(lines, "NZD", None).subtotal == D("0.03")


def test_tax_is_rounded_half_up_and_exempt_lines_are_untaxed() -> None:
    lines = [InvoiceLine("a", D("10.10")), InvoiceLine("b", D("5.00"), tax_exempt=True)]
    t = compute_totals(lines, "NZD", Tax("GST", D("0.15")))
    # 10.10 x 0.15 = 1.515 -> 1.52
    assert (t.taxable, t.exempt, t.tax, t.total) == (D("10.10"), D("5.00"), D("1.52"), D("16.62"))


def test_credit_carried_in_is_applied_and_rest_carried_forward() -> None:
    inv = replace(f.s7_july(), credit_in=D("100.00"))
    t = inv.totals
    assert (t.gross, t.credit_applied, t.total, t.credit_forward) == (
        D("69.00"), D("69.00"), D("0.00"), D("31.00"))  # fmt: skip


def test_invoice_never_goes_below_zero_solar_export() -> None:
    # S5 June shape, but with more export than import + fee
    lines = [
        InvoiceLine("Daily fixed", D("36.00"), unit="day", quantity=D(30)),
        InvoiceLine("Import", D("28.00"), group="Energy import"),
        InvoiceLine("Export credit", D("-80.00"), group="Energy export credit"),
    ]
    t = compute_totals(lines, "NZD", None, credit_in=D("5.00"))
    assert (t.subtotal, t.total, t.credit_applied, t.credit_generated, t.credit_forward) == (
        D("-16.00"), D("0.00"), D("0.00"), D("16.00"), D("21.00"))  # fmt: skip


def test_s5_july_solar() -> None:
    lines = [
        InvoiceLine("Import 100 kWh", D("28.00"), group="Energy import"),
        InvoiceLine("Export 700 kWh", D("-56.00"), group="Energy export credit"),
        InvoiceLine("Daily fixed, 31 days", D("37.20")),
    ]
    assert compute_totals(lines, "NZD", None).total == D("9.20")


def test_groups_keep_first_seen_order_and_subtotals() -> None:
    groups = f.s8_owner().groups
    expected = [("Recurring", D("15.00")), ("Data — wholesale", D("30.00"))]
    assert [(g.name, g.subtotal) for g in groups] == expected


@pytest.mark.parametrize(("code", "scale"), [("NZD", 2), ("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3)])
def test_currency_scales(code: str, scale: int) -> None:
    assert currency_scale(code) == scale


def test_jpy_rounds_to_whole_yen() -> None:
    assert round_money(D("100.5"), "JPY") == D("101")
    assert format_money(D("1234"), "JPY") == "¥1,234"


def test_unknown_currency_and_float_money_are_errors() -> None:
    with pytest.raises(CurrencyError):
        currency_scale("XYZ")
    with pytest.raises(InvoiceModelError):
        InvoiceLine("x", 1.5)  # type: ignore[arg-type]
    with pytest.raises(CurrencyError):
        replace(f.s7_july(), currency="ZZZ")


def test_empty_invoice_totals_have_the_currency_scale() -> None:
    t = compute_totals([], "EUR", Tax("VAT", D("0.20")))
    assert str(t.total) == "0.00" and str(t.subtotal) == "0.00"
