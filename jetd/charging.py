"""Charging: the bridge between an accounting record's delta and the pure rating engine.

``rate_fn_for(plan, context)`` returns the pure function the quota store calls (maybe
several times, when another process applied to the same account in between): it turns
the session's counter delta into rating Usage, prices it against the period counters
the store read, and maps the Rating onto what the store applies atomically — charges,
period-counter increments, and the thresholds to fire once per period.

Which usage a record carries follows the plan's meters: data (octets in/out), time
(session seconds), voice (one call per session, rated at Stop), energy (two counters
the NAS reports, in Wh, by configured attributes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

from quota.model import Kind, Rated, RateFn, RatingInput
from quota.rating_bridge import rated_from_rating
from rating import Plan, Rating, Usage, bundle_state, period_bounds, rate, split_usage

Price = Callable[[int], Decimal]  # what so many units (octets, seconds, events) would cost
WH_PER_KWH = Decimal(1000)
EPSILON = timedelta(microseconds=1)
EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class CallContext:
    """What the rater needs from the record besides counters (attributes for data classes,
    A and B numbers for calls)."""

    attributes: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    a_number: str = ""
    b_number: str = ""


def quota_mode(plan: Plan) -> tuple[str, Decimal]:
    """How the account's quota state keeps money under ``plan``: (mode, low-balance level)."""
    if plan.prepaid is None:
        return "postpaid", Decimal(0)
    return "prepaid", plan.prepaid.low_balance


def usage_types(plan: Plan, at: datetime) -> tuple[str, ...]:
    meters = plan.terms_at(at).meters
    kinds = [k for k in ("data", "time", "voice", "sms") if k in meters]
    if "energy_import" in meters or "energy_export" in meters:
        kinds.append("energy")
    return tuple(kinds)


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def usages(inp: RatingInput, plan: Plan, ctx: CallContext) -> list[Usage]:
    """The pieces of usage this record's delta is, per the plan's meters."""
    record, snap, delta = inp.record, inp.snapshot, inp.delta
    session = snap.session
    started = int(session.info.get("start") or record.now) if session is not None else record.now
    # The previous record of this session (its event time): usage since then is this delta's.
    since = (session.updated or started) if session is not None else record.now
    end = _at(record.now)
    begin = _at(min(since, record.now))
    out: list[Usage] = []
    for kind in usage_types(plan, end):
        if kind == "data" and (delta.get("in", 0) or delta.get("out", 0)):
            out.append(Usage("data", begin, end, octets_in=delta.get("in", 0), octets_out=delta.get("out", 0),
                             attributes=ctx.attributes))
        elif kind == "time" and delta.get("time", 0):
            out.append(Usage("time", begin, end, seconds=delta["time"]))
        elif kind == "voice" and record.kind is Kind.STOP:
            seconds = int(record.counters.get("time", 0))
            if seconds > 0:
                out.append(Usage("voice", _at(started), end, seconds=seconds,
                                 a_number=ctx.a_number, b_number=ctx.b_number))
        elif kind == "sms" and delta.get("events", 0):
            out.append(Usage("sms", begin, end, events=delta["events"]))
        elif kind == "energy" and (delta.get("wh_import", 0) or delta.get("wh_export", 0)):
            out.append(Usage("energy", begin, end, kwh_import=Decimal(delta.get("wh_import", 0)) / WH_PER_KWH,
                             kwh_export=Decimal(delta.get("wh_export", 0)) / WH_PER_KWH))
    return out


def period_id(plan: Plan, at: datetime) -> str:
    """The billing period an instant falls in, named by its first local day."""
    return period_of(plan, at)[0]


def period_of(plan: Plan, at: datetime) -> tuple[str, int]:
    """The billing period an instant falls in: its name (its first local day) and its start (epoch)."""
    start = period_start(plan, at)
    return start.astimezone(plan.timezone).date().isoformat(), int(start.timestamp())


def period_start(plan: Plan, at: datetime) -> datetime:
    """The first instant of the billing period ``at`` falls in."""
    hour = at.replace(minute=0, second=0, microsecond=0)
    start, end = _period_of_hour(plan.timezone, plan.cycle_day, hour)
    if not start <= at < end:  # a zone whose midnight is not on the hour (e.g. +05:45)
        start, end = period_bounds(plan, at)
    return start


@functools.lru_cache(maxsize=4096)
def _period_of_hour(zone: ZoneInfo, cycle_day: int, hour: datetime) -> tuple[datetime, datetime]:
    """period_bounds (which depend only on the zone and the cycle day), once an hour."""
    return period_bounds(_Cycle(zone, cycle_day), hour)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Cycle:
    timezone: ZoneInfo
    cycle_day: int


def by_period(usage: Usage, plan: Plan, start: datetime | None = None) -> list[Usage]:
    """``usage`` cut where a billing period starts, pro rata by time, so each part is charged in
    its own period (voice is one call, never cut). ``start``: the start of the period its end
    falls in, when the caller knows it."""
    if usage.type == "voice":
        return [usage]
    if start is None:
        start = period_start(plan, usage.end - EPSILON)
    if not usage.start < start < usage.end:
        return [usage]
    before, after = split_usage(usage, start)
    return [*by_period(before, plan), after]


