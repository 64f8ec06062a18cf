"""The tariff data: immutable records built by the loader, read by the engine.

A Plan has one or more Terms, each in force from ``effective_from`` (None: always);
the engine and the fee functions pick the terms in force when usage happened.
"""

from __future__ import annotations

import copyreg
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from rating.calendar import Calendar
from rating.errors import InvalidUsage
from rating.money import ZERO
from rating.prefixes import CostTable, DestinationTable

USAGE_TYPES = ("data", "time", "voice", "sms", "energy")
EMPTY: Mapping[str, str] = MappingProxyType({})


def _frozen_mapping(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_mapping(m: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _frozen_mapping, (dict(m),)


# read-only mappings in the tariff data pickle as copies (a catalog sent to a billing process)
copyreg.pickle(MappingProxyType, _reduce_mapping)

Rounding = Literal["none", "up", "down", "nearest"]
ExhaustedAction = Literal["charge", "throttle", "block"]
ThresholdAction = Literal["notify", "throttle", "disconnect"]


def _empty() -> Mapping[str, str]:
    return EMPTY


@dataclass(frozen=True, slots=True)
class Usage:
    """One piece of usage to price: what, how much, when (aware datetimes), and context.

    ``type`` is data | time | voice | sms | energy. Data counts ``octets_in`` and/or
    ``octets_out`` (which, is the plan's choice); time and voice use ``seconds``
    (default: end - start); sms counts ``events``; energy has ``kwh_import`` (from the
    grid) and ``kwh_export`` (to the grid). ``attributes`` are the accounting record's
    attributes, used to choose a data class. Voice has ``a_number`` and ``b_number``.
    """

    type: str
    start: datetime
    end: datetime
    octets_in: int = 0
    octets_out: int = 0
    seconds: int | None = None
    events: int = 0
    kwh_import: Decimal = ZERO
    kwh_export: Decimal = ZERO
    a_number: str = ""
    b_number: str = ""
    attributes: Mapping[str, str] = field(default_factory=_empty)

    def __post_init__(self) -> None:
        if self.type not in USAGE_TYPES:
            raise InvalidUsage(f"unknown usage type {self.type!r} (one of {', '.join(USAGE_TYPES)})")
        for t in (self.start, self.end):
            if t.tzinfo is None or t.utcoffset() is None:
                raise InvalidUsage(f"{t.isoformat()} has no time zone: usage times must be aware")
        if self.end < self.start:
            raise InvalidUsage("usage ends before it starts")
        if (
            min(self.octets_in, self.octets_out, self.events, self.seconds or 0) < 0
            or self.kwh_import < 0
            or self.kwh_export < 0
        ):
            raise InvalidUsage("usage quantities cannot be negative")


@dataclass(frozen=True, slots=True)
class Band:
    """Price per unit up to ``upto`` base units of the period's cumulative counter."""

    upto: Decimal | None
    price: Decimal
    label: str = ""  # "2: 10 GB–50 GB", for explanations


@dataclass(frozen=True, slots=True)
class CostPlus:
    """Price = carrier cost × (1 + percent/100) + fixed, per unit."""

    table: CostTable
    percent: Decimal = ZERO
    fixed: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Rate:
    """One price line of a meter, chosen by class, window and zone (None matches any).

    Exactly one of ``price``, ``bands``, ``cost`` is set. ``connection`` is a per-record
    fee (voice: per answered call).
    """

    klass: str | None = None
    window: str | None = None
    zone: str | None = None
    price: Decimal | None = None
    bands: tuple[Band, ...] = ()
    cost: CostPlus | None = None
    connection: Decimal = ZERO
    increments: tuple[int, int] | None = None  # voice: overrides the meter's
    where: str = ""  # key path in the pricebook, for explanations

    def matches(self, klass: str | None, window: str | None, zone: str | None) -> bool:
        return (
            (self.klass is None or self.klass == klass)
            and (self.window is None or self.window == window)
            and (self.zone is None or self.zone == zone)
        )


@dataclass(frozen=True, slots=True)
class DataClasses:
    """Which attribute of the accounting record picks the data class, and how."""

    attribute: str
    values: Mapping[str, str]  # attribute value -> class
    default: str

    def classify(self, attributes: Mapping[str, str]) -> str:
        value = attributes.get(self.attribute)
        if value is None:
            return self.default
        return self.values.get(value, self.default)

    def names(self) -> set[str]:
        return {self.default, *self.values.values()}


@dataclass(frozen=True, slots=True)
class Meter:
    """How one meter (data, time, voice, sms, energy_import, energy_export) is priced."""

    name: str
    unit: str
    unit_size: Decimal
    rates: tuple[Rate, ...]
    rounding: Rounding = "none"  # of the period's cumulative quantity to whole units
    increments: tuple[int, int] | None = None  # per record, in seconds: (first, next)
    scale: int | None = None  # each charge amount rounded half up to this many places
    credit: bool = False  # amounts are credits (negative): energy export
    count: Literal["both", "in", "out"] = "both"  # data: which octets count
    classes: DataClasses | None = None
    table: DestinationTable | None = None
    picks: dict[tuple[str | None, str | None, str | None], Rate] = field(
        default_factory=dict, compare=False, repr=False
    )  # memo of the rate chosen for (class, window, zone): the rates never change

    def pick(self, klass: str | None, window: str | None, zone: str | None) -> Rate | None:
        """The first rate matching (class, window, zone), or None."""
        key = (klass, window, zone)
        found = self.picks.get(key)
        if found is None:
            for rule in self.rates:
                if rule.matches(klass, window, zone):
                    found = self.picks[key] = rule
                    break
        return found


@dataclass(frozen=True, slots=True)
class Threshold:
    percent: Decimal
    action: ThresholdAction = "notify"
    reply: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Bundle:
    """An allowance per billing period: volume/time in base units, or money.

    Its consumption is the period counter ``bundle:<name>``.
    """

    name: str
    kind: Literal["volume", "time", "money"]
    size: Decimal
    meters: tuple[str, ...]
    on_exhausted: ExhaustedAction = "charge"
    reply: Mapping[str, str] = field(default_factory=_empty)  # reply attributes when throttled
    thresholds: tuple[Threshold, ...] = ()
    counter: str = field(init=False, compare=False)  # "bundle:<name>", the period counter
    marks: tuple[tuple[Decimal, Threshold], ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counter", f"bundle:{self.name}")
        object.__setattr__(self, "marks", tuple((self.size * t.percent / 100, t) for t in self.thresholds))

    @property
    def overflow_free(self) -> bool:
        """Usage past the bundle is not charged (throttle/block plans)."""
        return self.on_exhausted != "charge"


@dataclass(frozen=True, slots=True)
class RecurringFee:
    name: str
    amount: Decimal
    every: Literal["month", "week", "day"] = "month"
    timing: Literal["advance", "arrears"] = "advance"
    proration: Literal["daily", "none"] = "daily"
    per: Literal["account", "subscriber"] = "account"


@dataclass(frozen=True, slots=True)
class OneOffFee:
    name: str
    amount: Decimal
    on: Literal["activation", "deactivation", "manual"] = "activation"


@dataclass(frozen=True, slots=True)
class Terms:
    """A plan's prices from ``effective_from`` (None: from the beginning) on."""

    effective_from: datetime | None
    meters: Mapping[str, Meter]
    bundles: tuple[Bundle, ...] = ()
    fees: tuple[RecurringFee, ...] = ()
    one_off: tuple[OneOffFee, ...] = ()
    calendar: Calendar | None = None
    reply: Mapping[str, str] = field(default_factory=_empty)  # normal Access-Accept reply attributes
    allowances: Mapping[str, tuple[Bundle, ...]] = field(default_factory=dict, compare=False, repr=False)
    purses: Mapping[str, tuple[Bundle, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # per meter: the volume/time bundles ("allowances") and money bundles ("purses") covering it
        for attr, money in (("allowances", False), ("purses", True)):
            index = {
                m: tuple(b for b in self.bundles if (b.kind == "money") == money and m in b.meters)
                for m in self.meters
            }
            object.__setattr__(self, attr, MappingProxyType({m: bs for m, bs in index.items() if bs}))


@dataclass(frozen=True, slots=True)
class Prepaid:
    """A prepaid plan (``[plans.NAME.prepaid]``): rated usage is taken off the account's balance
    (its top-ups) as it is applied. ``balance:low`` fires once when the balance reaches
    ``low_balance`` (a notice); at zero ``on_exhausted`` decides: ``block`` (Disconnect-Request,
    new Access-Requests rejected), ``throttle`` (CoA and Access-Accept with ``reply``) or
    ``notify`` (an event only)."""

    low_balance: Decimal = Decimal(0)
    on_exhausted: Literal["block", "throttle", "notify"] = "block"
    reply: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    realm: str
    currency: str
    timezone: ZoneInfo
    cycle_day: int
    terms: tuple[Terms, ...]  # sorted by effective_from, the first has None
    file: str = ""
    description: str = ""
    prepaid: Prepaid | None = None  # None: postpaid (usage billed on the invoice)

    def terms_at(self, t: datetime) -> Terms:
        chosen = self.terms[0]
        for terms in self.terms[1:]:
            assert terms.effective_from is not None
            if terms.effective_from <= t:
                chosen = terms
        return chosen

    def changes(self) -> tuple[datetime, ...]:
        return tuple(t.effective_from for t in self.terms[1:] if t.effective_from is not None)


@dataclass(frozen=True, slots=True)
class Tax:
    name: str
    rate: Decimal  # a fraction: 0.15 for 15 %


class Charge(NamedTuple):
    """One priced piece of usage and why it costs what it does (immutable).

    ``amount`` is unrounded (or at the meter's ``scale``, 4 places for voice);
    ``bundled`` is the part a money bundle paid; ``due`` is what goes on the bill.
    ``quantity`` (before rounding) and ``billed`` (after) are in the meter's base unit
    (octets, seconds, events, kWh); ``units`` is ``billed`` in the billing ``unit``.
    A NamedTuple rather than a dataclass: it is built on the hot path.
    """

    meter: str
    kind: str  # usage | connection | bundle
    quantity: Decimal
    billed: Decimal
    units: Decimal
    unit: str
    rate: Decimal  # per unit
    amount: Decimal
    currency: str
    start: datetime
    end: datetime
    bundled: Decimal = ZERO
    window: str | None = None
    band: str | None = None
    klass: str | None = None
    zone: str | None = None
    prefix: str | None = None
    bundle: str | None = None
    cost: str | None = None  # cost-plus: "carrier[614] 0.18 +20% +0"
    rule: str = ""  # pricebook key of the rate used
    terms_from: datetime | None = None

    @property
    def due(self) -> Decimal:
        return self.amount - self.bundled


class Crossing(NamedTuple):
    """A bundle threshold this usage crossed (fires once per period)."""

    bundle: str
    percent: Decimal
    action: str  # notify | throttle | disconnect
    reply: Mapping[str, str] = EMPTY


class Exhaustion(NamedTuple):
    """A bundle this usage touched that is used up."""

    bundle: str
    action: str  # charge | throttle | block
    reply: Mapping[str, str] = EMPTY
    now: bool = False  # exhausted by this usage (False: it already was)


class Rating(NamedTuple):
    """What ``rate`` returns: the charges and what to add to the period counters."""

    plan: str
    currency: str
    charges: tuple[Charge, ...]
    counters: Mapping[str, Decimal]  # increments to add to the period counters
    crossings: tuple[Crossing, ...] = ()
    exhausted: tuple[Exhaustion, ...] = ()
    reply: Mapping[str, str] = EMPTY  # reply attributes now in force (throttle)

    @property
    def total(self) -> Decimal:
        """Sum of what is due (after money bundles), unrounded."""
        return sum((c.due for c in self.charges), ZERO)
