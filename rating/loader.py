"""Read pricebook files into a Catalog, naming every problem found.

A file's top level: ``realm`` (default "default"), ``currency`` and ``timezone``
(defaults for its plans), ``[tax]``, ``[currencies.XXX]``, ``[calendars.NAME]``,
``[tables.NAME]`` (destination tables), ``[costs.NAME]`` (carrier cost tables) and
``[plans."NAME"]``. Names live in the realm's namespace; a reference is looked up in
the realm's own namespace, then in the default realm's.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path as FsPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rating import schema as s
from rating.calendar import DAYS, Calendar, Window
from rating.catalog import Catalog, Realm
from rating.errors import PricebookError, Problem
from rating.model import Tax
from rating.money import SCALES
from rating.prefixes import CostTable, DestinationTable, read_rows
from rating.source import Path, Source, line_index

DEFAULT_REALM = "default"
TOP = {"realm", "currency", "timezone", "tax", "currencies", "calendars", "tables", "costs", "plans"}
Entry = tuple[Source, Path, Any]


@dataclass
class CalendarDef:
    name: str
    tz: ZoneInfo | None
    default: str
    windows: tuple[Window, ...]
    holidays: frozenset[date]
    holiday_window: str | None
    bound: dict[str, Calendar] = field(default_factory=dict)

    def bind(self, tz: ZoneInfo) -> Calendar:
        zone = self.tz or tz
        if zone.key not in self.bound:
            self.bound[zone.key] = Calendar(
                self.name, zone, self.default, self.windows, self.holidays, self.holiday_window
            )
        return self.bound[zone.key]


@dataclass
class Book:
    """One realm's namespace while loading."""

    realm: str
    plans: dict[str, tuple[Entry, dict[str, Any]]] = field(default_factory=dict)
    calendars: dict[str, CalendarDef | None] = field(default_factory=dict)
    tables: dict[str, DestinationTable | None] = field(default_factory=dict)
    costs: dict[str, CostTable | None] = field(default_factory=dict)
    tax: Tax | None = None
    where: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> file


