"""The billing core: one account, one cycle period, everything gathered — pure.

``bill(BillingInput) -> Draft | None``: the lines an invoice for that period carries, or
None when there is nothing to bill. The store allocates the number and turns the draft
into an ``Invoice`` (``Draft.invoice(number)``) in the same transaction.

What an invoice for the cycle period [start, end) carries:
- recurring fees charged in advance for [start, end), prorated over the days each
  subscription (plan) is active in it — start, end and plan changes split the days;
- recurring fees charged in arrears for the period before, [prev_start, start);
- the plan's activation one-offs when the account's first subscription starts in
  [start, end), and the ledger's one-off charges not yet invoiced;
- usage: every stored rated charge not yet invoiced that started before ``end`` and
  by the cut-off (``usage_before``), grouped by meter, class, window and zone
  (``rating.usage_lines``); money bundles are already netted by the rater (``due``);
- the credit carried in from the account's previous invoice, and the realm's tax;
- for a realm's owner (wholesale, S8): per-subscriber fees times the realm's active
  subscribers, and the realm's usage of the period before rated on the owner's plan.

Nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from invoicing.currency import round_money
from invoicing.errors import CurrencyError
from invoicing.model import (
    GROUP_ONE_OFF,
    GROUP_RECURRING,
    Buyer,
    Invoice,
    InvoiceLine,
    Seller,
    Tax,
    UsageSeries,
)
from rating import Charge, Plan, one_off_fees, recurring_fees, usage_lines
from rating.fees import FeeLine, add_months

GB = Decimal(1_000_000_000)
_USAGE_GROUPS = {"data": "Data", "voice": "Calls", "time": "Time", "sms": "Messages",
                 "energy_import": "Energy", "energy_export": "Energy"}  # fmt: skip


def cycle_period(cycle_day: int, on: date) -> tuple[date, date]:
    """The account's billing period [start, end) that contains ``on``."""
    start = date(on.year, on.month, min(cycle_day, 28))
    if on < start:
        start = add_months(start, -1, cycle_day)
    return start, add_months(start, 1, cycle_day)


def periods_between(cycle_day: int, first: date, last: date) -> list[tuple[date, date]]:
    """Every cycle period from the one containing ``first`` to the one containing ``last``."""
    out: list[tuple[date, date]] = []
    a, b = cycle_period(cycle_day, first)
    while a <= last:
        out.append((a, b))
        a, b = b, add_months(b, 1, cycle_day)
    return out


@dataclass(frozen=True)
class Subscribed:
    """One subscription: its plan from the catalog, active [start, end)."""

    plan: Plan
    start: date
    end: date | None


@dataclass(frozen=True)
class LedgerCharge:
    ledger_id: int
    description: str
    amount: Decimal
    on: date
    currency: str


@dataclass(frozen=True)
class BillingInput:
    account_id: int
    realm: str
    currency: str
    period: tuple[date, date]  # [start, end)
    issue_date: date
    due_date: date
    seller: Seller
    buyer: Buyer
    subscriptions: tuple[Subscribed, ...]
    ledger: tuple[LedgerCharge, ...] = ()
    charges: tuple[tuple[int, Charge], ...] = ()  # (stored id, charge) not yet invoiced
    credit_in: Decimal = Decimal(0)
    tax: Tax | None = None
    subscribers: int = 1  # multiplies per-subscriber fees (wholesale)
    payment_instructions: str = ""
    wholesale: tuple[Charge, ...] = ()  # a realm owner's: the realm's usage rated on the owner's plan
    wholesale_label: str = ""  # e.g. "realm visp.example"


@dataclass(frozen=True)
class Draft:
    """An invoice without its number, and what it consumed (to mark as invoiced)."""

    realm: str
    currency: str
    issue_date: date
    due_date: date
    period: tuple[date, date]
    seller: Seller
    buyer: Buyer
    lines: tuple[InvoiceLine, ...]
    tax: Tax | None
    credit_in: Decimal
    usage: UsageSeries | None
    payment_instructions: str
    charge_ids: tuple[int, ...] = ()
    ledger_ids: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def invoice(self, number: str) -> Invoice:
        return Invoice(
            number=number, realm=self.realm, currency=self.currency, issue_date=self.issue_date,
            due_date=self.due_date, period_start=self.period[0],
            period_end=self.period[1] - timedelta(days=1),
            seller=self.seller, buyer=self.buyer, lines=self.lines, tax=self.tax, credit_in=self.credit_in,
            usage=self.usage, payment_instructions=self.payment_instructions, notes=self.notes,
        )  # fmt: skip


def _fee_line(fee: FeeLine, timing: str) -> InvoiceLine:
    last = fee.end - timedelta(days=1)
    when = f"{fee.start:%d %b} – {last:%d %b %Y}"
    how = f" ({fee.explanation})" if fee.days != fee.period_days or fee.count != 1 else ""
    return InvoiceLine(
        description=f"{fee.name}, {when}{how}" + (" in arrears" if timing == "arrears" else ""),
        amount=fee.amount, group=GROUP_RECURRING,
        quantity=Decimal(fee.count), unit="month" if fee.period_days > 1 else "day",
    )  # fmt: skip


def recurring_lines(inp: BillingInput) -> list[InvoiceLine]:
    start, end = inp.period
    prev = add_months(start, -1)
    lines: list[InvoiceLine] = []
    for sub in inp.subscriptions:
        active = [(sub.start, sub.end)]
        for a, b, timing in ((start, end, "advance"), (prev, start, "arrears")):
            if sub.start >= b or (sub.end is not None and sub.end <= a):
                continue
            for fee in recurring_fees(sub.plan, a, b, active, inp.subscribers):
                if fee.timing == timing and fee.days > 0:
                    lines.append(_fee_line(fee, timing))
    return lines


