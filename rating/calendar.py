"""Calendars: weekly windows (peak, off-peak, shoulder…), public holidays, a time zone.

All arithmetic is on integer microseconds since the Unix epoch (UTC), so splitting
usage pro rata by time is exact. A local day's window boundaries are computed once
and memoised on the calendar (the calendar itself never changes).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from rating.errors import InvalidUsage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def to_us(t: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise InvalidUsage(f"{t.isoformat()} has no time zone: times must be aware (UTC)")
    return (t - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class Window:
    """One weekly window: on ``days`` (0 = Monday) from minute ``start`` to ``end`` (local)."""

    name: str
    days: frozenset[int]
    start: int  # minutes after local midnight
    end: int  # exclusive, up to 1440

    def describe(self) -> str:
        days = ",".join(DAYS[d] for d in sorted(self.days))
        a, b = self.start, self.end
        return f"{self.name} {days} {a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"


Span = tuple[int, int, str]  # (start µs, end µs, window name)


@dataclass(frozen=True)
class Calendar:
    """Named weekly windows in a time zone; time outside every window is ``default``."""

    name: str
    tz: ZoneInfo
    default: str
    windows: tuple[Window, ...] = ()
    holidays: frozenset[date] = frozenset()
    holiday_window: str | None = None  # the window a whole holiday falls in (default: ``default``)
    _days: dict[date, tuple[Span, ...]] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _edges: list[int] = field(default_factory=list, compare=False, hash=False, repr=False)
    _names: list[str] = field(default_factory=list, compare=False, hash=False, repr=False)

    def window_names(self) -> set[str]:
        names = {self.default, *(w.name for w in self.windows)}
        if self.holiday_window:
            names.add(self.holiday_window)
        return names

    def _local(self, d: date, minute: int) -> int:
        if minute >= 1440:
            d, minute = d + timedelta(days=1), minute - 1440
        t = datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=self.tz)
        return to_us(t)

    def day(self, d: date) -> tuple[Span, ...]:
        """The spans covering local date ``d`` (midnight to midnight), in order."""
        spans = self._days.get(d)
        if spans is not None:
            return spans
        if d in self.holidays:
            marks = [(0, 1440, self.holiday_window or self.default)]
        else:
            wd = d.weekday()
            marks = sorted((w.start, w.end, w.name) for w in self.windows if wd in w.days)
        pieces: list[tuple[int, int, str]] = []
        at = 0
        for a, b, name in marks:
            if a > at:
                pieces.append((at, a, self.default))
            pieces.append((a, b, name))
            at = b
        if at < 1440:
            pieces.append((at, 1440, self.default))
        merged: list[Span] = []
        for a, b, name in pieces:
            ua, ub = self._local(d, a), self._local(d, b)
            if merged and merged[-1][2] == name:
                merged[-1] = (merged[-1][0], ub, name)
            elif ub > ua:
                merged.append((ua, ub, name))
        result = tuple(merged)
        if len(self._days) > 4096:
            self._days.clear()
        self._days[d] = result
        return result

    def split(self, start: int, end: int) -> list[Span]:
        """[start, end) in µs cut at window boundaries: [(start, end, window), …] in order.

        An instant (start == end) gives one zero-length span in the window it falls in.
        """
        edges, names = self._edges, self._names
        if not edges or start < edges[0] or end >= edges[-1]:
            self._cover(start, end)
            edges, names = self._edges, self._names
        i = bisect_right(edges, start) - 1
        if start == end:
            return [(start, end, names[i])]
        out: list[Span] = []
        at = start
        while at < end:
            b = edges[i + 1]
            y = b if b < end else end
            out.append((at, y, names[i]))
            at = y
            i += 1
        return out

    def _cover(self, start: int, end: int) -> None:
        """Extend the flat boundary list (edges[i]..edges[i+1] is names[i]) over [start, end]."""
        first = from_us(start).astimezone(self.tz).date() - timedelta(days=1)
        last = from_us(end).astimezone(self.tz).date() + timedelta(days=1)
        if self._edges:
            lo = from_us(self._edges[0]).astimezone(self.tz).date()
            hi = from_us(self._edges[-1]).astimezone(self.tz).date()
            first, last = min(first, lo), max(last, hi)
            if (last - first).days > 800:  # keep the memo bounded: restart around this usage
                first = from_us(start).astimezone(self.tz).date() - timedelta(days=1)
                last = from_us(end).astimezone(self.tz).date() + timedelta(days=1)
        edges: list[int] = []
        names: list[str] = []
        d = first
        while d <= last:
            for a, b, name in self.day(d):
                if names and names[-1] == name and edges[-1] == a:
                    edges[-1] = b
                    continue
                if not edges:
                    edges.append(a)
                elif edges[-1] != a:  # never happens for contiguous days; keep the list consistent
                    edges.append(a)
                    names.append(self.default)
                names.append(name)
                edges.append(b)
            d += timedelta(days=1)
        self._edges[:] = edges
        self._names[:] = names

    def window_at(self, t: int) -> str:
        return self.split(t, t)[0][2]
