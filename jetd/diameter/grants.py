"""How much to grant (pure): rating groups to data classes, what blocking bundles have left.

A grant is held (in Redis, ``QuotaStore.hold``) from the CCA that gives it until the gateway
reports its use (CCR-Update/Terminate) or its Validity-Time runs out (plus a grace period): the
units other sessions of the account can still be granted are the blocking bundles' remaining
volume less what is held. Usage itself moves the same period counters RADIUS moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from protocols.diameter import ServiceUnits
from rating import Plan, Usage, bundle_state, rate

EMPTY: Mapping[str, str] = MappingProxyType({})


def rating_group_classes(table: Mapping[str, str]) -> dict[int, str]:
    """``[diameter] rating_groups`` ({"10": "web"}) with integer keys; a bad key is a config error."""
    out = {}
    for key, klass in table.items():
        try:
            out[int(key)] = klass
        except ValueError:
            raise ValueError(f"diameter.rating_groups: {key!r} is not a Rating-Group number") from None
    return out


def class_attributes(plan: Plan, at: datetime, klass: str | None) -> Mapping[str, str]:
    """The record attributes that make the engine pick data class ``klass`` on ``plan``."""
    data = plan.terms_at(at).meters.get("data")
    if klass is None or data is None or data.classes is None:
        return EMPTY
    classes = data.classes
    value = next((v for v, k in classes.values.items() if k == klass), klass)
    return {classes.attribute: value}


def blocking_allowance(plan: Plan, counters: Mapping[str, Decimal], at: datetime) -> int | None:
    """Octets left before a data bundle that blocks is used up; None when nothing blocks data."""
    bundles = {b.name: b for b in plan.terms_at(at).bundles}
    left: int | None = None
    for state in bundle_state(plan, counters, at):
        bundle = bundles.get(state.name)
        if bundle is None or state.kind != "volume" or state.action != "block" or "data" not in bundle.meters:
            continue
        remaining = int(state.remaining)
        left = remaining if left is None else min(left, remaining)
    return left


def price_of(plan: Plan, at: datetime, attributes: Mapping[str, str], counters: Mapping[str, Decimal],
             octets: int) -> Decimal:
    """What ``octets`` of data would cost at ``at`` after the period's ``counters`` (downloaded or
    uploaded, whichever costs more): what a prepaid balance pays for them."""
    if octets <= 0:
        return Decimal(0)
    begin = at - timedelta(seconds=1)
    prices = []
    for usage in (Usage("data", begin, at, octets_in=octets, attributes=attributes),
                  Usage("data", begin, at, octets_out=octets, attributes=attributes)):
        prices.append(sum((c.due for c in rate(usage, plan, counters).charges), Decimal(0)))
    return max(prices)


def affordable(plan: Plan, at: datetime, attributes: Mapping[str, str], counters: Mapping[str, Decimal],
               balance: Decimal, octets: int) -> tuple[int, Decimal]:
    """The most octets, up to ``octets``, that ``balance`` pays for, and their price (a price never
    falls as the quantity grows: bisection)."""
    price = price_of(plan, at, attributes, counters, octets)
    if price <= balance:
        return octets, price
    low, low_price, high = 0, Decimal(0), octets  # price(low) <= balance < price(high)
    while high - low > 1:
        middle = (low + high) // 2
        price = price_of(plan, at, attributes, counters, middle)
        if price <= balance:
            low, low_price = middle, price
        else:
            high = middle
    return low, low_price


def used_counters(units: ServiceUnits) -> dict[str, int]:
    """Used-Service-Unit as accounting counters (one report, not cumulative): CC-Input/Output-Octets
    as in/out; CC-Total-Octets alone counts as input; CC-Time as time."""
    octets_in, octets_out = units.input_octets or 0, units.output_octets or 0
    if not octets_in and not octets_out and units.total_octets:
        octets_in = units.total_octets
    return {"in": octets_in, "out": octets_out, "time": units.time or 0}
