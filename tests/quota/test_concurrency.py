"""Two appliers (asyncio tasks on separate connections, and OS processes) on one account."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

import msgpack
import pytest
from redis.asyncio import Redis

from quota.connect import connect
from quota.handoff import decode_completed
from quota.keys import session_stream, shard_of
from quota.store import QuotaStore
from tests.quota.standin import GB, s1_rate, s2_rate
from tests.quota.workload import apply_all, sessions_records, share

ROOT = Path(__file__).resolve().parents[2]


async def _handed_off(client: Redis, account: str) -> list[Decimal]:
    """Charges on the stream for the account, one total per session (de-duplicated by session)."""
    totals: dict[str, Decimal] = {}
    for _id, fields in await client.xrange(session_stream(shard_of(account))):
        if fields[b"acct"].decode() == account:
            session = decode_completed(fields[b"d"])
            totals[session.key] = sum((Decimal(c["amount"]) for c in session.charges), Decimal(0))
    return [totals[k] for k in sorted(totals)]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_s2_two_tasks_interleaved(redis_url: str, store: QuotaStore, account: str, seed: int) -> None:
    await store.put_account(account, period="2026-06")
    records = sessions_records(account, seed, (20, 25, 20))
    clients = [connect(redis_url) for _ in range(2)]
    try:
        results = await asyncio.gather(*(apply_all(QuotaStore(c), share(records, i, 2), s2_rate)
                                         for i, c in enumerate(clients)))
    finally:
        for c in clients:
            await c.aclose()
    snap = await store.read(account)
    assert snap.charges == Decimal("95.00")
    assert snap.counters == {"data": 65 * GB}
    assert sum(await _handed_off(store.client, account)) == Decimal("95.00")  # type: ignore[arg-type]
    assert all(not r.closed or r.delta == {} for rs in results for r in rs)


@pytest.mark.parametrize("rate", ["s2", "s2-engine"])
async def test_s2_two_processes(redis_url: str, store: QuotaStore, account: str, rate: str) -> None:
    await store.put_account(account, period="2026-06")
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.quota.workload", redis_url, account, "7", str(i), "2", rate, cwd=ROOT)
        for i in range(2)]
    assert [await p.wait() for p in procs] == [0, 0]
    snap = await store.read(account)
    assert snap.charges == Decimal("95.00")
    assert snap.counters == {"data": 65 * GB}


async def test_s1_thresholds_once_across_processes_and_tasks(redis_url: str, store: QuotaStore,
                                                             account: str) -> None:
    await store.put_account(account, period="2026-06")
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.quota.workload", redis_url, account, "11", str(i), "3", "s1", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE) for i in range(2)]
    records = sessions_records(account, 11, (50, 40, 30))
    local = await apply_all(store, share(records, 2, 3), s1_rate)
    fired = [name for r in local for name in r.fired]
    for p in procs:
        out, _ = await p.communicate()
        assert p.returncode == 0
        fired += out.decode().split()
    assert sorted(fired) == ["data:100", "data:80"]
    assert (await store.read(account)).counters == {"data": 120 * GB}


def test_stream_record_is_plain_msgpack() -> None:
    data = msgpack.packb({"v": 2})
    with pytest.raises(ValueError):
        decode_completed(data)
