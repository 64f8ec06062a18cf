"""Group charges into invoice usage lines: data by class and window, calls by zone,
energy by direction. Each line sums its charges unrounded, then rounds once (half up)
to the currency's scale — S4: five calls of 4-place charges, one line of 1.29."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from rating.errors import CurrencyMismatch
from rating.model import Charge
from rating.money import ZERO, to_ledger

_NAMES = {
    "data": "Data",
    "time": "Time",
    "voice": "Calls",
    "sms": "Messages",
    "energy_import": "Energy from the grid",
    "energy_export": "Energy to the grid (credit)",
}


@dataclass(frozen=True, slots=True)
class UsageLine:
    label: str  # e.g. "Data web peak", "Calls nz-mobile"
    meter: str
    klass: str | None
    window: str | None
    zone: str | None
    units: Decimal  # billed, in ``unit``
    unit: str
    amount: Decimal  # sum of what is due, unrounded
    ledger: Decimal  # amount rounded to the currency's scale, half up
    currency: str
    charges: int


GROUPS = ("meter", "klass", "window", "zone")


def usage_lines(charges: Iterable[Charge], currency: str, by: tuple[str, ...] = GROUPS) -> list[UsageLine]:
    """One line per distinct value of the ``by`` fields (default: meter, class, window,
    zone; ``("meter",)`` gives one line per meter, e.g. all calls), in first-seen order.
    Connection fees go with their calls. A charge in another currency is an error."""
    groups: dict[tuple[str, str | None, str | None, str | None], list[Charge]] = {}
    for c in charges:
        if c.currency != currency:
            raise CurrencyMismatch(f"a {c.currency} charge on a {currency} invoice")
        key = (
            c.meter,
            c.klass if "klass" in by else None,
            c.window if "window" in by else None,
            c.zone if "zone" in by else None,
        )
        groups.setdefault(key, []).append(c)
    out: list[UsageLine] = []
    for (meter, klass, window, zone), items in groups.items():
        amount = sum((c.due for c in items), ZERO)
        units = sum((c.units for c in items if c.kind != "connection"), ZERO)
        unit = next((c.unit for c in items if c.kind != "connection"), items[0].unit)
        label = " ".join(x for x in (_NAMES.get(meter, meter), klass, window, zone) if x)
        out.append(
            UsageLine(
                label,
                meter,
                klass,
                window,
                zone,
                units,
                unit,
                amount,
                to_ledger(amount, currency),
                currency,
                len(items),
            )
        )
    return out
