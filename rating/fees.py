"""Recurring and one-off fees for the invoicer: pure functions over a plan and dates.

Dates are local dates in the plan's time zone; intervals are half-open [start, end).
A monthly fee with daily proration costs amount × active days / days in that month of
the cycle (S7: 60.00 × 15 / 30 = 30.00); "none" charges the whole fee for any active
day. Daily fees cost amount × active days; weekly fees prorate over 7 days. A price
change (the plan's Terms) inside the period splits the days between the old and new
amount. Amounts come back unrounded: round each line with ``money.to_ledger``.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from rating.errors import RatingError
from rating.model import Plan, RecurringFee

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One fee line for an invoice: unrounded amount and how it was worked out."""

    name: str
    amount: Decimal
    currency: str
    start: date
    end: date  # exclusive
    days: int  # days charged (active days)
    period_days: int  # days the fee's period has (1 for daily fees)
    count: int  # subscribers (1 for per-account fees)
    timing: str  # advance | arrears
    explanation: str


def add_months(d: date, months: int, day: int | None = None) -> date:
    """``d`` moved by ``months``, on ``day`` (default d's day), clamped to the month's end."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(day or d.day, monthrange(year, month)[1]))


def cycle_period(plan: Plan, on: date) -> tuple[date, date]:
    """The billing period [start, end) containing local date ``on`` (cycle day of the month)."""
    start = date(on.year, on.month, plan.cycle_day)
    if on < start:
        start = add_months(start, -1, plan.cycle_day)
    return start, add_months(start, 1, plan.cycle_day)


def period_bounds(plan: Plan, at: datetime) -> tuple[datetime, datetime]:
    """The billing period containing instant ``at``, as aware UTC datetimes.

    The quota layer resets period counters at its end; usage spanning it is split there.
    """
    local = at.astimezone(plan.timezone).date()
    a, b = cycle_period(plan, local)
    return (
        datetime.combine(a, time(0), plan.timezone).astimezone(UTC),
        datetime.combine(b, time(0), plan.timezone).astimezone(UTC),
    )


def _subperiods(fee: RecurringFee, start: date, end: date) -> list[tuple[date, date]]:
    if fee.every == "day":
        return [(start, end)]
    out: list[tuple[date, date]] = []
    a, k = start, 0
    while a < end:
        k += 1
        b = add_months(start, k) if fee.every == "month" else start + timedelta(days=7 * k)
        out.append((a, b))
        a = b
    return out


def _active(day: date, active: Sequence[tuple[date, date | None]]) -> bool:
    return any(a <= day and (b is None or day < b) for a, b in active)


def recurring_fees(
    plan: Plan, start: date, end: date, active: Sequence[tuple[date, date | None]], subscribers: int = 1
) -> list[FeeLine]:
    """The plan's recurring fees for the service period [start, end).

    ``active`` lists the subscription's active intervals [from, to) (to None: still
    active). ``subscribers`` multiplies fees that are ``per = "subscriber"``
    (wholesale: the realm's active subscribers, S8). Which service period an invoice
    covers is the invoicer's choice: in advance, the period starting at the invoice
    date; in arrears, the one just ended (see ``FeeLine.timing``).
    """
    if end <= start:
        raise RatingError("the fee period ends before it starts")
    lines: list[FeeLine] = []
    names: list[str] = []
    for terms in plan.terms:
        names += [f.name for f in terms.fees if f.name not in names]
    for name in names:
        for a, b in _subperiods(_fee_at(plan, name, start) or _first_fee(plan, name), start, end):
            groups: dict[tuple[Decimal, str, str, str], int] = {}
            period_days = (b - a).days
            d = a
            while d < b and d < end:
                fee = _fee_at(plan, name, d)
                if fee is not None and _active(d, active):
                    key = (fee.amount, fee.every, fee.proration, fee.per)
                    groups[key] = groups.get(key, 0) + 1
                d += timedelta(days=1)
            for (amount, every, proration, per), days in groups.items():
                count = subscribers if per == "subscriber" else 1
                fee = _fee_at(plan, name, a) or _first_fee(plan, name)
                if every == "day":
                    value, how = amount * days, f"{amount} × {days} days"
                    pdays = 1
                elif proration == "none":
                    value, how = amount, f"{amount} per {every}"
                    pdays = period_days
                else:
                    value = amount * days / period_days
                    how = (
                        f"{amount} × {days}/{period_days} days"
                        if days != period_days
                        else f"{amount} per {every}"
                    )
                    pdays = period_days
                if count != 1:
                    value, how = value * count, f"{how} × {count} subscribers"
                lines.append(
                    FeeLine(name, value, plan.currency, a, min(b, end), days, pdays, count, fee.timing, how)
                )
    return lines


def _fee_at(plan: Plan, name: str, day: date) -> RecurringFee | None:
    at = datetime.combine(day, time(0), plan.timezone)
    for fee in plan.terms_at(at).fees:
        if fee.name == name:
            return fee
    return None


def _first_fee(plan: Plan, name: str) -> RecurringFee:
    for terms in plan.terms:
        for fee in terms.fees:
            if fee.name == name:
                return fee
    raise RatingError(f"plan {plan.name!r} has no fee {name!r}")


def one_off_fees(plan: Plan, event: str, at: datetime) -> list[FeeLine]:
    """The one-off fees the plan charges on ``event`` (activation, deactivation, manual) at ``at``."""
    day = at.astimezone(plan.timezone).date()
    return [
        FeeLine(
            f.name,
            f.amount,
            plan.currency,
            day,
            day + timedelta(days=1),
            1,
            1,
            1,
            "advance",
            f"one-off on {event}",
        )
        for f in plan.terms_at(at).one_off
        if f.on == event
    ]