class Loader:
    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        self.sources: list[Source] = []
        self.scales: dict[str, int] = dict(SCALES)

    def book(self, realm: str) -> Book:
        return self.books.setdefault(realm, Book(realm))

    def find(self, realm: str, kind: str, name: str) -> Any:
        """A named calendar/table/cost/plan: the realm's own, then the default realm's."""
        for r in (realm, DEFAULT_REALM):
            found: dict[str, Any] = getattr(self.book(r), kind)
            if name in found:
                return found[name]
        raise KeyError(name)

    def timezone(self, src: Source, path: Path, value: Any) -> ZoneInfo | None:
        name = s.string(src, path, value)
        if name is None:
            return None
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            src.problem(path, f"unknown time zone {name!r}")
            return None

    def currency(self, src: Source, path: Path, value: Any) -> str | None:
        code = s.string(src, path, value)
        if code is not None and code not in self.scales:
            src.problem(path, f"unknown currency {code!r} (declare it under [currencies.{code}])")
            return None
        return code

    # -- one file ---------------------------------------------------------------------------

    def read(self, file: FsPath) -> None:
        src = Source(str(file))
        self.sources.append(src)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            src.problem((), f"cannot read: {exc.strerror or exc}")
            return
        src.lines = line_index(text)
        try:
            data = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            line = None
            msg = str(exc)
            if "(at line " in msg:
                line = int(msg.split("(at line ")[1].split(",")[0])
            src.problem((), f"not valid TOML: {msg}", line=line)
            return
        top = s.table(src, (), data, TOP) or {}
        realm = s.string(src, ("realm",), top.get("realm", DEFAULT_REALM)) or DEFAULT_REALM
        book = self.book(realm)
        for code, spec in (top.get("currencies") or {}).items():
            spec = s.table(src, ("currencies", code), spec, {"scale"}, {"scale"})
            if spec and "scale" in spec:
                scale = s.integer(src, ("currencies", code, "scale"), spec["scale"], 0, 8)
                if scale is not None:
                    self.scales[code] = scale
        defaults = {
            "currency": self.currency(src, ("currency",), top["currency"]) if "currency" in top else None,
            "timezone": self.timezone(src, ("timezone",), top["timezone"]) if "timezone" in top else None,
            "file": file,
        }
        if "tax" in top:
            book.tax = self.tax(src, top["tax"])
        for kind, reader in (("calendars", self.calendar), ("tables", self.table), ("costs", self.cost)):
            section = top.get(kind, {})
            if not isinstance(section, dict):
                src.problem((kind,), "must be a table")
                continue
            for name, spec in section.items():
                path = (kind, name)
                if not self.claim(src, book, kind, name, path):
                    continue
                getattr(book, kind)[name] = reader(src, path, spec, defaults)
        plans = top.get("plans", {})
        if not isinstance(plans, dict):
            src.problem(("plans",), "must be a table of plans")
            return
        for name, spec in plans.items():
            path = ("plans", name)
            if self.claim(src, book, "plans", name, path):
                book.plans[name] = ((src, path, spec), defaults)

    def claim(self, src: Source, book: Book, kind: str, name: str, path: Path) -> bool:
        other = book.where.get((kind, name))
        if other is not None:
            src.problem(path, f"defined twice in realm {book.realm!r} (also in {other})")
            return False
        book.where[(kind, name)] = src.file
        return True

    def tax(self, src: Source, spec: Any) -> Tax | None:
        spec = s.table(src, ("tax",), spec, {"name", "rate"}, {"name", "rate"})
        if not spec or "name" not in spec or "rate" not in spec:
            return None
        name = s.string(src, ("tax", "name"), spec["name"])
        rate = s.percent(src, ("tax", "rate"), spec["rate"])
        if name is None or rate is None:
            return None
        return Tax(name, rate / 100)

    # -- calendars --------------------------------------------------------------------------

    def calendar(self, src: Source, path: Path, spec: Any, defaults: dict[str, Any]) -> CalendarDef | None:
        spec = s.table(
            src, path, spec, {"timezone", "default", "windows", "holidays", "holiday_window"}, {"default"}
        )
        if not spec:
            return None
        tz = self.timezone(src, (*path, "timezone"), spec["timezone"]) if "timezone" in spec else None
        default = s.string(src, (*path, "default"), spec.get("default", "offpeak"))
        windows: list[Window] = []
        owner: list[Path] = []
        for wpath, w in s.tables(src, (*path, "windows"), spec.get("windows")):
            w = s.table(src, wpath, w, {"name", "days", "from", "to"}, {"name", "days", "from", "to"})
            if not w or not {"name", "days", "from", "to"} <= w.keys():
                continue
            name = s.string(src, (*wpath, "name"), w["name"])
            days = _days(src, (*wpath, "days"), w["days"])
            a = _clock(src, (*wpath, "from"), w["from"])
            b = _clock(src, (*wpath, "to"), w["to"])
            if name is None or days is None or a is None or b is None:
                continue
            if a == b:
                src.problem(wpath, "window is empty (from = to)")
                continue
            if a < b:
                windows.append(Window(name, days, a, b))
                owner.append(wpath)
            else:  # crosses midnight: two pieces
                windows.append(Window(name, days, a, 1440))
                windows.append(Window(name, frozenset((d + 1) % 7 for d in days), 0, b))
                owner += [wpath, wpath]
        for d in range(7):
            todays = sorted((w.start, w.end, i) for i, w in enumerate(windows) if d in w.days)
            for (_a1, b1, i1), (a2, _b2, i2) in itertools.pairwise(todays):
                if a2 < b1:
                    w1, w2 = windows[i1], windows[i2]
                    src.problem(
                        owner[i2],
                        f"overlaps window {w1.name!r} on {DAYS[d]} ({_hm(a2)}–{_hm(min(b1, w2.end))})",
                    )
        holidays = set()
        hpath = (*path, "holidays")
        if "holidays" in spec:
            if isinstance(spec["holidays"], list):
                for i, h in enumerate(spec["holidays"]):
                    day = s.day(src, (*hpath, i), h)
                    if day is not None:
                        holidays.add(day)
            else:
                src.problem(hpath, "must be an array of dates")
        hw = (
            s.string(src, (*path, "holiday_window"), spec["holiday_window"])
            if "holiday_window" in spec
            else None
        )
        if default is None:
            return None
        return CalendarDef(path[-1], tz, default, tuple(windows), frozenset(holidays), hw)  # type: ignore[arg-type]

    # -- destination and cost tables --------------------------------------------------------

    def _rows(self, src: Source, path: Path, spec: dict[str, Any], what: str) -> dict[str, str]:
        """prefix/key -> value from the inline table, then the CSV it names (hot for big tables)."""
        rows: dict[str, str] = {}
        origin: dict[str, tuple[str, int | None]] = {}  # inline keys: where they are
        csv_lines: dict[str, int] = {}  # CSV keys: their line
        digits = what == "prefixes"
        inline = spec.get(what, {})
        if not isinstance(inline, dict):
            src.problem((*path, what), "must be a table")
            inline = {}
        for key, value in inline.items():
            kpath = (*path, what, key)
            line = src.line(kpath)
            if digits and not str(key).isdigit():
                src.problem(kpath, f"prefix {key!r} is not all digits", line=line)
                continue
            rows[str(key)] = str(value)
            origin[str(key)] = (src.file, line)
        if "csv" not in spec:
            return rows
        name = s.string(src, (*path, "csv"), spec["csv"])
        if not name:
            return rows
        csv_path = FsPath(src.file).parent / name
        cpath = (*path, "csv")
        try:
            for line, key, value in read_rows(csv_path):
                old = rows.get(key)
                if old is None and value and (not digits or key.isdigit()):
                    rows[key] = value
                    csv_lines[key] = line
                    continue
                if not value:
                    src.problem(cpath, "row needs two columns", line=line, file=str(csv_path))
                elif digits and not key.isdigit():
                    src.problem(cpath, f"prefix {key!r} is not all digits", line=line, file=str(csv_path))
                elif old != value:
                    file, at = origin.get(key, (str(csv_path), csv_lines.get(key)))
                    where = f"{file}:{at}" if at else file
                    src.problem(
                        cpath,
                        f"prefix {key} is in two zones: {old!r} ({where}) and {value!r}",
                        line=line,
                        file=str(csv_path),
                    )
        except OSError as exc:
            src.problem(cpath, f"cannot read {csv_path}: {exc.strerror or exc}")
        return rows

    def table(self, src: Source, path: Path, spec: Any, defaults: dict[str, Any]) -> DestinationTable | None:
        spec = s.table(src, path, spec, {"prefixes", "csv", "areas", "local_zone"})
        if spec is None:
            return None
        rows = self._rows(src, path, spec, "prefixes")
        areas = s.strings(src, (*path, "areas"), spec["areas"]) if "areas" in spec else []
        local = s.string(src, (*path, "local_zone"), spec["local_zone"]) if "local_zone" in spec else None
        if areas and local is None:
            src.problem((*path, "areas"), "areas need a local_zone to put same-area calls in")
        if not rows:
            src.problem(path, "table has no prefixes")
        return DestinationTable.build(str(path[-1]), rows, frozenset(areas or ()), local)

    def cost(self, src: Source, path: Path, spec: Any, defaults: dict[str, Any]) -> CostTable | None:
        spec = s.table(src, path, spec, {"currency", "key", "unit", "prices", "csv"})
        if spec is None:
            return None
        currency = (
            self.currency(src, (*path, "currency"), spec["currency"])
            if "currency" in spec
            else defaults["currency"]
        )
        if currency is None:
            src.problem(path, "needs a currency (here or at the top of the file)")
        key = s.string(
            src, (*path, "key"), spec.get("key", "prefix"), ("prefix", "zone", "class", "window", "flat")
        )
        unit = s.string(src, (*path, "unit"), spec["unit"]) if "unit" in spec else ""
        rows = self._rows(src, path, spec, "prefixes" if key == "prefix" else "prices") if key else {}
        if key == "prefix" and "prices" in spec:
            rows.update(self._rows(src, path, {"prefixes": spec["prices"]}, "prefixes"))
        costs: dict[str, Decimal] = {}
        for k, value in rows.items():
            amount = s.number(src, (*path, "prices", k), value)
            if amount is not None:
                costs[k] = amount
        if currency is None or key is None:
            return None
        return CostTable.build(str(path[-1]), currency, key, unit or "", costs)


