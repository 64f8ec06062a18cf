"""Invoice totals, computed in one place.

Rules (../shared/scenarios/pricing.md):
- a line's amount is rounded to the currency's scale, half up, when it is written
  (S4: calls 1.2920 -> 1.29); the subtotal is the sum of the written lines;
- tax = round_half_up(taxable subtotal x rate), taxable = lines not marked exempt
  (S7: 129.00 x 0.15 = 19.35);
- gross = subtotal + tax; the credit carried in pays as much of a positive gross as it
  can; an invoice never goes below zero: a negative gross (credits exceeding charges,
  e.g. solar export) makes the total 0.00 and the rest is carried forward.

So: total = gross - credit_applied + credit_generated, and
    credit_forward = credit_in - credit_applied + credit_generated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from invoicing.currency import round_money

if TYPE_CHECKING:
    from invoicing.model import InvoiceLine, Tax

ZERO = Decimal(0)


@dataclass(frozen=True)
class InvoiceTotals:
    currency: str
    subtotal: Decimal  # sum of written lines
    taxable: Decimal  # part of the subtotal the tax applies to
    exempt: Decimal  # part of the subtotal without tax
    tax: Decimal
    gross: Decimal  # subtotal + tax
    credit_in: Decimal  # credit carried in
    credit_applied: Decimal  # of credit_in, used on this invoice
    credit_generated: Decimal  # a negative gross, turned into credit
    credit_forward: Decimal  # carried to the next invoice
    total: Decimal  # amount due, never below zero


@dataclass(frozen=True)
class WrittenLine:
    line: InvoiceLine
    amount: Decimal  # rounded to the currency's scale


@dataclass(frozen=True)
class LineGroup:
    name: str
    lines: tuple[WrittenLine, ...]
    subtotal: Decimal


def write_line(line: InvoiceLine, currency: str) -> Decimal:
    """The amount printed for a line: rounded half up to the currency's scale."""
    return round_money(line.amount, currency)


def compute_totals(
    lines: Iterable[InvoiceLine], currency: str, tax: Tax | None, credit_in: Decimal = ZERO
) -> InvoiceTotals:
    taxable = exempt = round_money(ZERO, currency)
    for line in lines:
        amount = write_line(line, currency)
        if line.tax_exempt or tax is None:
            exempt += amount
        else:
            taxable += amount
    subtotal = taxable + exempt
    tax_amount = round_money(taxable * tax.rate, currency) if tax is not None else round_money(ZERO, currency)
    gross = subtotal + tax_amount
    credit_in = round_money(credit_in, currency)
    if gross >= 0:
        credit_applied = min(credit_in, gross)
        credit_generated = round_money(ZERO, currency)
        total = gross - credit_applied
    else:
        credit_applied = round_money(ZERO, currency)
        credit_generated = -gross
        total = round_money(ZERO, currency)
    return InvoiceTotals(
        currency=currency,
        subtotal=subtotal,
        taxable=taxable,
        exempt=exempt,
        tax=tax_amount,
        gross=gross,
        credit_in=credit_in,
        credit_applied=credit_applied,
        credit_generated=credit_generated,
        credit_forward=credit_in - credit_applied + credit_generated,
        total=total,
    )


def group_lines(lines: Iterable[InvoiceLine], currency: str) -> tuple[LineGroup, ...]:
    """Lines grouped by `group`, groups in the order they first appear."""
    grouped: dict[str, list[WrittenLine]] = {}
    for line in lines:
        grouped.setdefault(line.group, []).append(WrittenLine(line, write_line(line, currency)))
    return tuple(
        LineGroup(name, tuple(written), sum((w.amount for w in written), round_money(ZERO, currency)))
        for name, written in grouped.items()
    )
