"""The rating engine: pure functions from (usage, plan, period counters) to a Rating.

``rate`` depends only on its arguments. Usage spanning a price change or a calendar
window boundary is split pro rata by time; quantity crossing a band edge or a bundle's
end is split by quantity, in time order. The period counters passed in are advanced as
the pieces are rated, so rating a usage in parts (feeding each part's
``Rating.counters`` into the next part's ``period_before``) gives the same total as
rating it whole.

Counter keys (Decimal, base units): ``data``, ``data:<class>``, ``time``, ``voice``,
``sms``, ``energy_import``, ``energy_export`` (the rated quantity: for voice and time
after per-call increments, before unit rounding) and ``bundle:<name>`` (a bundle's
consumption: base units for volume/time bundles, money for money bundles).

Hot path: this module is written for speed (see bench/rating) — positional NamedTuple
charges, memoised rate picks and calendar days, integer-µs time arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from rating.calendar import EPOCH, US, from_us, to_us
from rating.errors import UnratedUsage
from rating.model import EMPTY, Bundle, Charge, Crossing, Exhaustion, Meter, Plan, Rate, Rating, Terms, Usage
from rating.money import ZERO, round_to
from rating.pricing import ONE, amount_of, billed_seconds, quantities, round_units

HUNDRED = Decimal(100)
EMPTY_COUNTERS: Mapping[str, Decimal] = MappingProxyType({})

Segment = tuple[Terms, int, int, str | None]  # terms, start µs, end µs, window
# where a piece happened: start, end, window, class, zone, prefix, terms_from
Where = tuple[datetime, datetime, str | None, str | None, str | None, str | None, datetime | None]


class _Run:
    """The working state of one ``rate`` call (never escapes it)."""

    __slots__ = ("before", "charges", "currency", "inc", "plan", "touched", "usage")

    def __init__(self, usage: Usage, plan: Plan, before: Mapping[str, Decimal]) -> None:
        self.usage = usage
        self.plan = plan
        self.currency = plan.currency
        self.before = before
        self.inc: dict[str, Decimal] = {}
        self.charges: list[Charge] = []
        self.touched: dict[str, Bundle] = {}

    def level(self, key: str) -> Decimal:
        return self.before.get(key, ZERO) + self.inc.get(key, ZERO)

    def add(self, key: str, amount: Decimal) -> None:
        inc = self.inc
        inc[key] = inc[key] + amount if key in inc else amount


def rate(usage: Usage, plan: Plan, period_before: Mapping[str, Decimal] | None = None) -> Rating:
    """Price ``usage`` on ``plan`` given the period's counters so far.

    Raises UnratedUsage when the plan has no price for it. Deterministic: the same
    arguments always give an equal Rating.
    """
    run = _Run(usage, plan, period_before if period_before is not None else EMPTY_COUNTERS)
    start, end = (usage.start - EPOCH) // US, (usage.end - EPOCH) // US  # aware: Usage checked them
    terms = plan.terms
    first = plan.terms_at(usage.start) if len(terms) > 1 else terms[0]
    kind = usage.type
    if kind == "voice":
        seconds = usage.seconds if usage.seconds is not None else (end - start) // 1_000_000
        if seconds > 0:
            _rate_call(run, first, Decimal(seconds), start, end)
        return _finish(run)
    if kind == "data":
        meter = first.meters.get("data")
        count = meter.count if meter is not None else "both"
        octets = (
            usage.octets_in + usage.octets_out
            if count == "both"
            else usage.octets_in
            if count == "in"
            else usage.octets_out
        )
        feeds = [("data", Decimal(octets))] if octets else []
    else:
        feeds = [(name, q) for name, q in quantities(usage).items() if q > 0]
    if feeds:
        segments = _segments(plan, first, start, end)
        for name, quantity in feeds:
            _rate_meter(run, name, quantity, segments)
    return _finish(run)


def _segments(plan: Plan, first: Terms, start: int, end: int) -> list[Segment]:
    """Cut [start, end) at price changes and calendar window boundaries."""
    if len(plan.terms) == 1:
        calendar = first.calendar
        if calendar is None:
            return [(first, start, end, None)]
        return [(first, x, y, w) for x, y, w in calendar.split(start, end)]
    pieces: list[tuple[Terms, int, int]] = []
    at, terms = start, first
    for t in plan.terms[1:]:
        change = to_us(t.effective_from) if t.effective_from else 0
        if start < change < end:
            pieces.append((terms, at, change))
            at, terms = change, t
    pieces.append((terms, at, end))
    out: list[Segment] = []
    for terms, a, b in pieces:
        calendar = terms.calendar
        if calendar is None:
            out.append((terms, a, b, None))
        else:
            out.extend((terms, x, y, w) for x, y, w in calendar.split(a, b))
    return out


def _meter(terms: Terms, name: str, plan: Plan) -> Meter:
    meter = terms.meters.get(name)
    if meter is None:
        raise UnratedUsage(f"plan {plan.name!r} has no price for {name} usage")
    return meter


def _pick(meter: Meter, klass: str | None, window: str | None, zone: str | None, plan: Plan) -> Rate:
    rule = meter.pick(klass, window, zone)
    if rule is None:
        what = ", ".join(f"{k} {v}" for k, v in (("class", klass), ("window", window), ("zone", zone)) if v)
        raise UnratedUsage(f"plan {plan.name!r} has no {meter.name} rate for {what or 'this usage'}")
    return rule


def _rate_call(run: _Run, terms: Terms, seconds: Decimal, start: int, end: int) -> None:
    """A voice call: rated whole, at the prices and window in force when it started."""
    usage, plan = run.usage, run.plan
    meter = _meter(terms, "voice", plan)
    zone = prefix = None
    if meter.table is not None:
        found = meter.table.lookup(usage.a_number, usage.b_number)
        if found is None:
            raise UnratedUsage(
                f"plan {plan.name!r}: no zone in table {meter.table.name!r} for a call to {usage.b_number!r}"
            )
        zone, prefix = found
    window = terms.calendar.window_at(start) if terms.calendar else None
    rule = _pick(meter, None, window, zone, plan)
    billed = billed_seconds(seconds, rule.increments or meter.increments)
    where: Where = (usage.start, usage.end, window, None, zone, prefix, terms.effective_from)
    if rule.connection:
        amount = rule.connection if meter.scale is None else round_to(rule.connection, meter.scale)
        _charge(
            run,
            meter,
            terms,
            "connection",
            ONE,
            ONE,
            rule.connection,
            amount,
            where,
            rule=rule.where,
            unit="call",
        )
    _rate_piece(run, meter, terms, seconds, billed, where, rule)


def _rate_meter(run: _Run, name: str, quantity: Decimal, segments: list[Segment]) -> None:
    usage, plan = run.usage, run.plan
    meter = _meter(segments[0][0], name, plan)
    klass = meter.classes.classify(usage.attributes) if meter.classes else None
    billed_total = billed_seconds(quantity, meter.increments) if name == "time" else quantity
    if len(segments) == 1:
        terms, _a, _b, window = segments[0]
        where: Where = (usage.start, usage.end, window, klass, None, None, terms.effective_from)
        _rate_piece(run, meter, terms, quantity, billed_total, where, None)
        return
    total_us = segments[-1][2] - segments[0][1]
    left_raw, left_billed = quantity, billed_total
    last = len(segments) - 1
    for i, (terms, a, b, window) in enumerate(segments):
        if i == last:
            raw, billed = left_raw, left_billed
        elif total_us:
            raw = quantity * (b - a) / total_us
            billed = raw if billed_total is quantity else billed_total * (b - a) / total_us
            left_raw -= raw
            left_billed -= billed
        else:
            continue
        if raw == 0 and billed == 0:
            continue
        where = (from_us(a), from_us(b), window, klass, None, None, terms.effective_from)
        _rate_piece(run, _meter(terms, name, plan), terms, raw, billed, where, None)


def _rate_piece(
    run: _Run, meter: Meter, terms: Terms, raw: Decimal, billed: Decimal, where: Where, rule: Rate | None
) -> None:
    """Rate one piece (one window, one set of prices): bundles first, then the rate."""
    name = meter.name
    per_call = name == "voice" or name == "time"  # counters hold seconds after per-call increments
    counted = billed if per_call else raw
    inc = run.inc
    position = run.before.get(name, ZERO)
    if name in inc:
        position += inc[name]
        inc[name] += counted
    else:
        inc[name] = counted
    if where[3] is not None:
        run.add(f"{name}:{where[3]}", counted)
    if meter.rounding != "none":
        billed = round_units(position + raw, meter) - round_units(position, meter)
        position = round_units(position, meter)
    past: Bundle | None = None
    for bundle in terms.allowances.get(name, ()):
        run.touched[bundle.name] = bundle
        room = bundle.size - run.level(bundle.counter)
        if room > 0:
            take = billed if billed <= room else room
            share = raw * take / billed if take != billed else raw
            run.add(bundle.counter, take)
            _charge(
                run,
                meter,
                terms,
                "bundle",
                share,
                take,
                ZERO,
                ZERO,
                where,
                bundle=bundle.name,
                rule=f"bundles.{bundle.name}",
            )
            raw -= share
            billed -= take
            position += take
            if billed <= 0:
                return
        if bundle.overflow_free and past is None:
            past = bundle
    if past is not None:
        _charge(
            run,
            meter,
            terms,
            "usage",
            raw,
            billed,
            ZERO,
            ZERO,
            where,
            bundle=past.name,
            band=f"past bundle ({past.on_exhausted})",
            rule=f"bundles.{past.name}",
        )
        return
    if rule is None:
        rule = _pick(meter, where[3], where[2], where[4], run.plan)
    if rule.bands:
        _rate_bands(run, meter, terms, rule, raw, billed, position, where)
        return
    cost_text = None
    if rule.cost is not None:
        price, cost_text = _cost_plus(run, rule, where)
    else:
        price = rule.price if rule.price is not None else ZERO
    _charge(
        run,
        meter,
        terms,
        "usage",
        raw,
        billed,
        price,
        amount_of(billed / meter.unit_size, price, meter),
        where,
        cost=cost_text,
        rule=rule.where,
    )


def _cost_plus(run: _Run, rule: Rate, where: Where) -> tuple[Decimal, str]:
    assert rule.cost is not None
    table = rule.cost.table
    key = {
        "prefix": run.usage.b_number,
        "zone": where[4],
        "class": where[3],
        "window": where[2],
        "flat": "*",
    }[table.key] or ""
    found = table.lookup(key)
    if found is None:
        raise UnratedUsage(f"plan {run.plan.name!r}: cost table {table.name!r} has no cost for {key!r}")
    cost, matched = found
    price = cost * (ONE + rule.cost.percent / HUNDRED) + rule.cost.fixed
    return price, f"{table.name}[{matched}] {cost} +{rule.cost.percent}% +{rule.cost.fixed}"


def _rate_bands(
    run: _Run,
    meter: Meter,
    terms: Terms,
    rule: Rate,
    raw: Decimal,
    billed: Decimal,
    position: Decimal,
    where: Where,
) -> None:
    left_raw, left = raw, billed
    for i, band in enumerate(rule.bands):
        upper = band.upto
        if upper is not None and position >= upper:
            continue
        take = left if upper is None or left <= upper - position else upper - position
        share = left_raw if take == left else raw * take / billed
        _charge(
            run,
            meter,
            terms,
            "usage",
            share,
            take,
            band.price,
            amount_of(take / meter.unit_size, band.price, meter),
            where,
            band=band.label,
            rule=f"{rule.where}.bands[{i}]",
        )
        position += take
        left -= take
        left_raw -= share
        if left <= 0:
            return


def _charge(
    run: _Run,
    meter: Meter,
    terms: Terms,
    kind: str,
    quantity: Decimal,
    billed: Decimal,
    price: Decimal,
    amount: Decimal,
    where: Where,
    *,
    band: str | None = None,
    bundle: str | None = None,
    cost: str | None = None,
    rule: str = "",
    unit: str | None = None,
) -> None:
    """Record a charge, letting the plan's money bundles pay for it first."""
    bundled = ZERO
    if amount > 0:
        for purse in terms.purses.get(meter.name, ()):
            run.touched[purse.name] = purse
            room = purse.size - run.level(purse.counter)
            if room > 0:
                paid = amount - bundled if amount - bundled <= room else room
                run.add(purse.counter, paid)
                bundled += paid
                bundle = bundle or purse.name
                if bundled >= amount:
                    break
    units = ONE if unit else billed / meter.unit_size
    run.charges.append(
        Charge(
            meter.name,
            kind,
            quantity,
            billed,
            units,
            unit or meter.unit,
            price,
            amount,
            run.currency,
            where[0],
            where[1],
            bundled,
            where[2],
            band,
            where[3],
            where[4],
            where[5],
            bundle,
            cost,
            rule,
            where[6],
        )
    )


def _finish(run: _Run) -> Rating:
    if not run.touched:
        return Rating(run.plan.name, run.currency, tuple(run.charges), run.inc)
    crossings: list[Crossing] = []
    exhausted: list[Exhaustion] = []
    reply: dict[str, str] = {}
    for bundle in run.touched.values():
        before = run.before.get(bundle.counter, ZERO)
        after = before + run.inc.get(bundle.counter, ZERO)
        for mark, threshold in bundle.marks:
            if before < mark <= after:
                crossings.append(Crossing(bundle.name, threshold.percent, threshold.action, threshold.reply))
                if threshold.action == "throttle":
                    reply.update(threshold.reply)
        if after >= bundle.size:
            exhausted.append(Exhaustion(bundle.name, bundle.on_exhausted, bundle.reply, before < bundle.size))
            if bundle.on_exhausted == "throttle":
                reply.update(bundle.reply)
    return Rating(
        run.plan.name,
        run.currency,
        tuple(run.charges),
        MappingProxyType(run.inc),
        tuple(crossings),
        tuple(exhausted),
        MappingProxyType(reply) if reply else EMPTY,
    )
