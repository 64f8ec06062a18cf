"""The pricing scenarios of ../shared/scenarios/pricing.md at the engine level, exact figures,
with the plans taken from the shipped config/pricebook.example.toml."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

import rating
from rating import Catalog, Usage, one_off_fees, rate, recurring_fees, to_ledger
from tests.rating.conftest import GB, advance, nz

D = Decimal
CALLS = [
    ("6493002222", 300),
    ("6444720000", 61),
    ("64211234567", 45),
    ("61412345678", 125),
    ("61298765432", 10),
]


def call(b: str, seconds: int, when: str = "2026-06-10T10:00") -> Usage:
    start = nz(when)
    return Usage("voice", start, start + timedelta(seconds=seconds), a_number="6493001111", b_number=b)


def test_s1_home_100_warns_at_80_throttles_at_100_and_charges_nothing(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Home 100")
    assert plan is not None
    counters: dict[str, Decimal] = {}
    crossings, exhaustions, totals = [], [], []
    start = nz("2026-06-02T09:00")
    # 120 GB in 5 GB interims over several sessions
    for i in range(24):
        usage = Usage(
            "data",
            start + timedelta(minutes=15 * i),
            start + timedelta(minutes=15 * (i + 1)),
            octets_in=GB,
            octets_out=4 * GB,
        )
        result = rate(usage, plan, counters)
        advance(counters, result)
        crossings += [(i, x.percent, x.action) for x in result.crossings]
        exhaustions += [(i, e.action, dict(e.reply)) for e in result.exhausted if e.now]
        totals.append(result.total)
    assert crossings == [(15, D(80), "notify")]  # the interim that reaches 80 GB
    assert exhaustions == [(19, "throttle", {"Mikrotik-Rate-Limit": "1M/1M"})]  # the one reaching 100 GB
    assert to_ledger(sum(totals, D(0)), "NZD") == D("0.00")
    assert counters["data"] == 120 * GB and counters["bundle:data"] == 100 * GB
    # a new session after exhaustion: still throttled, still free, no second CoA
    later = rate(Usage("data", nz("2026-06-20T10:00"), nz("2026-06-20T11:00"), octets_out=GB), plan, counters)
    assert later.total == 0 and not later.crossings
    assert [(e.bundle, e.now) for e in later.exhausted] == [("data", False)]
    assert dict(later.reply) == {"Mikrotik-Rate-Limit": "1M/1M"}
    state = rating.bundle_state(plan, counters, nz("2026-06-20T10:00"))
    assert [(s.name, s.exhausted, s.action, dict(s.reply)) for s in state] == [
        ("data", True, "throttle", {"Mikrotik-Rate-Limit": "1M/1M"})
    ]
    fees = recurring_fees(plan, date(2026, 6, 1), date(2026, 7, 1), [(date(2026, 5, 1), None)])
    assert [(f.name, to_ledger(f.amount, "NZD"), f.timing) for f in fees] == [
        ("Home 100", D("49.95"), "advance")
    ]


@pytest.mark.parametrize("sessions", [[20, 25, 20], [65], [5, 5, 5, 50], [10, 40, 15]])
def test_s2_bands_cumulative_over_the_month(catalog: Catalog, sessions: list[int]) -> None:
    plan = catalog.find_plan("default", "Business Metered")
    assert plan is not None
    counters: dict[str, Decimal] = {}
    total = D(0)
    start = nz("2026-06-03T08:00")
    for i, gb in enumerate(sessions):
        result = rate(
            Usage("data", start + timedelta(hours=i), start + timedelta(hours=i + 1), octets_out=gb * GB),
            plan,
            counters,
        )
        advance(counters, result)
        total += result.total
    assert to_ledger(total, "NZD") == D("95.00")
    assert total == D("95")


def test_s2_band_crossing_inside_one_interim_is_explained(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Business Metered")
    assert plan is not None
    result = rate(
        Usage("data", nz("2026-06-03T08:00"), nz("2026-06-03T09:00"), octets_out=20 * GB),
        plan,
        {"data": D(5 * GB)},
    )
    assert [(c.band, c.units, c.rate, c.amount) for c in result.charges] == [
        ("1: 0 GB–10 GB", D(5), D("2.00"), D("10.00")),
        ("2: 10 GB–50 GB", D(15), D("1.50"), D("22.50")),
    ]


def smart(catalog: Catalog, cls: str, start: str, end: str, octets: int) -> Decimal:
    plan = catalog.find_plan("default", "Smart Data")
    assert plan is not None
    return rate(
        Usage("data", nz(start), nz(end), octets_out=octets, attributes={"Jet-Traffic-Class": cls}), plan
    ).total


def test_s3_data_class_and_peak_offpeak(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Smart Data")
    assert plan is not None
    a = D(0)
    t = nz("2026-06-09T19:30")
    for _ in range(4):  # interims every 15 minutes, 0.5 GB each
        a += rate(
            Usage(
                "data",
                t,
                t + timedelta(minutes=15),
                octets_out=GB // 2,
                attributes={"Jet-Traffic-Class": "web"},
            ),
            plan,
        ).total
        t += timedelta(minutes=15)
    b = smart(catalog, "p2p", "2026-06-13T01:00", "2026-06-13T03:00", 10 * GB)
    c = smart(catalog, "bittorrent", "2026-06-09T10:00", "2026-06-09T10:30", GB)
    d = smart(catalog, "web", "2026-06-09T07:50", "2026-06-09T08:10", 4 * GB // 10)
    assert (to_ledger(a, "NZD"), to_ledger(b, "NZD"), to_ledger(c, "NZD"), to_ledger(d, "NZD")) == (
        D("0.15"),
        D("0.00"),
        D("0.20"),
        D("0.03"),
    )
    assert to_ledger(a + b + c + d, "NZD") == D("0.38")


def test_s3_start_stop_across_peak_boundary_splits_pro_rata(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Smart Data")
    assert plan is not None
    result = rate(
        Usage(
            "data",
            nz("2026-06-09T07:50"),
            nz("2026-06-09T08:10"),
            octets_out=4 * GB // 10,
            attributes={"Jet-Traffic-Class": "web"},
        ),
        plan,
    )
    assert [(c.window, c.klass, c.quantity, c.amount) for c in result.charges] == [
        ("offpeak", "web", D(200_000_000), D("0.01")),
        ("peak", "web", D(200_000_000), D("0.02")),
    ]


def test_s3_public_holiday_is_offpeak(catalog: Catalog) -> None:
    # Mon 2026-06-01 is King's Birthday in the example calendar
    assert smart(catalog, "web", "2026-06-01T10:00", "2026-06-01T11:00", GB) == D("0.05")
    assert smart(catalog, "web", "2026-06-02T10:00", "2026-06-02T11:00", GB) == D("0.10")


@pytest.mark.parametrize(
    ("plan_name", "expected", "line"),
    [
        ("Talk Standard", ["0.0000", "0.1000", "0.1520", "0.8500", "0.1900"], "1.29"),
        ("Wholesale Voice", ["0.0600", "0.0240", "0.1440", "0.6480", "0.0480"], "0.92"),
    ],
)
def test_s4_and_s4b_voice(catalog: Catalog, plan_name: str, expected: list[str], line: str) -> None:
    plan = catalog.find_plan("default", plan_name)
    assert plan is not None
    ratings = [rate(call(b, s), plan) for b, s in CALLS]
    assert [str(r.total) for r in ratings] == expected
    assert to_ledger(sum((r.total for r in ratings), D(0)), "NZD") == D(line)
    if plan_name == "Talk Standard":  # the invoice groups calls by zone, each line rounded once
        lines = rating.usage_lines([c for r in ratings for c in r.charges], "NZD")
        assert [(x.label, x.ledger) for x in lines] == [
            ("Calls local", D("0.00")),
            ("Calls national", D("0.10")),
            ("Calls nz-mobile", D("0.15")),
            ("Calls australia-mobile", D("0.85")),
            ("Calls australia", D("0.19")),
        ]
        (calls,) = rating.usage_lines([c for r in ratings for c in r.charges], "NZD", by=("meter",))
        assert (calls.label, calls.amount, calls.ledger, calls.units) == (
            "Calls",
            D("1.2920"),
            D("1.29"),
            D("11.8"),
        )


def test_s4_explanation_names_zone_prefix_and_rounding(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Talk Standard")
    assert plan is not None
    local = rate(call("6493002222", 300), plan).charges
    assert [(c.zone, c.prefix) for c in local] == [("local", "649")]
    mobile = rate(call("64211234567", 45), plan).charges
    assert [(c.zone, c.prefix, c.quantity, c.billed, c.rate, c.amount) for c in mobile] == [
        ("nz-mobile", "642", D(45), D(48), D("0.19"), D("0.1520"))
    ]
    au = rate(call("61412345678", 125), plan).charges
    assert [(c.kind, c.zone, c.prefix, c.billed, c.amount) for c in au] == [
        ("connection", "australia-mobile", "614", D(1), D("0.10")),
        ("usage", "australia-mobile", "614", D(180), D("0.7500")),
    ]
    text = rating.explain(rate(call("61412345678", 125), plan))
    assert (
        "zone australia-mobile" in text
        and "prefix 614" in text
        and "quantity 125 s → billed 180 s" in text
        and "= 0.7500 NZD" in text
    )


def test_s5_solar_import_export_and_daily_charge(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Solar Home")
    assert plan is not None
    months = [
        ("2026-06-01", "2026-07-01", 450, 300, "138.00"),
        ("2026-07-01", "2026-08-01", 100, 700, "9.20"),
    ]
    for first, nxt, kwh_in, kwh_out, expected in months:
        usage = rate(
            Usage(
                "energy",
                nz(first + "T00:00"),
                nz(nxt + "T00:00"),
                kwh_import=D(kwh_in),
                kwh_export=D(kwh_out),
            ),
            plan,
        )
        fees = recurring_fees(
            plan, date.fromisoformat(first), date.fromisoformat(nxt), [(date(2026, 1, 1), None)]
        )
        lines = [to_ledger(c.amount, "NZD") for c in usage.charges] + [
            to_ledger(f.amount, "NZD") for f in fees
        ]
        assert sum(lines, D(0)) == D(expected)
    june = rate(
        Usage("energy", nz("2026-06-01T00:00"), nz("2026-07-01T00:00"), kwh_import=D(450), kwh_export=D(300)),
        plan,
    )
    assert [(c.meter, c.amount) for c in june.charges] == [
        ("energy_import", D("126.00")),
        ("energy_export", D("-24.00")),
    ]


def test_s6_money_bundle_of_calls(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Talk 250")
    assert plan is not None
    counters: dict[str, Decimal] = {}
    due, crossings = D(0), []
    records = [call("61298765432", 60)] * 1000 + [call("64211234567", 120, "2026-06-11T10:00")] * 290
    for i, usage in enumerate(records):
        result = rate(usage, plan, counters)
        advance(counters, result)
        due += result.total
        crossings += [(i, x.percent, x.action) for x in result.crossings]
    assert crossings == [(1026, D(80), "notify")]  # 190.00 + 27 × 0.38 = 200.26 crosses 200.00
    assert counters["bundle:calls"] == D("250.00")
    fees = recurring_fees(plan, date(2026, 6, 1), date(2026, 7, 1), [(date(2026, 5, 1), None)])
    invoice = sum((to_ledger(f.amount, "NZD") for f in fees), D(0)) + to_ledger(due, "NZD")
    assert (to_ledger(due, "NZD"), invoice) == (D("50.20"), D("80.20"))


def test_s7_proration_one_off_and_tax(catalog: Catalog) -> None:
    plan = catalog.find_plan("default", "Fibre 300")
    assert plan is not None
    tax = catalog.tax("default")
    assert tax is not None and (tax.name, tax.rate) == ("GST", D("0.15"))
    active = [(date(2026, 6, 16), None)]
    june = recurring_fees(plan, date(2026, 6, 1), date(2026, 7, 1), active)
    june += one_off_fees(plan, "activation", nz("2026-06-16T09:00"))
    lines = [(f.name, to_ledger(f.amount, "NZD")) for f in june]
    assert lines == [("Fibre 300", D("30.00")), ("Installation", D("99.00"))]
    assert june[0].explanation == "60.00 × 15/30 days"
    net = sum((amount for _, amount in lines), D(0))
    gst = to_ledger(net * tax.rate, "NZD")
    assert (net, gst, net + gst) == (D("129.00"), D("19.35"), D("148.35"))
    july = recurring_fees(plan, date(2026, 7, 1), date(2026, 8, 1), active)
    net = sum((to_ledger(f.amount, "NZD") for f in july), D(0))
    gst = to_ledger(net * tax.rate, "NZD")
    assert (net, gst, net + gst) == (D("60.00"), D("9.00"), D("69.00"))


def test_s8_wholesale_owner_invoice(catalog: Catalog) -> None:
    owner = catalog.find_plan("default", "VISP Wholesale")
    assert owner is not None
    fees = recurring_fees(
        owner, date(2026, 6, 1), date(2026, 7, 1), [(date(2026, 1, 1), None)], subscribers=3
    )
    counters: dict[str, Decimal] = {}
    usage = D(0)
    for gb in (10, 20, 30):  # alice, bob, carol
        result = rate(
            Usage("data", nz("2026-06-05T10:00"), nz("2026-06-05T11:00"), octets_out=gb * GB), owner, counters
        )
        advance(counters, result)
        usage += result.total
    net = sum((to_ledger(f.amount, "NZD") for f in fees), D(0)) + to_ledger(usage, "NZD")
    tax = catalog.tax("visp.example")
    assert tax is not None
    gst = to_ledger(net * tax.rate, "NZD")
    assert (fees[0].explanation, net, gst, net + gst) == (
        "5.00 per month × 3 subscribers",
        D("45.00"),
        D("6.75"),
        D("51.75"),
    )
    assert catalog.find_plan("visp.example", "VISP Home 50") is not None
    assert catalog.find_plan("default", "VISP Home 50") is None
    assert catalog.find_plan("visp.example", "Home 100") is not None  # falls back to the default realm
