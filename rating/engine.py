"""The rating engine: pure functions from (usage, plan, period counters) to a Rating.

``rate`` depends only on its arguments. Usage spanning a price change or a calendar
window boundary is split pro rata by time; quantity crossing a band edge or a bundle's
end is split by quantity, in time order. The period counters the caller passes in are
advanced as the parts are rated, so rating a usage in pieces (feeding each piece's
``Rating.counters`` into the next piece's ``period_before``) gives the same total as
rating it whole.

Counter keys (all Decimal, base units): ``data``, ``data:<class>``, ``time``,
``voice``, ``sms``, ``energy_import``, ``energy_export`` (the rated quantity: for
voice/time after per-call increments, before unit rounding), and ``bundle:<name>``
(a bundle's consumption: base units for volume/time bundles, money for money bundles).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from rating.calendar import from_us, to_us
from rating.errors import UnratedUsage
from rating.model import (
    EMPTY,
    Band,
    Bundle,
    Charge,
    Crossing,
    Exhaustion,
    Meter,
    Plan,
    Rate,
    Rating,
    Terms,
    Usage,
)
from rating.money import ZERO, round_to

ONE = Decimal(1)
HUNDRED = Decimal(100)
_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_UP}

Segment = tuple[Terms, int, int, str | None]  # terms, start µs, end µs, window


def quantities(usage: Usage, meter_count: str = "both") -> dict[str, Decimal]:
    """The base-unit quantity of each meter this usage feeds (before any rounding)."""
    kind = usage.type
    if kind == "data":
        octets = {"both": usage.octets_in + usage.octets_out, "in": usage.octets_in, "out": usage.octets_out}[
            meter_count
        ]
        return {"data": Decimal(octets)}
    if kind in ("time", "voice"):
        seconds = usage.seconds
        if seconds is None:
            seconds = int((usage.end - usage.start).total_seconds())
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
    return first + ((seconds - first + step - 1) // step) * step


def _round_units(position: Decimal, meter: Meter) -> Decimal:
    """The cumulative position rounded to whole billing units (base units)."""
    if meter.rounding == "none":
        return position
    size = meter.unit_size
    return (position / size).quantize(ONE, rounding=_ROUNDING[meter.rounding]) * size


def _segments(usage: Usage, plan: Plan, whole: bool) -> list[Segment]:
    """Cut the usage's time at price changes and calendar window boundaries."""
    start, end = to_us(usage.start), to_us(usage.end)
    if whole or len(plan.terms) == 1:
        pieces = [(plan.terms_at(usage.start), start, end)]
    else:
        pieces = []
        at, terms = start, plan.terms_at(usage.start)
        for change, nxt in ((to_us(t.effective_from), t) for t in plan.terms[1:] if t.effective_from):
            if start < change < end:
                pieces.append((terms, at, change))
                at, terms = change, nxt
        pieces.append((terms, at, end))
    out: list[Segment] = []
    for terms, a, b in pieces:
        calendar = terms.calendar
        if calendar is None:
            out.append((terms, a, b, None))
        else:
            out.extend((terms, x, y, w) for x, y, w in calendar.split(a, b))
    return out


class _Run:
    """The mutable working state of one ``rate`` call (never escapes it)."""

    def __init__(self, usage: Usage, plan: Plan, before: Mapping[str, Decimal]) -> None:
        self.usage = usage
        self.plan = plan
        self.before = before
        self.inc: dict[str, Decimal] = {}
        self.charges: list[Charge] = []
        self.touched: dict[str, Bundle] = {}

    def level(self, key: str) -> Decimal:
        return self.before.get(key, ZERO) + self.inc.get(key, ZERO)

    def add(self, key: str, amount: Decimal) -> None:
        self.inc[key] = self.inc.get(key, ZERO) + amount


def rate(usage: Usage, plan: Plan, period_before: Mapping[str, Decimal] | None = None) -> Rating:
    """Price ``usage`` on ``plan`` given the period's counters so far.

    Raises UnratedUsage when the plan has no price for it. Deterministic: the same
    arguments always give an equal Rating.
    """
    run = _Run(usage, plan, period_before or EMPTY_COUNTERS)
    first = plan.terms_at(usage.start)
    count = first.meters["data"].count if usage.type == "data" and "data" in first.meters else "both"
    for name, quantity in quantities(usage, count).items():
        if quantity == 0 and usage.type != "sms":
            continue
        if usage.type == "voice":
            _rate_meter(run, name, quantity, [(first, to_us(usage.start), to_us(usage.end), None)])
        else:
            _rate_meter(run, name, quantity, _segments(usage, plan, whole=False))
    return _finish(run)


EMPTY_COUNTERS: Mapping[str, Decimal] = MappingProxyType({})


def _meter(terms: Terms, name: str, plan: Plan) -> Meter:
    meter = terms.meters.get(name)
    if meter is None:
        raise UnratedUsage(f"plan {plan.name!r} has no price for {name} usage")
    return meter