def _days(src: Source, path: Path, value: Any) -> frozenset[int] | None:
    """["mon", "tue"] or "mon-fri" or "sat,sun" -> {0, 1}."""
    items: list[str] = []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    out: set[int] = set()
    for item in items:
        a, _, b = item.lower().partition("-")
        if a not in DAYS or (b and b not in DAYS):
            src.problem(path, f"{item!r} is not a day (mon…sun) or range (mon-fri)")
            return None
        i, j = DAYS.index(a), DAYS.index(b or a)
        out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
    if not out:
        src.problem(path, 'must name at least one day, e.g. "mon-fri"')
        return None
    return frozenset(out)


def _clock(src: Source, path: Path, value: Any) -> int | None:
    text = value if isinstance(value, str) else str(value)
    hh, _, mm = text.partition(":")
    if (
        hh.isdigit()
        and mm.isdigit()
        and len(mm) == 2
        and ((int(hh) < 24 and int(mm) < 60) or text == "24:00")
    ):
        return int(hh) * 60 + int(mm)
    src.problem(path, f'{value!r} is not a time of day like "08:00" (or "24:00")')
    return None


def _hm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def load_catalog(paths: Iterable[str | FsPath]) -> Catalog:
    """Load pricebook files into a Catalog; PricebookError lists every problem found."""
    from rating.plans import build_plans

    loader = Loader()
    for p in paths:
        loader.read(FsPath(p))
    realms: dict[str, Realm] = {}
    for name, book in loader.books.items():
        realms[name] = Realm(name, {}, book.tax)
    prefix_count = build_plans(loader, realms)
    problems: list[Problem] = []
    seen: set[Problem] = set()
    for src in loader.sources:
        for problem in src.problems:
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)
    if problems:
        raise PricebookError(problems)
    return Catalog(realms, tuple(src.file for src in loader.sources), prefix_count)
