"""The charging adapter: a record's delta becomes usage over the right interval."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from jetd.charging import CallContext, rate_fn_for, usages
from quota.model import AccountingRecord, Kind, RatingInput, SessionState, Snapshot
from rating import load_catalog

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
JUNE_9_0730_UTC = int(datetime(2026, 6, 9, 7, 30, tzinfo=UTC).timestamp())  # 19:30 in Auckland


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog([PRICEBOOK])


def _input(kind: Kind, now: int, delta: dict[str, int], *, start: int, updated: int,
           counters: dict[str, Decimal] | None = None) -> RatingInput:
    session = SessionState(key="nas/s", version=1, last={}, totals={}, info={"start": str(start)},
                           updated=updated)
    snap = Snapshot(account="1", period="2026-06-01", version=1, mode="postpaid", currency="NZD",
                    balance=Decimal(0), charges=Decimal(0), counters=counters or {}, buckets=(),
                    session=session)
    record = AccountingRecord(account="1", nas="nas", session_id="s", kind=kind, now=now, counters={})
    return RatingInput(record=record, snapshot=snap, delta=delta)


def test_an_interim_covers_the_time_since_the_previous_record(catalog) -> None:  # type: ignore[no-untyped-def]
    plan = catalog.find_plan("default", "Smart Data")
    inp = _input(Kind.INTERIM, JUNE_9_0730_UTC + 2700, {"out": 500_000_000},
                 start=JUNE_9_0730_UTC, updated=JUNE_9_0730_UTC + 1800)
    [usage] = usages(inp, plan, CallContext())
    assert usage.start == datetime.fromtimestamp(JUNE_9_0730_UTC + 1800, UTC)  # 20:00, not 19:30
    # 0.5 GB of web traffic, all of it off-peak (after 20:00): 0.025
    rated = rate_fn_for(plan, CallContext({"Jet-Traffic-Class": "web"}))(inp)
    assert sum(c.amount for c in rated.charges) == Decimal("0.025")


def test_a_call_is_rated_once_at_stop_from_its_session_time(catalog) -> None:  # type: ignore[no-untyped-def]
    plan = catalog.find_plan("default", "Talk Standard")
    ctx = CallContext(a_number="6493001111", b_number="64211234567")
    interim = _input(Kind.INTERIM, JUNE_9_0730_UTC + 30, {"time": 30}, start=JUNE_9_0730_UTC,
                     updated=JUNE_9_0730_UTC)
    assert usages(interim, plan, ctx) == []
    stop = _input(Kind.STOP, JUNE_9_0730_UTC + 45, {"time": 15}, start=JUNE_9_0730_UTC,
                  updated=JUNE_9_0730_UTC + 30)
    stop = RatingInput(record=AccountingRecord(account="1", nas="nas", session_id="s", kind=Kind.STOP,
                                               now=JUNE_9_0730_UTC + 45, counters={"time": 45}),
                       snapshot=stop.snapshot, delta=stop.delta)
    rated = rate_fn_for(plan, ctx)(stop)
    assert sum(c.amount for c in rated.charges) == Decimal("0.1520")  # S4 call 3: 48 s to NZ mobile


def test_usage_across_a_period_start_is_charged_in_each_period(catalog) -> None:  # type: ignore[no-untyped-def]
    """An interim from 23:00 to 01:00 Auckland time across 1 July (the cycle day): half of its
    2 GB is charged from before midnight (June's invoice), half from after (July's)."""
    plan = catalog.find_plan("default", "Business Metered")  # Pacific/Auckland, cycle day 1
    t0 = int(datetime(2026, 6, 30, 11, tzinfo=UTC).timestamp())  # 23:00 NZST
    inp = _input(Kind.INTERIM, t0 + 7200, {"out": 2_000_000_000}, start=t0 - 3600, updated=t0)
    rated = rate_fn_for(plan, CallContext())(inp)
    assert [(c.detail["start"], c.detail["end"], c.detail["quantity"], c.amount) for c in rated.charges] == [
        ("2026-06-30T11:00:00+00:00", "2026-06-30T12:00:00+00:00", "1000000000", Decimal("2.00")),
        ("2026-06-30T12:00:00+00:00", "2026-06-30T13:00:00+00:00", "1000000000", Decimal("2.00"))]
    within = _input(Kind.INTERIM, t0 + 1800, {"out": 2_000_000_000}, start=t0 - 3600, updated=t0)
    assert len(rate_fn_for(plan, CallContext())(within).charges) == 1