def _rate_meter(run: _Run, name: str, quantity: Decimal, segments: list[Segment]) -> None:
    usage, plan = run.usage, run.plan
    meter = _meter(segments[0][0], name, plan)
    klass = meter.classes.classify(usage.attributes) if meter.classes else None
    zone = prefix = None
    if name == "voice":
        meter_table = meter.table
        if meter_table is not None:
            found = meter_table.lookup(usage.a_number, usage.b_number)
            if found is None:
                raise UnratedUsage(
                    f"plan {plan.name!r}: no zone in table {meter_table.name!r} "
                    f"for a call to {usage.b_number!r}"
                )
            zone, prefix = found
        terms, a, b, _w = segments[0]
        window = terms.calendar.window_at(a) if terms.calendar else None
        segments = [(terms, a, b, window)]
        rule = _pick(meter, klass, window, zone, plan)
        quantity_billed = billed_seconds(quantity, rule.increments or meter.increments)
        if quantity_billed > 0 and rule.connection:
            amount = rule.connection if meter.scale is None else round_to(rule.connection, meter.scale)
            _emit(
                run,
                meter,
                Charge(
                    meter=name,
                    kind="connection",
                    quantity=ONE,
                    billed=ONE,
                    units=ONE,
                    unit="call",
                    rate=rule.connection,
                    amount=amount,
                    currency=plan.currency,
                    start=usage.start,
                    end=usage.start,
                    window=window,
                    klass=klass,
                    zone=zone,
                    prefix=prefix,
                    rule=rule.where,
                    terms_from=terms.effective_from,
                ),
            )
    elif name == "time":
        quantity_billed = billed_seconds(quantity, meter.increments)
    else:
        quantity_billed = quantity
    if quantity_billed <= 0:
        return
    total_us = segments[-1][2] - segments[0][1]
    left_raw, left_billed = quantity, quantity_billed
    for i, (terms, a, b, window) in enumerate(segments):
        if i == len(segments) - 1:
            raw, billed = left_raw, left_billed
        elif total_us:
            raw = quantity * (b - a) / total_us
            billed = quantity_billed * (b - a) / total_us
            left_raw -= raw
            left_billed -= billed
        else:
            continue
        if raw == 0 and billed == 0:
            continue
        meter = _meter(terms, name, plan)
        single = len(segments) == 1
        t0 = usage.start if single else from_us(a)
        t1 = usage.end if single else from_us(b)
        _rate_piece(run, meter, terms, raw, billed, t0, t1, window, klass, zone, prefix)


def _pick(meter: Meter, klass: str | None, window: str | None, zone: str | None, plan: Plan) -> Rate:
    for rule in meter.rates:
        if rule.matches(klass, window, zone):
            return rule
    what = ", ".join(f"{k} {v}" for k, v in (("class", klass), ("window", window), ("zone", zone)) if v)
    raise UnratedUsage(f"plan {plan.name!r} has no {meter.name} rate for {what or 'this usage'}")


def _rate_piece(
    run: _Run,
    meter: Meter,
    terms: Terms,
    raw: Decimal,
    billed: Decimal,
    t0: datetime,
    t1: datetime,
    window: str | None,
    klass: str | None,
    zone: str | None,
    prefix: str | None,
) -> None:
    name, plan = meter.name, run.plan
    per_call = name in ("voice", "time")  # counters hold seconds after per-call increments
    counter_before = run.level(name)
    run.add(name, billed if per_call else raw)
    if klass is not None:
        run.add(f"{name}:{klass}", billed if per_call else raw)
    if meter.rounding != "none":
        position = _round_units(counter_before, meter)
        billed = _round_units(counter_before + raw, meter) - position
    else:
        position = counter_before
    common: dict[str, Any] = {
        "currency": plan.currency,
        "start": t0,
        "end": t1,
        "window": window,
        "klass": klass,
        "zone": zone,
        "prefix": prefix,
        "terms_from": terms.effective_from,
    }
    # volume and time bundles first
    past: Bundle | None = None
    for bundle in terms.bundles:
        if bundle.kind == "money" or name not in bundle.meters:
            continue
        run.touched[bundle.name] = bundle
        room = bundle.size - run.level(bundle.counter)
        if room <= 0:
            if bundle.overflow_free and past is None:
                past = bundle
            continue
        take = billed if billed <= room else room
        share = raw * take / billed if billed else raw
        run.add(bundle.counter, take)
        _emit(
            run,
            meter,
            Charge(
                meter=name,
                kind="bundle",
                quantity=share,
                billed=take,
                units=take / meter.unit_size,
                unit=meter.unit,
                rate=ZERO,
                amount=ZERO,
                bundle=bundle.name,
                rule=f"bundles.{bundle.name}",
                **common,
            ),
        )
        raw -= share
        billed -= take
        position += take
        if billed <= 0:
            return
        if bundle.overflow_free and past is None:
            past = bundle
    if past is not None:
        _emit(
            run,
            meter,
            Charge(
                meter=name,
                kind="usage",
                quantity=raw,
                billed=billed,
                units=billed / meter.unit_size,
                unit=meter.unit,
                rate=ZERO,
                amount=ZERO,
                bundle=past.name,
                band=f"past bundle ({past.on_exhausted})",
                rule=f"bundles.{past.name}",
                **common,
            ),
        )
        return
    rule = _pick(meter, klass, window, zone, plan)
    if rule.bands:
        _rate_bands(run, meter, rule, raw, billed, position, common)
        return
    cost_text = None
    if rule.cost is not None:
        table = rule.cost.table
        key = {"prefix": run.usage.b_number, "zone": zone, "class": klass, "window": window, "flat": "*"}[
            table.key
        ] or ""
        found = table.lookup(key)
        if found is None:
            raise UnratedUsage(f"plan {plan.name!r}: cost table {table.name!r} has no cost for {key!r}")
        cost, matched = found
        price = cost * (ONE + rule.cost.percent / HUNDRED) + rule.cost.fixed
        cost_text = f"{table.name}[{matched}] {cost} +{rule.cost.percent}% +{rule.cost.fixed}"
    else:
        price = rule.price if rule.price is not None else ZERO
    units = billed / meter.unit_size
    _emit(
        run,
        meter,
        Charge(
            meter=name,
            kind="usage",
            quantity=raw,
            billed=billed,
            units=units,
            unit=meter.unit,
            rate=price,
            amount=_amount(units, price, meter),
            cost=cost_text,
            rule=rule.where,
            **common,
        ),
    )


