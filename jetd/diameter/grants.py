"""How much to grant, the pure part (``granting`` holds it in Redis): rating groups to data
classes, what seconds and events cost (what blocking bundles have left and what octets cost are
``jetd.charging``'s, shared with RADIUS logins).

A grant is held (in Redis, ``QuotaStore.hold``) from the CCA that gives it until the gateway
reports its use (CCR-Update/Terminate) or its Validity-Time runs out (plus a grace period): the
units other sessions of the account can still be granted are the blocking bundles' remaining
volume less what is held. Usage itself moves the same period counters RADIUS moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from jetd.charging import Price, time_price
from protocols.diameter import ServiceUnits
from rating import Bundle, Plan, Usage, rate

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


def spending_caps(plan: Plan, at: datetime) -> tuple[Bundle, ...]:
    """The plan's money bundles that block once spent ("10.00 of calls a month, then barred")."""
    return tuple(b for b in plan.terms_at(at).bundles if b.kind == "money" and b.on_exhausted == "block")


TIMED, DATA, TEXTS = frozenset({"voice", "time"}), frozenset({"data"}), frozenset({"sms"})


def covering(caps: Iterable[Bundle], meters: frozenset[str]) -> tuple[Bundle, ...]:
    """Those of ``caps`` over any of ``meters``."""
    return tuple(b for b in caps if meters & set(b.meters))


def spent(caps: Iterable[Bundle], counters: Mapping[str, Decimal], exhausted: Iterable[str],
          meters: frozenset[str]) -> bool:
    """Whether a money bundle that blocks, over any of ``meters``, is spent: by the period
    ``counters``, or by what the usage just applied reported ``exhausted``."""
    gone = set(exhausted)
    return any(b.name in gone or counters.get(b.counter, Decimal(0)) >= b.size
               for b in covering(caps, meters))


def seconds_price(plan: Plan, at: datetime, counters: Mapping[str, Decimal], *, started: datetime,
                  used: int, a_number: str, b_number: str) -> Price:
    """What a grant of so many more seconds has to hold: on the plan's voice meter the whole call,
    the ``used`` seconds so far and those, priced as one call (connection charge, increments, the
    destination's zone from the numbers), for a call is charged only when it ends; else on its
    time meter those seconds alone (charged as reported); nothing on neither. A destination the
    plan has no price for raises RatingError."""
    meters = plan.terms_at(at).meters

    def call(seconds: int) -> Decimal:
        if seconds <= 0:
            return Decimal(0)
        usage = Usage("voice", started, started + timedelta(seconds=seconds), seconds=seconds,
                      a_number=a_number, b_number=b_number)
        return rate(usage, plan, counters).total

    if "voice" in meters:
        return lambda seconds: call(used + seconds)
    if "time" in meters:
        return time_price(plan, at, counters)
    return lambda seconds: Decimal(0)


def events_price(plan: Plan, at: datetime, counters: Mapping[str, Decimal]) -> Price:
    """What so many one-shot events (texts, on the plan's ``sms`` meter) cost; RatingError when the
    plan does not price them."""
    def price(events: int) -> Decimal:
        if events <= 0:
            return Decimal(0)
        return rate(Usage("sms", at, at, events=events), plan, counters).total
    return price


def wants_time(units: ServiceUnits | None) -> bool:
    """A Requested-Service-Unit asking for CC-Time and no octets (a call, a timed session)."""
    return units is not None and units.time is not None and \
        units.total_octets is None and units.input_octets is None and units.output_octets is None


def party_number(address: str | None) -> str:
    """The number in a Calling/Called-Party-Address ("tel:+64 9 123 4567",
    "sip:+6491234567@ims.example.net;user=phone") as the pricebook's prefixes have it (digits,
    without "+"); a SIP user that is not a number as it is."""
    if not address:
        return ""
    value = address.strip()
    scheme, colon, rest = value.partition(":")
    if colon and scheme.lower() in ("tel", "sip", "sips"):
        value = rest
    value = value.split("@", 1)[0].split(";", 1)[0]
    if value and all(c in "+0123456789-. ()" for c in value):
        return "".join(c for c in value if c.isdigit())
    return value


def used_counters(units: ServiceUnits) -> dict[str, int]:
    """Used-Service-Unit as accounting counters (one report, not cumulative): CC-Input/Output-Octets
    as in/out; CC-Total-Octets alone counts as input; CC-Time as time."""
    octets_in, octets_out = units.input_octets or 0, units.output_octets or 0
    if not octets_in and not octets_out and units.total_octets:
        octets_in = units.total_octets
    return {"in": octets_in, "out": octets_out, "time": units.time or 0}
