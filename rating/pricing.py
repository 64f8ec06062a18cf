"""The arithmetic of one price: quantities, per-call increments, unit rounding, amounts."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from rating.model import Meter, Usage
from rating.money import round_to

ONE = Decimal(1)
SECOND = timedelta(seconds=1)
_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_UP}


def quantities(usage: Usage, count: str = "both") -> dict[str, Decimal]:
    """The base-unit quantity of each meter this usage feeds (before any rounding)."""
    kind = usage.type
    if kind == "data":
        octets = (
            usage.octets_in + usage.octets_out
            if count == "both"
            else (usage.octets_in if count == "in" else usage.octets_out)
        )
        return {"data": Decimal(octets)}
    if kind == "time" or kind == "voice":
        seconds = usage.seconds
        if seconds is None:
            seconds = (usage.end - usage.start) // SECOND
        return {kind: Decimal(seconds)}
    if kind == "sms":
        return {"sms": Decimal(usage.events)}
    return {"energy_import": usage.kwh_import, "energy_export": usage.kwh_export}


def billed_seconds(seconds: Decimal, increments: tuple[int, int] | None) -> Decimal:
    """Per-call increments: "30/6" charges the first 30 s, then each started 6 s."""
    if increments is None or seconds <= 0:
        return seconds
    first, step = increments
    if seconds <= first:
        return Decimal(first)
    return first + ((seconds - first + step - 1) // step) * step  # whole seconds: ceiling division


def round_units(position: Decimal, meter: Meter) -> Decimal:
    """The period's cumulative position rounded to whole billing units (in base units)."""
    size = meter.unit_size
    return (position / size).quantize(ONE, rounding=_ROUNDING[meter.rounding]) * size


def amount_of(units: Decimal, price: Decimal, meter: Meter) -> Decimal:
    amount = units * price
    if meter.credit:
        amount = -amount
    return amount if meter.scale is None else round_to(amount, meter.scale)
