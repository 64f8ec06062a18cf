"""Hypothesis properties of the engine: split invariance (bands, windows, bundles),
determinism, and no negative charges except export credits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rating import Catalog, Plan, Usage, load_catalog, rate
from tests.rating.conftest import EXAMPLE, GB, add

BOOK = """
currency = "NZD"
timezone = "Pacific/Auckland"

[calendars.week]
default = "offpeak"
holidays = [2026-06-01]
[[calendars.week.windows]]
name = "peak"
days = "mon-fri"
from = "08:00"
to = "20:00"
[[calendars.week.windows]]
name = "shoulder"
days = "sat,sun"
from = "22:30"
to = "06:15"

[plans.Mixed]
calendar = "week"
[plans.Mixed.data]
unit = "MB"
[[plans.Mixed.data.rates]]
window = "peak"
bands = [{ upto = "700 MB", price = "0.013" }, { upto = "3 GB", price = "0.007" }, { price = "0.002" }]
[[plans.Mixed.data.rates]]
window = "shoulder"
price = "0.0031"
[[plans.Mixed.data.rates]]
bands = [{ upto = "1 GB", price = "0.004" }, { price = "0.001" }]
[plans.Mixed.time]
unit = "min"
bands = [{ upto = "90 min", price = "0.03" }, { price = "0.011" }]
[[plans.Mixed.bundles]]
name = "first"
kind = "volume"
size = "1500 MB"
on_exhausted = "charge"
thresholds = [{ percent = 50 }, { percent = 90, action = "disconnect" }]
[[plans.Mixed.bundles]]
name = "cash"
kind = "money"
size = "3.00"
meters = ["data", "time"]
"""

START = datetime(2026, 5, 25, tzinfo=UTC)
TOLERANCE = Decimal("1e-18")
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mixed(tmp: Path) -> Plan:
    path = tmp / "mixed.toml"
    path.write_text(BOOK)
    plan = load_catalog([path]).find_plan("default", "Mixed")
    assert plan is not None
    return plan


PLAN = None


def plan() -> Plan:
    global PLAN
    if PLAN is None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            PLAN = mixed(Path(tmp))
    return PLAN


def rate_parts(
    p: Plan, parts: list[Usage], before: dict[str, Decimal]
) -> tuple[Decimal, dict[str, Decimal], int]:
    counters = dict(before)
    total, crossings = Decimal(0), 0
    for u in parts:
        r = rate(u, p, counters)
        counters = add(counters, r.counters)
        total += r.total
        crossings += len(r.crossings)
    return total, counters, crossings


@FAST
@given(
    offset=st.integers(0, 14 * 24 * 3600),
    seconds=st.integers(1, 3 * 24 * 3600),
    per_second=st.integers(0, 200_000),
    cuts=st.lists(st.floats(0.01, 0.99), max_size=6),
    used=st.integers(0, 4 * GB),
)
def test_time_split_invariance_windows_bands_bundles(
    offset: int, seconds: int, per_second: int, cuts: list[float], used: int
) -> None:
    """Interims that split a session at any instants rate to the same total as one Stop."""
    p = plan()
    start = START + timedelta(seconds=offset)
    points = sorted({0, seconds, *(int(seconds * c) for c in cuts)})
    parts = [
        Usage(
            "data",
            start + timedelta(seconds=a),
            start + timedelta(seconds=b),
            octets_out=per_second * (b - a),
        )
        for a, b in pairwise(points)
        if b > a
    ]
    before = {"data": Decimal(used), "bundle:first": Decimal(min(used, 1500 * 10**6))}
    whole_total, whole_counters, whole_crossings = rate_parts(
        p, [Usage("data", start, start + timedelta(seconds=seconds), octets_out=per_second * seconds)], before
    )
    split_total, split_counters, split_crossings = rate_parts(p, parts, before)
    assert abs(whole_total - split_total) <= TOLERANCE
    assert whole_crossings == split_crossings
    for key in whole_counters.keys() | split_counters.keys():
        assert abs(whole_counters.get(key, Decimal(0)) - split_counters.get(key, Decimal(0))) <= TOLERANCE


@FAST
@given(chunks=st.lists(st.integers(0, 2 * GB), min_size=1, max_size=8), used=st.integers(0, 5 * GB))
def test_quantity_split_invariance_for_bands(chunks: list[int], used: int) -> None:
    """Within one window, any split of the quantity (uneven interims) gives the whole's price."""
    p = plan()
    start = datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # Tue 12:00 NZST: peak
    parts = [Usage("data", start, start + timedelta(minutes=1), octets_in=n) for n in chunks]
    whole = Usage("data", start, start + timedelta(minutes=1), octets_in=sum(chunks))
    before = {
        "data": Decimal(used),
        "bundle:first": Decimal(min(used, 1500 * 10**6)),
        "bundle:cash": Decimal(0),
    }
    a, ca, xa = rate_parts(p, [whole], before)
    b, cb, xb = rate_parts(p, parts, before)
    assert a == b and ca.get("bundle:cash") == cb.get("bundle:cash") and xa == xb


