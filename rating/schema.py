"""Typed getters over the parsed TOML that report problems instead of raising.

Each getter takes the Source (for the problem list), the key path of the value and the
value itself; on a bad value it records one problem and returns None, so one pass over
a file names every problem in it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from rating.errors import RatingError
from rating.money import decimal
from rating.source import Path, Source
from rating.units import parse_quantity

_PERCENT = re.compile(r"^\s*([0-9.]+)\s*%\s*$")


def table(
    src: Source, path: Path, value: Any, allowed: Collection[str], required: Collection[str] = ()
) -> dict[str, Any] | None:
    """A TOML table with only ``allowed`` keys (each unknown key is a problem)."""
    if not isinstance(value, dict):
        src.problem(path, "must be a table")
        return None
    for key in value:
        if key not in allowed:
            src.problem((*path, key), f"unknown key (expected one of: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in value:
            src.problem(path, f"missing required key {key!r}")
    return value


def tables(src: Source, path: Path, value: Any) -> list[tuple[Path, Any]]:
    """An array of tables: [(path of element, element), …]."""
    if value is None:
        return []
    if not isinstance(value, list):
        src.problem(path, "must be an array of tables")
        return []
    return [((*path, i), v) for i, v in enumerate(value)]


def string(src: Source, path: Path, value: Any, choices: Collection[str] | None = None) -> str | None:
    if not isinstance(value, str) or not value:
        src.problem(path, "must be a non-empty string")
        return None
    if choices is not None and value not in choices:
        src.problem(path, f"{value!r} is not one of: {', '.join(choices)}")
        return None
    return value


def strings(src: Source, path: Path, value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        src.problem(path, "must be an array of strings")
        return None
    return list(value)


def str_map(src: Source, path: Path, value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value.values()
    ):
        src.problem(path, "must be a table of strings")
        return None
    return {str(k): str(v) for k, v in value.items()}


def number(src: Source, path: Path, value: Any, *, minimum: Decimal | None = Decimal(0)) -> Decimal | None:
    """An exact number: a TOML number (read as Decimal) or a string such as "0.10"."""
    try:
        result = decimal(value)
    except RatingError as exc:
        src.problem(path, str(exc))
        return None
    if minimum is not None and result < minimum:
        src.problem(path, f"must be at least {minimum}")
        return None
    return result


def money(src: Source, path: Path, value: Any, currency: str | None) -> Decimal | None:
    """An amount, optionally followed by its currency ("250.00 NZD"), which must match."""
    if isinstance(value, str) and " " in value.strip():
        amount_text, code = value.strip().rsplit(None, 1)
        if currency is not None and code != currency:
            src.problem(path, f"currency mismatch: {code} amount in a {currency} plan")
            return None
        value = amount_text
    return number(src, path, value)


def percent(src: Source, path: Path, value: Any) -> Decimal | None:
    """15, "15", "15%" -> 15 (a percentage)."""
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if m:
            value = m.group(1)
    return number(src, path, value)


def quantity(src: Source, path: Path, meter: str, value: Any, default_unit: str | None) -> Decimal | None:
    try:
        return parse_quantity(meter, value, default_unit)
    except RatingError as exc:
        src.problem(path, str(exc))
        return None


def integer(src: Source, path: Path, value: Any, low: int, high: int) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        src.problem(path, f"must be a whole number from {low} to {high}")
        return None
    return value


def instant(src: Source, path: Path, value: Any) -> datetime | None:
    """An aware TOML datetime or ISO string, as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            src.problem(path, f"{value!r} is not a date-time")
            return None
    if not isinstance(value, datetime):
        src.problem(path, "must be a date-time with an offset, e.g. 2026-07-01T00:00:00+12:00")
        return None
    if value.tzinfo is None:
        src.problem(path, "needs a UTC offset, e.g. 2026-07-01T00:00:00+12:00")
        return None
    return value.astimezone(UTC)


def day(src: Source, path: Path, value: Any) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    src.problem(path, f"{value!r} is not a date like 2026-06-01")
    return None


def choice(src: Source, path: Path, value: Any, choices: Collection[str]) -> Any:
    """One of ``choices`` (typed Any so it can fill a Literal field), or None."""
    return string(src, path, value, choices)
