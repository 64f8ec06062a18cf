"""Shared helpers for the rating tests: the shipped example pricebook and usage builders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import rating
from rating import Catalog, Rating

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "pricebook.example.toml"
VISP = ROOT / "config" / "pricebook.visp.example.toml"
NZ = ZoneInfo("Pacific/Auckland")
GB = 10**9


def nz(text: str) -> datetime:
    """A Pacific/Auckland wall-clock time as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=NZ).astimezone(UTC)


def advance(counters: dict[str, Decimal], result: Rating) -> None:
    """What the quota layer does: add the rating's increments to the period counters."""
    for key, value in result.counters.items():
        counters[key] = counters.get(key, Decimal(0)) + value


def add(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> dict[str, Decimal]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, Decimal(0)) + v
    return out


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return rating.load_catalog([EXAMPLE, VISP])
