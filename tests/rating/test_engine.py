"""Engine details: effective dates, unit rounding, increments, errors, helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import rating
from rating import (
    CurrencyMismatch,
    InvalidUsage,
    Money,
    Plan,
    UnratedUsage,
    Usage,
    load_catalog,
    rate,
    recurring_fees,
    split_usage,
    to_ledger,
)
from tests.rating.conftest import GB, nz

D = Decimal

BOOK = """
currency = "NZD"
timezone = "Pacific/Auckland"

[plans.Change]
cycle_day = 5
[[plans.Change.fees]]
name = "Monthly"
amount = "31.00"
[plans.Change.data]
unit = "GB"
price = "1.00"
[plans.Change.sms]
price = "0.10"
[plans.Change.time]
unit = "min"
increments = "60/60"
price = "0.50"
[[plans.Change.changes]]
from = 2026-07-01T00:00:00+12:00
[[plans.Change.changes.fees]]
name = "Monthly"
amount = "62.00"
[plans.Change.changes.data]
unit = "GB"
price = "2.00"

[plans.Rounded.data]
unit = "MB"
rounding = "up"
price = "0.01"
"""


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    path = tmp_path_factory.mktemp("book") / "book.toml"
    path.write_text(BOOK)
    catalog = load_catalog([path])
    return {p.name: p for p in catalog.plans("default")}


def test_price_change_splits_usage_pro_rata_by_time(plans: dict[str, Plan]) -> None:
    result = rate(
        Usage("data", nz("2026-06-30T23:00"), nz("2026-07-01T01:00"), octets_in=2 * GB), plans["Change"]
    )
    assert [(c.units, c.rate, c.terms_from) for c in result.charges] == [
        (D(1), D("1.00"), None),
        (D(1), D("2.00"), datetime(2026, 6, 30, 12, tzinfo=UTC)),
    ]
    assert result.total == D("3.00")


def test_price_change_keeps_sections_it_does_not_replace(plans: dict[str, Plan]) -> None:
    sms = rate(Usage("sms", nz("2026-07-02T10:00"), nz("2026-07-02T10:00"), events=3), plans["Change"])
    assert sms.total == D("0.30")


def test_fee_changes_mid_period_are_split_by_days(plans: dict[str, Plan]) -> None:
    plan = plans["Change"]
    lines = recurring_fees(plan, date(2026, 6, 5), date(2026, 7, 5), [(date(2026, 1, 1), None)])
    # 26 days at 31.00/30 days, 4 days at 62.00/30 days
    assert [(f.amount.quantize(D("0.0001")), f.days) for f in lines] == [(D("26.8667"), 26), (D("8.2667"), 4)]
    assert rating.cycle_period(plan, date(2026, 6, 4)) == (date(2026, 5, 5), date(2026, 6, 5))


def test_cumulative_unit_rounding_does_not_round_every_interim(plans: dict[str, Plan]) -> None:
    plan = plans["Rounded"]
    counters: dict[str, Decimal] = {}
    total = D(0)
    for _ in range(10):  # 10 interims of 0.3 MB: 3 MB in all, not 10 MB
        r = rate(
            Usage("data", nz("2026-06-02T10:00"), nz("2026-06-02T10:01"), octets_in=300_000), plan, counters
        )
        for k, v in r.counters.items():
            counters[k] = counters.get(k, D(0)) + v
        total += r.total
    assert total == D("0.03")


def test_time_increments_and_explanations(plans: dict[str, Plan]) -> None:
    r = rate(Usage("time", nz("2026-06-02T10:00"), nz("2026-06-02T10:01:01")), plans["Change"])
    assert [(c.quantity, c.billed, c.amount) for c in r.charges] == [(D(61), D(120), D("1.00"))]
    assert dict(r.counters) == {"time": D(120)}


def test_unrated_usage_and_bad_usage(plans: dict[str, Plan]) -> None:
    with pytest.raises(UnratedUsage, match="has no price for voice"):
        rate(Usage("voice", nz("2026-06-02T10:00"), nz("2026-06-02T10:01"), b_number="64"), plans["Change"])
    with pytest.raises(InvalidUsage, match="no time zone"):
        Usage("data", datetime(2026, 6, 1), datetime(2026, 6, 2))
    with pytest.raises(InvalidUsage, match="ends before"):
        Usage("data", nz("2026-06-02T10:00"), nz("2026-06-02T09:00"))
    with pytest.raises(InvalidUsage, match="unknown usage type"):
        Usage("fax", nz("2026-06-02T10:00"), nz("2026-06-02T10:00"))


def test_unknown_destination_is_unrated(catalog: rating.Catalog) -> None:
    plan = catalog.find_plan("default", "Talk Standard")
    assert plan is not None
    with pytest.raises(UnratedUsage, match="no zone in table 'nz-voice' for a call to '4420'"):
        rate(
            Usage(
                "voice",
                nz("2026-06-02T10:00"),
                nz("2026-06-02T10:01"),
                a_number="6493001111",
                b_number="4420",
            ),
            plan,
        )


def test_unanswered_call_costs_nothing(catalog: rating.Catalog) -> None:
    plan = catalog.find_plan("default", "Talk Standard")
    assert plan is not None
    r = rate(
        Usage(
            "voice",
            nz("2026-06-02T10:00"),
            nz("2026-06-02T10:00"),
            a_number="6493001111",
            b_number="61298765432",
        ),
        plan,
    )
    assert r.charges == () and r.total == 0


def test_money_refuses_mixed_currencies_and_floats() -> None:
    assert (Money(D("1.005"), "NZD") + Money(D("2"), "NZD")).rounded() == Money(D("3.01"), "NZD")
    with pytest.raises(CurrencyMismatch):
        Money(D(1), "NZD") + Money(D(1), "AUD")
    with pytest.raises(rating.RatingError, match="not an exact number"):
        rating.money.decimal(0.1)
    assert to_ledger(D("1.2920"), "NZD") == D("1.29") and to_ledger(D("0.125"), "NZD") == D("0.13")
    assert to_ledger(D("99.5"), "JPY") == D("100")


def test_split_usage_keeps_totals_exact() -> None:
    u = Usage("data", nz("2026-06-30T23:00"), nz("2026-07-01T02:00"), octets_in=1000, octets_out=7)
    a, b = split_usage(u, nz("2026-07-01T00:00"))
    assert (a.octets_in + b.octets_in, a.octets_out + b.octets_out) == (1000, 7)
    assert (a.end, b.start) == (nz("2026-07-01T00:00"), nz("2026-07-01T00:00"))


def test_period_bounds_follow_cycle_day_in_plan_zone(plans: dict[str, Plan]) -> None:
    start, end = rating.period_bounds(plans["Change"], nz("2026-06-04T23:59"))
    assert (start, end) == (nz("2026-05-05T00:00"), nz("2026-06-05T00:00"))


def test_calendar_handles_dst_and_windows_across_midnight(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("""
currency = "NZD"
timezone = "Pacific/Auckland"
[calendars.night]
default = "day"
[[calendars.night.windows]]
name = "night"
days = "mon-sun"
from = "22:00"
to = "06:00"
[plans.N]
calendar = "night"
[[plans.N.time.rates]]
window = "night"
price = "0"
[[plans.N.time.rates]]
window = "day"
price = "1"
""")
    plan = load_catalog([path]).find_plan("default", "N")
    assert plan is not None
    # NZ daylight saving starts Sun 2026-09-27 02:00 -> 03:00: the night that ends that morning is 7 h
    r = rate(Usage("time", nz("2026-09-26T21:00"), nz("2026-09-27T07:00")), plan)
    assert [(c.window, c.quantity) for c in r.charges] == [
        ("day", D(3600)),
        ("night", D(7 * 3600)),
        ("day", D(3600)),
    ]
    assert r.total == D(120)  # 2 h of day time at 1.00 a minute