def _amount(units: Decimal, price: Decimal, meter: Meter) -> Decimal:
    amount = units * price
    if meter.credit:
        amount = -amount
    return amount if meter.scale is None else round_to(amount, meter.scale)


def _band_label(i: int, lower: Decimal, band: Band, meter: Meter) -> str:
    def fmt(q: Decimal) -> str:
        return f"{(q / meter.unit_size).normalize():f} {meter.unit}"

    upper = "∞" if band.upto is None else fmt(band.upto)
    return f"{i + 1}: {fmt(lower)}–{upper}"


def _rate_bands(
    run: _Run,
    meter: Meter,
    rule: Rate,
    raw: Decimal,
    billed: Decimal,
    position: Decimal,
    common: dict[str, Any],
) -> None:
    lower = ZERO
    left_raw, left = raw, billed
    for i, band in enumerate(rule.bands):
        upper = band.upto
        if upper is not None and position >= upper:
            lower = upper
            continue
        take = left if upper is None or left <= upper - position else upper - position
        share = left_raw if take == left else raw * take / billed
        units = take / meter.unit_size
        _emit(
            run,
            meter,
            Charge(
                meter=meter.name,
                kind="usage",
                quantity=share,
                billed=take,
                units=units,
                unit=meter.unit,
                rate=band.price,
                amount=_amount(units, band.price, meter),
                band=_band_label(i, lower, band, meter),
                rule=f"{rule.where}.bands[{i}]",
                **common,
            ),
        )
        position += take
        left -= take
        left_raw -= share
        if left <= 0:
            return
        lower = upper if upper is not None else lower


def _emit(run: _Run, meter: Meter, charge: Charge) -> None:
    """Record a charge, letting the plan's money bundles pay for it first."""
    amount = charge.amount
    if amount > 0:
        terms = run.plan.terms_at(charge.start)
        for bundle in terms.bundles:
            if bundle.kind != "money" or meter.name not in bundle.meters:
                continue
            run.touched[bundle.name] = bundle
            room = bundle.size - run.level(bundle.counter)
            if room <= 0:
                continue
            paid = amount if amount <= room else room
            run.add(bundle.counter, paid)
            charge = replace(charge, bundled=charge.bundled + paid, bundle=charge.bundle or bundle.name)
            amount -= paid
            if amount <= 0:
                break
    run.charges.append(charge)


def _finish(run: _Run) -> Rating:
    crossings: list[Crossing] = []
    exhausted: list[Exhaustion] = []
    reply: dict[str, str] = {}
    for bundle in run.touched.values():
        before = run.before.get(bundle.counter, ZERO)
        after = before + run.inc.get(bundle.counter, ZERO)
        for threshold in bundle.thresholds:
            mark = bundle.size * threshold.percent / HUNDRED
            if before < mark <= after:
                crossings.append(Crossing(bundle.name, threshold.percent, threshold.action, threshold.reply))
                if threshold.action == "throttle":
                    reply.update(threshold.reply)
        if after >= bundle.size:
            exhausted.append(
                Exhaustion(bundle.name, bundle.on_exhausted, bundle.reply, now=before < bundle.size)
            )
            if bundle.on_exhausted == "throttle":
                reply.update(bundle.reply)
    return Rating(
        plan=run.plan.name,
        currency=run.plan.currency,
        charges=tuple(run.charges),
        counters=MappingProxyType(run.inc),
        crossings=tuple(crossings),
        exhausted=tuple(exhausted),
        reply=MappingProxyType(reply) if reply else EMPTY,
    )
