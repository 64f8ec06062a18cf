"""Meters, their base units and the billing units a pricebook may name.

Base units: data in octets, time and voice in seconds, SMS/events in events, energy in
kWh. "1 GB" = 1,000,000,000 octets (SI, as the scenarios say).
"""

from __future__ import annotations

import re
from decimal import Decimal

from rating.errors import RatingError
from rating.money import decimal

METERS = ("data", "time", "voice", "sms", "energy_import", "energy_export")

UNITS: dict[str, dict[str, Decimal]] = {
    "data": {
        "B": Decimal(1),
        "kB": Decimal(10**3),
        "KB": Decimal(10**3),
        "MB": Decimal(10**6),
        "GB": Decimal(10**9),
        "TB": Decimal(10**12),
    },
    "time": {"s": Decimal(1), "min": Decimal(60), "h": Decimal(3600)},
    "sms": {"event": Decimal(1), "events": Decimal(1), "sms": Decimal(1), "message": Decimal(1)},
    "energy": {"Wh": Decimal("0.001"), "kWh": Decimal(1), "MWh": Decimal(1000)},
}
UNITS["voice"] = UNITS["time"]
UNITS["energy_import"] = UNITS["energy"]
UNITS["energy_export"] = UNITS["energy"]

DEFAULT_UNIT = {
    "data": "GB",
    "time": "min",
    "voice": "min",
    "sms": "event",
    "energy_import": "kWh",
    "energy_export": "kWh",
}

_QTY = re.compile(r"^\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([A-Za-z]+)?\s*$")


def unit_size(meter: str, unit: str) -> Decimal:
    """How many base units one ``unit`` of ``meter`` is; RatingError if it is not one."""
    try:
        return UNITS[meter][unit]
    except KeyError:
        known = ", ".join(UNITS.get(meter, {}))
        raise RatingError(f"unknown unit {unit!r} for {meter} (one of {known})") from None


def parse_quantity(meter: str, value: object, default_unit: str | None = None) -> Decimal:
    """'100 GB' -> 100000000000; a bare number is in ``default_unit`` (or base units)."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        number, unit = decimal(value), default_unit
    elif isinstance(value, str):
        m = _QTY.match(value)
        if not m:
            raise RatingError(f"{value!r} is not a quantity like '10 GB'")
        number, unit = decimal(m.group(1)), m.group(2) or default_unit
    else:
        raise RatingError(f"{value!r} is not a quantity like '10 GB'")
    if number < 0:
        raise RatingError(f"{value!r} is negative")
    return number * unit_size(meter, unit) if unit else number
