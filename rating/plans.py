"""Build Plans (with their Terms, Meters, Rates, Bundles and Fees) from pricebook tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rating import schema as s
from rating.calendar import Calendar
from rating.catalog import Realm
from rating.model import (
    EMPTY,
    Bundle,
    Meter,
    OneOffFee,
    Plan,
    Prepaid,
    RecurringFee,
    Terms,
)
from rating.prices import Ctx, build_bundle, build_meter
from rating.source import Path, Source
from rating.units import METERS

if TYPE_CHECKING:
    from rating.loader import Entry, Loader

SECTIONS = {"calendar", "reply", "fees", "one_off", "bundles", *METERS}
PLAN_KEYS = {"description", "currency", "timezone", "cycle_day", "extends", "changes", "prepaid", *SECTIONS}
Located = tuple[Any, Source, Path]  # value, the file it is in, its key path
UTC_ZONE = ZoneInfo("UTC")


def build_plans(loader: Loader, realms: dict[str, Realm]) -> int:
    """Build every plan into ``realms``; returns the number of prefixes in all tables."""
    for realm, book in loader.books.items():
        for name, (entry, defaults) in book.plans.items():
            merged = _merged(loader, realm, name, entry, [])
            if merged is None:
                continue
            plan = _plan(loader, realm, name, merged, defaults, entry)
            if plan is not None:
                realms[realm].plans[name] = plan
    count = 0
    for book in loader.books.values():
        count += sum(len(t.zones) for t in book.tables.values() if t is not None)
        count += sum(len(c.costs) for c in book.costs.values() if c is not None and c.key == "prefix")
    return count


def _merged(
    loader: Loader, realm: str, name: str, entry: Entry, stack: list[str]
) -> dict[str, Located] | None:
    src, path, spec = entry
    if not isinstance(spec, dict):
        src.problem(path, "must be a table")
        return None
    base: dict[str, Located] = {}
    if "extends" in spec:
        parent = s.string(src, (*path, "extends"), spec["extends"])
        if parent is not None:
            if parent in stack or parent == name:
                src.problem((*path, "extends"), f"plan {name!r} extends itself (through {parent!r})")
                return None
            for r in (realm, "default"):
                book = loader.books.get(r)
                if book is not None and parent in book.plans:
                    found = _merged(loader, r, parent, book.plans[parent][0], [*stack, name])
                    base = {k: v for k, v in (found or {}).items() if k not in ("description", "changes")}
                    break
            else:
                src.problem((*path, "extends"), f"unknown plan {parent!r}")
    own = {k: (v, src, (*path, k)) for k, v in spec.items() if k != "extends"}
    return {**base, **own}


def _plan(
    loader: Loader, realm: str, name: str, merged: dict[str, Located], defaults: dict[str, Any], entry: Entry
) -> Plan | None:
    src, path, _spec = entry
    for key, (_v, ksrc, kpath) in merged.items():
        if key not in PLAN_KEYS:
            ksrc.problem(kpath, f"unknown key (expected one of: {', '.join(sorted(PLAN_KEYS))})")
    currency = defaults["currency"]
    if "currency" in merged:
        v, csrc, cpath = merged["currency"]
        currency = loader.currency(csrc, cpath, v)
    elif currency is None:
        src.problem(path, "needs a currency (in the plan or at the top of the file)")
    tz = defaults["timezone"] or UTC_ZONE
    if "timezone" in merged:
        v, tsrc, tpath = merged["timezone"]
        tz = loader.timezone(tsrc, tpath, v) or tz
    cycle_day = 1
    if "cycle_day" in merged:
        v, csrc, cpath = merged["cycle_day"]
        cycle_day = s.integer(csrc, cpath, v, 1, 28) or 1
    ctx = Ctx(loader, realm, name, currency, tz)
    sections = {k: v for k, v in merged.items() if k in SECTIONS}
    terms = [_terms(ctx, None, sections, src, path)]
    if "changes" in merged:
        value, csrc, cpath = merged["changes"]
        for epath, change in s.tables(csrc, cpath, value):
            change = s.table(csrc, epath, change, {"from", *SECTIONS}, {"from"})
            if not change or "from" not in change:
                continue
            when = s.instant(csrc, (*epath, "from"), change["from"])
            own = {k: (v, csrc, (*epath, k)) for k, v in change.items() if k != "from"}
            t = _terms(ctx, when, {**sections, **own}, csrc, epath)
            if when is not None and t is not None:
                if any(x is not None and x.effective_from == when for x in terms):
                    csrc.problem((*epath, "from"), "two changes take effect at the same time")
                terms.append(t)
    if currency is None or any(t is None for t in terms):
        return None
    ordered = sorted(
        (t for t in terms if t is not None),
        key=lambda t: (t.effective_from is not None, t.effective_from or datetime.min),
    )
    description = merged.get("description", ("", src, path))[0]
    prepaid = _prepaid(currency, *merged["prepaid"]) if "prepaid" in merged else None
    return Plan(name, realm, currency, tz, cycle_day, tuple(ordered), src.file, str(description), prepaid)


def _prepaid(currency: str, value: Any, src: Source, path: Path) -> Prepaid | None:
    """``prepaid = true``, or a table: ``low_balance``, ``on_exhausted``, ``reply``."""
    if value is True:
        return Prepaid()
    if value is False:
        return None
    spec = s.table(src, path, value, {"low_balance", "on_exhausted", "reply"}, set())
    if spec is None:
        return None
    n0 = len(src.problems)
    low = s.money(src, (*path, "low_balance"), spec.get("low_balance", "0"), currency)
    action = s.choice(src, (*path, "on_exhausted"), spec.get("on_exhausted", "block"),
                      ("block", "throttle", "notify"))
    reply = s.str_map(src, (*path, "reply"), spec["reply"]) if "reply" in spec else {}
    if action == "throttle" and not reply:
        src.problem((*path, "reply"), "a throttle needs the reply attributes (e.g. Mikrotik-Rate-Limit)")
    if len(src.problems) > n0 or action is None:
        return None
    return Prepaid(low or Decimal(0), action, MappingProxyType(reply or {}))


def _terms(
    ctx: Ctx, when: datetime | None, sections: dict[str, Located], src: Source, path: Path
) -> Terms | None:
    ok = True
    calendar: Calendar | None = None
    if "calendar" in sections:
        v, csrc, cpath = sections["calendar"]
        cname = s.string(csrc, cpath, v)
        if cname is not None:
            try:
                cdef = ctx.loader.find(ctx.realm, "calendars", cname)
            except KeyError:
                csrc.problem(cpath, f"unknown calendar {cname!r}")
                ok = False
            else:
                calendar = cdef.bind(ctx.tz) if cdef is not None else None
    meters: dict[str, Meter] = {}
    for name in METERS:
        if name in sections:
            v, msrc, mpath = sections[name]
            meter = build_meter(ctx, name, v, msrc, mpath, calendar)
            if meter is None:
                ok = False
            else:
                meters[name] = meter
    bundles: list[Bundle] = []
    if "bundles" in sections:
        v, bsrc, bpath = sections["bundles"]
        for epath, spec in s.tables(bsrc, bpath, v):
            bundle = build_bundle(ctx, bsrc, epath, spec, meters)
            ok = ok and bundle is not None
            if bundle is not None:
                bundles.append(bundle)
    fees: list[RecurringFee] = []
    one_off: list[OneOffFee] = []
    if "fees" in sections:
        v, fsrc, fpath = sections["fees"]
        for epath, spec in s.tables(fsrc, fpath, v):
            f = s.table(
                fsrc,
                epath,
                spec,
                {"name", "amount", "every", "timing", "proration", "per"},
                {"name", "amount"},
            )
            if not f or not {"name", "amount"} <= f.keys():
                ok = False
                continue
            fee = RecurringFee(
                s.string(fsrc, (*epath, "name"), f["name"]) or "",
                s.money(fsrc, (*epath, "amount"), f["amount"], ctx.currency) or Decimal(0),
                s.choice(fsrc, (*epath, "every"), f.get("every", "month"), ("month", "week", "day"))
                or "month",
                s.choice(fsrc, (*epath, "timing"), f.get("timing", "advance"), ("advance", "arrears"))
                or "advance",
                s.choice(fsrc, (*epath, "proration"), f.get("proration", "daily"), ("daily", "none"))
                or "daily",
                s.choice(fsrc, (*epath, "per"), f.get("per", "account"), ("account", "subscriber"))
                or "account",
            )
            fees.append(fee)
    if "one_off" in sections:
        v, osrc, opath = sections["one_off"]
        for epath, spec in s.tables(osrc, opath, v):
            f = s.table(osrc, epath, spec, {"name", "amount", "on"}, {"name", "amount"})
            if not f or not {"name", "amount"} <= f.keys():
                ok = False
                continue
            one_off.append(
                OneOffFee(
                    s.string(osrc, (*epath, "name"), f["name"]) or "",
                    s.money(osrc, (*epath, "amount"), f["amount"], ctx.currency) or Decimal(0),
                    s.choice(
                        osrc,
                        (*epath, "on"),
                        f.get("on", "activation"),
                        ("activation", "deactivation", "manual"),
                    )
                    or "activation",
                )
            )
    reply = EMPTY
    if "reply" in sections:
        v, rsrc, rpath = sections["reply"]
        r = s.str_map(rsrc, rpath, v)
        reply = MappingProxyType(r) if r is not None else EMPTY
    if not ok:
        return None
    return Terms(when, MappingProxyType(meters), tuple(bundles), tuple(fees), tuple(one_off), calendar, reply)
