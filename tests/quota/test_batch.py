"""The batcher: concurrent calls in one loop iteration share one pipeline; errors stay per call."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from quota.batch import Batcher
from quota.errors import AccountNotFound
from quota.model import Kind
from quota.store import QuotaStore
from tests.quota.standin import GB, record, s2_rate

T0 = 1_780_000_000


async def test_concurrent_applies_coalesce(redis_client: Redis, account: str) -> None:
    store = QuotaStore(redis_client, batch=True)
    accounts = [f"{account}-{n}" for n in range(50)]
    await asyncio.gather(*(store.put_account(a, period="2026-06") for a in accounts))
    assert store.calls.round_trips == 1 and store.calls.calls == 50
    results = await asyncio.gather(*(store.apply_record(record(a, "s", Kind.INTERIM, T0, out=GB), s2_rate)
                                     for a in accounts))
    assert all(r.delta == {"out": GB} for r in results)
    assert store.calls.round_trips < store.calls.calls / 10
    snaps = await asyncio.gather(*(store.read(a) for a in accounts))
    assert {s.charges for s in snaps} == {Decimal("2")}


async def test_one_failing_call_does_not_fail_its_neighbours(redis_client: Redis, account: str) -> None:
    store = QuotaStore(redis_client, batch=True)
    await store.put_account(account, period="2026-06")
    good, bad = await asyncio.gather(store.topup(account, "t", Decimal(5), T0),
                                     store.topup("missing-" + account, "t", Decimal(5), T0),
                                     return_exceptions=True)
    assert not isinstance(good, BaseException) and good.balance == 5
    assert isinstance(bad, AccountNotFound)


async def test_batcher_passes_plain_commands(redis_client: Redis) -> None:
    batcher = Batcher(redis_client)
    assert await asyncio.gather(batcher("PING"), batcher("ECHO", "x")) == [True, b"x"]
    with pytest.raises(Exception, match="unknown command"):
        await batcher("NOSUCHCOMMAND")