@FAST
@given(
    offset=st.integers(0, 30 * 24 * 3600),
    seconds=st.integers(0, 7200),
    octets=st.integers(0, 10 * GB),
    used=st.integers(0, 10 * GB),
)
def test_rating_is_deterministic(offset: int, seconds: int, octets: int, used: int) -> None:
    p = plan()
    start = START + timedelta(seconds=offset)
    usage = Usage("data", start, start + timedelta(seconds=seconds), octets_in=octets)
    before = {"data": Decimal(used)}
    assert rate(usage, p, before) == rate(usage, p, dict(before))


@st.composite
def any_usage(draw: st.DrawFn) -> tuple[str, Usage]:
    start = START + timedelta(seconds=draw(st.integers(0, 60 * 24 * 3600)))
    end = start + timedelta(seconds=draw(st.integers(0, 40 * 24 * 3600)))
    kind = draw(st.sampled_from(["data", "voice", "energy"]))
    if kind == "data":
        plan_name = draw(
            st.sampled_from(["Home 100", "Business Metered", "Smart Data", "Fibre 300", "VISP Wholesale"])
        )
        cls = draw(st.sampled_from(["web", "p2p", "other", "https"]))
        return plan_name, Usage(
            "data",
            start,
            end,
            octets_in=draw(st.integers(0, 200 * GB)),
            octets_out=draw(st.integers(0, 200 * GB)),
            attributes={"Jet-Traffic-Class": cls},
        )
    if kind == "voice":
        plan_name = draw(st.sampled_from(["Talk Standard", "Wholesale Voice", "Talk 250"]))
        b = draw(st.sampled_from(["6493002222", "6444720000", "64211234567", "61412345678", "61298765432"]))
        b += draw(st.text("0123456789", max_size=3))
        return plan_name, Usage(
            "voice",
            start,
            start + timedelta(seconds=draw(st.integers(0, 7200))),
            a_number=draw(st.sampled_from(["6493001111", "6441234567", "61212345678"])),
            b_number=b,
        )
    return "Solar Home", Usage(
        "energy",
        start,
        end,
        kwh_import=Decimal(draw(st.integers(0, 10**6))) / 100,
        kwh_export=Decimal(draw(st.integers(0, 10**6))) / 100,
    )


CATALOG: list[Catalog] = []


@FAST
@given(case=any_usage(), used=st.integers(0, 300 * GB), money=st.integers(0, 30000))
def test_no_negative_charges_except_export_credits(case: tuple[str, Usage], used: int, money: int) -> None:
    if not CATALOG:
        CATALOG.append(load_catalog([EXAMPLE]))
    p = CATALOG[0].find_plan("default", case[0])
    assert p is not None
    before = {
        "data": Decimal(used),
        "bundle:data": Decimal(min(used, 100 * GB)),
        "bundle:calls": Decimal(money) / 100,
    }
    result = rate(case[1], p, before)
    for c in result.charges:
        if c.meter == "energy_export":
            assert c.amount <= 0
        else:
            assert c.amount >= 0 and c.due >= 0 and c.bundled >= 0
    assert all(v >= 0 for v in result.counters.values())
