"""Build the priced parts of a plan from pricebook tables: meters, rates, bands, bundles."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rating import schema as s
from rating.calendar import Calendar
from rating.model import Band, Bundle, CostPlus, DataClasses, Meter, Rate, Threshold
from rating.prefixes import CostTable, DestinationTable
from rating.source import Path, Source, render
from rating.units import DEFAULT_UNIT, METERS, UNITS

if TYPE_CHECKING:
    from rating.loader import Loader

PRICE_KEYS = {"price", "bands", "cost", "markup_percent", "markup_fixed", "connection", "increments"}
METER_KEYS = {"unit", "rounding", "increments", "scale", "count", "classes", "table", "rates", *PRICE_KEYS}
RATE_KEYS = {"class", "window", "zone", *PRICE_KEYS}


@dataclass
class Ctx:
    loader: Loader
    realm: str
    name: str
    currency: str | None
    tz: ZoneInfo


def build_meter(
    ctx: Ctx, name: str, value: Any, src: Source, path: Path, calendar: Calendar | None
) -> Meter | None:
    spec = s.table(src, path, value, METER_KEYS)
    if spec is None:
        return None
    n0 = len(src.problems)
    unit = s.choice(src, (*path, "unit"), spec.get("unit", DEFAULT_UNIT[name]), tuple(UNITS[name])) or "?"
    rounding = s.choice(
        src, (*path, "rounding"), spec.get("rounding", "none"), ("none", "up", "down", "nearest")
    )
    increments = _increments(src, path, spec, name, ("voice", "time"))
    scale = (
        s.integer(src, (*path, "scale"), spec["scale"], 0, 10)
        if "scale" in spec
        else (4 if name == "voice" else None)
    )
    count = s.choice(src, (*path, "count"), spec.get("count", "both"), ("both", "in", "out"))
    classes = None
    if "classes" in spec:
        if name != "data":
            src.problem((*path, "classes"), "classes are for data only")
        classes = _classes(src, (*path, "classes"), spec["classes"])
    table: DestinationTable | None = None
    if "table" in spec:
        tname = s.string(src, (*path, "table"), spec["table"])
        if tname is not None:
            try:
                table = ctx.loader.find(ctx.realm, "tables", tname)
            except KeyError:
                src.problem((*path, "table"), f"unknown destination table {tname!r}")
    rates: list[Rate] = []
    unit_size = UNITS[name].get(unit, Decimal(1))
    if (PRICE_KEYS - {"increments"}) & spec.keys():
        r = _rate(
            ctx,
            name,
            src,
            path,
            {k: spec[k] for k in (PRICE_KEYS - {"increments"}) & spec.keys()},
            unit_size,
            calendar,
            classes,
            table,
        )
        if r is not None:
            rates.append(r)
    for rpath, rspec in s.tables(src, (*path, "rates"), spec.get("rates")):
        rspec = s.table(src, rpath, rspec, RATE_KEYS)
        if rspec is not None:
            r = _rate(ctx, name, src, rpath, rspec, unit_size, calendar, classes, table)
            if r is not None:
                rates.append(r)
    if not rates and len(src.problems) == n0:
        src.problem(path, "no prices: give price, bands or cost, or [[…rates]]")
    if len(src.problems) > n0 or rounding is None:
        return None
    return Meter(
        name,
        unit,
        unit_size,
        tuple(rates),
        rounding,
        increments,
        scale,
        name == "energy_export",
        count,
        classes,
        table,
    )


def _increments(
    src: Source, path: Path, spec: dict[str, Any], meter: str, allowed: tuple[str, ...]
) -> tuple[int, int] | None:
    """ "60/60" -> (60, 60): per-call charging steps in seconds (first, then each next)."""
    if "increments" not in spec:
        return None
    if meter not in allowed:
        src.problem((*path, "increments"), f"increments here are for {' and '.join(allowed)} only")
    text = str(spec["increments"])
    a, _, b = text.partition("/")
    if a.isdigit() and b.isdigit() and int(b) > 0:
        return int(a), int(b)
    src.problem((*path, "increments"), f'{text!r} is not like "60/60" or "30/6"')
    return None


def _classes(src: Source, path: Path, value: Any) -> DataClasses | None:
    spec = s.table(src, path, value, {"attribute", "values", "default"}, {"attribute", "values", "default"})
    if not spec or not {"attribute", "values", "default"} <= spec.keys():
        return None
    attribute = s.string(src, (*path, "attribute"), spec["attribute"])
    default = s.string(src, (*path, "default"), spec["default"])
    values: dict[str, str] = {}
    raw = s.table(
        src,
        (*path, "values"),
        spec["values"],
        spec["values"].keys() if isinstance(spec["values"], dict) else (),
    )
    for klass, matches in (raw or {}).items():
        items = (
            [matches] if isinstance(matches, str) else s.strings(src, (*path, "values", klass), matches) or []
        )
        for item in items:
            if item in values and values[item] != klass:
                src.problem(
                    (*path, "values", klass),
                    f"value {item!r} is in two classes: {values[item]!r} and {klass!r}",
                )
            values[item] = klass
    if attribute is None or default is None:
        return None
    return DataClasses(attribute, MappingProxyType(values), default)


def _rate(
    ctx: Ctx,
    meter: str,
    src: Source,
    path: Path,
    spec: dict[str, Any],
    unit_size: Decimal,
    calendar: Calendar | None,
    classes: DataClasses | None,
    table: DestinationTable | None,
) -> Rate | None:
    n0 = len(src.problems)
    klass = s.string(src, (*path, "class"), spec["class"]) if "class" in spec else None
    if klass is not None and (classes is None or klass not in classes.names()):
        src.problem(
            (*path, "class"), f"unknown data class {klass!r}" + ("" if classes else " (no classes defined)")
        )
    window = s.string(src, (*path, "window"), spec["window"]) if "window" in spec else None
    if window is not None and (calendar is None or window not in calendar.window_names()):
        src.problem(
            (*path, "window"),
            f"window {window!r} is not in the plan's calendar"
            + (f" {calendar.name!r}" if calendar else " (the plan has no calendar)"),
        )
    zone = s.string(src, (*path, "zone"), spec["zone"]) if "zone" in spec else None
    if zone is not None and (table is None or zone not in table.zone_names()):
        src.problem(
            (*path, "zone"),
            f"zone {zone!r} is not in the destination table"
            + (f" {table.name!r}" if table else " (the meter has no table)"),
        )
    given = [k for k in ("price", "bands", "cost") if k in spec]
    if len(given) != 1:
        src.problem(
            path, "give exactly one of price, bands, cost" + (f" (got {', '.join(given)})" if given else "")
        )
    price = s.money(src, (*path, "price"), spec["price"], ctx.currency) if "price" in spec else None
    bands = _bands(ctx, meter, src, (*path, "bands"), spec["bands"], unit_size) if "bands" in spec else ()
    cost = None
    if "cost" in spec:
        cname = s.string(src, (*path, "cost"), spec["cost"])
        if cname is not None:
            try:
                ctable: CostTable | None = ctx.loader.find(ctx.realm, "costs", cname)
            except KeyError:
                src.problem((*path, "cost"), f"unknown cost table {cname!r}")
            else:
                if ctable is not None and ctx.currency is not None and ctable.currency != ctx.currency:
                    src.problem(
                        (*path, "cost"),
                        f"currency mismatch: cost table {cname!r} is in "
                        f"{ctable.currency}, the plan in {ctx.currency}",
                    )
                pct = s.percent(src, (*path, "markup_percent"), spec.get("markup_percent", 0))
                fixed = s.money(src, (*path, "markup_fixed"), spec.get("markup_fixed", 0), ctx.currency)
                if ctable is not None and pct is not None and fixed is not None:
                    cost = CostPlus(ctable, pct, fixed)
    elif "markup_percent" in spec or "markup_fixed" in spec:
        src.problem(path, 'a markup needs a cost table (cost = "…")')
    connection = s.money(src, (*path, "connection"), spec.get("connection", 0), ctx.currency)
    increments = _increments(src, path, spec, meter, ("voice",)) if "rates" in path else None
    if len(src.problems) > n0:
        return None

    return Rate(
        klass, window, zone, price, bands or (), cost, connection or Decimal(0), increments, render(path)
    )


def _bands(ctx: Ctx, meter: str, src: Source, path: Path, value: Any, unit_size: Decimal) -> tuple[Band, ...]:
    if not isinstance(value, list) or not value:
        src.problem(path, "must be an array of {upto, price} tables")
        return ()
    out: list[Band] = []
    for i, spec in enumerate(value):
        bpath = (*path, i)
        spec = s.table(src, bpath, spec, {"upto", "price"}, {"price"})
        if not spec or "price" not in spec:
            continue
        price = s.money(src, (*bpath, "price"), spec["price"], ctx.currency)
        upto = s.quantity(src, (*bpath, "upto"), meter, spec["upto"], None) if "upto" in spec else None
        if isinstance(spec.get("upto"), int | Decimal) and upto is not None:
            upto = upto * unit_size  # a bare number is in the meter's unit
        if upto is None and "upto" not in spec and i != len(value) - 1:
            src.problem(bpath, "only the last band may be open-ended (no upto)")
        if upto is not None and i == len(value) - 1:
            src.problem(bpath, "the last band must be open-ended (no upto): usage beyond it has no price")
        prev = out[-1].upto if out else None
        if upto is not None and prev is not None and upto <= prev:
            src.problem(
                (*bpath, "upto"), f"bands out of order: {spec['upto']} is not above the previous band's end"
            )
        if price is not None:
            out.append(Band(upto, price))
    unit = next((k for k, v in UNITS[meter].items() if v == unit_size), "")
    return tuple(_labelled(out, unit_size, unit))


def _labelled(bands: list[Band], unit_size: Decimal, unit: str) -> list[Band]:
    def fmt(q: Decimal) -> str:
        return f"{(q / unit_size).normalize():f} {unit}"

    out, lower = [], Decimal(0)
    for i, band in enumerate(bands):
        upper = "∞" if band.upto is None else fmt(band.upto)
        out.append(Band(band.upto, band.price, f"{i + 1}: {fmt(lower)}–{upper}"))
        lower = band.upto if band.upto is not None else lower
    return out


def build_bundle(ctx: Ctx, src: Source, path: Path, value: Any, meters: dict[str, Meter]) -> Bundle | None:
    spec = s.table(
        src,
        path,
        value,
        {"name", "kind", "size", "meters", "on_exhausted", "reply", "thresholds"},
        {"name", "kind", "size"},
    )
    if not spec or not {"name", "kind", "size"} <= spec.keys():
        return None
    n0 = len(src.problems)
    name = s.string(src, (*path, "name"), spec["name"]) or "?"
    kind = s.choice(src, (*path, "kind"), spec["kind"], ("volume", "time", "money"))
    default_meters = {"volume": ["data"], "time": ["time"], "money": [m for m in METERS if m in meters]}
    covered = (
        s.strings(src, (*path, "meters"), spec["meters"])
        if "meters" in spec
        else default_meters.get(kind or "volume", [])
    )
    for m in covered or []:
        if m not in METERS:
            src.problem((*path, "meters"), f"unknown meter {m!r} (one of {', '.join(METERS)})")
        elif m not in meters:
            src.problem((*path, "meters"), f"the bundle covers {m} but the plan does not price {m}")
    size = None
    if kind == "money":
        size = s.money(src, (*path, "size"), spec["size"], ctx.currency)
    elif kind is not None and covered:
        size = s.quantity(src, (*path, "size"), covered[0], spec["size"], DEFAULT_UNIT.get(covered[0]))
    if size is not None and size <= 0:
        src.problem((*path, "size"), "must be more than zero")
    action = s.choice(
        src, (*path, "on_exhausted"), spec.get("on_exhausted", "charge"), ("charge", "throttle", "block")
    )
    reply = s.str_map(src, (*path, "reply"), spec["reply"]) if "reply" in spec else {}
    if action == "throttle" and not reply:
        src.problem(
            (*path, "reply"), "a throttle needs the reply attributes to send (e.g. Mikrotik-Rate-Limit)"
        )
    thresholds: list[Threshold] = []
    for tpath, t in s.tables(src, (*path, "thresholds"), spec.get("thresholds")):
        t = s.table(src, tpath, t, {"percent", "action", "reply"}, {"percent"})
        if not t or "percent" not in t:
            continue
        pct = s.percent(src, (*tpath, "percent"), t["percent"])
        if pct is not None and not 0 < pct <= 100:
            src.problem((*tpath, "percent"), "must be more than 0 and at most 100")
        act = s.choice(
            src, (*tpath, "action"), t.get("action", "notify"), ("notify", "throttle", "disconnect")
        )
        treply = s.str_map(src, (*tpath, "reply"), t["reply"]) if "reply" in t else {}
        if act == "throttle" and not treply:
            src.problem((*tpath, "reply"), "a throttle needs the reply attributes to send")
        if pct is not None and act is not None:
            thresholds.append(Threshold(pct, act, MappingProxyType(treply or {})))
    if len(src.problems) > n0 or kind is None or size is None or action is None:
        return None
    return Bundle(
        name,
        kind,
        size,
        tuple(covered or ()),
        action,
        MappingProxyType(reply or {}),
        tuple(sorted(thresholds, key=lambda t: t.percent)),
    )