def merged(ratings: list[Rating]) -> Rated:
    """One Rated for the record from the Rating of each piece of usage it carried."""
    parts = [rated_from_rating(r) for r in ratings]
    if len(parts) == 1:
        return parts[0]
    increments: dict[str, Decimal | int] = {}
    for part in parts:
        for key, value in part.increments.items():
            increments[key] = increments.get(key, 0) + value
    return Rated(charges=tuple(c for p in parts for c in p.charges), increments=increments,
                 thresholds=tuple(t for p in parts for t in p.thresholds),
                 exhausted=tuple(dict.fromkeys(e for p in parts for e in p.exhausted)))


def rate_fn_for(plan: Plan, ctx: CallContext) -> RateFn:
    """The pure rating function for one record of an account on ``plan``."""

    def rate_record(inp: RatingInput) -> Rated:
        counters: dict[str, Decimal] = dict(inp.snapshot.counters)
        ratings = []
        pieces = usages(inp, plan, ctx)
        # every piece ends at the record's time: one period lookup for them all
        start = period_start(plan, _at(inp.record.now) - EPSILON) if pieces else None
        for usage in (part for whole in pieces for part in by_period(whole, plan, start)):
            rating = rate(usage, plan, counters)
            for key, value in rating.counters.items():
                counters[key] = counters.get(key, Decimal(0)) + value
            ratings.append(rating)
        return merged(ratings)

    return rate_record


def time_price(plan: Plan, at: datetime, counters: Mapping[str, Decimal]) -> Price:
    """What so many seconds of timed use from ``at`` cost on the plan's ``time`` meter (after the
    period's ``counters``); RatingError when the plan does not price time."""
    def price(seconds: int) -> Decimal:
        if seconds <= 0:
            return Decimal(0)
        return rate(Usage("time", at, at + timedelta(seconds=seconds), seconds=seconds), plan, counters).total
    return price


def blocking_allowance(plan: Plan, counters: Mapping[str, Decimal], at: datetime, *,
                       seconds: bool = False) -> int | None:
    """Octets left before a data bundle that blocks is used up; None when nothing blocks data.
    ``seconds``: seconds left before a time bundle over calls or timed use that blocks."""
    bundles = {b.name: b for b in plan.terms_at(at).bundles}
    kind, over = ("time", {"voice", "time"}) if seconds else ("volume", {"data"})
    left: int | None = None
    for state in bundle_state(plan, counters, at):
        bundle = bundles.get(state.name)
        if bundle is None or state.kind != kind or state.action != "block" or not over & set(bundle.meters):
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
    return max(rate(usage, plan, counters).total
               for usage in (Usage("data", begin, at, octets_in=octets, attributes=attributes),
                             Usage("data", begin, at, octets_out=octets, attributes=attributes)))


def data_price(plan: Plan, at: datetime, attributes: Mapping[str, str], counters: Mapping[str, Decimal]
               ) -> Price:
    return lambda octets: price_of(plan, at, attributes, counters, octets)


def affordable(price: Price, balance: Decimal, units: int) -> tuple[int, Decimal]:
    """The most units, up to ``units``, that ``balance`` pays for, and their price (a price never
    falls as the quantity grows). Most prices are about proportional to the quantity: the answer
    is looked for around ``units * balance / price(units)`` first, in steps that double, then by
    bisection (a few prices instead of one per bit of ``units``)."""
    cost = price(units)
    if cost <= balance:
        return units, cost
    low, low_cost, high = 0, Decimal(0), units  # price(low) <= balance < price(high)
    guess = min(int(units * max(balance, Decimal(0)) / cost), units - 1) if cost > 0 else 0
    if guess > 0:
        step, probe = 1, guess
        cost = price(probe)
        if cost <= balance:
            low, low_cost = probe, cost
            while (probe := low + step) < high:
                cost = price(probe)
                if cost > balance:
                    high = probe
                    break
                low, low_cost, step = probe, cost, step * 2
        else:
            high = probe
            while (probe := high - step) > low:
                cost = price(probe)
                if cost <= balance:
                    low, low_cost = probe, cost
                    break
                high, step = probe, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        cost = price(middle)
        if cost <= balance:
            low, low_cost = middle, cost
        else:
            high = middle
    return low, low_cost


PREPAID_HORIZON = 86_400  # seconds: a balance that pays for longer sets no Session-Timeout


def prepaid_seconds(plan: Plan, at: datetime, counters: Mapping[str, Decimal], balance: Decimal
                    ) -> int | None:
    """The seconds of timed use (the plan's ``time`` meter) ``balance`` pays for from ``at``: the
    Session-Timeout of a prepaid login. None when it pays for a day or more."""
    seconds, _ = affordable(time_price(plan, at, counters), balance, PREPAID_HORIZON)
    return seconds if seconds < PREPAID_HORIZON else None


VOLUME_HORIZON = 2**40  # octets (1 TiB): a balance that pays for more sets no volume limit


def prepaid_octets(plan: Plan, at: datetime, counters: Mapping[str, Decimal], balance: Decimal) -> int | None:
    """The octets of data (as the plan's data meter counts them) ``balance`` pays for from ``at``:
    the volume limit of a prepaid login. None when it pays for ``VOLUME_HORIZON`` or more."""
    octets, _ = affordable(data_price(plan, at, EMPTY, counters), balance, VOLUME_HORIZON)
    return octets if octets < VOLUME_HORIZON else None