def one_off_lines(inp: BillingInput) -> list[InvoiceLine]:
    start, end = inp.period
    lines: list[InvoiceLine] = []
    if inp.subscriptions:
        first = min(inp.subscriptions, key=lambda s: s.start)
        if start <= first.start < end:
            at = datetime.combine(first.start, time(12), first.plan.timezone)
            for fee in one_off_fees(first.plan, "activation", at):
                lines.append(InvoiceLine(f"{fee.name} (activation {first.start:%d %b %Y})", fee.amount,
                                         GROUP_ONE_OFF))
    for entry in inp.ledger:
        if entry.currency != inp.currency:
            raise CurrencyError(f"a {entry.currency} ledger charge on a {inp.currency} invoice "
                                f"(ledger entry {entry.ledger_id})")
        lines.append(InvoiceLine(f"{entry.description} ({entry.on:%d %b %Y})", entry.amount, GROUP_ONE_OFF))
    return lines


def usage_span(charges: Sequence[Charge], plan: Plan | None, period_start: date) -> tuple[date, date]:
    """The days the usage on an invoice covers: the cycle period before (usage is billed in
    arrears), reaching back further for late sessions."""
    lo, hi = add_months(period_start, -1), period_start - timedelta(days=1)
    for c in charges:
        lo = min(lo, _local_day(c, plan))
    return lo, hi


def _local_day(c: Charge, plan: Plan | None) -> date:
    return c.start.astimezone(plan.timezone).date() if plan is not None else c.start.date()


def usage_invoice_lines(charges: Sequence[Charge], currency: str, span: tuple[date, date] | None = None
                        ) -> list[InvoiceLine]:  # fmt: skip
    lines: list[InvoiceLine] = []
    when = f", {span[0]:%d %b} – {span[1]:%d %b %Y}" if span else ""
    for u in usage_lines(charges, currency):
        if u.units == 0 and u.amount == 0:
            continue
        lines.append(InvoiceLine(u.label, u.amount, _USAGE_GROUPS.get(u.meter, "Usage") + when,
                                 quantity=u.units, unit=u.unit[:16]))  # fmt: skip
    return lines


def daily_data(charges: Sequence[Charge], plan: Plan | None, span: tuple[date, date]) -> UsageSeries | None:
    """GB per day over the usage span (both ends drawn, so the chart covers the whole span)."""
    daily: dict[date, Decimal] = {}
    for c in charges:
        if c.meter != "data" or c.kind == "connection":
            continue
        day = _local_day(c, plan)
        daily[day] = daily.get(day, Decimal(0)) + c.billed / GB
    if not daily:
        return None
    for edge in span:
        daily.setdefault(edge, Decimal(0))
    return UsageSeries.from_mapping("GB", daily, f"Daily data usage {span[0]:%d %b} – {span[1]:%d %b %Y}")


GROUP_PREPAID = "Prepaid"


def prepaid_lines(usage: Sequence[InvoiceLine], currency: str) -> list[InvoiceLine]:
    """Usage of a prepaid plan was taken off the balance as it was rated: the invoice lists it
    and the same amount (each line as it will be written) as paid, so it is not due again."""
    paid = sum((round_money(line.amount, currency) for line in usage), Decimal(0))
    if not paid:
        return []
    return [InvoiceLine("Paid from your prepaid balance", -paid, GROUP_PREPAID)]


def _prepaid_at(inp: BillingInput, c: Charge, plan: Plan | None) -> bool:
    """Whether the plan the account had on the charge's day was prepaid."""
    day = _local_day(c, plan)
    for sub in inp.subscriptions:
        if sub.start <= day and (sub.end is None or day < sub.end):
            return sub.plan.prepaid is not None
    return plan is not None and plan.prepaid is not None


def bill(inp: BillingInput) -> Draft | None:
    """The draft invoice for ``inp.period``, or None when nothing is due."""
    charges = [c for _, c in inp.charges]
    plan = inp.subscriptions[-1].plan if inp.subscriptions else None
    span = usage_span(charges, plan, inp.period[0])
    prepaid: list[Charge] = []
    postpaid: list[Charge] = []
    for c in charges:
        (prepaid if _prepaid_at(inp, c, plan) else postpaid).append(c)
    paid_usage = usage_invoice_lines(prepaid, inp.currency, span)
    lines = recurring_lines(inp) + one_off_lines(inp) + usage_invoice_lines(postpaid, inp.currency, span)
    lines += paid_usage + prepaid_lines(paid_usage, inp.currency)
    for line in usage_invoice_lines(inp.wholesale, inp.currency, span):
        lines.append(replace(line, description=f"{line.description}, all of {inp.wholesale_label}"))
    if not lines:
        return None
    return Draft(
        realm=inp.realm, currency=inp.currency, issue_date=inp.issue_date, due_date=inp.due_date,
        period=inp.period, seller=inp.seller, buyer=inp.buyer, lines=tuple(lines), tax=inp.tax,
        credit_in=inp.credit_in, usage=daily_data(charges, plan, span),
        payment_instructions=inp.payment_instructions,
        charge_ids=tuple(i for i, _ in inp.charges), ledger_ids=tuple(e.ledger_id for e in inp.ledger),
    )  # fmt: skip
