"""Destination tables (longest prefix of B -> zone, A/B area rule) and carrier cost tables.

Lookup is a dict probe per distinct prefix length, longest first: a 100,000-prefix
table has a handful of lengths, so a lookup is a few string slices and dict gets.
"""

from __future__ import annotations

import csv
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType


def _lengths(keys: Mapping[str, object] | frozenset[str] | dict[str, str]) -> tuple[int, ...]:
    return tuple(sorted({len(k) for k in keys}, reverse=True))


def longest(number: str, table: Container[str], lengths: tuple[int, ...]) -> str | None:
    """The longest key of ``table`` that ``number`` starts with."""
    n = len(number)
    for length in lengths:
        if length <= n:
            head = number[:length]
            if head in table:
                return head
    return None


@dataclass(frozen=True, slots=True)
class DestinationTable:
    """Zones by longest prefix of the B number; ``local_zone`` when A and B share an area."""

    name: str
    zones: Mapping[str, str]
    lengths: tuple[int, ...]
    areas: frozenset[str] = frozenset()
    area_lengths: tuple[int, ...] = ()
    local_zone: str | None = None
    names: frozenset[str] = frozenset()  # every zone the table can give

    @classmethod
    def build(
        cls,
        name: str,
        zones: dict[str, str],
        areas: frozenset[str] = frozenset(),
        local_zone: str | None = None,
    ) -> DestinationTable:
        names = frozenset(zones.values()) | ({local_zone} if local_zone else frozenset())
        return cls(name, MappingProxyType(zones), _lengths(zones), areas, _lengths(areas), local_zone, names)

    def zone_names(self) -> frozenset[str]:
        return self.names

    def lookup(self, a: str, b: str) -> tuple[str, str] | None:
        """(zone, prefix matched) for a call from ``a`` to ``b``, or None."""
        if self.local_zone and a:
            area = longest(a, self.areas, self.area_lengths)
            if area is not None and b.startswith(area):
                return self.local_zone, area
        prefix = longest(b, self.zones, self.lengths)
        if prefix is None:
            return None
        return self.zones[prefix], prefix


@dataclass(frozen=True, slots=True)
class CostTable:
    """A carrier's cost per unit, keyed by B-number prefix, zone, data class or window."""

    name: str
    currency: str
    key: str  # "prefix" | "zone" | "class" | "window" | "flat"
    unit: str
    costs: Mapping[str, Decimal]
    lengths: tuple[int, ...]

    @classmethod
    def build(cls, name: str, currency: str, key: str, unit: str, costs: dict[str, Decimal]) -> CostTable:
        return cls(name, currency, key, unit, MappingProxyType(costs), _lengths(costs))

    def lookup(self, value: str) -> tuple[Decimal, str] | None:
        """(cost, key matched) for a B number, zone, class or window name."""
        if self.key == "flat":
            cost = self.costs.get("*")
            return None if cost is None else (cost, "*")
        if self.key == "prefix":
            prefix = longest(value, self.costs, self.lengths)
            return None if prefix is None else (self.costs[prefix], prefix)
        cost = self.costs.get(value)
        return None if cost is None else (cost, value)


def read_rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, first column, second column) for each data row of a two-column CSV.

    Blank lines and lines starting with '#' are skipped; a header row whose first
    cell is 'prefix' is skipped too. Rows with fewer than two cells come back with ''.
    Plain lines are split directly (fast: 100,000 rows in well under a second); a line
    with a quote goes through the csv module.
    """
    with path.open(newline="", encoding="utf-8") as fh:
        text = fh.read()
    for number, line in enumerate(text.splitlines(), start=1):
        if '"' in line:
            row = next(csv.reader([line]), [])
            first = row[0].strip() if row else ""
            second = row[1].strip() if len(row) > 1 else ""
        else:
            first, _, rest = line.partition(",")
            second = rest.partition(",")[0].strip()
            first = first.strip()
        if not first or first[0] == "#" or (number == 1 and first.lower() == "prefix"):
            continue
        yield number, first, second
