"""The real rating engine behind apply_record: S2 across interleaved appliers, S1's events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from quota.connect import connect
from quota.model import Rated, RateFn, RatingInput
from quota.rating_bridge import rated_from_rating
from quota.store import QuotaStore
from rating import Plan, Usage, load_catalog, rate
from tests.quota.standin import GB
from tests.quota.workload import apply_all, sessions_records, share

PRICEBOOK = Path(__file__).resolve().parents[2] / "config" / "pricebook.example.toml"


def plan(name: str) -> Plan:
    found = load_catalog([PRICEBOOK]).find_plan("default", name)
    assert found is not None
    return found


def engine(plan: Plan) -> RateFn:
    def rate_fn(inp: RatingInput) -> Rated:
        d_in, d_out = inp.delta.get("in", 0), inp.delta.get("out", 0)
        if not (d_in or d_out):
            return Rated()
        previous = inp.snapshot.session.updated if inp.snapshot.session else 0
        start = datetime.fromtimestamp(min(previous or inp.record.now, inp.record.now), UTC)
        usage = Usage(type="data", start=start, end=datetime.fromtimestamp(inp.record.now, UTC),
                      octets_in=d_in, octets_out=d_out)
        return rated_from_rating(rate(usage, plan, inp.snapshot.counters))

    return rate_fn


@pytest.mark.parametrize("seed", [21, 22])
async def test_s2_with_the_engine_two_appliers(redis_url: str, store: QuotaStore, account: str,
                                               seed: int) -> None:
    await store.put_account(account, period="2026-06")
    records = sessions_records(account, seed, (20, 25, 20))
    rate_fn = engine(plan("Business Metered"))
    clients = [connect(redis_url) for _ in range(2)]
    try:
        await asyncio.gather(*(apply_all(QuotaStore(c), share(records, i, 2), rate_fn)
                               for i, c in enumerate(clients)))
    finally:
        for c in clients:
            await c.aclose()
    snap = await store.read(account)
    assert snap.charges == Decimal("95.00")
    assert snap.counters["data"] == 65 * GB


async def test_s1_with_the_engine(redis_client: Redis, account: str) -> None:
    store = QuotaStore(redis_client)
    await store.put_account(account, period="2026-06")
    records = sessions_records(account, 3, (50, 40, 30))
    results = await apply_all(store, records, engine(plan("Home 100")))
    fired = [name for r in results for name in r.fired]
    assert fired == ["data:80", "data:exhausted"]
    assert (await store.read(account)).charges == 0
