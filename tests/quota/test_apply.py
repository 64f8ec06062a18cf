from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from quota.delta import octets64
from quota.errors import PeriodBehind
from quota.model import Bucket, Kind
from quota.store import QuotaStore
from tests.quota.standin import GB, record, s1_rate, s2_rate, s6_rate

T0 = 1_780_000_000


async def test_s9_gigawords_and_retransmission(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    charged = []
    steps = [
        (Kind.START, T0, 0),
        (Kind.INTERIM, T0 + 300, octets64(4_000_000_000)),
        (Kind.INTERIM, T0 + 600, octets64(300_000_000, 1)),
        (Kind.INTERIM, T0 + 600, octets64(300_000_000, 1)),  # retransmission, new Identifier
        (Kind.STOP, T0 + 650, octets64(300_000_000, 1)),
    ]
    for kind, now, out in steps:
        result = await store.apply_record(record(account, "s9", kind, now, out=out, time=now - T0), s2_rate)
        charged.append(result.delta["out"])
    assert charged == [0, 4_000_000_000, 594_967_296, 0, 0]
    assert sum(charged) == 4_594_967_296
    snap = await store.read(account)
    assert snap.counters == {"data": 4_594_967_296}
    assert result.completed is not None and result.handed_off
    assert result.completed.totals["out"] == 4_594_967_296
    # a Stop retransmitted after the session is gone charges nothing
    again = await store.apply_record(record(account, "s9", Kind.STOP, T0 + 700, out=10**12), s2_rate)
    assert again.closed and again.delta == {}
    assert (await store.read(account)).counters == {"data": 4_594_967_296}


async def test_nas_reset_and_late_retransmission(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    r1 = await store.apply_record(record(account, "r", Kind.INTERIM, T0 + 10, out=5 * GB), s2_rate)
    r2 = await store.apply_record(record(account, "r", Kind.INTERIM, T0 + 20, out=7 * GB), s2_rate)
    late = await store.apply_record(record(account, "r", Kind.INTERIM, T0 + 15, out=6 * GB), s2_rate)
    assert (r1.delta["out"], r2.delta["out"], late.delta["out"], late.resets) == (5 * GB, 2 * GB, 0, ())
    reset = await store.apply_record(record(account, "r", Kind.INTERIM, T0 + 30, out=1 * GB), s2_rate)
    assert reset.delta["out"] == 0 and reset.resets == ("out",)
    after = await store.apply_record(record(account, "r", Kind.INTERIM, T0 + 40, out=3 * GB), s2_rate)
    assert after.delta["out"] == 2 * GB
    snap = await store.read(account, "bras1/r")
    assert snap.counters["data"] == 9 * GB
    assert snap.session is not None and snap.session.resets == 1 and snap.session.totals["out"] == 9 * GB


async def test_s1_thresholds_fire_once(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    fired: list[str] = []
    exhausted_at = []
    for i in range(1, 13):  # 10 GB per interim up to 120 GB
        rec = record(account, "s1", Kind.INTERIM, T0 + i, out=i * 10 * GB)
        result = await store.apply_record(rec, s1_rate)
        fired += result.fired
        if "data" in result.exhausted:
            exhausted_at.append(i)
    assert fired == ["data:80", "data:100"]
    assert exhausted_at[0] == 10
    assert (await store.read(account)).charges == 0


async def test_s6_money_bundle(redis_client: Redis, account: str) -> None:
    store = QuotaStore(redis_client, batch=True)  # calls of one account apply in order, hand-offs batch
    await store.put_account(account, period="2026-06")
    await store.grant(account, Bucket.money("talk250", Decimal("250.00"), pool="money:voice",
                                            thresholds=(80,), period_scoped=True, plan="Talk 250"))
    calls = [("61298765432", 60)] * 1000 + [("64211234567", 120)] * 290
    results = await asyncio.gather(*(
        store.apply_record(replace(record(account, f"c{n}", Kind.STOP, T0 + n, time=seconds), user=to),
                           s6_rate) for n, (to, seconds) in enumerate(calls)))
    fired = [name for r in results for name in r.fired]
    dry = [n for n, r in enumerate(results) if "unit:money:voice" in r.exhausted]
    assert all(r.handed_off for r in results)
    snap = await store.read(account)
    assert fired == ["bucket:talk250:80"]  # one warning, at 200.00
    assert dry[0] == 1000 + 157  # 190.00 + 157 x 0.38 = 249.66: the next mobile call empties it
    assert snap.charges == Decimal("50.20")
    assert snap.buckets[0].remaining == 0


async def test_prepaid_balance_topup_idempotent(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06", mode="prepaid", low_balance=Decimal("5"))
    first = await store.topup(account, "tx-1", Decimal("20.00"), T0)
    again = await store.topup(account, "tx-1", Decimal("20.00"), T0 + 1)
    assert (first.applied, first.balance, again.applied, again.balance) == (True, 20, False, 20)
    result = await store.apply_record(record(account, "p", Kind.INTERIM, T0 + 5, out=8 * GB), s2_rate)
    assert result.fired == ("balance:low",)  # 20 - 16 = 4 <= 5
    result = await store.apply_record(record(account, "p", Kind.INTERIM, T0 + 6, out=10 * GB), s2_rate)
    assert result.fired == ("balance:exhausted",) and "balance" in result.exhausted
    assert (await store.read(account)).balance == Decimal("-0.000000")
    top = await store.topup(account, "tx-2", Decimal("10"), T0 + 7)
    assert top.balance == 10
    result = await store.apply_record(record(account, "p", Kind.INTERIM, T0 + 8, out=14 * GB), s2_rate)
    assert result.fired == ("balance:low",)  # re-armed by the top-up


async def test_rollover_resets_counters_and_thresholds(store: QuotaStore, account: str) -> None:
    await store.put_account(account, period="2026-06")
    await store.grant(account, Bucket("june-pack", "octets", 5 * GB, period_scoped=True))
    await store.grant(account, Bucket("gift", "octets", GB, valid_until=T0 + 10))
    await store.apply_record(record(account, "a", Kind.INTERIM, T0, out=85 * GB), s1_rate)
    result = await store.rollover(account, "2026-07", T0 + 100,
                                  grants=[Bucket("july-pack", "octets", 5 * GB, period_scoped=True)])
    assert result.rolled and result.previous_period == "2026-06"
    assert result.previous_counters == {"data": 85 * GB}
    assert not (await store.rollover(account, "2026-07", T0 + 101)).rolled
    assert not (await store.rollover(account, "2026-06", T0 + 102)).rolled  # never backwards
    snap = await store.read(account)
    assert snap.period == "2026-07" and snap.counters == {}
    assert [b.id for b in snap.buckets] == ["july-pack"]
    result = await store.apply_record(record(account, "b", Kind.INTERIM, T0 + 200, out=81 * GB), s1_rate)
    assert result.fired == ("data:80",)
    assert await store.fired(account) == ["data:80"]


async def test_period_behind_and_a_rollover_by_another_process(redis_client: Redis, account: str) -> None:
    mine, other = QuotaStore(redis_client), QuotaStore(redis_client)
    await mine.put_account(account, period="2026-06-01")
    await mine.apply_record(record(account, "p", Kind.INTERIM, T0, out=GB), s2_rate, period="2026-06-01")
    with pytest.raises(PeriodBehind):
        await mine.apply_record(record(account, "p", Kind.INTERIM, T0 + 1, out=2 * GB), s2_rate,
                                period="2026-07-01")
    assert (await other.rollover(account, "2026-07-01", T0 + 2)).rolled  # mine still caches June
    result = await mine.apply_record(record(account, "p", Kind.INTERIM, T0 + 3, out=3 * GB), s2_rate,
                                     period="2026-07-01")
    assert result.delta == {"out": 2 * GB}
    snap = await mine.read(account)
    assert (snap.period, snap.counters, snap.charges) == ("2026-07-01", {"data": 2 * GB}, Decimal(4))


async def test_an_interim_spanning_the_period_start_is_split_between_the_periods(store: QuotaStore,
                                                                                 account: str) -> None:
    """The session's previous record at T0, the next at T0 + 1000, and the new period began at
    T0 + 400: 40 % of the usage in between counts in the old period (applied as an interim at
    T0 + 400 before the roll-over), the rest in the new one; a retransmission charges nothing."""
    await store.put_account(account, period="2026-06-01")
    await store.apply_record(record(account, "p", Kind.INTERIM, T0, out=GB), s2_rate, period="2026-06-01")
    late = record(account, "p", Kind.INTERIM, T0 + 1000, out=11 * GB)
    with pytest.raises(PeriodBehind):
        await store.apply_record(late, s2_rate, period="2026-07-01", period_start=T0 + 400)
    rolled = await store.rollover(account, "2026-07-01", T0 + 1000)
    assert rolled.previous_counters == {"data": 5 * GB}  # 1 GB before, and 4 of the 10
    result = await store.apply_record(late, s2_rate, period="2026-07-01", period_start=T0 + 400)
    assert result.delta == {"out": 6 * GB}
    assert (await store.read(account)).counters == {"data": 6 * GB}
    again = await store.apply_record(late, s2_rate, period="2026-07-01", period_start=T0 + 400)
    assert again.delta == {"out": 0} and (await store.read(account)).counters == {"data": 6 * GB}
